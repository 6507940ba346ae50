package admin

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// GuardOptions say whom the admin API answers.
type GuardOptions struct {
	// AllowRemote lets clients that are not on this machine in, and turns
	// the Host check off: a twin served to a network is reached by names
	// it cannot know.
	AllowRemote bool
	// Hosts are the host names (without port) the admin API answers besides
	// the loopback ones: the hosts of the configured listen addresses.
	Hosts []string
}

// Guard keeps the admin API safe on a developer's laptop, where any web page
// the developer opens can send requests to loopback:
//   - clients not on loopback are refused (unless AllowRemote; in-process
//     requests, without a remote address, pass);
//   - the Host must be a loopback name or one of Hosts (unless AllowRemote),
//     so a DNS-rebinding page, whose requests carry its own name, is refused;
//   - a request a browser marks as cross-site (Sec-Fetch-Site) or from
//     another origin (Origin) is refused;
//   - a write with a body must declare it as JSON, so a cross-site form or
//     text/plain "simple" request cannot reach a handler.
func Guard(o GuardOptions) pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msg := o.refusal(r)
			if msg == "" {
				msg = contentTypeRefusal(r)
			}
			if msg != "" {
				// 403 for all: every admin operation declares it.
				pipeline.ExchangeFrom(r.Context()).Fail(w, r, &pipeline.Error{Status: http.StatusForbidden, Messages: []string{msg}})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refusal says why r may not use the admin API, or "" when it may.
func (o GuardOptions) refusal(r *http.Request) string {
	switch {
	case !o.AllowRemote && r.RemoteAddr != "" && !isLoopback(r.RemoteAddr):
		return "the admin API answers loopback clients only (start the twin with --admin-remote to allow others)"
	case !o.AllowRemote && !o.knownHost(r.Host):
		// Never the Host itself: it is the attacker's to choose.
		return "the admin API answers requests to a loopback name or the twin's own address only"
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return "the admin API refuses requests a browser sends for another site (Sec-Fetch-Site: " + site + ")"
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return "the admin API refuses requests from another origin"
		}
	}
	return ""
}

// knownHost reports whether a Host header names this machine's loopback or
// one of the configured hosts.
func (o GuardOptions) knownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return host != "" && slices.ContainsFunc(o.Hosts, func(h string) bool { return strings.EqualFold(h, host) })
}

// contentTypeRefusal refuses a write whose body is not declared as JSON.
func contentTypeRefusal(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ""
	}
	ct := r.Header.Get("Content-Type")
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
	if ct == "" && !hasBody {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return "the admin API takes JSON bodies only: send Content-Type: application/json"
	}
	return ""
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

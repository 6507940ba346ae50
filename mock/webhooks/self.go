package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
)

// ErrSelfTarget refuses a webhook URL that points at the twin's own
// listeners (its APIs and its admin API): a delivery there would make more
// changes, and more deliveries, without end.
var ErrSelfTarget = errors.New("webhooks: the URL points at the twin itself")

// Self knows the twin's own listeners, so that no webhook loops back into
// them. A URL is the twin's when its host is one of the twin's names (the
// in-process hosts, whatever the port), or when its host is a loopback or
// unspecified address, a loopback name ("localhost", "*.localhost") or a
// host the twin listens on, and its port is one the twin listens on. The
// zero value knows no listener; a nil *Self checks only the URL's form.
type Self struct {
	mu    sync.RWMutex    // guards the maps below
	names map[string]bool // hosts that are the twin on any port
	hosts map[string]bool // hosts the listeners bind, besides loopback ones
	ports map[string]bool
}

// Listen adds a listener of the twin by its base URL ("http://127.0.0.1:4010");
// a URL without a port names the twin on every port ("http://highlevel.twin").
func (s *Self) Listen(base string) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names, s.hosts, s.ports = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	host := canonicalHost(u.Hostname())
	if u.Port() == "" {
		s.names[host] = true
		return
	}
	s.ports[u.Port()] = true
	if !loopbackHost(host) {
		s.hosts[host] = true
	}
}

// Check refuses a target that is not an absolute http or https URL, or that
// points at the twin (ErrSelfTarget).
func (s *Self) Check(target string) error {
	if err := CheckURL(target); err != nil {
		return err
	}
	if s == nil {
		return nil
	}
	u, _ := url.Parse(target)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if s.own(canonicalHost(u.Hostname()), port) {
		return fmt.Errorf("%w (host %s, port %s): a delivery would call the twin again", ErrSelfTarget, u.Hostname(), port)
	}
	return nil
}

// own tells whether host:port is the twin.
func (s *Self) own(host, port string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names[host] || ((loopbackHost(host) || s.hosts[host]) && s.ports[port])
}

// control is a net.Dialer Control that refuses to connect to the twin: it
// sees the address a name resolved to, so it stops what Check cannot see by
// the name alone (a DNS name of 127.0.0.1).
func (s *Self) control(_, address string, _ syscall.RawConn) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil
	}
	if s.own(canonicalHost(host), port) {
		return fmt.Errorf("%w: %s", ErrSelfTarget, address)
	}
	return nil
}

// canonicalHost is a host as Self compares it: lower case, without a
// trailing dot, an IP address in its canonical text.
func canonicalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

// loopbackHost tells whether host is a loopback or unspecified address, or
// a name that always means loopback.
func loopbackHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

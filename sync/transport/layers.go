package transport

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/openapi"
)

// UserAgent sets the User-Agent header of every request.
type UserAgent struct {
	Agent string
	Base  http.RoundTripper
}

// RoundTrip sends a clone of req with the header.
func (u *UserAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("User-Agent", u.Agent)
	return baseOr(u.Base).RoundTrip(out)
}

// DefaultUserAgent is contactbridge/<version>, the version of the module
// the binary was built from ("dev" for a build from a work tree).
func DefaultUserAgent() string {
	version := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "contactbridge/" + version
}

// Timeout bounds each request, until its answer's body is closed.
type Timeout struct {
	Timeout time.Duration
	Base    http.RoundTripper
}

// RoundTrip sends req with a deadline.
func (t *Timeout) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Timeout <= 0 {
		return baseOr(t.Base).RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.Timeout)
	res, err := baseOr(t.Base).RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// Log writes a debug line per request: method, URL with its secrets
// redacted, tenant, status and duration. It never logs headers or bodies.
type Log struct {
	Logger *slog.Logger
	Clock  Clock
	Base   http.RoundTripper
}

// RoundTrip sends req and logs it.
func (l *Log) RoundTrip(req *http.Request) (*http.Response, error) {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(req.Context(), slog.LevelDebug) {
		return baseOr(l.Base).RoundTrip(req)
	}
	clk := clockOr(l.Clock)
	start := clk.Now()
	res, err := baseOr(l.Base).RoundTrip(req)
	attrs := []any{logkey.Method, req.Method, logkey.URL, RedactURL(req.URL), logkey.Tenant, Tenant(req),
		logkey.Duration, clk.Now().Sub(start)}
	if err != nil {
		logger.DebugContext(req.Context(), "request failed", append(attrs, logkey.Err, err)...)
		return nil, err
	}
	logger.DebugContext(req.Context(), "request", append(attrs, logkey.Status, res.StatusCode)...)
	return res, nil
}

// secretParams are query parameters whose values are never logged.
var secretParams = []string{"code", "token", "access_token", "refresh_token", "client_secret", "password", "key"}

// RedactURL is u without its password and the values of secret query
// parameters.
func RedactURL(u *url.URL) string {
	c := *u
	if q := c.Query(); len(q) > 0 {
		for _, name := range secretParams {
			if q.Has(name) {
				q.Set(name, "REDACTED")
			}
		}
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}

// SpecIdempotent tells, for a request, whether its operation in the specs
// is marked x-idempotent: true. A request no spec routes is idempotent by
// its method (IdempotentMethod).
func SpecIdempotent(specs ...*openapi.Spec) func(*http.Request) bool {
	return func(req *http.Request) bool {
		for _, spec := range specs {
			if route, err := spec.FindRoute(req); err == nil {
				v, _ := route.Operation.Spec.Extensions["x-idempotent"].(bool)
				return v
			}
		}
		return IdempotentMethod(req)
	}
}

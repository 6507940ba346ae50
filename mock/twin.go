package mock

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// Defaults are what a server makes at start, for its users to call it with.
type Defaults struct {
	HighLevel HighLevelDefaults
	M360      M360Defaults
}

// HighLevelDefaults are the HighLevel twin's start-up credentials.
type HighLevelDefaults struct {
	Location store.Location
	// Token is a Private Integration Token for Location with every scope of
	// the spec.
	Token string
	// App is an OAuth app installed on Location with every scope of the spec.
	App auth.App
}

// M360Defaults are the Marketing 360 twin's start-up account and key.
type M360Defaults struct {
	Account store.M360Account
	// Key is a key of Account with every permission of the spec.
	Key APIKey
}

// Twin is one of the server's two APIs: its handler (which answers the
// shared admin API under /__admin/ too), base URL and spec.
type Twin struct {
	handler http.Handler
	url     string
	spec    *openapi.Spec
	// inProcess serves both twins without a listener; nil with one.
	inProcess http.RoundTripper
}

// Handler returns the twin's HTTP handler.
func (t *Twin) Handler() http.Handler { return t.handler }

// URL returns the twin's base URL.
func (t *Twin) URL() string { return t.url }

// Spec returns the spec the twin serves.
func (t *Twin) Spec() *openapi.Spec { return t.spec }

// Client returns an HTTP client for the twins; without a listener it calls
// the handlers in process (either twin's URL).
func (t *Twin) Client() *http.Client {
	if t.inProcess == nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Transport: t.inProcess}
}

// specPath is where each twin serves its own spec, as the admin API does
// under /__admin/.
const specPath = "/openapi.yaml"

// withAdmin serves the admin API under /__admin/, spec at specPath and api
// elsewhere: each twin's listener answers the one admin API.
func withAdmin(adm http.Handler, spec *openapi.Spec, api http.Handler) http.Handler {
	doc := spec.Source()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/__admin/"):
			adm.ServeHTTP(w, r)
		case r.URL.Path == specPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(doc)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// SpecScopes lists every scope an operation or a webhook event of spec
// requires.
func SpecScopes(spec *openapi.Spec) []string {
	var scopes []string
	for _, op := range spec.Operations() {
		scopes = append(scopes, op.Scopes...)
	}
	for _, w := range spec.Webhooks() {
		scopes = append(scopes, w.Scopes...)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// handlerTransport serves requests in process, with the handler of their host.
type handlerTransport map[string]http.Handler

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := t[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("mock: no in-process twin at %s", r.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

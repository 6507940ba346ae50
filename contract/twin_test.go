package contract

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// This file is the one place where the contract tests use mock's Go API;
// everything else reaches the twins through their HTTP and admin APIs.

// twins is a running pair of twins on loopback, seen as a sandbox account
// would be: base URLs and credentials.
type twins struct {
	highLevelURL, m360URL string
	location, calendar    string
	token                 string
	otherLocation         string
	otherToken            string
	m360Account           int64
	m360ID, m360Secret    string
	highLevelSpec         *openapi.Spec
	m360Spec              *openapi.Spec
}

// twinOptions alter the twins for a test.
type twinOptions struct {
	// wrapHighLevel, when set, serves the HighLevel twin's handler
	// through it (a view altered on purpose); the Marketing 360 twin is
	// then not served.
	wrapHighLevel func(http.Handler) http.Handler
}

// startTwins starts both twins (seeded, strict, no rate limits, a frozen
// clock) with a second location and its token, and stops them when the
// test ends.
func startTwins(tb testing.TB, o twinOptions) *twins {
	tb.Helper()
	const other, otherToken = "pactOtherLocation001", "pit-pact-other-location"
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	opts := mock.Options{Seed: 1, Strict: true, NoListener: o.wrapHighLevel != nil}
	opts.HighLevel.Locations = []store.Location{{ID: other, Name: "Other"}}
	opts.HighLevel.Tokens = []mock.TokenOptions{{Token: otherToken, LocationID: other, Scopes: mock.SpecScopes(spec)}}
	srv, err := mock.NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Error(err)
		}
	})
	key := srv.Defaults().M360.Key
	w := &twins{
		highLevelURL: srv.HighLevel.URL(), m360URL: srv.M360.URL(),
		location: srv.Defaults().HighLevel.Location.ID, calendar: srv.Defaults().HighLevel.Location.Calendars[0].ID,
		token: srv.Defaults().HighLevel.Token, otherLocation: other, otherToken: otherToken,
		m360Account: srv.Defaults().M360.Account.ID, m360ID: key.ClientID, m360Secret: key.ClientSecret,
		highLevelSpec: srv.HighLevel.Spec(), m360Spec: srv.M360.Spec(),
	}
	if o.wrapHighLevel != nil {
		hs := httptest.NewServer(o.wrapHighLevel(srv.HighLevel.Handler()))
		tb.Cleanup(hs.Close)
		w.highLevelURL, w.m360URL = hs.URL, ""
	}
	return w
}

// renameField serves h with the JSON field from renamed to to in the
// answers to GET /contacts/{id}: a twin whose contact view drifted.
func renameField(from, to string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || strings.Count(strings.Trim(r.URL.Path, "/"), "/") != 1 || !strings.HasPrefix(r.URL.Path, "/contacts/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"`+from+`":`), []byte(`"`+to+`":`))
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

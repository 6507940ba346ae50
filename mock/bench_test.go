package mock_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The benchmarks run the twin's full pipeline (routing from the spec, request
// journal, fault matching with no rules, bearer auth with scopes, rate limits
// set too high to refuse, request validation, handler, JSON response; strict
// response validation off, as at run time) next to a bare
// net/http handler that writes a fixed body of the same size, in the same run,
// both called through ServeHTTP with an httptest.ResponseRecorder. An
// unexpected status fails the benchmark (Errorf, then the goroutine stops:
// Fatal may not be called from RunParallel's goroutines).

func newBenchTwin(b *testing.B) *mock.Server {
	b.Helper()
	lim := limits.DefaultConfig()
	lim.Burst, lim.Daily = 1<<40, 1<<40
	srv, err := mock.NewServer(mock.Options{NoListener: true, Strict: false, Seed: 1, HighLevel: mock.HighLevelOptions{Limits: &lim},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	return srv
}

func benchRequest(srv *mock.Server, method, target, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://highlevel.twin"+target, r)
	req.Header.Set("Authorization", "Bearer "+srv.Defaults().HighLevel.Token)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// benchFixedJSON is a bare handler that drains the request and writes body.
func benchFixedJSON(status int, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func BenchmarkGetContact(b *testing.B) {
	srv := newBenchTwin(b)
	c, err := srv.Store().CreateContact(store.Contact{
		LocationID: srv.Defaults().HighLevel.Location.ID,
		FirstName:  "Ada", LastName: "Lovelace", Name: "Ada Lovelace",
		Email: "ada@example.com", Phone: "+18832327657", CompanyName: "Analytical Engines",
		City: "London", Country: "GB", Source: "public api", Tags: []string{"vip", "2024"},
	})
	if err != nil {
		b.Fatal(err)
	}
	target := "/contacts/" + c.ID
	// The baseline writes the very body the twin answers with.
	body := twinAnswer(b, srv, http.MethodGet, target, "", http.StatusOK)
	benchPair(b, srv, benchFixedJSON(http.StatusOK, body), http.MethodGet, target, func() string { return "" }, http.StatusOK)
}

// twinAnswer is the body of the twin's answer to one request, which must
// have status want.
func twinAnswer(b *testing.B, srv *mock.Server, method, target, body string, want int) []byte {
	b.Helper()
	rec := httptest.NewRecorder()
	srv.HighLevel.Handler().ServeHTTP(rec, benchRequest(srv, method, target, body))
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, target, rec.Code, rec.Body)
	}
	b.Logf("%s %s answers %d bytes", method, target, rec.Body.Len())
	return rec.Body.Bytes()
}

func BenchmarkCreateContact(b *testing.B) {
	srv := newBenchTwin(b)
	var n atomic.Int64
	// Each body has its own email and phone: the default location forbids
	// duplicates.
	body := func() string {
		i := n.Add(1)
		return fmt.Sprintf(`{"locationId":%q,"firstName":"Ada","lastName":"Lovelace","email":"ada-%d@example.com","phone":"+1%010d","companyName":"Analytical Engines","city":"London","country":"GB","source":"public api","tags":["vip","2024"]}`,
			srv.Defaults().HighLevel.Location.ID, i, i)
	}

	created := twinAnswer(b, srv, http.MethodPost, "/contacts/", body(), http.StatusCreated)
	benchPair(b, srv, benchFixedJSON(http.StatusCreated, created), http.MethodPost, "/contacts/", body, http.StatusCreated)
}

// BenchmarkListContacts lists a page of 100 of the location's 150 contacts.
func BenchmarkListContacts(b *testing.B) {
	srv := newBenchTwin(b)
	loc := srv.Defaults().HighLevel.Location.ID
	for i := range 150 {
		if _, err := srv.Store().CreateContact(store.Contact{LocationID: loc, FirstName: "Ada", LastName: "Lovelace",
			Name: "Ada Lovelace", Email: fmt.Sprintf("ada-%d@example.com", i), CompanyName: "Analytical Engines",
			City: "London", Country: "GB", Source: "public api", Tags: []string{"vip", "2024"}}); err != nil {
			b.Fatal(err)
		}
	}
	target := "/contacts/?locationId=" + loc + "&limit=100"
	body := twinAnswer(b, srv, http.MethodGet, target, "", http.StatusOK)
	benchPair(b, srv, benchFixedJSON(http.StatusOK, body), http.MethodGet, target, func() string { return "" }, http.StatusOK)
}

// BenchmarkUpdateContact updates one contact's name and tags.
func BenchmarkUpdateContact(b *testing.B) {
	srv := newBenchTwin(b)
	c, err := srv.Store().CreateContact(store.Contact{LocationID: srv.Defaults().HighLevel.Location.ID,
		FirstName: "Ada", Email: "ada@example.com", Tags: []string{"vip"}})
	if err != nil {
		b.Fatal(err)
	}
	target, body := "/contacts/"+c.ID, `{"firstName":"Augusta","companyName":"Analytical Engines","tags":["perf","updated"],"source":"bench"}`
	updated := twinAnswer(b, srv, http.MethodPut, target, body, http.StatusOK)
	benchPair(b, srv, benchFixedJSON(http.StatusOK, updated), http.MethodPut, target, func() string { return body }, http.StatusOK)
}

// benchPair runs the same requests against the bare baseline handler and
// the twin, as sub-benchmarks of b, failing on an unexpected status.
func benchPair(b *testing.B, srv *mock.Server, baseline http.Handler, method, target string, body func() string, want int) {
	for _, side := range []struct {
		name string
		h    http.Handler
	}{{"baseline", baseline}, {"twin", srv.HighLevel.Handler()}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					side.h.ServeHTTP(rec, benchRequest(srv, method, target, body()))
					if rec.Code != want {
						b.Errorf("%s: %d %s", side.name, rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCreateContactWebhooks creates contacts, one request at a time, on
// twins that differ only in their webhook subscriber: none; a receiver that
// answers at once; one that takes 20 ms an answer. Emission must not slow
// the API: the request queues its change and returns, whatever the receiver
// does. The deliveries run on the twin's workers, on the other CPU (with
// requests on every CPU, RunParallel, they would share it: what that costs
// is the deliveries' work, not the request's).
func BenchmarkCreateContactWebhooks(b *testing.B) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(fast.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(20 * time.Millisecond): // a slow receiver, not a wait of the test's
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(slow.Close)
	for _, side := range []struct{ name, url string }{{"none", ""}, {"subscriber", fast.URL}, {"slow-subscriber", slow.URL}} {
		b.Run(side.name, func(b *testing.B) {
			lim := limits.DefaultConfig()
			lim.Burst, lim.Daily = 1<<40, 1<<40
			srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1, HighLevel: mock.HighLevelOptions{Limits: &lim},
				Logger: slog.New(slog.DiscardHandler), Webhooks: mock.WebhookOptions{URL: side.url,
					Drain: clock.Duration(time.Millisecond)}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			b.ReportAllocs()
			for i := range b.N {
				body := fmt.Sprintf(`{"locationId":%q,"firstName":"Ada","email":"ada-%d@example.com","tags":["vip"]}`,
					srv.Defaults().HighLevel.Location.ID, i)
				rec := httptest.NewRecorder()
				srv.HighLevel.Handler().ServeHTTP(rec, benchRequest(srv, http.MethodPost, "/contacts/", body))
				if rec.Code != http.StatusCreated {
					b.Fatalf("%s: %d %s", side.name, rec.Code, rec.Body)
				}
			}
			b.StopTimer()
			st := srv.Webhooks().Stats()
			b.ReportMetric(float64(st.Delivered), "delivered")
			b.ReportMetric(float64(st.Pending), "pending")
		})
	}
}

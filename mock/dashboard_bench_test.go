package mock_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// eventSink is the response writer of a dashboard's request stream: it
// counts the events and drops them.
type eventSink struct {
	header http.Header
	events atomic.Int64
}

func (s *eventSink) Header() http.Header { return s.header }
func (s *eventSink) WriteHeader(int)     {}
func (s *eventSink) Flush()              {}
func (s *eventSink) Write(p []byte) (int, error) {
	s.events.Add(1)
	return len(p), nil
}

// dashboardSide is a twin with a contact to read and, for the page side, a
// dashboard connected to its live journal.
type dashboardSide struct {
	srv    *mock.Server
	target string
	sink   *eventSink
	spent  atomic.Int64 // ns spent in requests
}

func newDashboardSide(b *testing.B, page bool) *dashboardSide {
	b.Helper()
	srv := newBenchTwin(b)
	c, err := srv.Store().CreateContact(store.Contact{LocationID: srv.Defaults().HighLevel.Location.ID,
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+18832327657"})
	if err != nil {
		b.Fatal(err)
	}
	s := &dashboardSide{srv: srv, target: "/contacts/" + c.ID, sink: &eventSink{header: http.Header{}}}
	if page {
		ctx, cancel := context.WithCancel(b.Context())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://highlevel.twin/__admin/requests/stream?limit=0", nil)
		req.RemoteAddr = "127.0.0.1:50000" // the admin API answers loopback only
		var wg sync.WaitGroup
		wg.Go(func() { srv.HighLevel.Handler().ServeHTTP(s.sink, req) })
		b.Cleanup(func() { cancel(); wg.Wait() })
	}
	return s
}

// get reads the contact once, timing it; false after a wrong status.
func (s *dashboardSide) get(b *testing.B) bool {
	req := benchRequest(s.srv, http.MethodGet, s.target, "")
	rec := httptest.NewRecorder()
	start := time.Now()
	s.srv.HighLevel.Handler().ServeHTTP(rec, req)
	s.spent.Add(int64(time.Since(start)))
	if rec.Code != http.StatusOK {
		b.Errorf("GET %s: %d %s", s.target, rec.Code, rec.Body)
		return false
	}
	return true
}

// BenchmarkGetContactDashboard reads a contact on two twins that differ
// only in a dashboard page: none, or one connected to the live request
// journal (GET /__admin/requests/stream, reading and encoding every entry
// as it comes). Each op reads once from each twin, in alternating order, so
// both see the same machine; it reports each side's time per request and
// their ratio (page/none; 1 is no cost). The page must not slow the API:
// the request only signals the stream, which does its work on its own
// goroutine. "serial" sends one request at a time, which leaves the stream
// the other CPU; "parallel" keeps every CPU busy with requests, so the
// stream's work takes from them.
func BenchmarkGetContactDashboard(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			none, page := newDashboardSide(b, false), newDashboardSide(b, true)
			var turn atomic.Int64
			op := func() bool {
				first, second := none, page
				if turn.Add(1)%2 == 0 {
					first, second = page, none
				}
				return first.get(b) && second.get(b)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() && op() {
					}
				})
			} else {
				for i := 0; i < b.N && op(); i++ {
				}
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(none.spent.Load())/n, "none-ns/req")
			b.ReportMetric(float64(page.spent.Load())/n, "page-ns/req")
			b.ReportMetric(float64(page.spent.Load())/float64(none.spent.Load()), "page/none")
			b.ReportMetric(float64(page.sink.events.Load())/n, "events/req")
		})
	}
}

package transport_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/contactbridge/contactbridge/sync/transport"
)

// TestPooled_ReusesAConnectionPerRequestUnderWay: rounds of 16 requests at
// once to one host open 16 connections in all on Pooled(16), while
// http.DefaultTransport's settings (2 idle a host) open new ones each round.
func TestPooled_ReusesAConnectionPerRequestUnderWay(t *testing.T) {
	t.Parallel()
	const parallel, rounds = 16, 4
	dials := func(t *testing.T, rt *http.Transport) int64 {
		t.Helper()
		var opened atomic.Int64
		// Each round's requests are all under way at once: the handler
		// answers none until every one arrived.
		var arrived sync.WaitGroup
		gate := make(chan struct{})
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			arrived.Done()
			<-gate
			_, _ = io.WriteString(w, "ok")
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				opened.Add(1)
			}
		}
		srv.Start()
		defer srv.Close()
		defer rt.CloseIdleConnections()
		client := &http.Client{Transport: rt}
		for range rounds {
			arrived.Add(parallel)
			var sent sync.WaitGroup
			errs := make(chan error, parallel)
			for range parallel {
				sent.Go(func() {
					res, err := client.Get(srv.URL)
					if err != nil {
						errs <- err
						return
					}
					_, err = io.Copy(io.Discard, res.Body)
					errs <- errors.Join(err, res.Body.Close())
				})
			}
			arrived.Wait()
			for range parallel {
				gate <- struct{}{}
			}
			sent.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		return opened.Load()
	}
	if n := dials(t, transport.Pooled(parallel)); n != parallel {
		t.Errorf("Pooled(%d): %d connections for %d rounds of %d requests, want %d", parallel, n, rounds, parallel, parallel)
	}
	def := http.DefaultTransport.(*http.Transport).Clone()
	if n := dials(t, def); n <= parallel {
		t.Errorf("http.DefaultTransport's settings: %d connections, want more than %d (the comparison shows nothing)", n, parallel)
	}
}

package transport

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/sync/internal/twintest"
)

// newFakeClock is a frozen clock that Sleep moves.
func newFakeClock() *twintest.Clock {
	return twintest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// roundTripFunc is a fake RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func response(status int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
}

// runAll makes n calls from workers goroutines and returns their errors.
func runAll(workers, n int, call func() error) []error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
)

// wire records, in order, when each request left and each 429 arrived
// with its Retry-After, on the twins' clock.
type wire struct {
	base  http.RoundTripper
	clock Clock

	mu     sync.Mutex
	events []wireEvent
	sent   int
	status map[int]int
}

type wireEvent struct {
	at        time.Time
	notBefore time.Time // for a 429: when Retry-After allows the next request
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.events = append(w.events, wireEvent{at: w.clock.Now()})
	w.sent++
	w.mu.Unlock()
	res, err := w.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == nil {
		w.status = map[int]int{}
	}
	w.status[res.StatusCode]++
	if res.StatusCode == http.StatusTooManyRequests {
		now := w.clock.Now()
		if d, ok := RetryAfter(res.Header, now); ok {
			// The limiter above reads the 429 after it leaves here; a
			// request may pass it in that moment without breaking any
			// rule. The 429 counts from when its body is closed, which the
			// stack does only after the limiter has read it.
			res.Body = &onClose{ReadCloser: res.Body, closed: func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				w.events = append(w.events, wireEvent{notBefore: now.Add(d)})
			}}
		}
	}
	return res, nil
}

// onClose calls closed once, when the body is first closed.
type onClose struct {
	io.ReadCloser
	once   sync.Once
	closed func()
}

func (b *onClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.closed)
	return err
}

// early returns the requests that left before a Retry-After received
// earlier allowed.
func (w *wire) early() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	var notBefore time.Time
	for _, e := range w.events {
		switch {
		case !e.notBefore.IsZero():
			if e.notBefore.After(notBefore) {
				notBefore = e.notBefore
			}
		case e.at.Before(notBefore):
			out = append(out, e.at.Format(time.TimeOnly)+" < "+notBefore.Format(time.TimeOnly))
		}
	}
	return out
}

func (w *wire) count(status int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status[status]
}

// pitClient is a strict HighLevel client of a location's token over rec,
// sharing lim.
func pitClient(t *testing.T, w *twintest.Twin, token, loc string, lim *Limiter, rec http.RoundTripper) *highlevelapi.ClientWithResponses {
	t.Helper()
	stack := New(Config{Auth: &Bearer{Token: token, Location: loc}, Specs: []*openapi.Spec{w.HighLevelSpec()}, Strict: true,
		Clock: w.Clock(), Base: rec, Limiter: lim, MaxAttempts: 10})
	c, err := highlevelapi.New(w.HighLevelURL(), stack.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hammer lists contacts n times from workers goroutines and returns the
// errors.
func hammer(c *highlevelapi.ClientWithResponses, loc string, workers, n int) []error {
	return runAll(workers, n, func() error { return listContacts(context.Background(), c, loc) })
}

func Test429StormsEndWithEveryRequestDone(t *testing.T) {
	for name, opts := range map[string]twintest.Options{
		"fault rules":                   {},
		"a small burst":                 {Burst: 5, Interval: 10 * time.Second},
		"a small burst, no Retry-After": {Burst: 5, Interval: 10 * time.Second, RetryAfterOff: true},
	} {
		t.Run(name, func(t *testing.T) {
			w := twintest.New(t, opts)
			if opts.Burst == 0 {
				w.AddFault(`{"match":{"operation":"get-contacts"},"effect":{"kind":"error","status":429,"headers":{"Retry-After":"3"}},"times":6}`)
			}
			rec := &wire{base: w.Base(), clock: w.Clock()}
			c := pitClient(t, w, w.PIT(), w.Location(), &Limiter{Clock: w.Clock()}, rec)
			if errs := hammer(c, w.Location(), 20, 60); len(errs) > 0 {
				t.Fatalf("%d requests failed, first: %v", len(errs), errs[0])
			}
			if early := rec.early(); len(early) > 0 {
				t.Errorf("requests sent before Retry-After allowed: %v", early)
			}
			if opts.Burst == 0 && rec.count(429) == 0 {
				t.Error("no 429 was answered: the storm did not happen")
			}
		})
	}
}

func TestZero429sAtFullDemand(t *testing.T) {
	// Live limits scaled: 100 requests per 1 s window.
	w := twintest.New(t, twintest.Options{Burst: 100, Interval: time.Second})
	rec := &wire{base: w.Base(), clock: w.Clock()}
	c := pitClient(t, w, w.PIT(), w.Location(), &Limiter{Clock: w.Clock()}, rec)
	start := w.Clock().Now()
	if errs := hammer(c, w.Location(), 20, 600); len(errs) > 0 {
		t.Fatalf("%d requests failed, first: %v", len(errs), errs[0])
	}
	if n := rec.count(429); n != 0 {
		t.Errorf("%d answers 429, want none", n)
	}
	// Six windows of 100; the sixth opens after 5 s.
	if elapsed := w.Clock().Now().Sub(start); elapsed > 5*time.Second {
		t.Errorf("600 requests took %s, want at most 5 s: the quota was not used", elapsed)
	}
}

func TestDailyQuotaStopsOneLocationOnly(t *testing.T) {
	w := twintest.New(t, twintest.Options{Burst: 100, Interval: time.Second, Daily: 30, Locations: []string{"loc2"}})
	lim := &Limiter{Clock: w.Clock()}
	rec := &wire{base: w.Base(), clock: w.Clock()}
	first := pitClient(t, w, w.PIT(), w.Location(), lim, rec)
	second := pitClient(t, w, "pit-loc2", "loc2", lim, rec)
	errs := hammer(first, w.Location(), 4, 40)
	if len(errs) != 10 {
		t.Fatalf("%d failures, want 10 (40 asked, 30 a day)", len(errs))
	}
	var de *DailyQuotaError
	for _, err := range errs {
		if !errors.As(err, &de) || !strings.Contains(de.Tenant, w.Location()) {
			t.Fatalf("failure %v, want a *DailyQuotaError of %s", err, w.Location())
		}
	}
	if !de.Reset.After(w.Clock().Now()) {
		t.Errorf("reset %s is not ahead of %s", de.Reset, w.Clock().Now())
	}
	if errs := hammer(second, "loc2", 4, 20); len(errs) > 0 {
		t.Errorf("loc2: %d failures, first %v: another location must go on", len(errs), errs[0])
	}
	if n := rec.count(429); n != 0 {
		t.Errorf("%d answers 429: the spent quota was not respected", n)
	}
}

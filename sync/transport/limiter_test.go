package transport

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// windowServer answers as HighLevel counts: per tenant, a window of burst
// requests per interval opened by its first request, and a daily quota.
type windowServer struct {
	clk      Clock
	burst    int
	interval time.Duration
	daily    int

	mu      sync.Mutex
	windows map[string]*window
	limited atomic.Int32
	served  atomic.Int32
}

type window struct {
	start, day   time.Time
	count, today int
}

func (s *windowServer) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	w := s.windows[Tenant(req)]
	if w == nil {
		w = &window{}
		s.windows[Tenant(req)] = w
	}
	if w.count > 0 && !now.Before(w.start.Add(s.interval)) {
		w.count = 0
	}
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(w.day) {
		w.day, w.today = day, 0
	}
	h := http.Header{}
	h.Set(HeaderRateLimitMax, strconv.Itoa(s.burst))
	h.Set(HeaderRateLimitInterval, strconv.FormatInt(s.interval.Milliseconds(), 10))
	h.Set(HeaderRateLimitDaily, strconv.Itoa(s.daily))
	if w.count >= s.burst || w.today >= s.daily {
		s.limited.Add(1)
		h.Set(HeaderRateLimitRemaining, "0")
		h.Set(HeaderRateLimitDailyLeft, strconv.Itoa(s.daily-w.today))
		h.Set(HeaderRetryAfter, strconv.Itoa(int(math.Ceil(w.start.Add(s.interval).Sub(now).Seconds()))))
		return response(429, h, `{"statusCode":429,"message":"Too Many Requests"}`), nil
	}
	if w.count == 0 {
		w.start = now
	}
	w.count++
	w.today++
	s.served.Add(1)
	h.Set(HeaderRateLimitRemaining, strconv.Itoa(s.burst-w.count))
	h.Set(HeaderRateLimitDailyLeft, strconv.Itoa(s.daily-w.today))
	return response(200, h, `{}`), nil
}

// demand sends n requests of tenant from workers goroutines through rt and
// returns the errors.
func demand(t *testing.T, rt http.RoundTripper, tenant string, workers, n int) []error {
	t.Helper()
	return runAll(workers, n, func() error {
		req, err := http.NewRequestWithContext(WithTenant(context.Background(), tenant), http.MethodGet, "http://api.test/x", nil)
		if err != nil {
			return err
		}
		res, err := rt.RoundTrip(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	})
}

func TestLimiterWindowAtFullDemand(t *testing.T) {
	clk := newFakeClock()
	srv := &windowServer{clk: clk, burst: 100, interval: 10 * time.Second, daily: 1_000_000, windows: map[string]*window{}}
	lim := &Limiter{Clock: clk, Base: srv}
	start := clk.Now()
	if errs := demand(t, lim, "loc", 20, 500); len(errs) > 0 {
		t.Fatalf("%d errors, first %v", len(errs), errs[0])
	}
	if n := srv.limited.Load(); n != 0 {
		t.Errorf("%d answers 429, want none", n)
	}
	// 500 requests are five windows of 100: the last opens at 40 s.
	if elapsed := clk.Now().Sub(start); elapsed > 40*time.Second {
		t.Errorf("took %s, want at most 40 s (the whole quota used)", elapsed)
	}
}

func TestLimiterDailyQuotaStopsOneTenant(t *testing.T) {
	clk := newFakeClock()
	srv := &windowServer{clk: clk, burst: 100, interval: time.Second, daily: 150, windows: map[string]*window{}}
	lim := &Limiter{Clock: clk, Base: srv}
	errs := demand(t, lim, "loc-a", 4, 200)
	if len(errs) != 50 {
		t.Fatalf("%d errors, want 50 (200 asked, 150 a day)", len(errs))
	}
	var de *DailyQuotaError
	if !errors.As(errs[0], &de) || !errors.Is(errs[0], ErrDailyQuotaExhausted) || de.Tenant != "loc-a" {
		t.Fatalf("error %v, want a *DailyQuotaError of loc-a", errs[0])
	}
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !de.Reset.Equal(want) {
		t.Errorf("reset %s, want %s", de.Reset, want)
	}
	if n := srv.served.Load(); n != 150 {
		t.Errorf("%d requests served, want 150: none after the quota was spent", n)
	}
	if errs := demand(t, lim, "loc-b", 4, 100); len(errs) != 0 {
		t.Errorf("loc-b: %d errors, first %v: another location must go on", len(errs), errs[0])
	}
	clk.Advance(13 * time.Hour)
	if errs := demand(t, lim, "loc-a", 1, 1); len(errs) != 0 || srv.served.Load() != 251 {
		t.Errorf("loc-a after the reset: %v, %d served in all", errs, srv.served.Load())
	}
}

// bucketServer answers as Marketing 360 counts: a leaky bucket per tenant.
type bucketServer struct {
	clk      Clock
	capacity int
	rate     float64

	mu      sync.Mutex
	level   map[string]float64
	at      map[string]time.Time
	limited atomic.Int32
}

func (s *bucketServer) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, k := s.clk.Now(), Tenant(req)
	if at, ok := s.at[k]; ok {
		s.level[k] = math.Max(0, s.level[k]-now.Sub(at).Seconds()*s.rate)
	}
	s.at[k] = now
	h := http.Header{}
	h.Set(HeaderM360RateLimit, strconv.Itoa(s.capacity))
	status := 200
	if s.level[k]+1 <= float64(s.capacity)+1e-9 {
		s.level[k]++
	} else {
		status = 429
		s.limited.Add(1)
		h.Set(HeaderRetryAfter, "1")
	}
	h.Set(HeaderM360RateRemaining, strconv.Itoa(int(math.Floor(float64(s.capacity)-s.level[k]+1e-9))))
	return response(status, h, `{}`), nil
}

func TestLimiterLeakyBucketAtFullDemand(t *testing.T) {
	clk := newFakeClock()
	srv := &bucketServer{clk: clk, capacity: 5, rate: 5, level: map[string]float64{}, at: map[string]time.Time{}}
	lim := &Limiter{Clock: clk, Base: srv}
	start := clk.Now()
	if errs := demand(t, lim, "key", 10, 100); len(errs) > 0 {
		t.Fatalf("%d errors, first %v", len(errs), errs[0])
	}
	if n := srv.limited.Load(); n != 0 {
		t.Errorf("%d answers 429, want none", n)
	}
	// 5 at once, then one each 0.2 s: 95 more take 19 s. The first
	// answers may come back out of order, which makes the mirror count up
	// to two more than the server (its level is never lower than an answer
	// proves): 19.4 s in the worst order. The clock moves only when nothing
	// is in flight, so no interleaving takes longer.
	if elapsed := clk.Now().Sub(start); elapsed > 20*time.Second {
		t.Errorf("took %s, want about 19 s", elapsed)
	}
}

func TestLimiterPausesOnRetryAfter(t *testing.T) {
	clk := newFakeClock()
	first := true
	var sent []time.Time
	lim := &Limiter{Clock: clk, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent = append(sent, clk.Now())
		if first {
			first = false
			return response(429, http.Header{HeaderRetryAfter: {"6"}}, ""), nil
		}
		return response(200, nil, ""), nil
	})}
	demand(t, lim, "t", 1, 2)
	if len(sent) != 2 || sent[1].Sub(sent[0]) != 6*time.Second {
		t.Errorf("sent at %v, want the second 6 s after the 429", sent)
	}
	if got := lim.Stats(); got != (LimiterStats{Requests: 2, Waits: 1, Waited: 6 * time.Second}) {
		t.Errorf("Stats() = %+v", got)
	}
}

func TestLimiterFollowsAChangedLimit(t *testing.T) {
	clk := newFakeClock()
	srv := &windowServer{clk: clk, burst: 100, interval: 10 * time.Second, daily: 1_000_000, windows: map[string]*window{}}
	lim := &Limiter{Clock: clk, Base: srv}
	if errs := demand(t, lim, "loc", 10, 100); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	srv.mu.Lock()
	srv.burst = 20
	srv.mu.Unlock()
	start := clk.Now()
	if errs := demand(t, lim, "loc", 10, 100); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if n := srv.limited.Load(); n != 0 {
		t.Errorf("%d answers 429 after the limit fell to 20 a window, want none", n)
	}
	// The first window of 100 ends at 10 s; then five windows of 20.
	if elapsed := clk.Now().Sub(start); elapsed > 50*time.Second {
		t.Errorf("took %s, want at most 50 s", elapsed)
	}
}

// quota is a 200 of a window of 5 requests per 10 s with remaining left.
func quota(remaining int) *http.Response {
	h := http.Header{}
	h.Set(HeaderRateLimitMax, "5")
	h.Set(HeaderRateLimitRemaining, strconv.Itoa(remaining))
	h.Set(HeaderRateLimitInterval, "10000")
	return response(200, h, "")
}

// The pacer of a window never lets more requests start than the answers
// allow, counting those in flight, and an answer that arrives late does
// not raise the room a later one left. (fixtures load's own gate had this
// test; the gate is this Limiter now.)
func TestLimiterWindowCountsInFlight(t *testing.T) {
	clk := newFakeClock()
	lim := &Limiter{Clock: clk}
	p := lim.pacer("loc")
	ctx := t.Context()
	mustStart := func() int {
		t.Helper()
		e, err := p.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	cannotStart := func() {
		t.Helper()
		p.mu.Lock()
		defer p.mu.Unlock()
		// What acquire would let through at once.
		if p.unlimited || p.room > 0 || (p.inflight == 0 && p.pauseUntil.IsZero()) {
			t.Fatalf("a request could start: room %d, %d in flight", p.room, p.inflight)
		}
	}
	probe := mustStart()
	cannotStart() // nothing is known while the probe is out
	p.release(probe, clk.Now(), quota(4))
	var epochs [4]int
	for i := range epochs {
		epochs[i] = mustStart()
	}
	cannotStart()
	// The server counted them 3, 2, 1, 0 and the answers come back out of
	// order: the room never grows back.
	p.release(epochs[1], clk.Now(), quota(2)) // 2 - 3 in flight
	p.release(epochs[0], clk.Now(), quota(3)) // late: 3 - 2 would allow one
	cannotStart()
	p.release(epochs[2], clk.Now(), quota(1))
	p.release(epochs[3], clk.Now(), quota(0)) // spent: pause to the window's end
	if n := len(clk.Sleeps()); n != 0 {
		t.Fatalf("paused before a request needed to")
	}
	next := mustStart() // after the pause, as the probe of a new epoch
	if sleeps := clk.Sleeps(); len(sleeps) != 1 || sleeps[0] != 10*time.Second || next == probe {
		t.Errorf("sleeps %v; epoch %d", sleeps, next)
	}
	cannotStart()
	p.release(next, clk.Now(), quota(4))
	last := mustStart()
	// A 429 pauses for Retry-After.
	p.release(last, clk.Now(), response(http.StatusTooManyRequests, http.Header{HeaderRetryAfter: {"3"}}, ""))
	mustStart()
	if sleeps := clk.Sleeps(); len(sleeps) != 2 || sleeps[1] != 3*time.Second {
		t.Errorf("sleeps %v, want 10 s then 3 s", sleeps)
	}
}

// A window that the demand did not fill ends unseen, and the request that
// comes next opens the next one; when that window is spent, the pause ends
// Interval after the answer of the request that opened it, not Interval
// after the last answer; a request that may have reached the server in
// another window pauses Interval after its answer.
func TestLimiterWindowOpenedUnseen(t *testing.T) {
	clk := newFakeClock()
	lim := &Limiter{Clock: clk}
	p := lim.pacer("loc")
	ctx := t.Context()
	// send acquires, sends at the clock's time and is answered remaining
	// after d more.
	send := func(d time.Duration, remaining int) {
		t.Helper()
		e, err := p.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent := clk.Now()
		clk.Advance(d)
		p.release(e, sent, quota(remaining))
	}
	start := clk.Now()
	send(0, 4) // the probe opens the first window
	send(0, 3)
	clk.Advance(11 * time.Second) // the first window ends unseen
	send(time.Second, 4)          // this one opened the second, answered at +12 s
	send(0, 3)
	send(0, 2)
	send(0, 1)
	send(time.Second, 0) // the second window is spent, at +13 s
	send(0, 4)           // waits for the second window's end
	if sleeps := clk.Sleeps(); len(sleeps) != 1 || !start.Add(13*time.Second).Add(sleeps[0]).Equal(start.Add(22*time.Second)) {
		t.Fatalf("sleeps %v; want one, to +22 s (10 s after the opener's answer), not +23 s", sleeps)
	}

	// The opener of the third window was answered at +22 s; a request
	// answered after +32 s may have reached the server in a fourth
	// window: it pauses 10 s from its own answer.
	send(0, 3)
	send(0, 2)
	send(0, 1)
	at := clk.Now()
	send(10*time.Second+time.Millisecond, 0)
	send(0, 4)
	if sleeps := clk.Sleeps(); len(sleeps) != 2 || !at.Add(10*time.Second+time.Millisecond).Add(sleeps[1]).Equal(at.Add(20*time.Second+time.Millisecond)) {
		t.Fatalf("sleeps %v; want the second 10 s from the last answer", sleeps)
	}
}

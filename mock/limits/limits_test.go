package limits_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
)

// t0 is a quarter past noon UTC, off the whole second on purpose.
var t0 = time.Date(2024, 5, 1, 12, 15, 0, 250_000_000, time.UTC)

var keyA = limits.Key{AppID: "app-a", LocationID: "loc-1"}

func newLimiter(t *testing.T, clk clock.Clock, edit func(*limits.Config)) *limits.Limiter {
	t.Helper()
	cfg := limits.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	l, err := limits.New(clk, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

func TestTake_Burst(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, nil)
	for i := range 100 {
		if i == 50 {
			clk.Advance(3200 * time.Millisecond)
		}
		d := l.Take(keyA)
		want := limits.Decision{Allowed: true, Limited: true, Max: 100, Remaining: 99 - i,
			Interval: 10 * time.Second, Daily: 200_000, DailyRemaining: 199_999 - i}
		if d != want {
			t.Fatalf("request %d: %+v, want %+v", i+1, d, want)
		}
	}
	d := l.Take(keyA)
	want := limits.Decision{Allowed: false, Limited: true, Max: 100, Remaining: 0, Interval: 10 * time.Second,
		Daily: 200_000, DailyRemaining: 199_900, RetryAfter: 7 * time.Second, Reason: limits.ReasonBurst}
	if d != want {
		t.Fatalf("request 101: %+v, want %+v", d, want)
	}
	clk.Set(t0.Add(10*time.Second - time.Nanosecond))
	if d := l.Take(keyA); d.Allowed || d.RetryAfter != time.Second {
		t.Fatalf("1ns before the window ends: %+v, want refused with RetryAfter 1s", d)
	}
	clk.Advance(time.Nanosecond)
	d = l.Take(keyA)
	if !d.Allowed || d.Remaining != 99 || d.DailyRemaining != 199_899 {
		t.Fatalf("when the window ends: %+v, want allowed, Remaining 99, DailyRemaining 199899 (refusals not counted)", d)
	}
}

func TestTake_RetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after time.Duration // since the window began
		want  time.Duration
	}{
		{0, 10 * time.Second},
		{time.Nanosecond, 10 * time.Second},
		{4500 * time.Millisecond, 6 * time.Second},
		{5 * time.Second, 5 * time.Second},
		{9 * time.Second, time.Second},
		{9999 * time.Millisecond, time.Second},
		{10*time.Second - time.Nanosecond, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.after.String(), func(t *testing.T) {
			t.Parallel()
			clk := clock.NewManual(t0)
			l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = 1 })
			if d := l.Take(keyA); !d.Allowed {
				t.Fatalf("first request refused: %+v", d)
			}
			clk.Advance(tc.after)
			d := l.Take(keyA)
			if d.Allowed || d.Reason != limits.ReasonBurst || d.RetryAfter != tc.want {
				t.Fatalf("got %+v, want refused (burst) with RetryAfter %s", d, tc.want)
			}
		})
	}
}

// A window begins at the first request after the previous one ended, not on
// a grid.
func TestTake_WindowStartsAtFirstRequestAfterEnd(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = 2 })
	steps := []struct {
		at            time.Duration
		wantAllowed   bool
		wantRemaining int
		wantRetry     time.Duration
	}{
		{0, true, 1, 0},
		{15 * time.Second, true, 1, 0}, // the first window ended at 10s: a new one, [15s, 25s)
		{24 * time.Second, true, 0, 0},
		{24500 * time.Millisecond, false, 0, time.Second},
		{25 * time.Second, true, 1, 0},
		{34 * time.Second, true, 0, 0},
		{34 * time.Second, false, 0, time.Second},
	}
	for i, s := range steps {
		clk.Set(t0.Add(s.at))
		d := l.Take(keyA)
		if d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining || d.RetryAfter != s.wantRetry {
			t.Fatalf("step %d at +%s: %+v, want allowed %v, remaining %d, retry %s",
				i, s.at, d, s.wantAllowed, s.wantRemaining, s.wantRetry)
		}
	}
}

func TestTake_Daily(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 5, 1, 22, 0, 0, 0, time.UTC)
	type check struct {
		at             time.Time
		allowed        bool
		retry          time.Duration
		dailyRemaining int
	}
	tests := []struct {
		name   string
		reset  string
		checks []check
	}{
		{"utc", limits.DailyResetUTC, []check{
			{start.Add(5 * time.Minute), false, time.Hour + 55*time.Minute, 0},
			{time.Date(2024, 5, 1, 23, 59, 59, 500_000_000, time.UTC), false, time.Second, 0},
			{time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), true, 0, 4},
		}},
		{"empty means utc", "", []check{
			{start.Add(5 * time.Minute), false, time.Hour + 55*time.Minute, 0},
			{time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), true, 0, 4},
		}},
		{"rolling", limits.DailyResetRolling, []check{
			{start.Add(5 * time.Minute), false, 23*time.Hour + 55*time.Minute, 0},
			{time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), false, 22 * time.Hour, 0},
			{start.Add(24*time.Hour - time.Nanosecond), false, time.Second, 0},
			{start.Add(24 * time.Hour), true, 0, 4},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewManual(start)
			l := newLimiter(t, clk, func(c *limits.Config) { c.Daily = 5; c.DailyReset = tc.reset })
			for i := range 5 {
				clk.Set(start.Add(time.Duration(i) * time.Minute))
				if d := l.Take(keyA); !d.Allowed || d.DailyRemaining != 4-i || d.Daily != 5 {
					t.Fatalf("request %d: %+v, want allowed with DailyRemaining %d", i+1, d, 4-i)
				}
			}
			for _, c := range tc.checks {
				clk.Set(c.at)
				d := l.Take(keyA)
				if d.Allowed != c.allowed || d.RetryAfter != c.retry || d.DailyRemaining != c.dailyRemaining {
					t.Fatalf("at %s: %+v, want allowed %v, retry %s, daily remaining %d",
						c.at.Format(time.RFC3339Nano), d, c.allowed, c.retry, c.dailyRemaining)
				}
				if !d.Allowed && d.Reason != limits.ReasonDaily {
					t.Fatalf("at %s: reason %q, want daily", c.at.Format(time.RFC3339Nano), d.Reason)
				}
			}
		})
	}
}

func TestTake_RefusedRequestsCountNowhere(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = 2; c.Daily = 3 })
	for i, wantAllowed := range []bool{true, true, false, false, false} {
		if d := l.Take(keyA); d.Allowed != wantAllowed {
			t.Fatalf("request %d: %+v, want allowed %v", i+1, d, wantAllowed)
		}
	}
	clk.Advance(10 * time.Second)
	d := l.Take(keyA)
	if !d.Allowed || d.Remaining != 1 || d.DailyRemaining != 0 {
		t.Fatalf("after the window: %+v, want allowed, Remaining 1, DailyRemaining 0", d)
	}
}

// Over both limits, the request is refused as daily and told to wait for the
// later of the two ends.
func TestTake_BothExhausted(t *testing.T) {
	t.Parallel()
	// 5s before midnight: the daily period ends before the burst window.
	clk := clock.NewManual(time.Date(2024, 5, 1, 23, 59, 55, 0, time.UTC))
	l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = 2; c.Daily = 2 })
	l.Take(keyA)
	l.Take(keyA)
	d := l.Take(keyA)
	if d.Allowed || d.Reason != limits.ReasonDaily || d.RetryAfter != 10*time.Second {
		t.Fatalf("got %+v, want refused (daily) with RetryAfter 10s (the burst window ends last)", d)
	}
	clk.Advance(5 * time.Second) // a new day, the same window
	d = l.Take(keyA)
	if d.Allowed || d.Reason != limits.ReasonBurst || d.RetryAfter != 5*time.Second || d.DailyRemaining != 2 {
		t.Fatalf("after midnight: %+v, want refused (burst) with RetryAfter 5s, DailyRemaining 2", d)
	}
}

func TestTake_KeysAndLocations(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, func(c *limits.Config) {
		c.Burst = 1
		c.Locations = map[string]limits.Limit{
			"big": {Enabled: true, Burst: 3, Interval: clock.Duration(time.Minute), Daily: 10},
			"off": {Enabled: false},
		}
	})
	if d := l.Take(keyA); !d.Allowed {
		t.Fatalf("first request of %v refused: %+v", keyA, d)
	}
	tests := []struct {
		name    string
		key     limits.Key
		allowed bool
		limited bool
		max     int
		remain  int
	}{
		{"same key is over", keyA, false, true, 1, 0},
		{"another app", limits.Key{AppID: "app-b", LocationID: "loc-1"}, true, true, 1, 0},
		{"another location", limits.Key{AppID: "app-a", LocationID: "loc-2"}, true, true, 1, 0},
		{"override", limits.Key{AppID: "app-a", LocationID: "big"}, true, true, 3, 2},
		{"limits off", limits.Key{AppID: "app-a", LocationID: "off"}, true, false, 0, 0},
	}
	for _, tc := range tests {
		d := l.Take(tc.key)
		if d.Allowed != tc.allowed || d.Limited != tc.limited || d.Max != tc.max || d.Remaining != tc.remain {
			t.Errorf("%s: %+v, want allowed %v, limited %v, max %d, remaining %d",
				tc.name, d, tc.allowed, tc.limited, tc.max, tc.remain)
		}
	}
	big := l.Take(limits.Key{AppID: "app-a", LocationID: "big"})
	if big.Interval != time.Minute || big.Daily != 10 || big.DailyRemaining != 8 {
		t.Errorf("override: %+v, want interval 1m, daily 10, daily remaining 8", big)
	}
	off := limits.Key{AppID: "app-a", LocationID: "off"}
	for i := range 50 {
		if d := l.Take(off); d != (limits.Decision{Allowed: true}) {
			t.Fatalf("request %d where limits are off: %+v, want allowed and not limited", i+1, d)
		}
	}
}

func TestSetConfig(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = 5 })
	for range 3 {
		l.Take(keyA)
	}
	cfg := l.Config()
	cfg.Burst = 10
	cfg.Interval = clock.Duration(2 * time.Second)
	if err := l.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	if d := l.Take(keyA); d.Max != 10 || d.Remaining != 6 || d.Interval != 2*time.Second {
		t.Fatalf("after raising the burst: %+v, want Max 10, Remaining 6 (counts kept), Interval 2s", d)
	}
	clk.Advance(2 * time.Second)
	if d := l.Take(keyA); d.Remaining != 9 || d.DailyRemaining != 200_000-5 {
		t.Fatalf("after the new interval: %+v, want a new window (Remaining 9), DailyRemaining 199995", d)
	}

	bad := l.Config()
	bad.Burst = 0
	if err := l.SetConfig(bad); !errors.Is(err, limits.ErrInvalidConfig) {
		t.Fatalf("SetConfig(burst 0) = %v, want ErrInvalidConfig", err)
	}
	if got := l.Config().Burst; got != 10 {
		t.Fatalf("a refused config was applied: burst %d", got)
	}

	// Config returns a copy.
	cfg = l.Config()
	cfg.Locations = map[string]limits.Limit{"loc-1": {}}
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l.Config().Locations["loc-1"] = limits.Limit{Enabled: true, Burst: 1, Interval: clock.Duration(time.Second), Daily: 1}
	if d := l.Take(keyA); d.Limited {
		t.Fatalf("changing the map Config returned changed the limiter: %+v", d)
	}
}

func TestStatusAndReset(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, func(c *limits.Config) {
		c.Burst = 5
		c.Daily = 50
		c.Locations = map[string]limits.Limit{"off": {}}
	})
	keys := []limits.Key{
		{AppID: "b", LocationID: "x"}, {AppID: "a", LocationID: "y"}, {AppID: "a", LocationID: "x"},
		{AppID: "a", LocationID: "off"},
	}
	for i, k := range keys {
		for range i + 1 {
			l.Take(k)
		}
	}
	windowEnd := t0.Add(10 * time.Second)
	midnight := time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)
	want := []limits.BucketStatus{
		{AppID: "a", LocationID: "x", Max: 5, Remaining: 2, WindowResetsAt: windowEnd, Daily: 50, DailyRemaining: 47, DailyResetsAt: midnight},
		{AppID: "a", LocationID: "y", Max: 5, Remaining: 3, WindowResetsAt: windowEnd, Daily: 50, DailyRemaining: 48, DailyResetsAt: midnight},
		{AppID: "b", LocationID: "x", Max: 5, Remaining: 4, WindowResetsAt: windowEnd, Daily: 50, DailyRemaining: 49, DailyResetsAt: midnight},
	}
	if got := l.Status(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Status:\n got %+v\nwant %+v", got, want)
	}

	clk.Advance(10 * time.Second)
	got := l.Status()
	if len(got) != 3 || got[0].Remaining != 5 || !got[0].WindowResetsAt.IsZero() || got[0].DailyRemaining != 47 {
		t.Fatalf("after the window: %+v, want full windows with no reset time, daily counts kept", got)
	}
	raw, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"appId":"a","locationId":"x","max":5,"remaining":5,"daily":50,"dailyRemaining":47,"dailyResetsAt":"2024-05-02T00:00:00Z"}`
	if string(raw) != wantJSON {
		t.Fatalf("JSON %s, want %s", raw, wantJSON)
	}

	clk.Set(midnight)
	if got := l.Status(); len(got) != 0 {
		t.Fatalf("after the day: %+v, want no live buckets", got)
	}

	clk.Set(t0.Add(24 * time.Hour))
	l.Take(keyA)
	l.Take(keyA)
	l.Reset()
	if got := l.Status(); len(got) != 0 {
		t.Fatalf("after Reset: %+v, want none", got)
	}
	if d := l.Take(keyA); d.Remaining != 4 || d.DailyRemaining != 49 {
		t.Fatalf("after Reset: %+v, want fresh counts", d)
	}
}

// Buckets of idle keys are dropped once there are many.
func TestIdleBucketsAreDropped(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	l := newLimiter(t, clk, nil)
	const idle, fresh = 3000, 100
	for i := range idle {
		l.Take(limits.Key{AppID: "app", LocationID: fmt.Sprint("old-", i)})
	}
	clk.Advance(25 * time.Hour)
	for i := range fresh {
		l.Take(limits.Key{AppID: "app", LocationID: fmt.Sprint("new-", i)})
	}
	// More new keys until a sweep is due; bounded.
	for i := range 2 * idle {
		if limits.BucketCount(l) < idle {
			break
		}
		l.Take(limits.Key{AppID: "app", LocationID: fmt.Sprint("more-", i)})
	}
	if n := limits.BucketCount(l); n >= idle {
		t.Fatalf("%d buckets held, want the %d idle ones dropped", n, idle)
	}
	if n := len(l.Status()); n < fresh {
		t.Fatalf("%d live buckets, want at least %d", n, fresh)
	}
}

// takeRecord is one Take seen by a worker: when it happened and the answer.
type takeRecord struct {
	key limits.Key
	at  time.Time
	d   limits.Decision
}

// TestTake_Concurrent has workers take while a controller advances the clock,
// then replays the windows from the times of the allowed requests: no window
// may hold more than Burst, its Remaining values must be exactly Max-1 down,
// and a burst refusal may only happen in a full window.
func TestTake_Concurrent(t *testing.T) {
	t.Parallel()
	const (
		workers = 8
		takes   = 300
		steps   = 120
		burst   = 20
	)
	interval := 10 * time.Second
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			clk := clock.NewManual(t0)
			l := newLimiter(t, clk, func(c *limits.Config) { c.Burst = burst; c.Interval = clock.Duration(interval) })
			keys := []limits.Key{keyA, {AppID: "app-b", LocationID: "loc-1"}, {AppID: "app-a", LocationID: "loc-2"}}
			stepSizes := make([]time.Duration, steps)
			for i := range stepSizes {
				stepSizes[i] = time.Duration(rng.IntN(2500)) * time.Millisecond
			}
			plans := make([][]limits.Key, workers)
			for w := range plans {
				for range takes {
					plans[w] = append(plans[w], keys[rng.IntN(len(keys))])
				}
			}

			// The clock moves only under gate's write lock, so the time a
			// worker reads under the read lock is the time Take sees.
			var gate sync.RWMutex
			var taken atomic.Int64
			records := make([][]takeRecord, workers)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for _, k := range plans[w] {
						gate.RLock()
						at := clk.Now()
						d := l.Take(k)
						gate.RUnlock()
						records[w] = append(records[w], takeRecord{k, at, d})
						taken.Add(1)
						runtime.Gosched()
					}
				})
			}
			wg.Go(func() {
				perStep := int64(workers * takes / steps)
				for i, step := range stepSizes {
					// Pace the clock with the workers; bounded, and the
					// workers never wait for it.
					for spin := 0; spin < 100_000 && taken.Load() < int64(i)*perStep; spin++ {
						runtime.Gosched()
					}
					gate.Lock()
					clk.Advance(step)
					gate.Unlock()
				}
			})
			wg.Wait()

			byKey := map[limits.Key][]takeRecord{}
			for _, rs := range records {
				for _, r := range rs {
					byKey[r.key] = append(byKey[r.key], r)
				}
			}
			windows := 0
			for k, rs := range byKey {
				windows += checkWindows(t, k, rs, burst, interval)
			}
			t.Logf("%d takes, %d windows", workers*takes, windows)
		})
	}
}

// checkWindows replays the fixed windows of one key and returns how many
// there were.
func checkWindows(t *testing.T, k limits.Key, rs []takeRecord, burst int, interval time.Duration) int {
	t.Helper()
	slices.SortStableFunc(rs, func(a, b takeRecord) int { return a.at.Compare(b.at) })
	type window struct {
		start, end time.Time
		remaining  []int
	}
	var ws []*window
	var allowed []int // daily remaining of every allowed request
	for _, r := range rs {
		if !r.d.Allowed {
			continue
		}
		allowed = append(allowed, r.d.DailyRemaining)
		if len(ws) == 0 || !r.at.Before(ws[len(ws)-1].end) {
			ws = append(ws, &window{start: r.at, end: r.at.Add(interval)})
		}
		w := ws[len(ws)-1]
		w.remaining = append(w.remaining, r.d.Remaining)
	}
	for _, w := range ws {
		if len(w.remaining) > burst {
			t.Fatalf("%v: window at %s allowed %d requests, burst is %d", k, w.start.Format(time.RFC3339Nano), len(w.remaining), burst)
		}
		slices.Sort(w.remaining)
		for i, rem := range w.remaining {
			// Exactly Max-n .. Max-1: distinct, in [0, Max-1], no gaps.
			if want := burst - len(w.remaining) + i; rem != want {
				t.Fatalf("%v: window at %s has Remaining values %v, want %d..%d",
					k, w.start.Format(time.RFC3339Nano), w.remaining, burst-len(w.remaining), burst-1)
			}
		}
	}
	slices.Sort(allowed)
	for i, rem := range allowed {
		if want := 200_000 - len(allowed) + i; rem != want {
			t.Fatalf("%v: DailyRemaining values are not a countdown: got %d at %d, want %d", k, rem, i, want)
		}
	}
	for _, r := range rs {
		if r.d.Allowed {
			continue
		}
		if r.d.Reason != limits.ReasonBurst {
			t.Fatalf("%v: refused at %s for %q, want burst", k, r.at.Format(time.RFC3339Nano), r.d.Reason)
		}
		i, found := slices.BinarySearchFunc(ws, r.at, func(w *window, at time.Time) int {
			switch {
			case !at.Before(w.end):
				return -1
			case at.Before(w.start):
				return 1
			}
			return 0
		})
		if !found {
			t.Fatalf("%v: refused at %s outside every window", k, r.at.Format(time.RFC3339Nano))
		}
		w := ws[i]
		if len(w.remaining) != burst {
			t.Fatalf("%v: refused at %s in a window that allowed only %d of %d", k, r.at.Format(time.RFC3339Nano), len(w.remaining), burst)
		}
		wantRetry := (w.end.Sub(r.at) + time.Second - 1).Truncate(time.Second)
		if r.d.RetryAfter != wantRetry {
			t.Fatalf("%v: refused at %s with RetryAfter %s, want %s", k, r.at.Format(time.RFC3339Nano), r.d.RetryAfter, wantRetry)
		}
	}
	return len(ws)
}

type twin struct {
	clk     *clock.Manual
	handler http.Handler
	calls   atomic.Int64 // requests that reached get-thing
}

func newTwin(t *testing.T, edit func(*limits.Config)) *twin {
	t.Helper()
	tw := &twin{clk: clock.NewManual(t0)}
	tokens := auth.NewRegistry(tw.clk)
	scopes := []string{"things.read"}
	tokens.Add("a1", auth.Principal{Kind: auth.OAuthAccess, AppID: "app-a", LocationID: "loc-1", Scopes: scopes})
	tokens.Add("b1", auth.Principal{Kind: auth.OAuthAccess, AppID: "app-b", LocationID: "loc-1", Scopes: scopes})
	tokens.Add("off", auth.Principal{Kind: auth.OAuthAccess, AppID: "app-a", LocationID: "off", Scopes: scopes})
	lim := newLimiter(t, tw.clk, func(c *limits.Config) {
		c.Burst = 2
		c.Daily = 100
		c.Locations = map[string]limits.Limit{"off": {}}
		if edit != nil {
			edit(c)
		}
	})
	tw.handler = pipelinetest.New(t, pipeline.Config{
		Handlers: map[string]pipeline.HandlerFunc{
			"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
				tw.calls.Add(1)
				return pipeline.JSON(http.StatusOK, map[string]any{"name": r.Path["id"]}), nil
			},
		},
		Auth:   tokens,
		Strict: true,
		Inner:  []pipeline.Middleware{lim.Middleware()},
	})
	return tw
}

func (tw *twin) get(path, token string) *httptest.ResponseRecorder {
	return pipelinetest.Serve(tw.handler, pipelinetest.NewRequest(http.MethodGet, path, token, ""))
}

var rateHeaders = []string{
	"X-RateLimit-Max", "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds",
	"X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining",
}

// wantHeaders checks the five rate limit headers (want nil: none of them)
// and Retry-After (retry "": absent).
func wantHeaders(t *testing.T, step string, rec *httptest.ResponseRecorder, want []string, retry string) {
	t.Helper()
	for i, h := range rateHeaders {
		vs := rec.Header().Values(h)
		present := len(vs) > 0
		switch {
		case want == nil && present:
			t.Errorf("%s: header %s = %v, want none", step, h, vs)
		case want != nil && (len(vs) != 1 || vs[0] != want[i]):
			t.Errorf("%s: header %s = %v, want %q", step, h, vs, want[i])
		}
	}
	if vs := rec.Header().Values("Retry-After"); retry == "" && len(vs) > 0 {
		t.Errorf("%s: Retry-After = %v, want none", step, vs)
	} else if retry != "" && (len(vs) != 1 || vs[0] != retry) {
		t.Errorf("%s: Retry-After = %v, want %q", step, vs, retry)
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, nil)
	steps := []struct {
		name    string
		advance time.Duration
		path    string
		token   string
		status  int
		headers []string // Max, Remaining, Interval, Daily, DailyRemaining
		retry   string
		calls   int64 // get-thing calls so far
	}{
		{"first", 0, "/things/x", "a1", 200, []string{"2", "1", "10000", "100", "99"}, "", 1},
		{"second", 0, "/things/x", "a1", 200, []string{"2", "0", "10000", "100", "98"}, "", 2},
		{"over the burst", 0, "/things/x", "a1", 429, []string{"2", "0", "10000", "100", "98"}, "10", 2},
		{"still over", 4500 * time.Millisecond, "/things/x", "a1", 429, []string{"2", "0", "10000", "100", "98"}, "6", 2},
		{"another app", 0, "/things/x", "b1", 200, []string{"2", "1", "10000", "100", "99"}, "", 3},
		{"limits off", 0, "/things/x", "off", 200, nil, "", 4},
		{"no security", 0, "/open", "", 200, nil, "", 4},
		{"no security with a token", 0, "/open", "a1", 200, nil, "", 4},
		{"unauthenticated", 0, "/things/x", "", 401, nil, "", 4},
		{"window over", 5500 * time.Millisecond, "/things/x", "a1", 200, []string{"2", "1", "10000", "100", "97"}, "", 5},
	}
	for _, s := range steps {
		tw.clk.Advance(s.advance)
		rec := tw.get(s.path, s.token)
		if rec.Code != s.status {
			t.Fatalf("%s: status %d, want %d (body %s)", s.name, rec.Code, s.status, rec.Body)
		}
		wantHeaders(t, s.name, rec, s.headers, s.retry)
		if got := tw.calls.Load(); got != s.calls {
			t.Fatalf("%s: handler called %d times, want %d", s.name, got, s.calls)
		}
		if s.status == 429 {
			var body struct {
				Status   int
				Messages []string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s: body %s: %v", s.name, rec.Body, err)
			}
			if body.Status != 429 || !slices.Equal(body.Messages, []string{"Too Many Requests"}) {
				t.Fatalf("%s: body %s, want status 429 and Too Many Requests", s.name, rec.Body)
			}
		}
	}
}

func TestMiddleware_RetryAfterSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter bool
		want       string
	}{
		{"on", true, "10"},
		{"off", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTwin(t, func(c *limits.Config) { c.Burst = 1; c.RetryAfter = tc.retryAfter })
			if rec := tw.get("/things/x", "a1"); rec.Code != 200 {
				t.Fatalf("first: status %d", rec.Code)
			}
			rec := tw.get("/things/x", "a1")
			if rec.Code != 429 {
				t.Fatalf("second: status %d, want 429", rec.Code)
			}
			wantHeaders(t, "second", rec, []string{"1", "0", "10000", "100", "99"}, tc.want)
			if n := tw.calls.Load(); n != 1 {
				t.Fatalf("handler called %d times, want 1", n)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*limits.Config)
		wantErr string // "" for valid
	}{
		{"default", func(*limits.Config) {}, ""},
		{"rolling", func(c *limits.Config) { c.DailyReset = limits.DailyResetRolling }, ""},
		{"empty reset is utc", func(c *limits.Config) { c.DailyReset = "" }, ""},
		{"disabled ignores zeros", func(c *limits.Config) { c.Limit = limits.Limit{} }, ""},
		{"smallest", func(c *limits.Config) {
			c.Limit = limits.Limit{Enabled: true, Burst: 1, Interval: clock.Duration(time.Millisecond), Daily: 1}
		}, ""},
		{"burst 0", func(c *limits.Config) { c.Burst = 0 }, "burst 0"},
		{"interval under 1ms", func(c *limits.Config) { c.Interval = clock.Duration(999 * time.Microsecond) }, "interval 999µs"},
		{"negative interval", func(c *limits.Config) { c.Interval = clock.Duration(-time.Second) }, "interval -1s"},
		{"daily 0", func(c *limits.Config) { c.Daily = 0 }, "daily 0"},
		{"unknown reset", func(c *limits.Config) { c.DailyReset = "midnight" }, `dailyReset "midnight"`},
		{"bad location", func(c *limits.Config) {
			c.Locations = map[string]limits.Limit{"L9": {Enabled: true, Burst: 1, Interval: clock.Duration(time.Second)}}
		}, "location L9: daily 0"},
		{"disabled location", func(c *limits.Config) { c.Locations = map[string]limits.Limit{"L9": {}} }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := limits.DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				if _, err := limits.New(clock.NewManual(t0), cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, limits.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want ErrInvalidConfig mentioning %q", err, tc.wantErr)
			}
			if _, err := limits.New(clock.NewManual(t0), cfg); !errors.Is(err, limits.ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestConfig_JSON(t *testing.T) {
	t.Parallel()
	cfg := limits.DefaultConfig()
	cfg.Locations = map[string]limits.Limit{
		"big": {Enabled: true, Burst: 500, Interval: clock.Duration(90 * time.Second), Daily: 1_000_000},
		"off": {},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"enabled":true,"burst":100,"interval":"10s","daily":200000,"dailyReset":"utc","retryAfter":true,` +
		`"locations":{"big":{"enabled":true,"burst":500,"interval":"1m30s","daily":1000000},` +
		`"off":{"enabled":false,"burst":0,"interval":"0s","daily":0}}}`
	if string(raw) != want {
		t.Fatalf("JSON\n got %s\nwant %s", raw, want)
	}
	var back limits.Config
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Fatalf("round trip: %+v, want %+v", back, cfg)
	}
	if raw, _ := json.Marshal(limits.DefaultConfig()); strings.Contains(string(raw), "locations") {
		t.Fatalf("no overrides still writes locations: %s", raw)
	}

	for _, bad := range []string{`{"interval":10}`, `{"interval":"10"}`, `{"interval":"soon"}`} {
		var c limits.Config
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want one", bad)
		}
	}
}

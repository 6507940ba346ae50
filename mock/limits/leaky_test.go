package limits_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
)

func newLeaky(t *testing.T, cfg limits.LeakyConfig) (*limits.Leaky, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	l, err := limits.NewLeaky(clk, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

func TestLeaky_FiveThenRefusedThenDrains(t *testing.T) {
	t.Parallel()
	l, clk := newLeaky(t, limits.DefaultLeakyConfig())
	for i := range 5 {
		d := l.Take("k")
		if !d.Allowed || !d.Limited || d.Limit != 5 || d.Remaining != 4-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Take("k")
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != time.Second {
		t.Fatalf("sixth: %+v", d)
	}
	// Full bucket of 5 at 5/s empties in one second.
	if want := clk.Now().Add(time.Second); !d.Reset.Equal(want) {
		t.Fatalf("reset %v, want %v", d.Reset, want)
	}
	if other := l.Take("other"); !other.Allowed {
		t.Fatal("another key shares the bucket")
	}
	clk.Advance(199 * time.Millisecond)
	if l.Take("k").Allowed {
		t.Fatal("allowed before one slot drained")
	}
	clk.Advance(time.Millisecond)
	if d := l.Take("k"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 200ms: %+v", d)
	}
	clk.Advance(time.Second)
	if d := l.Take("k"); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("after draining: %+v", d)
	}
}

func TestLeaky_ExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	l, clk := newLeaky(t, limits.DefaultLeakyConfig())
	var allowed atomic.Int64
	for step := range 20 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if l.Take("k").Allowed {
						allowed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		// At most the capacity at first, then what drained in each step.
		want := int64(5 + step)
		if got := allowed.Load(); got != want {
			t.Fatalf("step %d: %d allowed, want %d", step, got, want)
		}
		clk.Advance(200 * time.Millisecond)
	}
}

func TestLeaky_OffAndConfig(t *testing.T) {
	t.Parallel()
	l, _ := newLeaky(t, limits.LeakyConfig{})
	for range 100 {
		if d := l.Take("k"); !d.Allowed || d.Limited {
			t.Fatalf("disabled bucket limited: %+v", d)
		}
	}
	if err := l.SetConfig(limits.LeakyConfig{Enabled: true, PerSecond: 0, Capacity: 5}); !errors.Is(err, limits.ErrInvalidConfig) {
		t.Fatalf("zero rate: %v", err)
	}
	if err := l.SetConfig(limits.LeakyConfig{Enabled: true, PerSecond: 1, Capacity: 0}); !errors.Is(err, limits.ErrInvalidConfig) {
		t.Fatalf("zero capacity: %v", err)
	}
	if err := l.SetConfig(limits.LeakyConfig{Enabled: true, PerSecond: 1, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	l.Take("k")
	l.Take("k")
	if d := l.Take("k"); d.Allowed || d.RetryAfter != time.Second {
		t.Fatalf("capacity 2: %+v", d)
	}
	if st := l.Status(); len(st) != 1 || st[0].Key != "k" || st[0].Remaining != 0 {
		t.Fatalf("status: %+v", st)
	}
	l.Reset()
	if st := l.Status(); len(st) != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

// TestLeaky_PeekCountsNothing: Peek reports the level Take would (the
// remaining room and when the bucket is empty) without adding to it, and
// makes no bucket for a key that has none.
func TestLeaky_PeekCountsNothing(t *testing.T) {
	t.Parallel()
	l, clk := newLeaky(t, limits.DefaultLeakyConfig())
	if d := l.Peek("nobody"); !d.Allowed || !d.Limited || d.Remaining != 5 || !d.Reset.Equal(clk.Now()) {
		t.Fatalf("empty bucket: %+v", d)
	}
	if n := limits.LeakyBucketCount(l); n != 0 {
		t.Fatalf("Peek made %d buckets", n)
	}
	for range 3 {
		l.Take("k")
	}
	for range 4 {
		if d := l.Peek("k"); !d.Allowed || d.Remaining != 2 || !d.Reset.Equal(clk.Now().Add(600*time.Millisecond)) {
			t.Fatalf("after 3: %+v", d)
		}
	}
	l.Take("k")
	l.Take("k")
	if d := l.Peek("k"); d.Allowed || d.Remaining != 0 {
		t.Fatalf("full: %+v", d)
	}
	clk.Advance(200 * time.Millisecond)
	if d := l.Peek("k"); !d.Allowed || d.Remaining != 1 || !d.Reset.Equal(clk.Now().Add(800*time.Millisecond)) {
		t.Fatalf("after 200ms: %+v", d)
	}
	off, _ := newLeaky(t, limits.LeakyConfig{})
	if d := off.Peek("k"); d.Limited || !d.Allowed {
		t.Fatalf("limits off: %+v", d)
	}
}

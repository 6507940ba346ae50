package gctune_test

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/gctune"
)

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		name        string
		floor       int64
		live, other uint64
		want        int64
	}{
		{"small heap: the floor", 256 << 20, 20 << 20, 10 << 20, 256 << 20},
		{"large heap: 1.6 times live plus the rest", 256 << 20, 200 << 20, 10 << 20, 330 << 20},
		{"no floor", 0, 5 << 20, 0, 8 << 20},
		{"overflow: no limit", 0, math.MaxUint64 / 2, 10, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gctune.Limit(tc.floor, tc.live, tc.other); got != tc.want {
				t.Errorf("Limit(%d, %d, %d) = %d, want %d", tc.floor, tc.live, tc.other, got, tc.want)
			}
		})
	}
}

// read returns the process's GOGC and memory limit as the runtime has them.
func read(t *testing.T) (percent uint64, limit uint64) {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

var keep [][]byte // the test's live heap, out of the compiler's sight

// TestStart_LimitFollowsTheLiveHeap: with no floor, the limit set after a
// collection is at least 1.6 times the live heap (never less room than
// GOGC=60 gives), it follows the heap as it grows, and stop puts the
// settings back.
func TestStart_LimitFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevPercent, prevLimit := read(t)
	stop := gctune.Start(gctune.Settings{Percent: 300, Floor: 0})
	defer stop()
	if p, _ := read(t); p != 300 {
		t.Fatalf("GOGC after Start = %d, want 300", p)
	}
	for _, mb := range []int{16, 64} {
		for range mb {
			keep = append(keep, make([]byte, 1<<20))
		}
		live := uint64(len(keep)) << 20
		// The limit is set by a cleanup after a collection, from the live
		// heap that collection found (until then it is the one of an
		// earlier heap): wait for it, within a deadline, collecting again
		// meanwhile.
		low, high := live+live*3/5, 4*live+64<<20 // 1.6 times the heap, and the rest
		deadline := time.Now().Add(10 * time.Second)
		var limit uint64
		for {
			runtime.GC()
			if _, limit = read(t); limit >= low && limit <= high || time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
		}
		if limit < low || limit > high {
			t.Fatalf("with %d MiB live, limit %d MiB, want %d to %d MiB", mb, limit>>20, low>>20, high>>20)
		}
	}
	keep = nil
	stop()
	if p, l := read(t); p != prevPercent || l != prevLimit {
		t.Errorf("after stop: GOGC %d, limit %d; want %d, %d as before", p, l, prevPercent, prevLimit)
	}
	stop() // a second stop changes nothing
}

// TestStart_EnvironmentWins: GOGC or GOMEMLIMIT in the environment is the
// user's choice, which Start leaves alone.
func TestStart_EnvironmentWins(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "150")
			prev := debug.SetGCPercent(123)
			defer debug.SetGCPercent(prev)
			prevPercent, prevLimit := read(t)
			stop := gctune.Start(gctune.Default)
			if p, l := read(t); p != prevPercent || l != prevLimit {
				t.Errorf("with %s set: GOGC %d, limit %d; want %d, %d as they were", env, p, l, prevPercent, prevLimit)
			}
			stop()
		})
	}
}

// gogc is the process's GOGC as the runtime has it.
func gogc(t *testing.T) uint64 {
	t.Helper()
	p, _ := read(t)
	return p
}

// TestPhases: the tuned pace from Start on; a large load turns the pace
// off, with a memory limit of the floor plus four times the sizes of the
// loads, until the last of overlapping loads ends, at start as at a reset
// while serving; a second Start while one runs changes nothing.
func TestPhases(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	s := gctune.Settings{Percent: 300, Floor: 64 << 20}
	stop := gctune.Start(s)
	defer stop()
	gctune.Start(gctune.Settings{Percent: 50, Floor: 1})()
	if p, l := read(t); p != 300 || l < 64<<20 || l == math.MaxInt64 {
		t.Fatalf("after Start: GOGC %d, limit %d; want 300 and at least the floor", p, l)
	}
	const off = math.MaxUint64 // /gc/gogc:percent of GOGC=off
	first, second := gctune.LoadLarge(100<<20), gctune.LoadLarge(50<<20)
	if p, l := read(t); p != off || l != (64+600)<<20 {
		t.Fatalf("while two large states load: GOGC %d, limit %d; want off, %d", p, l, (64+600)<<20)
	}
	first()
	first() // a second call changes nothing
	if p, l := read(t); p != off || l != (64+200)<<20 {
		t.Fatalf("while the second load goes on: GOGC %d, limit %d; want off, %d", p, l, (64+200)<<20)
	}
	second()
	if p, l := read(t); p != 300 || l < 64<<20 || l == math.MaxInt64 {
		t.Fatalf("after the loads: GOGC %d, limit %d; want 300, the tuned limit", p, l)
	}
	gctune.Serving()
	done := gctune.LoadLarge(1 << 62) // a reset while serving, of a state too large to limit
	if p, l := read(t); p != off || l != math.MaxInt64 {
		t.Fatalf("a large load while serving: GOGC %d, limit %d; want off, none", p, l)
	}
	done()
	if p, l := read(t); p != 300 || l == math.MaxInt64 {
		t.Fatalf("after a reset's load: GOGC %d, limit %d; want 300, a limit", p, l)
	}
	during := gctune.LoadLarge(100 << 20)
	stop()
	during() // after stop: changes nothing
	if p := gogc(t); p == 300 || p == off {
		t.Fatalf("stop during a load left GOGC %d, want the one before Start", p)
	}
	gctune.LoadLarge(1)()
	if p := gogc(t); p == 300 || p == off {
		t.Fatal("LoadLarge after stop tuned the process")
	}
}

// forcedGCs is the number of collections the process forced so far.
func forcedGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestServing_ReleasesTheLoad: with a tuning, Serving collects and returns
// the heap to the OS (a forced collection) and says so; without one, or
// after stop, it does neither.
func TestServing_ReleasesTheLoad(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := forcedGCs()
	if gctune.Serving() || forcedGCs() != before {
		t.Fatal("Serving without a tuning released the heap")
	}
	stop := gctune.Start(gctune.Default)
	before = forcedGCs()
	if !gctune.Serving() || forcedGCs() == before {
		t.Fatalf("Serving with a tuning: no release (%d forced collections before and after)", before)
	}
	stop()
	before = forcedGCs()
	if gctune.Serving() || forcedGCs() != before {
		t.Fatal("Serving after stop released the heap")
	}
}

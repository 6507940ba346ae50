// Package gctune sets the garbage collector of a process that serves a twin.
//
// Go's default (GOGC=100) collects each time the heap has doubled. A twin's
// live heap is small next to what its requests allocate (decoded bodies,
// rendered answers, journal entries), so it collects very often: 18-30% of
// its CPU under load. Start lets the heap grow to five times its live size
// (GOGC=400) while that stays under a floor (256 MiB by default), and keeps a
// soft memory limit that never lets the heap grow less than GOGC=100 would:
// after every collection the limit is set to the larger of the floor and
// twice the live heap plus the runtime's other memory. So a small twin
// collects up to five times less often, and a large one (100,000 contacts)
// as often as by default, with the default's peak.
package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Settings are what Start sets.
type Settings struct {
	// Percent is the GOGC percentage while the heap is under Floor.
	Percent int
	// Floor is the memory limit's least value, in bytes.
	Floor int64
}

// Default is the twin's setting.
var Default = Settings{Percent: 400, Floor: 256 << 20}

// Limit is the memory limit after a collection that found live bytes of
// live heap, with other bytes of the runtime's memory besides the heap: the
// larger of floor and the most GOGC=100 would let the process use.
func Limit(floor int64, live, other uint64) int64 {
	if live > math.MaxInt64/4 || other > math.MaxInt64/4 {
		return math.MaxInt64
	}
	return max(floor, int64(2*live+other))
}

// tuner keeps the memory limit after every collection: a cleanup on a
// sentinel runs once the collector has freed it, then arms a new one.
type tuner struct {
	floor int64

	mu          sync.Mutex // guards the fields below
	stopped     bool
	prevPercent int
	prevLimit   int64
	samples     []metrics.Sample
}

// sentinel is freed by the first collection after it is made. It holds a
// pointer so that it is not one of the tiny allocations the runtime packs
// together, whose cleanups may never run.
type sentinel struct {
	_ *int
	_ [2]int
}

// Start applies s to the process unless GOGC or GOMEMLIMIT is set in its
// environment (their value wins, and Start does nothing), and returns stop,
// which puts back the settings found and ends the tuning. Start is for a
// process's main; one tuning at a time.
func Start(s Settings) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	t := &tuner{floor: s.Floor, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
	t.mu.Lock()
	t.prevLimit = debug.SetMemoryLimit(s.Floor)
	t.prevPercent = debug.SetGCPercent(s.Percent)
	t.adjustLocked()
	t.mu.Unlock()
	t.arm()
	return t.stop
}

func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), (*tuner).collected, t)
}

// collected runs after a collection: it sets the limit and arms the next
// sentinel, unless the tuning has stopped.
func (t *tuner) collected() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.adjustLocked()
	t.arm()
}

func (t *tuner) adjustLocked() {
	metrics.Read(t.samples)
	v := func(i int) uint64 {
		if t.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return t.samples[i].Value.Uint64()
	}
	live := v(0)
	// The runtime's memory besides the heap: stacks, metadata, buffers.
	heap := v(2) + v(3) + v(4) + v(5)
	other := uint64(0)
	if total := v(1); total > heap {
		other = total - heap
	}
	debug.SetMemoryLimit(Limit(t.floor, live, other))
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.prevPercent)
	debug.SetMemoryLimit(t.prevLimit)
}

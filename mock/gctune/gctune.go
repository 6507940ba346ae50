// Package gctune sets the garbage collector of a process that serves a twin
// (and of one that runs the sync, whose work allocates as much next to its
// live heap: cmd/contactbridge's sync run and sync backfill start it too).
//
// Go's default (GOGC=100) collects each time the heap has doubled. A twin's
// live heap is small next to what its requests allocate (decoded bodies,
// rendered answers, journal entries), so it collects very often: 18-30% of
// its CPU under load. Start lets the heap grow to five times its live size
// (GOGC=400) while that stays under a floor (384 MiB by default), and keeps a
// soft memory limit past it: after every collection the limit is set to the
// larger of the floor and 1.6 times the live heap plus the runtime's other
// memory (as GOGC=60 would). So a small twin collects up to five times less
// often, and a large one (100,000 contacts) more often than by default, for
// less room above its live heap: at 100,000 contacts under the bench's
// mixed load, 1.75 times (the setting before) held 477.0 and 492.9 MB at
// the most, 1.6 times 447.6 and 447.4 (interleaved, 180k-211k requests in
// 10 s either way; issue 19: < 500 MB). (1.5 times held less still but
// cost a fifth of the requests, when the heap held twice the objects it
// holds now.) The floor
// is the room a twin with little data has while a write load grows its
// store (the bench's POST workload adds ~14,000 contacts a second): 384
// MiB against 256 took the twin's CPU per create from 93 and 99 µs to 86
// and 79 (default runs, two rounds interleaved), with the 100,000-contact
// twin's peak unchanged (469 and 469 against 479 and 474 MB), its limit
// being a multiple of its live heap.
//
// The tuner is the one owner of the collector's settings in the process,
// from before the state loads to the end, at Percent but while a large
// state loads: the start-up's garbage may pile up while the state loads,
// since Serving, which the twin (mock.NewServer) calls as it begins to
// serve, returns what the load left to the OS (the bench's idle twin, 1,000
// contacts: 54 -> 45 MiB resident, and 84 -> 70 ms of CPU to its first
// answer, as the load collects less often than at GOGC=100). While a large
// state loads (LoadLarge, at start or at a reset while serving) the heap
// grows from nothing to hundreds of MB of live records, each collection
// marking all that is live so far: the pace is off, and the memory limit is
// the floor plus four times the state's size, which the bench's load
// (100,000 contacts, a 153 MiB file: 609 MB allocated) does not reach, so
// that it collects once, when it is served (Serving); a state whose
// records make more garbage than that collects at the limit.
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
var Default = Settings{Percent: 400, Floor: 384 << 20}

// Limit is the memory limit after a collection that found live bytes of
// live heap, with other bytes of the runtime's memory besides the heap: the
// larger of floor and the most GOGC=60 would let the process use, 1.6
// times live plus other.
func Limit(floor int64, live, other uint64) int64 {
	if live > math.MaxInt64/4 || other > math.MaxInt64/4 {
		return math.MaxInt64
	}
	return max(floor, int64(live+live*3/5+other))
}

// tuner keeps the memory limit after every collection: a cleanup on a
// sentinel runs once the collector has freed it, then arms a new one.
type tuner struct {
	floor   int64
	percent int

	mu          sync.Mutex // guards the fields below
	stopped     bool
	loads       int   // large loads going on (LoadLarge)
	loadBytes   int64 // the sizes of their states
	prevPercent int
	prevLimit   int64
	samples     []metrics.Sample
}

// active is the process's tuner, between Start and its stop; nil otherwise.
var active struct {
	sync.Mutex
	t *tuner
}

func current() *tuner {
	active.Lock()
	defer active.Unlock()
	return active.t
}

// sentinel is freed by the first collection after it is made. It holds a
// pointer so that it is not one of the tiny allocations the runtime packs
// together, whose cleanups may never run.
type sentinel struct {
	_ *int
	_ [2]int
}

// Start tunes the process with s unless GOGC or GOMEMLIMIT is set in its
// environment (their value wins, and Start does nothing, nor do Serving and
// LoadLarge), and returns stop, which puts back the settings found and ends
// the tuning. The pace and the memory limit hold from the start. Start is
// for a process's main, before its state loads; one tuning at a time (a
// second Start while one runs does nothing).
func Start(s Settings) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	active.Lock()
	defer active.Unlock()
	if active.t != nil {
		return func() {}
	}
	t := &tuner{floor: s.Floor, percent: s.Percent, samples: []metrics.Sample{
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
	active.t = t
	return t.stop
}

// Serving returns to the OS what the process's start-up left behind, once
// its state has loaded: it collects the garbage (the specs' loads, the
// state's decoding) and gives back the free heap, so that an idle twin
// holds only what it serves from. It reports whether it did: false without
// a tuning.
func Serving() bool {
	t := current()
	if t == nil {
		return false
	}
	t.mu.Lock()
	stopped := t.stopped
	t.mu.Unlock()
	if stopped {
		return false
	}
	// Outside the lock: the collection's cleanup (collected) takes it.
	debug.FreeOSMemory()
	return true
}

// LoadLarge paces the collector for loading a large state of size bytes
// (its file's) until done is called: no collection until the heap reaches
// the floor plus four times the sizes of the loads going on (the load's
// peak is the process's, as the live heap grows from nothing: under the
// limit, which follows 1.6 times the live heap, it would collect more often
// than GOGC=100's ~17 collections, each marking all that is live so far; at
// Percent=400, six, which at 30,000 contacts with 120,000 tasks and notes
// were a sixth of the start-up's instructions). Overlapping loads keep it
// until the last ends. Nothing without a tuning.
func LoadLarge(size int64) (done func()) {
	t := current()
	if t == nil {
		return func() {}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return func() {}
	}
	if t.loads++; t.loads == 1 {
		debug.SetGCPercent(-1)
	}
	t.loadBytes += max(size, 0)
	t.adjustLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.loads--
			t.loadBytes -= max(size, 0)
			if t.stopped {
				return
			}
			if t.loads == 0 {
				debug.SetGCPercent(t.percent)
			}
			t.adjustLocked()
		})
	}
}

// loadLimit is the memory limit while states of bytes in all load: the
// floor plus four times bytes (no limit past what an int64 holds).
func loadLimit(floor, bytes int64) int64 {
	if bytes > (math.MaxInt64-floor)/4 {
		return math.MaxInt64
	}
	return floor + 4*bytes
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

// adjustLocked sets the memory limit for the tuner's phase.
func (t *tuner) adjustLocked() {
	if t.loads > 0 {
		debug.SetMemoryLimit(loadLimit(t.floor, t.loadBytes))
		return
	}
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
	active.Lock()
	if active.t == t {
		active.t = nil
	}
	active.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.prevPercent)
	debug.SetMemoryLimit(t.prevLimit)
}

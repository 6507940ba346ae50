// Package faults injects faults into a twin: added latency, error answers,
// connection resets, hung requests and truncated bodies, on the requests that
// rules select. Its middleware runs in the outer part of the pipeline, before
// authentication.
package faults

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// ErrDuplicate is returned by Add for a rule whose id is already in use.
var ErrDuplicate = errors.New("faults: rule id already in use")

// Options configures an Injector.
type Options struct {
	// Seed seeds the dice (ChaCha8): the same seed and the same requests give
	// the same decisions and the same drawn latencies.
	Seed uint64
	// Sleep waits d or until ctx is done, and then returns ctx's error. Nil
	// is a real timer; tests inject a fake.
	Sleep func(ctx context.Context, d time.Duration) error
	// LocationOf tells a request's location id. Nil: Location rules never
	// match.
	LocationOf func(*http.Request) string
	// KnownOperation tells whether an operationId is one of the specs'; a
	// rule matching another is refused. Nil: any is taken.
	KnownOperation func(id string) bool
	Logger         *slog.Logger
}

// Injector holds the rules and applies them. It is safe for concurrent use.
type Injector struct {
	sleep      func(ctx context.Context, d time.Duration) error
	locationOf func(*http.Request) string
	knownOp    func(id string) bool
	log        *slog.Logger

	mu    sync.Mutex // guards rules, seq and dice
	rules []*Rule
	seq   int
	dice  *rand.Rand

	// What the rules need, kept by recount under mu and read without it on
	// the request path: most runs have no rules, and few match on location.
	active, located atomic.Int32
}

// recount refreshes active and located after a change of rules. Callers
// hold mu.
func (in *Injector) recount() {
	located := 0
	for _, r := range in.rules {
		if r.Match.Location != "" {
			located++
		}
	}
	in.active.Store(int32(len(in.rules)))
	in.located.Store(int32(located))
}

// New returns an injector with no rules.
func New(opts Options) *Injector {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], opts.Seed)
	in := &Injector{
		sleep:      opts.Sleep,
		locationOf: opts.LocationOf,
		knownOp:    opts.KnownOperation,
		log:        opts.Logger,
		dice:       rand.New(rand.NewChaCha8(seed)),
	}
	if in.sleep == nil {
		in.sleep = clock.Sleep
	}
	if in.log == nil {
		in.log = slog.Default()
	}
	in.log = in.log.With(logkey.Component, "faults")
	return in
}

// Add validates a rule and appends it, assigning an id when it has none.
// Applied starts at 0 whatever the rule says. It returns the rule as stored.
func (in *Injector) Add(r Rule) (Rule, error) {
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	if op := r.Match.Operation; op != "" && in.knownOp != nil && !in.knownOp(op) {
		return Rule{}, fmt.Errorf("%w: match.operation: %q is no operation of the specs", ErrInvalidRule, op)
	}
	r = r.clone()
	r.Applied = 0
	in.mu.Lock()
	defer in.mu.Unlock()
	if r.ID == "" {
		for r.ID == "" || in.find(r.ID) >= 0 {
			in.seq++
			r.ID = "fault-" + strconv.Itoa(in.seq)
		}
	} else if in.find(r.ID) >= 0 {
		return Rule{}, fmt.Errorf("%w: %q", ErrDuplicate, r.ID)
	}
	in.rules = append(in.rules, &r)
	in.recount()
	return r.clone(), nil
}

func (in *Injector) find(id string) int {
	for i, r := range in.rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// List returns the rules in the order they were added, with how many times
// each fired.
func (in *Injector) List() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, 0, len(in.rules))
	for _, r := range in.rules {
		out = append(out, r.clone())
	}
	return out
}

// Delete removes the rule with the id, or returns ErrNotFound.
func (in *Injector) Delete(id string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	i := in.find(id)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	in.rules = append(in.rules[:i:i], in.rules[i+1:]...)
	in.recount()
	return nil
}

// Clear removes every rule. Ids are not reused.
func (in *Injector) Clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
	in.recount()
}

// request is what rules match on.
type request struct {
	operation, method, path, location string
	hasLocation                       bool
}

func (m *Match) matches(q *request) bool {
	switch {
	case m.Operation != "" && m.Operation != q.operation:
		return false
	case m.Method != "" && !strings.EqualFold(m.Method, q.method):
		return false
	case m.Path != "" && !matchPath(m.Path, q.path):
		return false
	case m.Location != "" && (!q.hasLocation || m.Location != q.location):
		return false
	}
	return true
}

// fired is a rule that fires on a request.
type fired struct {
	id     string
	effect Effect
	delay  time.Duration
}

// decide finds the rule that fires on q, if any, and counts it.
func (in *Injector) decide(q *request) (fired, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if r.Times > 0 && r.Applied >= r.Times {
			continue
		}
		if !r.Match.matches(q) {
			continue
		}
		if r.Probability > 0 && r.Probability < 1 && in.dice.Float64() >= r.Probability {
			continue
		}
		r.Applied++
		f := fired{id: r.ID, effect: r.Effect}
		if r.Effect.Kind == KindLatency {
			f.delay = in.draw(r.Effect.Latency)
		}
		return f, true
	}
	return fired{}, false
}

// draw draws a latency; in.mu is held.
func (in *Injector) draw(l *Latency) time.Duration {
	switch l.Distribution {
	case DistUniform:
		span := int64(l.Max - l.Min)
		if span < math.MaxInt64 {
			span++
		}
		return time.Duration(l.Min) + time.Duration(in.dice.Int64N(span))
	case DistNormal:
		v := float64(l.Mean) + float64(l.StdDev)*in.dice.NormFloat64()
		switch {
		case v <= 0:
			return 0
		case v >= math.MaxInt64:
			return math.MaxInt64
		}
		return time.Duration(v)
	}
	return time.Duration(l.Fixed)
}

// Middleware applies the rules. Put it in pipeline.Config.Outer.
func (in *Injector) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if in.active.Load() == 0 {
				next.ServeHTTP(w, r)
				return
			}
			x := pipeline.ExchangeFrom(r.Context())
			q := &request{method: r.Method, path: r.URL.Path}
			if x != nil && x.Route != nil && x.Route.Operation != nil {
				q.operation = x.Route.Operation.ID
			}
			// Telling the location means checking the credentials: only
			// when a rule asks for it.
			if in.locationOf != nil && in.located.Load() > 0 {
				q.location, q.hasLocation = in.locationOf(r), true
			}
			f, ok := in.decide(q)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			attrs := []any{"rule", f.id, "kind", f.effect.Kind, "operation", q.operation, "method", r.Method}
			if f.effect.Kind == KindLatency {
				attrs = append(attrs, "delay", f.delay)
			}
			if f.effect.After {
				attrs = append(attrs, "after", true)
			}
			in.log.DebugContext(r.Context(), "fault injected", attrs...)
			in.apply(f, x, next, w, r)
		})
	}
}

// Package clock gives the twins their time. Everything that reads the time
// takes a Clock, so tests and seeded runs move time by hand instead of sleeping.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the current time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// Manual is a clock that moves only when told to. Its zero value is not
// usable; make one with NewManual.
type Manual struct {
	mu    sync.Mutex // guards now and moved
	now   time.Time
	moved chan struct{} // closed at the next move, then replaced
}

// NewManual returns a clock stopped at start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start.UTC(), moved: make(chan struct{})}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	m.notify()
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = t.UTC()
	m.notify()
}

// Moved returns a channel that is closed the next time the clock moves.
func (m *Manual) Moved() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.moved
}

// notify wakes whoever waits for a move. Callers hold mu.
func (m *Manual) notify() {
	close(m.moved)
	m.moved = make(chan struct{})
}

// Wake returns a channel that is closed when c may have reached t: at t on
// the real clock, at the next move of a manual one (which may not reach t:
// callers read the time again). stop releases what the wait holds.
func Wake(c Clock, t time.Time) (wake <-chan struct{}, stop func()) {
	if m, ok := c.(*Manual); ok {
		return m.Moved(), func() {}
	}
	d := t.Sub(c.Now())
	if d <= 0 {
		return closed, func() {}
	}
	ch := make(chan struct{})
	timer := time.AfterFunc(d, func() { close(ch) })
	return ch, func() { timer.Stop() }
}

// closed is a channel that is always ready.
var closed = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Sleep waits d on the system clock, or until ctx ends, and then returns
// ctx's error (nil when d passed); a d of 0 or less returns at once. It is
// the default of the sleep functions that callers inject (faults' latency,
// the fixtures loader's pauses), which tests replace.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

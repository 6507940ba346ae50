package transport

import (
	"context"
	"net/http"
	"time"
)

// Clock tells the time and waits. Tests use a fake that moves its time on
// SleepUntil instead of waiting.
type Clock interface {
	Now() time.Time
	// SleepUntil waits until t or until ctx is done, and returns ctx's
	// error then. A wait is given as a time, not a duration: a sleeper
	// that was slow to start it does not wait longer for that.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the real time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil waits until t or for ctx.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func clockOr(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}

func baseOr(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

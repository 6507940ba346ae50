package webhooks

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// ErrInvalidSettings is wrapped by every error Settings.Validate returns.
var ErrInvalidSettings = errors.New("webhooks: invalid settings")

// Retry policies (Settings.RetryPolicy).
const (
	// PolicyTwin retries every failed attempt (any non-2xx, a timeout, a
	// refused connection) with doubling backoff, up to Attempts: the twin's
	// own choice, kind to receivers under test.
	PolicyTwin = "twin"
	// PolicyLive is what HighLevel documents for its webhooks: only a 429 is
	// retried, six times, about ten minutes apart with jitter; any other
	// status, a timeout or a refused connection drops the event.
	PolicyLive = "live"
)

// The live policy's retries: liveRetries of them, liveInterval apart plus up
// to liveJitter (seeded; the jitter's size is the twin's choice).
const (
	liveRetries  = 6
	liveInterval = 10 * time.Minute
	liveJitter   = time.Minute
)

// Settings are how deliveries are made: the retry policy and the delivery
// realism toggles (all off by default). The fields with yaml tags are also the
// config file's (webhooks:).
type Settings struct {
	// RetryPolicy is PolicyTwin (the default) or PolicyLive; under the live
	// policy Attempts, Backoff and MaxBackoff do not apply.
	RetryPolicy string `json:"retryPolicy" yaml:"retryPolicy"`
	// Attempts is how many times a delivery is tried before it fails.
	Attempts int `json:"attempts" yaml:"attempts"`
	// Timeout is how long an attempt waits for the receiver's answer.
	Timeout clock.Duration `json:"timeout" yaml:"timeout"`
	// Backoff is the wait before the first retry; each retry waits twice
	// the one before, up to MaxBackoff.
	Backoff    clock.Duration `json:"backoff" yaml:"backoff"`
	MaxBackoff clock.Duration `json:"maxBackoff" yaml:"maxBackoff"`

	// Delay holds every delivery back this long after its event, plus up
	// to DelayJitter more (seeded).
	Delay       clock.Duration `json:"delay" yaml:"delay"`
	DelayJitter clock.Duration `json:"delayJitter" yaml:"delayJitter"`
	// Duplicates is the probability (seeded, 0 to 1) that a delivered event
	// is delivered once more, with the same id, right after.
	Duplicates float64 `json:"duplicates" yaml:"duplicates"`
	// Drop is the probability (seeded, 0 to 1) that an event is lost: never
	// attempted, logged as dropped.
	Drop float64 `json:"drop" yaml:"drop"`
	// DropEvents names event types that are always lost (e.g.
	// ContactDndUpdate).
	DropEvents []string `json:"dropEvents" yaml:"dropEvents"`
	// Reorder lets deliveries within this window go out of order: each is
	// held back a seeded part of it, and no longer waits for the ones before
	// it about the same resource.
	Reorder clock.Duration `json:"reorder" yaml:"reorder"`
}

// DefaultSettings are the defaults: five attempts, ten seconds each,
// retries after 1 s, 2 s, 4 s and 8 s; no realism toggles.
func DefaultSettings() Settings {
	return Settings{RetryPolicy: PolicyTwin, DropEvents: []string{}, Attempts: 5, Timeout: clock.Duration(10 * time.Second),
		Backoff: clock.Duration(time.Second), MaxBackoff: clock.Duration(5 * time.Minute)}
}

// WithDefaults returns s with its zero retry fields set to the defaults.
func (s Settings) WithDefaults() Settings {
	d := DefaultSettings()
	if s.RetryPolicy == "" {
		s.RetryPolicy = d.RetryPolicy
	}
	if s.DropEvents == nil {
		s.DropEvents = []string{}
	}
	if s.Attempts == 0 {
		s.Attempts = d.Attempts
	}
	if s.Timeout == 0 {
		s.Timeout = d.Timeout
	}
	if s.Backoff == 0 {
		s.Backoff = d.Backoff
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = max(d.MaxBackoff, s.Backoff)
	}
	return s
}

// Validate reports settings that cannot work, naming the field.
func (s Settings) Validate() error {
	bad := func(field, reason string) error { return fmt.Errorf("%w: %s %s", ErrInvalidSettings, field, reason) }
	switch {
	case s.RetryPolicy != PolicyTwin && s.RetryPolicy != PolicyLive:
		return bad("retryPolicy", "must be "+PolicyTwin+" or "+PolicyLive)
	case s.Attempts < 1 || s.Attempts > 100:
		return bad("attempts", "must be from 1 to 100")
	case s.Timeout <= 0 || s.Timeout.Std() > 5*time.Minute:
		return bad("timeout", "must be more than 0 and at most 5m")
	case s.Backoff <= 0:
		return bad("backoff", "must be more than 0")
	case s.MaxBackoff < s.Backoff:
		return bad("maxBackoff", "must be at least backoff")
	case s.Delay < 0 || s.DelayJitter < 0:
		return bad("delay", "and delayJitter must not be negative")
	case s.Duplicates < 0 || s.Duplicates > 1:
		return bad("duplicates", "must be a probability from 0 to 1")
	case s.Drop < 0 || s.Drop > 1:
		return bad("drop", "must be a probability from 0 to 1")
	case s.Reorder < 0:
		return bad("reorder", "must not be negative")
	}
	return nil
}

// backoff is the wait after the n-th failed attempt (n from 1).
func (s Settings) backoff(n int) time.Duration {
	d := s.Backoff.Std()
	for i := 1; i < n && d < s.MaxBackoff.Std(); i++ {
		d *= 2
	}
	return min(d, s.MaxBackoff.Std())
}

// dropsEvent tells whether an event of type event is lost by the drop rules.
func (s Settings) dropsEvent(event string) bool { return slices.Contains(s.DropEvents, event) }

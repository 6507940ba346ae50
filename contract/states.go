package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/sync/transport"
)

// The pacts' participants.
const (
	Consumer          = "contactbridge-sync"
	ProviderHighLevel = "HighLevel"
	ProviderM360      = "Marketing360"
)

// Provider states, in the domain's words. The consumer tests name them
// with Given and the state handlers of each provider make them.
const (
	StateContactExists         = "a contact exists"
	StateContactWithTwoTasks   = "a contact with two tasks exists"
	StateContactWithOpenTask   = "a contact with an open task exists"
	StateContactWithNote       = "a contact with a note exists"
	StateContactWithAppoint    = "a contact with an appointment exists"
	StateContactWithEmail      = "a contact with the email exists"                // parameter email
	StateNoContactWithEmail    = "no contact with the email exists"               // parameter email
	StateContactLinked         = "a contact linked to a HighLevel contact exists" // parameter ghlId
	StateContactMissing        = "the contact does not exist"
	StateContactElsewhere      = "a contact exists in another location"
	StateCannotWrite           = "the credentials may only read contacts"
	StateRateLimited           = "the rate limit is used up"
	StateCampaignAndContact    = "an active campaign and a contact exist"
	StateCredentialsRejected   = "the credentials are not valid"
	ParamEmail, ParamGHLID     = "email", "ghlId"
	missingContactHighLevel    = "pactMissingContact01"
	missingContactM360         = 999999999
	stateRequestsPerExhaustion = 400
)

// Keys of the values a state gives the requests that read them
// (fromProviderState expressions such as "${contactId}").
const (
	KeyAuthorization = "authorization"
	KeyLocationID    = "locationId"
	KeyCalendarID    = "calendarId"
	KeyContactID     = "contactId"
	KeyTaskID        = "taskId"
	KeyNoteID        = "noteId"
	KeyAppointmentID = "appointmentId"
	KeyCampaignID    = "campaignId"
)

// ErrUnknownState is a provider state without a handler.
var ErrUnknownState = errors.New("contract: unknown provider state")

// ErrStateNeeds is a state the account's settings cannot make: a
// credential for it is missing.
var ErrStateNeeds = errors.New("contract: the state needs a setting that is missing")

// StateFunc makes a provider state (setup) or removes what it made
// (teardown). Setup returns the values the interaction's requests read.
type StateFunc func(ctx context.Context, setup bool, params map[string]any) (map[string]any, error)

// States are the handlers of a provider's states, by name.
type States map[string]StateFunc

// Run calls the handler of the state name.
func (s States) Run(ctx context.Context, name string, setup bool, params map[string]any) (map[string]any, error) {
	f, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownState, name)
	}
	return f(ctx, setup, params)
}

// RateLimit uses up a provider's rate limit (Exhaust) so that the next
// request answers 429, and gives it back (Restore).
type RateLimit struct {
	Exhaust func(ctx context.Context) error
	Restore func(ctx context.Context) error
}

// Wait waits d (the Retry-After of a 429) or until ctx ends.
type Wait func(ctx context.Context, d time.Duration) error

// waitOr is w, or the real clock's wait.
func waitOr(w Wait) Wait {
	if w == nil {
		return func(ctx context.Context, d time.Duration) error {
			return transport.SystemClock{}.SleepUntil(ctx, time.Now().Add(d))
		}
	}
	return w
}

// cleanup remembers what states made, to remove it at teardown, newest
// first.
type cleanup struct {
	mu   sync.Mutex // guards undo
	undo []func(context.Context) error
}

func (c *cleanup) add(f func(context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.undo = append(c.undo, f)
}

// run removes everything made since the last run.
func (c *cleanup) run(ctx context.Context) error {
	c.mu.Lock()
	undo := c.undo
	c.undo = nil
	c.mu.Unlock()
	var errs []error
	for i := len(undo) - 1; i >= 0; i-- {
		errs = append(errs, undo[i](ctx))
	}
	return errors.Join(errs...)
}

// step makes one part of a state; vals holds what the earlier steps made.
type step func(ctx context.Context, vals, params map[string]any) error

// stateSet is what a provider's states share: the values every state
// gives, what they made, and the rate limit.
type stateSet struct {
	base  map[string]any
	undo  cleanup
	limit RateLimit
}

// newStateSet uses limit, or, when it has no Exhaust, spends the limit
// with send and waits it back with wait (nil: the real clock).
func newStateSet(base map[string]any, limit RateLimit, wait Wait, send func(context.Context) (int, http.Header, error)) *stateSet {
	wait = waitOr(wait)
	if limit.Exhaust == nil {
		limit = exhaustByRequests(send, wait)
	}
	return &stateSet{base: base, limit: limit}
}

// with makes a state of steps: setup runs them in order on the base
// values, teardown undoes everything they made.
func (s *stateSet) with(steps ...step) StateFunc {
	return func(ctx context.Context, setup bool, params map[string]any) (map[string]any, error) {
		if !setup {
			return nil, s.undo.run(ctx)
		}
		vals := values(s.base)
		for _, st := range steps {
			if err := st(ctx, vals, params); err != nil {
				return nil, err
			}
		}
		return vals, nil
	}
}

// noneWithEmail is a step that removes the record with the parameter
// email, now and at teardown (after the interaction made one).
func (s *stateSet) noneWithEmail(remove func(ctx context.Context, email string) error) step {
	return func(ctx context.Context, _, params map[string]any) error {
		email, err := paramString(params, ParamEmail)
		if err != nil {
			return err
		}
		if err := remove(ctx, email); err != nil {
			return err
		}
		s.undo.add(func(ctx context.Context) error { return remove(ctx, email) })
		return nil
	}
}

func (s *stateSet) rateLimited(ctx context.Context, _, _ map[string]any) error {
	if err := s.limit.Exhaust(ctx); err != nil {
		return err
	}
	s.undo.add(s.limit.Restore)
	return nil
}

// exhaustByRequests sends requests through send until one answers 429
// (at most stateRequestsPerExhaustion) and returns a Restore that waits the
// Retry-After of that answer.
func exhaustByRequests(send func(ctx context.Context) (int, http.Header, error), sleep Wait) RateLimit {
	var mu sync.Mutex // guards wait
	var wait time.Duration
	return RateLimit{
		Exhaust: func(ctx context.Context) error {
			for range stateRequestsPerExhaustion {
				status, header, err := send(ctx)
				if err != nil {
					return fmt.Errorf("contract: use up the rate limit: %w", err)
				}
				if status == http.StatusTooManyRequests {
					secs, _ := strconv.Atoi(header.Get("Retry-After"))
					mu.Lock()
					wait = time.Duration(secs) * time.Second
					mu.Unlock()
					return nil
				}
			}
			return fmt.Errorf("contract: use up the rate limit: no 429 after %d requests", stateRequestsPerExhaustion)
		},
		Restore: func(ctx context.Context) error {
			mu.Lock()
			d := wait
			mu.Unlock()
			return sleep(ctx, d)
		},
	}
}

// values copies a state's values.
func values(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func paramString(params map[string]any, key string) (string, error) {
	s, ok := params[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("contract: the state needs the parameter %q", key)
	}
	return s, nil
}

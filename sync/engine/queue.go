// Package engine runs the sync's work: the durable work queue, a small
// interface of the engine's own (Queue) and its adapter on River
// (riverqueue/river) over the sync's SQLite database, so that a job is
// enqueued in the caller's transaction and completed in the worker's; and
// the Converger, which works converge jobs by the Flows (1 to 6) over two
// small API interfaces of its own (HighLevel, M360), every create through
// the effects ledger, and then the user Rules on the triggers of each
// entity's change (triggers.go, ruleexec.go).
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

// Errors of the queue.
var (
	// ErrInvalidConfig is wrapped by every error a bad Config gives.
	ErrInvalidConfig = errors.New("engine: invalid config")
	// ErrNoWorkers: the queue was made to enqueue only and cannot start.
	ErrNoWorkers = errors.New("engine: no workers registered")
)

// Args are a job's arguments, encoded as JSON. Kind names the worker that
// works them.
type Args interface {
	Kind() string
	// Unique tells that jobs with equal args coalesce while they wait (see
	// Queue.Enqueue).
	Unique() bool
}

// KindConverge is the kind of Converge jobs.
const KindConverge = "converge"

// Converge asks to bring one entity's counterpart in line with the entity's
// current state. It names the entity only: the worker re-reads it, so any
// number of events about it need one job.
type Converge struct {
	// Side is where the entity lives: hl (HighLevel) or m360.
	Side       string `json:"side"`
	EntityKind string `json:"kind"` // contact, task, note, appointment, event
	Tenant     string `json:"tenant"`
	ID         string `json:"id"`
	// Parent is the record the entity belongs to, which reading it needs:
	// a task's or a note's contact id, as the event gives it ("" when it
	// does not).
	Parent string `json:"parent,omitempty"`
	// WithChildren (a HighLevel contact's job that a poll or a backfill
	// enqueued) converges the contact's tasks and notes after it, as
	// its contact's lists hold them (see Converger.ConvergeWithChildren).
	WithChildren bool `json:"withChildren,omitempty"`
}

// ConvergeChildren is a children job: a Converge job (its kind) of
// EntityKind EntityChildren, ID a HighLevel contact, that converges each
// of Children, the contact's tasks and notes, in turn as its own job
// would, its Parent the contact. Polls enqueued them before a contact's
// job converged its children itself (WithChildren); those still queued
// are worked as before.
type ConvergeChildren struct {
	Converge
	Children []Child `json:"children"`
}

// Child is a record of a children job: its kind (task, note) and id.
type Child struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Kind is KindConverge.
func (Converge) Kind() string { return KindConverge }

// Unique is true: converge jobs for one entity coalesce.
func (Converge) Unique() bool { return true }

// String is "converge <side>.<kind> <tenant> <id>", for logs.
func (c Converge) String() string {
	return fmt.Sprintf("converge %s.%s %s %s", c.Side, c.EntityKind, c.Tenant, c.ID)
}

// Enqueued is what Enqueue did.
type Enqueued struct {
	JobID int64
	// Duplicate: an equal unique job was waiting already, and JobID is it.
	Duplicate bool
}

// Job is a job being worked.
type Job struct {
	ID      int64
	Kind    string
	Attempt int // from 1
	Args    json.RawMessage
	// CreatedAt is when the job was enqueued.
	CreatedAt time.Time
	// complete marks the job completed in a transaction.
	complete func(ctx context.Context, tx *state.Tx) error
}

// Decode decodes the job's args into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Args, v); err != nil {
		return fmt.Errorf("engine: job %d (%s) args: %w", j.ID, j.Kind, err)
	}
	return nil
}

// Complete marks the job completed as part of tx: if tx commits, the job
// is done with the writes beside it, whatever the worker returns next; if
// it rolls back, so does the completion. ctx must be the one the worker was
// given (or derived from it).
func (j *Job) Complete(ctx context.Context, tx *state.Tx) error {
	if err := j.complete(ctx, tx); err != nil {
		return fmt.Errorf("engine: complete job %d (%s): %w", j.ID, j.Kind, err)
	}
	return nil
}

// WorkFunc works a job. An error fails the attempt: the job is tried again
// later, up to its attempts. The context ends at the job timeout or when
// the queue stops.
type WorkFunc func(ctx context.Context, job *Job) error

// Worker works the jobs of one kind.
type Worker struct {
	Kind string
	Work WorkFunc
}

// JobInfo is a job as the queue holds it.
type JobInfo struct {
	ID      int64
	Kind    string
	State   string // available, scheduled, running, retryable, completed, discarded, cancelled, pending
	Attempt int
	Args    json.RawMessage
	// CreatedAt is when it was enqueued.
	CreatedAt time.Time
}

// Queue is the durable work queue the sync's parts rely on.
type Queue interface {
	// Enqueue adds a job in the caller's transaction: it exists if and
	// only if tx commits. A unique job coalesces with an equal one that
	// waits to run; one that is running already does not absorb it (it may
	// have read its entity before the change), so one more waits behind it.
	Enqueue(ctx context.Context, tx *state.Tx, args Args) (Enqueued, error)
	// Start starts working jobs; Stop lets the running ones finish (until
	// ctx ends, then cancels them) and stops.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// DefaultJobTimeout is how long a job may run by default before its
// context ends.
const DefaultJobTimeout = time.Minute

// DefaultMaxWorkers is how many jobs a queue runs at once by default: a
// job waits on the APIs most of its time, and the transport's limiter, not
// the workers, keeps the requests within the quotas.
const DefaultMaxWorkers = 32

// Config configures a queue. Zero fields take defaults.
type Config struct {
	// Workers work the jobs; a queue without workers only enqueues.
	Workers []Worker
	// MaxWorkers is how many jobs run at once (0: DefaultMaxWorkers).
	MaxWorkers int
	// JobTimeout ends a job's context (DefaultJobTimeout). It must be finite: a
	// job whose process died is rescued only after RescueAfter, which
	// must be longer (default JobTimeout + 1m).
	JobTimeout  time.Duration
	RescueAfter time.Duration
	// PollInterval is how often the queue looks for jobs when it has not
	// been told of any (default 1s). A job enqueued through the queue that
	// works it, and a job completed, make it look at once (at most every
	// fetchCooldown).
	PollInterval time.Duration
	// Backoff is the wait before the retry after the n-th failed attempt
	// (nil: River's default, n⁴ seconds with jitter).
	Backoff func(attempt int) time.Duration
	// MaxAttempts is how many times a job is tried (default 25).
	MaxAttempts int
	// ID names this process among the queue's clients ("" makes one).
	ID string
	// Periodic jobs are enqueued every interval (and at start) by the
	// queue's leader, each while no equal one waits.
	Periodic []Periodic
}

// Periodic is a job enqueued every interval.
type Periodic struct {
	Every time.Duration
	Args  Args
}

// SnoozeError is what a WorkFunc returns to have its job run again after
// For, without counting the attempt as a failure (a tenant out of quota
// until its reset).
type SnoozeError struct {
	For time.Duration
	Err error
}

func (e *SnoozeError) Error() string {
	return fmt.Sprintf("engine: snoozed for %s: %v", e.For.Round(time.Second), e.Err)
}

func (e *SnoozeError) Unwrap() error { return e.Err }

// RunsAtOnce is how many jobs a queue of c runs at once: MaxWorkers, or
// DefaultMaxWorkers when it is not positive.
func (c Config) RunsAtOnce() int {
	if c.MaxWorkers <= 0 {
		return DefaultMaxWorkers
	}
	return c.MaxWorkers
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	c.MaxWorkers = c.RunsAtOnce()
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = c.JobTimeout + time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 25
	}
	switch {
	case c.JobTimeout < 0:
		return c, fmt.Errorf("%w: JobTimeout must be finite and positive (a crashed job is never rescued otherwise)", ErrInvalidConfig)
	case c.RescueAfter <= c.JobTimeout:
		return c, fmt.Errorf("%w: RescueAfter (%s) must be longer than JobTimeout (%s)", ErrInvalidConfig, c.RescueAfter, c.JobTimeout)
	}
	seen := map[string]bool{}
	for _, w := range c.Workers {
		if w.Kind == "" || w.Work == nil || seen[w.Kind] {
			return c, fmt.Errorf("%w: worker %q: each needs a kind of its own and a WorkFunc", ErrInvalidConfig, w.Kind)
		}
		seen[w.Kind] = true
	}
	for _, p := range c.Periodic {
		if p.Every <= 0 || p.Args == nil {
			return c, fmt.Errorf("%w: a periodic job needs args and a positive interval", ErrInvalidConfig)
		}
	}
	return c, nil
}

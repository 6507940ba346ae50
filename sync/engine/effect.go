package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Errors of the effect executor.
var (
	// ErrEffectBusy: another worker started the effect's call a moment ago
	// (less than StaleAfter); the job tries again later instead of racing it.
	ErrEffectBusy = errors.New("engine: effect under way elsewhere")
	// ErrCrash is what a Hook returns to stop a job where it is, as a crash
	// would (tests).
	ErrCrash = errors.New("engine: crash injected")
)

// Step is a point of an effect's run where a Hook is called.
type Step string

// Steps of an effect's run, in order.
const (
	// StepBeforeCall: the intent is committed (inflight), the call not made.
	StepBeforeCall Step = "before-call"
	// StepAfterCall: the call succeeded, its success is not recorded yet.
	StepAfterCall Step = "after-call"
	// StepAfterCommit: the success is recorded.
	StepAfterCommit Step = "after-commit"
)

// Hook is called at each Step of an effect's run with the effect's key; an
// error stops the job there, as if the process died (nothing after it
// runs; the attempt fails).
type Hook func(step Step, key string) error

// Marker is the token a created record carries so that it can be found
// again: "cb:" and the first 16 hex digits of the SHA-256 of the effect's
// key.
func Marker(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "cb:" + hex.EncodeToString(sum[:8])
}

// effectCall is how to make one effect happen and how to find what an
// earlier try may have made.
type effectCall struct {
	// create makes the record and returns its id and the answer's status.
	create func(ctx context.Context) (id string, status int, err error)
	// find looks the record up by its marker; "" when there is none. Nil
	// for a naturally idempotent call (a campaign trigger), which is just
	// made again.
	find func(ctx context.Context) (id string, err error)
	// atMostOnce: without find, the create is not sent again once an
	// earlier try's outcome is unknown; it is parked instead (a rule's
	// create of a record that carries no marker).
	atMostOnce bool
}

// runEffect makes the planned effect key happen at most once and returns
// its remote record's id; "" for an effect given up on (dead). The intent
// is committed before the call; an effect found inflight since before
// StaleAfter (a crash) or one whose outcome is unknown is looked up by its
// marker before any new create.
func (c *Converger) runEffect(ctx context.Context, key string, call effectCall) (string, error) {
	log := c.log.With(logkey.Effect, key)
	e, err := c.db.Effect(ctx, key)
	if err != nil {
		return "", fmt.Errorf("engine: effect %s: %w", key, err)
	}
	switch e.State {
	case state.EffectDone:
		return e.RemoteID, nil
	case state.EffectDead:
		return "", nil
	case state.EffectInflight:
		if c.now().Sub(e.InflightSince) < c.staleAfter {
			return "", fmt.Errorf("engine: effect %s inflight since %s: %w", key, e.InflightSince.Format(time.RFC3339), ErrEffectBusy)
		}
		log.WarnContext(ctx, "effect found inflight after a crash or a lost answer; looking it up before any new create")
		if err := c.db.FailEffect(ctx, key, state.Failure{Err: "found inflight", OutcomeUnknown: true, NextAt: c.now()}, c.now()); err != nil {
			return "", fmt.Errorf("engine: resolve inflight effect: %w", err)
		}
		e.OutcomeUnknown = true
	}
	if err := c.db.StartEffect(ctx, key, c.now()); errors.Is(err, state.ErrConflict) {
		// Another job of the same entity started it a moment ago.
		return "", fmt.Errorf("engine: effect %s: %w", key, ErrEffectBusy)
	} else if err != nil {
		return "", fmt.Errorf("engine: start effect: %w", err)
	}
	if err := c.hook(StepBeforeCall, key); err != nil {
		return "", err
	}
	if call.atMostOnce {
		// Read again now that this try owns the effect: another worker's
		// try may have ended unknown since the read above.
		if parked, err := c.parkUnknown(ctx, key); parked || err != nil {
			return "", err
		}
	}
	if e.OutcomeUnknown && call.find != nil {
		id, err := call.find(ctx)
		if err != nil {
			return "", c.failEffect(ctx, key, fmt.Errorf("look up by marker: %w", err))
		}
		if id != "" {
			log.InfoContext(ctx, "effect found by its marker; adopted", logkey.Entity, id)
			return id, c.completeEffect(ctx, key, id, 0)
		}
	}
	id, status, err := call.create(ctx)
	if err != nil {
		return "", c.failEffect(ctx, key, err)
	}
	if err := c.hook(StepAfterCall, key); err != nil {
		return "", err
	}
	return id, c.completeEffect(ctx, key, id, status)
}

func (c *Converger) completeEffect(ctx context.Context, key, id string, status int) error {
	if err := c.db.CompleteEffect(ctx, key, id, status, c.now()); err != nil {
		return fmt.Errorf("engine: complete effect: %w", err)
	}
	return c.hook(StepAfterCommit, key)
}

// failEffect records a failed try and returns the error the job fails
// with: nil for an effect given up on (a request the API refuses as
// invalid is never retried), so that it does not hold the others back.
func (c *Converger) failEffect(ctx context.Context, key string, cause error) error {
	f := state.Failure{Err: cause.Error(), NextAt: c.now(), OutcomeUnknown: errors.Is(cause, transport.ErrOutcomeUnknown)}
	var me *m360api.Error
	var he *highlevelapi.Error
	var re *ruleError
	switch {
	case errors.As(cause, &re):
		f.Status, f.Dead = re.status, re.permanent()
	case errors.As(cause, &me):
		f.Status = me.StatusCode
		f.Dead = errors.Is(cause, m360api.ErrValidation)
	case errors.As(cause, &he):
		f.Status = he.StatusCode
		f.Dead = errors.Is(cause, highlevelapi.ErrValidation)
	}
	if err := c.db.FailEffect(ctx, key, f, c.now()); err != nil {
		return fmt.Errorf("engine: fail effect %s (%w): %w", key, cause, err)
	}
	if f.Dead {
		c.log.ErrorContext(ctx, "effect refused as invalid; given up on", logkey.Effect, key, logkey.Err, cause)
		return nil
	}
	return fmt.Errorf("engine: effect %s: %w", key, cause)
}

// plan is an effect to plan; see planEffects. text is the task's title or
// the note's body; target is the side written ("" means Marketing 360);
// campaign is a trigger's campaign.
type plan struct {
	key, flow, op, text, target string
	campaign                    int64
}

// planEffects plans the effects of one lane in one transaction (keys
// planned already are left as they are).
func (c *Converger) planEffects(ctx context.Context, tenant, lane string, plans []plan) error {
	return c.db.Tx(ctx, func(tx *state.Tx) error {
		for _, p := range plans {
			target := p.target
			if target == "" {
				target = state.OriginM360
			}
			e := state.Effect{Key: p.key, Flow: p.flow, Target: target, Tenant: tenant, Lane: lane, Op: p.op,
				Request: []byte{}, Marker: Marker(p.key)}
			if _, err := tx.PlanEffect(ctx, e, c.now()); err != nil {
				return fmt.Errorf("engine: plan: %w", err)
			}
		}
		return nil
	})
}

// noHook is the Hook of a converger without one.
func noHook(Step, string) error { return nil }

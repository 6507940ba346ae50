package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// create makes the record and returns its id and the answer's status
	// (0 for a record it adopted instead of making it).
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

// effectRun is one effect of a job's batch: its key, how to make it, and
// what the ledger plans for it when its key is new (nil: it is planned
// already, as a rule's action is).
type effectRun struct {
	key  string
	call effectCall
	plan *state.Effect
}

// ran is what runEffects did of one effect: its remote record's id (""
// for an effect given up on: dead) and whether this try's create made it
// (answered with a status: not an earlier try, not a record found or
// adopted).
type ran struct {
	id   string
	made bool
}

// runEffect is runEffects of one effect not made before (its entity is
// not mapped yet, or it is a rule's action still open).
func (c *Converger) runEffect(ctx context.Context, l *ledger, r effectRun) (ran, error) {
	out, err := c.runEffects(ctx, l, []effectRun{r}, false)
	if err != nil {
		return ran{}, err
	}
	return out[0], nil
}

// runEffects makes each effect of runs happen at most once through the
// job's ledger l, in order, and tells what it did of each. The effects to
// make are planned when new (keys planned already are left as they are),
// resolved when found inflight since before StaleAfter (a crash or a lost
// answer: their outcome is unknown) and started in one transaction with
// what l owes: every intent is committed before any call.
// An effect whose outcome is unknown is looked up by its marker before any
// new create. Each success is owed to l. When a call fails, the effects
// started after it, never sent, are failed with it (tried again with no
// lookup); a crash leaves them inflight, looked up after StaleAfter.
//
// mapped says their entity is mapped already, so the effects were
// probably made before: unless l owes a write, one read of them all comes
// first, and spares the transaction when each is done or given up on.
func (c *Converger) runEffects(ctx context.Context, l *ledger, runs []effectRun, mapped bool) ([]ran, error) {
	out := make([]ran, len(runs))
	pending := make([]int, 0, len(runs))
	if mapped && len(l.owed) == 0 {
		keys := make([]string, len(runs))
		for i, r := range runs {
			keys[i] = r.key
		}
		known, err := c.db.Effects(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("engine: effects: %w", err)
		}
		for i, r := range runs {
			switch e, ok := known[r.key]; {
			case ok && e.State == state.EffectDone:
				out[i].id = e.RemoteID
			case ok && e.State == state.EffectDead:
				// Given up on: nothing to run.
			default:
				pending = append(pending, i)
			}
		}
		if len(pending) == 0 {
			return out, nil
		}
	} else {
		for i := range runs {
			pending = append(pending, i)
		}
	}
	started := make([]int, 0, len(pending))
	tries := make([]state.Effect, len(runs)) // as each started
	// Those started ahead (see ledger.ahead) need no transaction; their
	// order in the batch is kept.
	var order []int
	if len(l.taken) > 0 {
		order = make([]int, 0, len(pending))
		rest := pending[:0:0]
		for _, i := range pending {
			if e, ok := l.taken[runs[i].key]; ok {
				delete(l.taken, runs[i].key)
				tries[i] = e
				order = append(order, i)
				continue
			}
			rest = append(rest, i)
		}
		pending = rest
	}
	if len(pending) > 0 {
		took, err := l.start(ctx, runs, pending, tries, out)
		if err != nil {
			// Those started ahead were not called: still the job's, to
			// give back when it ends.
			for _, i := range order {
				l.taken[runs[i].key] = tries[i]
			}
			return nil, err
		}
		order = append(order, took...)
		slices.Sort(order)
	}
	started = append(started, order...)
	for n, i := range started {
		if err := l.renew(ctx, runs, tries, started[n:]); err != nil {
			return nil, err
		}
		rest := make([]string, 0, len(started)-n-1)
		for _, j := range started[n+1:] {
			rest = append(rest, runs[j].key)
		}
		id, status, err := c.callEffect(ctx, l, runs[i], tries[i], rest)
		if err != nil {
			return nil, err
		}
		out[i] = ran{id: id, made: status != 0}
	}
	return out, nil
}

// renew keeps the effects this job started its own while their calls wait
// for the calls before them. When next[0], the next to call, was started
// StaleAfter/4 ago or more (with the others of its batch, or ahead of its
// batch), it and the others the job started and has not called (the rest
// of next, and l.taken) are stamped anew in one transaction: otherwise
// another worker (a second process, this one's retry) would take them for
// ones a crash left, look them up, find nothing yet and create them, and
// this job's calls would make them twice. One another worker has taken
// over is this job's no more: it is dropped from l.taken, and the job fails
// with ErrEffectBusy.
func (l *ledger) renew(ctx context.Context, runs []effectRun, tries []state.Effect, next []int) error {
	c := l.c
	now := c.now()
	if now.Sub(tries[next[0]].InflightSince) < c.staleAfter/4 {
		return nil
	}
	stamps := map[string]time.Time{}
	var lost []string
	if err := l.tx(ctx, func(tx *state.Tx) error {
		clear(stamps)
		lost = lost[:0]
		one := func(key string, e state.Effect) error {
			at, ok, err := tx.RenewEffect(ctx, key, e.InflightSince, e.Attempts, now)
			switch {
			case err != nil:
				return fmt.Errorf("engine: renew effect: %w", err)
			case ok:
				stamps[key] = at
			default:
				lost = append(lost, key)
			}
			return nil
		}
		for _, i := range next {
			if err := one(runs[i].key, tries[i]); err != nil {
				return err
			}
		}
		for key, e := range l.taken {
			if err := one(key, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, i := range next {
		if at, ok := stamps[runs[i].key]; ok {
			tries[i].InflightSince = at
		}
	}
	for key, e := range l.taken {
		if at, ok := stamps[key]; ok {
			e.InflightSince = at
			l.taken[key] = e
		}
	}
	for _, key := range lost {
		delete(l.taken, key)
	}
	if len(lost) > 0 {
		c.log.WarnContext(ctx, "an effect this job started was taken over by another worker before its call; not sent",
			logkey.Effect, lost[0])
		return fmt.Errorf("engine: effect %s taken over before its call: %w", lost[0], ErrEffectBusy)
	}
	return nil
}

// start starts the effects pending of runs in one transaction with what l
// owes and the effects l plans ahead (see ledger.ahead), and returns those
// it started, in order, each as tries has it; out has the id of each found
// done. See runEffects.
func (l *ledger) start(ctx context.Context, runs []effectRun, pending []int, tries []state.Effect, out []ran) ([]int, error) {
	c := l.c
	var started []int
	var ahead map[string]state.Effect
	if err := l.tx(ctx, func(tx *state.Tx) error {
		started, ahead = started[:0], nil
		// The plans (those of pending, then those ahead) are stored in one
		// statement.
		var plans []state.Effect
		planOf := make([]int, len(pending)) // of each of pending, its place in plans (-1: none)
		for n, i := range pending {
			planOf[n] = -1
			if p := runs[i].plan; p != nil {
				planOf[n] = len(plans)
				plans = append(plans, *p)
			}
		}
		aheadFrom := len(plans)
		for _, p := range l.ahead {
			if slices.ContainsFunc(pending, func(i int) bool { return runs[i].key == p.Key }) {
				continue // started just now
			}
			plans = append(plans, *p)
		}
		planned, took, err := tx.PlanAndTakeEffects(ctx, plans, c.now())
		if err != nil {
			return fmt.Errorf("engine: start effects: %w", err)
		}
		for n, i := range pending {
			key := runs[i].key
			var e state.Effect
			var took1 bool
			if j := planOf[n]; j >= 0 {
				e, took1 = planned[j], took[j]
			} else if e, took1, err = tx.TakeEffect(ctx, key, c.now()); err != nil {
				return fmt.Errorf("engine: start effect: %w", err)
			}
			switch {
			case took1:
			case e.State == state.EffectDone:
				out[i].id = e.RemoteID
				continue
			case e.State == state.EffectInflight:
				if c.now().Sub(e.InflightSince) < c.staleAfter {
					// Another job of the same entity started it a moment ago.
					return fmt.Errorf("engine: effect %s inflight since %s: %w", key, e.InflightSince.Format(time.RFC3339), ErrEffectBusy)
				}
				c.log.WarnContext(ctx, "effect found inflight after a crash or a lost answer; looking it up before any new create", logkey.Effect, key)
				now := c.now()
				if err := tx.FailEffect(ctx, key, state.Failure{Err: "found inflight", OutcomeUnknown: true, NextAt: now}, now); err != nil {
					return fmt.Errorf("engine: resolve inflight effect: %w", err)
				}
				if err := tx.StartEffect(ctx, key, now); err != nil {
					return fmt.Errorf("engine: start effect: %w", err)
				}
				// As the start left it (renew compares it with the row).
				e.OutcomeUnknown, e.InflightSince, e.Attempts = true, now, e.Attempts+1
			default: // dead
				continue
			}
			started, tries[i] = append(started, i), e
		}
		for j := aheadFrom; j < len(plans); j++ {
			if took[j] {
				if ahead == nil {
					ahead = map[string]state.Effect{}
				}
				ahead[plans[j].Key] = planned[j]
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(l.ahead) > 0 {
		if l.taken == nil {
			l.taken = map[string]state.Effect{}
		}
		maps.Copy(l.taken, ahead)
		l.ahead = nil
	}
	return started, nil
}

// callEffect makes r's call, its effect started as e; rest are the keys of
// the effects started with it and not called yet, failed with it unless it
// is given up on. It returns the record's id and the answer's status (0
// for a record found by its marker or adopted).
func (c *Converger) callEffect(ctx context.Context, l *ledger, r effectRun, e state.Effect, rest []string) (string, int, error) {
	if err := l.hook(StepBeforeCall, r.key); err != nil {
		return "", 0, err
	}
	if r.call.atMostOnce && e.OutcomeUnknown {
		return "", 0, c.parkUnknown(ctx, l, r.key, e)
	}
	if e.OutcomeUnknown && r.call.find != nil {
		id, err := r.call.find(ctx)
		if err != nil {
			return "", 0, c.failEffect(ctx, l, r.key, fmt.Errorf("look up by marker: %w", err), rest)
		}
		if id != "" {
			c.log.InfoContext(ctx, "effect found by its marker; adopted", logkey.Effect, r.key, logkey.Entity, id)
			l.owe(r.key, id, 0)
			return id, 0, nil
		}
	}
	id, status, err := r.call.create(ctx)
	if err != nil {
		return "", 0, c.failEffect(ctx, l, r.key, err, rest)
	}
	if err := l.hook(StepAfterCall, r.key); err != nil {
		return "", 0, err
	}
	l.owe(r.key, id, status)
	return id, status, nil
}

// failEffect records a failed try and returns the error the job fails
// with: nil for an effect given up on (a request the API refuses as
// invalid is never retried), so that it does not hold the others back.
// Otherwise the effects rest, started with it and never sent, are failed
// with it, their outcome known: tried again later without a lookup.
func (c *Converger) failEffect(ctx context.Context, l *ledger, key string, cause error, rest []string) error {
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
	if err := l.tx(ctx, func(tx *state.Tx) error {
		if err := tx.FailEffect(ctx, key, f, c.now()); err != nil {
			return err
		}
		if f.Dead {
			return nil
		}
		for _, k := range rest {
			if err := tx.FailEffect(ctx, k, state.Failure{Err: "not sent: " + key + " failed before it", NextAt: c.now()}, c.now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("engine: fail effect %s (%w): %w", key, cause, err)
	}
	if f.Dead {
		c.log.ErrorContext(ctx, "effect refused as invalid; given up on", logkey.Effect, key, logkey.Err, cause)
		return nil
	}
	return fmt.Errorf("engine: effect %s: %w", key, cause)
}

// plan is an effect to plan; see planned. text is the task's title or
// the note's body; target is the side written ("" means Marketing 360);
// campaign is a trigger's campaign.
type plan struct {
	key, flow, op, text, target string
	campaign                    int64
}

// planned is the effect the ledger plans for p in the lane of tenant, to
// run with p's key.
func (c *Converger) planned(tenant, lane string, p plan) *state.Effect {
	target := p.target
	if target == "" {
		target = state.OriginM360
	}
	return &state.Effect{Key: p.key, Flow: p.flow, Target: target, Tenant: tenant, Lane: lane, Op: p.op,
		Request: []byte{}, Marker: Marker(p.key)}
}

// ledger is one job's way through the effects ledger. The writes a job
// owes it (an effect's success) are not committed on their own: they go
// with the job's next transaction, which is the next effects' intents
// (committed, as always, before their calls), the record of a failed try,
// or the job's last, its mapping's and its completion's (completing);
// when the job fails or its context ends first, settle commits them on a
// context of its own. A crash before that leaves
// the success unrecorded, the effect inflight: looked up by its marker
// after StaleAfter, as a crash just after the call always was. A children
// job's children share one ledger; while it is deferring, a child's last
// transaction (close) is owed too, and goes with the next.
type ledger struct {
	c    *Converger
	owed []owed
	// later are the last transactions of children closed while deferring,
	// owed as the successes are.
	later []deferred
	// paid and ran are how many of owed and later the last pay recorded.
	paid, ran int
	// child names the child of a children job whose flow runs (its
	// deferred last transaction is blamed on it); dropped are the failures
	// of those dropped from later (see commit).
	child   string
	dropped []error
	// stopped: a Hook stopped the job, as a crash would; nothing more is
	// written.
	stopped bool
	// deferring: close leaves its transaction to the ledger's next.
	deferring bool
	// kin is shared by the children of a children job (nil for another).
	kin *kin
	// ahead are the plans of effects the job will probably make later
	// (those of a new contact's children, of a children job's unmapped
	// children): their intents are committed with the next effects' to
	// start, so that starting them later takes no transaction of its own.
	// taken are those started so, by key, until their effects run; those
	// the job did not run are given back with its last transaction
	// (completing, settle): removed when planned so, else failed as never
	// sent (tried again with no lookup).
	ahead []*state.Effect
	taken map[string]state.Effect
	// untaking: the transaction being paid fails what is left of taken.
	untaking bool
}

// owed is a success owed to the ledger: effect key's call made (or found)
// remoteID at at, answered status.
type owed struct {
	key, remoteID string
	status        int
	at            time.Time
}

// deferred is a child's last transaction, owed to the ledger; child names
// the child.
type deferred struct {
	fn    func(context.Context, *state.Tx) error
	child string
}

// deferredError is the failure of l.later[i] in a transaction that pays it.
type deferredError struct {
	l   *ledger
	i   int
	err error
}

func (e *deferredError) Error() string { return e.err.Error() }
func (e *deferredError) Unwrap() error { return e.err }

// ledger starts a job's ledger.
func (c *Converger) ledger() *ledger { return &ledger{c: c} }

// pay records the owed successes in tx, then runs the owed last
// transactions of children; committed must follow tx's commit.
func (l *ledger) pay(ctx context.Context, tx *state.Tx) error {
	if len(l.owed) > 0 {
		done := make([]state.Completion, len(l.owed))
		for i, o := range l.owed {
			done[i] = state.Completion{Key: o.key, RemoteID: o.remoteID, Status: o.status, At: o.at}
		}
		if err := tx.CompleteEffects(ctx, done); err != nil {
			return fmt.Errorf("engine: complete effects: %w", err)
		}
	}
	for i, d := range l.later {
		if err := d.fn(ctx, tx); err != nil {
			return &deferredError{l: l, i: i, err: err}
		}
	}
	if l.untaking {
		for key, e := range l.taken {
			// One another worker took over is left to it.
			if _, err := tx.ReleaseEffect(ctx, e, state.Failure{Err: "not sent: started ahead, not needed by its job", NextAt: l.c.now()},
				l.c.now()); err != nil {
				return fmt.Errorf("engine: effect %s started ahead: %w", key, err)
			}
		}
	}
	l.paid, l.ran = len(l.owed), len(l.later)
	return nil
}

// committed forgets the successes and the children's transactions paid in
// a transaction that committed and calls StepAfterCommit for each success.
func (l *ledger) committed() error {
	paid := l.owed[:l.paid]
	l.owed, l.paid = l.owed[l.paid:], 0
	l.later, l.ran = l.later[l.ran:], 0
	if l.untaking {
		l.taken, l.untaking = nil, false
	}
	for _, o := range paid {
		if err := l.hook(StepAfterCommit, o.key); err != nil {
			return err
		}
	}
	return nil
}

// close runs fn, a job's (or a child's) last transaction, in a
// transaction of its own; while the ledger is deferring, it is owed
// instead, to run in the ledger's next transaction.
func (l *ledger) close(ctx context.Context, fn func(context.Context, *state.Tx) error) error {
	if l.deferring {
		l.later = append(l.later, deferred{fn: fn, child: l.child})
		return nil
	}
	return l.commit(ctx, func(tx *state.Tx) error { return fn(ctx, tx) })
}

// tx runs fn in a transaction after the owed writes.
func (l *ledger) tx(ctx context.Context, fn func(*state.Tx) error) error {
	if err := l.commit(ctx, func(tx *state.Tx) error {
		if err := l.pay(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	}); err != nil {
		return err
	}
	return l.committed()
}

// commit runs fn in a transaction. When a child's last transaction owed
// to l fails in it (it rolls back), that one is dropped from later, its
// failure kept in dropped (the children job fails with it: its child is
// tried again), and fn runs again without it, so that the successes owed
// and the other children's transactions commit: one child's failure is
// not run again with each later transaction of the job. Once ctx has
// ended, the failure is returned instead (settle commits what is owed).
func (l *ledger) commit(ctx context.Context, fn func(*state.Tx) error) error {
	for {
		err := l.c.db.Tx(ctx, fn)
		de, ok := errors.AsType[*deferredError](err)
		if !ok || de.l != l || ctx.Err() != nil {
			return err
		}
		d := l.later[de.i]
		l.later = slices.Delete(l.later, de.i, de.i+1)
		l.dropped = append(l.dropped, fmt.Errorf("engine: %s: its last transaction: %w", d.child, de.err))
		l.c.log.WarnContext(ctx, "a child's last transaction failed; dropped, its child tried again with the job's retry",
			logkey.Entity, d.child, logkey.Err, de.err)
	}
}

// completing is complete with what the job owes the ledger paid first in
// its transaction: the successes of the effects a job made commit with the
// mapping they made and the job's completion, not in a transaction of
// their own. Once that transaction committed, committed must follow; if it
// rolled back, settle pays them.
func (l *ledger) completing(complete func(context.Context, *state.Tx) error) func(context.Context, *state.Tx) error {
	return func(ctx context.Context, tx *state.Tx) error {
		l.untaking = true
		if err := l.pay(ctx, tx); err != nil {
			return err
		}
		return complete(ctx, tx)
	}
}

// settle commits what the job owes the ledger, if anything (not after a
// Hook stopped the job). It records calls that were made, so the job's
// context ending (its timeout, a stop) does not stop it: that would leave
// a made effect inflight, looked up again, or, for one without a marker,
// parked as unknown and perhaps sent twice. settleWait bounds it.
func (l *ledger) settle(ctx context.Context) error {
	if len(l.owed) == 0 && len(l.later) == 0 && len(l.taken) == 0 || l.stopped {
		return nil
	}
	l.untaking = true
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleWait)
	defer cancel()
	return l.tx(sctx, func(*state.Tx) error { return nil })
}

// settleWait bounds the commit of what a job owes the ledger once its
// context has ended.
const settleWait = 10 * time.Second

// hook calls the converger's Hook; an error stops the job.
func (l *ledger) hook(step Step, key string) error {
	if err := l.c.hook(step, key); err != nil {
		l.stopped = true
		return err
	}
	return nil
}

// owe records that effect key's call made (or found) remoteID, answered
// status: owed to the ledger until the job's next transaction.
func (l *ledger) owe(key, remoteID string, status int) {
	l.owed = append(l.owed, owed{key: key, remoteID: remoteID, status: status, at: l.c.now()})
}

// noHook is the Hook of a converger without one.
func noHook(Step, string) error { return nil }

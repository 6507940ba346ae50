package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Sides and entity kinds of Converge jobs (as sync/receiver names them).
const (
	SideHighLevel     = state.OriginHighLevel
	SideM360          = state.OriginM360
	EntityContact     = "contact"
	EntityTask        = "task"
	EntityNote        = "note"
	EntityAppointment = "appointment"
	EntityEvent       = "event" // a Marketing 360 calendar event
)

// ErrNoCounterpart: the record's contact has no counterpart on the other
// side yet (its own job has not run, or its webhook was lost). The job
// fails and is tried again with the queue's backoff, up to its attempts:
// never dropped silently.
var ErrNoCounterpart = errors.New("engine: the contact has no counterpart yet")

// DefaultStaleAfter is how long an effect may be inflight before it is taken
// for a crashed try: longer than a request's timeout (transport's
// DefaultTimeout, 30 s) with a margin, so that a request still being
// served is not raced by a second one.
const DefaultStaleAfter = time.Minute

// ConvergerConfig configures a Converger. DB and both clients are needed.
type ConvergerConfig struct {
	DB *state.DB
	// HighLevel and M360 are the APIs (HighLevelClient and M360Client on
	// the generated clients).
	HighLevel HighLevel
	M360      M360
	// Location is the HighLevel location the Marketing 360 account is
	// paired with: Marketing 360 jobs look mappings up under it when the
	// record does not name its HighLevel contact ("": they rely on
	// externalIds.ghl only).
	Location string
	Flows    Flows
	// StaleAfter: see DefaultStaleAfter (0 means it).
	StaleAfter time.Duration
	// Now tells the time (nil: time.Now).
	Now func() time.Time
	// Rules are the user rules (nil: none): after each job's flow they
	// plan actions on the triggers of the entity's change, which run
	// through the ledger. They need HighLevelHTTP and M360HTTP, which send
	// the actions' requests (and the rules' reads).
	Rules                   Rules
	HighLevelHTTP, M360HTTP Requester
	// Hook is called at each step of each effect (nil: none); tests crash
	// the worker with it.
	Hook   Hook
	Logger *slog.Logger
}

// Converger works Converge jobs: it re-reads the entity a job names and
// brings its counterparts in line with it, through the effects ledger for
// every create.
type Converger struct {
	db         *state.DB
	hl         HighLevel
	m360       M360
	location   string
	flows      Flows
	rules      Rules
	requesters map[string]Requester
	staleAfter time.Duration
	now        func() time.Time
	hook       Hook
	log        *slog.Logger
	// entities serializes the jobs of an entity.
	entities entityLocks
}

// NewConverger checks cfg and makes a Converger.
func NewConverger(cfg ConvergerConfig) (*Converger, error) {
	if cfg.DB == nil || cfg.HighLevel == nil || cfg.M360 == nil {
		return nil, fmt.Errorf("%w: a converger needs DB, HighLevel and M360", ErrInvalidConfig)
	}
	flows, err := cfg.Flows.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Rules != nil && (cfg.HighLevelHTTP.Client == nil || cfg.M360HTTP.Client == nil) {
		return nil, fmt.Errorf("%w: rules need the requesters of both APIs", ErrInvalidConfig)
	}
	c := &Converger{db: cfg.DB, hl: cfg.HighLevel, m360: cfg.M360, location: cfg.Location, flows: flows, rules: cfg.Rules,
		requesters: map[string]Requester{SideHighLevel: cfg.HighLevelHTTP, SideM360: cfg.M360HTTP},
		staleAfter: cfg.StaleAfter, now: cfg.Now, hook: cfg.Hook, log: cfg.Logger}
	if c.staleAfter <= 0 {
		c.staleAfter = DefaultStaleAfter
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.hook == nil {
		c.hook = noHook
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With(logkey.Component, "converge")
	return c, nil
}

// Worker is the queue's worker of Converge jobs, children jobs
// (ConvergeChildren) among them.
func (c *Converger) Worker() Worker {
	return Worker{Kind: KindConverge, Work: func(ctx context.Context, job *Job) error {
		var a ConvergeChildren
		if err := job.Decode(&a); err != nil {
			return err
		}
		var err error
		if a.EntityKind == EntityChildren {
			err = c.ConvergeChildren(ctx, a, job.Complete)
		} else {
			err = c.Converge(ctx, a.Converge, job.Complete)
		}
		// A tenant out of its day's quota is waited for, not failed: the
		// attempts a job has would be spent in minutes, and its change
		// dropped with the last.
		if dq, ok := errors.AsType[*transport.DailyQuotaError](err); ok {
			return &SnoozeError{For: max(dq.Reset.Sub(c.now()), 0), Err: err}
		}
		return err
	}}
}

// ConvergeChildren works a children job: it converges each of a's
// children in turn, as the child's own job would, and calls complete with
// the last when every child converged. Without rules (and with more than
// one child) it defers: a child's last transaction (its mapping and its
// events planned, after its success) is not committed on its own but with
// the job's next one (the job's completion, or a transaction a later
// child needs), and the intents of the creates of its unmapped children,
// probably new, commit with the first child's (see ledger.ahead), so a
// children job of n new tasks and notes commits twice, not 2n times.
// Deferring, it takes every child's entity lock first (in the order of
// their keys, so that two children jobs of one contact cannot each hold
// what the other waits for) and holds them to its end, so that no other
// job of a child reads its mapping before it commits, and reads the
// children's mappings in one statement under them. Otherwise it takes
// each child's lock while it converges that child, as the child's own job
// would, and each child reads its own mapping. A child that fails does
// not hold back those after it (the job's retry would stop at it again,
// and its last attempt would drop them): the job fails with its error
// once the others converged, and its retry finds those converged already;
// so does a child whose last transaction, left to the next one, fails
// there (it is dropped from it: see ledger.commit); what the children
// made is committed when the job ends (settle). A failure every child
// would share stops the job at once: the contact has no counterpart yet,
// the job's context ended, its tenant is out of quota (a snooze), a Hook
// crashed it.
func (c *Converger) ConvergeChildren(ctx context.Context, a ConvergeChildren, complete func(context.Context, *state.Tx) error) (err error) {
	if a.Side != SideHighLevel || a.EntityKind != EntityChildren || len(a.Children) == 0 {
		c.log.WarnContext(ctx, "a children job of no HighLevel children; nothing to do", logkey.API, a.Side, logkey.Kind, a.EntityKind,
			logkey.Entity, a.ID)
		return c.done(ctx, nil, complete)
	}
	children := make([]Converge, len(a.Children))
	keys := make([]string, 0, len(a.Children))
	for i, k := range a.Children {
		children[i] = Converge{Side: a.Side, EntityKind: k.Kind, Tenant: a.Tenant, ID: k.ID, Parent: a.ID}
		keys = append(keys, entityKey(children[i]))
	}
	l := c.ledger()
	l.kin = &kin{tenant: a.Tenant, contact: a.ID, unread: map[state.Record]bool{}}
	deferring := c.rules == nil && len(children) > 1
	if deferring {
		slices.Sort(keys)
		for _, key := range slices.Compact(keys) {
			unlock, err := c.entities.lock(ctx, key)
			if err != nil {
				return err
			}
			defer unlock()
		}
		records := make([]state.Record, len(children))
		for i, one := range children {
			records[i] = state.Record{Kind: one.EntityKind, ID: one.ID}
		}
		mapped, err := c.db.MappingsByHighLevel(ctx, a.Tenant, records)
		if err != nil {
			return fmt.Errorf("engine: the mappings of the children of HighLevel contact %s: %w", a.ID, err)
		}
		l.kin.mapped = mapped
		for _, r := range records {
			l.kin.unread[r] = true
			// An unmapped child is probably new: its create's intent is
			// committed with the first child's (see ledger.ahead).
			if p, ok := childPlan(r.Kind, r.ID); ok && (r.Kind == EntityTask && c.flows.Tasks || r.Kind == EntityNote && c.flows.Notes) {
				if _, ok := mapped[r]; !ok {
					l.ahead = append(l.ahead, c.planned(a.Tenant, contactLane(a.ID), p))
				}
			}
		}
	}
	defer func() { err = errors.Join(err, l.settle(ctx), errors.Join(l.dropped...)) }()
	var failed error
	for i, one := range children {
		last := complete
		if i < len(children)-1 || failed != nil {
			last = func(context.Context, *state.Tx) error { return nil }
		} else {
			// A child's last transaction paid with the job's is dropped
			// when it fails (see ledger.commit): the job is not complete.
			last = func(ctx context.Context, tx *state.Tx) error {
				if len(l.dropped) > 0 {
					return nil
				}
				return complete(ctx, tx)
			}
		}
		l.deferring = deferring && i < len(children)-1
		l.child = fmt.Sprintf("%s %s, child %d of %d of HighLevel contact %s", one.EntityKind, one.ID, i+1, len(children), a.ID)
		var err error
		if deferring {
			err = c.converge(ctx, one, last, l)
		} else {
			err = c.convergeLocked(ctx, one, last, l)
		}
		if err == nil {
			continue
		}
		err = fmt.Errorf("engine: %s: %w", l.child, err)
		if sharedFailure(ctx, err) {
			return errors.Join(failed, err)
		}
		c.log.WarnContext(ctx, "a child of a children job failed; converging the others", logkey.Tenant, a.Tenant, logkey.Parent, a.ID,
			logkey.Kind, one.EntityKind, logkey.Entity, one.ID, logkey.Err, err)
		failed = errors.Join(failed, err)
	}
	return failed
}

// sharedFailure tells whether err, a child's failure in a children job,
// would be the next child's too (see ConvergeChildren).
func sharedFailure(ctx context.Context, err error) bool {
	_, snooze := errors.AsType[*SnoozeError](err)
	_, quota := errors.AsType[*transport.DailyQuotaError](err)
	return ctx.Err() != nil || snooze || quota || errors.Is(err, ErrNoCounterpart) || errors.Is(err, ErrCrash)
}

// Converge brings the counterparts of the entity a names in line with its
// current state, and calls complete in the transaction that records the
// outcome (the job's completion). An entity no flow is about completes at
// once, with a log line. With rules, the flow's outcome commits first and
// the rules' part (applyRules) follows, completing the job: a crash
// between the two runs the flow again, which finds nothing to write. The
// job's effects go through one ledger: what the job still owes it when it
// fails (an effect's success) is committed then.
func (c *Converger) Converge(ctx context.Context, a Converge, complete func(context.Context, *state.Tx) error) (err error) {
	l := c.ledger()
	defer func() { err = errors.Join(err, l.settle(ctx)) }()
	return c.convergeLocked(ctx, a, complete, l)
}

// convergeLocked is converge with the entity's lock taken for it.
func (c *Converger) convergeLocked(ctx context.Context, a Converge, complete func(context.Context, *state.Tx) error, l *ledger) error {
	unlock, err := c.entities.lock(ctx, entityKey(a))
	if err != nil {
		return err
	}
	defer unlock()
	return c.converge(ctx, a, complete, l)
}

// kin is what the children of one children job share: their contact and
// its Marketing 360 counterpart, read once for them all (0 until read),
// and, when the job defers, their mappings, read in one statement (under
// their entity locks) before the first child: mapped has those that
// exist, unread the children whose flow has not read theirs yet.
type kin struct {
	tenant, contact string
	m360            int64
	mapped          map[state.Record]state.Mapping
	unread          map[state.Record]bool
}

// converge is Converge through ledger l, the entity's lock held; what l
// is owed at its end is the caller's to settle. A child of a children job
// shares l with its siblings; when l is deferring, the flow's last
// transaction is left to the ledger's next (see ConvergeChildren).
func (c *Converger) converge(ctx context.Context, a Converge, complete func(context.Context, *state.Tx) error, l *ledger) error {
	log := c.log.With(logkey.API, a.Side, logkey.Kind, a.EntityKind, logkey.Tenant, a.Tenant, logkey.Entity, a.ID)
	if a.Parent != "" {
		log = log.With(logkey.Parent, a.Parent)
	}
	// The events of the entity received so far are worked by this job,
	// which reads its state from now on: the transaction that completes it
	// marks them planned.
	began, job := c.now(), complete
	complete = func(ctx context.Context, tx *state.Tx) error {
		if _, err := tx.PlanInbox(ctx, a.EntityKind, a.Tenant, a.ID, began); err != nil {
			return fmt.Errorf("engine: %s %s: %w", a.EntityKind, a.ID, err)
		}
		return job(ctx, tx)
	}
	// The flow's last transaction (its mapping's, its completion) pays
	// what the job owes the ledger: a flow that returns nil committed it,
	// or, deferring, left it to the ledger's next transaction, which pays
	// it with the rest.
	if c.rules == nil {
		if l.deferring {
			return c.flow(ctx, log, l, a, complete)
		}
		if err := c.flow(ctx, log, l, a, l.completing(complete)); err != nil {
			return err
		}
		return l.committed()
	}
	if err := c.flow(ctx, log, l, a, l.completing(func(context.Context, *state.Tx) error { return nil })); err != nil {
		return err
	}
	if err := l.committed(); err != nil {
		return err
	}
	if err := c.applyRules(ctx, log, l, a, l.completing(complete)); err != nil {
		return err
	}
	return l.committed()
}

// flow is the flow of the entity a names, its effects through l.
func (c *Converger) flow(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	f := c.flows
	switch {
	case a.Side == SideHighLevel && a.EntityKind == EntityContact && f.Contacts:
		return c.highLevelContact(ctx, log, l, a, complete)
	case a.Side == SideHighLevel && a.EntityKind == EntityTask && f.Tasks:
		return c.highLevelTask(ctx, log, l, a, complete)
	case a.Side == SideHighLevel && a.EntityKind == EntityNote && f.Notes:
		return c.highLevelNote(ctx, log, l, a, complete)
	case a.Side == SideHighLevel && a.EntityKind == EntityAppointment && f.Appointments:
		return c.highLevelAppointment(ctx, log, l, a, complete)
	case a.Side == SideM360 && a.EntityKind == EntityTask && f.M360Tasks:
		return c.m360Task(ctx, log, l, a, complete)
	default:
		log.DebugContext(ctx, "no flow for this entity; nothing to do")
		return c.done(ctx, l, complete)
	}
}

// done completes the job with nothing else written, through l (nil: in
// a transaction of its own).
func (c *Converger) done(ctx context.Context, l *ledger, complete func(context.Context, *state.Tx) error) error {
	if l == nil {
		return c.db.Tx(ctx, func(tx *state.Tx) error { return complete(ctx, tx) })
	}
	return l.close(ctx, complete)
}

// highLevelContact is flows 1 and 2: the Marketing 360 contact of a
// HighLevel contact, created or updated to its mapped fields, its
// follow-up task, and (once ever) its onboarding tasks and welcome note.
func (c *Converger) highLevelContact(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	hl, err := c.hl.Contact(ctx, a.ID)
	switch {
	case highlevelapi.IsNotFound(err):
		log.InfoContext(ctx, "HighLevel contact is gone; nothing to sync")
		return c.done(ctx, l, complete)
	case err != nil:
		return err
	}
	if hl.Deleted != nil && *hl.Deleted {
		log.InfoContext(ctx, "HighLevel contact is deleted; nothing to sync")
		return c.done(ctx, l, complete)
	}
	want := desiredContact(hl)
	hash, err := hashOf(want)
	if err != nil {
		return err
	}
	m, err := c.db.MappingByHighLevel(ctx, EntityContact, a.Tenant, hl.Id)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("engine: contact %s: %w", hl.Id, err)
	}
	contact, children := c.flows.contactPlans(hl.Id, contactName(hl))
	if c.flows.Campaigns {
		children = append(children, c.flows.campaignPlans(hl, m.ID == 0)...)
	}
	lane := contactLane(hl.Id)
	m360ID := m.M360ID
	if m360ID == "" {
		// A new contact: its children's intents are committed with its own
		// (see ledger.ahead).
		for _, p := range children {
			l.ahead = append(l.ahead, c.planned(a.Tenant, lane, p))
		}
	}
	if m360ID == "" || m.M360Hash != hash {
		run := effectRun{key: contact.key, call: c.createContactCall(want), plan: c.planned(a.Tenant, lane, contact)}
		if m360ID, err = c.upsertM360Contact(ctx, log, l, m.M360ID, run, want); err != nil {
			return err
		}
	}
	if m360ID == "" {
		return c.done(ctx, l, complete)
	}
	id, err := parseM360ID(m360ID)
	if err != nil {
		return err
	}
	runs := make([]effectRun, len(children))
	for i, p := range children {
		runs[i] = effectRun{key: p.key, call: c.effectCall(id, p), plan: c.planned(a.Tenant, lane, p)}
	}
	if _, err := c.runEffects(ctx, l, runs, m.M360ID != ""); err != nil {
		return err
	}
	next := state.Mapping{Kind: EntityContact, Tenant: a.Tenant, HLID: hl.Id, M360ID: m360ID, Origin: state.OriginHighLevel,
		HLHash: hash, M360Hash: hash, HLVersion: deref(hl.DateUpdated), M360Version: m.M360Version}
	if m.ID != 0 {
		next.Origin = m.Origin
	}
	return c.saveMapping(ctx, l, m, next, complete)
}

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
// (ConvergeChildren) and contacts' jobs with their children
// (ConvergeWithChildren) among them.
func (c *Converger) Worker() Worker {
	return Worker{Kind: KindConverge, Work: func(ctx context.Context, job *Job) error {
		var a ConvergeChildren
		if err := job.Decode(&a); err != nil {
			return err
		}
		var err error
		switch {
		case a.EntityKind == EntityChildren:
			err = c.ConvergeChildren(ctx, a, job.Complete)
		case a.WithChildren:
			err = c.ConvergeWithChildren(ctx, a.Converge, job.Complete)
		default:
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

// ErrMoreChildren is the cause of the snooze of a contact's job with its
// children that converged ChildrenPerJob of them and has more to
// converge: it runs again at once, and goes on from what it committed.
var ErrMoreChildren = errors.New("engine: more children to converge")

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
// not hold back those after it (see convergeEach).
func (c *Converger) ConvergeChildren(ctx context.Context, a ConvergeChildren, complete func(context.Context, *state.Tx) error) (err error) {
	if a.Side != SideHighLevel || a.EntityKind != EntityChildren || len(a.Children) == 0 {
		c.log.WarnContext(ctx, "a children job of no HighLevel children; nothing to do", logkey.API, a.Side, logkey.Kind, a.EntityKind,
			logkey.Entity, a.ID)
		return c.done(ctx, nil, complete)
	}
	children := make([]Converge, len(a.Children))
	for i, k := range a.Children {
		children[i] = Converge{Side: a.Side, EntityKind: k.Kind, Tenant: a.Tenant, ID: k.ID, Parent: a.ID}
	}
	l := c.ledger()
	l.kin = &kin{tenant: a.Tenant, contact: a.ID, unread: map[state.Record]bool{}}
	deferring := c.rules == nil && len(children) > 1
	if deferring {
		unlock, err := c.lockAll(ctx, children)
		if err != nil {
			return err
		}
		defer unlock()
		if err := c.readKin(ctx, l, children); err != nil {
			return err
		}
	}
	// What the children owe commits before their locks are let go.
	defer func() { err = errors.Join(err, l.settle(ctx), errors.Join(l.dropped...)) }()
	return c.convergeEach(ctx, l, children, deferring, complete)
}

// ConvergeWithChildren works the job of HighLevel contact a that a poll
// or a backfill enqueued: it converges the contact, as Converge does,
// then its tasks and notes, read from the contact's lists after the
// contact (a child's change moves the contact's dateUpdated, so a change
// made after the contact's read is a later version's), each as its own
// job would but from the list's content (the list is a current read of
// each child: no read of its own; but a child whose mapping was written
// since the lists were read, converged by its own job meanwhile, is read
// anew under its lock, see kinTask): a listed child whose mapping has its
// content's hash is left alone, and a mirrored child the lists no longer
// hold converges as gone (it is read first: the lists are a moment old). So the contact's counterpart exists before its children converge:
// they never wait for it. Without rules it defers, as ConvergeChildren
// does: it takes the contact's entity lock, then its children's, reads
// their mappings in one statement, commits every create's intent in one
// transaction (the contact's, its flows' records', its new children's)
// and the successes, the mappings and the job's completion in one more.
// With rules, the contact converges first, with its lock, then each child
// with its own (their mappings read in one statement before, without the
// locks, only to leave out those as last written). A child that fails does not hold back the others (see
// convergeEach). A job converges at most ChildrenPerJob children that need
// a write; with more, it snoozes (ErrMoreChildren) when those are
// committed, and its next run goes on from there. A job of another entity
// is Converge's.
func (c *Converger) ConvergeWithChildren(ctx context.Context, a Converge, complete func(context.Context, *state.Tx) error) (err error) {
	if a.Side != SideHighLevel || a.EntityKind != EntityContact || !c.flows.Tasks && !c.flows.Notes {
		return c.Converge(ctx, a, complete)
	}
	l := c.ledger()
	l.kin = &kin{tenant: a.Tenant, contact: a.ID, unread: map[state.Record]bool{}}
	// What the job owes commits before its locks are let go.
	unlockContact, unlock := func() {}, func() {}
	defer func() {
		err = errors.Join(err, l.settle(ctx), errors.Join(l.dropped...))
		unlock()
		unlockContact()
	}()
	deferring := c.rules == nil
	nothing := func(context.Context, *state.Tx) error { return nil }
	if deferring {
		if unlockContact, err = c.entities.lock(ctx, entityKey(a)); err != nil {
			unlockContact = func() {}
			return err
		}
		hl, err := c.hl.Contact(ctx, a.ID)
		switch {
		case highlevelapi.IsNotFound(err) || err == nil && hl.Deleted != nil && *hl.Deleted:
			return c.converge(ctx, a, complete, l)
		case err != nil:
			return err
		}
		l.kin.read = &hl
	} else {
		// The contact converges first, committed on its own.
		if err := c.convergeLocked(ctx, a, nothing, l); err != nil {
			return err
		}
	}
	kids, err := c.listChildren(ctx, l.kin)
	switch {
	case highlevelapi.IsNotFound(err):
		// Gone since its read: the contact's flow finds it so.
		if deferring {
			return c.converge(ctx, a, complete, l)
		}
		return c.done(ctx, l, complete)
	case err != nil:
		return err
	}
	if deferring {
		if unlock, err = c.lockAll(ctx, kids); err != nil {
			return err
		}
		if err := c.readKin(ctx, l, append([]Converge{a}, kids...)); err != nil {
			return err
		}
	} else if _, err := c.readMappings(ctx, l.kin, append([]Converge{a}, kids...)); err != nil {
		// Read without their locks, only to leave out the children as
		// last written (each child's flow reads its own under its lock),
		// so that each run goes on past those the last one converged.
		return err
	}
	// The mirrored children the lists no longer hold converge too, under
	// their locks and with their mappings read beside the others'.
	gone, err := c.goneChildren(ctx, l.kin)
	if err != nil {
		return err
	}
	kids = append(kids, gone...)
	if deferring && len(gone) > 0 {
		unlock()
		if unlock, err = c.lockAll(ctx, kids); err != nil {
			return err
		}
		clear(l.kin.unread)
		l.ahead = nil
		if err := c.readKin(ctx, l, append([]Converge{a}, kids...)); err != nil {
			return err
		}
	}
	kids = c.changedChildren(l.kin, kids)
	if len(kids) > ChildrenPerJob {
		if kids, err = c.inTurn(ctx, l.kin, kids); err != nil {
			return err
		}
	}
	last, more := complete, len(kids) > ChildrenPerJob
	if more {
		kids, last = kids[:ChildrenPerJob], nothing
	}
	// The creates planned ahead are those of the children that converge.
	run := map[string]bool{}
	for _, one := range kids {
		if p, ok := childPlan(one.EntityKind, one.ID); ok {
			run[p.key] = true
		}
	}
	l.ahead = slices.DeleteFunc(l.ahead, func(e *state.Effect) bool { return !run[e.Key] })
	family := kids
	if deferring {
		family = append([]Converge{a}, kids...)
	}
	if len(family) == 0 {
		if err := c.done(ctx, l, last); err != nil {
			return err
		}
	} else if err := c.convergeEach(ctx, l, family, deferring, last); err != nil {
		return err
	}
	if more {
		return &SnoozeError{Err: fmt.Errorf("engine: HighLevel contact %s: %w", a.ID, ErrMoreChildren)}
	}
	return nil
}

// lockAll takes the entity locks of jobs in the order of their keys (so
// that two jobs that lock some of the same cannot each hold what the
// other waits for), and returns the function that unlocks them all
// (nothing to unlock when it fails).
func (c *Converger) lockAll(ctx context.Context, jobs []Converge) (func(), error) {
	keys := make([]string, len(jobs))
	for i, one := range jobs {
		keys[i] = entityKey(one)
	}
	slices.Sort(keys)
	var unlocks []func()
	unlock := func() {
		for _, u := range slices.Backward(unlocks) {
			u()
		}
	}
	for _, key := range slices.Compact(keys) {
		u, err := c.entities.lock(ctx, key)
		if err != nil {
			unlock()
			return func() {}, err
		}
		unlocks = append(unlocks, u)
	}
	return unlock, nil
}

// readKin reads the mappings of jobs, a contact's children (and the
// contact), in one statement into l.kin, under their locks, and plans
// ahead the creates of the unmapped children, probably new: their intents
// are committed with the first effect's (see ledger.ahead).
func (c *Converger) readKin(ctx context.Context, l *ledger, jobs []Converge) error {
	k := l.kin
	records, err := c.readMappings(ctx, k, jobs)
	if err != nil {
		return err
	}
	mapped := k.mapped
	for _, r := range records {
		k.unread[r] = true
		if p, ok := childPlan(r.Kind, r.ID); ok && (r.Kind == EntityTask && c.flows.Tasks || r.Kind == EntityNote && c.flows.Notes) {
			if _, ok := mapped[r]; !ok {
				l.ahead = append(l.ahead, c.planned(k.tenant, contactLane(k.contact), p))
			}
		}
	}
	return nil
}

// readMappings reads the mappings of jobs, a contact's children (and the
// contact), in one statement into k.mapped, and returns their records.
func (c *Converger) readMappings(ctx context.Context, k *kin, jobs []Converge) ([]state.Record, error) {
	records := make([]state.Record, len(jobs))
	for i, one := range jobs {
		records[i] = state.Record{Kind: one.EntityKind, ID: one.ID}
	}
	mapped, err := c.db.MappingsByHighLevel(ctx, k.tenant, records)
	if err != nil {
		return nil, fmt.Errorf("engine: the mappings of HighLevel contact %s and its children: %w", k.contact, err)
	}
	k.mapped = mapped
	return records, nil
}

// listChildren lists the tasks and notes of k's contact into k (those of
// the kinds a flow mirrors) and returns their jobs, tasks first.
func (c *Converger) listChildren(ctx context.Context, k *kin) ([]Converge, error) {
	k.tasks, k.notes = map[string]highlevelapi.Task{}, map[string]highlevelapi.Note{}
	k.listedAt = c.now().Truncate(time.Millisecond)
	var out []Converge
	if c.flows.Tasks {
		tasks, err := c.hl.Tasks(ctx, k.contact)
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			k.tasks[t.Id] = t
			out = append(out, Converge{Side: SideHighLevel, EntityKind: EntityTask, Tenant: k.tenant, ID: t.Id, Parent: k.contact})
		}
	}
	if c.flows.Notes {
		notes, err := c.hl.Notes(ctx, k.contact)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			k.notes[n.Id] = n
			out = append(out, Converge{Side: SideHighLevel, EntityKind: EntityNote, Tenant: k.tenant, ID: n.Id, Parent: k.contact})
		}
	}
	return out, nil
}

// goneChildren are the jobs of the tasks and notes of k's contact whose
// counterparts the sync made (flows 6 and 4) and that its lists (k) no
// longer hold: deleted, their webhooks lost maybe. A contact without a
// counterpart has none (read when k has its mapping).
func (c *Converger) goneChildren(ctx context.Context, k *kin) ([]Converge, error) {
	if k.mapped != nil {
		if m := k.mapped[state.Record{Kind: EntityContact, ID: k.contact}]; m.M360ID == "" {
			return nil, nil
		}
	}
	var out []Converge
	for _, kind := range []struct {
		kind, key string
		on        bool
		listed    func(id string) bool
	}{{EntityTask, keyM360Task, c.flows.Tasks, func(id string) bool { _, ok := k.tasks[id]; return ok }},
		{EntityNote, keyM360Note, c.flows.Notes, func(id string) bool { _, ok := k.notes[id]; return ok }}} {
		if !kind.on {
			continue
		}
		ms, err := c.db.MappingsOfLane(ctx, kind.kind, k.tenant, contactLane(k.contact), kind.key, hashDeleted)
		if err != nil {
			return nil, fmt.Errorf("engine: the mapped %ss of contact %s: %w", kind.kind, k.contact, err)
		}
		for _, m := range ms {
			if !kind.listed(m.HLID) {
				out = append(out, Converge{Side: SideHighLevel, EntityKind: kind.kind, Tenant: k.tenant, ID: m.HLID, Parent: k.contact})
			}
		}
	}
	return out, nil
}

// changedChildren are those of kids that need their flow: all of them
// but the listed children mapped at their listed content (or whose
// counterpart was deleted) and the unmapped tasks flow 3 made, when k has
// their mappings.
func (c *Converger) changedChildren(k *kin, kids []Converge) []Converge {
	if k.mapped == nil {
		return kids
	}
	out := kids[:0:0]
	for _, one := range kids {
		r := state.Record{Kind: one.EntityKind, ID: one.ID}
		m, ok := k.mapped[r]
		if ok {
			if hash, listed, err := k.listedHash(one); err == nil && listed && (m.HLHash == hash || m.M360Hash == hashDeleted) {
				// As last written or seen: its flow would find nothing to do.
				delete(k.unread, r)
				continue
			}
		} else if t, listed := k.tasks[one.ID]; listed && one.EntityKind == EntityTask && markerInText.MatchString(deref(t.Body)) {
			// Flow 3's, not mapped yet: never mirrored back.
			delete(k.unread, r)
			continue
		}
		out = append(out, one)
	}
	return out
}

// inTurn are kids in the order a job that goes on from what it committed
// (ErrMoreChildren) takes them, so that each run gets past the children
// the last ones could not converge, which it would find again each time:
// without the unmapped ones whose create was given up on (refused as
// invalid: their flows write nothing), and those whose create last failed
// (to be tried again) after the others, each part in its order.
func (c *Converger) inTurn(ctx context.Context, k *kin, kids []Converge) ([]Converge, error) {
	var keys []string
	for _, one := range kids {
		if _, ok := k.mapped[state.Record{Kind: one.EntityKind, ID: one.ID}]; !ok {
			if p, ok := childPlan(one.EntityKind, one.ID); ok {
				keys = append(keys, p.key)
			}
		}
	}
	known, err := c.db.Effects(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("engine: the effects of the children of HighLevel contact %s: %w", k.contact, err)
	}
	var first, failed []Converge
	for _, one := range kids {
		p, _ := childPlan(one.EntityKind, one.ID)
		switch known[p.key].State {
		case state.EffectDead:
			// Left out.
		case state.EffectFailed:
			failed = append(failed, one)
		default:
			first = append(first, one)
		}
	}
	return append(first, failed...), nil
}

// listedHash is the hash of the content of child one as k's lists hold
// it, as its flow hashes it; false when they do not hold it.
func (k *kin) listedHash(one Converge) (string, bool, error) {
	if t, ok := k.tasks[one.ID]; ok && one.EntityKind == EntityTask {
		h, err := hashOf(hlTaskContent(t))
		return h, true, err
	}
	if n, ok := k.notes[one.ID]; ok && one.EntityKind == EntityNote {
		h, err := hashOf(n.Body)
		return h, true, err
	}
	return "", false, nil
}

// convergeEach converges each of jobs in turn (a children job's children,
// or a contact and its children) through l, and calls complete with the
// last when every one converged. When locked, the caller holds every
// job's entity lock, and each job's last transaction but the last's is
// deferred to the next (see ledger.deferring); otherwise each job's lock
// is taken while it converges. A job
// that fails does not hold back those after it (the job's retry would stop
// at it again, and its last attempt would drop them): convergeEach fails
// with its error once the others converged, and the retry finds those
// converged already; so does a job whose last transaction, left to the
// next one, fails there (it is dropped from it: see ledger.commit); what
// they made is committed when the job ends (settle). A failure every one
// would share stops it at once: the contact has no counterpart yet, the
// job's context ended, its tenant is out of quota (a snooze), a Hook
// crashed it.
func (c *Converger) convergeEach(ctx context.Context, l *ledger, jobs []Converge, locked bool, complete func(context.Context, *state.Tx) error) error {
	var failed error
	for i, one := range jobs {
		last := complete
		if i < len(jobs)-1 || failed != nil {
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
		l.deferring = locked && i < len(jobs)-1
		l.child = fmt.Sprintf("%s %s, %d of %d of HighLevel contact %s", one.EntityKind, one.ID, i+1, len(jobs), l.kin.contact)
		var err error
		if locked {
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
		c.log.WarnContext(ctx, "a child of a children job failed; converging the others", logkey.Tenant, l.kin.tenant, logkey.Parent, l.kin.contact,
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

// kin is what the children of one children job (or of a contact's job
// with its children) share: their contact and its Marketing 360
// counterpart, read once for them all (0 until read), and, when the job
// defers, their mappings, read in one statement (under their entity
// locks) before the first child: mapped has those that exist, unread the
// children whose flow has not read theirs yet.
type kin struct {
	tenant, contact string
	m360            int64
	mapped          map[state.Record]state.Mapping
	unread          map[state.Record]bool
	// read is the contact as its job read it, for its flow (nil: the flow
	// reads it); tasks and notes are its lists, by id, when its job read
	// them: its children's flows take their content from them.
	read  *highlevelapi.Contact
	tasks map[string]highlevelapi.Task
	notes map[string]highlevelapi.Note
	// listedAt is when the lists were read (to the millisecond, as
	// mappings store their update times): a child whose mapping was
	// written since is read anew (see kinTask).
	listedAt time.Time
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
	hl, err := c.kinRead(ctx, l, a.ID)
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
	m, err := c.kinMapping(ctx, l, EntityContact, a.Tenant, hl.Id)
	if err != nil {
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
	if k := l.kin; k != nil && k.tenant == a.Tenant && k.contact == hl.Id {
		// Its children's flows, in this job, need it before its mapping
		// commits.
		k.m360 = id
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

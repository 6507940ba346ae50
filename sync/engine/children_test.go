package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/state"
)

// family is a synced HighLevel contact with two tasks and two notes made
// there, and its children job.
type family struct {
	contact string
	job     engine.ConvergeChildren
	// keys are the effect keys of the children's creates, in the job's
	// order.
	keys []string
}

// newFamily makes contact Ada number n, synced, and its children.
func (h *harness) newFamily(t *testing.T, n int) family {
	t.Helper()
	id, _ := h.synced(t, n)
	f := family{contact: id, job: engine.ConvergeChildren{Converge: engine.Converge{Side: engine.SideHighLevel,
		EntityKind: engine.EntityChildren, Tenant: h.tw.Location(), ID: id}}}
	for _, k := range []struct{ kind, text string }{{engine.EntityTask, "Call"}, {engine.EntityNote, "Likes tea"},
		{engine.EntityTask, "Write"}, {engine.EntityNote, "Likes coffee"}} {
		if k.kind == engine.EntityTask {
			child := h.createHLTask(t, id, k.text)
			f.job.Children = append(f.job.Children, engine.Child{Kind: k.kind, ID: child})
			f.keys = append(f.keys, "f6:m360-task:"+child)
			continue
		}
		child := h.createHLNote(t, id, k.text)
		f.job.Children = append(f.job.Children, engine.Child{Kind: k.kind, ID: child})
		f.keys = append(f.keys, "f4:m360-note:"+child)
	}
	return f
}

// wantChildren fails the test unless Marketing 360 holds each of f's tasks
// and notes once, beside the flows' records.
func (h *harness) wantChildren(t *testing.T, f family) {
	t.Helper()
	tl := h.timeline(t, f.contact)
	tasks := slices.DeleteFunc(slices.Clone(tl.M360Tasks), func(s string) bool { return s != "Call" && s != "Write" })
	slices.Sort(tasks)
	if want := []string{"Call", "Write"}; !slices.Equal(tasks, want) {
		t.Errorf("Marketing 360 tasks of the children %q, want %q", tasks, want)
	}
	notes := slices.Sorted(slices.Values(tl.M360Notes))
	if want := []string{"Likes coffee", "Likes tea", "Welcome, Ada Lovelace!"}; !slices.Equal(notes, want) {
		t.Errorf("Marketing 360 notes %q, want %q", notes, want)
	}
}

// TestConverger_ChildrenJobCrashedAtEachChildLosesAndDuplicatesNothing: a
// contact's children job (two tasks, two notes) is stopped abruptly at
// each step of each child's create (the intent committed, the call made
// but not recorded, the success recorded: the job killed after that
// child) and restarted on the same database file, as a new process
// would: afterwards each task and note exists once in Marketing 360, the
// job completed once, and working it again writes nothing.
func TestConverger_ChildrenJobCrashedAtEachChildLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	for _, step := range []engine.Step{engine.StepBeforeCall, engine.StepAfterCall, engine.StepAfterCommit} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for i := range 4 {
				f := h.newFamily(t, i)
				work := func(c *engine.Converger, complete func(context.Context, *state.Tx) error) error {
					return c.ConvergeChildren(context.Background(), f.job, complete)
				}
				h.crashAndRestartJob(t, step, f.keys[i], work)
				before := h.counts(t, []string{"m360-create-task", "m360-create-note"})
				done := 0
				if err := work(h.converger(t, nil, nil, 0), func(context.Context, *state.Tx) error { done++; return nil }); err != nil || done != 1 {
					t.Fatalf("child %d: work again: %v, done %d", i, err, done)
				}
				if after := h.counts(t, []string{"m360-create-task", "m360-create-note"}); !maps.Equal(after, before) {
					t.Errorf("child %d: working the job again created %v (before %v)", i, after, before)
				}
				h.wantChildren(t, f)
			}
		})
	}
}

// TestConverger_AChildsOwnJobAndItsChildrenJobCreateItOnce: a task's own
// job (its webhook's) and its contact's children job (the backfill's or
// the reconcile's) run at once: the children job converges the contact's
// other children, waits for the task's own job (the task's entity lock)
// instead of reading the task beside it, then finds it mirrored; the task
// and each note exist once in Marketing 360.
func TestConverger_AChildsOwnJobAndItsChildrenJobCreateItOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	call := f.job.Children[0].ID
	// The task last, so that the children job reaches it while its own
	// job holds it.
	f.job.Children = append(f.job.Children[1:], f.job.Children[0])
	hl := &blockingTasks{HighLevel: engine.HighLevelClient(h.hl), id: call, entered: make(chan struct{}), release: make(chan struct{}),
		beside: make(chan struct{}, 2)}
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
		Location: h.tw.Location(), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	waits := make(chan struct{}, 2)
	c.SetEntityWait(func() { waits <- struct{}{} })
	errs := make(chan error, 2)
	nothing := func(context.Context, *state.Tx) error { return nil }
	go func() {
		errs <- c.Converge(context.Background(), engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask,
			Tenant: h.tw.Location(), ID: call, Parent: f.contact}, nothing)
	}()
	<-hl.entered
	go func() { errs <- c.ConvergeChildren(context.Background(), f.job, nothing) }()
	hl.secondWaited(t, waits, errs, "the children job")
	if n := h.counts(t, []string{"m360-create-task"})["m360-create-task"]; n != 3+2 {
		t.Errorf("%d Marketing 360 tasks created; want 5 (the flows' 3, Call and Write once each)", n)
	}
	h.wantChildren(t, f)
}

// TestConverger_ChildrenJobCommitsTwice: a children job of four new tasks
// and notes commits twice: the plans and intents of the four creates with
// the first child's, then their successes and mappings with the job's
// completion.
func TestConverger_ChildrenJobCommitsTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	done, before := 0, h.db.Commits()
	if err := h.converger(t, nil, nil, 0).ConvergeChildren(context.Background(), f.job,
		func(context.Context, *state.Tx) error { done++; return nil }); err != nil || done != 1 {
		t.Fatalf("converge the children: %v, done %d", err, done)
	}
	if n := h.db.Commits() - before; n != 2 {
		t.Errorf("%d transactions for %d new children, want 2", n, len(f.job.Children))
	}
	h.wantChildren(t, f)
}

// errNoteDown is the failure of failingNote's reads.
var errNoteDown = errors.New("the note cannot be read")

// failingNote is a HighLevel client whose reads of note id fail while
// down is set.
type failingNote struct {
	engine.HighLevel
	id   string
	down atomic.Bool
}

func (f *failingNote) Note(ctx context.Context, contactID, id string) (highlevelapi.Note, error) {
	if id == f.id && f.down.Load() {
		return highlevelapi.Note{}, errNoteDown
	}
	return f.HighLevel.Note(ctx, contactID, id)
}

// TestConverger_AChildThatFailsHoldsBackNoOtherChild: the second of a
// children job's four children fails: the job fails with its error,
// uncompleted, but the third and fourth are mirrored all the same (a job
// that stopped at the failure would leave them to its retries, and drop
// them with its last attempt); once the note can be read, the retry
// mirrors it, creates nothing else and completes the job.
func TestConverger_AChildThatFailsHoldsBackNoOtherChild(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	hl := &failingNote{HighLevel: engine.HighLevelClient(h.hl), id: f.job.Children[1].ID}
	hl.down.Store(true)
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
		Location: h.tw.Location(), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	if err := c.ConvergeChildren(context.Background(), f.job, complete); !errors.Is(err, errNoteDown) || done != 0 {
		t.Fatalf("converge the children with a note down: %v, done %d; want the note's failure, not done", err, done)
	}
	tl := h.timeline(t, f.contact)
	if !slices.Contains(tl.M360Tasks, "Write") || !slices.Contains(tl.M360Notes, "Likes coffee") {
		t.Errorf("after the second child failed: Marketing 360 tasks %q, notes %q; want the third and fourth child's (Write, Likes coffee)",
			tl.M360Tasks, tl.M360Notes)
	}
	if slices.Contains(tl.M360Notes, "Likes tea") {
		t.Errorf("the note that cannot be read was mirrored: %q", tl.M360Notes)
	}
	hl.down.Store(false)
	before := h.counts(t, []string{"m360-create-task", "m360-create-note"})
	if err := c.ConvergeChildren(context.Background(), f.job, complete); err != nil || done != 1 {
		t.Fatalf("the retry: %v, done %d", err, done)
	}
	if after := h.counts(t, []string{"m360-create-task", "m360-create-note"}); after["m360-create-task"] != before["m360-create-task"] ||
		after["m360-create-note"] != before["m360-create-note"]+1 {
		t.Errorf("the retry created %v (before %v); want the one note", after, before)
	}
	h.wantChildren(t, f)
}

// TestConverger_AChildMadeIsRecordedWhenTheChildrenJobsContextEnds: the
// children job's context ends just after its second child's create: that
// success, owed to be committed with the child's mapping, is committed all
// the same (on a context of its own), and the job stops there: the
// creates of the children after it, started with the first's and never
// sent, are given back (as if never planned).
func TestConverger_AChildMadeIsRecordedWhenTheChildrenJobsContextEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := h.converger(t, nil, func(step engine.Step, k string) error {
		if step == engine.StepAfterCall && k == f.keys[1] {
			cancel()
		}
		return nil
	}, 0)
	if err := c.ConvergeChildren(ctx, f.job, func(context.Context, *state.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("converge the children: %v; want the context's end", err)
	}
	for i, key := range f.keys {
		e, err := h.db.Effect(context.Background(), key)
		switch {
		case i < 2 && (err != nil || e.State != state.EffectDone || e.RemoteID == ""):
			t.Errorf("effect %s: %+v, %v; want done with its record", key, e, err)
		case i >= 2 && !errors.Is(err, state.ErrNotFound):
			t.Errorf("effect %s after the context ended: %+v, %v; want none", key, e, err)
		}
	}
}

// TestConverger_ChildrenJobCrashedAtItsCommitsLosesAndDuplicatesNothing:
// a children job commits the intents of its four creates together, makes
// the four calls, and commits their successes and mappings with its
// completion. Stopped abruptly just after the first commit (no call
// made), the database holds the four inflight, unmapped; just after the
// last, the four done and mapped, the job complete. After a restart each
// task and note exists once in Marketing 360, and working the job again
// creates nothing.
func TestConverger_ChildrenJobCrashedAtItsCommitsLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	ops := []string{"m360-create-task", "m360-create-note"}
	for n, at := range []struct {
		step engine.Step
		key  int // the child whose effect's step it is
		want string
	}{{engine.StepBeforeCall, 0, state.EffectInflight}, {engine.StepAfterCommit, 3, state.EffectDone}} {
		f := h.newFamily(t, n)
		hook := func(s engine.Step, key string) error {
			if s == at.step && key == f.keys[at.key] {
				return engine.ErrCrash
			}
			return nil
		}
		done := 0
		complete := func(context.Context, *state.Tx) error { done++; return nil }
		before := h.counts(t, ops)
		if err := h.converger(t, nil, hook, 0).ConvergeChildren(ctx, f.job, complete); !errors.Is(err, engine.ErrCrash) {
			t.Fatalf("%s: %v, want the crash", at.step, err)
		}
		calls := 0
		if at.want == state.EffectDone {
			calls = len(f.keys)
		}
		if after := h.counts(t, ops); after["m360-create-task"]+after["m360-create-note"]-before["m360-create-task"]-before["m360-create-note"] != calls {
			t.Errorf("%s: created %v (before %v), want %d", at.step, after, before, calls)
		}
		for i, child := range f.job.Children {
			e, err := h.db.Effect(ctx, f.keys[i])
			if err != nil || e.State != at.want {
				t.Errorf("%s: child %d after the crash: effect %+v, %v; want %s", at.step, i, e, err, at.want)
			}
			m, merr := h.db.MappingByHighLevel(ctx, child.Kind, h.tw.Location(), child.ID)
			switch {
			case at.want == state.EffectInflight && !errors.Is(merr, state.ErrNotFound):
				t.Errorf("%s: child %d after the crash: mapping %+v (%v); want none", at.step, i, m, merr)
			case at.want == state.EffectDone && (merr != nil || m.M360ID != e.RemoteID):
				t.Errorf("%s: child %d after the crash: mapping %+v (%v); want mapped to %s", at.step, i, m, merr, e.RemoteID)
			}
		}
		if want := map[string]int{state.EffectInflight: 0, state.EffectDone: 1}[at.want]; done != want {
			t.Errorf("%s: the job completed %d times before the restart, want %d", at.step, done, want)
		}
		restarted := h.converger(t, nil, nil, engine.DefaultStaleAfter+time.Second)
		if err := restarted.ConvergeChildren(ctx, f.job, complete); err != nil {
			t.Fatalf("%s: after the restart: %v", at.step, err)
		}
		h.wantChildren(t, f)
		again := h.counts(t, ops)
		if err := restarted.ConvergeChildren(ctx, f.job, complete); err != nil {
			t.Fatalf("%s: work again: %v", at.step, err)
		}
		if after := h.counts(t, ops); !maps.Equal(after, again) {
			t.Errorf("%s: working the job again created %v (before %v)", at.step, after, again)
		}
	}
}

// TestConverger_AChildsJobWaitsForItsChildrenJobsCommit: a children job
// holds its children's entity locks to its end, so a child's own job
// (its webhook's) that comes while the children job works the next child,
// its mapping not committed yet, waits for it instead of reading it
// unmapped; it then finds the child mirrored, and each task and note
// exists once.
func TestConverger_AChildsJobWaitsForItsChildrenJobsCommit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	// The third child, a task, is read last of the first three: the
	// children job stops there, the second (a note) converged.
	hl := &blockingTasks{HighLevel: engine.HighLevelClient(h.hl), id: f.job.Children[2].ID, entered: make(chan struct{}),
		release: make(chan struct{}), beside: make(chan struct{}, 2)}
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
		Location: h.tw.Location(), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	waits := make(chan struct{}, 2)
	errs := make(chan error, 2)
	nothing := func(context.Context, *state.Tx) error { return nil }
	go func() { errs <- c.ConvergeChildren(context.Background(), f.job, nothing) }()
	<-hl.entered
	c.SetEntityWait(func() { waits <- struct{}{} })
	note := f.job.Children[1]
	go func() {
		errs <- c.Converge(context.Background(), engine.Converge{Side: engine.SideHighLevel, EntityKind: note.Kind,
			Tenant: h.tw.Location(), ID: note.ID, Parent: f.contact}, nothing)
	}()
	hl.secondWaited(t, waits, errs, "the note's own job")
	if n := h.counts(t, []string{"m360-create-note"})["m360-create-note"]; n != 1+2 {
		t.Errorf("%d Marketing 360 notes created; want 3 (the welcome note, Likes tea and Likes coffee once each)", n)
	}
	h.wantChildren(t, f)
}

// TestConverger_AChildWhoseLastTransactionFailsHoldsBackNoOtherChild: the
// second of a children job's four children has its last transaction (its
// mapping, left to the next child's transaction) refused by the database:
// that transaction is dropped, not run again with each later one, so the
// third and fourth child and the second's own success (its create was
// made) commit all the same, and the job fails with the second child's
// failure, uncompleted. Its retry maps the second child to the record
// made, creates nothing, and completes the job once.
func TestConverger_AChildWhoseLastTransactionFailsHoldsBackNoOtherChild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	f := h.newFamily(t, 0)
	bad := f.job.Children[1]
	if _, err := h.db.SQL().ExecContext(ctx, `CREATE TRIGGER refuse_child BEFORE INSERT ON mappings WHEN NEW.hl_id = '`+bad.ID+`'
		BEGIN SELECT RAISE(ABORT, 'the mapping is refused'); END`); err != nil {
		t.Fatal(err)
	}
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	c := h.converger(t, nil, nil, 0)
	err := c.ConvergeChildren(ctx, f.job, complete)
	if err == nil || !strings.Contains(err.Error(), bad.ID) || done != 0 {
		t.Fatalf("converge the children, the second's mapping refused: %v, done %d; want the second child's failure, not done", err, done)
	}
	for i, child := range f.job.Children {
		e, err := h.db.Effect(ctx, f.keys[i])
		if err != nil || e.State != state.EffectDone || e.RemoteID == "" {
			t.Errorf("child %d: effect %+v, %v; want done with its record", i, e, err)
			continue
		}
		m, err := h.db.MappingByHighLevel(ctx, child.Kind, h.tw.Location(), child.ID)
		switch {
		case i == 1 && !errors.Is(err, state.ErrNotFound):
			t.Errorf("child %d, its mapping refused: mapping %+v, %v; want none", i, m, err)
		case i != 1 && (err != nil || m.M360ID != e.RemoteID):
			t.Errorf("child %d: mapping %+v, %v; want mapped to %s", i, m, err, e.RemoteID)
		}
	}
	if _, err := h.db.SQL().ExecContext(ctx, `DROP TRIGGER refuse_child`); err != nil {
		t.Fatal(err)
	}
	ops := []string{"m360-create-task", "m360-create-note"}
	before := h.counts(t, ops)
	if err := c.ConvergeChildren(ctx, f.job, complete); err != nil || done != 1 {
		t.Fatalf("the retry: %v, done %d", err, done)
	}
	if after := h.counts(t, ops); !maps.Equal(after, before) {
		t.Errorf("the retry created %v (before %v); want nothing", after, before)
	}
	if m, err := h.db.MappingByHighLevel(ctx, bad.Kind, h.tw.Location(), bad.ID); err != nil || m.M360ID == "" {
		t.Errorf("the second child after the retry: mapping %+v, %v; want mapped", m, err)
	}
	h.wantChildren(t, f)
}

// TestConverger_AChildrenJobWithRulesHoldsOneChildsLockAtATime: with
// rules a children job defers nothing (each child commits on its own), so
// it holds the lock of the child it converges only: a converged child's
// own job, which comes while the children job works a later one, runs at
// once instead of waiting for the whole job; each task and note exists
// once.
func TestConverger_AChildrenJobWithRulesHoldsOneChildsLockAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h, _ := newRuleHarness(t)
	f := h.newFamily(t, 0)
	c, hl := h.blocking(t, f.job.Children[2].ID)
	nothing := func(context.Context, *state.Tx) error { return nil }
	children := make(chan error, 1)
	go func() { children <- c.ConvergeChildren(ctx, f.job, nothing) }()
	<-hl.entered
	waits := make(chan struct{}, 2)
	c.SetEntityWait(func() { waits <- struct{}{} })
	note := f.job.Children[1]
	own := make(chan error, 1)
	go func() {
		own <- c.Converge(ctx, engine.Converge{Side: engine.SideHighLevel, EntityKind: note.Kind, Tenant: h.tw.Location(),
			ID: note.ID, Parent: f.contact}, nothing)
	}()
	select {
	case err := <-own:
		if err != nil {
			t.Errorf("the note's own job: %v", err)
		}
	case <-waits:
		t.Errorf("the note's own job waited for the children job, which had converged the note")
		close(hl.release)
		<-own
		<-children
		return
	case <-time.After(wait):
		t.Fatal("the note's own job neither ran nor waited")
	}
	close(hl.release)
	if err := <-children; err != nil {
		t.Fatal(err)
	}
	h.wantChildren(t, f)
}

// TestConverger_AChildrenJobDoesNotUndoAMappingChangedSinceItsRead: a
// children job reads its children's mappings before the first child,
// under the children's locks; a Marketing 360 job (flow 3's, another
// entity's lock) that rewrites one of them in between (the Marketing 360
// task edited: its HighLevel copy rewritten, both hashes stored) is not
// undone by the children job's save of what it read (a lost update: the
// Marketing 360 hash of the old content stored again). The mapping is
// rewritten only as it was read; a child that finds it changed fails and
// is converged again by the job's retry, which reads it anew.
func TestConverger_AChildrenJobDoesNotUndoAMappingChangedSinceItsRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	id, m360 := h.synced(t, 0)
	loc := h.tw.Location()
	quote := h.createM360Task(t, m360, "Quote")
	flow3 := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(quote, 10),
		Parent: strconv.FormatInt(m360, 10)}
	work(t, h.converger(t, nil, nil, 0), flow3)
	copied := h.hlTaskID(t, id, "Quote")
	call := h.createHLTask(t, id, "Call")
	job := engine.ConvergeChildren{Converge: engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityChildren, Tenant: loc, ID: id},
		Children: []engine.Child{{Kind: engine.EntityTask, ID: call}, {Kind: engine.EntityTask, ID: copied}}}
	// The children job stops at its first child, the mappings read.
	c, hl := h.blocking(t, call)
	nothing := func(context.Context, *state.Tx) error { return nil }
	children := make(chan error, 1)
	go func() { children <- c.ConvergeChildren(ctx, job, nothing) }()
	<-hl.entered
	h.updateM360Task(t, m360, quote, "Quote, revised")
	work(t, c, flow3)
	want, err := h.db.MappingByHighLevel(ctx, engine.EntityTask, loc, copied)
	if err != nil {
		t.Fatal(err)
	}
	close(hl.release)
	if err := <-children; err != nil {
		// The copy's mapping changed since it was read: tried again.
		if err := c.ConvergeChildren(ctx, job, nothing); err != nil {
			t.Fatalf("the children job's retry: %v", err)
		}
	}
	got, err := h.db.MappingByHighLevel(ctx, engine.EntityTask, loc, copied)
	if err != nil || got.M360Hash != want.M360Hash || got.HLHash != want.HLHash {
		t.Errorf("the copy's mapping after the children job: %+v, %v; want the hashes flow 3 stored: %+v", got, err, want)
	}
}

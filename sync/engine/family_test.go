package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
)

// newContact is HighLevel contact Ada number n, not synced, with tasks
// Call and Write and notes Likes tea and Likes coffee, and its job as a
// poll enqueues it (with its children); keys are the effect keys of the
// contact's create and of its children's, in their lists' order.
type newContact struct {
	id   string
	job  engine.Converge
	keys []string
}

func (h *harness) newContact(t *testing.T, n int) newContact {
	t.Helper()
	id := h.createContact(t, n)
	c := newContact{id: id, keys: []string{"f1:m360-contact:" + id},
		job: engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id, WithChildren: true}}
	for _, title := range []string{"Call", "Write"} {
		c.keys = append(c.keys, "f6:m360-task:"+h.createHLTask(t, id, title))
	}
	for _, body := range []string{"Likes tea", "Likes coffee"} {
		c.keys = append(c.keys, "f4:m360-note:"+h.createHLNote(t, id, body))
	}
	return c
}

// m360Creates are the twin's Marketing 360 creates of contacts, tasks and
// notes.
var m360Creates = []string{"m360-create-contact", "m360-create-task", "m360-create-note"}

// wantMirrored fails t unless Marketing 360 holds c's counterpart once,
// with the flows' three tasks and welcome note and c's two tasks and two
// notes, each once.
func (h *harness) wantMirrored(t *testing.T, c newContact) {
	t.Helper()
	got := h.tw.Counterpart(c.id)
	tasks, notes := slices.Sorted(slices.Values(got.Tasks)), slices.Sorted(slices.Values(got.Notes))
	wantTasks := []string{"Book the onboarding call with Ada Lovelace", "Call", "Follow up: Ada Lovelace", "Send the welcome pack to Ada Lovelace", "Write"}
	wantNotes := []string{"Likes coffee", "Likes tea", "Welcome, Ada Lovelace!"}
	if got.Contacts != 1 || !slices.Equal(tasks, wantTasks) || !slices.Equal(notes, wantNotes) {
		t.Errorf("Marketing 360 holds %d contacts, tasks %q, notes %q; want 1, %q, %q", got.Contacts, tasks, notes, wantTasks, wantNotes)
	}
}

// TestConverger_AContactsJobWithItsChildrenCommitsTwice: a new contact's
// job with its two tasks and two notes commits twice (every create's
// intent, the contact's, its flows' records' and its children's; then
// their successes, the mappings and the completion), reads the contact
// and its two lists and no child on its own (the lists hold their
// content), and mirrors each child once. Worked again, it writes nothing
// but its completion, in one transaction, and reads no child either.
func TestConverger_AContactsJobWithItsChildrenCommitsTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newContact(t, 0)
	conv := h.converger(t, nil, nil, 0)
	reads := []string{"get-contact", "get-all-tasks", "get-all-notes", "get-task", "get-note"}
	for i, want := range []struct {
		commits uint64
		reads   map[string]int
	}{
		{2, map[string]int{"get-contact": 1, "get-all-tasks": 1, "get-all-notes": 1, "get-task": 0, "get-note": 0}},
		{1, map[string]int{"get-contact": 1, "get-all-tasks": 1, "get-all-notes": 1, "get-task": 0, "get-note": 0}},
	} {
		done, commits, before, made := 0, h.db.Commits(), h.counts(t, reads), h.counts(t, m360Creates)
		if err := conv.ConvergeWithChildren(context.Background(), c.job, func(context.Context, *state.Tx) error { done++; return nil }); err != nil || done != 1 {
			t.Fatalf("run %d: %v, done %d", i+1, err, done)
		}
		if n := h.db.Commits() - commits; n != want.commits {
			t.Errorf("run %d: %d transactions, want %d", i+1, n, want.commits)
		}
		after := h.counts(t, reads)
		for op, n := range want.reads {
			if after[op]-before[op] != n {
				t.Errorf("run %d: %d %s, want %d", i+1, after[op]-before[op], op, n)
			}
		}
		if i > 0 {
			if after := h.counts(t, m360Creates); !maps.Equal(after, made) {
				t.Errorf("run %d created %v (before %v)", i+1, after, made)
			}
		}
		h.wantMirrored(t, c)
	}
}

// TestConverger_AContactsJobCrashedAtEachStepLosesAndDuplicatesNothing: a
// new contact's job with its children is stopped abruptly at each step
// (the intents committed, a call made but not recorded, the successes
// recorded) of the contact's create, its first child's and its last
// child's, and restarted on the same database file, as a new process
// would: a crash after the contact's call and before its children's is
// among them. Afterwards the contact, its flows' records and each child
// exist once in Marketing 360, the job completed once, and working it
// again creates nothing.
func TestConverger_AContactsJobCrashedAtEachStepLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	for _, step := range []engine.Step{engine.StepBeforeCall, engine.StepAfterCall, engine.StepAfterCommit} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for n, at := range []int{0, 1, 4} {
				c := h.newContact(t, n)
				work := func(conv *engine.Converger, complete func(context.Context, *state.Tx) error) error {
					return conv.ConvergeWithChildren(context.Background(), c.job, complete)
				}
				h.crashAndRestartJob(t, step, c.keys[at], work)
				before := h.counts(t, m360Creates)
				done := 0
				if err := work(h.converger(t, nil, nil, 0), func(context.Context, *state.Tx) error { done++; return nil }); err != nil || done != 1 {
					t.Fatalf("effect %s: work again: %v, done %d", c.keys[at], err, done)
				}
				if after := h.counts(t, m360Creates); !maps.Equal(after, before) {
					t.Errorf("effect %s: working the job again created %v (before %v)", c.keys[at], after, before)
				}
				h.wantMirrored(t, c)
			}
		})
	}
}

// errRefused is the failure of failingCreates' creates.
var errRefused = errors.New("the record cannot be created")

// failingCreates is a Marketing 360 client whose creates of tasks and
// notes fail with refuse's error for their title or body (nil: made).
type failingCreates struct {
	engine.M360
	refuse func(text string) error
}

func (f *failingCreates) CreateTask(ctx context.Context, contactID int64, in m360api.TaskCreate) (m360api.Task, error) {
	if err := f.refuse(in.Title); err != nil {
		return m360api.Task{}, err
	}
	return f.M360.CreateTask(ctx, contactID, in)
}

func (f *failingCreates) CreateNote(ctx context.Context, contactID int64, in m360api.NoteCreate) (m360api.Note, error) {
	if err := f.refuse(in.Body); err != nil {
		return m360api.Note{}, err
	}
	return f.M360.CreateNote(ctx, contactID, in)
}

// convergerOn is a converger on the harness's database, HighLevel client,
// flows and clock, with m360 for Marketing 360.
func (h *harness) convergerOn(t *testing.T, m360 engine.M360) *engine.Converger {
	t.Helper()
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: engine.HighLevelClient(h.hl), M360: m360,
		Location: h.tw.Location(), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConverger_AChildThatFailsHoldsBackNeitherItsContactNorTheOtherChildren:
// a contact's job whose first child (task Call, listed first) fails to be
// created fails with its error, uncompleted, but the contact, its flows'
// records and the other children are mirrored all the same; once the task
// can be made, the retry mirrors it, creates nothing else and completes.
func TestConverger_AChildThatFailsHoldsBackNeitherItsContactNorTheOtherChildren(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newContact(t, 0)
	var down atomic.Bool
	down.Store(true)
	conv := h.convergerOn(t, &failingCreates{M360: engine.M360Client(h.m360), refuse: func(text string) error {
		if text == "Call" && down.Load() {
			return errRefused
		}
		return nil
	}})
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	if err := conv.ConvergeWithChildren(context.Background(), c.job, complete); !errors.Is(err, errRefused) || done != 0 {
		t.Fatalf("with the task refused: %v, done %d; want the task's failure, not done", err, done)
	}
	got := h.tw.Counterpart(c.id)
	if got.Contacts != 1 || slices.Contains(got.Tasks, "Call") || !slices.Contains(got.Tasks, "Write") ||
		!slices.Contains(got.Notes, "Likes coffee") || !slices.Contains(got.Notes, "Likes tea") {
		t.Errorf("after the task failed: %+v; want the contact, Write, Likes tea and Likes coffee, not Call", got)
	}
	down.Store(false)
	before := h.counts(t, m360Creates)
	if err := conv.ConvergeWithChildren(context.Background(), c.job, complete); err != nil || done != 1 {
		t.Fatalf("the retry: %v, done %d", err, done)
	}
	after := h.counts(t, m360Creates)
	if want := map[string]int{"m360-create-contact": before["m360-create-contact"], "m360-create-task": before["m360-create-task"] + 1,
		"m360-create-note": before["m360-create-note"]}; !maps.Equal(after, want) {
		t.Errorf("the retry created %v (before %v); want the one task", after, before)
	}
	h.wantMirrored(t, c)
}

// blockingLists is a HighLevel client whose first list of tasks waits
// for release (after closing entered).
type blockingLists struct {
	engine.HighLevel
	entered, release chan struct{}
	first            atomic.Bool
}

func (b *blockingLists) Tasks(ctx context.Context, contactID string) ([]highlevelapi.Task, error) {
	if b.first.CompareAndSwap(false, true) {
		close(b.entered)
		<-b.release
	}
	return b.HighLevel.Tasks(ctx, contactID)
}

// TestConverger_TwoJobsOfAContactWithItsChildrenCreateEachOnce: the same
// contact's job enqueued twice, the second while the first runs (a queue
// keeps a job unique only while it waits), then a webhook's job of one
// of its tasks: the second waits for the first (the contact's entity
// lock) and finds everything mirrored, as the task's job does; each record
// exists once.
func TestConverger_TwoJobsOfAContactWithItsChildrenCreateEachOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.newContact(t, 0)
	hl := &blockingLists{HighLevel: engine.HighLevelClient(h.hl), entered: make(chan struct{}), release: make(chan struct{})}
	conv, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
		Location: h.tw.Location(), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	waits := make(chan struct{}, 4)
	conv.SetEntityWait(func() {
		select {
		case waits <- struct{}{}:
		default:
		}
	})
	var done atomic.Int32
	complete := func(context.Context, *state.Tx) error { done.Add(1); return nil }
	errs := make(chan error, 2)
	go func() { errs <- conv.ConvergeWithChildren(context.Background(), c.job, complete) }()
	<-hl.entered
	go func() { errs <- conv.ConvergeWithChildren(context.Background(), c.job, complete) }()
	<-waits
	close(hl.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := done.Load(); n != 2 {
		t.Errorf("%d jobs completed, want 2", n)
	}
	task := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: h.tw.Location(),
		ID: c.keys[1][len("f6:m360-task:"):], Parent: c.id}
	convergeJob(t, conv, task)
	if got := h.counts(t, m360Creates); got["m360-create-contact"] != 1 || got["m360-create-task"] != 5 || got["m360-create-note"] != 3 {
		t.Errorf("creates %v; want 1 contact, 5 tasks, 3 notes", got)
	}
	h.wantMirrored(t, c)
}

// TestConverger_ABigFamilyGetsPastChildrenGivenUp: a contact with more
// new notes than ChildrenPerJob, all but the last refused as invalid
// (given up on: their flows write no mapping): its job's first run gives
// up on ChildrenPerJob of them and snoozes; the next leaves those out and
// converges the rest, the last note made, and completes, rather than
// find the same children first at each run and snooze for ever.
func TestConverger_ABigFamilyGetsPastChildrenGivenUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	for i := range engine.ChildrenPerJob + 1 {
		h.createHLNote(t, a, fmt.Sprintf("Bad note %d", i))
	}
	h.createHLNote(t, a, "Good note")
	conv := h.convergerOn(t, &failingCreates{M360: engine.M360Client(h.m360), refuse: func(text string) error {
		if strings.HasPrefix(text, "Bad") {
			return &m360api.Error{StatusCode: http.StatusUnprocessableEntity, Code: m360api.ErrorErrorCodeValidationError, Message: "refused"}
		}
		return nil
	}})
	job := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: a, WithChildren: true}
	wantDoneOnItsSecondRun(t, conv, job)
	if notes := h.tw.Counterpart(a).Notes; !slices.Contains(notes, "Good note") {
		t.Errorf("Marketing 360 notes %q; want the good one", notes)
	}
}

// wantDoneOnItsSecondRun runs job, a contact's with its children, until it
// is done (at most 3 times): its first run snoozes (ErrMoreChildren), its
// second completes it.
func wantDoneOnItsSecondRun(t *testing.T, conv *engine.Converger, job engine.Converge) {
	t.Helper()
	done, runs := 0, 0
	for done == 0 && runs < 3 {
		runs++
		err := conv.ConvergeWithChildren(context.Background(), job, func(context.Context, *state.Tx) error { done++; return nil })
		if err != nil && !errors.Is(err, engine.ErrMoreChildren) {
			t.Fatalf("run %d: %v", runs, err)
		}
	}
	if done != 1 || runs != 2 {
		t.Errorf("done %d after %d runs; want done after 2", done, runs)
	}
}

// TestConverger_AContactsJobWithRulesMirrorsEachChildOnce: with rules
// (which run after each entity's flow, so the job defers nothing: the
// contact converges first, then each child with its own lock), a new
// contact's job with its children completes once and mirrors each record
// once; worked again, it creates nothing.
func TestConverger_AContactsJobWithRulesMirrorsEachChildOnce(t *testing.T) {
	t.Parallel()
	h, _ := newRuleHarness(t)
	c := h.newContact(t, 0)
	conv := h.converger(t, nil, nil, 0)
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	if err := conv.ConvergeWithChildren(context.Background(), c.job, complete); err != nil || done != 1 {
		t.Fatalf("converge: %v, done %d", err, done)
	}
	h.wantMirrored(t, c)
	before := h.counts(t, m360Creates)
	if err := conv.ConvergeWithChildren(context.Background(), c.job, complete); err != nil || done != 2 {
		t.Fatalf("converge again: %v, done %d", err, done)
	}
	if after := h.counts(t, m360Creates); !maps.Equal(after, before) {
		t.Errorf("working the job again created %v (before %v)", after, before)
	}
}

// racingNotes lists a contact's notes, then runs after once (when set):
// what lands between a contact's job's read of its lists and its lock of
// its children.
type racingNotes struct {
	engine.HighLevel
	after func()
}

func (r *racingNotes) Notes(ctx context.Context, contactID string) ([]highlevelapi.Note, error) {
	out, err := r.HighLevel.Notes(ctx, contactID)
	if f := r.after; f != nil {
		r.after = nil
		f()
	}
	return out, err
}

// TestConverger_AContactsJobRereadsAChildConvergedSinceItsList: a note
// edited to v2, and its own job converging it, after a contact's job
// listed it at v1 but before that job locked it: the contact's job reads
// it again (its mapping was written since the list), and Marketing 360
// keeps v2 rather than the list's v1; without rules (the job locks its
// children together) and with (each in turn).
func TestConverger_AContactsJobRereadsAChildConvergedSinceItsList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rules bool
	}{{"without rules", false}, {"with rules", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			if tc.rules {
				h, _ = newRuleHarness(t)
			} else {
				h = newHarness(t)
			}
			a := h.createContact(t, 1)
			note := h.createHLNote(t, a, "v1")
			hl := &racingNotes{HighLevel: engine.HighLevelClient(h.hl)}
			conv, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
				Location: h.tw.Location(), Flows: h.flows, Rules: h.rules, HighLevelHTTP: h.hlHTTP, M360HTTP: h.m360HTTP,
				Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			job := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: a, WithChildren: true}
			nothing := func(context.Context, *state.Tx) error { return nil }
			if err := conv.ConvergeWithChildren(ctx, job, nothing); err != nil {
				t.Fatal(err)
			}
			h.tw.AdvanceClock(time.Second)
			hl.after = func() {
				h.updateHLNote(t, a, note, "v2")
				if err := conv.Converge(ctx, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityNote,
					Tenant: h.tw.Location(), ID: note, Parent: a}, nothing); err != nil {
					t.Errorf("the note's own job: %v", err)
				}
			}
			if err := conv.ConvergeWithChildren(ctx, job, nothing); err != nil {
				t.Fatal(err)
			}
			if hl.after != nil {
				t.Fatal("the contact's job did not list its notes")
			}
			if notes := h.timeline(t, a).M360Notes; !slices.Contains(notes, "v2") || slices.Contains(notes, "v1") {
				t.Errorf("Marketing 360 notes %q; want v2 (HighLevel's), not the list's stale v1", notes)
			}
		})
	}
}

// TestConverger_ABigFamilyWithRulesGoesOnFromItsLastRun: with rules (the
// job's children converge each with its own lock), a contact with more
// notes than ChildrenPerJob: its job's first run converges ChildrenPerJob
// of them and snoozes, the next leaves those out and converges the rest,
// and completes, rather than take the same ones first at each run and
// snooze for ever.
func TestConverger_ABigFamilyWithRulesGoesOnFromItsLastRun(t *testing.T) {
	t.Parallel()
	h, _ := newRuleHarness(t)
	a := h.createContact(t, 1)
	for i := range engine.ChildrenPerJob + 3 {
		h.createHLNote(t, a, fmt.Sprintf("Note %d", i))
	}
	conv := h.converger(t, nil, nil, 0)
	job := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: a, WithChildren: true}
	wantDoneOnItsSecondRun(t, conv, job)
	notes := h.timeline(t, a).M360Notes
	for i := range engine.ChildrenPerJob + 3 {
		n := fmt.Sprintf("Note %d", i)
		if got := len(slices.DeleteFunc(slices.Clone(notes), func(s string) bool { return s != n })); got != 1 {
			t.Errorf("Marketing 360 notes %q: %s %d times; want once", notes, n, got)
		}
	}
}

// TestConverger_ABigFamilyGetsPastChildrenThatKeepFailing: a contact with
// a good note, then ChildrenPerJob notes whose creates keep failing (500s:
// tried again, not given up on), then another good note: its job's first
// attempt makes the good note its lists hold first, and its retry takes
// the children that failed after the others, so it makes the other good
// one, rather than try the same failing ones first at each attempt and
// never reach it.
func TestConverger_ABigFamilyGetsPastChildrenThatKeepFailing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	h.createHLNote(t, a, "Good note")
	for i := range engine.ChildrenPerJob {
		h.createHLNote(t, a, fmt.Sprintf("Bad note %d", i))
	}
	h.createHLNote(t, a, "Last good note")
	conv := h.convergerOn(t, &failingCreates{M360: engine.M360Client(h.m360), refuse: func(text string) error {
		if strings.HasPrefix(text, "Bad") {
			return &m360api.Error{StatusCode: http.StatusInternalServerError, Message: "down"}
		}
		return nil
	}})
	job := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: a, WithChildren: true}
	for attempt := range 2 {
		h.tw.AdvanceClock(time.Hour)
		err := conv.ConvergeWithChildren(context.Background(), job, func(context.Context, *state.Tx) error {
			t.Errorf("attempt %d completed the job; its bad notes are not made", attempt)
			return nil
		})
		if err == nil {
			t.Fatalf("attempt %d: no error; want the bad notes' failures", attempt)
		}
	}
	notes := h.timeline(t, a).M360Notes
	for _, want := range []string{"Good note", "Last good note"} {
		if !slices.Contains(notes, want) {
			t.Errorf("after 2 attempts, Marketing 360 notes %q; want %q", notes, want)
		}
	}
}

package engine_test

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/state"
)

// work converges a once with c, failing the test on an error.
func work(t *testing.T, c *engine.Converger, a engine.Converge) {
	t.Helper()
	if err := c.Converge(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
}

// TestConverger_TaskCopiesDeletedByAPersonAreNotMadeAgain: a task's copy
// deleted by a person on the other side is not made again, whatever its
// original does next, and the original stays: flow 3's HighLevel copy
// deleted leaves the Marketing 360 task, which is then edited; flow 6's
// Marketing 360 copy deleted leaves the HighLevel task, which is then
// edited. Neither edit writes anything.
func TestConverger_TaskCopiesDeletedByAPersonAreNotMadeAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, m360 := h.synced(t, 0)
	c := h.converger(t, nil, nil, 0)
	loc := h.tw.Location()

	quote := h.createM360Task(t, m360, "Quote")
	fromM360 := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(quote, 10),
		Parent: strconv.FormatInt(m360, 10)}
	work(t, c, fromM360)
	copyOfQuote := h.hlTaskID(t, id, "Quote")
	call := h.createHLTask(t, id, "Call")
	fromHL := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: call, Parent: id}
	work(t, c, fromHL)
	copyOfCall := h.m360Task(t, m360, "Call").ID

	h.deleteHLTask(t, id, copyOfQuote)
	work(t, c, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: copyOfQuote, Parent: id})
	h.deleteM360Task(t, m360, copyOfCall)
	work(t, c, engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(copyOfCall, 10),
		Parent: strconv.FormatInt(m360, 10)})
	made := h.createCounts(t)
	h.updateM360Task(t, m360, quote, "Quote, revised")
	h.updateHLTask(t, id, call, "Call, later")
	for range 2 {
		work(t, c, fromM360)
		work(t, c, fromHL)
	}
	got := h.timeline(t, id)
	if !slices.Contains(got.M360Tasks, "Quote, revised") || slices.Contains(got.M360Tasks, "Call, later") || slices.Contains(got.M360Tasks, "Call") {
		t.Errorf("Marketing 360 tasks %q: want the revised quote, no call", got.M360Tasks)
	}
	if !slices.Equal(got.HLTasks, []string{"Call, later"}) {
		t.Errorf("HighLevel tasks %q: want the later call alone", got.HLTasks)
	}
	after := h.createCounts(t)
	want := maps.Clone(made)
	want["update-task"]++      // the person's
	want["m360-update-task"]++ // the person's
	if !maps.Equal(after, want) {
		t.Errorf("requests after the copies were deleted %v, want %v (the people's edits alone)", after, want)
	}
}

// blockingTasks is a HighLevel client whose first read of task id waits
// until release is closed, telling entered when it starts; a read of id
// while another is under way is told on beside.
type blockingTasks struct {
	engine.HighLevel
	id               string
	entered, release chan struct{}
	beside           chan struct{}
	reading          atomic.Int32
	first            atomic.Bool
}

func (b *blockingTasks) Task(ctx context.Context, contactID, id string) (highlevelapi.Task, error) {
	if id == b.id {
		if b.reading.Add(1) > 1 {
			b.beside <- struct{}{}
		}
		defer b.reading.Add(-1)
		if b.first.CompareAndSwap(false, true) {
			close(b.entered)
			<-b.release
		}
	}
	return b.HighLevel.Task(ctx, contactID, id)
}

// blocking is a blockingTasks on the harness's HighLevel client, holding
// the first read of task id, and a converger (the harness's flows and
// rules, its clock) that reads through it.
func (h *harness) blocking(t *testing.T, id string) (*engine.Converger, *blockingTasks) {
	t.Helper()
	hl := &blockingTasks{HighLevel: engine.HighLevelClient(h.hl), id: id, entered: make(chan struct{}), release: make(chan struct{}),
		beside: make(chan struct{}, 2)}
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: hl, M360: engine.M360Client(h.m360),
		Location: h.tw.Location(), Flows: h.flows, Rules: h.rules, HighLevelHTTP: h.hlHTTP, M360HTTP: h.m360HTTP,
		Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c, hl
}

// secondWaited fails t unless the second of two jobs reading b's task
// (called second) waited for the first, which holds the read until
// release, instead of reading beside it; it then lets the first go on and
// fails t on an error of either (errs has their two).
func (b *blockingTasks) secondWaited(t *testing.T, waits <-chan struct{}, errs <-chan error, second string) {
	t.Helper()
	select {
	case <-waits:
	case <-b.beside:
		t.Errorf("%s read the task beside the first job", second)
	case <-time.After(wait):
		t.Errorf("%s neither waited for the first job nor read the task", second)
	}
	close(b.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestConverger_AnEntitysJobsRunOneAtATime: two jobs of one HighLevel
// task, deleted there (its webhook's job, and the reconcile's that found
// it gone, as River lets a second job in once the first runs): the second
// waits for the first, then finds the deletion mirrored; the Marketing
// 360 copy is deleted once, not by both.
func TestConverger_AnEntitysJobsRunOneAtATime(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, m360 := h.synced(t, 0)
	loc := h.tw.Location()
	call := h.createHLTask(t, id, "Call")
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: call, Parent: id}
	work(t, h.converger(t, nil, nil, 0), a)
	if got := h.m360Task(t, m360, "Call"); got.ID == 0 {
		t.Fatal("the task was not mirrored")
	}
	h.deleteHLTask(t, id, call)
	before := h.counts(t, []string{"m360-delete-task"})["m360-delete-task"]

	c, hl := h.blocking(t, call)
	waits := make(chan struct{}, 2)
	c.SetEntityWait(func() { waits <- struct{}{} })
	errs := make(chan error, 2)
	converge := func() {
		errs <- c.Converge(context.Background(), a, func(context.Context, *state.Tx) error { return nil })
	}
	go converge()
	<-hl.entered
	go converge()
	hl.secondWaited(t, waits, errs, "the second job")
	if n := h.counts(t, []string{"m360-delete-task"})["m360-delete-task"] - before; n != 1 {
		t.Errorf("%d deletions of the Marketing 360 copy; want 1", n)
	}
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/state"
)

// jobsOf are the Converge jobs of q as "<kind> <id> <parent>", sorted.
func (q *fakeQueue) jobsOf() []string {
	return q.list(func(c engine.Converge) string { return c.EntityKind + " " + c.ID + " " + c.Parent })
}

// TestPoller_HighLevelChildren: a poll of the children stream enqueues one
// children job for each contact changed with tasks or notes, listing each
// of them (their contact named, on the HighLevel side), and none for the
// contacts themselves; a poll with nothing new lists no contact again and
// enqueues nothing; a task's edit enqueues that task alone.
func TestPoller_HighLevelChildren(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	a := h.createContact(t, 1)
	h.createContact(t, 2) // changed too, with neither task nor note: no job
	call := h.createHLTask(t, a, "Call")
	tea := h.createHLNote(t, a, "Likes tea")
	s := engine.HighLevelChildren(h.hl, h.tw.Location())
	q := &fakeQueue{}
	p := h.poller(t, q, s)
	st := mustPoll(t, p, s.Name)
	if want := sorted("task "+call+" "+a, "note "+tea+" "+a); !slices.Equal(q.jobsOf(), want) || st.Enqueued != 2 {
		t.Fatalf("first poll: %+v, jobs %q; want %q", st, q.jobsOf(), want)
	}
	if len(q.jobs) != 1 {
		t.Fatalf("%d jobs %+v, want one children job of contact %s", len(q.jobs), q.jobs, a)
	}
	if c, ok := q.jobs[0].(engine.ConvergeChildren); !ok || c.Side != engine.SideHighLevel || c.Tenant != h.tw.Location() ||
		c.EntityKind != engine.EntityChildren || c.ID != a || c.Kind() != engine.KindConverge {
		t.Errorf("job %+v, want contact %s's children job", q.jobs[0], a)
	}
	q.jobs = nil
	before := h.tw.Count("get-all-tasks")
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 || st.Seen < 2 {
		t.Fatalf("poll with nothing new: %+v, jobs %q", st, q.jobsOf())
	}
	if n := h.tw.Count("get-all-tasks") - before; n != 0 {
		t.Errorf("the poll with nothing new listed the tasks of %d contacts; want none (listed at their versions already)", n)
	}

	h.tw.AdvanceClock(time.Second)
	title := "Call back"
	if _, err := highlevelapi.OK(h.hl.UpdateTaskWithResponse(ctx, a, call, nil, highlevelapi.UpdateTaskBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 1 || !slices.Equal(q.jobsOf(), []string{"task " + call + " " + a}) {
		t.Fatalf("poll after a task's edit: %+v, jobs %q; want the task alone", st, q.jobsOf())
	}
}

// TestPoller_HighLevelAppointments: a poll of the appointments stream
// enqueues a job for each appointment on the calendars in the window
// (its contact named), once per dateUpdated; a reschedule enqueues it
// again.
func TestPoller_HighLevelAppointments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	a := h.createContact(t, 1)
	demo := h.createAppointment(t, a, "Demo")
	s := engine.HighLevelAppointments(h.hl, h.tw.Location(), []string{h.tw.Calendar()}, h.tw.Clock().Now)
	q := &fakeQueue{}
	p := h.poller(t, q, s)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 1 || !slices.Equal(q.jobsOf(), []string{"appointment " + demo + " " + a}) {
		t.Fatalf("first poll: %+v, jobs %q", st, q.jobsOf())
	}
	q.jobs = nil
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 {
		t.Fatalf("poll with nothing new: %+v, jobs %q", st, q.jobsOf())
	}
	h.tw.AdvanceClock(2 * time.Second)
	title := "Demo, second go"
	if _, err := highlevelapi.OK(h.hl.EditAppointmentWithResponse(ctx, demo, nil, highlevelapi.EditAppointmentJSONRequestBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 1 || !slices.Equal(q.jobsOf(), []string{"appointment " + demo + " " + a}) {
		t.Fatalf("poll after an edit: %+v, jobs %q", st, q.jobsOf())
	}
}

// TestPoller_HighLevelChildrenOfABigFamily: a contact with more tasks and
// notes than ChildrenPerJob has them in several children jobs of at most
// ChildrenPerJob each, every one of them once: a job of them all would
// run longer than a job's timeout under the live limits.
func TestPoller_HighLevelChildrenOfABigFamily(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	var want []string
	for i := range engine.ChildrenPerJob + 3 {
		want = append(want, "note "+h.createHLNote(t, a, fmt.Sprintf("Note %d", i))+" "+a)
	}
	s := engine.HighLevelChildren(h.hl, h.tw.Location())
	q := &fakeQueue{}
	if st := mustPoll(t, h.poller(t, q, s), s.Name); st.Enqueued != len(want) || !slices.Equal(q.jobsOf(), sorted(want...)) {
		t.Fatalf("poll: %+v, jobs %q; want %q", st, q.jobsOf(), sorted(want...))
	}
	if len(q.jobs) != 2 {
		t.Errorf("%d jobs for %d children, want 2", len(q.jobs), len(want))
	}
	for _, j := range q.jobs {
		if c, ok := j.(engine.ConvergeChildren); !ok || c.ID != a || len(c.Children) > engine.ChildrenPerJob {
			t.Errorf("job %+v, want a children job of contact %s of at most %d", j, a, engine.ChildrenPerJob)
		}
	}
}

// TestPoller_PageFailingAtItsEnqueueLosesNothing: a children page whose
// jobs fail to enqueue rolls back its inbox rows (stored in one batch
// with the page's) and leaves its cursor: the next poll enqueues each
// child once, none lost, none twice, and stores each in the inbox once.
func TestPoller_PageFailingAtItsEnqueueLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var want []string
	for n := range 3 {
		c := h.createContact(t, n+1)
		want = append(want, "task "+h.createHLTask(t, c, "Call")+" "+c, "note "+h.createHLNote(t, c, "Likes tea")+" "+c)
	}
	slices.Sort(want)
	s := engine.HighLevelChildren(h.hl, h.tw.Location())
	down := errors.New("queue down")
	q := &fakeQueue{EnqueueFunc: func(engine.Args) error { return down }}
	p := h.poller(t, q, s)
	if _, err := p.Poll(ctx, s.Name); !errors.Is(err, down) {
		t.Fatalf("poll with the queue down: %v, want %v", err, down)
	}
	if rows, err := h.db.InboxEvents(ctx, state.InboxFilter{Source: state.SourceHighLevelPoll}); err != nil || len(rows) != 0 {
		t.Fatalf("inbox after the failed page: %d rows, %v; want none (rolled back)", len(rows), err)
	}
	q.EnqueueFunc, q.jobs = nil, nil
	if st := mustPoll(t, p, s.Name); !slices.Equal(q.jobsOf(), want) || st.Enqueued != len(want) {
		t.Fatalf("poll after the failure: %+v, jobs %q; want %q, each once", st, q.jobsOf(), want)
	}
	rows, err := h.db.InboxEvents(ctx, state.InboxFilter{Source: state.SourceHighLevelPoll})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.EventID]++
	}
	// Each child and each contact listed: 3 contacts, 6 children.
	if len(rows) != 9 || len(seen) != 9 {
		t.Errorf("inbox holds %d rows of %d events, want 9 of 9: %v", len(rows), len(seen), seen)
	}
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// TestPoller_HighLevelContactsListNoChildren: a poll of the contacts
// stream enqueues one job for each contact changed, with its children
// (WithChildren) and without listing them (the job does), tasks and notes
// or none; a poll with nothing new enqueues nothing; a task's edit, which
// moves its contact's dateUpdated, enqueues the contact's job again.
func TestPoller_HighLevelContactsListNoChildren(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	a := h.createContact(t, 1)
	b := h.createContact(t, 2)
	call := h.createHLTask(t, a, "Call")
	h.createHLNote(t, a, "Likes tea")
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
	q := &fakeQueue{}
	p := h.poller(t, q, s)
	lists := func() int { return h.tw.Count("get-all-tasks") + h.tw.Count("get-all-notes") }
	before := lists()
	if st := mustPoll(t, p, s.Name); !slices.Equal(q.jobsOf(), sorted("contact "+a+" ", "contact "+b+" ")) || st.Enqueued != 2 {
		t.Fatalf("first poll: %+v, jobs %q; want one job of each contact", st, q.jobsOf())
	}
	if n := lists() - before; n != 0 {
		t.Errorf("the poll listed %d tasks and notes; want none (the jobs list them)", n)
	}
	for _, j := range q.jobs {
		if c, ok := j.(engine.Converge); !ok || !c.WithChildren || c.Side != engine.SideHighLevel || c.Tenant != h.tw.Location() {
			t.Errorf("job %+v, want a HighLevel contact's with its children", j)
		}
	}
	q.jobs = nil
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 || st.Seen < 2 {
		t.Fatalf("poll with nothing new: %+v, jobs %q", st, q.jobsOf())
	}

	h.tw.AdvanceClock(time.Second)
	title := "Call back"
	if _, err := highlevelapi.OK(h.hl.UpdateTaskWithResponse(ctx, a, call, nil, highlevelapi.UpdateTaskBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 1 || !slices.Equal(q.jobsOf(), []string{"contact " + a + " "}) {
		t.Fatalf("poll after a task's edit: %+v, jobs %q; want its contact's alone", st, q.jobsOf())
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

// TestConverger_ABigFamilyConvergesChildrenPerJobAtATime: a contact with
// more new notes than ChildrenPerJob: its job converges the contact and
// ChildrenPerJob of them and snoozes (ErrMoreChildren) uncompleted, what it
// made committed; its next run converges the rest and completes; each
// note exists once in Marketing 360. A job of them all would run longer
// than a job's timeout under the live limits.
func TestConverger_ABigFamilyConvergesChildrenPerJobAtATime(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	var want []string
	for i := range engine.ChildrenPerJob + 3 {
		text := fmt.Sprintf("Note %d", i)
		h.createHLNote(t, a, text)
		want = append(want, text)
	}
	c := h.converger(t, nil, nil, 0)
	job := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: a, WithChildren: true}
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	err := c.ConvergeWithChildren(context.Background(), job, complete)
	if _, ok := errors.AsType[*engine.SnoozeError](err); !ok || !errors.Is(err, engine.ErrMoreChildren) || done != 0 {
		t.Fatalf("first run: %v, done %d; want a snooze for more children, not done", err, done)
	}
	if n := h.counts(t, []string{"m360-create-note"})["m360-create-note"]; n != 1+engine.ChildrenPerJob {
		t.Errorf("first run: %d notes created; want the welcome note and %d", n, engine.ChildrenPerJob)
	}
	if err := c.ConvergeWithChildren(context.Background(), job, complete); err != nil || done != 1 {
		t.Fatalf("second run: %v, done %d", err, done)
	}
	notes := slices.DeleteFunc(h.timeline(t, a).M360Notes, func(s string) bool { return strings.HasPrefix(s, "Welcome") })
	slices.Sort(notes)
	slices.Sort(want)
	if !slices.Equal(notes, want) {
		t.Errorf("Marketing 360 notes %q; want each once: %q", notes, want)
	}
}

// TestPoller_PageFailingAtItsEnqueueLosesNothing: a page whose jobs fail
// to enqueue rolls back its inbox rows (stored in one batch) and leaves
// its cursor: the next poll enqueues each contact once, none lost, none
// twice, and stores each in the inbox once.
func TestPoller_PageFailingAtItsEnqueueLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var want []string
	for n := range 3 {
		c := h.createContact(t, n+1)
		h.createHLTask(t, c, "Call")
		want = append(want, "contact "+c+" ")
	}
	slices.Sort(want)
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
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
	if len(rows) != 3 || len(seen) != 3 {
		t.Errorf("inbox holds %d rows of %d events, want 3 of 3: %v", len(rows), len(seen), seen)
	}
}

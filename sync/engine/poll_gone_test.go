package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// convergeAll works each Converge job of q (children jobs among them)
// once with c, then forgets them.
func convergeAll(t *testing.T, c *engine.Converger, q *fakeQueue) {
	t.Helper()
	for _, a := range q.jobs {
		switch a := a.(type) {
		case engine.ConvergeChildren:
			if err := c.ConvergeChildren(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); err != nil {
				t.Fatalf("converge the children of %s: %v", a.ID, err)
			}
		default:
			convergeJob(t, c, a.(engine.Converge))
		}
	}
	q.jobs = nil
}

// TestPoller_HighLevelChildrenSeesDeletions: a task and a note the sync
// mirrored, deleted in HighLevel with no webhook to tell, get a job at the
// next poll of the children stream (their contact's lists no longer hold
// them), which deletes their Marketing 360 counterparts; the contact's
// other task and note get none and stay; a poll after that enqueues
// nothing.
func TestPoller_HighLevelChildrenSeesDeletions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	call, tea := h.createHLTask(t, a, "Call"), h.createHLNote(t, a, "Likes tea")
	h.createHLTask(t, a, "Stay")
	h.createHLNote(t, a, "Kept note")
	c := h.converger(t, nil, nil, 0)
	done := 0
	if err := converge(t, c, h.tw.Location(), a, &done); err != nil {
		t.Fatal(err)
	}
	s := engine.HighLevelChildren(h.hl, h.tw.Location())
	q := &fakeQueue{}
	p := h.poller(t, q, s)
	mustPoll(t, p, s.Name)
	convergeAll(t, c, q)
	before := h.timeline(t, a)
	for _, want := range []string{"Call", "Stay"} {
		if !slices.Contains(before.M360Tasks, want) {
			t.Fatalf("Marketing 360 tasks %q lack %q before the deletions", before.M360Tasks, want)
		}
	}
	if !slices.Contains(before.M360Notes, "Likes tea") || !slices.Contains(before.M360Notes, "Kept note") {
		t.Fatalf("Marketing 360 notes %q before the deletions", before.M360Notes)
	}

	h.tw.AdvanceClock(time.Second)
	h.deleteHLTask(t, a, call)
	h.deleteHLNote(t, a, tea)
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); !slices.Equal(q.jobsOf(), sorted("task "+call+" "+a, "note "+tea+" "+a)) {
		t.Fatalf("poll after the deletions: %+v, jobs %q; want the deleted task and note alone", st, q.jobsOf())
	}
	convergeAll(t, c, q)
	after := h.timeline(t, a)
	wantTasks := slices.DeleteFunc(slices.Clone(before.M360Tasks), func(s string) bool { return s == "Call" })
	wantNotes := slices.DeleteFunc(slices.Clone(before.M360Notes), func(s string) bool { return s == "Likes tea" })
	if !slices.Equal(after.M360Tasks, wantTasks) || !slices.Equal(after.M360Notes, wantNotes) {
		t.Errorf("Marketing 360 tasks %q, notes %q; want %q, %q", after.M360Tasks, after.M360Notes, wantTasks, wantNotes)
	}
	if !slices.Equal(after.HLTasks, []string{"Stay"}) || !slices.Equal(after.HLNotes, []string{"Kept note"}) {
		t.Errorf("HighLevel tasks %q, notes %q; want what was left of them", after.HLTasks, after.HLNotes)
	}
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 {
		t.Fatalf("poll after the deletions were mirrored: %+v, jobs %q; want none", st, q.jobsOf())
	}
}

// TestPoller_HighLevelAppointmentsSeesDeletions: an appointment the sync
// mirrored, deleted in HighLevel with no webhook to tell, gets a job at
// the next poll of the appointments stream (the calendar no longer lists
// it), which deletes its Marketing 360 event; the other appointment gets
// none and its event stays; the next poll enqueues nothing.
func TestPoller_HighLevelAppointmentsSeesDeletions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.createContact(t, 1)
	demo := h.createAppointment(t, a, "Demo")
	h.createAppointment(t, a, "Review")
	c := h.converger(t, nil, nil, 0)
	done := 0
	if err := converge(t, c, h.tw.Location(), a, &done); err != nil {
		t.Fatal(err)
	}
	s := engine.HighLevelAppointments(h.hl, h.tw.Location(), []string{h.tw.Calendar()}, h.tw.Clock().Now)
	q := &fakeQueue{}
	p := h.poller(t, q, s)
	mustPoll(t, p, s.Name)
	convergeAll(t, c, q)
	if got := h.timeline(t, a).M360Events; !slices.Equal(got, []string{"Demo scheduled", "Review scheduled"}) {
		t.Fatalf("Marketing 360 events %q before the deletion", got)
	}
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 {
		t.Fatalf("poll with nothing new: %+v, jobs %q; want none (both listed)", st, q.jobsOf())
	}

	h.tw.AdvanceClock(time.Second)
	h.deleteAppointment(t, demo)
	if st := mustPoll(t, p, s.Name); !slices.Equal(q.jobsOf(), []string{"appointment " + demo + " "}) {
		t.Fatalf("poll after the deletion: %+v, jobs %q; want the deleted appointment alone", st, q.jobsOf())
	}
	convergeAll(t, c, q)
	if got := h.timeline(t, a).M360Events; !slices.Equal(got, []string{"Review scheduled"}) {
		t.Errorf("Marketing 360 events %q; want Review's alone", got)
	}
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 {
		t.Fatalf("poll after the deletion was mirrored: %+v, jobs %q; want none", st, q.jobsOf())
	}
}

// backfillDay is what one day's backfill did: the tasks and notes it
// enqueued (in children jobs), and the HighLevel requests it made and the
// reads of those tasks and notes (spent).
type backfillDay struct{ jobs, spent int }

// backfillChildrenByDays backfills the children's stream into q with a
// share of 10 requests a day, a run a day (stopped where it would wait for
// the next), until a run ends the walk or 5 days pass, and returns what
// each day did.
func (h *harness) backfillChildrenByDays(t *testing.T, q *fakeQueue) []backfillDay {
	t.Helper()
	s := engine.HighLevelChildren(h.hl, h.tw.Location())
	cfg := engine.BackfillConfig{Share: 0.5, DailyQuota: 20, Clock: stopClock{h.tw.Clock()}}
	requests := func() int {
		return h.tw.Count("search-contacts-advanced") + h.tw.Count("get-all-tasks") + h.tw.Count("get-all-notes")
	}
	var days []backfillDay
	for len(days) < 5 {
		before, jobs := requests(), len(q.ids())
		_, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
		days = append(days, backfillDay{len(q.ids()) - jobs, requests() - before + len(q.ids()) - jobs})
		if err == nil {
			break
		}
		if !errors.Is(err, errStopped) {
			t.Fatal(err)
		}
		h.tw.Clock().Advance(24 * time.Hour)
	}
	return days
}

// TestBackfill_ChildrenSpendTheirShareADay: the backfill walks the
// children stream within its share: with 10 requests a day, each day's
// walk of 4 contacts with a task and a note each (a search, two lists a
// contact, and a read per job) spends 9, stops before the contact that
// would spend more, goes on the next day, and enqueues each task and note
// once.
func TestBackfill_ChildrenSpendTheirShareADay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var want []string
	for i := range 4 {
		a := h.createContact(t, i)
		want = append(want, "task "+h.createHLTask(t, a, "Call")+" "+a, "note "+h.createHLNote(t, a, "Tea")+" "+a)
	}
	slices.Sort(want)
	q := &fakeQueue{}
	if days, wantDays := h.backfillChildrenByDays(t, q), []backfillDay{{4, 9}, {4, 9}}; !slices.Equal(days, wantDays) {
		t.Errorf("days (jobs, spent) %v; want %v (two contacts a day)", days, wantDays)
	}
	if got := q.jobsOf(); !slices.Equal(got, want) {
		t.Fatalf("jobs %q; want each task and note once: %q", got, want)
	}
}

// TestBackfill_AContactTooBigForTheDayWaitsForAFreshOne: with 10 requests
// a day, a contact whose lists and jobs would pass what is left of the
// day (B: 2 lists and 5 reads after a search and A's 3) waits for the next
// day, which reads it at once; a contact whose tasks alone pass a whole
// day's share (C: 12) is read whole on a fresh day of its own, the one
// overshoot the walk allows (or it would never be read). Each task is
// enqueued once.
func TestBackfill_AContactTooBigForTheDayWaitsForAFreshOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var want []string
	for i, tasks := range []int{1, 5, 12} {
		a := h.createContact(t, i)
		for range tasks {
			want = append(want, h.createHLTask(t, a, "Call"))
		}
	}
	slices.Sort(want)
	q := &fakeQueue{}
	// Day 1: A (1 search, 2 lists, 1 job) and B's lists, B left; day 2: B
	// (1 + 2 + 5) and C's lists, C left; day 3: C alone (1 + 2 + 12).
	if days, wantDays := h.backfillChildrenByDays(t, q), []backfillDay{{1, 6}, {5, 10}, {12, 15}}; !slices.Equal(days, wantDays) {
		t.Errorf("days (jobs, spent) %v; want %v", days, wantDays)
	}
	if got := q.ids(); !slices.Equal(got, want) {
		t.Fatalf("jobs %v; want each task once: %v", got, want)
	}
}

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

// convergeAll works each Converge job of q (contacts' with their
// children among them) once with c, then forgets them.
func convergeAll(t *testing.T, c *engine.Converger, q *fakeQueue) {
	t.Helper()
	for _, a := range q.jobs {
		switch a := a.(type) {
		case engine.Converge:
			if !a.WithChildren {
				convergeJob(t, c, a)
				continue
			}
			if err := c.ConvergeWithChildren(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); err != nil {
				t.Fatalf("converge contact %s with its children: %v", a.ID, err)
			}
		default:
			t.Fatalf("job %+v: not a converge job", a)
		}
	}
	q.jobs = nil
}

// TestPoller_HighLevelContactsSeeTheirChildrensDeletions: a task and a
// note the sync mirrored, deleted in HighLevel with no webhook to tell,
// move their contact's dateUpdated: the next poll enqueues the contact's
// job, which finds them gone (its lists no longer hold them) and deletes
// their Marketing 360 counterparts, and leaves the contact's other task
// and note as they are; a poll after that enqueues nothing.
func TestPoller_HighLevelContactsSeeTheirChildrensDeletions(t *testing.T) {
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
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
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
	if st := mustPoll(t, p, s.Name); !slices.Equal(q.jobsOf(), []string{"contact " + a + " "}) {
		t.Fatalf("poll after the deletions: %+v, jobs %q; want their contact's", st, q.jobsOf())
	}
	deletes := h.counts(t, []string{"m360-delete-task", "m360-delete-note"})
	convergeAll(t, c, q)
	if n := h.counts(t, []string{"m360-delete-task", "m360-delete-note"}); n["m360-delete-task"] != deletes["m360-delete-task"]+1 ||
		n["m360-delete-note"] != deletes["m360-delete-note"]+1 {
		t.Errorf("deletes %v (before %v); want one task and one note", n, deletes)
	}
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

// TestBackfill_ContactsWithChildrenSpendTheirShareADay: the backfill
// walks the contacts within its share: with 10 requests a day, each
// day's walk spends a search and, for each contact enqueued, the three
// reads of its job (the contact, its tasks, its notes), stops before the
// contact that would spend more, goes on the next day, and enqueues each
// contact once.
func TestBackfill_ContactsWithChildrenSpendTheirShareADay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var want []string
	for i := range 4 {
		a := h.createContact(t, i)
		h.createHLTask(t, a, "Call")
		want = append(want, a)
	}
	slices.Sort(want)
	q := &fakeQueue{}
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
	cfg := engine.BackfillConfig{Share: 0.5, DailyQuota: 20, Clock: stopClock{h.tw.Clock()}}
	var days [][2]int // jobs, searches
	for len(days) < 5 {
		searches, jobs := h.tw.Count("search-contacts-advanced"), len(q.ids())
		_, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
		days = append(days, [2]int{len(q.ids()) - jobs, h.tw.Count("search-contacts-advanced") - searches})
		if err == nil {
			break
		}
		if !errors.Is(err, errStopped) {
			t.Fatal(err)
		}
		h.tw.Clock().Advance(24 * time.Hour)
	}
	// Day 1: a search and 3 contacts (1 + 9); day 2: the last (1 + 3).
	if want := [][2]int{{3, 1}, {1, 1}}; !slices.Equal(days, want) {
		t.Errorf("days (jobs, searches) %v; want %v", days, want)
	}
	if got := q.ids(); !slices.Equal(got, want) {
		t.Fatalf("jobs %v; want each contact once: %v", got, want)
	}
}

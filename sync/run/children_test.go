package run_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
)

// totals counts the records of both twins, from the export.
type totals struct{ hlTasks, hlNotes, hlAppointments, m360Contacts, m360Tasks, m360Notes, m360Events int }

func totalsOf(tw *twintest.Twin) totals {
	st := tw.Export()
	return totals{len(st.Tasks), len(st.Notes), len(st.Appointments), len(st.M360Contacts), len(st.M360Tasks), len(st.M360Notes), len(st.M360Events)}
}

// startQuiet starts the sync of cfg, subscribed to no webhook and never
// reconciling on its own: only what the test asks of it happens. The
// caller closes it.
func startQuiet(t *testing.T, cfg run.Config) *run.Sync {
	t.Helper()
	cfg.ReconcileEvery = -1
	s, err := run.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// backfillAll backfills s with bc and waits for its jobs; it returns the
// stats and the streams the progress reported done.
func backfillAll(t *testing.T, s *run.Sync, bc engine.BackfillConfig) (engine.PollStats, []string, error) {
	t.Helper()
	var done []string
	bc.Progress = func(p engine.BackfillProgress) {
		if p.End {
			done = append(done, p.Stream)
		}
	}
	stats, err := s.Poller().Backfill(context.Background(), bc)
	if err != nil {
		return stats, done, err
	}
	return stats, done, s.Drain(context.Background())
}

// TestSync_BackfillMirrorsExistingTasksNotesAndAppointmentsOnce: a
// location whose contacts already have a task, a note and an appointment
// when the sync starts (no webhook, no reconcile) is backfilled: the
// progress reports the contacts', children's and appointments' streams
// done, and Marketing 360 holds each contact once with its flows' tasks
// and note, the task, the note and the event, each once, and HighLevel
// nothing more than it had. A second backfill on the same database walks
// nothing, and a reconcile of every stream after it (its own inbox, so
// every record is enqueued again) makes no record either.
func TestSync_BackfillMirrorsExistingTasksNotesAndAppointmentsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw, cfg := calendarTwins(t)
	ids := createContacts(t, tw, 3)
	timelineOf(t, tw, hlClient(t, tw), ids)
	before := totalsOf(tw)

	s := startQuiet(t, cfg)
	stats, done, err := backfillAll(t, s, engine.BackfillConfig{Clock: tw.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	loc := tw.Location()
	for _, want := range []string{"hl:" + loc + ":contacts", "hl:" + loc + ":appointments"} {
		if !slices.Contains(done, want) {
			t.Errorf("the progress reported %q done; want %s among them", done, want)
		}
	}
	for i, id := range ids {
		if !mirrored(tw, i, id, fmt.Sprint("Call Grace", i)) {
			c := tw.Counterpart(id)
			t.Errorf("contact %s: %+v, %d events; want 4 tasks, 2 notes, 1 event", id, c, events(tw, c.ID))
		}
	}
	want := before
	want.m360Contacts, want.m360Tasks, want.m360Notes, want.m360Events = 3, 3*4, 3*2, 3
	if got := totalsOf(tw); got != want {
		t.Fatalf("after the backfill (%+v): %+v; want %+v", stats, got, want)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = startQuiet(t, cfg)
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	if stats, _, err := backfillAll(t, s, engine.BackfillConfig{Clock: tw.Clock()}); err != nil || stats.Pages != 0 {
		t.Fatalf("the second backfill: %+v, %v; want nothing walked", stats, err)
	}
	enqueued := 0
	for _, name := range s.Poller().Streams() {
		st, err := s.Poller().Poll(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		enqueued += st.Enqueued
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if enqueued == 0 {
		t.Errorf("the reconcile enqueued nothing; it was to enqueue the records again (its own inbox)")
	}
	if got := totalsOf(tw); got != want {
		t.Errorf("after a second backfill and a reconcile: %+v; want %+v", got, want)
	}
}

// TestSync_ReconcileMirrorsDeletionsWhenWebhooksAreLost: with the twin
// losing every webhook, a HighLevel task, note and appointment deleted are
// deleted in Marketing 360 by the periodic reconcile alone; the contact's
// other records and the other contact's stay as they were.
func TestSync_ReconcileMirrorsDeletionsWhenWebhooksAreLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw, cfg := calendarTwins(t)
	startLossy(t, tw, cfg)
	hl := hlClient(t, tw)
	ids := createContacts(t, tw, 2)
	tl := timelineOf(t, tw, hl, ids)
	twintest.WaitFor(t, wait, func() bool { return mirrored(tw, 0, ids[0], "Call Grace0") && mirrored(tw, 1, ids[1], "Call Grace1") })
	before := totalsOf(tw)

	gone := tl[ids[0]]
	if _, err := highlevelapi.OK(hl.DeleteTaskWithResponse(ctx, ids[0], gone.task, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := highlevelapi.OK(hl.DeleteNoteWithResponse(ctx, ids[0], gone.note, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := highlevelapi.OK(hl.DeleteEventWithResponse(ctx, gone.appointment, nil, highlevelapi.DeleteEventJSONRequestBody{})); err != nil {
		t.Fatal(err)
	}
	c0 := tw.Counterpart(ids[0])
	twintest.WaitFor(t, wait, func() bool {
		c := tw.Counterpart(ids[0])
		return !slices.Contains(c.Tasks, "Call Grace0") && !slices.Contains(c.Notes, "Grace0 likes tea") && events(tw, c.ID) == 0
	})
	want := before
	want.hlTasks, want.hlNotes, want.hlAppointments = want.hlTasks-1, want.hlNotes-1, want.hlAppointments-1
	want.m360Tasks, want.m360Notes, want.m360Events = want.m360Tasks-1, want.m360Notes-1, want.m360Events-1
	if got := totalsOf(tw); got != want {
		t.Errorf("after the deletions were mirrored: %+v; want %+v (one of each fewer, nothing else touched)", got, want)
	}
	c := tw.Counterpart(ids[0])
	wantTasks := slices.DeleteFunc(slices.Clone(c0.Tasks), func(s string) bool { return s == "Call Grace0" })
	wantNotes := slices.DeleteFunc(slices.Clone(c0.Notes), func(s string) bool { return s == "Grace0 likes tea" })
	if c.Contacts != 1 || !slices.Equal(c.Tasks, wantTasks) || !slices.Equal(c.Notes, wantNotes) {
		t.Errorf("contact %s: %+v; want its flows' tasks %q and notes %q left", ids[0], c, wantTasks, wantNotes)
	}
	if !mirrored(tw, 1, ids[1], "Call Grace1") {
		t.Errorf("contact %s: %+v; want it untouched", ids[1], tw.Counterpart(ids[1]))
	}
}

// TestSync_BackfillOfChildrenStoppedMidWayResumesOnce: a backfill within
// a share too small for a day is stopped (as by Ctrl-C) in the contacts'
// stream, waiting for the next day after two contacts (whose jobs, their
// tasks and notes with them, are worked); the sync is stopped, and a new
// one on the same database goes on, day after day: afterwards each
// contact's task, note and appointment are mirrored once, none lost, none
// doubled.
func TestSync_BackfillOfChildrenStoppedMidWayResumesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw, cfg := calendarTwins(t)
	const n = 6
	ids := createContacts(t, tw, n)
	timelineOf(t, tw, hlClient(t, tw), ids)
	// The contacts' stream spends a search and three reads a contact (the
	// contact, its tasks, its notes): the share of 7 stops it after two.
	bc := engine.BackfillConfig{Share: 1, DailyQuota: 7, Clock: tw.Clock()}

	// Stopped (as by Ctrl-C) when it starts to wait for the next day.
	s := startQuiet(t, cfg)
	var stopped []engine.BackfillProgress
	first, stop := context.WithCancel(ctx)
	defer stop()
	bc.Progress = func(p engine.BackfillProgress) {
		stopped = append(stopped, p)
		if !p.Until.IsZero() {
			stop()
		}
	}
	if _, err := s.Poller().Backfill(first, bc); !errors.Is(err, context.Canceled) {
		t.Fatalf("the first backfill: %v; want it stopped waiting for the next day", err)
	}
	if last := stopped[len(stopped)-1]; last.Stream != "hl:"+tw.Location()+":contacts" || last.Until.IsZero() {
		t.Fatalf("stopped at %+v; want in the contacts' stream, waiting for the next day", last)
	}
	if err := errors.Join(s.Drain(ctx), s.Close(ctx)); err != nil {
		t.Fatal(err)
	}
	partly := 0
	for i, id := range ids {
		if c := tw.Counterpart(id); slices.Contains(c.Tasks, fmt.Sprint("Call Grace", i)) && slices.Contains(c.Notes, fmt.Sprint("Grace", i, " likes tea")) {
			partly++
		}
	}
	if partly != 2 {
		t.Fatalf("%d contacts' tasks and notes mirrored when the first backfill stopped; want 2 (the day's share)", partly)
	}

	s = startQuiet(t, cfg)
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	// It waits for each next day (the twins' clock moves there) until done.
	if _, _, err := backfillAll(t, s, bc); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if !mirrored(tw, i, id, fmt.Sprint("Call Grace", i)) {
			c := tw.Counterpart(id)
			t.Errorf("contact %s: %+v, %d events; want 4 tasks, 2 notes, each once", id, c, events(tw, c.ID))
		}
	}
	if got := totalsOf(tw); got.m360Contacts != n || got.m360Tasks != 4*n || got.m360Notes != 2*n || got.m360Events != n {
		t.Errorf("%+v; want %d contacts, %d tasks, %d notes and %d events in Marketing 360", got, n, 4*n, 2*n, n)
	}
}

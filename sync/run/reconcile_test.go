package run_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
)

// timeline are the HighLevel records timelineOf gave contact Grace<i>:
// her task "Call Grace<i>", note "Grace<i> likes tea" and appointment
// "Demo for Grace<i>" on the twin's calendar.
type timeline struct{ task, note, appointment string }

// timelineOf gives each contact of ids its timeline, through hl.
func timelineOf(t *testing.T, tw *twintest.Twin, hl *highlevelapi.ClientWithResponses, ids []string) map[string]timeline {
	t.Helper()
	ctx := context.Background()
	out := map[string]timeline{}
	for i, id := range ids {
		title, body := fmt.Sprint("Call Grace", i), "Ask about the quote"
		task, err := highlevelapi.OK(hl.CreateTaskWithResponse(ctx, id, nil,
			highlevelapi.CreateTaskBody{Title: title, Body: &body, DueDate: tw.Clock().Now().Add(48 * time.Hour)}))
		if err != nil {
			t.Fatal(err)
		}
		note, err := highlevelapi.OK(hl.CreateNoteWithResponse(ctx, id, nil, highlevelapi.NotesDTO{Body: fmt.Sprint("Grace", i, " likes tea")}))
		if err != nil {
			t.Fatal(err)
		}
		start := tw.Clock().Now().Add(24 * time.Hour).Truncate(time.Hour)
		end, demo := start.Add(30*time.Minute), fmt.Sprint("Demo for Grace", i)
		ap, err := highlevelapi.OK(hl.CreateContactAppointmentWithResponse(ctx, id, nil,
			highlevelapi.ContactAppointmentCreateSchema{CalendarId: tw.Calendar(), StartTime: start, EndTime: &end, Title: &demo}))
		if err != nil {
			t.Fatal(err)
		}
		out[id] = timeline{task: task.JSON201.Task.Id, note: note.JSON201.Note.Id, appointment: ap.JSON201.Id}
	}
	return out
}

// mirrored tells that Marketing 360 holds Grace<i>'s contact (HighLevel id
// id) once, with its follow-up and onboarding tasks and the task titled
// task, its welcome note and her note, and her event, each once.
func mirrored(tw *twintest.Twin, i int, id, task string) bool {
	c := tw.Counterpart(id)
	return c.Contacts == 1 && len(c.Tasks) == 4 && slices.Contains(c.Tasks, task) && slices.Contains(c.Tasks, fmt.Sprint("Follow up: Grace", i)) &&
		len(c.Notes) == 2 && slices.Contains(c.Notes, fmt.Sprint("Grace", i, " likes tea")) && events(tw, c.ID) == 1
}

// calendarTwins are both twins on loopback and the sync's config on them,
// the twin's calendar polled for appointments.
func calendarTwins(t *testing.T) (*twintest.Twin, run.Config) {
	t.Helper()
	tw := twintest.New(t, twintest.Options{Listen: true})
	cfg := syncConfig(t, tw)
	cfg.HighLevel.Calendars = []string{tw.Calendar()}
	return tw, cfg
}

// TestSync_ReconcileAloneMirrorsTasksNotesAndAppointments: with the twin
// losing every webhook (webhooks.drop 1.0), the periodic reconcile alone
// brings Marketing 360 in line with the HighLevel tasks, notes and
// appointments of the contacts, and with a task's edit: each once.
func TestSync_ReconcileAloneMirrorsTasksNotesAndAppointments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw, cfg := calendarTwins(t)
	s := startLossy(t, tw, cfg)
	hl := hlClient(t, tw)
	ids := createContacts(t, tw, 2)
	tl := timelineOf(t, tw, hl, ids)
	twintest.WaitFor(t, wait, func() bool {
		for i, id := range ids {
			if !mirrored(tw, i, id, fmt.Sprint("Call Grace", i)) {
				return false
			}
		}
		return true
	})
	// An edit, which no webhook tells (the API has none for a task's).
	title := "Call Grace0 back"
	if _, err := highlevelapi.OK(hl.UpdateTaskWithResponse(ctx, ids[0], tl[ids[0]].task, nil, highlevelapi.UpdateTaskBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
	twintest.WaitFor(t, wait, func() bool { return mirrored(tw, 0, ids[0], title) })
	if n := s.Receiver().Counts().Received; n != 0 {
		t.Errorf("the receiver stored %d webhooks; the twin was to lose them all", n)
	}
	for i, id := range ids {
		if c := tw.Counterpart(id); !mirrored(tw, i, id, []string{title, "Call Grace1"}[i]) {
			t.Errorf("contact %s: %+v, %d events; want 4 tasks, 2 notes, 1 event", id, c, events(tw, c.ID))
		}
	}
}

// events counts the calendar events of Marketing 360 contact id.
func events(tw *twintest.Twin, id int64) int {
	n := 0
	for _, e := range tw.Export().M360Events {
		if e.ContactID == id && id != 0 {
			n++
		}
	}
	return n
}

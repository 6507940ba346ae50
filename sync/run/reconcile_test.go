package run_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
)

// TestSync_ReconcileAloneMirrorsTasksNotesAndAppointments: with the twin
// losing every webhook (webhooks.drop 1.0), the periodic reconcile alone
// brings Marketing 360 in line with the HighLevel tasks, notes and
// appointments of the contacts, and with a task's edit: each once.
func TestSync_ReconcileAloneMirrorsTasksNotesAndAppointments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw := twintest.New(t, twintest.Options{Listen: true})
	cfg := syncConfig(t, tw)
	cfg.HighLevel.Calendars = []string{tw.Calendar()}
	s := startLossy(t, tw, cfg)
	hl := hlClient(t, tw)
	ids := createContacts(t, tw, 2)
	tasks := map[string]string{}
	for i, id := range ids {
		title, body := fmt.Sprint("Call Grace", i), "Ask about the quote"
		res, err := highlevelapi.OK(hl.CreateTaskWithResponse(ctx, id, nil,
			highlevelapi.CreateTaskBody{Title: title, Body: &body, DueDate: tw.Clock().Now().Add(48 * time.Hour)}))
		if err != nil {
			t.Fatal(err)
		}
		tasks[id] = res.JSON201.Task.Id
		if _, err := highlevelapi.OK(hl.CreateNoteWithResponse(ctx, id, nil, highlevelapi.NotesDTO{Body: fmt.Sprint("Grace", i, " likes tea")})); err != nil {
			t.Fatal(err)
		}
		start := tw.Clock().Now().Add(24 * time.Hour).Truncate(time.Hour)
		end, demo := start.Add(30*time.Minute), fmt.Sprint("Demo for Grace", i)
		if _, err := highlevelapi.OK(hl.CreateContactAppointmentWithResponse(ctx, id, nil,
			highlevelapi.ContactAppointmentCreateSchema{CalendarId: tw.Calendar(), StartTime: start, EndTime: &end, Title: &demo})); err != nil {
			t.Fatal(err)
		}
	}
	mirrored := func(i int, id, task string) bool {
		c := tw.Counterpart(id)
		return c.Contacts == 1 && len(c.Tasks) == 4 && slices.Contains(c.Tasks, task) && len(c.Notes) == 2 &&
			slices.Contains(c.Notes, fmt.Sprint("Grace", i, " likes tea")) && events(tw, c.ID) == 1
	}
	twintest.WaitFor(t, wait, func() bool {
		for i, id := range ids {
			if !mirrored(i, id, fmt.Sprint("Call Grace", i)) {
				return false
			}
		}
		return true
	})
	// An edit, which no webhook tells (the API has none for a task's).
	title := "Call Grace0 back"
	if _, err := highlevelapi.OK(hl.UpdateTaskWithResponse(ctx, ids[0], tasks[ids[0]], nil, highlevelapi.UpdateTaskBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
	twintest.WaitFor(t, wait, func() bool { return mirrored(0, ids[0], title) })
	if n := s.Receiver().Counts().Received; n != 0 {
		t.Errorf("the receiver stored %d webhooks; the twin was to lose them all", n)
	}
	for i, id := range ids {
		c := tw.Counterpart(id)
		if !slices.Contains(c.Tasks, fmt.Sprint("Follow up: Grace", i)) || len(c.Tasks) != 4 || len(c.Notes) != 2 || events(tw, c.ID) != 1 {
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

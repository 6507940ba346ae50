package store_test

import (
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// TestChildChanges_BumpTheContactsDateUpdated: creating, editing and
// deleting a contact's task or note moves the contact's dateUpdated to the
// change's time, so a poll by dateUpdated finds it; an appointment's
// change does not (it has a dateUpdated of its own).
func TestChildChanges_BumpTheContactsDateUpdated(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t, 1)
	c := mustCreate(t, s, store.Contact{FirstName: "Ada"})
	last := c.DateUpdated
	bumped := func(step string, want bool) {
		t.Helper()
		got, err := s.Contact(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if moved := got.DateUpdated.After(last); moved != want {
			t.Errorf("%s: dateUpdated %s after %s: %v, want %v", step, got.DateUpdated, last, moved, want)
		}
		last = got.DateUpdated
		clk.Advance(time.Second)
	}
	clk.Advance(time.Second)
	task, err := s.CreateTask(c.ID, store.Task{Title: "Call"})
	if err != nil {
		t.Fatal(err)
	}
	bumped("task created", true)
	if _, err := s.UpdateTask(c.ID, task.ID, func(t *store.Task) error { t.Title = "Call back"; return nil }); err != nil {
		t.Fatal(err)
	}
	bumped("task edited", true)
	if err := s.DeleteTask(c.ID, task.ID); err != nil {
		t.Fatal(err)
	}
	bumped("task deleted", true)
	note, err := s.CreateNote(c.ID, store.Note{Body: "Likes tea"})
	if err != nil {
		t.Fatal(err)
	}
	bumped("note created", true)
	if _, err := s.UpdateNote(c.ID, note.ID, func(n *store.Note) error { n.Body = "Likes green tea"; return nil }); err != nil {
		t.Fatal(err)
	}
	bumped("note edited", true)
	if err := s.DeleteNote(c.ID, note.ID); err != nil {
		t.Fatal(err)
	}
	bumped("note deleted", true)
	if _, err := s.CreateAppointment(c.ID, store.Appointment{LocationID: loc, StartTime: t0, EndTime: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	bumped("appointment booked", false)
}

package mock_test

// End-to-end tests of an appointment's notes: GET|POST
// /calendars/appointments/{appointmentId}/notes and PUT|DELETE
// .../notes/{noteId}.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

type wireAppointmentNote struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	UserID    string `json:"userId"`
	DateAdded string `json:"dateAdded"`
	ContactID string `json:"contactId"`
}

type wireAppointmentNotes struct {
	Notes   []wireAppointmentNote `json:"notes"`
	HasMore bool                  `json:"hasMore"`
}

func appointmentNotesPath(appointment string) string {
	return "/calendars/appointments/" + appointment + "/notes"
}

func (e *twinEnv) mustCreateAppointmentNote(tb testing.TB, appointment, body string) wireAppointmentNote {
	tb.Helper()
	return mustDo[struct{ Note wireAppointmentNote }](tb, e, "POST", appointmentNotesPath(appointment),
		jsonObj{"body": body, "userId": "user-1"}, http.StatusCreated).Note
}

func noteBodies(notes []wireAppointmentNote) []string {
	out := make([]string, 0, len(notes))
	for _, n := range notes {
		out = append(out, n.Body)
	}
	return out
}

func TestAppointmentNotes_CRUDAndPaging(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Nora"})
	ap := e.mustBook(t, c.ID, "2024-03-05T10:00:00+05:30")
	other := e.mustBook(t, c.ID, "2024-03-06T10:00:00+05:30")
	notes := appointmentNotesPath(ap.ID)

	first := e.mustCreateAppointmentNote(t, ap.ID, " First ")
	if !idPattern.MatchString(first.ID) || !isoPattern.MatchString(first.DateAdded) || first.Body != "First" ||
		first.ContactID != c.ID || first.UserID != "user-1" {
		t.Errorf("created note %+v", first)
	}
	for i := 2; i <= 5; i++ {
		e.mustCreateAppointmentNote(t, ap.ID, fmt.Sprintf("Note %d", i))
	}
	e.mustCreateAppointmentNote(t, other.ID, "Elsewhere")

	// Newest first, limit from offset, hasMore while more follow.
	pages := []struct {
		query   string
		want    []string
		hasMore bool
	}{
		{"?limit=2&offset=0", []string{"Note 5", "Note 4"}, true},
		{"?limit=2&offset=2", []string{"Note 3", "Note 2"}, true},
		{"?limit=2&offset=4", []string{"First"}, false},
		{"?limit=20&offset=0", []string{"Note 5", "Note 4", "Note 3", "Note 2", "First"}, false},
		{"?limit=3&offset=9", []string{}, false},
		{"?limit=2.5&offset=2.9", []string{"Note 3", "Note 2"}, true},
	}
	for _, p := range pages {
		got := mustDo[wireAppointmentNotes](t, e, "GET", notes+p.query, nil, http.StatusOK)
		if !slices.Equal(noteBodies(got.Notes), p.want) || got.HasMore != p.hasMore {
			t.Errorf("%s: %q hasMore %v, want %q %v", p.query, noteBodies(got.Notes), got.HasMore, p.want, p.hasMore)
		}
	}

	// Update replaces the body; the id, contact and date stay.
	e.clk.Advance(1000)
	upd := mustDo[struct{ Note wireAppointmentNote }](t, e, "PUT", notes+"/"+first.ID, jsonObj{"body": "Edited"}, http.StatusOK).Note
	if upd.ID != first.ID || upd.Body != "Edited" || upd.DateAdded != first.DateAdded || upd.ContactID != c.ID || upd.UserID != "user-1" {
		t.Errorf("updated note %+v, was %+v", upd, first)
	}
	// Another appointment's note is not this one's.
	elsewhere := mustDo[wireAppointmentNotes](t, e, "GET", appointmentNotesPath(other.ID)+"?limit=5&offset=0", nil, http.StatusOK).Notes
	mustError(t, e.do(t, "PUT", notes+"/"+elsewhere[0].ID, jsonObj{"body": "x"}), http.StatusNotFound, "Note not found")

	// Delete answers {"success": true}, as the vendor documents.
	r := e.do(t, "DELETE", notes+"/"+first.ID, nil)
	mustStatus(t, r, http.StatusOK)
	if !equalJSON(t, mustDecode[jsonObj](t, r), jsonObj{"success": true}) {
		t.Errorf("delete answered %s", r.body)
	}
	mustError(t, e.do(t, "DELETE", notes+"/"+first.ID, nil), http.StatusNotFound, "Note not found")
	got := mustDo[wireAppointmentNotes](t, e, "GET", notes+"?limit=20&offset=0", nil, http.StatusOK)
	if slices.Contains(noteBodies(got.Notes), "Edited") || len(got.Notes) != 4 {
		t.Errorf("after delete: %q", noteBodies(got.Notes))
	}

	// Deleting the appointment takes its notes; deleting the contact, the
	// other appointment's.
	mustStatus(t, e.do(t, "DELETE", "/calendars/events/"+ap.ID, jsonObj{}), http.StatusCreated)
	mustError(t, e.do(t, "GET", notes+"?limit=1&offset=0", nil), http.StatusNotFound, "Appointment not found")
	mustStatus(t, e.do(t, "DELETE", "/contacts/"+c.ID, nil), http.StatusOK)
	if n := len(e.srv.Store().Snapshot().AppointmentNotes); n != 0 {
		t.Errorf("%d appointment notes outlived their appointments", n)
	}
}

func TestAppointmentNotes_ExportImportAndAccess(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Ivo"})
	ap := e.mustBook(t, c.ID, "2024-03-05T10:00:00Z")
	n := e.mustCreateAppointmentNote(t, ap.ID, "Kept")

	// The notes are in the state and come back from it.
	st := e.srv.Store().Snapshot()
	if len(st.AppointmentNotes) != 1 || st.AppointmentNotes[0].ID != n.ID || st.AppointmentNotes[0].AppointmentID != ap.ID {
		t.Fatalf("exported appointment notes %+v", st.AppointmentNotes)
	}
	mustStatus(t, e.do(t, "DELETE", appointmentNotesPath(ap.ID)+"/"+n.ID, nil), http.StatusOK)
	if err := e.srv.Store().Restore(st); err != nil {
		t.Fatalf("restore: %v", err)
	}
	got := mustDo[wireAppointmentNotes](t, e, "GET", appointmentNotesPath(ap.ID)+"?limit=5&offset=0", nil, http.StatusOK)
	if len(got.Notes) != 1 || got.Notes[0] != n {
		t.Errorf("restored notes %+v, want %+v", got.Notes, n)
	}
	// A note of an appointment the state lacks is refused.
	bad := e.srv.Store().Snapshot()
	bad.AppointmentNotes[0].AppointmentID = "NoSuchAppointment000"
	if err := e.srv.Store().Restore(bad); err == nil {
		t.Error("restore took a note of no appointment")
	}

	// Another location's token may not read or write them.
	_, otherToken := e.addLocation(t, "ApptNotesOtherLoc000", false)
	r := e.call(t, apiRequest{method: "GET", path: appointmentNotesPath(ap.ID) + "?limit=5&offset=0", token: otherToken})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
	r = e.call(t, apiRequest{method: "POST", path: appointmentNotesPath(ap.ID), body: jsonObj{"body": "x"}, token: otherToken})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
}

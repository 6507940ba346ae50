package mock_test

// End-to-end tests of the calendars service's read and delete operations:
// GET /calendars/events/appointments/{eventId}, GET /calendars/events and
// DELETE /calendars/events/{eventId}.

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// wireCalendarEvent is an appointment as the calendars service reads it back.
type wireCalendarEvent struct {
	ID                string   `json:"id"`
	Title             string   `json:"title"`
	CalendarID        string   `json:"calendarId"`
	LocationID        string   `json:"locationId"`
	ContactID         string   `json:"contactId"`
	GroupID           *string  `json:"groupId"`
	AppointmentStatus string   `json:"appointmentStatus"`
	AssignedUserID    string   `json:"assignedUserId"`
	Users             []string `json:"users"`
	Description       string   `json:"description"`
	IsRecurring       bool     `json:"isRecurring"`
	RRule             string   `json:"rrule"`
	StartTime         string   `json:"startTime"`
	EndTime           string   `json:"endTime"`
	DateAdded         string   `json:"dateAdded"`
	DateUpdated       string   `json:"dateUpdated"`
}

// eventsQuery is the path of GET /calendars/events for a window in ms and
// the given filters (key, value pairs).
func eventsQuery(location string, from, to time.Time, kv ...string) string {
	q := url.Values{"locationId": {location}, "startTime": {msString(from)}, "endTime": {msString(to)}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "/calendars/events?" + q.Encode()
}

func msString(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// offsetTimePattern is a time with its UTC offset, as the calendars
// service writes it: 2023-09-25T16:00:00+05:30.
var offsetTimePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)

func eventIDs(evs []wireCalendarEvent) []string {
	ids := make([]string, 0, len(evs))
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

func TestCalendarEvents_GetListDelete(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	cal := e.loc.Calendars[0].ID
	demo := mustDo[wireAppointment](t, e, "POST", "/calendars/events/appointments", jsonObj{
		"calendarId": cal, "locationId": e.loc.ID, "contactId": c.ID, "title": "Demo", "description": "Bring the cards",
		"assignedUserId": "user-1", "startTime": "2024-03-05T10:00:00+05:30", "endTime": "2024-03-05T11:00:00+05:30",
		"rrule": "RRULE:FREQ=WEEKLY;COUNT=3",
	}, http.StatusOK)
	early := e.mustBook(t, c.ID, "2024-03-04T09:00:00Z")
	late := e.mustBook(t, c.ID, "2024-03-20T09:00:00Z")

	got := mustDo[struct{ Event wireCalendarEvent }](t, e, "GET", "/calendars/events/appointments/"+demo.ID, nil, http.StatusOK).Event
	if got.ID != demo.ID || got.Title != "Demo" || got.CalendarID != cal || got.LocationID != e.loc.ID || got.ContactID != c.ID ||
		got.AssignedUserID != "user-1" || !slices.Equal(got.Users, []string{"user-1"}) || got.Description != "Bring the cards" ||
		!got.IsRecurring || got.RRule != "RRULE:FREQ=WEEKLY;COUNT=3" || got.AppointmentStatus != "confirmed" ||
		got.GroupID == nil || *got.GroupID != "" {
		t.Errorf("get-appointment: %+v", got)
	}
	// Times in the offset the appointment was booked in.
	if got.StartTime != "2024-03-05T10:00:00+05:30" || got.EndTime != "2024-03-05T11:00:00+05:30" ||
		!offsetTimePattern.MatchString(got.DateAdded) || !offsetTimePattern.MatchString(got.DateUpdated) {
		t.Errorf("get-appointment times: %+v", got)
	}
	plain := mustDo[struct{ Event wireCalendarEvent }](t, e, "GET", "/calendars/events/appointments/"+early.ID, nil, http.StatusOK).Event
	if plain.AssignedUserID != "" || plain.Users == nil || len(plain.Users) != 0 || plain.IsRecurring || plain.Title != "" {
		t.Errorf("get-appointment without owner or title: %+v", plain)
	}

	march := func(day int) time.Time { return time.Date(2024, 3, day, 0, 0, 0, 0, time.UTC) }
	list := func(path string) []string {
		t.Helper()
		return eventIDs(mustDo[struct{ Events []wireCalendarEvent }](t, e, "GET", path, nil, http.StatusOK).Events)
	}
	for _, tt := range []struct {
		name string
		path string
		want []string
	}{
		{"calendar, by start time", eventsQuery(e.loc.ID, march(1), march(31), "calendarId", cal), []string{early.ID, demo.ID, late.ID}},
		{"window", eventsQuery(e.loc.ID, march(5), march(6), "calendarId", cal), []string{demo.ID}},
		{"window ends inclusive", eventsQuery(e.loc.ID, march(1), time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), "calendarId", cal), []string{early.ID}},
		{"owner", eventsQuery(e.loc.ID, march(1), march(31), "userId", "user-1"), []string{demo.ID}},
		{"owner and calendar", eventsQuery(e.loc.ID, march(1), march(31), "userId", "user-1", "calendarId", "Other"), []string{}},
		{"group", eventsQuery(e.loc.ID, march(1), march(31), "groupId", "AnyGroup"), []string{}},
		{"before", eventsQuery(e.loc.ID, march(1), march(2), "calendarId", cal), []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.path); !slices.Equal(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}

	r := e.do(t, "DELETE", "/calendars/events/"+demo.ID, jsonObj{})
	mustStatus(t, r, http.StatusCreated)
	if del := mustDecode[map[string]bool](t, r); len(del) != 1 || !del["succeeded"] {
		t.Errorf("delete-event answered %s", r.body)
	}
	mustError(t, e.do(t, "GET", "/calendars/events/appointments/"+demo.ID, nil), http.StatusNotFound, "Appointment not found")
	mustError(t, e.do(t, "DELETE", "/calendars/events/"+demo.ID, jsonObj{}), http.StatusNotFound, "Appointment not found")
	if got := list(eventsQuery(e.loc.ID, march(1), march(31), "calendarId", cal)); !slices.Equal(got, []string{early.ID, late.ID}) {
		t.Errorf("events after delete %v", got)
	}
	events := mustDo[struct{ Events []wireEvent }](t, e, "GET", "/contacts/"+c.ID+"/appointments", nil, http.StatusOK).Events
	if len(events) != 2 {
		t.Errorf("contact's appointments after delete: %+v", events)
	}
}

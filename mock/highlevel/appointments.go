package highlevel

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

type appointmentInput struct {
	CalendarID          opt `json:"calendarId"`
	LocationID          opt `json:"locationId"`
	ContactID           opt `json:"contactId"`
	Title               opt `json:"title"`
	Description         opt `json:"description"`
	MeetingLocationType opt `json:"meetingLocationType"`
	MeetingLocationID   opt `json:"meetingLocationId"`
	AppointmentStatus   opt `json:"appointmentStatus"`
	AssignedUserID      opt `json:"assignedUserId"`
	Address             opt `json:"address"`
	RRule               opt `json:"rrule"`
	StartTime           opt `json:"startTime"`
	EndTime             opt `json:"endTime"`
}

// apply writes the input onto an appointment of loc.
func (in *appointmentInput) apply(ap *store.Appointment, loc store.Location) error {
	if in.CalendarID.Set {
		if !slices.ContainsFunc(loc.Calendars, func(c store.Calendar) bool { return c.ID == in.CalendarID.V }) {
			return pipeline.BadRequest(fmt.Sprintf("Calendar %s not found in location %s", in.CalendarID.V, loc.ID))
		}
		ap.CalendarID = in.CalendarID.V
	}
	for _, f := range []struct {
		o   opt
		dst *string
	}{
		{in.Title, &ap.Title}, {in.Description, &ap.Description}, {in.MeetingLocationType, &ap.MeetingLocationType},
		{in.MeetingLocationID, &ap.MeetingLocationID}, {in.AppointmentStatus, &ap.AppointmentStatus},
		{in.AssignedUserID, &ap.AssignedUserID}, {in.Address, &ap.Address}, {in.RRule, &ap.RRule},
	} {
		f.o.to(f.dst)
	}
	if ap.AppointmentStatus == "" {
		ap.AppointmentStatus = "confirmed"
	}
	length := ap.EndTime.Sub(ap.StartTime)
	if length <= 0 {
		length = 30 * time.Minute
	}
	if in.StartTime.Set {
		start, err := time.Parse(time.RFC3339, in.StartTime.V)
		if err != nil {
			return pipeline.BadRequest("startTime must be an ISO 8601 date-time with offset")
		}
		_, ap.Offset = start.Zone()
		ap.StartTime = start.UTC()
		ap.EndTime = ap.StartTime.Add(length)
	}
	if in.EndTime.Set {
		end, err := time.Parse(time.RFC3339, in.EndTime.V)
		if err != nil {
			return pipeline.BadRequest("endTime must be an ISO 8601 date-time with offset")
		}
		ap.EndTime = end.UTC()
	}
	if !ap.EndTime.After(ap.StartTime) {
		return pipeline.BadRequest("endTime must be after startTime")
	}
	return nil
}

func (a *API) listAppointments(r *pipeline.Request) (pipeline.Response, error) {
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	aps, err := a.Store.Appointments(c.ID)
	if err != nil {
		return pipeline.Response{}, err
	}
	slices.SortStableFunc(aps, func(x, y store.Appointment) int { return x.StartTime.Compare(y.StartTime) })
	return pipeline.JSON(http.StatusOK, map[string]any{"events": mapSlice(aps, viewEvent)}), nil
}

// book creates an appointment for contact c from the input, refusing a
// locationId that is not the contact's, and answers it with status.
func (a *API) book(c store.Contact, in *appointmentInput, status int) (pipeline.Response, error) {
	if in.LocationID.Set && in.LocationID.V != c.LocationID {
		return pipeline.Response{}, pipeline.BadRequest("contact " + c.ID + " is not in location " + in.LocationID.V)
	}
	loc, err := a.Store.LocationShared(c.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	ap := store.Appointment{LocationID: loc.ID}
	if err := in.apply(&ap, loc); err != nil {
		return pipeline.Response{}, err
	}
	created, err := a.Store.CreateAppointment(c.ID, ap)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(status, viewAppointment(created)), nil
}

// createAppointment is the live route: 200, as the vendor documents.
func (a *API) createAppointment(r *pipeline.Request) (pipeline.Response, error) {
	var in appointmentInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	if _, err := a.location(r, in.LocationID.V); err != nil {
		return pipeline.Response{}, err
	}
	c, err := a.Store.Contact(in.ContactID.V)
	if err != nil {
		return pipeline.Response{}, err
	}
	return a.book(c, &in, http.StatusOK)
}

// createContactAppointment is the twin's extension: 201.
func (a *API) createContactAppointment(r *pipeline.Request) (pipeline.Response, error) {
	var in appointmentInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	return a.book(c, &in, http.StatusCreated)
}

// appointment returns the path's appointment and its location when the
// principal may use them.
func (a *API) appointment(r *pipeline.Request) (store.Appointment, store.Location, error) {
	return a.appointmentAt(r, "eventId")
}

// appointmentAt is appointment for the appointment the path parameter
// param names.
func (a *API) appointmentAt(r *pipeline.Request, param string) (store.Appointment, store.Location, error) {
	ap, err := a.Store.Appointment(r.Path[param])
	if err != nil {
		return ap, store.Location{}, err
	}
	loc, err := a.location(r, ap.LocationID)
	return ap, loc, err
}

func (a *API) editAppointment(r *pipeline.Request) (pipeline.Response, error) {
	var in appointmentInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	ap, loc, err := a.appointment(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	updated, err := a.Store.UpdateAppointment(ap.ID, func(ap *store.Appointment) error { return in.apply(ap, loc) })
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, viewAppointment(updated)), nil
}

func (a *API) getAppointment(r *pipeline.Request) (pipeline.Response, error) {
	ap, _, err := a.appointment(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"event": viewCalendarEvent(ap)}), nil
}

// deleteEvent answers 201 {"succeeded": true}, as the calendars service
// documents (spelled unlike the contacts service's "succeded").
func (a *API) deleteEvent(r *pipeline.Request) (pipeline.Response, error) {
	var body map[string]any
	if err := r.Decode(&body); err != nil {
		return pipeline.Response{}, err
	}
	ap, _, err := a.appointment(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if err := a.Store.DeleteAppointment(ap.ID); err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusCreated, map[string]bool{"succeeded": true}), nil
}

// calendarEvents lists a location's appointments starting in the window,
// narrowed by calendar, owner and group, by start time then id.
func (a *API) calendarEvents(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.location(r, r.Query.Get("locationId"))
	if err != nil {
		return pipeline.Response{}, err
	}
	calendar, user, group := r.Query.Get("calendarId"), r.Query.Get("userId"), r.Query.Get("groupId")
	if calendar == "" && user == "" && group == "" {
		return pipeline.Response{}, pipeline.BadRequest("Either of calendarId, userId or groupId is required")
	}
	from, _ := strconv.ParseInt(r.Query.Get("startTime"), 10, 64) // digits, by the spec
	to, _ := strconv.ParseInt(r.Query.Get("endTime"), 10, 64)
	if to < from {
		return pipeline.Response{}, pipeline.BadRequest("endTime must not be before startTime")
	}
	start, end := time.UnixMilli(from), time.UnixMilli(to)
	aps := a.Store.LocationAppointments(loc.ID, func(ap store.Appointment) bool {
		// The twin's calendars belong to no group: a groupId matches none.
		return group == "" && (calendar == "" || ap.CalendarID == calendar) &&
			(user == "" || ap.AssignedUserID == user) && !ap.StartTime.Before(start) && !ap.StartTime.After(end)
	})
	slices.SortFunc(aps, func(x, y store.Appointment) int {
		if c := x.StartTime.Compare(y.StartTime); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return pipeline.JSON(http.StatusOK, map[string]any{"events": mapSlice(aps, viewCalendarEvent)}), nil
}

// --- appointment notes ---

type appointmentNoteInput struct {
	Body   opt `json:"body"`
	UserID opt `json:"userId"`
}

func (in *appointmentNoteInput) apply(n *store.AppointmentNote) error {
	in.Body.to(&n.Body)
	in.UserID.to(&n.UserID)
	return nil
}

// noteAppointment is the owner of an appointment's notes: the path's
// appointment, when the principal may use it.
func (a *API) noteAppointment(r *pipeline.Request) (string, error) {
	ap, _, err := a.appointmentAt(r, "appointmentId")
	return ap.ID, err
}

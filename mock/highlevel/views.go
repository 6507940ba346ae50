package highlevel

import (
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// Wire formats of the vendor's timestamps.
const (
	isoMillis  = "2006-01-02T15:04:05.000Z"
	eventTime  = "2006-01-02 15:04:05"
	offsetTime = "2006-01-02T15:04:05-07:00"
)

func iso(t time.Time) string { return t.UTC().Format(isoMillis) }

type contactView struct {
	ID                 string                      `json:"id"`
	Name               string                      `json:"name,omitempty"`
	LocationID         string                      `json:"locationId"`
	FirstName          string                      `json:"firstName,omitempty"`
	LastName           string                      `json:"lastName,omitempty"`
	Email              string                      `json:"email,omitempty"`
	EmailLowerCase     string                      `json:"emailLowerCase,omitempty"`
	Timezone           string                      `json:"timezone,omitempty"`
	CompanyName        string                      `json:"companyName,omitempty"`
	Phone              string                      `json:"phone,omitempty"`
	DND                bool                        `json:"dnd"`
	DNDSettings        map[string]store.DNDSetting `json:"dndSettings,omitempty"`
	InboundDNDSettings map[string]store.DNDSetting `json:"inboundDndSettings,omitempty"`
	Type               string                      `json:"type,omitempty"`
	Source             string                      `json:"source,omitempty"`
	AssignedTo         string                      `json:"assignedTo,omitempty"`
	Address1           string                      `json:"address1,omitempty"`
	City               string                      `json:"city,omitempty"`
	State              string                      `json:"state,omitempty"`
	Country            string                      `json:"country,omitempty"`
	PostalCode         string                      `json:"postalCode,omitempty"`
	Website            string                      `json:"website,omitempty"`
	Gender             string                      `json:"gender,omitempty"`
	Tags               []string                    `json:"tags"`
	DateOfBirth        string                      `json:"dateOfBirth,omitempty"`
	BirthMonth         *int                        `json:"birthMonth,omitempty"`
	BirthDay           *int                        `json:"birthDay,omitempty"`
	DateAdded          string                      `json:"dateAdded"`
	DateUpdated        string                      `json:"dateUpdated"`
	Deleted            bool                        `json:"deleted"`
	FirstNameLowerCase string                      `json:"firstNameLowerCase,omitempty"`
	LastNameLowerCase  string                      `json:"lastNameLowerCase,omitempty"`
	FullNameLowerCase  string                      `json:"fullNameLowerCase,omitempty"`
	CustomFields       []store.CustomFieldValue    `json:"customFields"`
	BusinessID         string                      `json:"businessId,omitempty"`
}

func viewContact(c store.Contact) contactView {
	v := contactView{
		ID: c.ID, Name: c.Name, LocationID: c.LocationID, FirstName: c.FirstName, LastName: c.LastName,
		Email: c.Email, EmailLowerCase: strings.ToLower(c.Email), Timezone: c.Timezone,
		CompanyName: c.CompanyName, Phone: c.Phone, DND: c.DND, DNDSettings: c.DNDSettings,
		InboundDNDSettings: c.InboundDNDSettings, Type: c.Type, Source: c.Source, AssignedTo: c.AssignedTo,
		Address1: c.Address1, City: c.City, State: c.State, Country: c.Country, PostalCode: c.PostalCode,
		Website: c.Website, Gender: c.Gender, Tags: c.Tags, DateAdded: iso(c.DateAdded),
		DateUpdated: iso(c.DateUpdated), FirstNameLowerCase: strings.ToLower(c.FirstName),
		LastNameLowerCase: strings.ToLower(c.LastName), FullNameLowerCase: strings.ToLower(c.Name),
		CustomFields: c.CustomFields, BusinessID: c.BusinessID,
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.CustomFields == nil {
		v.CustomFields = []store.CustomFieldValue{}
	}
	if d := c.DateOfBirth; d != nil {
		// The vendor counts birth months from 0, as JavaScript does.
		month, day := int(d.Month())-1, d.Day()
		v.DateOfBirth, v.BirthMonth, v.BirthDay = d.Format(time.DateOnly), &month, &day
	}
	return v
}

// viewCreated is the contact as the create answers it: as GET does, but
// with dateOfBirth as an ISO time at midnight UTC, as the vendor documents
// the create response (CreateContactSchema) apart from the others
// (GetContectByIdSchema: YYYY-MM-DD).
func viewCreated(c store.Contact) contactView {
	v := viewContact(c)
	v.DateOfBirth = birthISO(c)
	return v
}

// birthISO is the contact's date of birth as an ISO time, "" without one.
func birthISO(c store.Contact) string {
	if c.DateOfBirth == nil {
		return ""
	}
	return iso(*c.DateOfBirth)
}

// listedContactView is a contact in a list: the vendor's list items add
// attributions and followers.
type listedContactView struct {
	contactView
	Attributions []any    `json:"attributions"`
	Followers    []string `json:"followers"`
}

func viewListed(c store.Contact) listedContactView {
	return listedContactView{contactView: viewContact(c), Attributions: []any{}, Followers: nonNil(c.Followers)}
}

// projectedContactView is a contact in a list as the vendor documents its
// list items (ContactsSearchSchema), a projection of the full contact.
type projectedContactView struct {
	ID           string                   `json:"id"`
	LocationID   string                   `json:"locationId"`
	Email        string                   `json:"email,omitempty"`
	Timezone     string                   `json:"timezone,omitempty"`
	Country      string                   `json:"country,omitempty"`
	Source       string                   `json:"source,omitempty"`
	DateAdded    string                   `json:"dateAdded"`
	CustomFields []store.CustomFieldValue `json:"customFields"`
	Tags         []string                 `json:"tags"`
	BusinessID   string                   `json:"businessId,omitempty"`
	Attributions []any                    `json:"attributions"`
	Followers    []string                 `json:"followers"`
}

// listed is c as this API lists contacts: the full contact with
// attributions and followers (viewListed), or with ListProjection the
// vendor's projection.
func (a *API) listed(c store.Contact) any {
	if a.ListProjection {
		return projected(c)
	}
	return viewListed(c)
}

// searched is c as the search lists it: as listed, with the sort values
// that page after it.
func (a *API) searched(c store.Contact, after []any) any {
	if a.ListProjection {
		return struct {
			projectedContactView
			SearchAfter []any `json:"searchAfter"`
		}{projected(c), after}
	}
	return struct {
		listedContactView
		SearchAfter []any `json:"searchAfter"`
	}{viewListed(c), after}
}

func projected(c store.Contact) projectedContactView {
	v := viewContact(c)
	return projectedContactView{ID: v.ID, LocationID: v.LocationID, Email: v.Email, Timezone: v.Timezone,
		Country: v.Country, Source: v.Source, DateAdded: v.DateAdded, CustomFields: v.CustomFields, Tags: v.Tags,
		BusinessID: v.BusinessID, Attributions: []any{}, Followers: nonNil(c.Followers)}
}

type taskView struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Body       string `json:"body,omitempty"`
	AssignedTo string `json:"assignedTo,omitempty"`
	DueDate    string `json:"dueDate"`
	Completed  bool   `json:"completed"`
	ContactID  string `json:"contactId"`
}

func viewTask(t store.Task) taskView {
	return taskView{ID: t.ID, Title: t.Title, Body: t.Body, AssignedTo: t.AssignedTo,
		DueDate: iso(t.DueDate), Completed: t.Completed, ContactID: t.ContactID}
}

type noteView struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	UserID    string `json:"userId,omitempty"`
	DateAdded string `json:"dateAdded"`
	ContactID string `json:"contactId"`
	Title     string `json:"title,omitempty"`
	Color     string `json:"color,omitempty"`
	Pinned    bool   `json:"pinned"`
}

func viewNote(n store.Note) noteView {
	return noteView{ID: n.ID, Body: n.Body, UserID: n.UserID, DateAdded: iso(n.DateAdded),
		ContactID: n.ContactID, Title: n.Title, Color: n.Color, Pinned: n.Pinned}
}

// appointmentNoteView is a note of an appointment, as the calendars service
// answers it.
type appointmentNoteView struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	UserID    string `json:"userId,omitempty"`
	DateAdded string `json:"dateAdded"`
	ContactID string `json:"contactId"`
}

func viewAppointmentNote(n store.AppointmentNote) appointmentNoteView {
	return appointmentNoteView{ID: n.ID, Body: n.Body, UserID: n.UserID, DateAdded: iso(n.DateAdded), ContactID: n.ContactID}
}

// eventView is an appointment as GET /contacts/{id}/appointments lists it.
type eventView struct {
	ID                string   `json:"id"`
	CalendarID        string   `json:"calendarId"`
	Status            string   `json:"status"`
	Title             string   `json:"title,omitempty"`
	AssignedUserID    string   `json:"assignedUserId,omitempty"`
	Notes             string   `json:"notes,omitempty"`
	StartTime         string   `json:"startTime"`
	EndTime           string   `json:"endTime"`
	Address           string   `json:"address,omitempty"`
	LocationID        string   `json:"locationId"`
	ContactID         string   `json:"contactId"`
	AppointmentStatus string   `json:"appointmentStatus"`
	Users             []string `json:"users"`
	DateAdded         string   `json:"dateAdded"`
	DateUpdated       string   `json:"dateUpdated"`
	AssignedResources []string `json:"assignedResources"`
}

func viewEvent(a store.Appointment) eventView {
	status := "booked"
	if a.AppointmentStatus == "cancelled" {
		status = "cancelled"
	}
	return eventView{ID: a.ID, CalendarID: a.CalendarID, Status: status, Title: a.Title,
		AssignedUserID: a.AssignedUserID, Notes: a.Description, StartTime: a.StartTime.UTC().Format(eventTime),
		EndTime: a.EndTime.UTC().Format(eventTime), Address: a.Address, LocationID: a.LocationID,
		ContactID: a.ContactID, AppointmentStatus: a.AppointmentStatus, Users: appointmentUsers(a),
		DateAdded: a.DateAdded.UTC().Format(eventTime), DateUpdated: a.DateUpdated.UTC().Format(eventTime),
		AssignedResources: []string{}}
}

// appointmentView is an appointment as the calendars service returns it,
// times in the offset the client wrote them in.
type appointmentView struct {
	ID                  string `json:"id"`
	CalendarID          string `json:"calendarId"`
	LocationID          string `json:"locationId"`
	ContactID           string `json:"contactId"`
	StartTime           string `json:"startTime"`
	EndTime             string `json:"endTime"`
	Title               string `json:"title,omitempty"`
	MeetingLocationType string `json:"meetingLocationType,omitempty"`
	AppointmentStatus   string `json:"appointmentStatus"`
	AssignedUserID      string `json:"assignedUserId,omitempty"`
	Address             string `json:"address,omitempty"`
	IsRecurring         bool   `json:"isRecurring"`
	RRule               string `json:"rrule,omitempty"`
}

func viewAppointment(a store.Appointment) appointmentView {
	zone := time.FixedZone("", a.Offset)
	return appointmentView{ID: a.ID, CalendarID: a.CalendarID, LocationID: a.LocationID, ContactID: a.ContactID,
		StartTime: a.StartTime.In(zone).Format(offsetTime), EndTime: a.EndTime.In(zone).Format(offsetTime),
		Title: a.Title, MeetingLocationType: a.MeetingLocationType, AppointmentStatus: a.AppointmentStatus,
		AssignedUserID: a.AssignedUserID, Address: a.Address, IsRecurring: a.RRule != "", RRule: a.RRule}
}

// calendarEventView is an appointment as the calendars service reads it
// back (GET /calendars/events...), times in the offset it was booked in.
type calendarEventView struct {
	ID                string   `json:"id"`
	Address           string   `json:"address,omitempty"`
	Title             string   `json:"title"`
	CalendarID        string   `json:"calendarId"`
	LocationID        string   `json:"locationId"`
	ContactID         string   `json:"contactId"`
	GroupID           string   `json:"groupId"`
	AppointmentStatus string   `json:"appointmentStatus"`
	AssignedUserID    string   `json:"assignedUserId"`
	Users             []string `json:"users"`
	Description       string   `json:"description,omitempty"`
	IsRecurring       bool     `json:"isRecurring"`
	RRule             string   `json:"rrule,omitempty"`
	StartTime         string   `json:"startTime"`
	EndTime           string   `json:"endTime"`
	DateAdded         string   `json:"dateAdded"`
	DateUpdated       string   `json:"dateUpdated"`
	AssignedResources []string `json:"assignedResources"`
}

func viewCalendarEvent(a store.Appointment) calendarEventView {
	zone := time.FixedZone("", a.Offset)
	at := func(t time.Time) string { return t.In(zone).Format(offsetTime) }
	return calendarEventView{ID: a.ID, Address: a.Address, Title: a.Title, CalendarID: a.CalendarID,
		LocationID: a.LocationID, ContactID: a.ContactID, AppointmentStatus: a.AppointmentStatus,
		AssignedUserID: a.AssignedUserID, Users: appointmentUsers(a), Description: a.Description, IsRecurring: a.RRule != "",
		RRule: a.RRule, StartTime: at(a.StartTime), EndTime: at(a.EndTime), DateAdded: at(a.DateAdded),
		DateUpdated: at(a.DateUpdated), AssignedResources: []string{}}
}

// appointmentUsers is an appointment's owners: its assigned user, if any.
func appointmentUsers(a store.Appointment) []string {
	if a.AssignedUserID == "" {
		return []string{}
	}
	return []string{a.AssignedUserID}
}

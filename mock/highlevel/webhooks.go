package highlevel

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// The webhook events of openapi/highlevel.yaml (x-webhooks).
const (
	ContactCreate     = "ContactCreate"
	ContactUpdate     = "ContactUpdate"
	ContactDelete     = "ContactDelete"
	ContactTagUpdate  = "ContactTagUpdate"
	ContactDndUpdate  = "ContactDndUpdate"
	TaskCreate        = "TaskCreate"
	TaskComplete      = "TaskComplete"
	TaskDelete        = "TaskDelete"
	NoteCreate        = "NoteCreate"
	NoteUpdate        = "NoteUpdate"
	NoteDelete        = "NoteDelete"
	AppointmentCreate = "AppointmentCreate"
	AppointmentUpdate = "AppointmentUpdate"
	AppointmentDelete = "AppointmentDelete"
	AppUninstall      = "AppUninstall"
)

// uninstallType is AppUninstall's body type, as the vendor's example
// spells it.
const uninstallType = "UNINSTALL"

// EventOptions are the realism toggles that shape events (off by default).
// The tags are the admin API's and the config file's (webhooks:).
type EventOptions struct {
	// UpdateAfterCreate follows each ContactCreate with a ContactUpdate, as
	// the live API is reported to (highlevel-api-docs#27).
	UpdateAfterCreate bool `json:"updateAfterCreate" yaml:"updateAfterCreate"`
	// MissingFields leaves out TaskCreate's contactId and body and the Note
	// events' userId, as live payloads are reported to.
	MissingFields bool `json:"missingFields" yaml:"missingFields"`
	// UpdateOnTagChange sends a ContactUpdate with each ContactTagUpdate of
	// a change of only the tags, as the live API is reported to.
	UpdateOnTagChange bool `json:"updateOnTagChange" yaml:"updateOnTagChange"`
}

// Event is a webhook event, before it is addressed to an app.
type Event struct {
	Type       string
	LocationID string
	// ContactID is the contact the event is about: deliveries are ordered
	// per contact.
	ContactID string
	payload   hookPayload
}

// hookPayload is an event's body without its envelope.
type hookPayload interface {
	with(hookEnvelope) any
}

// hookEnvelope is what every HighLevel webhook body carries.
type hookEnvelope struct {
	Type       string `json:"type"`
	LocationID string `json:"locationId"`
	CompanyID  string `json:"companyId,omitempty"`
	AppID      string `json:"appId"`
	VersionID  string `json:"versionId"`
	WebhookID  string `json:"webhookId"`
	Timestamp  string `json:"timestamp"`
}

// Recipient is the app a delivery is for, as the envelope names it.
type Recipient struct {
	// AppID is the app's id; VersionID its installed version's (the twin's
	// apps have one version, whose id is the app's, as in the vendor's
	// examples); CompanyID the agency the location belongs to.
	AppID, VersionID, CompanyID string
}

// Body encodes the event as delivered to one app: its fields next to the
// envelope, at the time the event happened.
func (e Event) Body(to Recipient, webhookID string, at time.Time) ([]byte, error) {
	return json.Marshal(e.payload.with(hookEnvelope{Type: e.Type, LocationID: e.LocationID, CompanyID: to.CompanyID,
		AppID: to.AppID, VersionID: to.VersionID, WebhookID: webhookID, Timestamp: iso(at)}))
}

// Events returns the webhook events a change to the store makes, in the
// order they are sent; none for a change that makes none (a task edit that
// does not complete it: the API has no TaskUpdate).
func Events(ch store.Change, o EventOptions) []Event {
	switch rec := ch.Record().(type) {
	case store.Contact:
		before, _ := ch.Before.(store.Contact)
		return contactEvents(ch.Op, before, rec, o)
	case store.Task:
		before, _ := ch.Before.(store.Task)
		return taskEvents(ch.Op, ch.Location, before, rec, o)
	case store.Note:
		return noteEvents(ch.Op, ch.Location, rec, o)
	case store.Appointment:
		return appointmentEvents(ch.Op, rec)
	}
	return nil
}

// contactEvents: a change of fields is a ContactUpdate; a change of only
// the tags a ContactTagUpdate (with a ContactUpdate first under
// UpdateOnTagChange), of only the DND settings a ContactDndUpdate; a change
// of both kinds sends ContactUpdate first, then the others. A save that
// changes nothing is still a ContactUpdate. A contact created with DND set
// carries its DND settings in its ContactCreate.
func contactEvents(op store.Op, before, c store.Contact, o EventOptions) []Event {
	ev := func(typ string, dnd bool) Event {
		return Event{Type: typ, LocationID: c.LocationID, ContactID: c.ID, payload: contactHookOf(c, dnd)}
	}
	switch op {
	case store.Created:
		create := ev(ContactCreate, c.DND || len(c.DNDSettings) > 0)
		if o.UpdateAfterCreate {
			return []Event{create, ev(ContactUpdate, false)}
		}
		return []Event{create}
	case store.Deleted:
		return []Event{ev(ContactDelete, false)}
	}
	tags := !slices.Equal(before.Tags, c.Tags)
	dnd := before.DND != c.DND || !maps.Equal(before.DNDSettings, c.DNDSettings) ||
		!maps.Equal(before.InboundDNDSettings, c.InboundDNDSettings)
	rest, after := before, c
	rest.Tags, after.Tags = nil, nil
	rest.DND, rest.DNDSettings, rest.InboundDNDSettings = after.DND, after.DNDSettings, after.InboundDNDSettings
	rest.DateUpdated = after.DateUpdated
	var out []Event
	if !reflect.DeepEqual(rest, after) || (!tags && !dnd) || (tags && o.UpdateOnTagChange) {
		out = append(out, ev(ContactUpdate, false))
	}
	if tags {
		out = append(out, ev(ContactTagUpdate, false))
	}
	if dnd {
		out = append(out, ev(ContactDndUpdate, true))
	}
	return out
}

type contactHook struct {
	hookEnvelope
	ID           string                      `json:"id"`
	Address1     string                      `json:"address1,omitempty"`
	City         string                      `json:"city,omitempty"`
	State        string                      `json:"state,omitempty"`
	CompanyName  string                      `json:"companyName,omitempty"`
	Country      string                      `json:"country,omitempty"`
	Source       string                      `json:"source,omitempty"`
	DateAdded    string                      `json:"dateAdded"`
	DateOfBirth  string                      `json:"dateOfBirth,omitempty"`
	DND          bool                        `json:"dnd"`
	DNDSettings  map[string]store.DNDSetting `json:"dndSettings,omitempty"`
	Email        string                      `json:"email,omitempty"`
	Name         string                      `json:"name,omitempty"`
	FirstName    string                      `json:"firstName,omitempty"`
	LastName     string                      `json:"lastName,omitempty"`
	Phone        string                      `json:"phone,omitempty"`
	PostalCode   string                      `json:"postalCode,omitempty"`
	Tags         []string                    `json:"tags"`
	Website      string                      `json:"website,omitempty"`
	Attachments  []string                    `json:"attachments"`
	AssignedTo   string                      `json:"assignedTo,omitempty"`
	CustomFields []store.CustomFieldValue    `json:"customFields"`
}

func (h contactHook) with(e hookEnvelope) any { h.hookEnvelope = e; return h }

// contactHookOf is a contact as its events carry it; only ContactDndUpdate,
// and ContactCreate with DND set, carry the DND settings, in full (and none
// carries the inbound ones, as live).
func contactHookOf(c store.Contact, dnd bool) contactHook {
	v := viewContact(c)
	h := contactHook{ID: v.ID, Address1: v.Address1, City: v.City, State: v.State, CompanyName: v.CompanyName,
		Country: v.Country, Source: v.Source, DateAdded: v.DateAdded, DateOfBirth: birthISO(c), DND: v.DND,
		Email: v.Email, Name: v.Name, FirstName: v.FirstName, LastName: v.LastName, Phone: v.Phone,
		PostalCode: v.PostalCode, Tags: v.Tags, Website: v.Website, Attachments: []string{},
		AssignedTo: v.AssignedTo, CustomFields: v.CustomFields}
	if dnd {
		h.DNDSettings = fullDNDSettings(c)
	}
	return h
}

// dndChannels are the channels of the vendor's DndSettings.
var dndChannels = []string{"Call", "Email", "SMS", "WhatsApp", "GMB", "FB"}

// fullDNDSettings is every channel's DND state, as live DND events carry
// it: the contact's own setting of a channel, else active when its dnd is
// set and inactive when not (the twin's reading of the flag).
func fullDNDSettings(c store.Contact) map[string]store.DNDSetting {
	status := "inactive"
	if c.DND {
		status = "active"
	}
	out := make(map[string]store.DNDSetting, len(dndChannels))
	for _, ch := range dndChannels {
		out[ch] = store.DNDSetting{Status: status}
	}
	maps.Copy(out, c.DNDSettings)
	return out
}

func taskEvents(op store.Op, location string, before, t store.Task, o EventOptions) []Event {
	typ := TaskCreate
	switch {
	case op == store.Deleted:
		typ = TaskDelete
	case op == store.Updated && !before.Completed && t.Completed:
		typ = TaskComplete
	case op == store.Updated:
		return nil
	}
	v := viewTask(t)
	h := taskHook{ID: v.ID, AssignedTo: v.AssignedTo, Body: v.Body, ContactID: v.ContactID, Title: v.Title,
		DateAdded: iso(t.DateAdded), DueDate: v.DueDate}
	if typ == TaskCreate && o.MissingFields {
		h.ContactID, h.Body = "", ""
	}
	return []Event{{Type: typ, LocationID: location, ContactID: t.ContactID, payload: h}}
}

type taskHook struct {
	hookEnvelope
	ID         string `json:"id"`
	AssignedTo string `json:"assignedTo,omitempty"`
	Body       string `json:"body,omitempty"`
	ContactID  string `json:"contactId,omitempty"`
	Title      string `json:"title"`
	DateAdded  string `json:"dateAdded"`
	DueDate    string `json:"dueDate"`
}

func (h taskHook) with(e hookEnvelope) any { h.hookEnvelope = e; return h }

func noteEvents(op store.Op, location string, n store.Note, o EventOptions) []Event {
	typ := map[store.Op]string{store.Created: NoteCreate, store.Updated: NoteUpdate, store.Deleted: NoteDelete}[op]
	h := noteHook{ID: n.ID, Body: n.Body, ContactID: n.ContactID, UserID: n.UserID, DateAdded: iso(n.DateAdded)}
	if o.MissingFields {
		h.UserID = ""
	}
	return []Event{{Type: typ, LocationID: location, ContactID: n.ContactID, payload: h}}
}

type noteHook struct {
	hookEnvelope
	ID        string `json:"id"`
	Body      string `json:"body"`
	ContactID string `json:"contactId"`
	UserID    string `json:"userId,omitempty"`
	DateAdded string `json:"dateAdded"`
}

func (h noteHook) with(e hookEnvelope) any { h.hookEnvelope = e; return h }

func appointmentEvents(op store.Op, a store.Appointment) []Event {
	typ := map[store.Op]string{store.Created: AppointmentCreate, store.Updated: AppointmentUpdate,
		store.Deleted: AppointmentDelete}[op]
	zone := time.FixedZone("", a.Offset)
	at := func(t time.Time) string { return t.In(zone).Format(offsetTime) }
	users := []string{}
	if a.AssignedUserID != "" {
		users = append(users, a.AssignedUserID)
	}
	h := appointmentHook{Appointment: appointmentHookBody{ID: a.ID, Address: a.Address, Title: a.Title,
		CalendarID: a.CalendarID, ContactID: a.ContactID, AppointmentStatus: a.AppointmentStatus,
		AssignedUserID: a.AssignedUserID, Users: users, Notes: a.Description, StartTime: at(a.StartTime),
		EndTime: at(a.EndTime), DateAdded: at(a.DateAdded), DateUpdated: at(a.DateUpdated)}}
	return []Event{{Type: typ, LocationID: a.LocationID, ContactID: a.ContactID, payload: h}}
}

type appointmentHook struct {
	hookEnvelope
	Appointment appointmentHookBody `json:"appointment"`
}

type appointmentHookBody struct {
	ID                string   `json:"id"`
	Address           string   `json:"address,omitempty"`
	Title             string   `json:"title,omitempty"`
	CalendarID        string   `json:"calendarId"`
	ContactID         string   `json:"contactId"`
	AppointmentStatus string   `json:"appointmentStatus"`
	AssignedUserID    string   `json:"assignedUserId,omitempty"`
	Users             []string `json:"users"`
	Notes             string   `json:"notes,omitempty"`
	StartTime         string   `json:"startTime"`
	EndTime           string   `json:"endTime"`
	DateAdded         string   `json:"dateAdded"`
	DateUpdated       string   `json:"dateUpdated"`
}

func (h appointmentHook) with(e hookEnvelope) any { h.hookEnvelope = e; return h }

// UninstallEvent is the AppUninstall an app is sent when it is removed
// from a location.
func UninstallEvent(location string) Event {
	return Event{Type: AppUninstall, LocationID: location, payload: uninstallHook{}}
}

type uninstallHook struct{ hookEnvelope }

func (h uninstallHook) with(e hookEnvelope) any {
	h.hookEnvelope = e
	h.Type = uninstallType
	return h
}

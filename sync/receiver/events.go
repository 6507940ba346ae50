package receiver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sides, as converge jobs name them.
const (
	SideHighLevel = "hl"
	SideM360      = "m360"
)

// Entity kinds the events are about.
const (
	KindContact     = "contact"
	KindTask        = "task"
	KindNote        = "note"
	KindAppointment = "appointment"
	KindEvent       = "event" // a Marketing 360 calendar event
)

// errMalformed: a signed body that is not an event.
var errMalformed = errors.New("receiver: malformed event")

// event is what the receiver reads from a body.
type event struct {
	ID     string // webhookId / delivery id; a hash of the body when absent
	Tenant string
	Type   string
	// Kind and EntityID are empty for a type the sync does not know.
	Kind, EntityID, Version string
	// Parent is the contact a task, note or appointment is on, when the
	// body names it: reading the record needs it.
	Parent string
	// At is when the event happened, when the body says; zero otherwise.
	At time.Time
}

// known tells whether the sync acts on the event.
func (e event) known() bool { return e.Kind != "" }

// highLevelKinds maps HighLevel event types to the kind they are about.
var highLevelKinds = map[string]string{
	"ContactCreate": KindContact, "ContactUpdate": KindContact, "ContactDelete": KindContact,
	"ContactTagUpdate": KindContact, "ContactDndUpdate": KindContact,
	"TaskCreate": KindTask, "TaskComplete": KindTask, "TaskDelete": KindTask,
	"NoteCreate": KindNote, "NoteUpdate": KindNote, "NoteDelete": KindNote,
	"AppointmentCreate": KindAppointment, "AppointmentUpdate": KindAppointment, "AppointmentDelete": KindAppointment,
}

// m360Kinds maps Marketing 360 event types to the kind they are about.
var m360Kinds = map[string]string{
	"contact.created": KindContact, "contact.updated": KindContact, "contact.deleted": KindContact,
	"task.created": KindTask, "task.updated": KindTask, "task.completed": KindTask, "task.deleted": KindTask,
	"note.created": KindNote, "event.created": KindEvent,
}

// highLevelBody is the part of a HighLevel webhook body the receiver reads.
type highLevelBody struct {
	Type        string          `json:"type"`
	LocationID  string          `json:"locationId"`
	WebhookID   string          `json:"webhookId"`
	Timestamp   string          `json:"timestamp"`
	ID          json.RawMessage `json:"id"`
	ContactID   json.RawMessage `json:"contactId"`
	DateUpdated string          `json:"dateUpdated"`
	Appointment *struct {
		ID          json.RawMessage `json:"id"`
		ContactID   json.RawMessage `json:"contactId"`
		DateUpdated string          `json:"dateUpdated"`
	} `json:"appointment"`
}

// parseHighLevel reads a HighLevel webhook body: the record's id is "id",
// an appointment's "appointment.id"; its version dateUpdated when the body
// has it, else the event's timestamp; the parent of a task, note or
// appointment its contactId (absent from some live TaskCreate payloads).
func parseHighLevel(body []byte) (event, error) {
	var b highLevelBody
	if err := json.Unmarshal(body, &b); err != nil {
		return event{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if b.Type == "" || b.LocationID == "" {
		return event{}, fmt.Errorf("%w: no type or locationId", errMalformed)
	}
	e := event{ID: b.WebhookID, Tenant: b.LocationID, Type: b.Type}
	if b.Timestamp != "" {
		at, err := time.Parse(time.RFC3339Nano, b.Timestamp)
		if err != nil {
			return event{}, fmt.Errorf("%w: timestamp %q", errMalformed, b.Timestamp)
		}
		e.At = at
	}
	if e.ID == "" {
		e.ID = bodyID(body)
	}
	kind, ok := highLevelKinds[b.Type]
	if !ok {
		return e, nil
	}
	id, version, parent := b.ID, b.DateUpdated, b.ContactID
	if kind == KindAppointment {
		if b.Appointment == nil {
			return event{}, fmt.Errorf("%w: %s without appointment", errMalformed, b.Type)
		}
		id, version, parent = b.Appointment.ID, b.Appointment.DateUpdated, b.Appointment.ContactID
	}
	e.Kind, e.EntityID, e.Version = kind, idText(id), version
	if kind != KindContact {
		e.Parent = idText(parent)
	}
	if e.EntityID == "" {
		return event{}, fmt.Errorf("%w: %s without the record's id", errMalformed, b.Type)
	}
	if e.Version == "" {
		e.Version = b.Timestamp
	}
	return e, nil
}

// m360Body is the part of a Marketing 360 webhook body the receiver reads.
type m360Body struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Occurred  *int64          `json:"occurred"`
	AccountID json.RawMessage `json:"accountId"`
	Data      *struct {
		ID        json.RawMessage `json:"id"`
		ContactID json.RawMessage `json:"contactId"`
		Updated   json.RawMessage `json:"updated"`
	} `json:"data"`
}

// parseM360 reads a Marketing 360 webhook body {id, type, occurred,
// accountId, data}: the record is data; its version data.updated when
// there, else occurred; the parent of a task, note or event its contactId.
func parseM360(body []byte) (event, error) {
	var b m360Body
	if err := json.Unmarshal(body, &b); err != nil {
		return event{}, fmt.Errorf("%w: %w", errMalformed, err)
	}
	e := event{ID: b.ID, Tenant: idText(b.AccountID), Type: b.Type}
	if e.Type == "" || e.Tenant == "" {
		return event{}, fmt.Errorf("%w: no type or accountId", errMalformed)
	}
	if b.Occurred != nil {
		e.At = time.Unix(*b.Occurred, 0).UTC()
	}
	if e.ID == "" {
		e.ID = bodyID(body)
	}
	kind, ok := m360Kinds[b.Type]
	if !ok {
		return e, nil
	}
	if b.Data == nil {
		return event{}, fmt.Errorf("%w: %s without data", errMalformed, b.Type)
	}
	e.Kind, e.EntityID, e.Version = kind, idText(b.Data.ID), idText(b.Data.Updated)
	if kind != KindContact {
		e.Parent = idText(b.Data.ContactID)
	}
	if e.EntityID == "" {
		return event{}, fmt.Errorf("%w: %s without the record's id", errMalformed, b.Type)
	}
	if e.Version == "" && b.Occurred != nil {
		e.Version = strconv.FormatInt(*b.Occurred, 10)
	}
	return e, nil
}

// idText is an id given as a JSON string or number, as text; "" for
// anything else.
func idText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if len(raw) > 0 && raw[0] != '"' && json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// bodyID names an event that carries no id by its bytes, so that the same
// body twice is stored once.
func bodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

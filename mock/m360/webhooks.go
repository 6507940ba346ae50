package m360

import (
	"encoding/json"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// The webhook events of openapi/marketing360.yaml (x-webhooks); the same
// names a subscription lists.
const (
	ContactCreated = "contact.created"
	ContactUpdated = "contact.updated"
	ContactDeleted = "contact.deleted"
	TaskCreated    = "task.created"
	TaskCompleted  = "task.completed"
	NoteCreated    = "note.created"
	EventCreated   = "event.created"
)

// Event is a webhook event of an account, before it is addressed to a
// subscription.
type Event struct {
	Type      string
	AccountID int64
	// ContactID is the contact the event is about: deliveries are ordered
	// per contact.
	ContactID int64
	data      any
}

// delivery is the body of every delivery.
type delivery struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Occurred  int64  `json:"occurred"`
	AccountID int64  `json:"accountId"`
	Data      any    `json:"data"`
}

// Body encodes the event as delivered under id, at the time it happened:
// {id, type, occurred, accountId, data}, data being the record as the API
// returns it.
func (e Event) Body(id string, at time.Time) ([]byte, error) {
	return json.Marshal(delivery{ID: id, Type: e.Type, Occurred: at.Unix(), AccountID: e.AccountID, Data: e.data})
}

// Events returns the webhook events a change to the store makes: none for a
// change the catalog has no event for (a task edit that does not complete
// it, a note or calendar event edited or deleted).
func Events(ch store.Change) []Event {
	switch after := ch.After.(type) {
	case store.M360Contact:
		typ := ContactCreated
		if ch.Op == store.Updated {
			typ = ContactUpdated
		}
		return []Event{{Type: typ, AccountID: after.AccountID, ContactID: after.ID, data: viewContact(after)}}
	case store.M360Task:
		before, _ := ch.Before.(store.M360Task)
		switch {
		case ch.Op == store.Created:
			return []Event{{Type: TaskCreated, AccountID: after.AccountID, ContactID: after.ContactID, data: viewTask(after)}}
		case !before.Completed && after.Completed:
			return []Event{{Type: TaskCompleted, AccountID: after.AccountID, ContactID: after.ContactID, data: viewTask(after)}}
		}
	case store.M360Note:
		if ch.Op == store.Created {
			return []Event{{Type: NoteCreated, AccountID: after.AccountID, ContactID: after.ContactID, data: viewNote(after)}}
		}
	case store.M360Event:
		if ch.Op == store.Created {
			return []Event{{Type: EventCreated, AccountID: after.AccountID, ContactID: after.ContactID, data: viewEvent(after)}}
		}
	}
	if c, ok := ch.Before.(store.M360Contact); ok && ch.Op == store.Deleted {
		return []Event{{Type: ContactDeleted, AccountID: c.AccountID, ContactID: c.ID, data: viewContact(c)}}
	}
	return nil
}

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
	TaskUpdated    = "task.updated"
	TaskCompleted  = "task.completed"
	TaskDeleted    = "task.deleted"
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
// change the catalog has no event for (a note or calendar event edited or
// deleted). A task's edit that completes it is a task.completed, any other a
// task.updated.
func Events(ch store.Change) []Event {
	types := map[store.Op]string{}
	var account, contact int64
	var data any
	switch rec := ch.Record().(type) {
	case store.M360Contact:
		types = map[store.Op]string{store.Created: ContactCreated, store.Updated: ContactUpdated, store.Deleted: ContactDeleted}
		account, contact, data = rec.AccountID, rec.ID, viewContact(rec)
	case store.M360Task:
		types[store.Created], types[store.Updated], types[store.Deleted] = TaskCreated, TaskUpdated, TaskDeleted
		if before, _ := ch.Before.(store.M360Task); !before.Completed && rec.Completed {
			types[store.Updated] = TaskCompleted
		}
		account, contact, data = rec.AccountID, rec.ContactID, viewTask(rec)
	case store.M360Note:
		types[store.Created] = NoteCreated
		account, contact, data = rec.AccountID, rec.ContactID, viewNote(rec)
	case store.M360Event:
		types[store.Created] = EventCreated
		account, contact, data = rec.AccountID, rec.ContactID, viewEvent(rec)
	}
	typ, ok := types[ch.Op]
	if !ok {
		return nil
	}
	return []Event{{Type: typ, AccountID: account, ContactID: contact, data: data}}
}

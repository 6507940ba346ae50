package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// upsertM360Contact makes the Marketing 360 contact carry want's mapped
// fields and returns its id: the mapped one (mappedID), or one created
// through the ledger l (by create, createContactCall's) or adopted. "" when the mapped contact
// was deleted in Marketing 360: a person's deletion is not undone. A
// contact this call just created from want carries it already and is not
// read again.
func (c *Converger) upsertM360Contact(ctx context.Context, log *slog.Logger, l *ledger, mappedID string, create effectRun,
	want m360api.ContactInput) (string, error) {
	id := mappedID
	if id == "" {
		r, err := c.runEffect(ctx, l, create)
		if err != nil || r.id == "" || r.made {
			return r.id, err
		}
		id = r.id
	}
	n, err := parseM360ID(id)
	if err != nil {
		return "", err
	}
	cur, err := c.m360.Contact(ctx, n)
	switch {
	case m360api.IsNotFound(err) && mappedID != "":
		log.WarnContext(ctx, "the Marketing 360 contact was deleted there; not created again", logkey.Entity, id)
		return "", nil
	case err != nil:
		return "", err
	}
	body, changed := mergeContact(cur, want)
	if !changed {
		return id, nil
	}
	if err := c.m360.ReplaceContact(ctx, n, body); err != nil {
		return "", err
	}
	return id, nil
}

// createContactCall creates the Marketing 360 contact of want, found again
// by externalIds.ghl; a contact of the same email (made by a person) is
// adopted.
func (c *Converger) createContactCall(want m360api.ContactInput) effectCall {
	byExternal := func(ctx context.Context) (string, error) {
		return c.findContact(ctx, &m360api.M360ListContactsParams{ExternalId: want.ExternalIds.Ghl})
	}
	return effectCall{
		find: byExternal,
		create: func(ctx context.Context) (string, int, error) {
			got, err := c.m360.CreateContact(ctx, want)
			if m360api.IsConflict(err) && want.Email != nil {
				id, ferr := c.findContact(ctx, &m360api.M360ListContactsParams{Email: want.Email})
				if ferr != nil || id == "" {
					return "", 0, fmt.Errorf("engine: adopt the contact of email taken: %w (lookup: %w)", err, ferr)
				}
				return id, 0, nil
			}
			if err != nil {
				return "", 0, err
			}
			return m360ID(got.Id), http.StatusCreated, nil
		},
	}
}

// findContact returns the id of the first contact params select, "" for none.
func (c *Converger) findContact(ctx context.Context, params *m360api.M360ListContactsParams) (string, error) {
	list, err := c.m360.Contacts(ctx, params)
	if err != nil {
		return "", err
	}
	return firstID(list, func(c m360api.Contact) int64 { return c.Id }), nil
}

// firstID is the id of the first of items, "" when there is none.
func firstID[T any](items []T, id func(T) int64) string {
	if len(items) == 0 {
		return ""
	}
	return m360ID(id(items[0]))
}

// m360ID is a Marketing 360 id as the ledger and the mappings store it.
func m360ID(id int64) string { return strconv.FormatInt(id, 10) }

// effectCall is how to make p's effect on the Marketing 360 contact
// m360Contact: its task or note, marked with Marker(p.key) in
// externalIds.ghl, or its campaign trigger.
func (c *Converger) effectCall(m360Contact int64, p plan) effectCall {
	switch p.op {
	case opCreateNote:
		return c.m360NoteCall(m360Contact, p.key, p.text)
	case opTrigger:
		return c.triggerCall(m360Contact, p.campaign)
	}
	return c.m360TaskCall(m360Contact, p.key, m360api.TaskCreate{Title: p.text})
}

// m360TaskCall creates task in on the Marketing 360 contact m360Contact,
// marked with the effect key's marker in externalIds.ghl, and finds it by
// that marker.
func (c *Converger) m360TaskCall(m360Contact int64, key string, in m360api.TaskCreate) effectCall {
	marker := Marker(key)
	in.ExternalIds = &m360api.ExternalIdsInput{Ghl: &marker}
	return effectCall{
		create: func(ctx context.Context) (string, int, error) {
			got, err := c.m360.CreateTask(ctx, m360Contact, in)
			if err != nil {
				return "", 0, err
			}
			return m360ID(got.Id), http.StatusCreated, nil
		},
		find: func(ctx context.Context) (string, error) {
			list, err := c.m360.Tasks(ctx, m360Contact, marker)
			if err != nil {
				return "", err
			}
			return firstID(list, func(t m360api.Task) int64 { return t.Id }), nil
		},
	}
}

// m360NoteCall is m360TaskCall for a note of body.
func (c *Converger) m360NoteCall(m360Contact int64, key, body string) effectCall {
	marker := Marker(key)
	in := m360api.NoteCreate{Body: body, ExternalIds: &m360api.ExternalIdsInput{Ghl: &marker}}
	return effectCall{
		create: func(ctx context.Context) (string, int, error) {
			got, err := c.m360.CreateNote(ctx, m360Contact, in)
			if err != nil {
				return "", 0, err
			}
			return m360ID(got.Id), http.StatusCreated, nil
		},
		find: func(ctx context.Context) (string, error) {
			list, err := c.m360.Notes(ctx, m360Contact, marker)
			if err != nil {
				return "", err
			}
			return firstID(list, func(n m360api.Note) int64 { return n.Id }), nil
		},
	}
}

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
// through the ledger (effect key) or adopted. "" when the mapped contact
// was deleted in Marketing 360: a person's deletion is not undone.
func (c *Converger) upsertM360Contact(ctx context.Context, log *slog.Logger, mappedID, key string, want m360api.ContactInput) (string, error) {
	id := mappedID
	if id == "" {
		var err error
		if id, err = c.runEffect(ctx, key, c.createContactCall(want)); err != nil || id == "" {
			return id, err
		}
	}
	n, err := parseM360ID(id)
	if err != nil {
		return "", err
	}
	cur, err := m360api.OK(c.m360.M360GetContactWithResponse(ctx, n))
	switch {
	case m360api.IsNotFound(err) && mappedID != "":
		log.WarnContext(ctx, "the Marketing 360 contact was deleted there; not created again", logkey.Entity, id)
		return "", nil
	case err != nil:
		return "", fmt.Errorf("engine: read Marketing 360 contact %s: %w", id, err)
	}
	body, changed := mergeContact(cur.JSON200.Result, want)
	if !changed {
		return id, nil
	}
	if _, err := m360api.OK(c.m360.M360ReplaceContactWithResponse(ctx, n, body)); err != nil {
		return "", fmt.Errorf("engine: update Marketing 360 contact %s: %w", id, err)
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
			res, err := m360api.OK(c.m360.M360CreateContactWithResponse(ctx, want))
			if m360api.IsConflict(err) && want.Email != nil {
				id, ferr := c.findContact(ctx, &m360api.M360ListContactsParams{Email: want.Email})
				if ferr != nil || id == "" {
					return "", 0, fmt.Errorf("engine: adopt the contact of email taken: %w (lookup: %w)", err, ferr)
				}
				return id, 0, nil
			}
			if err != nil {
				return "", 0, fmt.Errorf("engine: create Marketing 360 contact: %w", err)
			}
			return strconv.FormatInt(res.JSON201.Result.Id, 10), http.StatusCreated, nil
		},
	}
}

// findContact returns the id of the first contact params select, "" for none.
func (c *Converger) findContact(ctx context.Context, params *m360api.M360ListContactsParams) (string, error) {
	res, err := m360api.OK(c.m360.M360ListContactsWithResponse(ctx, params))
	if err != nil {
		return "", fmt.Errorf("engine: find Marketing 360 contact: %w", err)
	}
	return firstID(res.JSON200.Result, func(c m360api.Contact) int64 { return c.Id }), nil
}

// firstID is the id of the first of items, "" when there is none.
func firstID[T any](items []T, id func(T) int64) string {
	if len(items) == 0 {
		return ""
	}
	return strconv.FormatInt(id(items[0]), 10)
}

// effectCall is how to create p's task or note on the Marketing 360
// contact m360ID, marked with Marker(p.key) in externalIds.ghl.
func (c *Converger) effectCall(m360ID int64, p plan) effectCall {
	marker := Marker(p.key)
	ext := &m360api.ExternalIdsInput{Ghl: &marker}
	if p.op == opCreateNote {
		return effectCall{
			create: func(ctx context.Context) (string, int, error) {
				res, err := m360api.OK(c.m360.M360CreateNoteWithResponse(ctx, m360ID, m360api.NoteCreate{Body: p.text, ExternalIds: ext}))
				if err != nil {
					return "", 0, fmt.Errorf("engine: create Marketing 360 note: %w", err)
				}
				return strconv.FormatInt(res.JSON201.Result.Id, 10), http.StatusCreated, nil
			},
			find: func(ctx context.Context) (string, error) {
				res, err := m360api.OK(c.m360.M360ListNotesWithResponse(ctx, m360ID, &m360api.M360ListNotesParams{ExternalId: &marker}))
				if err != nil {
					return "", fmt.Errorf("engine: find Marketing 360 note: %w", err)
				}
				return firstID(res.JSON200.Result, func(n m360api.Note) int64 { return n.Id }), nil
			},
		}
	}
	return effectCall{
		create: func(ctx context.Context) (string, int, error) {
			res, err := m360api.OK(c.m360.M360CreateTaskWithResponse(ctx, m360ID, m360api.TaskCreate{Title: p.text, ExternalIds: ext}))
			if err != nil {
				return "", 0, fmt.Errorf("engine: create Marketing 360 task: %w", err)
			}
			return strconv.FormatInt(res.JSON201.Result.Id, 10), http.StatusCreated, nil
		},
		find: func(ctx context.Context) (string, error) {
			res, err := m360api.OK(c.m360.M360ListContactTasksWithResponse(ctx, m360ID, &m360api.M360ListContactTasksParams{ExternalId: &marker}))
			if err != nil {
				return "", fmt.Errorf("engine: find Marketing 360 task: %w", err)
			}
			return firstID(res.JSON200.Result, func(t m360api.Task) int64 { return t.Id }), nil
		},
	}
}

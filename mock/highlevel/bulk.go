package highlevel

import (
	"errors"
	"net/http"
	"regexp"
	"slices"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The bulk operations on many contacts of a location: tags and business.

// contactIDPattern is the form of the vendor's (and the twin's) ids.
var contactIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{20}$`)

// errUnchanged aborts a bulk write that would change nothing, so that the
// contact is not saved (and sends no webhook).
var errUnchanged = errors.New("highlevel: unchanged")

// The vendor's messages for a contact a bulk operation cannot change.
const (
	msgInvalidID   = "contact id is not a valid firebase id"
	msgDeleted     = "contact is deleted"
	msgOtherPlace  = "contact does not belong to location"
	msgTagsUpdated = "Tags updated"
)

// bulkContact returns the contact with id when it is loc's; otherwise
// the vendor's message for it, with a nil error.
func (a *API) bulkContact(loc, id string) (store.Contact, string, error) {
	c, err := a.Store.Contact(id)
	switch {
	case errors.Is(err, store.ErrNotFound) && !contactIDPattern.MatchString(id):
		return c, msgInvalidID, nil
	case errors.Is(err, store.ErrNotFound):
		return c, msgDeleted, nil
	case err != nil:
		return c, "", err
	case c.LocationID != loc:
		return c, msgOtherPlace, nil
	}
	return c, "", nil
}

// bulkUpdate applies fn to the contact with id, saving it only when fn
// changed it, and returns the contact before and after; false when the
// contact went in the meantime.
func (a *API) bulkUpdate(id string, fn func(*store.Contact)) (before, after store.Contact, ok bool, err error) {
	_, err = a.Store.UpdateContact(id, func(c *store.Contact) error {
		before = store.CloneContact(c)
		fn(c)
		after = store.CloneContact(c)
		if slices.Equal(before.Tags, c.Tags) && before.BusinessID == c.BusinessID {
			return errUnchanged
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errUnchanged):
		return before, after, true, nil
	case errors.Is(err, store.ErrNotFound):
		return before, after, false, nil
	}
	return before, after, false, err
}

type bulkTagsInput struct {
	Contacts      []string `json:"contacts"`
	Tags          []string `json:"tags"`
	LocationID    string   `json:"locationId"`
	RemoveAllTags bool     `json:"removeAllTags"`
}

// bulkTagsDone and bulkTagsFailed are the lines of a bulk tags answer.
type bulkTagsDone struct {
	ContactID   string   `json:"contactId"`
	Message     string   `json:"message"`
	Type        string   `json:"type"`
	OldTags     []string `json:"oldTags"`
	TagsAdded   []string `json:"tagsAdded"`
	TagsRemoved []string `json:"tagsRemoved"`
}

type bulkTagsFailed struct {
	ContactID string `json:"contactId"`
	Message   string `json:"message"`
	Type      string `json:"type"`
}

// bulkTags adds tags to, or removes them from, each contact named, and
// answers a line per contact in the order given.
func (a *API) bulkTags(r *pipeline.Request) (pipeline.Response, error) {
	var in bulkTagsInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	add := r.Path["type"] == "add"
	if add && in.RemoveAllTags {
		return pipeline.Response{}, pipeline.Unprocessable("removeAllTags can only be used with the remove type")
	}
	loc, err := a.location(r, in.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	change := func(tags []string) []string {
		switch {
		case add:
			return addTags(tags, in.Tags)
		case in.RemoveAllTags:
			return []string{}
		}
		return removeTags(tags, in.Tags)
	}
	lines := make([]any, 0, len(in.Contacts))
	failed := 0
	for _, id := range in.Contacts {
		_, msg, err := a.bulkContact(loc.ID, id)
		if err != nil {
			return pipeline.Response{}, err
		}
		var before, after store.Contact
		done := false
		if msg == "" {
			before, after, done, err = a.bulkUpdate(id, func(c *store.Contact) { c.Tags = change(c.Tags) })
			if err != nil {
				return pipeline.Response{}, err
			}
			msg = msgDeleted
		}
		if !done {
			failed++
			lines = append(lines, bulkTagsFailed{ContactID: id, Message: msg, Type: "error"})
			continue
		}
		lines = append(lines, bulkTagsDone{ContactID: id, Message: msgTagsUpdated, Type: "success", OldTags: nonNil(before.Tags),
			TagsAdded: nonNil(without(after.Tags, before.Tags)), TagsRemoved: nonNil(without(before.Tags, after.Tags))})
	}
	return pipeline.JSON(http.StatusCreated, map[string]any{"succeded": failed == 0, "errorCount": failed, "responses": lines}), nil
}

// without returns the items of s that are not in drop, in order.
func without(s, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(s), func(v string) bool { return slices.Contains(drop, v) })
}

type bulkBusinessInput struct {
	LocationID string   `json:"locationId"`
	IDs        []string `json:"ids"`
	BusinessID opt      `json:"businessId"`
}

// bulkBusiness sets (or, with a null businessId, clears) the business of
// each of the location's contacts named, and answers their ids.
func (a *API) bulkBusiness(r *pipeline.Request) (pipeline.Response, error) {
	var in bulkBusinessInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.location(r, in.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	ids := []string{}
	for _, id := range in.IDs {
		if _, msg, err := a.bulkContact(loc.ID, id); err != nil {
			return pipeline.Response{}, err
		} else if msg != "" || slices.Contains(ids, id) {
			continue
		}
		_, _, done, err := a.bulkUpdate(id, func(c *store.Contact) { in.BusinessID.to(&c.BusinessID) })
		if err != nil {
			return pipeline.Response{}, err
		}
		if done {
			ids = append(ids, id)
		}
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"success": true, "ids": ids}), nil
}

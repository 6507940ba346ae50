// Package highlevel serves the HighLevel Contacts API v2 on the twin's store:
// one handler per operation of openapi/highlevel.yaml.
package highlevel

import (
	"cmp"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// Store is what the handlers need of the twin's state.
type Store interface {
	// LocationShared returns a location whose lists are the store's, to read.
	LocationShared(id string) (store.Location, error)
	CreateContact(c store.Contact) (store.Contact, error)
	Contact(id string) (store.Contact, error)
	ContactFunc(id string, fn func(*store.Contact, *store.Memo)) error
	UpdateContact(id string, fn func(*store.Contact) error) (store.Contact, error)
	UpsertContact(location, email, phone string, createNew bool, fn func(*store.Contact) error) (store.Contact, bool, error)
	DeleteContact(id string) error
	FindDuplicate(location, email, phone string) (store.Contact, bool)
	ContactsPageFunc(location string, after *store.Cursor, limit int, match func(*store.Contact) bool, fn func(*store.Contact, *store.Memo)) store.Page
	ScanContacts(location string, fn func(*store.Contact) bool)

	CreateTask(contact string, t store.Task) (store.Task, error)
	Tasks(contact string) ([]store.Task, error)
	Task(contact, id string) (store.Task, error)
	UpdateTask(contact, id string, fn func(*store.Task) error) (store.Task, error)
	DeleteTask(contact, id string) error

	CreateNote(contact string, n store.Note) (store.Note, error)
	Notes(contact string) ([]store.Note, error)
	Note(contact, id string) (store.Note, error)
	UpdateNote(contact, id string, fn func(*store.Note) error) (store.Note, error)
	DeleteNote(contact, id string) error

	CreateAppointment(contact string, a store.Appointment) (store.Appointment, error)
	Appointments(contact string) ([]store.Appointment, error)
	Appointment(id string) (store.Appointment, error)
	UpdateAppointment(id string, fn func(*store.Appointment) error) (store.Appointment, error)
	DeleteAppointment(id string) error
	LocationAppointments(location string, keep func(store.Appointment) bool) []store.Appointment

	CreateAppointmentNote(appointment string, n store.AppointmentNote) (store.AppointmentNote, error)
	AppointmentNotes(appointment string) ([]store.AppointmentNote, error)
	UpdateAppointmentNote(appointment, id string, fn func(*store.AppointmentNote) error) (store.AppointmentNote, error)
	DeleteAppointmentNote(appointment, id string) error

	CustomFieldDefs(location string) ([]store.CustomFieldDef, error)
	CreateCustomFieldDef(location string, d store.CustomFieldDef) (store.CustomFieldDef, error)
	CustomFieldDef(location, id string) (store.CustomFieldDef, error)
	UpdateCustomFieldDef(location, id string, fn func(*store.CustomFieldDef) error) (store.CustomFieldDef, error)
	DeleteCustomFieldDef(location, id string) error

	LocationTags(location string) ([]store.LocationTag, error)
	CreateLocationTag(location string, t store.LocationTag) (store.LocationTag, error)
	LocationTag(location, id string) (store.LocationTag, error)
	UpdateLocationTag(location, id string, fn func(*store.LocationTag) error) (store.LocationTag, error)
	DeleteLocationTag(location, id string) error
}

// API serves the HighLevel Contacts API.
type API struct {
	Store Store
	// OAuth serves the authorization and token endpoints.
	OAuth OAuthServer
	// TraceID makes the traceId of upsert responses.
	TraceID func() string
	// BaseURL is the twin's own URL, which links (meta.nextPageUrl) start
	// with; never the request's Host, which the client chooses. Nil makes
	// links relative.
	BaseURL func() string
	// ListProjection lists contacts (GET /contacts/, POST /contacts/search)
	// as the vendor's list projection, not as full contacts.
	ListProjection bool
}

// Handlers returns the handler of every operation, by operationId: every
// route of the API on one screen.
func (a *API) Handlers() map[string]pipeline.HandlerFunc {
	tasks := &records[store.Task, taskInput, *taskInput, taskView]{api: a, one: "task", many: "tasks", idParam: "taskId",
		view: viewTask, listFn: a.Store.Tasks, createFn: a.Store.CreateTask, getFn: a.Store.Task,
		updateFn: a.Store.UpdateTask, removeFn: a.Store.DeleteTask}
	notes := &records[store.Note, noteInput, *noteInput, noteView]{api: a, one: "note", many: "notes", idParam: "id",
		newestFirst: true, view: viewNote, listFn: a.Store.Notes, createFn: a.Store.CreateNote, getFn: a.Store.Note,
		updateFn: a.Store.UpdateNote, removeFn: a.Store.DeleteNote}
	appointmentNotes := &records[store.AppointmentNote, appointmentNoteInput, *appointmentNoteInput, appointmentNoteView]{
		api: a, one: "note", many: "notes", idParam: "noteId", newestFirst: true, view: viewAppointmentNote,
		owner: a.noteAppointment, removed: map[string]bool{"success": true}, listFn: a.Store.AppointmentNotes,
		createFn: a.Store.CreateAppointmentNote, updateFn: a.Store.UpdateAppointmentNote, removeFn: a.Store.DeleteAppointmentNote}
	return map[string]pipeline.HandlerFunc{
		"get-contacts":                       a.listContacts,
		"create-contact":                     a.createContact,
		"get-contact":                        a.getContact,
		"update-contact":                     a.updateContact,
		"delete-contact":                     a.deleteContact,
		"upsert-contact":                     a.upsertContact,
		"search-contacts-advanced":           a.searchContacts,
		"get-duplicate-contact":              a.duplicateContact,
		"get-contacts-by-businessId":         a.contactsByBusiness,
		"get-all-tasks":                      tasks.list,
		"create-task":                        tasks.create,
		"get-task":                           tasks.get,
		"update-task":                        tasks.update,
		"update-task-completed":              tasks.patch(func(in taskInput) taskInput { return taskInput{Completed: in.Completed} }),
		"delete-task":                        tasks.remove,
		"get-all-notes":                      notes.list,
		"create-note":                        notes.create,
		"get-note":                           notes.get,
		"update-note":                        notes.update,
		"delete-note":                        notes.remove,
		"add-tags":                           a.addTags,
		"remove-tags":                        a.removeTags,
		"add-followers-contact":              a.addFollowers,
		"remove-followers-contact":           a.removeFollowers,
		"add-contact-to-campaign":            a.membership("campaignId", campaigns, http.StatusCreated, true),
		"remove-contact-from-campaign":       a.membership("campaignId", campaigns, http.StatusOK, false),
		"remove-contact-from-every-campaign": a.membership("", campaigns, http.StatusOK, false),
		"add-contact-to-workflow":            a.membership("workflowId", workflows, http.StatusOK, true),
		"delete-contact-from-workflow":       a.membership("workflowId", workflows, http.StatusOK, false),
		"get-appointments-for-contact":       a.listAppointments,
		"create-contact-appointment":         a.createContactAppointment,
		"create-appointment":                 a.createAppointment,
		"edit-appointment":                   a.editAppointment,
		"get-appointment":                    a.getAppointment,
		"get-calendar-events":                a.calendarEvents,
		"delete-event":                       a.deleteEvent,
		"get-appointment-notes":              appointmentNotes.page,
		"create-appointment-note":            appointmentNotes.create,
		"update-appointment-note":            appointmentNotes.update,
		"delete-appointment-note":            appointmentNotes.remove,
		"create-association":                 a.bulkTags,
		"add-remove-contact-from-business":   a.bulkBusiness,
		"get-custom-fields":                  a.listCustomFields,
		"create-custom-field":                a.createCustomField,
		"get-custom-field":                   a.getCustomField,
		"update-custom-field":                a.updateCustomField,
		"delete-custom-field":                a.deleteCustomField,
		"get-location-tags":                  a.listLocationTags,
		"create-tag":                         a.createLocationTag,
		"get-tag-by-id":                      a.getLocationTag,
		"update-tag":                         a.updateLocationTag,
		"delete-tag":                         a.deleteLocationTag,
		"choose-location":                    a.chooseLocation,
		"choose-location-v2":                 a.chooseLocation,
		"get-access-token":                   a.token,
	}
}

var deleted = map[string]bool{"succeded": true}

// location returns a location the principal may use, its lists the
// store's (Store.LocationShared): read, never changed.
func (a *API) location(r *pipeline.Request, id string) (store.Location, error) {
	if err := r.Principal.CanAccess(id); err != nil {
		return store.Location{}, err
	}
	return a.Store.LocationShared(id)
}

// contact returns the path's contact when the principal may see it.
func (a *API) contact(r *pipeline.Request) (store.Contact, error) {
	c, err := a.Store.Contact(r.Path["contactId"])
	if err != nil {
		return c, err
	}
	return c, r.Principal.CanAccess(c.LocationID)
}

// --- contacts ---

func (a *API) listContacts(r *pipeline.Request) (pipeline.Response, error) {
	locationID := r.Query.Get("locationId")
	if _, err := a.location(r, locationID); err != nil {
		return pipeline.Response{}, err
	}
	limit := 20
	if v := r.Query.Get("limit"); v != "" {
		f, _ := strconv.ParseFloat(v, 64) // validated by the spec
		limit = int(math.Floor(f))
	}
	var cursor *store.Cursor
	// As on the live API, the cursor needs both halves; one alone is ignored.
	if after, afterID := r.Query.Get("startAfter"), r.Query.Get("startAfterId"); after != "" && afterID != "" {
		ms, _ := strconv.ParseFloat(after, 64) // a number, validated by the spec
		at, ok := msTime(ms)
		if !ok {
			return pipeline.Response{}, pipeline.Unprocessable("startAfter must be a whole number of ms since the epoch, in the years 1 to 9999")
		}
		cursor = &store.Cursor{DateAdded: at, ID: afterID}
	}
	query := r.Query.Get("query")
	items := newListParts(limit)
	n := 0
	var renderErr error
	page := a.Store.ContactsPageFunc(locationID, cursor, limit, matchQuery(query), func(c *store.Contact, m *store.Memo) {
		b, err := rendered(m, memoListed, c, a.listed)
		items.add(b)
		n, renderErr = n+1, cmp.Or(renderErr, err)
	})
	if renderErr != nil {
		items.release()
		return pipeline.Response{}, renderErr
	}
	current := page.Offset/limit + 1
	meta := listMeta{CurrentPage: current, Total: page.Total}
	if current > 1 {
		meta.PrevPage = new(current - 1)
	}
	if page.More && n > 0 {
		last := page.Last
		startAfter := last.DateAdded.UnixMilli()
		q := ""
		if query != "" {
			q = "&query=" + url.QueryEscape(query)
		}
		// The parameters in the order url.Values.Encode gives them: by name.
		meta.NextPageURL = new(a.baseURL() + "/contacts/?limit=" + strconv.Itoa(limit) + "&locationId=" +
			url.QueryEscape(locationID) + q + "&startAfter=" + strconv.FormatInt(startAfter, 10) +
			"&startAfterId=" + url.QueryEscape(last.ID))
		meta.NextPage, meta.StartAfter, meta.StartAfterID = new(current+1), &startAfter, &last.ID
	}
	body, err := items.body(page.Total, meta)
	if err != nil {
		items.release()
		return pipeline.Response{}, err
	}
	return pipeline.Response{Status: http.StatusOK, Body: body, Done: items.release}, nil
}

// matchQuery matches contacts whose name, email, phone or company contain
// query, case-insensitively; nil for an empty query.
func matchQuery(query string) func(*store.Contact) bool {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return nil
	}
	return func(c *store.Contact) bool {
		for _, s := range []string{c.Name, c.Email, c.Phone, c.CompanyName} {
			if strings.Contains(strings.ToLower(s), q) {
				return true
			}
		}
		return false
	}
}

func (a *API) baseURL() string {
	if a.BaseURL == nil {
		return ""
	}
	return a.BaseURL()
}

// decodeContact is the body of a contact's write. It is returned by value:
// the create's stays on its stack (only the guarded decoder's own, which
// goes through an interface, is made on the heap).
func (a *API) decodeContact(r *pipeline.Request) (contactInput, error) {
	var in contactInput
	if in.fromValue(r.Value) {
		return in, nil
	}
	decoded := new(contactInput)
	if err := r.Decode(decoded); err != nil {
		return contactInput{}, err
	}
	return *decoded, nil
}

func (a *API) createContact(r *pipeline.Request) (pipeline.Response, error) {
	in, err := a.decodeContact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.location(r, in.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	c := store.Contact{LocationID: loc.ID}
	if err := in.apply(&c, loc); err != nil {
		return pipeline.Response{}, err
	}
	created, err := a.Store.CreateContact(c)
	if err != nil {
		return pipeline.Response{}, err
	}
	return contactAnswer(http.StatusCreated, viewCreated(created), "}")
}

// contactAnswer is the answer {"contact": v...} with status, the members
// after the contact in rest (and the closing brace).
func contactAnswer(status int, v contactView, rest string) (pipeline.Response, error) {
	scratch := answerBuffers.Get().(*[]byte)
	body, err := appendContactView(append((*scratch)[:0], contactOpen...), &v)
	if cap(body) <= maxAnswerBuffer {
		*scratch = body[:0]
		defer answerBuffers.Put(scratch)
	}
	if err != nil {
		return pipeline.Response{}, err
	}
	// One allocation of the answer's size, where appending to a fresh
	// buffer would grow it two or three times.
	answer := make([]byte, 0, len(body)+len(rest))
	return pipeline.JSON(status, pipeline.RawJSON(append(append(answer, body...), rest...))), nil
}

// answerBuffers are the buffers contactAnswer encodes in before it copies
// the answer out; maxAnswerBuffer is the largest kept for reuse.
const maxAnswerBuffer = 64 << 10

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (a *API) getContact(r *pipeline.Request) (pipeline.Response, error) {
	// One value for what the callback finds (one allocation, not three).
	var got struct {
		location string
		body     []byte
		err      error
	}
	err := a.Store.ContactFunc(r.Path["contactId"], func(c *store.Contact, m *store.Memo) {
		got.location = c.LocationID
		got.body, got.err = rendered(m, memoContact, c, viewContact)
	})
	if err == nil {
		err = r.Principal.CanAccess(got.location)
	}
	if err = cmp.Or(err, got.err); err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, contactBody(got.body)), nil
}

func (a *API) updateContact(r *pipeline.Request) (pipeline.Response, error) {
	in, err := a.decodeContact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.Store.LocationShared(c.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	updated, err := a.Store.UpdateContact(c.ID, func(c *store.Contact) error { return in.apply(c, loc) })
	if err != nil {
		return pipeline.Response{}, err
	}
	// The keys in the order encoding/json wrote them from a map.
	return contactAnswer(http.StatusOK, viewContact(updated), `,"succeded":true}`)
}

func (a *API) deleteContact(r *pipeline.Request) (pipeline.Response, error) {
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if err := a.Store.DeleteContact(c.ID); err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, deleted), nil
}

func (a *API) upsertContact(r *pipeline.Request) (pipeline.Response, error) {
	in, err := a.decodeContact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.location(r, in.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	email, phone := in.normalized()
	c, isNew, err := a.Store.UpsertContact(loc.ID, email, phone, in.CreateNewIfDuplicateAllowed,
		func(c *store.Contact) error { return in.apply(c, loc) })
	if err != nil {
		return pipeline.Response{}, err
	}
	return contactAnswer(http.StatusOK, viewContact(c), upsertRest(isNew, a.TraceID()))
}

// upsertRest is what an upsert's answer has after its contact: the members
// new and traceId, in the order encoding/json writes a map's keys.
func upsertRest(isNew bool, traceID string) string {
	b := strconv.AppendBool(append(make([]byte, 0, 32+len(traceID)), `,"new":`...), isNew)
	b = appendJSONString(append(b, `,"traceId":`...), traceID)
	return string(append(b, '}'))
}

func (a *API) duplicateContact(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.location(r, r.Query.Get("locationId"))
	if err != nil {
		return pipeline.Response{}, err
	}
	phone, _ := normalizePhone(r.Query.Get("number"))
	c, found := a.Store.FindDuplicate(loc.ID, strings.TrimSpace(r.Query.Get("email")), phone)
	if !found {
		return pipeline.JSON(http.StatusOK, map[string]any{"contact": nil}), nil
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"contact": viewContact(c)}), nil
}

func (a *API) contactsByBusiness(r *pipeline.Request) (pipeline.Response, error) {
	loc, err := a.location(r, r.Query.Get("locationId"))
	if err != nil {
		return pipeline.Response{}, err
	}
	limit, skip := 25, 0
	if v := r.Query.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v) // digits, by the spec
	}
	if v := r.Query.Get("skip"); v != "" {
		skip, _ = strconv.Atoi(v)
	}
	business, query := r.Path["businessId"], matchQuery(r.Query.Get("query"))
	contacts := []contactView{}
	count := 0
	a.Store.ScanContacts(loc.ID, func(c *store.Contact) bool {
		if c.BusinessID != business || (query != nil && !query(c)) {
			return true
		}
		if count >= skip && len(contacts) < limit {
			contacts = append(contacts, viewContact(store.CloneContact(c)))
		}
		count++
		return true
	})
	return pipeline.JSON(http.StatusOK, map[string]any{"contacts": contacts, "count": count}), nil
}

// --- tags ---

type tagsInput struct {
	Tags []string `json:"tags"`
}

func (a *API) changeTags(r *pipeline.Request, status int, change func(tags, given []string) []string) (pipeline.Response, error) {
	var in tagsInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	updated, err := a.Store.UpdateContact(c.ID, func(c *store.Contact) error {
		c.Tags = change(c.Tags, in.Tags)
		return nil
	})
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(status, map[string]any{"tags": updated.Tags}), nil
}

func (a *API) addTags(r *pipeline.Request) (pipeline.Response, error) {
	return a.changeTags(r, http.StatusCreated, addTags)
}

func (a *API) removeTags(r *pipeline.Request) (pipeline.Response, error) {
	return a.changeTags(r, http.StatusOK, removeTags)
}

// --- followers ---

type followersInput struct {
	Followers []string `json:"followers"`
}

// changeFollowers applies change to the contact's followers and answers
// them all, with the ones that changed under changedKey.
func (a *API) changeFollowers(r *pipeline.Request, status int, changedKey string, change func(followers, given []string) (all, changed []string)) (pipeline.Response, error) {
	var in followersInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	c, err := a.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	var changed []string
	updated, err := a.Store.UpdateContact(c.ID, func(c *store.Contact) error {
		c.Followers, changed = change(c.Followers, in.Followers)
		return nil
	})
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(status, map[string]any{"followers": nonNil(updated.Followers), changedKey: nonNil(changed)}), nil
}

func (a *API) addFollowers(r *pipeline.Request) (pipeline.Response, error) {
	return a.changeFollowers(r, http.StatusCreated, "followersAdded", func(followers, given []string) ([]string, []string) {
		var added []string
		followers = slices.Clone(followers)
		for _, id := range given {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(followers, id) {
				followers = append(followers, id)
				added = append(added, id)
			}
		}
		return followers, added
	})
}

func (a *API) removeFollowers(r *pipeline.Request) (pipeline.Response, error) {
	return a.changeFollowers(r, http.StatusOK, "followersRemoved", func(followers, given []string) ([]string, []string) {
		var removed []string
		kept := slices.DeleteFunc(slices.Clone(followers), func(id string) bool {
			if slices.ContainsFunc(given, func(g string) bool { return strings.TrimSpace(g) == id }) {
				removed = append(removed, id)
				return true
			}
			return false
		})
		return kept, removed
	})
}

// --- campaigns and workflows ---

func campaigns(c *store.Contact) *[]string { return &c.Campaigns }
func workflows(c *store.Contact) *[]string { return &c.Workflows }

// membership adds the contact to, or removes it from, the campaign or
// workflow named by the path parameter param (every one when param is "")
// in the list that field picks, and answers {"succeded": true}, the
// vendor's spelling. The twin models no campaign or workflow: any id is
// accepted, and the memberships are kept on the contact. The spec
// validates the bodies; nothing in them is stored.
func (a *API) membership(param string, field func(*store.Contact) *[]string, status int, add bool) pipeline.HandlerFunc {
	return func(r *pipeline.Request) (pipeline.Response, error) {
		c, err := a.contact(r)
		if err != nil {
			return pipeline.Response{}, err
		}
		id := r.Path[param]
		_, err = a.Store.UpdateContact(c.ID, func(c *store.Contact) error {
			ids := field(c)
			switch {
			case add && !slices.Contains(*ids, id):
				*ids = append(slices.Clone(*ids), id)
			case !add && param == "":
				*ids = nil
			case !add:
				*ids = slices.DeleteFunc(slices.Clone(*ids), func(v string) bool { return v == id })
			}
			return nil
		})
		if err != nil {
			return pipeline.Response{}, err
		}
		return pipeline.JSON(status, deleted), nil
	}
}

// nonNil is s, or an empty slice for nil (encoded [] rather than null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// --- tasks ---

type taskInput struct {
	Title      opt   `json:"title"`
	Body       opt   `json:"body"`
	AssignedTo opt   `json:"assignedTo"`
	DueDate    opt   `json:"dueDate"`
	Completed  *bool `json:"completed"`
}

func (in *taskInput) apply(t *store.Task) error {
	in.Title.to(&t.Title)
	in.Body.to(&t.Body)
	in.AssignedTo.to(&t.AssignedTo)
	if in.DueDate.Set {
		due, err := time.Parse(time.RFC3339Nano, in.DueDate.V)
		if err != nil {
			return pipeline.Unprocessable("dueDate must be a valid ISO 8601 date string")
		}
		t.DueDate = due.UTC()
	}
	if in.Completed != nil {
		t.Completed = *in.Completed
	}
	return nil
}

// --- notes ---

type noteInput struct {
	Body   opt   `json:"body"`
	UserID opt   `json:"userId"`
	Title  opt   `json:"title"`
	Color  opt   `json:"color"`
	Pinned *bool `json:"pinned"`
}

func (in *noteInput) apply(n *store.Note) error {
	in.Body.to(&n.Body)
	in.UserID.to(&n.UserID)
	in.Title.to(&n.Title)
	in.Color.to(&n.Color)
	if in.Pinned != nil {
		n.Pinned = *in.Pinned
	}
	return nil
}

func mapSlice[T, V any](in []T, f func(T) V) []V {
	out := make([]V, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

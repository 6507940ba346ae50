// Package m360 serves the Marketing 360 API on the twin's store: one handler
// per operation of openapi/marketing360.yaml. The API key's account is the
// principal's LocationID (the account id in decimal); every handler works in
// that account only, so another account's record is 404.
package m360

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// Store is what the handlers need of the twin's state.
type Store interface {
	M360Account(id int64) (store.M360Account, error)

	CreateM360Contact(c store.M360Contact) (store.M360Contact, error)
	M360Contact(account, id int64) (store.M360Contact, error)
	UpdateM360Contact(account, id int64, fn func(*store.M360Contact) error) (store.M360Contact, error)
	DeleteM360Contact(account, id int64) error
	M360Contacts(account int64, f store.M360ContactFilter) ([]store.M360Contact, int, error)

	CreateM360Task(t store.M360Task) (store.M360Task, error)
	M360Task(account, contact, id int64) (store.M360Task, error)
	UpdateM360Task(account, contact, id int64, fn func(*store.M360Task) error) (store.M360Task, error)
	DeleteM360Task(account, contact, id int64) error
	M360Tasks(account int64, f store.M360TaskFilter) ([]store.M360Task, int, error)

	CreateM360Note(n store.M360Note) (store.M360Note, error)
	M360Note(account, contact, id int64) (store.M360Note, error)
	UpdateM360Note(account, contact, id int64, fn func(*store.M360Note) error) (store.M360Note, error)
	DeleteM360Note(account, contact, id int64) error
	M360Notes(account, contact int64, p store.M360Paging) ([]store.M360Note, int, error)

	CreateM360Event(e store.M360Event) (store.M360Event, error)
	M360Event(account, id int64) (store.M360Event, error)
	UpdateM360Event(account, id int64, fn func(*store.M360Event) error) (store.M360Event, error)
	DeleteM360Event(account, id int64) error
	M360Events(account int64, f store.M360EventFilter) ([]store.M360Event, int, error)

	M360Campaign(account, id int64) (store.M360Campaign, error)
	M360Campaigns(account int64, p store.M360Paging) ([]store.M360Campaign, int, error)
	TriggerM360Campaign(account, campaign, contact int64) (store.M360Trigger, bool, error)
	M360Triggers(account, campaign int64, p store.M360Paging) ([]store.M360Trigger, int, error)

	CreateM360Webhook(w store.M360Webhook) (store.M360Webhook, error)
	M360Webhooks(account int64, p store.M360Paging) ([]store.M360Webhook, int, error)
	DeleteM360Webhook(account, id int64) error
}

// API serves the Marketing 360 API.
type API struct {
	Store Store
	// Secret makes webhook signing secrets; nil means 32 random hex digits
	// from crypto/rand after "whsec_".
	Secret func() string
}

// Handlers returns the handler of every operation, by operationId: every
// route of the API on one screen.
func (a *API) Handlers() map[string]pipeline.HandlerFunc {
	h := map[string]pipeline.HandlerFunc{
		"m360-get-account":            a.getAccount,
		"m360-list-contacts":          a.listContacts,
		"m360-create-contact":         a.createContact,
		"m360-get-contact":            a.getContact,
		"m360-replace-contact":        a.replaceContact,
		"m360-delete-contact":         a.deleteContact,
		"m360-list-contact-tasks":     a.listContactTasks,
		"m360-create-task":            a.createTask,
		"m360-get-task":               a.getTask,
		"m360-update-task":            a.updateTask,
		"m360-delete-task":            a.deleteTask,
		"m360-list-tasks":             a.listTasks,
		"m360-list-notes":             a.listNotes,
		"m360-create-note":            a.createNote,
		"m360-get-note":               a.getNote,
		"m360-update-note":            a.updateNote,
		"m360-delete-note":            a.deleteNote,
		"m360-list-events":            a.listEvents,
		"m360-create-event":           a.createEvent,
		"m360-get-event":              a.getEvent,
		"m360-update-event":           a.updateEvent,
		"m360-delete-event":           a.deleteEvent,
		"m360-list-campaigns":         a.listCampaigns,
		"m360-get-campaign":           a.getCampaign,
		"m360-list-campaign-triggers": a.listTriggers,
		"m360-trigger-campaign":       a.triggerCampaign,
		"m360-list-webhooks":          a.listWebhooks,
		"m360-create-webhook":         a.createWebhook,
		"m360-delete-webhook":         a.deleteWebhook,
	}
	return h
}

// account returns the id of the key's account.
func account(r *pipeline.Request) (int64, error) {
	if r.Principal == nil {
		return 0, &pipeline.Error{Status: http.StatusUnauthorized, Messages: []string{"Authentication required"},
			Header: http.Header{"Www-Authenticate": {`Basic realm="Marketing 360"`}}}
	}
	id, err := strconv.ParseInt(r.Principal.LocationID, 10, 64)
	if err != nil {
		return 0, &store.NotFoundError{Kind: "Account", ID: r.Principal.LocationID}
	}
	return id, nil
}

// pathID returns the path parameter name as an id; one that is not a
// positive int64 names no record of kind.
func pathID(r *pipeline.Request, name, kind string) (int64, error) {
	raw := r.Path[name]
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return 0, &store.NotFoundError{Kind: kind, ID: raw}
	}
	return id, nil
}

// ids returns the key's account and the path ids named, in order, each with
// the kind of record it names.
func ids(r *pipeline.Request, params ...string) (int64, []int64, error) {
	acct, err := account(r)
	if err != nil {
		return 0, nil, err
	}
	out := make([]int64, 0, len(params)/2)
	for i := 0; i+1 < len(params); i += 2 {
		id, err := pathID(r, params[i], params[i+1])
		if err != nil {
			return 0, nil, err
		}
		out = append(out, id)
	}
	return acct, out, nil
}

// query reads optional integer query parameters into a problems set.
type query struct {
	r *pipeline.Request
	p problems
}

func newQuery(r *pipeline.Request) *query { return &query{r: r, p: problems{}} }

// int64 returns the parameter, nil when absent.
func (q *query) int64(name string, min int64) *int64 {
	raw := q.r.Query.Get(name)
	if raw == "" {
		return nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < min {
		q.p.add(name, "must be an integer from "+strconv.FormatInt(min, 10)+" to 9223372036854775807")
		return nil
	}
	return &v
}

func (q *query) bool(name string) *bool {
	raw := q.r.Query.Get(name)
	if raw == "" {
		return nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		q.p.add(name, "must be true or false")
		return nil
	}
	return &v
}

// Defaults of the list parameters.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// paging returns page (default 1) and pageSize (default 25, at most 100).
func (q *query) paging() store.M360Paging {
	p := store.M360Paging{Page: 1, PageSize: DefaultPageSize}
	if v := q.int64("page", 1); v != nil {
		if *v > 1<<31-1 {
			q.p.add("page", "must be an integer from 1 to 2147483647")
		} else {
			p.Page = int(*v)
		}
	}
	if v := q.int64("pageSize", 0); v != nil {
		if *v > MaxPageSize {
			q.p.add("pageSize", "must be an integer from 0 to 100")
		} else {
			p.PageSize = int(*v)
		}
	}
	return p
}

func (q *query) err() error { return q.p.err() }

func ok(body any) (pipeline.Response, error) { return pipeline.JSON(http.StatusOK, body), nil }

func created(body any) (pipeline.Response, error) {
	return pipeline.JSON(http.StatusCreated, body), nil
}

func deleted(id int64) (pipeline.Response, error) {
	return ok(result[deletedView]{Result: deletedView{ID: id, Deleted: true}})
}

func fail(err error) (pipeline.Response, error) { return pipeline.Response{}, err }

// --- account ---

func (a *API) getAccount(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	got, err := a.Store.M360Account(acct)
	if err != nil {
		return fail(err)
	}
	return ok(result[accountView]{viewAccount(got)})
}

// --- contacts ---

func (a *API) listContacts(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	f := store.M360ContactFilter{M360Paging: q.paging(), UpdatedSince: q.int64("updatedSince", 0),
		Email: r.Query.Get("email"), ExternalID: r.Query.Get("externalId")}
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Contacts(acct, f)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, f.M360Paging, viewContact))
}

func decodeContact(r *pipeline.Request) (store.M360Contact, error) {
	var in contactInput
	if err := r.Decode(&in); err != nil {
		return store.M360Contact{}, err
	}
	return in.contact()
}

func (a *API) createContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	c, err := decodeContact(r)
	if err != nil {
		return fail(err)
	}
	c.AccountID = acct
	c, err = a.Store.CreateM360Contact(c)
	if err != nil {
		return fail(err)
	}
	return created(result[contactView]{viewContact(c)})
}

func (a *API) getContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	c, err := a.Store.M360Contact(acct, id[0])
	if err != nil {
		return fail(err)
	}
	return ok(result[contactView]{viewContact(c)})
}

// replaceContact replaces every writable field: the ones left out are cleared.
func (a *API) replaceContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	next, err := decodeContact(r)
	if err != nil {
		return fail(err)
	}
	c, err := a.Store.UpdateM360Contact(acct, id[0], func(c *store.M360Contact) error {
		*c = next // the store keeps the id, account and created time
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return ok(result[contactView]{viewContact(c)})
}

func (a *API) deleteContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	if err := a.Store.DeleteM360Contact(acct, id[0]); err != nil {
		return fail(err)
	}
	return deleted(id[0])
}

// --- tasks ---

func (a *API) listContactTasks(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	f := store.M360TaskFilter{M360Paging: q.paging(), ContactID: id[0]}
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Tasks(acct, f)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, f.M360Paging, viewTask))
}

func (a *API) listTasks(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	f := store.M360TaskFilter{M360Paging: q.paging(), UpdatedSince: q.int64("updatedSince", 0), Completed: q.bool("completed")}
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Tasks(acct, f)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, f.M360Paging, viewTask))
}

func (a *API) createTask(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	var in taskInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	t := store.M360Task{AccountID: acct, ContactID: id[0]}
	if err := in.apply(&t, true); err != nil {
		return fail(err)
	}
	t, err = a.Store.CreateM360Task(t)
	if err != nil {
		return fail(err)
	}
	return created(result[taskView]{viewTask(t)})
}

func (a *API) getTask(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "taskId", "Task")
	if err != nil {
		return fail(err)
	}
	t, err := a.Store.M360Task(acct, id[0], id[1])
	if err != nil {
		return fail(err)
	}
	return ok(result[taskView]{viewTask(t)})
}

// updateTask is a partial update: the fields sent change, the others stay.
func (a *API) updateTask(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "taskId", "Task")
	if err != nil {
		return fail(err)
	}
	var in taskInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	t, err := a.Store.UpdateM360Task(acct, id[0], id[1], func(t *store.M360Task) error { return in.apply(t, false) })
	if err != nil {
		return fail(err)
	}
	return ok(result[taskView]{viewTask(t)})
}

func (a *API) deleteTask(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "taskId", "Task")
	if err != nil {
		return fail(err)
	}
	if err := a.Store.DeleteM360Task(acct, id[0], id[1]); err != nil {
		return fail(err)
	}
	return deleted(id[1])
}

// --- notes ---

func (a *API) listNotes(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	p := q.paging()
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Notes(acct, id[0], p)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, p, viewNote))
}

func (a *API) createNote(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	var in noteInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	n := store.M360Note{AccountID: acct, ContactID: id[0]}
	if err := in.apply(&n, true); err != nil {
		return fail(err)
	}
	n, err = a.Store.CreateM360Note(n)
	if err != nil {
		return fail(err)
	}
	return created(result[noteView]{viewNote(n)})
}

func (a *API) getNote(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "noteId", "Note")
	if err != nil {
		return fail(err)
	}
	n, err := a.Store.M360Note(acct, id[0], id[1])
	if err != nil {
		return fail(err)
	}
	return ok(result[noteView]{viewNote(n)})
}

// updateNote is a partial update: the fields sent change, the others stay.
func (a *API) updateNote(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "noteId", "Note")
	if err != nil {
		return fail(err)
	}
	var in noteInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	n, err := a.Store.UpdateM360Note(acct, id[0], id[1], func(n *store.M360Note) error { return in.apply(n, false) })
	if err != nil {
		return fail(err)
	}
	return ok(result[noteView]{viewNote(n)})
}

func (a *API) deleteNote(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact", "noteId", "Note")
	if err != nil {
		return fail(err)
	}
	if err := a.Store.DeleteM360Note(acct, id[0], id[1]); err != nil {
		return fail(err)
	}
	return deleted(id[1])
}

// --- calendar events ---

func (a *API) listEvents(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	f := store.M360EventFilter{M360Paging: q.paging(), From: q.int64("from", 0), To: q.int64("to", 0)}
	if c := q.int64("contactId", 1); c != nil {
		f.ContactID = *c
	}
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Events(acct, f)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, f.M360Paging, viewEvent))
}

func (a *API) createEvent(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	var in eventInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	e := store.M360Event{AccountID: acct}
	if err := in.apply(&e, true); err != nil {
		return fail(err)
	}
	e, err = a.Store.CreateM360Event(e)
	if err != nil {
		return fail(err)
	}
	return created(result[eventView]{viewEvent(e)})
}

func (a *API) getEvent(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "eventId", "Event")
	if err != nil {
		return fail(err)
	}
	e, err := a.Store.M360Event(acct, id[0])
	if err != nil {
		return fail(err)
	}
	return ok(result[eventView]{viewEvent(e)})
}

// updateEvent is a partial update; the store checks the result as on create.
func (a *API) updateEvent(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "eventId", "Event")
	if err != nil {
		return fail(err)
	}
	var in eventInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	e, err := a.Store.UpdateM360Event(acct, id[0], func(e *store.M360Event) error { return in.apply(e, false) })
	if err != nil {
		return fail(err)
	}
	return ok(result[eventView]{viewEvent(e)})
}

func (a *API) deleteEvent(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "eventId", "Event")
	if err != nil {
		return fail(err)
	}
	if err := a.Store.DeleteM360Event(acct, id[0]); err != nil {
		return fail(err)
	}
	return deleted(id[0])
}

// --- campaigns ---

func (a *API) listCampaigns(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	p := q.paging()
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Campaigns(acct, p)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, p, viewCampaign))
}

func (a *API) getCampaign(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "campaignId", "Campaign")
	if err != nil {
		return fail(err)
	}
	c, err := a.Store.M360Campaign(acct, id[0])
	if err != nil {
		return fail(err)
	}
	return ok(result[campaignView]{viewCampaign(c)})
}

func (a *API) listTriggers(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "campaignId", "Campaign")
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	p := q.paging()
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Triggers(acct, id[0], p)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, p, viewTrigger))
}

// triggerCampaign enters a contact into a campaign: 201 the first time, 200
// with the same trigger after.
func (a *API) triggerCampaign(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "campaignId", "Campaign")
	if err != nil {
		return fail(err)
	}
	var in triggerInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	if in.ContactID < 1 {
		return fail(problems{"contactId": "must be a positive integer"}.err())
	}
	t, isNew, err := a.Store.TriggerM360Campaign(acct, id[0], in.ContactID)
	if err != nil {
		return fail(err)
	}
	if isNew {
		return created(result[triggerView]{viewTrigger(t)})
	}
	return ok(result[triggerView]{viewTrigger(t)})
}

// --- webhooks ---

func (a *API) listWebhooks(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	p := q.paging()
	if err := q.err(); err != nil {
		return fail(err)
	}
	page, total, err := a.Store.M360Webhooks(acct, p)
	if err != nil {
		return fail(err)
	}
	return ok(list(page, total, p, viewWebhook))
}

func (a *API) createWebhook(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	var in webhookInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	w, err := in.webhook()
	if err != nil {
		return fail(err)
	}
	w.AccountID, w.Secret = acct, a.secret()
	w, err = a.Store.CreateM360Webhook(w)
	if err != nil {
		return fail(err)
	}
	return created(result[webhookCreatedView]{viewWebhookCreated(w)})
}

func (a *API) secret() string {
	if a.Secret != nil {
		return a.Secret()
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "whsec_" + hex.EncodeToString(b)
}

func (a *API) deleteWebhook(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "webhookId", "Webhook")
	if err != nil {
		return fail(err)
	}
	if err := a.Store.DeleteM360Webhook(acct, id[0]); err != nil {
		return fail(err)
	}
	return deleted(id[0])
}

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
	M360Notes(account int64, f store.M360NoteFilter) ([]store.M360Note, int, error)

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
	// CheckURL refuses a webhook URL that cannot be subscribed (one that
	// points at the twin itself, say); nil checks that it is an absolute
	// http or https URL.
	CheckURL func(string) error
}

// Handlers returns the handler of every operation, by operationId: every
// route of the API on one screen.
func (a *API) Handlers() map[string]pipeline.HandlerFunc {
	tasks, notes, events := a.tasks(), a.notes(), a.events()
	h := map[string]pipeline.HandlerFunc{
		"m360-get-account":            a.getAccount,
		"m360-list-contacts":          a.listContacts,
		"m360-create-contact":         a.createContact,
		"m360-get-contact":            a.getContact,
		"m360-replace-contact":        a.updateContact,
		"m360-delete-contact":         a.deleteContact,
		"m360-list-contact-tasks":     a.listContactTasks,
		"m360-create-task":            tasks.create,
		"m360-get-task":               tasks.get,
		"m360-update-task":            tasks.update,
		"m360-delete-task":            tasks.remove,
		"m360-list-tasks":             a.listTasks,
		"m360-list-notes":             a.listNotes,
		"m360-list-account-notes":     a.listAccountNotes,
		"m360-create-note":            notes.create,
		"m360-get-note":               notes.get,
		"m360-update-note":            notes.update,
		"m360-delete-note":            notes.remove,
		"m360-list-events":            a.listEvents,
		"m360-create-event":           events.create,
		"m360-get-event":              events.get,
		"m360-update-event":           events.update,
		"m360-delete-event":           events.remove,
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

// changes reads the updatedSince and externalId of a list.
func (q *query) changes() store.M360Changes {
	return store.M360Changes{UpdatedSince: q.int64("updatedSince", 0), ExternalID: q.r.Query.Get("externalId")}
}

// contactID reads the contactId of an account-wide list: 0 for every contact.
func (q *query) contactID() int64 {
	if c := q.int64("contactId", 1); c != nil {
		return *c
	}
	return 0
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
	return listed(r, nil,
		func(q *query, _ []int64) (store.M360ContactFilter, store.M360Paging) {
			f := store.M360ContactFilter{M360Paging: q.paging(), M360Changes: q.changes(), Email: r.Query.Get("email")}
			return f, f.M360Paging
		},
		func(acct int64, _ []int64, f store.M360ContactFilter) ([]store.M360Contact, int, error) {
			return a.Store.M360Contacts(acct, f)
		}, viewContact)
}

func (a *API) createContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := account(r)
	if err != nil {
		return fail(err)
	}
	var in contactInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	c := store.M360Contact{AccountID: acct}
	if err := in.apply(&c); err != nil {
		return fail(err)
	}
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

// updateContact is the partial update of PUT: the fields sent replace
// theirs, the rest keep their value, as every PUT of this API does.
func (a *API) updateContact(r *pipeline.Request) (pipeline.Response, error) {
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return fail(err)
	}
	var in contactInput
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	c, err := a.Store.UpdateM360Contact(acct, id[0], in.apply)
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

// tasks are under a contact; the store keeps a task's completedAt.
func (a *API) tasks() *records[store.M360Task, taskInput, *taskInput, taskView] {
	return &records[store.M360Task, taskInput, *taskInput, taskView]{
		api: a, underContact: true, idParam: "taskId", kind: "Task", view: viewTask,
		blank: func(acct, contact int64) store.M360Task {
			return store.M360Task{AccountID: acct, ContactID: contact}
		},
		createFn: Store.CreateM360Task, getFn: Store.M360Task, updateFn: Store.UpdateM360Task, removeFn: Store.DeleteM360Task,
	}
}

func (a *API) listContactTasks(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, []string{"contactId", "Contact"},
		func(q *query, id []int64) (store.M360TaskFilter, store.M360Paging) {
			f := store.M360TaskFilter{M360Paging: q.paging(), M360Changes: q.changes(), ContactID: id[0]}
			return f, f.M360Paging
		}, a.fetchTasks, viewTask)
}

func (a *API) listTasks(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, nil,
		func(q *query, _ []int64) (store.M360TaskFilter, store.M360Paging) {
			f := store.M360TaskFilter{M360Paging: q.paging(), M360Changes: q.changes(), Completed: q.bool("completed")}
			return f, f.M360Paging
		}, a.fetchTasks, viewTask)
}

func (a *API) fetchTasks(acct int64, _ []int64, f store.M360TaskFilter) ([]store.M360Task, int, error) {
	return a.Store.M360Tasks(acct, f)
}

// --- notes ---

func (a *API) notes() *records[store.M360Note, noteInput, *noteInput, noteView] {
	return &records[store.M360Note, noteInput, *noteInput, noteView]{
		api: a, underContact: true, idParam: "noteId", kind: "Note", view: viewNote,
		blank: func(acct, contact int64) store.M360Note {
			return store.M360Note{AccountID: acct, ContactID: contact}
		},
		createFn: Store.CreateM360Note, getFn: Store.M360Note, updateFn: Store.UpdateM360Note, removeFn: Store.DeleteM360Note,
	}
}

func (a *API) listNotes(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, []string{"contactId", "Contact"},
		func(q *query, id []int64) (store.M360NoteFilter, store.M360Paging) {
			f := store.M360NoteFilter{M360Paging: q.paging(), M360Changes: q.changes(), ContactID: id[0]}
			return f, f.M360Paging
		}, a.fetchNotes, viewNote)
}

func (a *API) listAccountNotes(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, nil,
		func(q *query, _ []int64) (store.M360NoteFilter, store.M360Paging) {
			f := store.M360NoteFilter{M360Paging: q.paging(), M360Changes: q.changes(), ContactID: q.contactID()}
			return f, f.M360Paging
		}, a.fetchNotes, viewNote)
}

func (a *API) fetchNotes(acct int64, _ []int64, f store.M360NoteFilter) ([]store.M360Note, int, error) {
	return a.Store.M360Notes(acct, f)
}

// --- calendar events ---

// events are under the account, not a contact: the body names the contact,
// and an update may move an event to another contact of the account.
func (a *API) events() *records[store.M360Event, eventInput, *eventInput, eventView] {
	return &records[store.M360Event, eventInput, *eventInput, eventView]{
		api: a, idParam: "eventId", kind: "Event", view: viewEvent,
		blank:    func(acct, _ int64) store.M360Event { return store.M360Event{AccountID: acct} },
		createFn: Store.CreateM360Event,
		getFn: func(s Store, acct, _, id int64) (store.M360Event, error) {
			return s.M360Event(acct, id)
		},
		updateFn: func(s Store, acct, _, id int64, fn func(*store.M360Event) error) (store.M360Event, error) {
			return s.UpdateM360Event(acct, id, fn)
		},
		removeFn: func(s Store, acct, _, id int64) error { return s.DeleteM360Event(acct, id) },
	}
}

func (a *API) listEvents(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, nil,
		func(q *query, _ []int64) (store.M360EventFilter, store.M360Paging) {
			f := store.M360EventFilter{M360Paging: q.paging(), M360Changes: q.changes(), ContactID: q.contactID(),
				From: q.int64("from", 0), To: q.int64("to", 0)}
			return f, f.M360Paging
		},
		func(acct int64, _ []int64, f store.M360EventFilter) ([]store.M360Event, int, error) {
			return a.Store.M360Events(acct, f)
		}, viewEvent)
}

// --- campaigns ---

func (a *API) listCampaigns(r *pipeline.Request) (pipeline.Response, error) {
	return listed(r, nil, pagingOnly,
		func(acct int64, _ []int64, p store.M360Paging) ([]store.M360Campaign, int, error) {
			return a.Store.M360Campaigns(acct, p)
		}, viewCampaign)
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
	return listed(r, []string{"campaignId", "Campaign"}, pagingOnly,
		func(acct int64, id []int64, p store.M360Paging) ([]store.M360Trigger, int, error) {
			return a.Store.M360Triggers(acct, id[0], p)
		}, viewTrigger)
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
	return listed(r, nil, pagingOnly,
		func(acct int64, _ []int64, p store.M360Paging) ([]store.M360Webhook, int, error) {
			return a.Store.M360Webhooks(acct, p)
		}, viewWebhook)
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
	w, err := in.webhook(a.CheckURL)
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

package m360

import (
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// input is a request body that writes itself onto a record of type T: on
// create it requires what a new record needs, on update it changes only the
// fields sent.
type input[T, I any] interface {
	*I
	apply(v *T, create bool) error
}

// records serves create, get, update and delete of one kind of record. Tasks
// and notes are under a contact: their paths start with contactId and the
// store takes (account, contact, id). Calendar events are under the account
// only: contact is 0 and the store operations ignore it.
type records[T, I any, PI input[T, I], V any] struct {
	api          *API
	underContact bool
	// idParam is the record's path parameter; kind names it in a 404.
	idParam, kind string
	view          func(T) V
	// blank is a new record of the account (and contact) before the body
	// applies.
	blank func(account, contact int64) T

	// The store's operations, as method expressions of Store: the handlers
	// map is built before a Store is set.
	createFn func(s Store, v T) (T, error)
	getFn    func(s Store, account, contact, id int64) (T, error)
	updateFn func(s Store, account, contact, id int64, fn func(*T) error) (T, error)
	removeFn func(s Store, account, contact, id int64) error
}

// parent returns the key's account and, for a kind under a contact, the
// path's contact.
func (k *records[T, I, PI, V]) parent(r *pipeline.Request) (acct, contact int64, err error) {
	if !k.underContact {
		acct, err = account(r)
		return acct, 0, err
	}
	acct, id, err := ids(r, "contactId", "Contact")
	if err != nil {
		return 0, 0, err
	}
	return acct, id[0], nil
}

// locate returns the account, contact and id of the path's record.
func (k *records[T, I, PI, V]) locate(r *pipeline.Request) (acct, contact, id int64, err error) {
	if acct, contact, err = k.parent(r); err != nil {
		return 0, 0, 0, err
	}
	if id, err = pathID(r, k.idParam, k.kind); err != nil {
		return 0, 0, 0, err
	}
	return acct, contact, id, nil
}

func (k *records[T, I, PI, V]) create(r *pipeline.Request) (pipeline.Response, error) {
	acct, contact, err := k.parent(r)
	if err != nil {
		return fail(err)
	}
	var in I
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	v := k.blank(acct, contact)
	if err := PI(&in).apply(&v, true); err != nil {
		return fail(err)
	}
	v, err = k.createFn(k.api.Store, v)
	if err != nil {
		return fail(err)
	}
	return created(result[V]{k.view(v)})
}

func (k *records[T, I, PI, V]) get(r *pipeline.Request) (pipeline.Response, error) {
	acct, contact, id, err := k.locate(r)
	if err != nil {
		return fail(err)
	}
	v, err := k.getFn(k.api.Store, acct, contact, id)
	if err != nil {
		return fail(err)
	}
	return ok(result[V]{k.view(v)})
}

// update is a partial update: the fields sent change, the others stay.
func (k *records[T, I, PI, V]) update(r *pipeline.Request) (pipeline.Response, error) {
	acct, contact, id, err := k.locate(r)
	if err != nil {
		return fail(err)
	}
	var in I
	if err := r.Decode(&in); err != nil {
		return fail(err)
	}
	v, err := k.updateFn(k.api.Store, acct, contact, id, func(v *T) error { return PI(&in).apply(v, false) })
	if err != nil {
		return fail(err)
	}
	return ok(result[V]{k.view(v)})
}

func (k *records[T, I, PI, V]) remove(r *pipeline.Request) (pipeline.Response, error) {
	acct, contact, id, err := k.locate(r)
	if err != nil {
		return fail(err)
	}
	if err := k.removeFn(k.api.Store, acct, contact, id); err != nil {
		return fail(err)
	}
	return deleted(id)
}

// listed serves a list operation: path names the parent ids in the path,
// each with its kind; filter reads the query (and those ids) into the store's
// filter and the paging the envelope echoes; fetch returns the page and the
// total. The path's ids are checked before the query, and the query before
// the store is asked.
func listed[F, T, V any](r *pipeline.Request, path []string, filter func(q *query, id []int64) (F, store.M360Paging),
	fetch func(acct int64, id []int64, f F) ([]T, int, error), view func(T) V) (pipeline.Response, error) {
	acct, id, err := ids(r, path...)
	if err != nil {
		return fail(err)
	}
	q := newQuery(r)
	f, p := filter(q, id)
	if err := q.err(); err != nil {
		return fail(err)
	}
	items, total, err := fetch(acct, id, f)
	if err != nil {
		return fail(err)
	}
	return ok(list(items, total, p, view))
}

// pagingOnly is the filter of a list whose only parameters are its paging.
func pagingOnly(q *query, _ []int64) (store.M360Paging, store.M360Paging) {
	p := q.paging()
	return p, p
}

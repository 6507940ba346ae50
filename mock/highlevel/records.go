package highlevel

import (
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// input is a request body that writes itself onto a record of type T.
type input[T, I any] interface {
	*I
	apply(*T) error
}

// records serves the operations on one kind of record kept under an owner
// (a contact's tasks and notes, an appointment's notes): list, create, get,
// update and delete, each after checking that the owner exists and the
// token may see it.
type records[T, I any, PI input[T, I], V any] struct {
	api *API
	// one and many name the record in response envelopes ({"task": ...},
	// {"tasks": [...]}); idParam is its path parameter.
	one, many, idParam string
	newestFirst        bool
	view               func(T) V
	// owner returns the id of the request's owner when the token may see
	// it; nil is the path's contact.
	owner func(*pipeline.Request) (string, error)
	// removed is the answer of a delete; nil is {"succeded": true}.
	removed any

	listFn   func(owner string) ([]T, error)
	createFn func(owner string, v T) (T, error)
	getFn    func(owner, id string) (T, error)
	updateFn func(owner, id string, fn func(*T) error) (T, error)
	removeFn func(owner, id string) error
}

// ownerOf returns the id of the request's owner.
func (k *records[T, I, PI, V]) ownerOf(r *pipeline.Request) (string, error) {
	if k.owner != nil {
		return k.owner(r)
	}
	c, err := k.api.contact(r)
	return c.ID, err
}

// items returns the owner's records in the list's order.
func (k *records[T, I, PI, V]) items(r *pipeline.Request) ([]T, error) {
	owner, err := k.ownerOf(r)
	if err != nil {
		return nil, err
	}
	items, err := k.listFn(owner)
	if err != nil {
		return nil, err
	}
	if k.newestFirst {
		slices.Reverse(items)
	}
	return items, nil
}

func (k *records[T, I, PI, V]) list(r *pipeline.Request) (pipeline.Response, error) {
	items, err := k.items(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{k.many: mapSlice(items, k.view)}), nil
}

func (k *records[T, I, PI, V]) create(r *pipeline.Request) (pipeline.Response, error) {
	var in I
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	owner, err := k.ownerOf(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	var v T
	if err := PI(&in).apply(&v); err != nil {
		return pipeline.Response{}, err
	}
	created, err := k.createFn(owner, v)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusCreated, map[string]any{k.one: k.view(created)}), nil
}

func (k *records[T, I, PI, V]) get(r *pipeline.Request) (pipeline.Response, error) {
	owner, err := k.ownerOf(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	v, err := k.getFn(owner, r.Path[k.idParam])
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, map[string]any{k.one: k.view(v)}), nil
}

func (k *records[T, I, PI, V]) update(r *pipeline.Request) (pipeline.Response, error) {
	return k.patch(nil)(r)
}

// patch applies the body to the path's record; only, when not nil, keeps
// just the fields the operation may change.
func (k *records[T, I, PI, V]) patch(only func(I) I) pipeline.HandlerFunc {
	return func(r *pipeline.Request) (pipeline.Response, error) {
		var in I
		if err := r.Decode(&in); err != nil {
			return pipeline.Response{}, err
		}
		if only != nil {
			in = only(in)
		}
		owner, err := k.ownerOf(r)
		if err != nil {
			return pipeline.Response{}, err
		}
		v, err := k.updateFn(owner, r.Path[k.idParam], PI(&in).apply)
		if err != nil {
			return pipeline.Response{}, err
		}
		return pipeline.JSON(http.StatusOK, map[string]any{k.one: k.view(v)}), nil
	}
}

func (k *records[T, I, PI, V]) remove(r *pipeline.Request) (pipeline.Response, error) {
	owner, err := k.ownerOf(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if err := k.removeFn(owner, r.Path[k.idParam]); err != nil {
		return pipeline.Response{}, err
	}
	if k.removed != nil {
		return pipeline.JSON(http.StatusOK, k.removed), nil
	}
	return pipeline.JSON(http.StatusOK, deleted), nil
}

// page answers limit of the owner's records from offset, with hasMore when
// more follow (the calendars service's paging).
func (k *records[T, I, PI, V]) page(r *pipeline.Request) (pipeline.Response, error) {
	items, err := k.items(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	// Numbers by the spec: limit 1 to 20, offset from 0.
	limit, _ := strconv.ParseFloat(r.Query.Get("limit"), 64)
	offset, _ := strconv.ParseFloat(r.Query.Get("offset"), 64)
	from := min(len(items), int(min(math.Floor(offset), float64(len(items)))))
	to := min(len(items), from+int(math.Floor(limit)))
	return pipeline.JSON(http.StatusOK, map[string]any{k.many: mapSlice(items[from:to], k.view), "hasMore": to < len(items)}), nil
}

package highlevel

import (
	"net/http"
	"slices"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// input is a request body that writes itself onto a record of type T.
type input[T, I any] interface {
	*I
	apply(*T) error
}

// records serves the operations on one kind of record kept under a contact
// (tasks, notes): list, create, get, update and delete, each after checking
// that the contact exists and the token may see it.
type records[T, I any, PI input[T, I], V any] struct {
	api *API
	// one and many name the record in response envelopes ({"task": ...},
	// {"tasks": [...]}); idParam is its path parameter.
	one, many, idParam string
	newestFirst        bool
	view               func(T) V

	listFn   func(contact string) ([]T, error)
	createFn func(contact string, v T) (T, error)
	getFn    func(contact, id string) (T, error)
	updateFn func(contact, id string, fn func(*T) error) (T, error)
	removeFn func(contact, id string) error
}

func (k *records[T, I, PI, V]) list(r *pipeline.Request) (pipeline.Response, error) {
	c, err := k.api.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	items, err := k.listFn(c.ID)
	if err != nil {
		return pipeline.Response{}, err
	}
	if k.newestFirst {
		slices.Reverse(items)
	}
	return pipeline.JSON(http.StatusOK, map[string]any{k.many: mapSlice(items, k.view)}), nil
}

func (k *records[T, I, PI, V]) create(r *pipeline.Request) (pipeline.Response, error) {
	var in I
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	c, err := k.api.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	var v T
	if err := PI(&in).apply(&v); err != nil {
		return pipeline.Response{}, err
	}
	created, err := k.createFn(c.ID, v)
	if err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusCreated, map[string]any{k.one: k.view(created)}), nil
}

func (k *records[T, I, PI, V]) get(r *pipeline.Request) (pipeline.Response, error) {
	c, err := k.api.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	v, err := k.getFn(c.ID, r.Path[k.idParam])
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
		c, err := k.api.contact(r)
		if err != nil {
			return pipeline.Response{}, err
		}
		v, err := k.updateFn(c.ID, r.Path[k.idParam], PI(&in).apply)
		if err != nil {
			return pipeline.Response{}, err
		}
		return pipeline.JSON(http.StatusOK, map[string]any{k.one: k.view(v)}), nil
	}
}

func (k *records[T, I, PI, V]) remove(r *pipeline.Request) (pipeline.Response, error) {
	c, err := k.api.contact(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	if err := k.removeFn(c.ID, r.Path[k.idParam]); err != nil {
		return pipeline.Response{}, err
	}
	return pipeline.JSON(http.StatusOK, deleted), nil
}

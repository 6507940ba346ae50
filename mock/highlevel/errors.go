package highlevel

import (
	"errors"
	"net/http"
	"strings"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// duplicateMessage is the vendor's answer to a contact that duplicates
// another in a location that does not allow it.
const duplicateMessage = "This location does not allow duplicated contacts."

// MapError words the store's errors as the HighLevel API does: a missing
// record is a 404 "Contact not found", a duplicate contact a 400 naming the
// contact it matched (meta.contactId, meta.matchingField), an invalid value
// a 422. It returns nil for any other error.
func MapError(err error) *pipeline.Error {
	var notFound *store.NotFoundError
	var dup *store.DuplicateError
	var invalid *store.InvalidError
	switch {
	case errors.As(err, &notFound):
		return &pipeline.Error{Status: http.StatusNotFound, Messages: []string{notFound.Kind + " not found"}, Err: err}
	case errors.As(err, &dup):
		return &pipeline.Error{Status: http.StatusBadRequest, Messages: []string{duplicateMessage}, Err: err,
			Meta: map[string]any{"contactId": dup.ContactID, "matchingField": dup.Field}}
	case errors.As(err, &invalid):
		return &pipeline.Error{Status: http.StatusUnprocessableEntity, Messages: []string{invalid.Field + " " + invalid.Reason},
			Err: err, Meta: map[string]any{invalid.Field: invalid.Reason}}
	}
	return nil
}

// errorBody is the vendor's NestJS error envelope.
type errorBody struct {
	StatusCode int            `json:"statusCode"`
	Message    any            `json:"message"`
	Error      string         `json:"error"`
	Meta       map[string]any `json:"meta,omitempty"`
}

// RenderError writes errors as the HighLevel API does: message is an array
// for 422 and a string otherwise.
func RenderError(e *pipeline.Error) any {
	body := errorBody{StatusCode: e.Status, Error: http.StatusText(e.Status)}
	if e.Status == http.StatusBadRequest {
		body.Meta = e.Meta // the duplicate contact's id
	}
	if e.Status == http.StatusUnprocessableEntity {
		body.Message = e.Messages
	} else {
		body.Message = strings.Join(e.Messages, "; ")
	}
	return body
}

package m360

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// MapError words the store's errors as this API does: a missing record is a
// 404 "Contact not found", an invalid value a 422 and a taken value or a
// refusing state a 409, both with the field at fault in fields. It returns
// nil for any other error.
func MapError(err error) *pipeline.Error {
	var notFound *store.NotFoundError
	var invalid *store.InvalidError
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &notFound):
		return &pipeline.Error{Status: http.StatusNotFound, Messages: []string{notFound.Kind + " not found"}, Err: err}
	case errors.As(err, &invalid):
		return fieldError(http.StatusUnprocessableEntity, invalid.Field, invalid.Reason, err)
	case errors.As(err, &conflict):
		return fieldError(http.StatusConflict, conflict.Field, conflict.Reason, err)
	}
	return nil
}

// fieldError is an error about one field: "field reason", with the field
// in fields.
func fieldError(status int, field, reason string, err error) *pipeline.Error {
	return &pipeline.Error{Status: status, Messages: []string{field + " " + reason}, Err: err,
		Meta: map[string]any{field: reason}}
}

// Error codes of the error envelope, by status.
var errorCodes = map[int]string{
	http.StatusBadRequest:          "bad_request",
	http.StatusUnauthorized:        "unauthorized",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "not_found",
	http.StatusConflict:            "conflict",
	http.StatusLengthRequired:      "length_required",
	http.StatusUnprocessableEntity: "validation_error",
	http.StatusTooManyRequests:     "rate_limited",
	http.StatusInternalServerError: "internal",
}

// ErrorCode returns the envelope's code for a status: its own, or
// bad_request for another 4xx and internal for anything else.
func ErrorCode(status int) string {
	if code, ok := errorCodes[status]; ok {
		return code
	}
	if status >= 400 && status < 500 {
		return "bad_request"
	}
	return "internal"
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

// RenderError writes every error in the one envelope
// {"error": {"code", "message", "fields"}}: the messages joined by "; ",
// and Meta, when there is any, as fields.
func RenderError(e *pipeline.Error) any {
	d := errorDetail{Code: ErrorCode(e.Status), Message: strings.Join(e.Messages, "; ")}
	// Authentication and permission failures in this API's own words.
	switch e.Status {
	case http.StatusUnauthorized:
		d.Message = "Invalid API key: send the key's client id and secret with HTTP Basic authentication"
	case http.StatusForbidden:
		d.Message = "This API key does not have the permission this operation requires"
	}
	if d.Message == "" {
		d.Message = http.StatusText(e.Status)
	}
	if len(e.Meta) > 0 {
		d.Fields = make(map[string]string, len(e.Meta))
		for k, v := range e.Meta {
			d.Fields[k] = fmt.Sprint(v)
		}
	}
	return errorBody{Error: d}
}

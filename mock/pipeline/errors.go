package pipeline

import (
	"errors"
	"net/http"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// Error is an API error: a status and what to tell the client. Each API
// renders it in its own envelope (see ErrorRenderer).
type Error struct {
	Status   int
	Messages []string
	// Meta carries extra fields some errors have (the contact a duplicate
	// matched, say).
	Meta map[string]any
	// Header holds headers to send with the error (Retry-After, say).
	Header http.Header
	// Err is the cause, for logs; never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if len(e.Messages) == 0 {
		return http.StatusText(e.Status)
	}
	return e.Messages[0]
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorRenderer turns an Error into an API's error body.
type ErrorRenderer func(e *Error) any

// BadRequest is a 400 with one message.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Messages: []string{msg}}
}

// Unprocessable is a 422 with one message per problem.
func Unprocessable(msgs ...string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Messages: msgs}
}

// ToError maps any error to an API error. It is the one place where errors
// become HTTP statuses.
func ToError(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var notFound *store.NotFoundError
	var dup *store.DuplicateError
	var invalid *store.InvalidError
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &notFound):
		return &Error{Status: http.StatusNotFound, Messages: []string{notFound.Error()}, Err: err}
	case errors.As(err, &dup):
		return &Error{Status: http.StatusBadRequest, Messages: []string{dup.Error()}, Err: err,
			Meta: map[string]any{"contactId": dup.ContactID, "matchingField": dup.Field}}
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusUnprocessableEntity, Messages: []string{invalid.Error()}, Err: err,
			Meta: map[string]any{invalid.Field: invalid.Reason}}
	case errors.As(err, &conflict):
		return &Error{Status: http.StatusConflict, Messages: []string{conflict.Error()}, Err: err,
			Meta: map[string]any{conflict.Field: conflict.Reason}}
	case errors.Is(err, auth.ErrInvalidToken):
		return &Error{Status: http.StatusUnauthorized, Messages: []string{"Invalid token: access token is invalid"}, Err: err}
	case errors.Is(err, auth.ErrExpiredToken):
		return &Error{Status: http.StatusUnauthorized, Messages: []string{"Invalid JWT: access token has expired"}, Err: err}
	case errors.Is(err, auth.ErrScope):
		return &Error{Status: http.StatusUnauthorized, Messages: []string{"The token is not authorized for this scope."}, Err: err}
	case errors.Is(err, webhooks.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Messages: []string{err.Error()}, Err: err}
	case errors.Is(err, webhooks.ErrInvalidSettings), errors.Is(err, webhooks.ErrInvalidPayload):
		return &Error{Status: http.StatusUnprocessableEntity, Messages: []string{err.Error()}, Err: err}
	case errors.Is(err, webhooks.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Messages: []string{err.Error()}, Err: err}
	case errors.Is(err, auth.ErrLocation):
		return &Error{Status: http.StatusForbidden, Messages: []string{"The token does not have access to this location."}, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Messages: []string{"Internal server error"}, Err: err}
}

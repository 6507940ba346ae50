package pipeline

import (
	"errors"
	"net/http"

	"github.com/contactbridge/contactbridge/mock/auth"
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

// ErrorMapper turns the errors of an API's own packages (its store's, say)
// into API errors in that API's words; nil for an error it does not know.
type ErrorMapper func(err error) *Error

// BadRequest is a 400 with one message.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Messages: []string{msg}}
}

// Unprocessable is a 422 with one message per problem.
func Unprocessable(msgs ...string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Messages: msgs}
}

// toError maps any error to an API error: an *Error (wrapped or not) as it
// is, then what the API's mapper knows, then the errors of authentication,
// which the pipeline itself raises, and anything else as a 500. It is the
// one place where errors become HTTP statuses.
func (p *Pipeline) toError(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if p.cfg.MapError != nil {
		if e := p.cfg.MapError(err); e != nil {
			return e
		}
	}
	return authError(err)
}

// authError maps the auth package's errors, and anything else to a 500.
func authError(err error) *Error {
	status, msg := http.StatusInternalServerError, "Internal server error"
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		status, msg = http.StatusUnauthorized, "Invalid token: access token is invalid"
	case errors.Is(err, auth.ErrExpiredToken):
		status, msg = http.StatusUnauthorized, "Invalid JWT: access token has expired"
	case errors.Is(err, auth.ErrScope):
		status, msg = http.StatusUnauthorized, "The token is not authorized for this scope."
	case errors.Is(err, auth.ErrLocation):
		status, msg = http.StatusForbidden, "The token does not have access to this location."
	}
	return &Error{Status: status, Messages: []string{msg}, Err: err}
}

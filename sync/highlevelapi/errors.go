package highlevelapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/contactbridge/contactbridge/sync/internal/answer"
)

// Conditions an *Error matches with errors.Is.
var (
	ErrNotFound     = errors.New("highlevelapi: not found")
	ErrUnauthorized = errors.New("highlevelapi: unauthorized")
	ErrForbidden    = errors.New("highlevelapi: forbidden")
	ErrValidation   = errors.New("highlevelapi: invalid request")
	ErrRateLimited  = errors.New("highlevelapi: rate limited")
	// ErrDuplicate is a create refused because the location does not allow
	// duplicate contacts; Error.Meta["contactId"] names the existing one.
	ErrDuplicate = errors.New("highlevelapi: duplicate contact")
)

// Error is an answer outside 2xx, read from the API's error shapes:
// {statusCode, message, error, meta}, where message is one line or, on 422,
// a list of them.
type Error struct {
	StatusCode int
	// Message holds the message lines.
	Message []string
	// Name is the error field ("Bad Request", "Not Found", ...).
	Name string
	// Meta is the meta object, when the answer has one.
	Meta map[string]any
}

func (e *Error) Error() string {
	msg := strings.Join(e.Message, "; ")
	if msg == "" {
		msg = e.Name
	}
	return fmt.Sprintf("highlevelapi: %d %s", e.StatusCode, msg)
}

// Is reports whether e is one of the package's conditions.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity || e.StatusCode == http.StatusBadRequest
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrDuplicate:
		_, ok := e.Meta["contactId"]
		return e.StatusCode == http.StatusBadRequest && ok
	}
	return false
}

// IsNotFound tells whether err is a 404 answer.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsDuplicate tells whether err refuses a duplicate contact.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }

// Response is what every generated response has.
type Response = answer.Response

// OK passes a call's answer on when it is a 2xx, and otherwise returns an
// *Error read from it; err, when set, is returned as it is.
//
//	res, err := highlevelapi.OK(c.GetContactWithResponse(ctx, id, nil))
func OK[R Response](res R, err error) (R, error) { return answer.Check(res, err, parseError) }

func parseError(status int, raw []byte) error {
	e := &Error{StatusCode: status}
	var body struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
		Meta    map[string]any  `json:"meta"`
	}
	if json.Unmarshal(raw, &body) != nil {
		if text := strings.TrimSpace(string(raw)); text != "" {
			e.Message = []string{text}
		}
		return e
	}
	e.Name, e.Meta = body.Error, body.Meta
	var line string
	if json.Unmarshal(body.Message, &line) == nil {
		e.Message = []string{line}
	} else {
		_ = json.Unmarshal(body.Message, &e.Message)
	}
	return e
}

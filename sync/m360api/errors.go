package m360api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/contactbridge/contactbridge/sync/internal/answer"
)

// Conditions an *Error matches with errors.Is, by its code.
var (
	ErrNotFound     = errors.New("m360api: not found")
	ErrConflict     = errors.New("m360api: conflict")
	ErrUnauthorized = errors.New("m360api: unauthorized")
	ErrForbidden    = errors.New("m360api: forbidden")
	ErrValidation   = errors.New("m360api: invalid request")
	ErrRateLimited  = errors.New("m360api: rate limited")
)

var codes = map[ErrorErrorCode]error{
	ErrorErrorCodeNotFound:        ErrNotFound,
	ErrorErrorCodeConflict:        ErrConflict,
	ErrorErrorCodeUnauthorized:    ErrUnauthorized,
	ErrorErrorCodeForbidden:       ErrForbidden,
	ErrorErrorCodeValidationError: ErrValidation,
	ErrorErrorCodeBadRequest:      ErrValidation,
	ErrorErrorCodeRateLimited:     ErrRateLimited,
}

// Error is an answer outside 2xx, read from {"error": {code, message,
// fields}}.
type Error struct {
	StatusCode int
	Code       ErrorErrorCode
	Message    string
	// Fields are the fields at fault, each with its problem.
	Fields map[string]string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "m360api: %d %s: %s", e.StatusCode, e.Code, e.Message)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, "; %s %s", k, e.Fields[k])
	}
	return b.String()
}

// Is reports whether e is one of the package's conditions.
func (e *Error) Is(target error) bool { return codes[e.Code] == target && target != nil }

// IsNotFound tells whether err is a not_found answer.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict tells whether err is a conflict answer (a duplicate email, a
// paused campaign).
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// Response is what every generated response has.
type Response = answer.Response

// OK passes a call's answer on when it is a 2xx, and otherwise returns an
// *Error read from it; err, when set, is returned as it is.
func OK[R Response](res R, err error) (R, error) { return answer.Check(res, err, parseError) }

func parseError(status int, raw []byte) error {
	e := &Error{StatusCode: status}
	var body ErrorBody
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		if body.Error.Fields != nil {
			e.Fields = *body.Error.Fields
		}
	} else {
		e.Message = strings.TrimSpace(string(raw))
	}
	return e
}

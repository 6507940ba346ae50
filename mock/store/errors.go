package store

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers test them with errors.Is. The errors say what
// happened in the store's own terms: each API words them for its clients.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrDuplicate = errors.New("store: duplicate contact")
	ErrInvalid   = errors.New("store: invalid value")
	ErrConflict  = errors.New("store: conflict")
)

// NotFoundError names what was not found.
type NotFoundError struct {
	Kind string // "Contact", "Task", ...
	ID   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("store: %s %s: not found", strings.ToLower(e.Kind), e.ID)
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// DuplicateError reports a contact whose email or phone is taken in a
// location that does not allow duplicates.
type DuplicateError struct {
	ContactID string // the contact already there
	Field     string // "email" or "phone"
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("store: duplicate contact: %s is used by contact %s", e.Field, e.ContactID)
}

// Unwrap makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// InvalidError reports a value the store cannot accept.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("store: invalid %s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// ConflictError reports a write that conflicts with the state: a taken
// unique value, or a record in a state that refuses the operation.
type ConflictError struct {
	Field  string // the field at fault, "email" say
	Reason string // "is already used by contact 1001"
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: conflict: %s %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

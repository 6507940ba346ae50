package store

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers test them with errors.Is. One table in the mock
// maps them to HTTP statuses.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrDuplicate = errors.New("store: duplicate contact")
	ErrInvalid   = errors.New("store: invalid value")
)

// NotFoundError names what was not found.
type NotFoundError struct {
	Kind string // "Contact", "Task", ...
	ID   string
}

func (e *NotFoundError) Error() string { return e.Kind + " not found" }

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// DuplicateError reports a contact whose email or phone is taken in a
// location that does not allow duplicates.
type DuplicateError struct {
	ContactID string // the contact already there
	Field     string // "email" or "phone"
}

func (e *DuplicateError) Error() string {
	return "This location does not allow duplicated contacts."
}

// Unwrap makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// InvalidError reports a value the store cannot accept.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

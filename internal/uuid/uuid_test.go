package uuid_test

import (
	"testing"

	"github.com/contactbridge/contactbridge/internal/uuid"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	const hex = "0123456789abcdef0123456789abcdefEXTRA"
	if got, want := uuid.Format(hex), "01234567-89ab-cdef-0123-456789abcdef"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
}

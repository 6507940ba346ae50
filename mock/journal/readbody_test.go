package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// TestReadBody_AsReadAllReadsIt: whatever length a request declares, the
// body read is what io.ReadAll reads of it up to the limit and a byte more,
// with the same error.
func TestReadBody_AsReadAllReadsIt(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", pipeline.MaxBodyBytes+10)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		body     func() io.Reader
		declared int64
	}{
		{"exact", func() io.Reader { return strings.NewReader(`{"a":1}`) }, 7},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0},
		{"shorter than declared", func() io.Reader { return strings.NewReader(`{"a"`) }, 7},
		{"longer than declared", func() io.Reader { return strings.NewReader(`{"a":1234567}`) }, 7},
		{"unknown length", func() io.Reader { return strings.NewReader(`{"a":1}`) }, -1},
		{"one byte a read", func() io.Reader { return iotest.OneByteReader(strings.NewReader(`{"a":1}`)) }, 7},
		{"declared at the limit, longer", func() io.Reader { return strings.NewReader(big) }, pipeline.MaxBodyBytes},
		{"declared past the limit", func() io.Reader { return strings.NewReader(big) }, int64(len(big))},
		{"error midway", func() io.Reader { return io.MultiReader(strings.NewReader(`{"a"`), iotest.ErrReader(boom)) }, 7},
		{"a wrapped EOF", func() io.Reader {
			return io.MultiReader(strings.NewReader(`{"a"`), iotest.ErrReader(fmt.Errorf("wrapped: %w", io.EOF)))
		}, 7},
		{"declared past the exact size", func() io.Reader { return strings.NewReader(big[:exactBody+5]) }, exactBody + 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://twin/", io.NopCloser(tc.body()))
			r.ContentLength = tc.declared
			got, gotErr := readBody(r)
			want, wantErr := io.ReadAll(io.LimitReader(tc.body(), pipeline.MaxBodyBytes+1))
			if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("read %d bytes, %v; io.ReadAll %d bytes, %v", len(got), gotErr, len(want), wantErr)
			}
		})
	}
}

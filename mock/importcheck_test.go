package mock

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/fastcheck"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// TestImportCheck_ValidOnlyWhatKinAccepts holds each compiled check of an
// imported field to kin-openapi's VisitJSON of the field's schema, on
// values at and around the specs' limits: the same verdict for every value
// of the field's type, so that the fast path accepts nothing VisitJSON
// refuses (and refuses, for VisitJSON to word, what it refuses).
func TestImportCheck_ValidOnlyWhatKinAccepts(t *testing.T) {
	t.Parallel()
	hl, m := importSpecs(t)
	fields, err := importFields(hl, m)
	if err != nil {
		t.Fatal(err)
	}
	var values []any
	for _, n := range []int{0, 1, 2, 99, 100, 101, 254, 255, 256, 319, 320, 321, 10000, 10001, 65535, 65536} {
		values = append(values, strings.Repeat("x", n), strings.Repeat("é", n), strings.Repeat("🌵", n))
	}
	values = append(values, "2025-01-01T00:00:00Z", "2025-01-01T00:00:00.123Z", "2025-01-01T00:00:00+02:00",
		"2025-13-01T00:00:00Z", "2025-01-01", "not a date", "#FFAA00", "#ffaa0", "\x00", "a\u2028b",
		true, false, 0.0, 1.5, float64(1<<53), nil, map[string]any{"a": "b"},
		-1.0, 1.0, 1769900000.0, 1e18, -1e19, 1e19, float64(math.MaxInt64), float64(math.MinInt64), 2147483648.0, -2147483649.0,
		[]any{}, []any{"a"}, []any{"a", 1.0}, []any{nil}, []any{"a", "a"}, []any{strings.Repeat("t", 101)})
	tags := make([]any, 0, 200)
	for i := range 200 {
		tags = append(tags, strings.Repeat("t", i%120))
		values = append(values, slices.Clone(tags))
	}
	compiled, accepted, refused := 0, 0, 0
	for table, checks := range fields {
		for _, c := range checks.fields {
			name := c.name
			if c.valid == nil {
				continue
			}
			compiled++
			// The schema's own enum values, and one of each changed.
			vs := values
			for _, e := range c.schema.Enum {
				if s, ok := e.(string); ok {
					vs = append(vs, s, strings.ToUpper(s), s+" ")
				}
			}
			for _, v := range vs {
				if !typed(c.schema, v) {
					continue
				}
				kin := c.schema.VisitJSON(v) == nil
				if got := c.valid(v); got != kin {
					t.Errorf("%s.%s: compiled check says %v of %.60v, VisitJSON %v", table, name, got, v, kin)
				}
				if str, ok := v.(string); ok && c.text && fastcheck.String(c.schema, []byte(str)) != kin {
					t.Errorf("%s.%s: the check of the text says %v of %.60v, VisitJSON %v", table, name, !kin, v, kin)
				}
				if kin {
					accepted++
				} else {
					refused++
				}
			}
		}
	}
	t.Logf("%d fields compiled; %d values accepted, %d refused", compiled, accepted, refused)
	if compiled < 40 || accepted == 0 || refused == 0 {
		t.Errorf("%d fields compiled, %d values accepted and %d refused: want many, and both verdicts", compiled, accepted, refused)
	}
}

// TestImportCheck_Record: a record's problem is that of its first declared
// field by name, whatever the members' order; a key given twice is judged
// by its last value (an escaped key by its name); a value VisitJSON refused
// is refused again (only accepted ones are remembered); undeclared members
// are not judged, and what is not an object is an error.
func TestImportCheck_Record(t *testing.T) {
	t.Parallel()
	hl, m := importSpecs(t)
	check, err := recordCheck(hl, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return `"` + strings.Repeat("x", n) + `"` }
	badFields := `[{"id":"f1","value":"ok"},"not an object"]`
	for _, c := range []struct{ record, field string }{
		{`{"firstName":` + long(300) + `,"email":` + long(400) + `}`, "email"},
		{`{"email":` + long(400) + `,"firstName":` + long(300) + `}`, "email"},
		{`{"email":` + long(400) + `,"email":"a@example.com"}`, ""},
		{`{"email":"a@example.com","em\u0061il":` + long(400) + `}`, "email"},
		{`{"customFields":[{"id":"f1","value":"ok"}],"notDeclared":` + long(400) + `}`, ""},
		{`{"customFields":[{"id":"f1","value":"ok"}]}`, ""},
		{`{"customFields":` + badFields + `}`, "customFields"},
		{`{"customFields":` + badFields + `}`, "customFields"},
		// Invalid UTF-8 is taken as U+FFFD, as the store decodes it (and
		// encoding/json with kin-openapi did), in a value and in a key.
		{"{\"firstName\":\"caf\xe9 \u00e9\"}", ""},
		{"{\"first\\u004eame\":\"Ren\xe9\",\"x\\u00e9\xff\":1}", ""},
	} {
		// Each contact has its location, which the state always writes.
		c.record = `{"locationId":"L1",` + c.record[1:]
		err := check("contacts", json.RawMessage(c.record))
		var invalid *store.InvalidError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%.80s: %v, want none", c.record, err)
		case c.field != "" && (!errors.As(err, &invalid) || invalid.Field != c.field || invalid.Reason == ""):
			t.Errorf("%.80s: %v, want a problem with %s", c.record, err, c.field)
		}
	}
	// A field the state always writes, left out or null, is judged as the
	// value the store holds for it ("" here), which its export shows: a
	// task without a title, a note without a body, a contact without a
	// location are refused; one without a field written only when set (a
	// task's body) is not.
	task := `"contactId":"c1","dueDate":"2024-03-08T10:00:00Z","completed":false`
	for _, c := range []struct{ table, record, field string }{
		{"tasks", `{` + task + `}`, "title"},
		{"tasks", `{"title":null,` + task + `}`, "title"},
		{"tasks", `{"title":"",` + task + `}`, "title"},
		{"tasks", `{"title":"Call",` + task + `}`, ""},
		{"tasks", `{"Title":"Call",` + task + `}`, "title"},
		{"notes", `{"contactId":"c1"}`, "body"},
		{"notes", `{"contactId":"c1","body":"Met"}`, ""},
		{"contacts", `{"firstName":"Ada"}`, "locationId"},
		{"contacts", `{"locationId":null,"firstName":"Ada"}`, "locationId"},
	} {
		err := check(c.table, json.RawMessage(c.record))
		var invalid *store.InvalidError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s %s: %v, want none", c.table, c.record, err)
		case c.field != "" && (!errors.As(err, &invalid) || invalid.Field != c.field || invalid.Reason == ""):
			t.Errorf("%s %s: %v, want a problem with %s", c.table, c.record, err, c.field)
		}
	}
	if err := check("contacts", json.RawMessage(`["not an object"]`)); err == nil || errors.As(err, new(*store.InvalidError)) {
		t.Errorf("an array checked as a record: %v", err)
	}
}

// importSpecs loads the embedded specs whose writes an import is checked
// against.
func importSpecs(tb testing.TB) (hl, m *openapi.Spec) {
	tb.Helper()
	hl, err := openapi.LoadHighLevel(tb.Context(), "")
	if err != nil {
		tb.Fatal(err)
	}
	if m, err = openapi.LoadMarketing360(tb.Context(), ""); err != nil {
		tb.Fatal(err)
	}
	return hl, m
}

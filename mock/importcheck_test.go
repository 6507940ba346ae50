package mock

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/contactbridge/contactbridge/openapi"
)

// TestImportCheck_ValidOnlyWhatKinAccepts holds each compiled check of an
// imported field to kin-openapi's VisitJSON of the field's schema, on
// values at and around the specs' limits: the same verdict for every value
// of the field's type, so that the fast path accepts nothing VisitJSON
// refuses (and refuses, for VisitJSON to word, what it refuses).
func TestImportCheck_ValidOnlyWhatKinAccepts(t *testing.T) {
	t.Parallel()
	hl, err := openapi.LoadHighLevel(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := openapi.LoadMarketing360(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
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

// TestImportCheck_DeclaredValues reads the declared members of a record as
// encoding/json reads them into a map: a key given twice keeps its last
// value, an escaped key is its unescaped name, undeclared members are
// skipped whatever they hold.
func TestImportCheck_DeclaredValues(t *testing.T) {
	t.Parallel()
	checks := &tableCheck{fields: []fieldCheck{{name: "dnd"}, {name: "email"}, {name: "tags"}, {name: "title"}},
		index: map[string]int{"dnd": 0, "email": 1, "tags": 2, "title": 3}}
	raw := `{"email":"a@x","skip":{"deep":[1,{"email":"no"}]},"t\u0061gs":["x",2,{"k":[null]},[]],"dnd":true,"email":"b@x","title":"T\u00e9"}`
	got, err := declaredValues([]byte(raw), checks)
	if err != nil {
		t.Fatal(err)
	}
	want := []member{{0, true}, {1, "b@x"}, {2, []any{"x", 2.0, map[string]any{"k": []any{nil}}, []any{}}}, {3, "Té"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("declaredValues = %#v, want %#v", got, want)
	}
	// Each value as jsonv2 decodes it into any.
	var whole map[string]any
	if err := jsonv2.Unmarshal([]byte(raw), &whole, jsontext.AllowDuplicateNames(true)); err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if name := checks.fields[m.index].name; !reflect.DeepEqual(m.value, whole[name]) {
			t.Errorf("%s = %#v, jsonv2 decodes %#v", name, m.value, whole[name])
		}
	}
	if _, err := declaredValues([]byte(`["not an object"]`), checks); err == nil {
		t.Error("an array read as a record")
	}
}

package fastcheck_test

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/mock/fastcheck"
)

// TestObject_AgreesWithVisitJSON: for objects open, closed and with a
// schema for their other properties, required properties, nested objects
// and properties Compile knows nothing of, Object's check says what
// VisitJSON says.
func TestObject_AgreesWithVisitJSON(t *testing.T) {
	t.Parallel()
	str := func(max uint64) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithMaxLength(int64(max)))
	}
	nested := openapi3.NewObjectSchema().WithPropertyRef("status", openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("active", "inactive")))
	nested.Required = []string{"status"}
	open := openapi3.NewObjectSchema().
		WithPropertyRef("name", str(5)).
		WithPropertyRef("tags", openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()))).
		WithPropertyRef("dnd", openapi3.NewSchemaRef("", openapi3.NewBoolSchema())).
		WithPropertyRef("settings", openapi3.NewSchemaRef("", nested)).
		WithPropertyRef("pattern", openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithPattern("^a+$")))
	open.Required = []string{"name"}
	closed := *open
	closed.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
	typed := *open
	typed.AdditionalProperties = openapi3.AdditionalProperties{Schema: str(2)}
	values := []any{
		nil, "x", []any{}, map[string]any{},
		map[string]any{"name": "Ada"}, map[string]any{"name": "Adaline"}, map[string]any{"name": nil},
		map[string]any{"name": "Ada", "tags": []any{"a", "b"}}, map[string]any{"name": "Ada", "tags": []any{"a", 1.0}},
		map[string]any{"name": "Ada", "dnd": "yes"}, map[string]any{"name": "Ada", "dnd": true},
		map[string]any{"name": "Ada", "settings": map[string]any{"status": "active"}},
		map[string]any{"name": "Ada", "settings": map[string]any{"status": "sometimes"}},
		map[string]any{"name": "Ada", "settings": map[string]any{}},
		map[string]any{"name": "Ada", "pattern": "aaa"}, map[string]any{"name": "Ada", "pattern": "b"},
		map[string]any{"name": "Ada", "other": "ok"}, map[string]any{"name": "Ada", "other": "long"},
		map[string]any{"name": "Ada", "other": 1.0}, map[string]any{"name": strings.Repeat("é", 5)},
	}
	for _, tc := range []struct {
		name   string
		schema *openapi3.Schema
	}{{"open", open}, {"closed", &closed}, {"typed others", &typed}} {
		check := fastcheck.Object(tc.schema)
		if check == nil {
			t.Fatalf("%s: not compiled", tc.name)
		}
		accepted := 0
		for _, v := range values {
			kin := tc.schema.VisitJSON(v) == nil
			if got := check(v); got != kin {
				t.Errorf("%s: Object says %v of %v, VisitJSON %v", tc.name, got, v, kin)
			}
			if kin {
				accepted++
			}
		}
		if accepted == 0 || accepted == len(values) {
			t.Errorf("%s: VisitJSON accepted %d of %d values: want both verdicts", tc.name, accepted, len(values))
		}
	}
	for _, s := range []*openapi3.Schema{
		openapi3.NewStringSchema(), openapi3.NewObjectSchema().WithNullable(), openapi3.NewObjectSchema().WithMinProperties(1),
	} {
		if fastcheck.Object(s) != nil {
			t.Errorf("compiled %+v, which says more than its properties", s)
		}
	}
}

package golit

import (
	"errors"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// A value held by an interface is written with its type, so that the
// literal holds the same type again: an extension's 1 decoded as float64
// stays a float64, not the int an untyped constant would make it. A nil map
// stays nil and an empty one empty; a reference is written without its
// target.
func TestFileKeepsTypes(t *testing.T) {
	doc := &openapi3.T{
		OpenAPI:    "3.0.3",
		Extensions: map[string]any{"x-f": float64(1), "x-i": 2, "x-s": "s", "x-l": []any{true, nil}, "x-m": map[string]any{}},
		Components: &openapi3.Components{Schemas: openapi3.Schemas{
			"A": {Ref: "#/components/schemas/B", Value: &openapi3.Schema{Description: "target"}},
		}},
	}
	src, err := File("p", "test", Func{Name: "doc", Doc: "is a test.", Value: doc})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"x-f": float64(1)`, `"x-i": int(2)`, `"x-s": string("s")`, `"x-l": []any{bool(true), nil}`,
		`"x-m": map[string]any{}`, `Ref: "#/components/schemas/B"`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("the source lacks %s:\n%s", want, src)
		}
	}
	if strings.Contains(string(src), "target") {
		t.Errorf("a reference's target was written:\n%s", src)
	}
}

// A value of a type no literal of the file can spell is refused.
func TestFileRefusesOtherTypes(t *testing.T) {
	doc := &openapi3.T{Extensions: map[string]any{"x-c": make(chan int)}}
	if _, err := File("p", "test", Func{Name: "doc", Value: doc}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("File = %v, want ErrUnsupported", err)
	}
}

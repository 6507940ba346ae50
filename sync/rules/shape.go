package rules

import (
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// kind is a value's kind in a shape.
type kind int

const (
	kindDyn kind = iota // anything (oneOf, anyOf, untyped)
	kindString
	kindInt
	kindDouble
	kindBool
	kindList
	kindMap
	kindObject
)

// shape is a JSON schema as the rules see it: the type of a value, the
// properties of an object (closed when additionalProperties is false), the
// items of an array or the values of a map (additionalProperties).
type shape struct {
	kind     kind
	name     string // an object's type name in conditions: "highlevel.Contact"
	props    map[string]*shape
	required []string
	closed   bool
	elem     *shape
}

var dynShape = &shape{kind: kindDyn}

// schemaTypes makes shapes of schemas, each once, and names the objects
// among them.
type schemaTypes struct {
	shapes  map[*openapi3.Schema]*shape
	objects map[string]*shape // by name
	contact map[string]*openapi3.Schema
}

func newSchemaTypes() *schemaTypes {
	return &schemaTypes{shapes: map[*openapi3.Schema]*shape{}, objects: map[string]*shape{},
		contact: map[string]*openapi3.Schema{}}
}

// of is s's shape; name names it if it is an object seen for the first time.
func (t *schemaTypes) of(s *openapi3.Schema, name string) *shape {
	if s == nil {
		return dynShape
	}
	if sh, ok := t.shapes[s]; ok {
		return sh
	}
	sh := &shape{}
	t.shapes[s] = sh // before the properties: schemas can be recursive
	switch {
	case len(s.OneOf) > 0 || len(s.AnyOf) > 0:
		sh.kind = kindDyn
	case len(s.AllOf) > 0 || len(s.Properties) > 0:
		t.object(sh, s, name)
	case s.Type.Is(openapi3.TypeString):
		sh.kind = kindString
	case s.Type.Is(openapi3.TypeInteger):
		sh.kind = kindInt
	case s.Type.Is(openapi3.TypeNumber):
		sh.kind = kindDouble
	case s.Type.Is(openapi3.TypeBoolean):
		sh.kind = kindBool
	case s.Type.Is(openapi3.TypeArray):
		sh.kind = kindList
		sh.elem = t.of(refValue(s.Items), name+".item")
	case s.Type.Is(openapi3.TypeObject):
		sh.kind, sh.elem = kindMap, dynShape
		if ap := s.AdditionalProperties.Schema; ap != nil {
			sh.elem = t.of(ap.Value, name+".value")
		}
	}
	return sh
}

// object fills sh with the properties of s and of the schemas it is allOf.
func (t *schemaTypes) object(sh *shape, s *openapi3.Schema, name string) {
	sh.kind, sh.name, sh.props = kindObject, name, map[string]*shape{}
	t.objects[name] = sh
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		for _, part := range s.AllOf {
			if part.Value != nil {
				add(part.Value)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(s.Properties)) {
			if _, ok := sh.props[p]; !ok {
				sh.props[p] = t.of(refValue(s.Properties[p]), name+"."+p)
			}
		}
		sh.required = append(sh.required, s.Required...)
		if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
			sh.closed = true
		}
	}
	add(s)
}

func refValue(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	return r.Value
}

// field is the shape of a field of a value of shape sh: ok false when sh
// has no such field (an object's unknown property; a scalar's anything).
func (sh *shape) field(name string) (*shape, bool) {
	switch sh.kind {
	case kindDyn:
		return dynShape, true
	case kindMap:
		return sh.elem, true
	case kindObject:
		f, ok := sh.props[name]
		return f, ok
	}
	return nil, false
}

// fieldNames are an object's properties, sorted, for messages.
func (sh *shape) fieldNames() []string { return slices.Sorted(maps.Keys(sh.props)) }

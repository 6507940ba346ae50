// Package fastcheck judges JSON values against OpenAPI 3.0 schemas as
// kin-openapi's VisitJSON does, for the schemas whose every constraint it
// knows, at a fraction of VisitJSON's cost (which allocates its settings,
// walks the schema and tests it for emptiness with a map on every call). A
// check says true only of a value VisitJSON accepts; false leaves the
// verdict, and its wording, to VisitJSON.
package fastcheck

import (
	"math"
	"slices"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
)

// Compile returns a check that is true of a value (as encoding/json
// decodes into any) only when s.VisitJSON accepts it: for a string schema
// with an enum, lengths or a format (a pattern is left to VisitJSON), an
// integer with a format and bounds, a boolean without an enum, an array of
// those with item counts; nil for any other schema. It follows VisitJSON of kin-openapi's OpenAPI 3.0
// validation with no options; mock's TestImportCheck_ValidOnlyWhatKinAccepts
// holds the two together.
func Compile(s *openapi3.Schema) func(any) bool {
	if s == nil || s.Type == nil || s.Always != nil || s.Not != nil || len(s.OneOf)+len(s.AnyOf)+len(s.AllOf) > 0 {
		return nil
	}
	switch {
	case s.Type.Is(openapi3.TypeString) && s.Pattern == "":
		return func(v any) bool {
			str, ok := v.(string)
			return ok && String(s, str)
		}
	case s.Type.Is(openapi3.TypeInteger) && len(s.Enum) == 0 && !s.ExclusiveMin.IsSet() && !s.ExclusiveMax.IsSet() &&
		s.MultipleOf == nil:
		return func(v any) bool {
			f, ok := v.(float64)
			return ok && integer(s, f)
		}
	case s.Type.Is(openapi3.TypeBoolean) && len(s.Enum) == 0:
		return func(v any) bool {
			_, ok := v.(bool)
			return ok
		}
	case s.Type.Is(openapi3.TypeArray) && len(s.Enum) == 0 && !s.UniqueItems && len(s.PrefixItems) == 0 &&
		s.Items != nil && s.Items.Value != nil:
		item := Compile(s.Items.Value)
		if item == nil {
			return nil
		}
		return func(v any) bool {
			xs, ok := v.([]any)
			if !ok || uint64(len(xs)) < s.MinItems || (s.MaxItems != nil && uint64(len(xs)) > *s.MaxItems) {
				return false
			}
			for _, x := range xs {
				if !item(x) {
					return false
				}
			}
			return true
		}
	}
	return nil
}

// integer is VisitJSON's verdict on a number for an integer schema
// without an enum, exclusive bounds or multipleOf: integral, its format's
// validator, when one is defined, satisfied (as kin maps the number to an
// int64), within minimum and maximum.
func integer(s *openapi3.Schema, f float64) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return false
	}
	if fv, ok := openapi3.SchemaIntegerFormats[s.Format]; ok && s.Format != "" {
		var err error
		switch {
		case f == float64(math.MaxInt64): // rounds up to 2^63
			err = fv.Validate(math.MaxInt64)
		case f >= float64(math.MinInt64) && f < float64(math.MaxInt64):
			err = fv.Validate(int64(f))
		default:
			return false
		}
		if err != nil {
			return false
		}
	}
	return (s.Min == nil || *s.Min <= f) && (s.Max == nil || *s.Max >= f)
}

// String is VisitJSON's verdict on a string for a string schema
// without a pattern: one of its enum (kin compares a string to the enum's
// strings), its length in kin's count within minLength and maxLength, and
// its format's validator, when one is defined, satisfied.
func String[T ~string | ~[]byte](s *openapi3.Schema, v T) bool {
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { es, ok := e.(string); return ok && es == string(v) }) {
		return false
	}
	if s.MinLength != 0 || s.MaxLength != nil {
		var n uint64
		for _, r := range string(v) {
			if utf16.IsSurrogate(r) {
				n += 2
			} else {
				n++
			}
		}
		if n < s.MinLength || (s.MaxLength != nil && n > *s.MaxLength) {
			return false
		}
	}
	if s.Format != "" {
		if f, ok := openapi3.SchemaStringFormats[s.Format]; ok && f.Validate(string(v)) != nil {
			return false
		}
	}
	return true
}

// PlainObject reports whether s is an object schema that says nothing but
// its properties and required ones (additional properties allowed): any
// object with those passes.
func PlainObject(s *openapi3.Schema) bool {
	if s.Type == nil || len(*s.Type) != 1 || !s.Type.Is(openapi3.TypeObject) || s.Discriminator != nil {
		return false
	}
	rest := *s
	rest.Type, rest.Properties, rest.Required = nil, nil, nil
	rest.Title, rest.Description, rest.Example, rest.Extensions, rest.Origin = "", "", nil, nil, nil
	return rest.IsEmpty()
}

// maxObjectDepth bounds how deeply Object compiles the objects of objects
// (a schema may refer to itself); deeper ones are left to VisitJSON.
const maxObjectDepth = 8

// Object returns a check that is true of a value (map[string]any) only
// when s.VisitJSON accepts it, for an object schema that says nothing but
// its properties, required ones and additional properties: every required
// property present, the value of each declared property accepted by its
// compiled check (Compile, or Object for an object) or, where that says
// false or there is none, by VisitJSON of the property's own schema; any
// other property allowed, refused (additionalProperties: false) or judged
// the same way by the additional properties' schema. nil for any other
// schema.
func Object(s *openapi3.Schema) func(any) bool { return object(s, 0) }

// property is a schema and its compiled check.
type property struct {
	schema *openapi3.Schema
	valid  func(any) bool // nil: VisitJSON alone
}

func compileProperty(s *openapi3.Schema, depth int) property {
	valid := Compile(s)
	if valid == nil {
		valid = object(s, depth+1)
	}
	return property{s, valid}
}

// accepts is the property's verdict on v.
func (p property) accepts(v any) bool {
	return (p.valid != nil && p.valid(v)) || p.schema.VisitJSON(v) == nil
}

func object(s *openapi3.Schema, depth int) func(any) bool {
	if s == nil || depth > maxObjectDepth {
		return nil
	}
	plain := *s
	plain.AdditionalProperties = openapi3.AdditionalProperties{}
	if !PlainObject(&plain) {
		return nil
	}
	props := make(map[string]property, len(s.Properties))
	for name, ref := range s.Properties {
		if ref == nil || ref.Value == nil {
			return nil
		}
		props[name] = compileProperty(ref.Value, depth)
	}
	// What an undeclared property may be: anything (others nil, closed
	// false), nothing (closed), or what a schema accepts.
	var others *property
	closed := false
	switch ap := s.AdditionalProperties; {
	case ap.Has != nil && !*ap.Has:
		closed = true
	case ap.Schema != nil:
		if ap.Schema.Value == nil {
			return nil
		}
		p := compileProperty(ap.Schema.Value, depth)
		others = &p
	}
	required := slices.Clone(s.Required)
	return func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, name := range required {
			if _, ok := m[name]; !ok {
				return false
			}
		}
		for k, x := range m {
			p, declared := props[k]
			switch {
			case declared:
				if !p.accepts(x) {
					return false
				}
			case closed:
				return false
			case others != nil:
				if !others.accepts(x) {
					return false
				}
			}
		}
		return true
	}
}

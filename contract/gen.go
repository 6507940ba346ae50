package contract

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Values the conformance check generates from schemas, when neither a
// known value nor an example names one.
const (
	genString = "contract check"
	genURL    = "http://127.0.0.1:9/contract-check" // discard port: nothing is delivered
	genTime   = "2030-01-02T10:00:00Z"
	genDate   = "2030-01-02"
	genEpoch  = 1893578400 // 2030-01-02T10:00:00Z
)

// generator makes request values from schemas: known values by name
// first, then the schema's example, enum or default, then a value of its
// type and format.
type generator struct {
	known map[string]any
}

// value is a valid value of s for the field or parameter name.
func (g generator) value(name string, s *openapi3.Schema) any {
	if v, ok := g.known[name]; ok {
		return convert(v, s)
	}
	if s == nil {
		return genString
	}
	s = flatten(s)
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Enum) > 0:
		return s.Enum[0]
	case s.Default != nil:
		return s.Default
	}
	switch {
	case is(s, "object"):
		return g.object(s, false)
	case is(s, "array"):
		n := int(s.MinItems)
		if n == 0 {
			n = 1
		}
		items := make([]any, n)
		for i := range items {
			var item *openapi3.Schema
			if s.Items != nil {
				item = s.Items.Value
			}
			items[i] = g.value(name, item)
		}
		return items
	case is(s, "integer"), is(s, "number"):
		return number(name, s)
	case is(s, "boolean"):
		return false
	}
	return str(name, s)
}

func number(name string, s *openapi3.Schema) any {
	if s.Format == "int64" && s.Min != nil && *s.Min == 0 {
		// An epoch time: the end of a span comes after its start.
		if n := strings.ToLower(name); strings.HasPrefix(n, "end") || strings.HasSuffix(n, "end") || strings.HasSuffix(n, "to") {
			return genEpoch + 3600
		}
		return genEpoch
	}
	if s.Min != nil && *s.Min > 1 {
		return *s.Min
	}
	return 1
}

func str(name string, s *openapi3.Schema) string {
	switch s.Format {
	case "email":
		return fmt.Sprintf("check-%s@example.com", strings.ToLower(rand.Text()[:12]))
	case "date-time":
		return genTime
	case "date":
		return genDate
	case "uri", "url":
		return genURL
	}
	if strings.EqualFold(name, "url") {
		return genURL
	}
	if strings.Contains(strings.ToLower(name), "email") {
		return fmt.Sprintf("check-%s@example.com", strings.ToLower(rand.Text()[:12]))
	}
	v := genString
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}

// object is an object of s: its required properties, those a known value
// or an email format fills, and, with all, every other one too.
func (g generator) object(s *openapi3.Schema, all bool) map[string]any {
	s = flatten(s)
	out := map[string]any{}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		var ps *openapi3.Schema
		if p != nil {
			ps = flatten(p.Value)
		}
		_, known := g.known[name]
		email := ps != nil && (ps.Format == "email" || strings.EqualFold(name, "email"))
		if ps != nil && ps.ReadOnly {
			continue
		}
		if required[name] || known || email || all {
			out[name] = g.value(name, ps)
		}
	}
	return out
}

// wrongType is a value of another type than s.
func wrongType(s *openapi3.Schema) any {
	s = flatten(s)
	if s != nil && is(s, "string") {
		return 12345
	}
	return "not-of-this-type"
}

func is(s *openapi3.Schema, t string) bool { return s.Type != nil && s.Type.Is(t) }

// flatten merges allOf and takes the first of oneOf and anyOf.
func flatten(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	switch {
	case len(s.AllOf) > 0:
		m := *s
		m.AllOf = nil
		m.Properties = openapi3.Schemas{}
		for k, v := range s.Properties {
			m.Properties[k] = v
		}
		for _, part := range s.AllOf {
			if part.Value == nil {
				continue
			}
			p := flatten(part.Value)
			for k, v := range p.Properties {
				m.Properties[k] = v
			}
			m.Required = append(m.Required, p.Required...)
			if m.Type == nil {
				m.Type = p.Type
			}
		}
		return &m
	case len(s.OneOf) > 0 && s.OneOf[0].Value != nil:
		return flatten(s.OneOf[0].Value)
	case len(s.AnyOf) > 0 && s.AnyOf[0].Value != nil:
		return flatten(s.AnyOf[0].Value)
	}
	return s
}

// convert gives a known value the type the schema asks for.
func convert(v any, s *openapi3.Schema) any {
	s = flatten(s)
	if s == nil {
		return v
	}
	switch x := v.(type) {
	case int64:
		if is(s, "string") {
			return fmt.Sprint(x)
		}
	case string:
		if is(s, "integer") {
			var n int64
			if _, err := fmt.Sscan(x, &n); err == nil {
				return n
			}
		}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

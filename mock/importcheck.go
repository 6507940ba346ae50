package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/openapi"
)

// importWrites names, for each table of a state, the operation whose
// request makes such a record: an imported record is checked against that
// request's schema, as the API would check the write.
var importWrites = map[string]struct {
	m360 bool
	op   string
}{
	"contacts":     {false, "create-contact"},
	"tasks":        {false, "create-task"},
	"notes":        {false, "create-note"},
	"appointments": {false, "create-appointment"},
	"m360Contacts": {true, "m360-create-contact"},
	"m360Tasks":    {true, "m360-create-task"},
	"m360Notes":    {true, "m360-create-note"},
	"m360Events":   {true, "m360-create-event"},
}

// recordCheck is the check of each record of an imported state against the
// spec: each of its fields that the write's schema declares with the type
// the field has in the state is checked against that schema (its length,
// enum, pattern, range). The state's own shape differs from the APIs' in
// places (a Marketing 360 task's assignee is a username, where the write
// takes {username}); those fields are left to the store's typed decoding.
// A webhook subscription (webhooks, m360Webhooks) is checked as the APIs
// check one: its URL must not point at the twin (self).
func recordCheck(hl, m *openapi.Spec, self *webhooks.Self) (store.RecordCheck, error) {
	fields := map[string]map[string]*openapi3.Schema{}
	for table, w := range importWrites {
		spec := hl
		if w.m360 {
			spec = m
		}
		op, ok := spec.Operation(w.op)
		if !ok || op.Spec.RequestBody == nil || op.Spec.RequestBody.Value.Content.Get("application/json") == nil {
			return nil, fmt.Errorf("mock: import check: %s has no operation %s with a JSON body", spec.File, w.op)
		}
		fields[table] = map[string]*openapi3.Schema{}
		properties(op.Spec.RequestBody.Value.Content.Get("application/json").Schema.Value, fields[table])
	}
	return func(table string, raw json.RawMessage) error {
		if table == "webhooks" || table == "m360Webhooks" {
			var w struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(raw, &w); err != nil {
				return fmt.Errorf("not a JSON object: %w", err)
			}
			if err := self.Check(w.URL); err != nil {
				return &store.InvalidError{Field: "url", Reason: err.Error()}
			}
			return nil
		}
		schemas := fields[table]
		if schemas == nil {
			return nil
		}
		values, err := declaredValues(raw, schemas)
		if err != nil {
			return fmt.Errorf("not a JSON object: %w", err)
		}
		for _, f := range values {
			s, v := schemas[f.key], f.value
			if !typed(s, v) {
				continue
			}
			if err := s.VisitJSON(v); err != nil {
				reason := err.Error()
				var se *openapi3.SchemaError
				if errors.As(err, &se) {
					reason = se.Reason
				}
				return &store.InvalidError{Field: f.key, Reason: reason}
			}
		}
		return nil
	}, nil
}

// member is one member of a JSON object: its key and its value, as
// encoding/json decodes into any.
type member struct {
	key   string
	value any
}

// lenient reads a record as encoding/json reads it into a map: a key given
// twice keeps its last value, invalid UTF-8 is not an error here (the
// record's decoding has judged it).
var lenient = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// decoders are the decoders of declaredValues, reused (one holds buffers
// of a few kilobytes).
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewReader(nil)) }}

// declaredValues returns the members of the object raw whose keys schemas
// declares, by key (the last of a key given twice), without decoding the
// others, so that a record's check costs what its declared fields do.
func declaredValues(raw []byte, schemas map[string]*openapi3.Schema) ([]member, error) {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewReader(raw), lenient...)
	defer decoders.Put(dec) // holding raw until its next use
	if tok, err := dec.ReadToken(); err != nil {
		return nil, err
	} else if tok.Kind() != '{' {
		return nil, fmt.Errorf("got %v", tok)
	}
	var out []member
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := tok.String()
		if schemas[key] == nil {
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		var value any
		if err := jsonv2.UnmarshalDecode(dec, &value); err != nil {
			return nil, err
		}
		m := member{key: key, value: value}
		if i := slices.IndexFunc(out, func(m member) bool { return m.key == key }); i >= 0 {
			out[i] = m
		} else {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// properties adds the properties s declares, itself and through allOf, to into.
func properties(s *openapi3.Schema, into map[string]*openapi3.Schema) {
	for name, p := range s.Properties {
		into[name] = p.Value
	}
	for _, part := range s.AllOf {
		properties(part.Value, into)
	}
}

// typed tells whether s declares the JSON type of v (as json.Unmarshal
// decodes into any); a schema without a type declares none.
func typed(s *openapi3.Schema, v any) bool {
	switch v := v.(type) {
	case string:
		return s.Type.Is(openapi3.TypeString)
	case float64:
		return s.Type.Is(openapi3.TypeNumber) || (s.Type.Is(openapi3.TypeInteger) && v == float64(int64(v)))
	case bool:
		return s.Type.Is(openapi3.TypeBoolean)
	case []any:
		return s.Type.Is(openapi3.TypeArray)
	case map[string]any:
		return s.Type.Is(openapi3.TypeObject)
	}
	return false
}

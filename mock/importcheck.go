package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

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
		var rec map[string]any
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("not a JSON object: %w", err)
		}
		for _, key := range slices.Sorted(maps.Keys(rec)) {
			s, v := schemas[key], rec[key]
			if s == nil || !typed(s, v) {
				continue
			}
			if err := s.VisitJSON(v); err != nil {
				reason := err.Error()
				var se *openapi3.SchemaError
				if errors.As(err, &se) {
					reason = se.Reason
				}
				return &store.InvalidError{Field: key, Reason: reason}
			}
		}
		return nil
	}, nil
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

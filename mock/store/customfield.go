package store

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// What a contact write does with a custom field id its location does not
// define (Location.UnknownCustomFields). The vendor documents none of them.
const (
	// UnknownFieldsKeep stores the value under the id as given: a data set
	// loaded into another location keeps its values.
	UnknownFieldsKeep = "keep"
	// UnknownFieldsDrop leaves the value out and writes the rest.
	UnknownFieldsDrop = "drop"
	// UnknownFieldsReject refuses the write (422).
	UnknownFieldsReject = "reject"
)

// UnknownFieldsPolicies are the values Location.UnknownCustomFields takes
// ("" is UnknownFieldsKeep).
var UnknownFieldsPolicies = []string{UnknownFieldsKeep, UnknownFieldsDrop, UnknownFieldsReject}

// NewCustomFieldValue is the value of custom field id written as raw JSON:
// a string is kept as its text, any other value (number, boolean, array,
// object) as its compact JSON text. raw must be one valid JSON value.
func NewCustomFieldValue(id string, raw []byte) (CustomFieldValue, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 1 && raw[0] == '"' {
		// A plain string (no escapes, no control bytes: the common case,
		// and the one an import of 100,000 contacts is made of) is taken as
		// is; any other goes through the decoder.
		if body := raw[1 : len(raw)-1]; raw[len(raw)-1] == '"' && plainString(body) {
			return CustomFieldValue{ID: id, Value: string(body)}, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return CustomFieldValue{}, fmt.Errorf("custom field %s: %w", id, err)
		}
		return CustomFieldValue{ID: id, Value: s}, nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return CustomFieldValue{}, fmt.Errorf("custom field %s: %w", id, err)
	}
	return CustomFieldValue{ID: id, Value: compact.String(), JSON: true}, nil
}

// plainString tells whether b, the inside of a JSON string, needs no
// decoding: no escape, no quote, no control byte, only ASCII.
func plainString(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

// Raw is the value as JSON, in the type it was written with.
func (v CustomFieldValue) Raw() json.RawMessage {
	if v.JSON {
		return json.RawMessage(v.Value)
	}
	b, _ := json.Marshal(v.Value) // a string always encodes
	return b
}

// customFieldWire is the JSON form of a CustomFieldValue.
type customFieldWire struct {
	ID    string          `json:"id"`
	Value json.RawMessage `json:"value"`
}

// MarshalJSON writes {"id", "value"}, the value in its own JSON type.
func (v CustomFieldValue) MarshalJSON() ([]byte, error) {
	if v.JSON && !json.Valid([]byte(v.Value)) {
		return nil, fmt.Errorf("custom field %s: value is not JSON", v.ID)
	}
	return json.Marshal(customFieldWire{ID: v.ID, Value: v.Raw()})
}

// UnmarshalJSON reads {"id", "value"}; the value may be of any JSON type.
func (v *CustomFieldValue) UnmarshalJSON(b []byte) error {
	if fast, ok := compactCustomField(b); ok {
		*v = fast
		return nil
	}
	var w customFieldWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Value) == 0 { // no value: an empty string, as before values had types
		*v = CustomFieldValue{ID: w.ID}
		return nil
	}
	nv, err := NewCustomFieldValue(w.ID, w.Value)
	if err != nil {
		return err
	}
	*v = nv
	return nil
}

// compactCustomField reads the form the twin writes, {"id":"…","value":…}
// with nothing else and a plain id, without the decoder's reflection: a
// state's contacts hold many. Any other form (spaces, other members, an
// escaped id) says !ok and is decoded in full. The decoder has checked b is
// one JSON value before calling UnmarshalJSON.
func compactCustomField(b []byte) (CustomFieldValue, bool) {
	const pre, mid = `{"id":"`, `","value":`
	if !bytes.HasPrefix(b, []byte(pre)) || b[len(b)-1] != '}' {
		return CustomFieldValue{}, false
	}
	rest := b[len(pre) : len(b)-1]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || !plainString(rest[:end]) || !bytes.HasPrefix(rest[end:], []byte(mid)) {
		return CustomFieldValue{}, false
	}
	v, err := NewCustomFieldValue(string(rest[:end]), rest[end+len(mid):])
	return v, err == nil
}

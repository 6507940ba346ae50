package store_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/contactbridge/contactbridge/mock/store"
)

// TestCustomFieldValue_JSON: a value keeps its JSON type through encoding
// and decoding (a string is no number, even "42"), states written before
// values had types read back as strings, and a value that is not JSON is
// refused.
func TestCustomFieldValue_JSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, out string
		want    store.CustomFieldValue
	}{
		{`{"id":"F","value":"42"}`, `{"id":"F","value":"42"}`, store.CustomFieldValue{ID: "F", Value: "42"}},
		{`{"id":"F","value":42}`, `{"id":"F","value":42}`, store.CustomFieldValue{ID: "F", Value: "42", JSON: true}},
		{`{"id":"F","value":[ "a", "b" ]}`, `{"id":"F","value":["a","b"]}`, store.CustomFieldValue{ID: "F", Value: `["a","b"]`, JSON: true}},
		{`{"id":"F","value":{"k":{"url":"u"}}}`, `{"id":"F","value":{"k":{"url":"u"}}}`, store.CustomFieldValue{ID: "F", Value: `{"k":{"url":"u"}}`, JSON: true}},
		{`{"id":"F","value":true}`, `{"id":"F","value":true}`, store.CustomFieldValue{ID: "F", Value: "true", JSON: true}},
		{`{"id":"F","value":"say \"hi\""}`, `{"id":"F","value":"say \"hi\""}`, store.CustomFieldValue{ID: "F", Value: `say "hi"`}},
		{`{"id":"F"}`, `{"id":"F","value":""}`, store.CustomFieldValue{ID: "F"}},
	} {
		var got store.CustomFieldValue
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("%s: decoded %+v, want %+v", tc.in, got, tc.want)
		}
		b, err := json.Marshal(got)
		if err != nil || string(b) != tc.out {
			t.Errorf("%s: encoded %s, %v; want %s", tc.in, b, err, tc.out)
		}
	}
	for _, bad := range []string{`{"id":"F","value":}`, `{"id":5,"value":"x"}`, `[]`} {
		var v store.CustomFieldValue
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded to %+v", bad, v)
		}
	}
	if _, err := json.Marshal(store.CustomFieldValue{ID: "F", Value: "{", JSON: true}); err == nil {
		t.Error("a value flagged JSON that is not JSON encoded")
	}
	if _, err := store.NewCustomFieldValue("F", []byte(`"unterminated`)); err == nil {
		t.Error("NewCustomFieldValue took a broken string")
	}
}

// FuzzCustomFieldValue: any input either is refused or decodes to a value
// that encodes to JSON which decodes back to the same value: the same id,
// kind and, for a JSON value, the same JSON (encoding/json may write a
// string's characters escaped, as \u0026 for &, so the text can differ).
func FuzzCustomFieldValue(f *testing.F) {
	for _, s := range []string{`{"id":"F","value":"42"}`, `{"id":"F","value":42}`, `{"id":"F","value":"a\"b"}`,
		`{"id":"F","value":"\u00e9t\u00e9"}`, `{"id":"F","value":"été"}`, `{"id":"F","value":[1,{"a":null}]}`, `{"id":"F"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var v store.CustomFieldValue
		if json.Unmarshal([]byte(in), &v) != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%q decoded to %+v, which does not encode: %v", in, v, err)
		}
		var back store.CustomFieldValue
		if err := json.Unmarshal(b, &back); err != nil || !sameCustomField(back, v) {
			t.Fatalf("%q: %+v encoded as %s, decoded back as %+v, %v", in, v, b, back, err)
		}
	})
}

// sameCustomField tells a and b apart only by what they mean: a JSON
// value is compared decoded.
func sameCustomField(a, b store.CustomFieldValue) bool {
	if a.ID != b.ID || a.JSON != b.JSON {
		return false
	}
	if !a.JSON {
		return a.Value == b.Value
	}
	var x, y any
	return json.Unmarshal([]byte(a.Value), &x) == nil && json.Unmarshal([]byte(b.Value), &y) == nil && reflect.DeepEqual(x, y)
}

// BenchmarkCustomFieldValues_Decode: decoding 1,000 custom field values
// (strings, as a generated data set holds them, and a tenth numbers) as
// the store does, against the same JSON into a plain {id, value} struct,
// the decode before values kept their type.
func BenchmarkCustomFieldValues_Decode(b *testing.B) {
	var buf []byte
	buf = append(buf, '[')
	for i := range 1000 {
		if i > 0 {
			buf = append(buf, ',')
		}
		if i%10 == 0 {
			buf = fmt.Appendf(buf, `{"id":"dsField%013d","value":%d}`, i, i)
		} else {
			buf = fmt.Appendf(buf, `{"id":"dsField%013d","value":"word %d"}`, i, i)
		}
	}
	buf = append(buf, ']')
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			var v []store.CustomFieldValue
			if err := json.Unmarshal(buf, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain struct", func(b *testing.B) {
		for b.Loop() {
			var v []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(buf, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

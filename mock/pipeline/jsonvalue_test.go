package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// checkDecodeValue fails t when decodeValue and kin-openapi's JSON body
// decoder disagree on data: both must take it and make the same value, or
// decodeValue refuse it when it is not one JSON value alone (kin-openapi
// reads the first value and ignores the rest).
func checkDecodeValue(t testing.TB, data []byte) {
	t.Helper()
	got, err := decodeValue(data, map[string]string{"a": "a", "dup": "dup", "name": "name"})
	kin, kinErr := openapi3filter.RegisteredBodyDecoder("application/json")(bytes.NewReader(data), http.Header{}, nil, nil)
	switch {
	case err == nil && kinErr != nil:
		t.Fatalf("%q: decodeValue took what kin-openapi refuses (%v): %#v", data, kinErr, got)
	case err != nil && kinErr == nil && json.Valid(data):
		t.Fatalf("%q: decodeValue refused a JSON value: %v", data, err)
	case err == nil && !json.Valid(data):
		t.Fatalf("%q: decodeValue took what is not one JSON value: %#v", data, got)
	case err == nil && !reflect.DeepEqual(got, kin):
		t.Fatalf("%q:\ndecodeValue %#v\nkin-openapi %#v", data, got, kin)
	}
}

func TestDecodeValue_AsKinOpenAPI(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		`{"a":"b","n":1.50,"i":-0,"e":1E400,"t":true,"f":false,"z":null,"x":[],"o":{},"xs":[1,"a",[{}],null]}`,
		` {"dup":1,"dup":"two"} `,
		`"\u00e9\ud83d\ude00\n\"\\\/"`,
		`"\ud800 lone"`, `"\udc00"`,
		`[1,2`, `{"a":}`, `{"a" 1}`, `{"a":1}x`, `{"a":1} {"b":2}`, `{"a":1},`, ``, ` `, `nul`, `01`, `1.`, `-`,
		`{"a":1}` + "\n\t ",
		`{"name":"x","n\u0061me":"y","\ud800":1,"a\"b":2,"":3}`,
		"{\"\xc7\":true,\"name\xff\":1}", // invalid UTF-8 (which the pipeline refuses before)
		"\"tab\there\"",
	} {
		checkDecodeValue(t, []byte(data))
	}
	if _, err := decodeValue([]byte(`{"a":1} x`), nil); err == nil {
		t.Fatal("decodeValue took data after the value")
	}
	if _, err := decodeValue([]byte(`{"a":1} {}`), nil); !errors.Is(err, errTrailing) {
		t.Fatalf("a second value: %v, want errTrailing", err)
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, seed := range []string{`{"a":[1,"b",{"c":null}],"d":true}`, `"\ud800"`, `{"a":1,"a":2} `, `[1e5,-0.0]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeValue(t, data)
	})
}

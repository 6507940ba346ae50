package jsonvalue_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/contactbridge/contactbridge/internal/jsonvalue"
)

// TestRead_Float64: the members of an object read with Float64 are what
// jsonv2 decodes them into in an any (strings, booleans and arrays from
// tokens, the rest by jsonv2 itself).
func TestRead_Float64(t *testing.T) {
	t.Parallel()
	raw := `{"a":"x\u00e9","b":true,"c":["x",2,{"k":[null]},[],false],"d":{"e":[1.5]},"f":null,"g":-3e2}`
	var want map[string]any
	if err := jsonv2.Unmarshal([]byte(raw), &want); err != nil {
		t.Fatal(err)
	}
	dec, release := jsonvalue.Decoder([]byte(raw))
	defer release()
	if _, err := dec.ReadToken(); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		if got[name.String()], err = jsonvalue.Read(dec, nil, jsonvalue.Float64); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read %#v, jsonv2 %#v", got, want)
	}
}

// TestRead_Number: read with Number, a text is what encoding/json's Decoder
// with UseNumber makes of it; a key given twice keeps its last value, an
// escaped key is unquoted, and a name among names is that very string.
func TestRead_Number(t *testing.T) {
	t.Parallel()
	raw := `{"a":[1,-2.5e3,{"b":null}],"dup":1,"dup":"two","e\u0073c":true,"\ud800":"lone","name":"x"}`
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var want any
	if err := d.Decode(&want); err != nil {
		t.Fatal(err)
	}
	name := string([]byte("name")) // not the literal the text's key would be
	dec, release := jsonvalue.Decoder([]byte(raw))
	defer release()
	got, err := jsonvalue.Read(dec, map[string]string{"name": name}, jsonvalue.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read %#v, encoding/json %#v", got, want)
	}
	for k := range got.(map[string]any) {
		if k == "name" && unsafe.StringData(k) != unsafe.StringData(name) {
			t.Errorf("the key %q is not the string names holds", k)
		}
	}
}

// TestRead_ManyMembers: an object of more members than Read holds on its
// stack, some given twice, is what encoding/json makes of it.
func TestRead_ManyMembers(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":{"v":%d,"w":[%d]},`, i%33, i, i)
	}
	b.WriteString(`"last":true}`)
	checkReadsAsEncodingJSON(t, b.String())
}

// checkReadsAsEncodingJSON fails t unless Read, with Number, makes of raw
// what encoding/json's Decoder with UseNumber makes of it.
func checkReadsAsEncodingJSON(t *testing.T, raw string) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var want any
	if err := d.Decode(&want); err != nil {
		t.Fatal(err)
	}
	dec, release := jsonvalue.Decoder([]byte(raw))
	defer release()
	got, err := jsonvalue.Read(dec, nil, jsonvalue.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read %#v, encoding/json %#v", got, want)
	}
}

// TestRead_Arrays: arrays empty, within what Read holds on its stack and
// past it, nested, are what encoding/json makes of them (an empty one is
// an empty slice, not nil).
func TestRead_Arrays(t *testing.T) {
	t.Parallel()
	array := func(n int) string {
		elems := make([]string, n)
		for i := range elems {
			elems[i] = fmt.Sprintf(`[%d,"s%d",[]]`, i, i)
		}
		return "[" + strings.Join(elems, ",") + "]"
	}
	for _, n := range []int{0, 1, 2, 16, 17, 40} {
		checkReadsAsEncodingJSON(t, `{"a":`+array(n)+`,"b":[`+array(n)+`,`+array(n/2)+`]}`)
	}
}

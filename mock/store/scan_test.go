package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-json-experiment/json/jsontext"
)

// scanArray reads the array text as decodeTable does: each element's text
// by the scanner, each checked by syntaxError. It returns the elements, or
// the first error.
func scanArray(r io.Reader) ([]string, error) {
	sc := newStateScanner(r)
	if err := sc.expect('[', "'['"); err != nil {
		return nil, err
	}
	var out []string
	if c, err := sc.peek(); err != nil {
		return nil, err
	} else if c == ']' {
		return out, nil
	}
	for {
		raw, err := sc.value()
		if err != nil {
			return nil, err
		}
		if err := syntaxError(raw); err != nil {
			return nil, fmt.Errorf("element %d: %w", len(out), err)
		}
		out = append(out, string(raw))
		closed, err := sc.next(']')
		if err != nil {
			return nil, err
		}
		if closed {
			return out, nil
		}
	}
}

// jsontextArray is scanArray's reference: the elements of text as the
// stream decoder DecodeState used before reads them.
func jsontextArray(text []byte) ([]string, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(text), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	if tok.Kind() != '[' {
		return nil, fmt.Errorf("not an array: %v", tok)
	}
	var out []string
	for dec.PeekKind() != ']' {
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		out = append(out, string(raw))
	}
	_, err = dec.ReadToken()
	return out, err
}

var scanSeeds = []string{
	`[]`,
	` [ ] `,
	`[{"a":"b\"c","d":"e\\","f":"\\\"","g":"\\\\"}]`,
	`[{"a":"\"}"},"\\",["\\\"]"],"]\\"]`,
	`["{\"",{"b":"\\"},"[\\\\"]`,
	`[{"a":[1,{"b":"]}"}],"c":{}},[[]],"x",-1.5e3,true,false,null]`,
	"[ {\"a\" : 1 } ,\n\t{ } \r\n]",
	`[1 2]`,
	`[{"a":1}{"b":2}]`,
	`[{"a":1},]`,
	`[,]`,
	`[{"a":1]`,
	`[{"a":"x}]`,
	`[{"a":"x},{"b":"y"}]`,
	`[{"id":"c1",,"x":1}]`,
	`[tru]`,
	`[1"x"]`,
	`[{"a":1}`,
	`["\u00e9\ud83d\ude00"]`,
	"[\"c\xff\"]",
	`[{"a":1,"a":2}]`,
	`[{"a":01}]`,
	`[{"a"}]`,
	`[-]`,
	`[nul`,
	`[1`,
}

// FuzzStateScanner holds the scanner to the stream decoder it replaced:
// scanArray takes an array that jsontext takes, element for element, and
// refuses one it refuses, however the reader hands the text over.
func FuzzStateScanner(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		want, wantErr := jsontextArray(text)
		for _, r := range []io.Reader{bytes.NewReader(text), iotest.OneByteReader(bytes.NewReader(text)),
			iotest.HalfReader(bytes.NewReader(text))} {
			got, err := scanArray(r)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%q: scanner %v, jsontext %v", text, err, wantErr)
			}
			if err == nil && strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("%q: scanner %q, jsontext %q", text, got, want)
			}
		}
	})
}

// TestDecodeState_Malformed: what is not JSON fails as malformed (not as
// an invalid state), wherever it is, and a record longer than the
// scanner's buffer decodes whole, read in any pieces.
func TestDecodeState_Malformed(t *testing.T) {
	valid := `{"locations":[{"id":"L1","name":"One"}],"contacts":[{"id":"c1","locationId":"L1","dateAdded":"2025-01-01T00:00:00Z"}],"tasks":[],"notes":[],"appointments":[]}`
	for _, tc := range []struct{ name, from, to string }{
		{"record", `"id":"c1"`, `"id":"c1",,`},
		{"between records", `Z"}]`, `Z"},]`},
		{"between tables", `"tasks":[],`, `"tasks":[],,`},
		{"name", `"tasks":`, `tasks:`},
		{"colon", `"tasks":`, `"tasks",`},
		{"unterminated", `"One"}]`, `"One}]`},
		{"truncated", `"appointments":[]}`, `"appointments":[`},
		{"table not an array", `"tasks":[]`, `"tasks":{}`},
		{"other table", `"tasks":[]`, `"tasks":[],"webhooks":[{]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(valid, tc.from, tc.to, 1)
			if text == valid {
				t.Fatalf("%q is not in the state", tc.from)
			}
			_, err := DecodeState(strings.NewReader(text), nil)
			if err == nil || errors.Is(err, ErrInvalid) {
				t.Errorf("DecodeState(%s) = %v, want malformed JSON", text, err)
			}
		})
	}

	long := strings.Repeat(`a\"b\\`, 2*scanBufSize/5)
	text := strings.Replace(valid, `"name":"One"`, `"name":"`+long+`"`, 1)
	for _, r := range []io.Reader{strings.NewReader(text), iotest.HalfReader(strings.NewReader(text))} {
		st, err := DecodeState(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.ReplaceAll(strings.ReplaceAll(long, `\\`, `\`), `\"`, `"`); len(st.Locations) != 1 || st.Locations[0].Name != want {
			t.Fatalf("the long name decoded to %d bytes, want %d", len(st.Locations[0].Name), len(want))
		}
		if len(st.Contacts) != 1 {
			t.Fatalf("%d contacts, want 1", len(st.Contacts))
		}
	}
}

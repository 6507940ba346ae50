package jsonstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type inner struct {
	A string `json:"a,omitempty"`
	B []int  `json:"b"`
}

type stamp struct{ t time.Time }

func (s stamp) MarshalJSON() ([]byte, error) { return json.Marshal(s.t.Unix()) }

type outer struct {
	Name     string            `json:"name"`
	NoTag    int               // encoded under its Go name
	Skipped  string            `json:"-"`
	private  string            // left out, as encoding/json leaves it
	Rows     []inner           `json:"rows"`
	Nil      []inner           `json:"nil"`
	Gone     []inner           `json:"gone,omitempty"`
	Map      map[string]string `json:"map,omitempty"`
	Ptr      *inner            `json:"ptr,omitempty"`
	Stamps   []stamp           `json:"stamps"`
	Inner    inner             `json:"inner"`
	HTML     string            `json:"html"`
	Zero     int               `json:"zero,omitempty"`
	NotEmpty bool              `json:"notEmpty,omitempty"`
}

// TestEncode_BytesOfMarshal holds Encode to json.Marshal's bytes for the
// field kinds and tags the state uses: names, no tag, "-", unexported,
// omitempty of each kind, nil and empty slices, a MarshalJSON of its own,
// HTML escaping.
func TestEncode_BytesOfMarshal(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]outer{
		"zero": {},
		"full": {Name: "n", NoTag: 3, Skipped: "s", private: "p", Rows: []inner{{A: "x", B: []int{1}}, {}},
			Nil: nil, Gone: []inner{}, Map: map[string]string{"k": "v"}, Ptr: &inner{A: "p"},
			Stamps: []stamp{{time.Unix(5, 0)}}, Inner: inner{B: []int{}}, HTML: "<a&b>\u2028", NotEmpty: true},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := Encode(w, reflect.ValueOf(v)); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got.Bytes(), want)
		}
	}
}

package jsonguard

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

type planLeaf struct {
	ID   string    `json:"id"`
	When time.Time `json:"when"`
}

type planRoot struct {
	ID       string              `json:"ID"` // spelt otherwise than planLeaf's
	Name     string              `json:"name"`
	Leaves   []planLeaf          `json:"leaves"`
	ByKey    map[string]planLeaf `json:"byKey"`
	Free     map[string]any      `json:"free"`
	Untagged string
}

// precise is Unmarshal without its scan: every text walked by checkKeys.
func precise(data []byte, v any) error {
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if err := checkKeys(raw, reflectTypeOfElem(v)); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func TestUnmarshal_ScanAgreesWithTheWalk(t *testing.T) {
	t.Parallel()
	keys := []string{"id", "ID", "Id", "name", "Name", "NAME", "leaves", "Leaves", "byKey", "bykey", "free", "when", "When",
		"Untagged", "untagged", "other", `i\u0064`, "", "x y"}
	rng := rand.New(rand.NewPCG(19, 1))
	var value func(depth int) string
	value = func(depth int) string {
		switch r := rng.IntN(6); {
		case depth > 3 || r == 0:
			return `"` + keys[rng.IntN(len(keys))] + `"`
		case r == 1:
			return "12"
		case r == 2:
			parts := make([]string, rng.IntN(3))
			for i := range parts {
				parts[i] = value(depth + 1)
			}
			return "[" + strings.Join(parts, ",") + "]"
		default:
			parts := make([]string, rng.IntN(4))
			for i := range parts {
				parts[i] = `"` + keys[rng.IntN(len(keys))] + `" : ` + value(depth+1)
			}
			return "{" + strings.Join(parts, ", ") + "}"
		}
	}
	suspected := 0
	for range 3000 {
		in := []byte(value(0))
		if rng.IntN(20) == 0 {
			in = in[:rng.IntN(len(in)+1)] // malformed, often
		}
		var fast, slow planRoot
		ferr, serr := Unmarshal(in, &fast), precise(in, &slow)
		// Which of several bad keys is named depends on the walk's map
		// order: that one is, is what must agree.
		var fk, sk *KeyError
		switch fkey, skey := errors.As(ferr, &fk), errors.As(serr, &sk); {
		case fkey != skey:
			t.Fatalf("%s: Unmarshal = %v, the walk = %v", in, ferr, serr)
		case !fkey && ((ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error()):
			t.Fatalf("%s: Unmarshal = %v, the walk = %v", in, ferr, serr)
		}
		if planOf(reflectTypeOfElem(&fast)).suspects(in) {
			suspected++
		}
	}
	if suspected == 0 || suspected == 3000 {
		t.Errorf("the scan suspected %d texts of 3000: the test does not tell its paths apart", suspected)
	}
}

func TestPlan_SpellingsAcrossStructs(t *testing.T) {
	t.Parallel()
	p := planOf(reflectTypeOfElem(&planRoot{}))
	for key, want := range map[string]bool{`{"name":1}`: false, `{"Name":1}`: true, `{"id":1}`: true, `{"ID":1}`: true,
		`{"other":1}`: false, `{"free":{"x":1}}`: false, `{"n\u0061me":1}`: true, `["Name"]`: false, `{"a":"Name"}`: false} {
		if got := p.suspects([]byte(key)); got != want {
			t.Errorf("suspects(%s) = %v, want %v", key, got, want)
		}
	}
	if p := planOf(reflectTypeOfElem(new(map[string]int))); p.suspects([]byte(`{"Name":1}`)) {
		t.Error("a type without structs suspects a key")
	}
}

func reflectTypeOfElem(v any) reflect.Type { return reflect.TypeOf(v).Elem() }

package jsonguard_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/internal/jsonguard"
)

func TestCheckDepth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
		deep bool
	}{
		{"flat", `{"a":1}`, 1, false},
		{"at the limit", `{"a":[{"b":1}]}`, 3, false},
		{"past the limit", `{"a":[{"b":1}]}`, 2, true},
		{"brackets in strings do not count", `{"a":"[[[[{{{{\"[["}`, 1, false},
		{"escaped backslash ends the string", `{"a":"\\"}`, 1, false},
		{"very deep", strings.Repeat("[", 10_000), 64, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := jsonguard.CheckDepth([]byte(tc.in), tc.max)
			if got := errors.Is(err, jsonguard.ErrTooDeep); got != tc.deep {
				t.Fatalf("CheckDepth(%.40q, %d) = %v, want too deep %v", tc.in, tc.max, err, tc.deep)
			}
		})
	}
}

func TestCheckDepth_AllocatesNothing(t *testing.T) {
	body := []byte(strings.Repeat(`{"a":`, 10_000))
	if n := testing.AllocsPerRun(10, func() { _ = jsonguard.CheckDepth(body, 100_000) }); n != 0 {
		t.Fatalf("CheckDepth of a body within its limit allocated %v times per run, want none", n)
	}
	// Past the limit, only the error is made: failing at level 9,001 costs
	// no more allocations than failing at level 65 (the count itself varies from
	// run to run under the race detector, which empties fmt's sync.Pool of
	// printers at random: two allocations of margin).
	shallow := []byte(strings.Repeat(`{"a":`, 100))
	const runs = 1000
	base := testing.AllocsPerRun(runs, func() { _ = jsonguard.CheckDepth(shallow, 64) })
	if n := testing.AllocsPerRun(runs, func() { _ = jsonguard.CheckDepth(body, 9_000) }); n > base+2 {
		t.Fatalf("CheckDepth past a limit of 9,000 allocated %v times per run, past one of 64 %v: want only its error's", n, base)
	}
}

type inner struct {
	Name string `json:"name"`
}

type embedded struct {
	Kind string `json:"kind"`
}

type outer struct {
	embedded
	FirstName string           `json:"firstName"`
	Items     []inner          `json:"items"`
	ByKey     map[string]inner `json:"byKey"`
	Ptr       *inner           `json:"ptr"`
	Skipped   string           `json:"-"`
	Untagged  string
}

func TestUnmarshal_KeyCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, badKey string
	}{
		{"exact keys", `{"firstName":"a","items":[{"name":"b"}],"kind":"k","Untagged":"u"}`, ""},
		{"unknown keys are left alone", `{"other":1,"items":[{"other":2}]}`, ""},
		{"top level", `{"FirstName":"a"}`, "FirstName"},
		{"in a slice", `{"items":[{"NAME":"b"}]}`, "NAME"},
		{"in a map", `{"byKey":{"x":{"Name":"b"}}}`, "Name"},
		{"behind a pointer", `{"ptr":{"nAme":"b"}}`, "nAme"},
		{"embedded", `{"Kind":"k"}`, "Kind"},
		{"untagged", `{"untagged":"u"}`, "untagged"},
		{"exact and folded together", `{"firstName":"a","firstname":"b"}`, "firstname"},
		// encoding/json folds a key's letters as ToLower(ToUpper(r)), which
		// maps long s and dotless i to ASCII (strings.ToLower does not).
		{"long s", `{"firſtName":"a"}`, "firſtName"},
		{"dotless i", `{"items":[{"name":"x"}],"fırstName":"a"}`, "fırstName"},
		{"kelvin sign", "{\"\u212aind\":\"k\"}", "\u212aind"},
		{"long s naming no field", `{"ſ":1,"items":[{"ſname":"b"}]}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v outer
			err := jsonguard.Unmarshal([]byte(tc.in), &v)
			var keyErr *jsonguard.KeyError
			switch {
			case tc.badKey == "" && err != nil:
				t.Fatalf("Unmarshal: %v", err)
			case tc.badKey != "" && (!errors.As(err, &keyErr) || keyErr.Key != tc.badKey || !errors.Is(err, jsonguard.ErrKeyCase)):
				t.Fatalf("Unmarshal = %v, want a KeyError for %s", err, tc.badKey)
			case tc.badKey != "" && v.FirstName != "":
				t.Fatalf("decoded %+v despite the error", v)
			}
		})
	}
	var v outer
	if err := jsonguard.Unmarshal([]byte(`{"firstName":"Ada","items":[{"name":"x"}]}`), &v); err != nil || v.FirstName != "Ada" || v.Items[0].Name != "x" {
		t.Fatalf("Unmarshal = %+v, %v", v, err)
	}
}

func TestCheckUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"ascii", `{"a":"b"}`, true},
		{"utf-8", `{"a":"Kåre 😀"}`, true},
		{"escaped pair", `{"a":"\ud83d\ude00"}`, true},
		{"escaped BMP", `{"a":"\u00e9\\u\"x"}`, true},
		{"an escaped backslash before u", `{"a":"\\ud800"}`, true},
		{"raw invalid byte", "{\"a\":\"\xff\"}", false},
		{"truncated sequence", "{\"a\":\"\xe2\x82\"}", false},
		{"lone high surrogate", `{"a":"\ud800"}`, false},
		{"high then not low", `{"a":"\ud800\u0041"}`, false},
		{"lone low surrogate", `{"a":"\udc00x"}`, false},
		{"a surrogate key", `{"\udfff":1}`, false},
		{"a lone surrogate after text", `{"a":"some text before \ud800"}`, false},
		{"a lone surrogate in the next string", `{"a":"text \\","b":"\ud800"}`, false},
		{"a pair after text and escapes", `{"a":"x\"y\\z \ud83d\ude00 end"}`, true},
		{"a string that does not end", `{"a":"text without its quote`, true},
	} {
		err := jsonguard.CheckUTF8([]byte(tc.in))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, jsonguard.ErrInvalidUTF8)) {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// depthByByte is CheckDepth's rule read one byte at a time: a string (a
// backslash escapes the byte after it) holds nothing that nests.
func depthByByte(data []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > max {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// FuzzCheckDepth: CheckDepth, which skips a string's text a run at a time,
// says what the byte-by-byte rule says, backslashes and quotes in any order.
func FuzzCheckDepth(f *testing.F) {
	for _, s := range []string{`{"a":"\\"}`, `{"a":"\\\"[[["}`, `["\\\\\\\"",[[]]]`, `"[`, `"\`, `{"a":"x\"}`,
		`[["\\\\"]]`, `{"\\\\\\":[{"b":"]"}]}`, strings.Repeat(`["\"`, 5)} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%8 + 1
		if max < 1 {
			max += 8
		}
		got := errors.Is(jsonguard.CheckDepth([]byte(s), max), jsonguard.ErrTooDeep)
		if want := depthByByte([]byte(s), max); got != want {
			t.Fatalf("CheckDepth(%q, %d): too deep %v, want %v", s, max, got, want)
		}
	})
}

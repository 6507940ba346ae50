package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzRuleAnswers: what the rules read from API answers and rule bodies
// (records, lists searched for a marker, bodies a marker is set in) never
// panics, and a marker set is found where it was set.
func FuzzRuleAnswers(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"result":[{"id":7,"externalIds":{"ghl":"cb:0011223344556677"}}]}`, `{"title":"Call"}`},
		{`{"notes":[{"id":"n1","body":"Done\n\n[cb:0011223344556677]"}]}`, `{"body":"Done"}`},
		{`{"contact":{"id":"c1","tags":["vip"],"dnd":true,"dateUpdated":"t"}}`, `{"externalIds":{"ghl":"abc"}}`},
		{`{"id":12345678901234567890}`, `[1,2]`},
		{`null`, `{"externalIds":null,"body":7}`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	const marker = "cb:0011223344556677"
	f.Fuzz(func(t *testing.T, answer, body []byte) {
		_ = findMarked(answer, marker)
		_ = idOf(answer)
		if rec, err := decodeRecord(answer); err == nil {
			for _, kind := range []string{EntityContact, EntityTask, EntityNote} {
				_ = triggersOf(SideHighLevel, kind, nil, rec)
				_ = triggersOf(SideM360, kind, rec, nil)
				_ = triggersOf(SideHighLevel, kind, rec, rec)
			}
			if _, err := versionOf(rec); err != nil {
				t.Errorf("version of a decoded record: %v", err)
			}
			_ = madeBySync(rec)
		}
		if got, out, ok := markExternalID(body, marker, true); ok {
			var obj map[string]any
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatalf("marked body %q is not JSON: %v", out, err)
			}
			if ext, _ := obj["externalIds"].(map[string]any); ext["ghl"] != got {
				t.Errorf("marked body %s: externalIds.ghl is not the marker %q", out, got)
			}
		}
		if out, ok := markBody(body, "["+marker+"]"); ok {
			var obj map[string]any
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatalf("marked body %q is not JSON: %v", out, err)
			}
			if text, _ := obj["body"].(string); !strings.HasSuffix(text, "["+marker+"]") {
				t.Errorf("marked body %s does not end with the marker", out)
			}
		}
	})
}

package rules

import (
	"fmt"
	"strings"
	"testing"
)

// benchRules are n rules on the event's trigger, each with a condition
// and an action with a templated body; one in ten holds.
func benchRules(n int) []byte {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		fmt.Fprintf(&b, `  - name: r%d
    on: [highlevel.ContactTagUpdate]
    if: '"tag%d" in contact.tags && contact.source == "webinar"'
    do:
      - operation: m360-trigger-campaign
        params: {campaignId: "%d"}
        body: {contactId: "{{ .m360.contact.id }}"}
`, i, i%10, i)
	}
	return []byte(b.String())
}

// BenchmarkPlan is the cost of planning one event with 1 rule (the
// baseline) and 100 rules loaded on its trigger (compiled once).
func BenchmarkPlan(b *testing.B) {
	in := event(b, "highlevel-ContactTagUpdate.json")
	in.MappedContact = readJSON(b, "m360-contact.json")
	in.Record["tags"] = []any{"lead", "tag0"}
	for _, n := range []int{1, 100} {
		s, err := load(b, Source{Name: "bench.yaml", Data: benchRules(n)})
		if err != nil {
			b.Fatal(err)
		}
		want := (n + 9) / 10
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			for b.Loop() {
				actions, err := s.Plan(in)
				if err != nil || len(actions) != want {
					b.Fatalf("Plan = %d actions, %v; want %d", len(actions), err, want)
				}
			}
		})
	}
}

package mock

import (
	"encoding/json"
	"testing"

	"github.com/contactbridge/contactbridge/fixtures"
)

// BenchmarkImportCheck checks the records of a generated data set (2,000
// contacts with 2 tasks and 2 notes each) as an import does, a record at a
// time: ns/op is per record.
func BenchmarkImportCheck(b *testing.B) {
	hl, m := importSpecs(b)
	check, err := recordCheck(hl, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	ds, err := fixtures.Generate(fixtures.Options{Seed: 1, Contacts: 2000, TasksPerContact: 2, NotesPerContact: 2})
	if err != nil {
		b.Fatal(err)
	}
	type record struct {
		table string
		raw   json.RawMessage
	}
	var records []record
	add := func(table string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		records = append(records, record{table, raw})
	}
	for _, c := range ds.State.Contacts {
		add("contacts", c)
	}
	for _, t := range ds.State.Tasks {
		add("tasks", t)
	}
	for _, n := range ds.State.Notes {
		add("notes", n)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := records[i%len(records)]
		if err := check(r.table, r.raw); err != nil {
			b.Fatalf("%s: %v", r.table, err)
		}
		i++
	}
}

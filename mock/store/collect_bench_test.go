package store

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// BenchmarkCollect times a full collection of a heap holding the contacts
// a run of POST /contacts/ leaves (100,000, created one by one): as the
// store keeps them ("store"), and as nothing but the records, copied out of
// it into one slice ("records", the baseline). What the store adds to the
// records is the work the collector repeats for each cycle while such a
// store serves. ns/contact is a collection's time over the contacts.
//
//	go test -run '^$' -bench Collect -benchtime 20x ./mock/store/
func BenchmarkCollect(b *testing.B) {
	const n = 100_000
	created := func(b *testing.B) *Store {
		s := New(clock.Real{}, NewIDs(1))
		s.PutLocation(Location{ID: "loc", Name: "Location", AllowDuplicateContact: true})
		for i := range n {
			if _, err := s.CreateContact(Contact{LocationID: "loc", FirstName: "Ada", LastName: "Lovelace", Name: "Ada Lovelace",
				Email: fmt.Sprintf("ada-%d@example.com", i), Phone: fmt.Sprintf("+1%010d", i), CompanyName: "Analytical Engines",
				City: "London", Country: "GB", Source: "public api", Tags: []string{"vip", "2024"}}); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	collect := func(b *testing.B, held any) {
		runtime.GC()
		for b.Loop() {
			runtime.GC()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/contact")
		runtime.KeepAlive(held)
	}
	b.Run("records", func(b *testing.B) { collect(b, created(b).Snapshot().Contacts) })
	b.Run("store", func(b *testing.B) { collect(b, created(b)) })
}

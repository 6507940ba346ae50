package store

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// BenchmarkCollect times a full collection of a store holding the
// contacts a run of POST /contacts/ leaves (100,000, created one by one):
// the work the collector repeats for each cycle while such a store serves.
// ns/contact is a collection's time over the contacts.
func BenchmarkCollect(b *testing.B) {
	const n = 100_000
	s := New(clock.Real{}, NewIDs(1))
	s.PutLocation(Location{ID: "loc", Name: "Location", AllowDuplicateContact: true})
	for i := range n {
		if _, err := s.CreateContact(Contact{LocationID: "loc", FirstName: "Ada", LastName: "Lovelace", Name: "Ada Lovelace",
			Email: fmt.Sprintf("ada-%d@example.com", i), Phone: fmt.Sprintf("+1%010d", i), CompanyName: "Analytical Engines",
			City: "London", Country: "GB", Source: "public api", Tags: []string{"vip", "2024"}}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/contact")
	runtime.KeepAlive(s)
}

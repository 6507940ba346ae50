// Package store holds the twins' state in memory. It knows nothing of HTTP:
// it returns values and sentinel errors, and the API packages word them.
//
// One lock guards the whole store, and one table engine (table.go) holds
// the records of both APIs: the HighLevel tables are in highlevel.go and
// highlevel_records.go, the Marketing 360 ones in the m360 files.
package store

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// Store is the in-memory state of the twins. It is safe for concurrent use;
// every method returns copies, never the stored records.
type Store struct {
	clock clock.Clock
	ids   *IDs

	mu sync.RWMutex // guards everything below
	// lastStamp is the latest HighLevel time written or restored: stamps
	// never go back, even over a restore.
	lastStamp time.Time
	hl        hlTables
	m360      m360Tables
	observer  func(Change) // see Observe
	// subscribedOnly: the observer is told only while a webhook
	// subscription exists (ObserveSubscribed).
	subscribedOnly bool
}

// New returns an empty store that stamps records with clk and names them with ids.
func New(clk clock.Clock, ids *IDs) *Store {
	s := &Store{clock: clk, ids: ids}
	s.reset()
	return s
}

func (s *Store) reset() {
	s.hl = newHLTables()
	s.m360 = newM360Tables()
}

// IDs returns the store's id generator.
func (s *Store) IDs() *IDs { return s.ids }

// Snapshot returns the whole state, records in creation order.
func (s *Store) Snapshot() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st State
	s.snapshotHL(&st)
	s.snapshotM360(&st)
	return st
}

// Restore replaces the whole state, telling the observer nothing (see
// Import). It fails with an *ImportError, changing nothing, when a record
// points to a location, contact or account that the state does not have (or
// another location's or account's), or uses an id or a unique value twice.
func (s *Store) Restore(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replace(st)
}

// replace is Restore. Callers hold mu.
func (s *Store) replace(st State) error {
	hl, m360, lastStamp := s.hl, s.m360, s.lastStamp
	s.reset()
	// The two APIs' tables share nothing: they restore at once, and the
	// Marketing 360 problems are listed after the HighLevel ones.
	var p, m360Problems problems
	var wg sync.WaitGroup
	wg.Go(func() { s.restoreM360(st, &m360Problems) })
	s.restoreHL(st, &p)
	wg.Wait()
	p.merge(&m360Problems)
	if err := p.err(); err != nil {
		s.hl, s.m360, s.lastStamp = hl, m360, lastStamp
		return err
	}
	return nil
}

// Stats counts what the store holds.
type Stats struct {
	Locations, Contacts, Tasks, Notes, Appointments int
}

// Stats returns the counts of every kind of record.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Locations: len(s.hl.locations), Contacts: s.hl.contacts.size(), Tasks: s.hl.tasks.size(),
		Notes: s.hl.notes.size(), Appointments: s.hl.appointments.size()}
}

// asIs is the clone of records that hold no references.
func asIs[T any](v T) T { return v }

// byKey returns f of each value of m, in key order.
func byKey[K cmp.Ordered, V, W any](m map[K]V, f func(V) W) []W {
	out := make([]W, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, f(m[k]))
	}
	return out
}

func maxTime(ts ...time.Time) time.Time {
	return slices.MaxFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

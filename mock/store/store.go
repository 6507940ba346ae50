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
	next := New(s.clock, s.ids)
	return s.restoreInto(next, st, nil)
}

// restoreInto restores st into next, an empty store of its own, and makes
// its tables s's; or leaves s as it was, returning what is wrong (an
// *ImportError). begun, when not nil, holds the problems of st's locations
// and contacts, which are restored into next already (BeginRestore). The
// two APIs' tables share nothing: they restore at once, and the Marketing
// 360 problems are listed after the HighLevel ones. Callers hold mu.
func (s *Store) restoreInto(next *Store, st State, begun *problems) error {
	var p, m360Problems problems
	var wg sync.WaitGroup
	wg.Go(func() { next.restoreM360(st, &m360Problems) })
	if begun != nil {
		p = *begun
	} else {
		next.restoreHLContacts(st, cloneContact, &p)
	}
	next.restoreHLRecords(st, &p)
	wg.Wait()
	p.merge(&m360Problems)
	if err := p.err(); err != nil {
		return err
	}
	s.hl, s.m360 = next.hl, next.m360
	s.lastStamp = maxTime(s.lastStamp, next.lastStamp)
	return nil
}

// Restoring is a restore of a state that decodes table by table
// (DecodeStateThen): its locations and contacts restore while its other
// tables still decode, in tables apart from the store's, which nothing sees
// until Finish makes them the store's in one step, as Restore does.
// Finish or Abandon ends it.
type Restoring struct {
	s     *Store
	next  *Store        // the tables being built
	begun State         // the locations and contacts restored
	p     problems      // their problems
	done  chan struct{} // closed once they are restored
}

// BeginRestore starts restoring st's locations and contacts, in a goroutine
// of its own, and returns the restore; its other tables are Finish's. It
// takes st's contacts, with what they refer to (tags, custom fields), to
// keep as they are rather than copy them: the caller must not change them.
func (s *Store) BeginRestore(st State) *Restoring {
	r := &Restoring{s: s, next: New(s.clock, s.ids), begun: State{Locations: st.Locations, Contacts: st.Contacts},
		done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.next.restoreHLContacts(r.begun, ownContact, &r.p)
	}()
	return r
}

// Finish restores the other tables of st, whose locations and contacts must
// be the ones BeginRestore was given (Finish restores those it was given,
// not st's), and replaces the store's state with the whole, as Restore
// does: it fails with an *ImportError, changing nothing, when a record of
// st is at fault as Restore says. A restore finishes once.
func (r *Restoring) Finish(st State) error {
	<-r.done
	st.Locations, st.Contacts = r.begun.Locations, r.begun.Contacts
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.s.restoreInto(r.next, st, &r.p)
}

// Abandon ends the restore, once its goroutine has, changing nothing; after
// Finish, it does nothing.
func (r *Restoring) Abandon() { <-r.done }

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

package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"time"
)

// Op is what a write did to a record.
type Op int

// Ops of a Change.
const (
	Created Op = iota + 1
	Updated
	Deleted
)

func (o Op) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Change is one write to a record, with copies of the record before and
// after it: Before is nil for a creation, After for a deletion. The record
// is a Contact, Task, Note, Appointment, AppointmentNote, M360Contact, M360Task, M360Note or
// M360Event value.
type Change struct {
	Op Op
	// Location is a HighLevel record's location ("" for Marketing 360
	// records, which name their account).
	Location      string
	Before, After any
	// At is when the change happened, on the store's clock and never
	// before the times it wrote: to the millisecond for HighLevel records,
	// to the second for Marketing 360 ones.
	At time.Time
}

// Record is the record the change is about: as it is after the change, or
// as it was before a deletion.
func (c Change) Record() any {
	if c.Op == Deleted {
		return c.Before
	}
	return c.After
}

// Observe makes fn receive every change to contacts, tasks, notes,
// appointments, appointment notes and the Marketing 360 contacts, tasks, notes and calendar
// events, in the order they are written; nil stops it. fn runs under the
// store's lock: it must not call the store, and must return quickly.
// Restore (start-up, reset) tells nothing; Import tells what it changed.
func (s *Store) Observe(fn func(Change)) { s.observe(fn, false) }

// ObserveSubscribed is Observe for an observer that turns changes into
// webhook deliveries: fn receives only the changes made while the store
// holds a webhook subscription of either API (an Import, when the state
// before it or after it holds one). A change with no subscriber is not
// copied and queued for nobody, which is most of what a write load costs
// the observer of a twin nobody listens to. Whether a change is told is
// decided when it is written: a subscription made between a write and
// the observer's routing of it does not receive it (as the vendors send a
// subscription only what happens after it).
func (s *Store) ObserveSubscribed(fn func(Change)) { s.observe(fn, true) }

func (s *Store) observe(fn func(Change), subscribedOnly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observer, s.subscribedOnly = fn, subscribedOnly
}

// observed tells whether changes are observed now. Callers hold mu.
func (s *Store) observed() bool {
	return s.observer != nil && (!s.subscribedOnly || s.subscribed())
}

// subscribed tells whether the store holds a webhook subscription of
// either API. Callers hold mu.
func (s *Store) subscribed() bool {
	return len(s.hl.webhooks) > 0 || len(s.m360.webhooks.t.rows) > 0
}

// tell passes a change to the observer. Callers hold mu and have checked
// observed, so that no copy is made for nobody.
func (s *Store) tell(op Op, location string, before, after any) {
	now := s.clock.Now().UTC()
	at := maxTime(now.Truncate(time.Millisecond), s.lastStamp)
	if location == "" {
		at = time.Unix(max(now.Unix(), s.m360.last), 0).UTC()
	}
	s.observer(Change{Op: op, Location: location, Before: before, After: after, At: at})
}

// Import replaces the whole state, as Restore does, and tells the observer
// what changed, record by record: what st adds is created, what it changes
// updated, what it lacks deleted. The records of a deleted contact go with
// it without changes of their own, as they do when a contact is deleted.
// Contacts are told first, then their records, then deleted contacts.
func (s *Store) Import(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.observer == nil {
		return s.replace(st)
	}
	before := s.observed()
	oldHL, oldM360 := s.hl, s.m360
	if err := s.replace(st); err != nil {
		return err
	}
	if before || s.observed() {
		s.diff(&oldHL, &oldM360)
	}
	return nil
}

// diff tells the observer how the tables differ from the old ones, which
// replace left as they were. Callers hold mu.
func (s *Store) diff(oldHL *hlTables, oldM360 *m360Tables) {
	hl, m := &s.hl, &s.m360
	// HighLevel contacts, in (dateAdded, id) order, then their records.
	itself := func(location string) string { return location }
	tellWritten(s, &oldHL.contacts, &hl.contacts, cloneContact, itself)
	location := func(contact string) string {
		if c := hl.contacts.ref(contact); c != nil {
			return c.LocationID
		}
		return oldHL.contacts.ref(contact).LocationID
	}
	gone := func(contact string) bool { return hl.contacts.ref(contact) == nil }
	diffRecords(s, &oldHL.tasks, &hl.tasks, asIs, location, func(c string, _ Task) bool { return gone(c) })
	diffRecords(s, &oldHL.notes, &hl.notes, asIs, location, func(c string, _ Note) bool { return gone(c) })
	diffRecords(s, &oldHL.appointments, &hl.appointments, asIs, location,
		func(c string, _ Appointment) bool { return gone(c) })
	// An appointment's notes go with it, and with its contact.
	diffRecords(s, &oldHL.appointmentNotes, &hl.appointmentNotes, asIs,
		func(ap string) string {
			if a := hl.appointments.ref(ap); a != nil {
				return a.LocationID
			}
			return oldHL.appointments.ref(ap).LocationID
		},
		func(ap string, _ AppointmentNote) bool { return hl.appointments.ref(ap) == nil })

	// Marketing 360, the same way; its changes name no location.
	none := func(int64) string { return "" }
	tellWritten(s, &oldM360.contacts.t, &m.contacts.t, M360Contact.clone, none)
	diffM360(s, &oldM360.tasks, &m.tasks, m.contacts)
	diffM360(s, &oldM360.notes, &m.notes, m.contacts)
	diffM360(s, &oldM360.events, &m.events, m.contacts)

	// Deleted contacts last, after the records that go with them.
	tellDeleted(s, &oldHL.contacts, &hl.contacts, cloneContact, itself, nil)
	tellDeleted(s, &oldM360.contacts.t, &m.contacts.t, M360Contact.clone, none, nil)
}

// diffRecords tells how a table of contacts' records changed; the records
// of contacts that are gone are not told. Callers hold mu.
func diffRecords[K cmp.Ordered, G comparable, T any](s *Store, old, now *table[K, G, T], clone func(T) T,
	where func(G) string, gone func(G, T) bool) {
	tellWritten(s, old, now, clone, where)
	tellDeleted(s, old, now, clone, where, gone)
}

// diffM360 is diffRecords for a Marketing 360 table of contacts' records.
func diffM360[T any, P m360Record[T]](s *Store, old, now *m360Table[T, P], contacts m360Table[M360Contact, *M360Contact]) {
	diffRecords(s, &old.t, &now.t, func(v T) T { return P(&v).clone() }, func(int64) string { return "" },
		func(account int64, v T) bool {
			_, ok := contacts.get(account, P(&v).contact())
			return !ok
		})
}

// tellWritten tells the records of now that old lacks as created and those
// that differ as updated, in now's order; where names a group's location.
// Callers hold mu.
func tellWritten[K cmp.Ordered, G comparable, T any](s *Store, old, now *table[K, G, T], clone func(T) T, where func(G) string) {
	for _, k := range now.keys() {
		v, g, _ := now.get(k)
		if was, wasIn, ok := old.get(k); !ok {
			s.tell(Created, where(g), nil, clone(v))
		} else if !same(was, v) || wasIn != g {
			s.tell(Updated, where(g), clone(was), clone(v))
		}
	}
}

// tellDeleted tells the records of old that now lacks as deleted, in old's
// order, but for those gone says went with their group's owner (nil: none
// did). Callers hold mu.
func tellDeleted[K cmp.Ordered, G comparable, T any](s *Store, old, now *table[K, G, T], clone func(T) T,
	where func(G) string, gone func(G, T) bool) {
	for _, k := range old.keys() {
		was, g, _ := old.get(k)
		if _, _, ok := now.get(k); !ok && (gone == nil || !gone(g, was)) {
			s.tell(Deleted, where(g), clone(was), nil)
		}
	}
}

// same tells whether two records read the same: their JSON is equal, which
// sees through what a decode changes and a reader would not (time zones).
func same(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

package store

import (
	"bytes"
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
// is a Contact, Task, Note, Appointment, M360Contact, M360Task, M360Note or
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
// appointments and the Marketing 360 contacts, tasks, notes and calendar
// events, in the order they are written; nil stops it. fn runs under the
// store's lock: it must not call the store, and must return quickly.
// Restore (start-up, reset) tells nothing; Import tells what it changed.
func (s *Store) Observe(fn func(Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observer = fn
}

// observed tells whether changes are observed. Callers hold mu.
func (s *Store) observed() bool { return s.observer != nil }

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
	if !s.observed() {
		return s.replace(st)
	}
	old := s.tables()
	if err := s.replace(st); err != nil {
		return err
	}
	s.diff(old)
	return nil
}

// tables is the store's content, as held: what Import compares with.
type tables struct {
	contacts     map[string]*Contact
	tasks        children[Task]
	notes        children[Note]
	appointments children[Appointment]
	m360         m360State
}

// tables returns the tables in place. Callers hold mu.
func (s *Store) tables() tables {
	return tables{contacts: s.contacts, tasks: s.tasks, notes: s.notes, appointments: s.appointments, m360: s.m360}
}

// diff tells the observer how the tables differ from old. Callers hold mu.
func (s *Store) diff(old tables) {
	now := s.tables()
	// HighLevel contacts, in (dateAdded, id) order, then their records.
	for _, st := range now.contactsInOrder() {
		c := cloneContact(*st)
		if was, ok := old.contacts[c.ID]; !ok {
			s.tell(Created, c.LocationID, nil, c)
		} else if !same(*was, c) {
			s.tell(Updated, c.LocationID, cloneContact(*was), c)
		}
	}
	gone := func(contact string) bool { _, ok := now.contacts[contact]; return !ok }
	location := func(contact string) string {
		if c, ok := now.contacts[contact]; ok {
			return c.LocationID
		}
		return old.contacts[contact].LocationID
	}
	diffChildren(s, &old.tasks, &now.tasks, gone, location)
	diffChildren(s, &old.notes, &now.notes, gone, location)
	diffChildren(s, &old.appointments, &now.appointments, gone, location)

	// Marketing 360, the same way.
	m360Gone := func(account, contact int64) bool {
		_, ok := now.m360.contacts.get(account, contact)
		return !ok
	}
	for _, c := range now.m360.contacts.all() {
		if was, ok := old.m360.contacts.rows[c.ID]; !ok {
			s.tell(Created, "", nil, c)
		} else if !same(was, c) {
			s.tell(Updated, "", was.clone(), c)
		}
	}
	diffM360(s, &old.m360.tasks, &now.m360.tasks, m360Gone)
	diffM360(s, &old.m360.notes, &now.m360.notes, m360Gone)
	diffM360(s, &old.m360.events, &now.m360.events, m360Gone)

	// Deleted contacts last, after the records that go with them.
	for _, was := range old.contactsInOrder() {
		if _, ok := now.contacts[was.ID]; !ok {
			s.tell(Deleted, was.LocationID, cloneContact(*was), nil)
		}
	}
	for _, was := range old.m360.contacts.all() {
		if _, ok := now.m360.contacts.rows[was.ID]; !ok {
			s.tell(Deleted, "", was, nil)
		}
	}
}

// contactsInOrder lists the contacts by (dateAdded, id).
func (t tables) contactsInOrder() []*Contact {
	out := make([]*Contact, 0, len(t.contacts))
	for _, c := range t.contacts {
		out = append(out, c)
	}
	sortContacts(out)
	return out
}

// diffChildren tells how a table of contacts' records changed; the records
// of contacts that are gone are not told. Callers hold mu.
func diffChildren[T any](s *Store, old, now *children[T], gone func(contact string) bool, location func(contact string) string) {
	for _, id := range now.ids() {
		v, contact := now.byID[id], now.contactOf[id]
		if was, ok := old.byID[id]; !ok {
			s.tell(Created, location(contact), nil, v)
		} else if !same(was, v) || old.contactOf[id] != contact {
			s.tell(Updated, location(contact), was, v)
		}
	}
	for _, id := range old.ids() {
		if _, ok := now.byID[id]; !ok && !gone(old.contactOf[id]) {
			s.tell(Deleted, location(old.contactOf[id]), old.byID[id], nil)
		}
	}
}

// diffM360 is diffChildren for a Marketing 360 table of contacts' records.
func diffM360[T any, P m360Record[T]](s *Store, old, now *m360Table[T, P], gone func(account, contact int64) bool) {
	for _, v := range now.all() {
		id, _ := P(&v).key()
		if was, ok := old.rows[id]; !ok {
			s.tell(Created, "", nil, v)
		} else if !same(was, v) {
			s.tell(Updated, "", P(&was).clone(), v)
		}
	}
	for _, was := range old.all() {
		id, account := P(&was).key()
		if _, ok := now.rows[id]; !ok && !gone(account, P(&was).contact()) {
			s.tell(Deleted, "", was, nil)
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

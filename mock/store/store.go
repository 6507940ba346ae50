// Package store holds the twins' state in memory. It knows nothing of HTTP:
// it returns values and sentinel errors, and the API packages render them.
package store

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// Store is the in-memory state of the twins. It is safe for concurrent use;
// every method returns copies, never the stored records.
type Store struct {
	clock clock.Clock
	ids   *IDs

	mu        sync.RWMutex // guards everything below
	lastStamp time.Time
	locations map[string]*Location
	contacts  map[string]*Contact
	// byLocation holds each location's contacts sorted by (DateAdded, ID)
	// ascending; lists walk it from the end, newest first.
	byLocation   map[string][]*Contact
	emails       map[string]map[string][]string // location -> lower-case email -> contact ids
	phones       map[string]map[string][]string // location -> phone -> contact ids
	tasks        children[Task]
	notes        children[Note]
	appointments children[Appointment]
	m360         m360State
	observer     func(Change) // see Observe
}

// New returns an empty store that stamps records with clk and names them with ids.
func New(clk clock.Clock, ids *IDs) *Store {
	s := &Store{clock: clk, ids: ids}
	s.reset()
	return s
}

func (s *Store) reset() {
	s.locations = map[string]*Location{}
	s.contacts = map[string]*Contact{}
	s.byLocation = map[string][]*Contact{}
	s.emails = map[string]map[string][]string{}
	s.phones = map[string]map[string][]string{}
	s.tasks = newChildren[Task]()
	s.notes = newChildren[Note]()
	s.appointments = newChildren[Appointment]()
	s.m360 = newM360State()
}

// IDs returns the store's id generator.
func (s *Store) IDs() *IDs { return s.ids }

// stamp returns the time for a write: the clock's time to the millisecond,
// moved on by a millisecond when it would not be after the last stamp, so
// records always order by time. Callers hold mu.
func (s *Store) stamp() time.Time {
	t := s.clock.Now().UTC().Truncate(time.Millisecond)
	if !t.After(s.lastStamp) {
		t = s.lastStamp.Add(time.Millisecond)
	}
	s.lastStamp = t
	return t
}

// PutLocation adds a location or replaces the one with the same id.
func (s *Store) PutLocation(l Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocation(l)
}

func (s *Store) putLocation(l Location) {
	c := cloneLocation(l)
	s.locations[l.ID] = &c
	if s.emails[l.ID] == nil {
		s.emails[l.ID] = map[string][]string{}
		s.phones[l.ID] = map[string][]string{}
	}
}

// Location returns a location.
func (s *Store) Location(id string) (Location, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.locations[id]
	if !ok {
		return Location{}, &NotFoundError{Kind: "Location", ID: id}
	}
	return cloneLocation(*l), nil
}

// Locations lists the locations by id.
func (s *Store) Locations() []Location {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Location, 0, len(s.locations))
	for _, l := range s.locations {
		out = append(out, cloneLocation(*l))
	}
	slices.SortFunc(out, func(a, b Location) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// CreateContact adds a contact to c.LocationID, giving it an id and dates.
// It fails with a *DuplicateError when the location forbids duplicates and
// the email or phone is taken.
func (s *Store) CreateContact(c Contact) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createContact(c)
}

func (s *Store) createContact(c Contact) (Contact, error) {
	loc, ok := s.locations[c.LocationID]
	if !ok {
		return Contact{}, &NotFoundError{Kind: "Location", ID: c.LocationID}
	}
	if err := s.checkDuplicate(loc, &c, ""); err != nil {
		return Contact{}, err
	}
	c.ID = s.ids.New()
	c.DateAdded = s.stamp()
	c.DateUpdated = c.DateAdded
	stored := cloneContact(c)
	s.insertContact(&stored)
	if s.observed() {
		s.tell(Created, stored.LocationID, nil, cloneContact(stored))
	}
	return cloneContact(stored), nil
}

func (s *Store) insertContact(c *Contact) {
	s.contacts[c.ID] = c
	list := s.byLocation[c.LocationID]
	i, _ := slices.BinarySearchFunc(list, c, compareContacts)
	s.byLocation[c.LocationID] = slices.Insert(list, i, c)
	s.index(c)
}

func sortContacts(list []*Contact) { slices.SortFunc(list, compareContacts) }

func compareContacts(a, b *Contact) int {
	if c := a.DateAdded.Compare(b.DateAdded); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// index adds c to the email and phone indexes, each list kept oldest first
// so that match finds the oldest contact even after an update re-indexes one.
// c must be in s.contacts.
func (s *Store) index(c *Contact) {
	add := func(m map[string][]string, key string) {
		ids := m[key]
		i, _ := slices.BinarySearchFunc(ids, c, func(id string, c *Contact) int {
			return compareContacts(s.contacts[id], c)
		})
		m[key] = slices.Insert(ids, i, c.ID)
	}
	if e := strings.ToLower(c.Email); e != "" {
		add(s.emails[c.LocationID], e)
	}
	if c.Phone != "" {
		add(s.phones[c.LocationID], c.Phone)
	}
}

func (s *Store) unindex(c *Contact) {
	drop := func(m map[string][]string, key string) {
		if key == "" {
			return
		}
		ids := slices.DeleteFunc(m[key], func(id string) bool { return id == c.ID })
		if len(ids) == 0 {
			delete(m, key)
		} else {
			m[key] = ids
		}
	}
	drop(s.emails[c.LocationID], strings.ToLower(c.Email))
	drop(s.phones[c.LocationID], c.Phone)
}

// checkDuplicate fails when loc forbids duplicates and c's email or phone
// belongs to a contact other than self.
func (s *Store) checkDuplicate(loc *Location, c *Contact, self string) error {
	if loc.AllowDuplicateContact {
		return nil
	}
	for _, field := range duplicateOrder(loc) {
		if id := s.match(loc.ID, field, c, self); id != "" {
			return &DuplicateError{ContactID: id, Field: field}
		}
	}
	return nil
}

// match returns the oldest contact of location whose field (email or phone)
// equals c's, other than self; "" when none.
func (s *Store) match(location, field string, c *Contact, self string) string {
	var ids []string
	switch field {
	case "email":
		if e := strings.ToLower(c.Email); e != "" {
			ids = s.emails[location][e]
		}
	case "phone":
		if c.Phone != "" {
			ids = s.phones[location][c.Phone]
		}
	}
	for _, id := range ids {
		if id != self {
			return id
		}
	}
	return ""
}

func duplicateOrder(loc *Location) []string {
	if len(loc.DuplicateOrder) == 0 {
		return []string{"email", "phone"}
	}
	return loc.DuplicateOrder
}

// FindDuplicate returns the contact of location that a contact with this
// email or phone would duplicate, matching in the location's order.
func (s *Store) FindDuplicate(location, email, phone string) (Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.locations[location]
	if !ok {
		return Contact{}, false
	}
	probe := &Contact{Email: email, Phone: phone}
	for _, field := range duplicateOrder(loc) {
		if id := s.match(location, field, probe, ""); id != "" {
			return cloneContact(*s.contacts[id]), true
		}
	}
	return Contact{}, false
}

// Contact returns a contact.
func (s *Store) Contact(id string) (Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.contacts[id]
	if !ok {
		return Contact{}, &NotFoundError{Kind: "Contact", ID: id}
	}
	return cloneContact(*c), nil
}

// UpdateContact applies fn to a copy of the contact and stores the result,
// checking duplicates again. An error from fn is returned as is and nothing
// changes.
func (s *Store) UpdateContact(id string, fn func(*Contact) error) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return Contact{}, &NotFoundError{Kind: "Contact", ID: id}
	}
	return s.updateContact(c, fn)
}

func (s *Store) updateContact(c *Contact, fn func(*Contact) error) (Contact, error) {
	next := cloneContact(*c)
	if err := fn(&next); err != nil {
		return Contact{}, err
	}
	// The identity and creation date are the store's.
	next.ID, next.LocationID, next.DateAdded = c.ID, c.LocationID, c.DateAdded
	if err := s.checkDuplicate(s.locations[c.LocationID], &next, c.ID); err != nil {
		return Contact{}, err
	}
	next.DateUpdated = s.stamp()
	var before Contact
	if s.observed() {
		before = cloneContact(*c)
	}
	s.unindex(c)
	*c = next
	s.index(c)
	if s.observed() {
		s.tell(Updated, c.LocationID, before, cloneContact(*c))
	}
	return cloneContact(*c), nil
}

// UpsertContact finds the contact of location matching email or phone in the
// location's order and applies fn to it; with no match, or when the location
// allows duplicates and createNew is set, it creates one from fn. It reports
// whether the contact is new.
func (s *Store) UpsertContact(location, email, phone string, createNew bool, fn func(*Contact) error) (Contact, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	loc, ok := s.locations[location]
	if !ok {
		return Contact{}, false, &NotFoundError{Kind: "Location", ID: location}
	}
	if !(loc.AllowDuplicateContact && createNew) {
		probe := &Contact{Email: email, Phone: phone}
		order := duplicateOrder(loc)
		for i, field := range order {
			if id := s.match(location, field, probe, ""); id != "" {
				c, err := s.updateContact(s.contacts[id], keepLater(s, loc, order[i+1:], fn))
				return c, false, err
			}
		}
	}
	c := Contact{LocationID: location}
	if err := fn(&c); err != nil {
		return Contact{}, false, err
	}
	c.LocationID = location
	created, err := s.createContact(c)
	return created, true, err
}

// keepLater wraps an upsert's fn: a field later in the match order that would
// now duplicate another contact keeps its old value, as the vendor ignores
// the second field when email and phone match two different contacts.
// Callers hold mu.
func keepLater(s *Store, loc *Location, later []string, fn func(*Contact) error) func(*Contact) error {
	return func(c *Contact) error {
		old := *c
		if err := fn(c); err != nil {
			return err
		}
		if loc.AllowDuplicateContact {
			return nil
		}
		for _, field := range later {
			if s.match(loc.ID, field, c, c.ID) == "" {
				continue
			}
			switch field {
			case "email":
				c.Email = old.Email
			case "phone":
				c.Phone = old.Phone
			}
		}
		return nil
	}
}

// DeleteContact removes a contact with its tasks, notes and appointments.
func (s *Store) DeleteContact(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return &NotFoundError{Kind: "Contact", ID: id}
	}
	s.unindex(c)
	delete(s.contacts, id)
	list := s.byLocation[c.LocationID]
	if i, found := slices.BinarySearchFunc(list, c, compareContacts); found {
		s.byLocation[c.LocationID] = slices.Delete(list, i, i+1)
	}
	s.tasks.removeContact(id)
	s.notes.removeContact(id)
	s.appointments.removeContact(id)
	if s.observed() {
		s.tell(Deleted, c.LocationID, cloneContact(*c), nil)
	}
	return nil
}

// Cursor is a position in a location's contacts, newest first: the list
// resumes after the contact with this DateAdded and ID.
type Cursor struct {
	DateAdded time.Time
	ID        string
}

// ScanContacts calls fn with each contact of location, newest first, until
// fn returns false. fn runs under the store's read lock: it must not call the
// store, and must copy (CloneContact) what it keeps.
func (s *Store) ScanContacts(location string, fn func(*Contact) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.byLocation[location]
	for i := len(list) - 1; i >= 0; i-- {
		if !fn(list[i]) {
			return
		}
	}
}

// CountContacts returns how many contacts a location has.
func (s *Store) CountContacts(location string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byLocation[location])
}

// CloneContact returns a deep copy of c, for callers of ScanContacts.
func CloneContact(c *Contact) Contact { return cloneContact(*c) }

func cloneContact(c Contact) Contact {
	c.Tags = slices.Clone(c.Tags)
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.CustomFields = slices.Clone(c.CustomFields)
	if c.CustomFields == nil {
		c.CustomFields = []CustomFieldValue{}
	}
	c.DNDSettings = cloneMap(c.DNDSettings)
	c.InboundDNDSettings = cloneMap(c.InboundDNDSettings)
	if c.DateOfBirth != nil {
		d := *c.DateOfBirth
		c.DateOfBirth = &d
	}
	return c
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneLocation(l Location) Location {
	l.DuplicateOrder = slices.Clone(l.DuplicateOrder)
	l.Calendars = slices.Clone(l.Calendars)
	l.CustomFields = slices.Clone(l.CustomFields)
	return l
}

// Snapshot returns the whole state, records in creation order.
func (s *Store) Snapshot() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := State{
		Locations:    make([]Location, 0, len(s.locations)),
		Contacts:     make([]Contact, 0, len(s.contacts)),
		Tasks:        s.tasks.all(),
		Notes:        s.notes.all(),
		Appointments: s.appointments.all(),
	}
	for _, l := range s.locations {
		st.Locations = append(st.Locations, cloneLocation(*l))
	}
	slices.SortFunc(st.Locations, func(a, b Location) int { return strings.Compare(a.ID, b.ID) })
	for _, c := range s.contacts {
		st.Contacts = append(st.Contacts, cloneContact(*c))
	}
	slices.SortFunc(st.Contacts, func(a, b Contact) int { return compareContacts(&a, &b) })
	s.snapshotM360(&st)
	return st
}

// Restore replaces the whole state, telling the observer nothing (see
// Import). It fails, changing nothing, when a record points to a location or
// contact that the state does not have.
func (s *Store) Restore(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replace(st)
}

// replace is Restore. Callers hold mu.
func (s *Store) replace(st State) error {
	locations, contacts, byLocation, emails, phones := s.locations, s.contacts, s.byLocation, s.emails, s.phones
	tasks, notes, appointments, lastStamp := s.tasks, s.notes, s.appointments, s.lastStamp
	m360 := s.m360
	s.reset()
	err := s.restore(st)
	if err == nil {
		err = s.restoreM360(st)
	}
	if err != nil {
		s.locations, s.contacts, s.byLocation, s.emails, s.phones = locations, contacts, byLocation, emails, phones
		s.tasks, s.notes, s.appointments, s.lastStamp = tasks, notes, appointments, lastStamp
		s.m360 = m360
		return err
	}
	return nil
}

func (s *Store) restore(st State) error {
	for _, l := range st.Locations {
		s.putLocation(l)
	}
	s.contacts = make(map[string]*Contact, len(st.Contacts))
	s.tasks = newChildrenSized[Task](len(st.Tasks))
	s.notes = newChildrenSized[Note](len(st.Notes))
	s.appointments = newChildrenSized[Appointment](len(st.Appointments))
	// In list order, each insertion lands at the end of its location's list.
	contacts := slices.Clone(st.Contacts)
	slices.SortFunc(contacts, func(a, b Contact) int { return compareContacts(&a, &b) })
	for _, c := range contacts {
		if _, ok := s.locations[c.LocationID]; !ok {
			return &InvalidError{Field: "contacts[" + c.ID + "].locationId", Reason: "names no location of the state"}
		}
		if _, dup := s.contacts[c.ID]; dup || c.ID == "" {
			return &InvalidError{Field: "contacts[" + c.ID + "].id", Reason: "is empty or used twice"}
		}
		stored := cloneContact(c)
		s.insertContact(&stored)
		s.lastStamp = maxTime(s.lastStamp, c.DateAdded, c.DateUpdated)
	}
	restoreChildren := func(kind string, n int, child func(i int) (id, contact string, added time.Time), add func(i int)) error {
		for i := range n {
			id, contact, added := child(i)
			if _, ok := s.contacts[contact]; !ok {
				return &InvalidError{Field: kind + "[" + id + "].contactId", Reason: "names no contact of the state"}
			}
			add(i)
			s.lastStamp = maxTime(s.lastStamp, added)
		}
		return nil
	}
	if err := restoreChildren("tasks", len(st.Tasks),
		func(i int) (string, string, time.Time) {
			return st.Tasks[i].ID, st.Tasks[i].ContactID, st.Tasks[i].DateAdded
		},
		func(i int) { s.tasks.add(st.Tasks[i].ContactID, st.Tasks[i].ID, st.Tasks[i]) }); err != nil {
		return err
	}
	if err := restoreChildren("notes", len(st.Notes),
		func(i int) (string, string, time.Time) {
			return st.Notes[i].ID, st.Notes[i].ContactID, st.Notes[i].DateAdded
		},
		func(i int) { s.notes.add(st.Notes[i].ContactID, st.Notes[i].ID, st.Notes[i]) }); err != nil {
		return err
	}
	return restoreChildren("appointments", len(st.Appointments),
		func(i int) (string, string, time.Time) {
			return st.Appointments[i].ID, st.Appointments[i].ContactID, st.Appointments[i].DateUpdated
		},
		func(i int) {
			s.appointments.add(st.Appointments[i].ContactID, st.Appointments[i].ID, st.Appointments[i])
		})
}

func maxTime(ts ...time.Time) time.Time {
	return slices.MaxFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

// Page is one page of a location's contacts, newest first.
type Page struct {
	Contacts []Contact
	// Total is how many contacts match; Offset how many matching contacts
	// come before the page.
	Total, Offset int
	// More tells whether matching contacts follow the page.
	More bool
}

// ContactsPage returns up to limit contacts of location that match (all when
// match is nil), newest first, after the cursor when it is not nil.
func (s *Store) ContactsPage(location string, after *Cursor, limit int, match func(*Contact) bool) Page {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.byLocation[location]
	end := len(list)
	if after != nil {
		probe := &Contact{DateAdded: after.DateAdded, ID: after.ID}
		end, _ = slices.BinarySearchFunc(list, probe, compareContacts)
	}
	var p Page
	if match == nil {
		p.Total, p.Offset = len(list), len(list)-end
		for i := end - 1; i >= 0 && len(p.Contacts) < limit; i-- {
			p.Contacts = append(p.Contacts, cloneContact(*list[i]))
		}
		p.More = end-len(p.Contacts) > 0
		return p
	}
	for i := len(list) - 1; i >= 0; i-- {
		if !match(list[i]) {
			continue
		}
		p.Total++
		switch {
		case i >= end:
			p.Offset++
		case len(p.Contacts) < limit:
			p.Contacts = append(p.Contacts, cloneContact(*list[i]))
		default:
			p.More = true
		}
	}
	return p
}

// Stats counts what the store holds.
type Stats struct {
	Locations, Contacts, Tasks, Notes, Appointments int
}

// Stats returns the counts of every kind of record.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Locations: len(s.locations), Contacts: len(s.contacts), Tasks: len(s.tasks.byID),
		Notes: len(s.notes.byID), Appointments: len(s.appointments.byID)}
}

package store

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// hlTables are the HighLevel tables: locations, their contacts, the
// contacts' tasks, notes and appointments, and the appointments' notes.
// Callers hold the store's lock.
type hlTables struct {
	locations map[string]*Location
	// contacts are grouped by location, each ordered by (DateAdded, ID):
	// lists walk a group from the end, newest first.
	contacts     table[string, string, Contact]
	emails       map[string]*idIndex         // location -> email's key (EmailKey) -> contact ids
	phones       map[string]*idIndex         // location -> phone -> contact ids
	tasks        table[string, string, Task] // grouped by contact, in creation order
	notes        table[string, string, Note]
	appointments table[string, string, Appointment]
	// appointmentNotes are grouped by appointment, in creation order.
	appointmentNotes table[string, string, AppointmentNote]
	webhooks         map[string]Webhook // by client id (webhooks.go)
	// memos is the budget of the contacts' renderings (Memo).
	memos *memoCache
}

func newHLTables() hlTables {
	return hlTables{
		memos:     newMemoCache(defaultMemoBudget),
		locations: map[string]*Location{},
		contacts: newTable[string](0, func(a, b *Contact) int { return a.DateAdded.Compare(b.DateAdded) },
			func(c *Contact) string { return c.LocationID }),
		emails:           map[string]*idIndex{},
		phones:           map[string]*idIndex{},
		tasks:            newTable[string](0, nil, ownerOf[Task]),
		notes:            newTable[string](0, nil, ownerOf[Note]),
		appointments:     newTable[string](0, nil, ownerOf[Appointment]),
		appointmentNotes: newTable[string](0, nil, ownerOf[AppointmentNote]),
		webhooks:         map[string]Webhook{},
	}
}

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
	s.hl.locations[l.ID] = &c
	if _, ok := s.hl.emails[l.ID]; !ok {
		s.newIndexes(l.ID, 0)
	}
}

// newIndexes gives location new, empty email and phone indexes, with room
// for n contacts. Callers hold mu.
func (s *Store) newIndexes(location string, n int) {
	s.hl.emails[location], s.hl.phones[location] = newIDIndex(n), newIDIndex(n)
}

// emailOf and phoneOf are the values of a stored contact that its location's
// email and phone indexes hold. Callers hold mu.
func (s *Store) emailOf(id string) string {
	if c := s.hl.contacts.ref(id); c != nil {
		return EmailKey(c.Email)
	}
	return ""
}

func (s *Store) phoneOf(id string) string {
	if c := s.hl.contacts.ref(id); c != nil {
		return c.Phone
	}
	return ""
}

// Location returns a location.
func (s *Store) Location(id string) (Location, error) {
	l, err := s.LocationShared(id)
	if err != nil {
		return Location{}, err
	}
	return cloneLocation(l), nil // out of the lock: the lists never change in place
}

// LocationShared returns a location as Location does, but its lists are the
// store's own, not copies: to read, never to change. The store never
// changes a stored location's lists in place (a change stores new ones), so
// what LocationShared returned stays as it was.
func (s *Store) LocationShared(id string) (Location, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.hl.locations[id]
	if !ok {
		return Location{}, &NotFoundError{Kind: "Location", ID: id}
	}
	return *l, nil
}

// Locations lists the locations by id.
func (s *Store) Locations() []Location {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.locationsByID()
}

// locationsByID lists the locations by id. Callers hold mu.
func (s *Store) locationsByID() []Location {
	return byKey(s.hl.locations, func(l *Location) Location { return cloneLocation(*l) })
}

// CreateContact adds a contact to c.LocationID, giving it an id and dates.
// It fails with a *DuplicateError when the location forbids duplicates and
// the email or phone is taken.
func (s *Store) CreateContact(c Contact) (Contact, error) {
	// The copies are made outside the lock, which an allocation may hold
	// while it helps the collector: the contact the table will keep (on the
	// stack until its entry takes it), and the one returned, of the stored
	// version, whose lists and maps never change in place (a change stores
	// new ones). What is still made under the lock is small or rare: the
	// memo, the ID, the indexes' and the tables' growth, a slab of entries
	// every 16th create.
	c = storable(c)
	s.mu.Lock()
	stored, err := s.createContact(c)
	s.mu.Unlock()
	if err != nil {
		return Contact{}, err
	}
	return cloneContact(stored), nil
}

// createContact stores c (storable's), whose lists and maps become the
// store's, and returns it as stored but for the memo (sharing them: to
// read, or to copy). Callers hold mu.
func (s *Store) createContact(c Contact) (Contact, error) {
	loc, ok := s.hl.locations[c.LocationID]
	if !ok {
		return Contact{}, &NotFoundError{Kind: "Location", ID: c.LocationID}
	}
	if err := s.checkDuplicate(loc, &c, ""); err != nil {
		return Contact{}, err
	}
	c.ID = s.ids.New()
	c.DateAdded = s.stamp()
	c.DateUpdated = c.DateAdded
	stored := s.insertContact(loc, c)
	if s.observed() {
		s.tell(Created, stored.LocationID, nil, stored) // the stored version, which never changes
	}
	return stored, nil
}

// storable is a copy of c the store may keep: its lists and maps its own,
// its strings in one block (packStrings: fewer objects to mark).
func storable(c Contact) Contact {
	c = cloneContact(c)
	c.packStrings()
	return c
}

// insertContact stores c, with a new memo, in loc, its location, and
// returns it as stored but for the memo: its location's id is the
// location's own string (one for all its contacts). Callers hold mu.
func (s *Store) insertContact(loc *Location, c Contact) Contact {
	c.LocationID = loc.ID
	s.memoAndIndex(s.hl.contacts.add(c.ID, c.LocationID, c))
	return c
}

// memoAndIndex gives a contact just stored its memo and indexes it.
// Callers hold mu.
func (s *Store) memoAndIndex(c *Contact) {
	c.memo = s.hl.memos.newMemo()
	s.index(c)
}

// addedKey is a contact's place in (dateAdded, id) order: its dateAdded as
// seconds and nanoseconds of the Unix time (which order as the times do),
// and its index in the contacts sorted.
type addedKey struct {
	sec  int64
	nsec int32
	i    int
}

// addedOrder is contacts' indexes in (dateAdded, id) order, contacts that
// tie in the order of contacts, as a stable sort would have them. A state as
// Snapshot exports it is in that order already: checking costs a pass. Any
// other (a generated one's contacts are in no order) sorts by keys, apart
// from the contacts: comparing two rarely reads their records (their ids,
// when they were added in the same nanosecond), where comparing the
// contacts' times reads two records each time, which at 100,000 contacts
// took a fifth of the restore.
func addedOrder(contacts []Contact) []addedKey {
	keys := make([]addedKey, len(contacts))
	for i := range contacts {
		t := contacts[i].DateAdded
		keys[i] = addedKey{sec: t.Unix(), nsec: int32(t.Nanosecond()), i: i}
	}
	compare := func(a, b addedKey) int {
		if c := cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.nsec, b.nsec)); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(contacts[a.i].ID, contacts[b.i].ID), cmp.Compare(a.i, b.i))
	}
	if !slices.IsSortedFunc(keys, compare) {
		slices.SortFunc(keys, compare)
	}
	return keys
}

func compareContacts(a, b *Contact) int {
	if c := a.DateAdded.Compare(b.DateAdded); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// index adds c to the email and phone indexes, each list kept oldest first
// so that match finds the oldest contact even after an update re-indexes one.
// c must be stored.
func (s *Store) index(c *Contact) {
	compare := func(id string) int { return compareContacts(s.hl.contacts.ref(id), c) }
	if e := EmailKey(c.Email); e != "" {
		s.hl.emails[c.LocationID].add(e, c.ID, compare, s.emailOf)
	}
	if c.Phone != "" {
		s.hl.phones[c.LocationID].add(c.Phone, c.ID, compare, s.phoneOf)
	}
}

func (s *Store) unindex(c *Contact) {
	if e := EmailKey(c.Email); e != "" {
		s.hl.emails[c.LocationID].remove(e, c.ID, s.emailOf)
	}
	if c.Phone != "" {
		s.hl.phones[c.LocationID].remove(c.Phone, c.ID, s.phoneOf)
	}
}

// checkDuplicate fails when c's email is not in NFC (an *InvalidError), or
// when loc forbids duplicates and c's email or phone belongs to a contact
// other than self.
func (s *Store) checkDuplicate(loc *Location, c *Contact, self string) error {
	if err := checkEmailForm(c.Email); err != nil {
		return err
	}
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
	switch field {
	case "email":
		if e := EmailKey(c.Email); e != "" {
			return s.hl.emails[location].firstOther(e, self, s.emailOf)
		}
	case "phone":
		if c.Phone != "" {
			return s.hl.phones[location].firstOther(c.Phone, self, s.phoneOf)
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
	loc, ok := s.hl.locations[location]
	if !ok {
		return Contact{}, false
	}
	probe := &Contact{Email: email, Phone: phone}
	for _, field := range duplicateOrder(loc) {
		if id := s.match(location, field, probe, ""); id != "" {
			return cloneContact(*s.hl.contacts.ref(id)), true
		}
	}
	return Contact{}, false
}

// Contact returns a contact.
func (s *Store) Contact(id string) (Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.hl.contacts.ref(id)
	if c == nil {
		return Contact{}, &NotFoundError{Kind: "Contact", ID: id}
	}
	return cloneContact(*c), nil
}

// ContactFunc calls fn with the stored contact id and its Memo, under the
// store's read lock, instead of copying it; fn must not call the store,
// change c or keep it.
func (s *Store) ContactFunc(id string, fn func(c *Contact, m *Memo)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.hl.contacts.ref(id)
	if c == nil {
		return &NotFoundError{Kind: "Contact", ID: id}
	}
	fn(c, c.memo)
	return nil
}

// UpdateContact applies fn to a copy of the contact and stores the result,
// checking duplicates again. An error from fn is returned as is and nothing
// changes.
func (s *Store) UpdateContact(id string, fn func(*Contact) error) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.hl.contacts.ref(id)
	if c == nil {
		return Contact{}, &NotFoundError{Kind: "Contact", ID: id}
	}
	return s.updateContact(c, fn)
}

// updateContact updates the stored contact c. Callers hold mu.
func (s *Store) updateContact(c *Contact, fn func(*Contact) error) (Contact, error) {
	next := cloneContact(*c)
	if err := fn(&next); err != nil {
		return Contact{}, err
	}
	// The identity and creation date are the store's.
	next.ID, next.LocationID, next.DateAdded = c.ID, c.LocationID, c.DateAdded
	if err := s.checkDuplicate(s.hl.locations[c.LocationID], &next, c.ID); err != nil {
		return Contact{}, err
	}
	next.DateUpdated = s.stamp()
	var before Contact
	if s.observed() {
		before = cloneContact(*c)
	}
	s.unindex(c)
	next.memo = c.memo // cloneContact left it out: renewMemo releases it
	s.renewMemo(&next)
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
	loc, ok := s.hl.locations[location]
	if !ok {
		return Contact{}, false, &NotFoundError{Kind: "Location", ID: location}
	}
	if !(loc.AllowDuplicateContact && createNew) {
		probe := &Contact{Email: email, Phone: phone}
		order := duplicateOrder(loc)
		for i, field := range order {
			if id := s.match(location, field, probe, ""); id != "" {
				c, err := s.updateContact(s.hl.contacts.ref(id), keepLater(s, loc, order[i+1:], fn))
				return c, false, err
			}
		}
	}
	c := Contact{LocationID: location}
	if err := fn(&c); err != nil {
		return Contact{}, false, err
	}
	c.LocationID = location
	created, err := s.createContact(storable(c))
	if err != nil {
		return Contact{}, true, err
	}
	return cloneContact(created), true, nil
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

// DeleteContact removes a contact with its tasks, notes and appointments,
// and the appointments' notes.
func (s *Store) DeleteContact(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, _, ok := s.hl.contacts.get(id)
	if !ok {
		return &NotFoundError{Kind: "Contact", ID: id}
	}
	s.unindex(&c)
	c.memo.release()
	s.hl.contacts.remove(id)
	s.hl.tasks.removeGroup(id)
	s.hl.notes.removeGroup(id)
	for _, ap := range s.hl.appointments.keysOf(id) {
		s.hl.appointmentNotes.removeGroup(ap)
	}
	s.hl.appointments.removeGroup(id)
	if s.observed() {
		s.tell(Deleted, c.LocationID, cloneContact(c), nil)
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
	ids := s.hl.contacts.keysOf(location)
	for i := len(ids) - 1; i >= 0; i-- {
		if !fn(s.hl.contacts.ref(ids[i])) {
			return
		}
	}
}

// CountContacts returns how many contacts a location has.
func (s *Store) CountContacts(location string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.hl.contacts.keysOf(location))
}

// CloneContact returns a deep copy of c, for callers of ScanContacts.
func CloneContact(c *Contact) Contact { return cloneContact(*c) }

func cloneContact(c Contact) Contact {
	c.Tags = slices.Clone(c.Tags)
	c.CustomFields = slices.Clone(c.CustomFields)
	c.Followers = slices.Clone(c.Followers)
	c.Campaigns = slices.Clone(c.Campaigns)
	c.Workflows = slices.Clone(c.Workflows)
	c.DNDSettings = maps.Clone(c.DNDSettings)
	c.InboundDNDSettings = maps.Clone(c.InboundDNDSettings)
	if c.DateOfBirth != nil {
		d := *c.DateOfBirth
		c.DateOfBirth = &d
	}
	return ownContact(c)
}

// ownContact is c as the store keeps and returns a contact, without its
// memo and with its tags and custom fields never nil, when what c refers to
// is the store's to keep (a contact decoded for it): cloneContact without
// the copies.
func ownContact(c Contact) Contact {
	c.memo = nil
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.CustomFields == nil {
		c.CustomFields = []CustomFieldValue{}
	}
	return c
}

func cloneLocation(l Location) Location {
	l.DuplicateOrder = slices.Clone(l.DuplicateOrder)
	l.Calendars = slices.Clone(l.Calendars)
	l.CustomFields = slices.Clone(l.CustomFields)
	for i, d := range l.CustomFields {
		l.CustomFields[i] = cloneCustomFieldDef(d)
	}
	l.Tags = slices.Clone(l.Tags)
	return l
}

// Page is one page of a location's contacts, newest first.
type Page struct {
	// Contacts are the page's contacts; ContactsPageFunc leaves it empty.
	Contacts []Contact
	// Total is how many contacts match; Offset how many matching contacts
	// come before the page.
	Total, Offset int
	// More tells whether matching contacts follow the page.
	More bool
	// Last is the cursor of the page's last contact (zero for an empty
	// page): the next page starts after it.
	Last Cursor
}

// ContactsPage returns up to limit contacts of location that match (all when
// match is nil), newest first, after the cursor when it is not nil.
func (s *Store) ContactsPage(location string, after *Cursor, limit int, match func(*Contact) bool) Page {
	var out []Contact
	p := s.ContactsPageFunc(location, after, limit, match, func(c *Contact, _ *Memo) {
		out = append(out, cloneContact(*c))
	})
	p.Contacts = out
	return p
}

// ContactsPageFunc is ContactsPage without the copies: it calls fn with each
// contact of the page in order, and its Memo, under the store's read lock;
// fn must not call the store, change c or keep it.
func (s *Store) ContactsPageFunc(location string, after *Cursor, limit int, match func(*Contact) bool, fn func(c *Contact, m *Memo)) Page {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.hl.contacts.keysOf(location)
	at := func(i int) *Contact { return s.hl.contacts.ref(ids[i]) }
	end := len(ids)
	if after != nil {
		end, _ = s.hl.contacts.search(location, after.ID, 0, Contact{DateAdded: after.DateAdded})
	}
	var p Page
	n := 0
	take := func(c *Contact) {
		fn(c, c.memo)
		p.Last = Cursor{DateAdded: c.DateAdded, ID: c.ID}
		n++
	}
	if match == nil {
		p.Total, p.Offset = len(ids), len(ids)-end
		for i := end - 1; i >= 0 && n < limit; i-- {
			take(at(i))
		}
		p.More = end-n > 0
		return p
	}
	for i := len(ids) - 1; i >= 0; i-- {
		c := at(i)
		if !match(c) {
			continue
		}
		p.Total++
		switch {
		case i >= end:
			p.Offset++
		case n < limit:
			take(c)
		default:
			p.More = true
		}
	}
	return p
}

// snapshotHL adds the HighLevel tables to st. Callers hold mu.
func (s *Store) snapshotHL(st *State) {
	st.Locations = s.locationsByID()
	st.Contacts = s.hl.contacts.all(cloneContact)
	st.Tasks = s.hl.tasks.all(asIs[Task])
	st.Notes = s.hl.notes.all(asIs[Note])
	st.Appointments = s.hl.appointments.all(asIs[Appointment])
	st.AppointmentNotes = nilIfEmpty(s.hl.appointmentNotes.all(asIs[AppointmentNote]))
	st.Webhooks = nilIfEmpty(byKey(s.hl.webhooks, cloneWebhook))
}

// The HighLevel tables of a state restore into a reset store in two steps,
// restoreHLContacts then restoreHLRecords, each adding to p what is wrong:
// an id used twice in its table, a contact of a location the state lacks,
// an email or phone used twice in a location that forbids duplicates, a
// record of a contact the state lacks, an appointment in another location
// than its contact's. A record with a problem is left out. Callers hold mu
// (or own the store alone).

// restoreHLContacts restores the locations and contacts of st, each contact
// as keep has it (cloneContact; ownContact when st's contacts are the
// store's to keep).
func (s *Store) restoreHLContacts(st State, keep func(Contact) Contact, p *problems) {
	for i, l := range st.Locations {
		if _, dup := s.hl.locations[l.ID]; dup {
			p.add("locations", i, l.ID, "id", "is used twice")
			continue
		}
		if l.UnknownCustomFields != "" && !slices.Contains(UnknownFieldsPolicies, l.UnknownCustomFields) {
			p.add("locations", i, l.ID, "unknownCustomFields", "must be one of keep, drop, reject")
		}
		s.putLocation(l)
	}
	// In (dateAdded, id) order, each contact lands at the end of its group;
	// problems name a contact by its place as sent.
	order := addedOrder(st.Contacts)
	s.hl.contacts.reserve(len(st.Contacts), len(s.hl.locations))
	s.reserveIndexes(st.Contacts)
	for _, k := range order {
		i := k.i
		c := st.Contacts[i]
		loc, ok := s.hl.locations[c.LocationID]
		if !ok {
			p.add("contacts", i, c.ID, "locationId", "names no location of the state")
			continue
		}
		if _, _, dup := s.hl.contacts.get(c.ID); dup {
			p.add("contacts", i, c.ID, "id", "is used twice")
			continue
		}
		var dup *DuplicateError
		var invalid *InvalidError
		switch err := s.checkDuplicate(loc, &c, c.ID); {
		case errors.As(err, &dup):
			p.add("contacts", i, c.ID, dup.Field, "is used by contact "+dup.ContactID+" in a location that forbids duplicates")
			continue
		case errors.As(err, &invalid):
			p.add("contacts", i, c.ID, invalid.Field, invalid.Reason)
			continue
		}
		s.insertContact(loc, keep(c))
		s.lastStamp = maxTime(s.lastStamp, c.DateAdded, c.DateUpdated)
	}
}

// reserveIndexes makes the email and phone indexes of the locations, empty,
// with room for contacts, rather than grown value by value as they are
// added (at 100,000 contacts, a tenth of their restore went to growing
// them). Callers hold mu.
func (s *Store) reserveIndexes(contacts []Contact) {
	per := map[string]int{}
	for i := range contacts {
		per[contacts[i].LocationID]++
	}
	for id, n := range per {
		if x, ok := s.hl.emails[id]; ok && x.empty() && s.hl.phones[id].empty() {
			s.newIndexes(id, n)
		}
	}
}

// restoreHLRecords restores the other HighLevel tables of st, once its
// contacts are restored.
func (s *Store) restoreHLRecords(st State, p *problems) {
	// The contacts' records fill a table each, checked against the
	// contacts, which no longer change, and the appointments' notes against
	// the appointments: the tables restore at once, each with problems of
	// its own, listed after in the tables' order, as one after the other
	// would have. At 100,000 contacts with 400,000 tasks and notes this is
	// half of the restore.
	var tasks, notes, appointments problems
	var stamps [3]time.Time
	var wg sync.WaitGroup
	wg.Go(func() {
		stamps[0] = restoreRecords(s, &tasks, "tasks", &s.hl.tasks, st.Tasks, (*Task).created, nil)
	})
	wg.Go(func() {
		stamps[1] = restoreRecords(s, &notes, "notes", &s.hl.notes, st.Notes, (*Note).created, nil)
	})
	wg.Go(func() {
		stamps[2] = maxTime(
			restoreRecords(s, &appointments, "appointments", &s.hl.appointments, st.Appointments,
				func(a *Appointment) time.Time { return a.DateUpdated }, s.checkAppointmentPlace),
			restoreRecords(s, &appointments, "appointmentNotes", &s.hl.appointmentNotes, st.AppointmentNotes,
				(*AppointmentNote).created, nil))
	})
	wg.Wait()
	p.merge(&tasks)
	p.merge(&notes)
	p.merge(&appointments)
	s.lastStamp = maxTime(s.lastStamp, stamps[0], stamps[1], stamps[2])
	s.restoreWebhooks(st.Webhooks, p)
}

// checkAppointmentPlace names the field of a restored appointment that does
// not fit its contact: its location, when it is another. Callers hold mu.
func (s *Store) checkAppointmentPlace(a *Appointment) (field, reason string) {
	if loc, _ := s.ownerLocation(byContact, a.ContactID); a.LocationID != loc {
		return "locationId", "is not the location of contact " + a.ContactID
	}
	return "", ""
}

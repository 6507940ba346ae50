package store

import "time"

// The HighLevel records that belong to a contact: tasks, notes and
// appointments, each table grouped by contact in creation order.

// hlRecord is what the generic operations need of a record type.
type hlRecord[T any] interface {
	*T
	// key returns the record's id and contact.
	key() (id, contact string)
	// identify sets the record's id, contact and creation time.
	identify(id, contact string, at time.Time)
	// touched records an update at the given time.
	touched(at time.Time)
	// created is the record's creation time.
	created() time.Time
}

func (t *Task) key() (string, string) { return t.ID, t.ContactID }
func (t *Task) identify(id, contact string, at time.Time) {
	t.ID, t.ContactID, t.DateAdded = id, contact, at
}
func (t *Task) touched(time.Time)     {}
func (t *Task) created() time.Time    { return t.DateAdded }
func (n *Note) key() (string, string) { return n.ID, n.ContactID }
func (n *Note) identify(id, contact string, at time.Time) {
	n.ID, n.ContactID, n.DateAdded = id, contact, at
}
func (n *Note) touched(time.Time)            {}
func (n *Note) created() time.Time           { return n.DateAdded }
func (a *Appointment) key() (string, string) { return a.ID, a.ContactID }
func (a *Appointment) identify(id, contact string, at time.Time) {
	a.ID, a.ContactID, a.DateAdded, a.DateUpdated = id, contact, at, at
}
func (a *Appointment) touched(at time.Time) { a.DateUpdated = at }
func (a *Appointment) created() time.Time   { return a.DateAdded }

// location is the location of a stored contact. Callers hold mu.
func (s *Store) location(contact string) string {
	return s.hl.contacts.ref(contact).LocationID
}

func createRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], contact string, v T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hl.contacts.ref(contact) == nil {
		var zero T
		return zero, &NotFoundError{Kind: "Contact", ID: contact}
	}
	id := s.ids.New()
	P(&v).identify(id, contact, s.stamp())
	tbl.add(id, contact, v)
	if s.observed() {
		s.tell(Created, s.location(contact), nil, v)
	}
	return v, nil
}

func listRecords[T any](s *Store, tbl *table[string, string, T], contact string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.hl.contacts.ref(contact) == nil {
		return nil, &NotFoundError{Kind: "Contact", ID: contact}
	}
	return tbl.list(contact), nil
}

// lookup fails with the contact's NotFoundError when contact is named and
// missing, and with the record's when it is missing or, with contact named,
// another contact's. Callers hold the lock.
func lookup[T any](s *Store, tbl *table[string, string, T], kind, contact, id string) (T, error) {
	var zero T
	if contact != "" && s.hl.contacts.ref(contact) == nil {
		return zero, &NotFoundError{Kind: "Contact", ID: contact}
	}
	v, owner, ok := tbl.get(id)
	if !ok || (contact != "" && owner != contact) {
		return zero, &NotFoundError{Kind: kind, ID: id}
	}
	return v, nil
}

func getRecord[T any](s *Store, tbl *table[string, string, T], kind, contact, id string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s, tbl, kind, contact, id)
}

func updateRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], kind, contact, id string, fn func(*T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := lookup(s, tbl, kind, contact, id)
	if err != nil {
		return old, err
	}
	v := old
	if err := fn(&v); err != nil {
		var zero T
		return zero, err
	}
	_, owner, _ := tbl.get(id)
	P(&v).identify(id, owner, P(&old).created())
	P(&v).touched(s.stamp())
	tbl.set(id, v)
	if s.observed() {
		s.tell(Updated, s.location(owner), old, v)
	}
	return v, nil
}

func deleteRecord[T any](s *Store, tbl *table[string, string, T], kind, contact, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := lookup(s, tbl, kind, contact, id)
	if err != nil {
		return err
	}
	_, owner, _ := tbl.get(id)
	tbl.remove(id)
	if s.observed() {
		s.tell(Deleted, s.location(owner), v, nil)
	}
	return nil
}

// restoreRecords loads restored records into tbl, in the order given, each
// under the contact it names, adding to p a record whose id is used twice,
// whose contact the state lacks or that place (when not nil) finds at fault;
// stamp is the time the record was last written. Callers hold mu.
func restoreRecords[T any, P hlRecord[T]](s *Store, p *problems, table string, tbl *table[string, string, T], records []T,
	stamp func(P) time.Time, place func(P) (field, reason string)) {
	for i, v := range records {
		id, contact := P(&v).key()
		if s.hl.contacts.ref(contact) == nil {
			p.add(table, i, id, "contactId", "names no contact of the state")
			continue
		}
		if _, _, dup := tbl.get(id); dup {
			p.add(table, i, id, "id", "is used twice")
			continue
		}
		if place != nil {
			if field, reason := place(P(&v)); field != "" {
				p.add(table, i, id, field, reason)
				continue
			}
		}
		tbl.add(id, contact, v)
		s.lastStamp = maxTime(s.lastStamp, stamp(P(&v)))
	}
}

// CreateTask adds a task to a contact.
func (s *Store) CreateTask(contact string, t Task) (Task, error) {
	return createRecord(s, &s.hl.tasks, contact, t)
}

// Tasks lists a contact's tasks, oldest first.
func (s *Store) Tasks(contact string) ([]Task, error) { return listRecords(s, &s.hl.tasks, contact) }

// Task returns a task of a contact.
func (s *Store) Task(contact, id string) (Task, error) {
	return getRecord(s, &s.hl.tasks, "Task", contact, id)
}

// UpdateTask applies fn to a copy of a task and stores it.
func (s *Store) UpdateTask(contact, id string, fn func(*Task) error) (Task, error) {
	return updateRecord(s, &s.hl.tasks, "Task", contact, id, fn)
}

// DeleteTask removes a task.
func (s *Store) DeleteTask(contact, id string) error {
	return deleteRecord(s, &s.hl.tasks, "Task", contact, id)
}

// CreateNote adds a note to a contact.
func (s *Store) CreateNote(contact string, n Note) (Note, error) {
	return createRecord(s, &s.hl.notes, contact, n)
}

// Notes lists a contact's notes, oldest first.
func (s *Store) Notes(contact string) ([]Note, error) { return listRecords(s, &s.hl.notes, contact) }

// Note returns a note of a contact.
func (s *Store) Note(contact, id string) (Note, error) {
	return getRecord(s, &s.hl.notes, "Note", contact, id)
}

// UpdateNote applies fn to a copy of a note and stores it.
func (s *Store) UpdateNote(contact, id string, fn func(*Note) error) (Note, error) {
	return updateRecord(s, &s.hl.notes, "Note", contact, id, fn)
}

// DeleteNote removes a note.
func (s *Store) DeleteNote(contact, id string) error {
	return deleteRecord(s, &s.hl.notes, "Note", contact, id)
}

// CreateAppointment books an appointment for a contact.
func (s *Store) CreateAppointment(contact string, a Appointment) (Appointment, error) {
	return createRecord(s, &s.hl.appointments, contact, a)
}

// Appointments lists a contact's appointments, in booking order.
func (s *Store) Appointments(contact string) ([]Appointment, error) {
	return listRecords(s, &s.hl.appointments, contact)
}

// Appointment returns an appointment by id, whatever its contact.
func (s *Store) Appointment(id string) (Appointment, error) {
	return getRecord(s, &s.hl.appointments, "Appointment", "", id)
}

// UpdateAppointment applies fn to a copy of an appointment and stores it.
func (s *Store) UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error) {
	return updateRecord(s, &s.hl.appointments, "Appointment", "", id, fn)
}

// DeleteAppointment removes an appointment, whatever its contact.
func (s *Store) DeleteAppointment(id string) error {
	return deleteRecord(s, &s.hl.appointments, "Appointment", "", id)
}

// LocationAppointments returns the appointments of a location's contacts for
// which keep is true (all when keep is nil), contact by contact.
func (s *Store) LocationAppointments(location string, keep func(Appointment) bool) []Appointment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Appointment
	for _, contact := range s.hl.contacts.keysOf(location) {
		out = append(out, s.hl.appointments.selectIn(contact, keep)...)
	}
	return out
}

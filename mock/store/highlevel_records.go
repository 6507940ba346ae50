package store

import (
	"strings"
	"time"
)

// The HighLevel records that belong to a contact (tasks, notes and
// appointments) or to an appointment (its notes), each table grouped by its
// owner in creation order.

// owner is the kind of record that owns a table's groups.
type owner int

const (
	byContact     owner = iota // tasks, notes and appointments
	byAppointment              // appointment notes
)

// kind names the owner in its NotFoundError.
func (o owner) kind() string {
	if o == byAppointment {
		return "Appointment"
	}
	return "Contact"
}

// storedOwner returns the stored owner with id: its id as the store keeps
// it (one string for all its records) and its location; false when there
// is none. Callers hold mu.
func (s *Store) storedOwner(o owner, id string) (stored, location string, ok bool) {
	if o == byAppointment {
		if ap := s.hl.appointments.ref(id); ap != nil {
			return ap.ID, ap.LocationID, true
		}
		return "", "", false
	}
	if c := s.hl.contacts.ref(id); c != nil {
		return c.ID, c.LocationID, true
	}
	return "", "", false
}

// ownerLocation returns the location of the owner with id; false when there
// is none. Callers hold mu.
func (s *Store) ownerLocation(o owner, id string) (string, bool) {
	_, loc, ok := s.storedOwner(o, id)
	return loc, ok
}

// hlRecord is what the generic operations need of a record type.
type hlRecord[T any] interface {
	*T
	// owner is the kind of record that owns the record.
	owner() owner
	// key returns the record's id and owner's id.
	key() (id, owner string)
	// identify sets the record's id, owner's id and creation time.
	identify(id, owner string, at time.Time)
	// touched records an update at the given time.
	touched(at time.Time)
	// created is the record's creation time.
	created() time.Time
	// touchesOwner tells that a change of the record is a change of its
	// owner too: a task's or a note's bumps its contact's dateUpdated.
	touchesOwner() bool
	// reown sets the record's owner's id: a restore makes it the stored
	// owner's, one string for all the owner's records.
	reown(owner string)
}

func (t *Task) reown(contact string)                { t.ContactID = contact }
func (n *Note) reown(contact string)                { n.ContactID = contact }
func (a *Appointment) reown(contact string)         { a.ContactID = contact }
func (n *AppointmentNote) reown(appointment string) { n.AppointmentID = appointment }

func (*Task) touchesOwner() bool            { return true }
func (*Note) touchesOwner() bool            { return true }
func (*Appointment) touchesOwner() bool     { return false }
func (*AppointmentNote) touchesOwner() bool { return false }

// touchOwner bumps the dateUpdated of the contact that owns a record whose
// change touches it (see hlRecord.touchesOwner), as of at, with no webhook:
// the twin's choice, which lets a poll of the contacts by dateUpdated find
// the contacts whose tasks or notes changed (openapi/highlevel.yaml, POST
// /contacts/search). Callers hold mu.
func touchOwner[T any, P hlRecord[T]](s *Store, owner string, at time.Time) {
	if !P(nil).touchesOwner() {
		return
	}
	if c := s.hl.contacts.ref(owner); c != nil {
		c.DateUpdated = at
		s.renewMemo(c)
	}
}

func (*Task) owner() owner            { return byContact }
func (*Note) owner() owner            { return byContact }
func (*Appointment) owner() owner     { return byContact }
func (*AppointmentNote) owner() owner { return byAppointment }
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
func (n *AppointmentNote) key() (string, string) {
	return n.ID, n.AppointmentID
}
func (n *AppointmentNote) identify(id, appointment string, at time.Time) {
	n.ID, n.AppointmentID, n.DateAdded = id, appointment, at
}
func (n *AppointmentNote) touched(time.Time)  {}
func (n *AppointmentNote) created() time.Time { return n.DateAdded }

// ownerOf is a record's owner's id, its group in its table.
func ownerOf[T any, P hlRecord[T]](v P) string {
	_, owner := v.key()
	return owner
}

// location is the location of a stored record's owner. Callers hold mu.
func location[T any, P hlRecord[T]](s *Store, owner string) string {
	loc, _ := s.ownerLocation(P(nil).owner(), owner)
	return loc
}

// missingOwner is the owner's NotFoundError when it is not stored, else
// nil. Callers hold mu.
func missingOwner[T any, P hlRecord[T]](s *Store, owner string) error {
	o := P(nil).owner()
	if _, ok := s.ownerLocation(o, owner); !ok {
		return &NotFoundError{Kind: o.kind(), ID: owner}
	}
	return nil
}

func createRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], owner string, v T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := missingOwner[T, P](s, owner); err != nil {
		var zero T
		return zero, err
	}
	id := s.ids.New()
	at := s.stamp()
	P(&v).identify(id, owner, at)
	tbl.add(id, owner, v)
	touchOwner[T, P](s, owner, at)
	if s.observed() {
		s.tell(Created, location[T, P](s, owner), nil, v)
	}
	return v, nil
}

func listRecords[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], owner string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := missingOwner[T, P](s, owner); err != nil {
		return nil, err
	}
	return tbl.list(owner), nil
}

// lookup fails with the owner's NotFoundError when owner is named and
// missing, and with the record's when it is missing or, with owner named,
// another owner's. Callers hold the lock.
func lookup[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], kind, owner, id string) (T, error) {
	var zero T
	if owner != "" {
		if err := missingOwner[T, P](s, owner); err != nil {
			return zero, err
		}
	}
	v, group, ok := tbl.get(id)
	if !ok || (owner != "" && group != owner) {
		return zero, &NotFoundError{Kind: kind, ID: id}
	}
	return v, nil
}

func getRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], kind, owner, id string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup[T, P](s, tbl, kind, owner, id)
}

func updateRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], kind, owner, id string, fn func(*T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := lookup[T, P](s, tbl, kind, owner, id)
	if err != nil {
		return old, err
	}
	v := old
	if err := fn(&v); err != nil {
		var zero T
		return zero, err
	}
	_, group, _ := tbl.get(id)
	P(&v).identify(id, group, P(&old).created())
	at := s.stamp()
	P(&v).touched(at)
	tbl.set(id, v)
	touchOwner[T, P](s, group, at)
	if s.observed() {
		s.tell(Updated, location[T, P](s, group), old, v)
	}
	return v, nil
}

// deleteRecord removes a record; also, when not nil, runs under the lock
// after the removal, with the record's id (to remove what the record owns).
func deleteRecord[T any, P hlRecord[T]](s *Store, tbl *table[string, string, T], kind, owner, id string, also func(id string)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := lookup[T, P](s, tbl, kind, owner, id)
	if err != nil {
		return err
	}
	_, group, _ := tbl.get(id)
	tbl.remove(id)
	if P(nil).touchesOwner() {
		touchOwner[T, P](s, group, s.stamp())
	}
	if also != nil {
		also(id)
	}
	if s.observed() {
		s.tell(Deleted, location[T, P](s, group), v, nil)
	}
	return nil
}

// restoreRecords loads restored records into tbl, in the order given, each
// under the owner it names, adding to p a record whose id is used twice,
// whose owner the state lacks or that place (when not nil) finds at fault;
// stamp is the time the record was last written; it returns the latest
// stamp of the records it stored. It reads the store's tables but tbl, and
// writes tbl alone. Callers hold mu.
func restoreRecords[T any, P hlRecord[T]](s *Store, p *problems, table string, tbl *table[string, string, T], records []T,
	stamp func(P) time.Time, place func(P) (field, reason string)) (latest time.Time) {
	owners := s.hl.contacts.size()
	if P(nil).owner() == byAppointment {
		owners = s.hl.appointments.size()
	}
	tbl.reserve(len(records), owners)
	for i, v := range records {
		id, owner := P(&v).key()
		owner, _, ok := s.storedOwner(P(nil).owner(), owner)
		if !ok {
			o := P(nil).owner()
			field := strings.ToLower(o.kind()[:1]) + o.kind()[1:] + "Id"
			p.add(table, i, id, field, "names no "+strings.ToLower(o.kind())+" of the state")
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
		P(&v).reown(owner)
		tbl.add(id, owner, v)
		latest = maxTime(latest, stamp(P(&v)))
	}
	return latest
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
	return deleteRecord(s, &s.hl.tasks, "Task", contact, id, nil)
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
	return deleteRecord(s, &s.hl.notes, "Note", contact, id, nil)
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

// DeleteAppointment removes an appointment, whatever its contact, with its
// notes.
func (s *Store) DeleteAppointment(id string) error {
	return deleteRecord(s, &s.hl.appointments, "Appointment", "", id, s.hl.appointmentNotes.removeGroup)
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

// CreateAppointmentNote adds a note to an appointment; it names the
// appointment's contact.
func (s *Store) CreateAppointmentNote(appointment string, n AppointmentNote) (AppointmentNote, error) {
	s.mu.RLock()
	if ap := s.hl.appointments.ref(appointment); ap != nil {
		n.ContactID = ap.ContactID
	}
	s.mu.RUnlock()
	return createRecord(s, &s.hl.appointmentNotes, appointment, n)
}

// AppointmentNotes lists an appointment's notes, oldest first.
func (s *Store) AppointmentNotes(appointment string) ([]AppointmentNote, error) {
	return listRecords(s, &s.hl.appointmentNotes, appointment)
}

// UpdateAppointmentNote applies fn to a copy of a note of an appointment and
// stores it.
func (s *Store) UpdateAppointmentNote(appointment, id string, fn func(*AppointmentNote) error) (AppointmentNote, error) {
	return updateRecord(s, &s.hl.appointmentNotes, "Note", appointment, id, fn)
}

// DeleteAppointmentNote removes a note of an appointment.
func (s *Store) DeleteAppointmentNote(appointment, id string) error {
	return deleteRecord(s, &s.hl.appointmentNotes, "Note", appointment, id, nil)
}

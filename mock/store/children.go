package store

import (
	"slices"
	"time"
)

// children is a table of records that belong to a contact: tasks, notes,
// appointments. Its callers hold the store's lock.
type children[T any] struct {
	byID      map[string]T
	contactOf map[string]string
	byContact map[string][]string // ids in creation order
	seq       map[string]uint64
	next      uint64
}

func newChildren[T any]() children[T] { return newChildrenSized[T](0) }

// newChildrenSized makes a table ready for n records without regrowing.
func newChildrenSized[T any](n int) children[T] {
	return children[T]{byID: make(map[string]T, n), contactOf: make(map[string]string, n),
		byContact: map[string][]string{}, seq: make(map[string]uint64, n)}
}

func (c *children[T]) add(contact, id string, v T) {
	c.byID[id] = v
	c.contactOf[id] = contact
	c.byContact[contact] = append(c.byContact[contact], id)
	c.next++
	c.seq[id] = c.next
}

// owned tells whether id exists and belongs to contact ("" for any contact).
func (c *children[T]) owned(contact, id string) bool {
	owner, ok := c.contactOf[id]
	return ok && (contact == "" || owner == contact)
}

func (c *children[T]) list(contact string) []T {
	ids := c.byContact[contact]
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		out = append(out, c.byID[id])
	}
	return out
}

func (c *children[T]) remove(id string) {
	contact := c.contactOf[id]
	delete(c.byID, id)
	delete(c.contactOf, id)
	delete(c.seq, id)
	ids := slices.DeleteFunc(c.byContact[contact], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(c.byContact, contact)
	} else {
		c.byContact[contact] = ids
	}
}

func (c *children[T]) removeContact(contact string) {
	for _, id := range c.byContact[contact] {
		delete(c.byID, id)
		delete(c.contactOf, id)
		delete(c.seq, id)
	}
	delete(c.byContact, contact)
}

func (c *children[T]) all() []T {
	ids := c.ids()
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		out = append(out, c.byID[id])
	}
	return out
}

// ids lists the records' ids in creation order.
func (c *children[T]) ids() []string {
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(c.seq[a]) - int(c.seq[b]) })
	return ids
}

// child is what the generic operations need of a record type.
type child[T any] interface {
	*T
	// identify sets the record's id, contact and creation time.
	identify(id, contact string, at time.Time)
	// touched records an update at the given time.
	touched(at time.Time)
	// created is the record's creation time.
	created() time.Time
}

func (t *Task) identify(id, contact string, at time.Time) {
	t.ID, t.ContactID, t.DateAdded = id, contact, at
}
func (t *Task) touched(time.Time)  {}
func (t *Task) created() time.Time { return t.DateAdded }
func (n *Note) identify(id, contact string, at time.Time) {
	n.ID, n.ContactID, n.DateAdded = id, contact, at
}
func (n *Note) touched(time.Time)  {}
func (n *Note) created() time.Time { return n.DateAdded }
func (a *Appointment) identify(id, contact string, at time.Time) {
	a.ID, a.ContactID, a.DateAdded, a.DateUpdated = id, contact, at, at
}
func (a *Appointment) touched(at time.Time) { a.DateUpdated = at }
func (a *Appointment) created() time.Time   { return a.DateAdded }

func createChild[T any, P child[T]](s *Store, tbl *children[T], contact string, v T) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.contacts[contact]; !ok {
		var zero T
		return zero, &NotFoundError{Kind: "Contact", ID: contact}
	}
	id := s.ids.New()
	P(&v).identify(id, contact, s.stamp())
	tbl.add(contact, id, v)
	if s.observed() {
		s.tell(Created, s.contacts[contact].LocationID, nil, v)
	}
	return v, nil
}

func listChildren[T any](s *Store, tbl *children[T], contact string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.contacts[contact]; !ok {
		return nil, &NotFoundError{Kind: "Contact", ID: contact}
	}
	return tbl.list(contact), nil
}

// lookup fails with the contact's NotFoundError when contact is named and
// missing, and with the record's otherwise. Callers hold the lock.
func lookup[T any](s *Store, tbl *children[T], kind, contact, id string) (T, error) {
	var zero T
	if _, ok := s.contacts[contact]; contact != "" && !ok {
		return zero, &NotFoundError{Kind: "Contact", ID: contact}
	}
	if !tbl.owned(contact, id) {
		return zero, &NotFoundError{Kind: kind, ID: id}
	}
	return tbl.byID[id], nil
}

func getChild[T any](s *Store, tbl *children[T], kind, contact, id string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s, tbl, kind, contact, id)
}

func updateChild[T any, P child[T]](s *Store, tbl *children[T], kind, contact, id string, fn func(*T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := lookup(s, tbl, kind, contact, id)
	if err != nil {
		return v, err
	}
	if err := fn(&v); err != nil {
		var zero T
		return zero, err
	}
	old := tbl.byID[id]
	owner := tbl.contactOf[id]
	P(&v).identify(id, owner, P(&old).created())
	P(&v).touched(s.stamp())
	tbl.byID[id] = v
	if s.observed() {
		s.tell(Updated, s.contacts[owner].LocationID, old, v)
	}
	return v, nil
}

func deleteChild[T any](s *Store, tbl *children[T], kind, contact, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := lookup(s, tbl, kind, contact, id)
	if err != nil {
		return err
	}
	owner := tbl.contactOf[id]
	tbl.remove(id)
	if s.observed() {
		s.tell(Deleted, s.contacts[owner].LocationID, v, nil)
	}
	return nil
}

// CreateTask adds a task to a contact.
func (s *Store) CreateTask(contact string, t Task) (Task, error) {
	return createChild(s, &s.tasks, contact, t)
}

// Tasks lists a contact's tasks, oldest first.
func (s *Store) Tasks(contact string) ([]Task, error) { return listChildren(s, &s.tasks, contact) }

// Task returns a task of a contact.
func (s *Store) Task(contact, id string) (Task, error) {
	return getChild(s, &s.tasks, "Task", contact, id)
}

// UpdateTask applies fn to a copy of a task and stores it.
func (s *Store) UpdateTask(contact, id string, fn func(*Task) error) (Task, error) {
	return updateChild(s, &s.tasks, "Task", contact, id, fn)
}

// DeleteTask removes a task.
func (s *Store) DeleteTask(contact, id string) error {
	return deleteChild(s, &s.tasks, "Task", contact, id)
}

// CreateNote adds a note to a contact.
func (s *Store) CreateNote(contact string, n Note) (Note, error) {
	return createChild(s, &s.notes, contact, n)
}

// Notes lists a contact's notes, oldest first.
func (s *Store) Notes(contact string) ([]Note, error) { return listChildren(s, &s.notes, contact) }

// Note returns a note of a contact.
func (s *Store) Note(contact, id string) (Note, error) {
	return getChild(s, &s.notes, "Note", contact, id)
}

// UpdateNote applies fn to a copy of a note and stores it.
func (s *Store) UpdateNote(contact, id string, fn func(*Note) error) (Note, error) {
	return updateChild(s, &s.notes, "Note", contact, id, fn)
}

// DeleteNote removes a note.
func (s *Store) DeleteNote(contact, id string) error {
	return deleteChild(s, &s.notes, "Note", contact, id)
}

// CreateAppointment books an appointment for a contact.
func (s *Store) CreateAppointment(contact string, a Appointment) (Appointment, error) {
	return createChild(s, &s.appointments, contact, a)
}

// Appointments lists a contact's appointments, in booking order.
func (s *Store) Appointments(contact string) ([]Appointment, error) {
	return listChildren(s, &s.appointments, contact)
}

// Appointment returns an appointment by id, whatever its contact.
func (s *Store) Appointment(id string) (Appointment, error) {
	return getChild(s, &s.appointments, "Appointment", "", id)
}

// UpdateAppointment applies fn to a copy of an appointment and stores it.
func (s *Store) UpdateAppointment(id string, fn func(*Appointment) error) (Appointment, error) {
	return updateChild(s, &s.appointments, "Appointment", "", id, fn)
}

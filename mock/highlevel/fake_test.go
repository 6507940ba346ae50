package highlevel

import "github.com/contactbridge/contactbridge/mock/store"

// FakeStore is a Store whose methods call its function fields; a test sets
// those it expects to be called (calling another one panics).
type FakeStore struct {
	LocationFn      func(id string) (store.Location, error)
	CreateContactFn func(c store.Contact) (store.Contact, error)
	ContactFn       func(id string) (store.Contact, error)
	UpdateContactFn func(id string, fn func(*store.Contact) error) (store.Contact, error)
	UpsertContactFn func(location, email, phone string, createNew bool, fn func(*store.Contact) error) (store.Contact, bool, error)
	DeleteContactFn func(id string) error
	FindDuplicateFn func(location, email, phone string) (store.Contact, bool)
	ContactsPageFn  func(location string, after *store.Cursor, limit int, match func(*store.Contact) bool) store.Page
	ScanContactsFn  func(location string, fn func(*store.Contact) bool)

	CreateTaskFn func(contact string, t store.Task) (store.Task, error)
	TasksFn      func(contact string) ([]store.Task, error)
	TaskFn       func(contact, id string) (store.Task, error)
	UpdateTaskFn func(contact, id string, fn func(*store.Task) error) (store.Task, error)
	DeleteTaskFn func(contact, id string) error

	CreateNoteFn func(contact string, n store.Note) (store.Note, error)
	NotesFn      func(contact string) ([]store.Note, error)
	NoteFn       func(contact, id string) (store.Note, error)
	UpdateNoteFn func(contact, id string, fn func(*store.Note) error) (store.Note, error)
	DeleteNoteFn func(contact, id string) error

	CreateAppointmentFn func(contact string, a store.Appointment) (store.Appointment, error)
	AppointmentsFn      func(contact string) ([]store.Appointment, error)
	AppointmentFn       func(id string) (store.Appointment, error)
	UpdateAppointmentFn func(id string, fn func(*store.Appointment) error) (store.Appointment, error)
	DeleteAppointmentFn func(id string) error

	LocationAppointmentsFn func(location string, keep func(store.Appointment) bool) []store.Appointment

	CreateAppointmentNoteFn func(appointment string, n store.AppointmentNote) (store.AppointmentNote, error)
	AppointmentNotesFn      func(appointment string) ([]store.AppointmentNote, error)
	UpdateAppointmentNoteFn func(appointment, id string, fn func(*store.AppointmentNote) error) (store.AppointmentNote, error)
	DeleteAppointmentNoteFn func(appointment, id string) error

	CustomFieldDefsFn      func(location string) ([]store.CustomFieldDef, error)
	CreateCustomFieldDefFn func(location string, d store.CustomFieldDef) (store.CustomFieldDef, error)
	CustomFieldDefFn       func(location, id string) (store.CustomFieldDef, error)
	UpdateCustomFieldDefFn func(location, id string, fn func(*store.CustomFieldDef) error) (store.CustomFieldDef, error)
	DeleteCustomFieldDefFn func(location, id string) error

	LocationTagsFn      func(location string) ([]store.LocationTag, error)
	CreateLocationTagFn func(location string, t store.LocationTag) (store.LocationTag, error)
	LocationTagFn       func(location, id string) (store.LocationTag, error)
	UpdateLocationTagFn func(location, id string, fn func(*store.LocationTag) error) (store.LocationTag, error)
	DeleteLocationTagFn func(location, id string) error
}

var _ Store = (*FakeStore)(nil)

func (f *FakeStore) LocationShared(id string) (store.Location, error) { return f.LocationFn(id) }
func (f *FakeStore) CreateContact(c store.Contact) (store.Contact, error) {
	return f.CreateContactFn(c)
}
func (f *FakeStore) Contact(id string) (store.Contact, error) { return f.ContactFn(id) }
func (f *FakeStore) ContactFunc(id string, fn func(*store.Contact, *store.Memo)) error {
	c, err := f.ContactFn(id)
	if err == nil {
		fn(&c, nil)
	}
	return err
}
func (f *FakeStore) UpdateContact(id string, fn func(*store.Contact) error) (store.Contact, error) {
	return f.UpdateContactFn(id, fn)
}
func (f *FakeStore) UpsertContact(location, email, phone string, createNew bool, fn func(*store.Contact) error) (store.Contact, bool, error) {
	return f.UpsertContactFn(location, email, phone, createNew, fn)
}
func (f *FakeStore) DeleteContact(id string) error { return f.DeleteContactFn(id) }
func (f *FakeStore) FindDuplicate(location, email, phone string) (store.Contact, bool) {
	return f.FindDuplicateFn(location, email, phone)
}
func (f *FakeStore) ContactsPageFunc(location string, after *store.Cursor, limit int, match func(*store.Contact) bool, fn func(*store.Contact, *store.Memo)) store.Page {
	p := f.ContactsPageFn(location, after, limit, match)
	for i := range p.Contacts {
		c := &p.Contacts[i]
		fn(c, nil)
		p.Last = store.Cursor{DateAdded: c.DateAdded, ID: c.ID}
	}
	p.Contacts = nil
	return p
}
func (f *FakeStore) ScanContacts(location string, fn func(*store.Contact) bool) {
	f.ScanContactsFn(location, fn)
}

func (f *FakeStore) CreateTask(contact string, t store.Task) (store.Task, error) {
	return f.CreateTaskFn(contact, t)
}
func (f *FakeStore) Tasks(contact string) ([]store.Task, error)       { return f.TasksFn(contact) }
func (f *FakeStore) Task(contact, id string) (store.Task, error)      { return f.TaskFn(contact, id) }
func (f *FakeStore) DeleteTask(contact, id string) error              { return f.DeleteTaskFn(contact, id) }
func (f *FakeStore) Notes(contact string) ([]store.Note, error)       { return f.NotesFn(contact) }
func (f *FakeStore) Note(contact, id string) (store.Note, error)      { return f.NoteFn(contact, id) }
func (f *FakeStore) DeleteNote(contact, id string) error              { return f.DeleteNoteFn(contact, id) }
func (f *FakeStore) Appointment(id string) (store.Appointment, error) { return f.AppointmentFn(id) }
func (f *FakeStore) UpdateTask(contact, id string, fn func(*store.Task) error) (store.Task, error) {
	return f.UpdateTaskFn(contact, id, fn)
}
func (f *FakeStore) CreateNote(contact string, n store.Note) (store.Note, error) {
	return f.CreateNoteFn(contact, n)
}
func (f *FakeStore) UpdateNote(contact, id string, fn func(*store.Note) error) (store.Note, error) {
	return f.UpdateNoteFn(contact, id, fn)
}
func (f *FakeStore) CreateAppointment(contact string, a store.Appointment) (store.Appointment, error) {
	return f.CreateAppointmentFn(contact, a)
}
func (f *FakeStore) Appointments(contact string) ([]store.Appointment, error) {
	return f.AppointmentsFn(contact)
}
func (f *FakeStore) UpdateAppointment(id string, fn func(*store.Appointment) error) (store.Appointment, error) {
	return f.UpdateAppointmentFn(id, fn)
}
func (f *FakeStore) DeleteAppointment(id string) error { return f.DeleteAppointmentFn(id) }
func (f *FakeStore) LocationAppointments(location string, keep func(store.Appointment) bool) []store.Appointment {
	return f.LocationAppointmentsFn(location, keep)
}
func (f *FakeStore) CreateAppointmentNote(appointment string, n store.AppointmentNote) (store.AppointmentNote, error) {
	return f.CreateAppointmentNoteFn(appointment, n)
}
func (f *FakeStore) AppointmentNotes(appointment string) ([]store.AppointmentNote, error) {
	return f.AppointmentNotesFn(appointment)
}
func (f *FakeStore) UpdateAppointmentNote(appointment, id string, fn func(*store.AppointmentNote) error) (store.AppointmentNote, error) {
	return f.UpdateAppointmentNoteFn(appointment, id, fn)
}
func (f *FakeStore) DeleteAppointmentNote(appointment, id string) error {
	return f.DeleteAppointmentNoteFn(appointment, id)
}
func (f *FakeStore) CustomFieldDefs(location string) ([]store.CustomFieldDef, error) {
	return f.CustomFieldDefsFn(location)
}
func (f *FakeStore) CreateCustomFieldDef(location string, d store.CustomFieldDef) (store.CustomFieldDef, error) {
	return f.CreateCustomFieldDefFn(location, d)
}
func (f *FakeStore) CustomFieldDef(location, id string) (store.CustomFieldDef, error) {
	return f.CustomFieldDefFn(location, id)
}
func (f *FakeStore) UpdateCustomFieldDef(location, id string, fn func(*store.CustomFieldDef) error) (store.CustomFieldDef, error) {
	return f.UpdateCustomFieldDefFn(location, id, fn)
}
func (f *FakeStore) DeleteCustomFieldDef(location, id string) error {
	return f.DeleteCustomFieldDefFn(location, id)
}
func (f *FakeStore) LocationTags(location string) ([]store.LocationTag, error) {
	return f.LocationTagsFn(location)
}
func (f *FakeStore) CreateLocationTag(location string, t store.LocationTag) (store.LocationTag, error) {
	return f.CreateLocationTagFn(location, t)
}
func (f *FakeStore) LocationTag(location, id string) (store.LocationTag, error) {
	return f.LocationTagFn(location, id)
}
func (f *FakeStore) UpdateLocationTag(location, id string, fn func(*store.LocationTag) error) (store.LocationTag, error) {
	return f.UpdateLocationTagFn(location, id, fn)
}
func (f *FakeStore) DeleteLocationTag(location, id string) error {
	return f.DeleteLocationTagFn(location, id)
}

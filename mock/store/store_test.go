package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const loc = "LOC00000000000000001"

// newStore returns a store on a manual clock stopped at t0, with one location
// that forbids duplicates.
func newStore(t testing.TB, seed uint64) (*store.Store, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	s := store.New(clk, store.NewIDs(seed))
	s.PutLocation(store.Location{ID: loc, Name: "Test", DuplicateOrder: []string{"email", "phone"}})
	return s, clk
}

func mustCreate(t testing.TB, s *store.Store, c store.Contact) store.Contact {
	t.Helper()
	if c.LocationID == "" {
		c.LocationID = loc
	}
	got, err := s.CreateContact(c)
	if err != nil {
		t.Fatalf("CreateContact(%+v): %v", c, err)
	}
	return got
}

// wantNotFound checks that err is a *NotFoundError of kind.
func wantNotFound(t *testing.T, err error, kind string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("error %v is not ErrNotFound", err)
	}
	var nf *store.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("error %T is not a *NotFoundError", err)
	}
	if nf.Kind != kind {
		t.Errorf("NotFoundError.Kind = %q, want %q (%v)", nf.Kind, kind, err)
	}
	if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid) {
		t.Errorf("not-found error %v also matches another sentinel", err)
	}
}

func TestContactCRUD(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *store.Store, clk *clock.Manual)
	}{
		{"create sets id and dates", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			c := mustCreate(t, s, store.Contact{ID: "ignored", FirstName: "Ada", Email: "ada@example.com", Tags: []string{"a"}})
			if c.ID == "ignored" || len(c.ID) != 20 {
				t.Errorf("ID = %q, want a new 20-character id", c.ID)
			}
			if !c.DateAdded.Equal(t0) || !c.DateUpdated.Equal(t0) {
				t.Errorf("dates = %v / %v, want %v", c.DateAdded, c.DateUpdated, t0)
			}
			got, err := s.Contact(c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("Contact = %+v, want %+v", got, c)
			}
		}},
		{"create normalises nil slices", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			c := mustCreate(t, s, store.Contact{FirstName: "Nil"})
			if c.Tags == nil || c.CustomFields == nil {
				t.Errorf("Tags=%#v CustomFields=%#v, want empty non-nil slices", c.Tags, c.CustomFields)
			}
		}},
		{"create in a missing location", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			_, err := s.CreateContact(store.Contact{LocationID: "nope"})
			wantNotFound(t, err, "Location")
		}},
		{"update keeps identity and advances DateUpdated", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			c := mustCreate(t, s, store.Contact{FirstName: "Ada", Email: "ada@example.com"})
			clk.Advance(time.Hour)
			up, err := s.UpdateContact(c.ID, func(n *store.Contact) error {
				n.FirstName = "Grace"
				n.ID, n.LocationID, n.DateAdded = "hijack", "other", time.Time{}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if up.FirstName != "Grace" || up.ID != c.ID || up.LocationID != loc || !up.DateAdded.Equal(c.DateAdded) {
				t.Errorf("updated = %+v", up)
			}
			if !up.DateUpdated.Equal(t0.Add(time.Hour)) {
				t.Errorf("DateUpdated = %v, want %v", up.DateUpdated, t0.Add(time.Hour))
			}
			got, _ := s.Contact(c.ID)
			if !reflect.DeepEqual(got, up) {
				t.Errorf("stored %+v, returned %+v", got, up)
			}
		}},
		{"update error changes nothing", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			c := mustCreate(t, s, store.Contact{FirstName: "Ada", Tags: []string{"x"}})
			boom := errors.New("boom")
			_, err := s.UpdateContact(c.ID, func(n *store.Contact) error {
				n.FirstName = "changed"
				n.Tags[0] = "changed"
				return boom
			})
			if err != boom {
				t.Fatalf("err = %v, want fn's error as is", err)
			}
			got, _ := s.Contact(c.ID)
			if !reflect.DeepEqual(got, c) {
				t.Errorf("after failed update %+v, want %+v", got, c)
			}
		}},
		{"update a missing contact", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			_, err := s.UpdateContact("missing", func(*store.Contact) error { return nil })
			wantNotFound(t, err, "Contact")
		}},
		{"get a missing contact", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			_, err := s.Contact("missing")
			wantNotFound(t, err, "Contact")
		}},
		{"delete then get", func(t *testing.T, s *store.Store, clk *clock.Manual) {
			c := mustCreate(t, s, store.Contact{Email: "ada@example.com"})
			if err := s.DeleteContact(c.ID); err != nil {
				t.Fatal(err)
			}
			_, err := s.Contact(c.ID)
			wantNotFound(t, err, "Contact")
			wantNotFound(t, s.DeleteContact(c.ID), "Contact")
			if n := s.CountContacts(loc); n != 0 {
				t.Errorf("CountContacts = %d after delete", n)
			}
			// The email is free again.
			mustCreate(t, s, store.Contact{Email: "ada@example.com"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newStore(t, 1)
			tc.run(t, s, clk)
		})
	}
}

func TestChildrenCRUD(t *testing.T) {
	s, clk := newStore(t, 1)
	c := mustCreate(t, s, store.Contact{FirstName: "Ada"})
	cal := "CAL00000000000000001"

	task, err := s.CreateTask(c.ID, store.Task{ID: "ignored", ContactID: "ignored", Title: "call"})
	if err != nil {
		t.Fatal(err)
	}
	if task.ID == "ignored" || task.ContactID != c.ID || !task.DateAdded.After(c.DateAdded) {
		t.Errorf("task = %+v", task)
	}
	clk.Advance(time.Minute)
	task2, _ := s.CreateTask(c.ID, store.Task{Title: "second"})
	tasks, err := s.Tasks(c.ID)
	if err != nil || !reflect.DeepEqual(tasks, []store.Task{task, task2}) {
		t.Errorf("Tasks = %+v, %v; want oldest first", tasks, err)
	}
	up, err := s.UpdateTask(c.ID, task.ID, func(t *store.Task) error {
		t.Completed = true
		t.ID, t.ContactID = "x", "y"
		return nil
	})
	if err != nil || !up.Completed || up.ID != task.ID || up.ContactID != c.ID || !up.DateAdded.Equal(task.DateAdded) {
		t.Errorf("UpdateTask = %+v, %v", up, err)
	}
	if got, _ := s.Task(c.ID, task.ID); !reflect.DeepEqual(got, up) {
		t.Errorf("Task = %+v, want %+v", got, up)
	}
	if err := s.DeleteTask(c.ID, task.ID); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := s.Tasks(c.ID); !reflect.DeepEqual(tasks, []store.Task{task2}) {
		t.Errorf("Tasks after delete = %+v", tasks)
	}

	note, err := s.CreateNote(c.ID, store.Note{Body: "hello"})
	if err != nil || note.ContactID != c.ID {
		t.Fatalf("CreateNote = %+v, %v", note, err)
	}
	if n, err := s.UpdateNote(c.ID, note.ID, func(n *store.Note) error { n.Body = "bye"; return nil }); err != nil || n.Body != "bye" {
		t.Errorf("UpdateNote = %+v, %v", n, err)
	}
	if err := s.DeleteNote(c.ID, note.ID); err != nil {
		t.Fatal(err)
	}

	clk.Advance(time.Minute)
	ap, err := s.CreateAppointment(c.ID, store.Appointment{LocationID: loc, CalendarID: cal, Title: "demo"})
	if err != nil || ap.ContactID != c.ID || !ap.DateAdded.Equal(ap.DateUpdated) {
		t.Fatalf("CreateAppointment = %+v, %v", ap, err)
	}
	clk.Advance(time.Minute)
	ap2, err := s.UpdateAppointment(ap.ID, func(a *store.Appointment) error { a.Title = "moved"; return nil })
	if err != nil || ap2.Title != "moved" || !ap2.DateAdded.Equal(ap.DateAdded) || !ap2.DateUpdated.After(ap.DateUpdated) {
		t.Errorf("UpdateAppointment = %+v, %v", ap2, err)
	}
	if got, err := s.Appointment(ap.ID); err != nil || !reflect.DeepEqual(got, ap2) {
		t.Errorf("Appointment = %+v, %v", got, err)
	}
	if aps, _ := s.Appointments(c.ID); !reflect.DeepEqual(aps, []store.Appointment{ap2}) {
		t.Errorf("Appointments = %+v", aps)
	}
	fnErr := errors.New("fn")
	if _, err := s.UpdateAppointment(ap.ID, func(*store.Appointment) error { return fnErr }); err != fnErr {
		t.Errorf("UpdateAppointment fn error = %v", err)
	}
}

func TestCascadeDelete(t *testing.T) {
	s, _ := newStore(t, 1)
	gone := mustCreate(t, s, store.Contact{FirstName: "Gone"})
	kept := mustCreate(t, s, store.Contact{FirstName: "Kept"})
	var goneTask, goneNote, goneAp string
	for _, c := range []store.Contact{gone, kept} {
		tk, _ := s.CreateTask(c.ID, store.Task{Title: "t"})
		n, _ := s.CreateNote(c.ID, store.Note{Body: "n"})
		a, err := s.CreateAppointment(c.ID, store.Appointment{LocationID: loc})
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == gone.ID {
			goneTask, goneNote, goneAp = tk.ID, n.ID, a.ID
		}
	}
	before := s.Snapshot()
	if err := s.DeleteContact(gone.ID); err != nil {
		t.Fatal(err)
	}

	_, err := s.Tasks(gone.ID)
	wantNotFound(t, err, "Contact")
	_, err = s.Task(gone.ID, goneTask)
	wantNotFound(t, err, "Contact")
	_, err = s.Note(gone.ID, goneNote)
	wantNotFound(t, err, "Contact")
	_, err = s.Appointment(goneAp)
	wantNotFound(t, err, "Appointment")

	after := s.Snapshot()
	for _, tk := range after.Tasks {
		if tk.ContactID == gone.ID {
			t.Errorf("task %s of the deleted contact survived", tk.ID)
		}
	}
	for _, n := range after.Notes {
		if n.ContactID == gone.ID {
			t.Errorf("note %s of the deleted contact survived", n.ID)
		}
	}
	for _, a := range after.Appointments {
		if a.ContactID == gone.ID {
			t.Errorf("appointment %s of the deleted contact survived", a.ID)
		}
	}
	if len(after.Tasks) != len(before.Tasks)-1 || len(after.Notes) != len(before.Notes)-1 ||
		len(after.Appointments) != len(before.Appointments)-1 || len(after.Contacts) != 1 {
		t.Errorf("after cascade: %d contacts, %d tasks, %d notes, %d appointments",
			len(after.Contacts), len(after.Tasks), len(after.Notes), len(after.Appointments))
	}
	for _, list := range []func() (int, error){
		func() (int, error) { l, err := s.Tasks(kept.ID); return len(l), err },
		func() (int, error) { l, err := s.Notes(kept.ID); return len(l), err },
		func() (int, error) { l, err := s.Appointments(kept.ID); return len(l), err },
	} {
		if n, err := list(); n != 1 || err != nil {
			t.Errorf("the other contact's children: %d, %v", n, err)
		}
	}
}

func TestChildNotFoundVersusContactNotFound(t *testing.T) {
	s, _ := newStore(t, 1)
	a := mustCreate(t, s, store.Contact{FirstName: "A"})
	b := mustCreate(t, s, store.Contact{FirstName: "B"})
	task, _ := s.CreateTask(a.ID, store.Task{Title: "t"})
	note, _ := s.CreateNote(a.ID, store.Note{Body: "n"})
	noop := func(any) error { return nil }

	tests := []struct {
		name string
		err  error
		kind string
	}{
		{"Task of a missing contact", second(s.Task("missing", task.ID)), "Contact"},
		{"missing Task", second(s.Task(a.ID, "missing")), "Task"},
		{"Task of another contact", second(s.Task(b.ID, task.ID)), "Task"},
		{"UpdateTask of a missing contact", second(s.UpdateTask("missing", task.ID, func(t *store.Task) error { return noop(t) })), "Contact"},
		{"UpdateTask of another contact", second(s.UpdateTask(b.ID, task.ID, func(t *store.Task) error { return noop(t) })), "Task"},
		{"DeleteTask missing", s.DeleteTask(a.ID, "missing"), "Task"},
		{"DeleteTask of a missing contact", s.DeleteTask("missing", task.ID), "Contact"},
		{"CreateTask on a missing contact", second(s.CreateTask("missing", store.Task{})), "Contact"},
		{"Tasks of a missing contact", second(s.Tasks("missing")), "Contact"},
		{"Note of a missing contact", second(s.Note("missing", note.ID)), "Contact"},
		{"missing Note", second(s.Note(a.ID, "missing")), "Note"},
		{"Note of another contact", second(s.Note(b.ID, note.ID)), "Note"},
		{"DeleteNote of another contact", s.DeleteNote(b.ID, note.ID), "Note"},
		{"CreateNote on a missing contact", second(s.CreateNote("missing", store.Note{})), "Contact"},
		{"missing Appointment", second(s.Appointment("missing")), "Appointment"},
		{"UpdateAppointment missing", second(s.UpdateAppointment("missing", func(a *store.Appointment) error { return noop(a) })), "Appointment"},
		{"CreateAppointment on a missing contact", second(s.CreateAppointment("missing", store.Appointment{})), "Contact"},
		{"Appointments of a missing contact", second(s.Appointments("missing")), "Contact"},
		{"missing Location", second(s.Location("missing")), "Location"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantNotFound(t, tc.err, tc.kind) })
	}
	// Failed calls changed nothing: the task is still a's.
	if got, err := s.Task(a.ID, task.ID); err != nil || got != task {
		t.Errorf("Task after failed calls = %+v, %v", got, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestDuplicateRules(t *testing.T) {
	type step struct {
		email, phone string
		wantDupOf    int // index of the earlier contact it duplicates, -1 for none
		wantField    string
	}
	tests := []struct {
		name  string
		allow bool
		order []string
		steps []step
	}{
		{"distinct contacts", false, nil, []step{
			{"a@x.io", "+1001", -1, ""},
			{"b@x.io", "+1002", -1, ""},
		}},
		{"same email, any case", false, nil, []step{
			{"Ada@X.io", "", -1, ""},
			{"ada@x.IO", "", 0, "email"},
		}},
		{"same phone", false, nil, []step{
			{"", "+1001", -1, ""},
			{"other@x.io", "+1001", 0, "phone"},
		}},
		{"empty email and phone never duplicate", false, nil, []step{
			{"", "", -1, ""},
			{"", "", -1, ""},
		}},
		{"default order is email first", false, nil, []step{
			{"a@x.io", "", -1, ""},
			{"", "+1002", -1, ""},
			{"a@x.io", "+1002", 0, "email"},
		}},
		{"email then phone", false, []string{"email", "phone"}, []step{
			{"a@x.io", "", -1, ""},
			{"", "+1002", -1, ""},
			{"a@x.io", "+1002", 0, "email"},
		}},
		{"phone then email", false, []string{"phone", "email"}, []step{
			{"a@x.io", "", -1, ""},
			{"", "+1002", -1, ""},
			{"a@x.io", "+1002", 1, "phone"},
		}},
		{"duplicates allowed", true, nil, []step{
			{"a@x.io", "+1001", -1, ""},
			{"a@x.io", "+1001", -1, ""},
			{"A@X.IO", "+1001", -1, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := store.New(clock.NewManual(t0), store.NewIDs(1))
			s.PutLocation(store.Location{ID: loc, AllowDuplicateContact: tc.allow, DuplicateOrder: tc.order})
			var made []store.Contact
			for i, st := range tc.steps {
				c, err := s.CreateContact(store.Contact{LocationID: loc, Email: st.email, Phone: st.phone})
				if st.wantDupOf < 0 {
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					made = append(made, c)
					continue
				}
				if !errors.Is(err, store.ErrDuplicate) {
					t.Fatalf("step %d: err = %v, want ErrDuplicate", i, err)
				}
				var de *store.DuplicateError
				if !errors.As(err, &de) {
					t.Fatalf("step %d: %T is not a *DuplicateError", i, err)
				}
				if de.ContactID != made[st.wantDupOf].ID || de.Field != st.wantField {
					t.Errorf("step %d: duplicate of %s by %s, want %s by %s", i, de.ContactID, de.Field, made[st.wantDupOf].ID, st.wantField)
				}
				if want := "store: duplicate contact: " + de.Field + " is used by contact " + de.ContactID; de.Error() != want {
					t.Errorf("message %q, want %q", de.Error(), want)
				}
				// FindDuplicate agrees with the create check.
				if got, ok := s.FindDuplicate(loc, st.email, st.phone); !ok || got.ID != de.ContactID {
					t.Errorf("step %d: FindDuplicate = %s, %v; want %s", i, got.ID, ok, de.ContactID)
				}
			}
			if n := s.CountContacts(loc); n != len(made) {
				t.Errorf("CountContacts = %d, want %d", n, len(made))
			}
		})
	}
}

func TestUpdateChecksDuplicates(t *testing.T) {
	s, _ := newStore(t, 1)
	a := mustCreate(t, s, store.Contact{Email: "a@x.io", Phone: "+1001"})
	b := mustCreate(t, s, store.Contact{Email: "b@x.io"})

	// Keeping one's own email and phone is no duplicate.
	if _, err := s.UpdateContact(a.ID, func(c *store.Contact) error { c.FirstName = "A"; return nil }); err != nil {
		t.Errorf("update keeping own email: %v", err)
	}
	// Taking another's is, and changes nothing.
	_, err := s.UpdateContact(b.ID, func(c *store.Contact) error { c.Phone = "+1001"; return nil })
	var de *store.DuplicateError
	if !errors.As(err, &de) || de.ContactID != a.ID || de.Field != "phone" {
		t.Errorf("update to a's phone: %v", err)
	}
	if got, _ := s.Contact(b.ID); !reflect.DeepEqual(got, b) {
		t.Errorf("b changed by a rejected update: %+v", got)
	}
	// Changing an email frees the old one and indexes the new one.
	if _, err := s.UpdateContact(a.ID, func(c *store.Contact) error { c.Email = "new@x.io"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.FindDuplicate(loc, "a@x.io", ""); ok {
		t.Error("old email still indexed after update")
	}
	if got, ok := s.FindDuplicate(loc, "NEW@x.io", ""); !ok || got.ID != a.ID {
		t.Errorf("new email not indexed: %+v, %v", got, ok)
	}
	if _, ok := s.FindDuplicate("nope", "a@x.io", ""); ok {
		t.Error("FindDuplicate in a missing location found something")
	}
}

func TestUpsertMatchingOrder(t *testing.T) {
	setName := func(name string) func(*store.Contact) error {
		return func(c *store.Contact) error { c.FirstName = name; return nil }
	}
	tests := []struct {
		name      string
		allow     bool
		order     []string
		email     string
		phone     string
		createNew bool
		want      string // "A", "B" or "new"
	}{
		{"email first matches by email", false, []string{"email", "phone"}, "a@x.io", "+2002", false, "A"},
		{"phone first matches by phone", false, []string{"phone", "email"}, "a@x.io", "+2002", false, "B"},
		{"default order matches by email", false, nil, "a@x.io", "+2002", false, "A"},
		{"email match is case-insensitive", false, nil, "A@X.IO", "", false, "A"},
		{"falls back to the second field", false, []string{"email", "phone"}, "none@x.io", "+2002", false, "B"},
		{"no match creates", false, nil, "none@x.io", "+9999", false, "new"},
		{"createNew ignored when duplicates are forbidden", false, nil, "a@x.io", "", true, "A"},
		{"duplicates allowed without createNew updates", true, nil, "a@x.io", "", false, "A"},
		{"duplicates allowed with createNew creates", true, nil, "a@x.io", "", true, "new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := store.New(clock.NewManual(t0), store.NewIDs(1))
			s.PutLocation(store.Location{ID: loc, AllowDuplicateContact: tc.allow, DuplicateOrder: tc.order})
			a := mustCreate(t, s, store.Contact{Email: "a@x.io", Phone: "+1001"})
			b := mustCreate(t, s, store.Contact{Email: "b@x.io", Phone: "+2002"})
			got, isNew, err := s.UpsertContact(loc, tc.email, tc.phone, tc.createNew, setName("Up"))
			if err != nil {
				t.Fatal(err)
			}
			if got.FirstName != "Up" || got.LocationID != loc {
				t.Errorf("upserted %+v", got)
			}
			switch tc.want {
			case "new":
				if !isNew || got.ID == a.ID || got.ID == b.ID || s.CountContacts(loc) != 3 {
					t.Errorf("isNew=%v id=%s count=%d, want a new contact", isNew, got.ID, s.CountContacts(loc))
				}
			default:
				want := map[string]store.Contact{"A": a, "B": b}[tc.want]
				if isNew || got.ID != want.ID || s.CountContacts(loc) != 2 {
					t.Errorf("isNew=%v id=%s count=%d, want %s (%s) updated", isNew, got.ID, s.CountContacts(loc), tc.want, want.ID)
				}
				if !got.DateAdded.Equal(want.DateAdded) {
					t.Errorf("DateAdded changed by upsert")
				}
			}
		})
	}

	t.Run("missing location", func(t *testing.T) {
		s, _ := newStore(t, 1)
		_, _, err := s.UpsertContact("nope", "a@x.io", "", false, setName("x"))
		wantNotFound(t, err, "Location")
	})
	t.Run("fn error", func(t *testing.T) {
		s, _ := newStore(t, 1)
		boom := errors.New("boom")
		if _, _, err := s.UpsertContact(loc, "a@x.io", "", false, func(*store.Contact) error { return boom }); err != boom {
			t.Errorf("err = %v", err)
		}
		if s.CountContacts(loc) != 0 {
			t.Error("a failed upsert created a contact")
		}
	})
}

// With duplicates allowed, upsert and the duplicate search pick the oldest
// matching contact, even after that contact was updated.
func TestMatchPicksOldestAfterUpdate(t *testing.T) {
	s := store.New(clock.NewManual(t0), store.NewIDs(1))
	s.PutLocation(store.Location{ID: loc, AllowDuplicateContact: true})
	oldest := mustCreate(t, s, store.Contact{Email: "same@x.io", Phone: "+1001"})
	mustCreate(t, s, store.Contact{Email: "same@x.io", Phone: "+1001"})
	if _, err := s.UpdateContact(oldest.ID, func(c *store.Contact) error { c.FirstName = "touched"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.FindDuplicate(loc, "same@x.io", ""); !ok || got.ID != oldest.ID {
		t.Errorf("FindDuplicate by email = %s, want the oldest %s", got.ID, oldest.ID)
	}
	if got, ok := s.FindDuplicate(loc, "", "+1001"); !ok || got.ID != oldest.ID {
		t.Errorf("FindDuplicate by phone = %s, want the oldest %s", got.ID, oldest.ID)
	}
	got, isNew, err := s.UpsertContact(loc, "same@x.io", "", false, func(c *store.Contact) error { return nil })
	if err != nil || isNew || got.ID != oldest.ID {
		t.Errorf("UpsertContact = %s (new %v, %v), want the oldest %s", got.ID, isNew, err, oldest.ID)
	}
}

// pageAll walks a location's contacts page by page and returns them with the
// pages' metadata checked.
func pageAll(t *testing.T, s *store.Store, limit int, match func(*store.Contact) bool, wantTotal int) []store.Contact {
	t.Helper()
	var all []store.Contact
	var after *store.Cursor
	for pages := 0; ; pages++ {
		if pages > wantTotal+1 {
			t.Fatal("paging does not end")
		}
		p := s.ContactsPage(loc, after, limit, match)
		if p.Total != wantTotal {
			t.Fatalf("page %d: Total = %d, want %d", pages, p.Total, wantTotal)
		}
		if p.Offset != len(all) {
			t.Fatalf("page %d: Offset = %d, want %d", pages, p.Offset, len(all))
		}
		all = append(all, p.Contacts...)
		if wantMore := len(all) < wantTotal; p.More != wantMore {
			t.Fatalf("page %d: More = %v, want %v (%d of %d)", pages, p.More, wantMore, len(all), wantTotal)
		}
		if len(p.Contacts) > limit || (p.More && len(p.Contacts) != limit) {
			t.Fatalf("page %d has %d contacts, limit %d", pages, len(p.Contacts), limit)
		}
		if !p.More {
			return all
		}
		last := p.Contacts[len(p.Contacts)-1]
		after = &store.Cursor{DateAdded: last.DateAdded, ID: last.ID}
	}
}

func newestFirst(a, b store.Contact) int {
	if c := b.DateAdded.Compare(a.DateAdded); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

func TestCursorPagingFrozenClock(t *testing.T) {
	s, _ := newStore(t, 7) // the clock never moves
	var made []store.Contact
	for i := range 250 {
		made = append(made, mustCreate(t, s, store.Contact{FirstName: fmt.Sprint(i)}))
	}
	for i := 1; i < len(made); i++ {
		if !made[i].DateAdded.After(made[i-1].DateAdded) {
			t.Fatalf("contact %d stamped %v, not after %v", i, made[i].DateAdded, made[i-1].DateAdded)
		}
		if made[i].DateAdded.Sub(made[i-1].DateAdded) != time.Millisecond {
			t.Fatalf("stamps move by %v, want 1ms", made[i].DateAdded.Sub(made[i-1].DateAdded))
		}
	}
	want := slices.Clone(made)
	slices.Reverse(want)
	for _, limit := range []int{1, 20, 100, 249, 250, 1000} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			got := pageAll(t, s, limit, nil, 250)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pages do not list the contacts newest first exactly once")
			}
		})
	}
}

// Contacts restored with the same DateAdded are ordered by id, newest first,
// and the cursor pair (DateAdded, ID) pages through them without loss.
func TestCursorPagingTiesInOneMillisecond(t *testing.T) {
	ids := store.NewIDs(3)
	st := store.State{Locations: []store.Location{{ID: loc}}}
	for i := range 250 {
		at := t0.Add(time.Duration(i/10) * time.Millisecond) // ten contacts per millisecond
		st.Contacts = append(st.Contacts, store.Contact{
			ID: ids.New(), LocationID: loc, DateAdded: at, DateUpdated: at,
			Tags: []string{}, CustomFields: []store.CustomFieldValue{},
		})
	}
	s := store.New(clock.NewManual(t0), store.NewIDs(4))
	if err := s.Restore(st); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(st.Contacts)
	slices.SortFunc(want, newestFirst)
	for _, limit := range []int{3, 10, 7, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			got := pageAll(t, s, limit, nil, 250)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pages with ties do not list each contact once, newest then highest id first")
			}
		})
	}
	// A new contact stamps after the restored ones, though the clock is behind.
	c := mustCreate(t, s, store.Contact{})
	if latest := want[0].DateAdded; !c.DateAdded.After(latest) {
		t.Errorf("new contact stamped %v, not after restored %v", c.DateAdded, latest)
	}
}

func TestContactsPageWithMatch(t *testing.T) {
	s, clk := newStore(t, 1)
	var made []store.Contact
	for i := range 250 {
		tag := "odd"
		if i%2 == 0 {
			tag = "even"
		}
		made = append(made, mustCreate(t, s, store.Contact{FirstName: fmt.Sprint(i), Tags: []string{tag}}))
		if i%3 == 0 {
			clk.Advance(time.Millisecond)
		}
	}
	even := func(c *store.Contact) bool { return c.Tags[0] == "even" }
	var want []store.Contact
	for i := len(made) - 1; i >= 0; i-- {
		if i%2 == 0 {
			want = append(want, made[i])
		}
	}
	for _, limit := range []int{1, 10, 124, 125, 126} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			if got := pageAll(t, s, limit, even, 125); !reflect.DeepEqual(got, want) {
				t.Error("matched pages do not list the even contacts newest first exactly once")
			}
		})
	}

	t.Run("cursor on a contact that does not match", func(t *testing.T) {
		odd := made[201] // newer contacts: 202..249, of which 24 are even
		p := s.ContactsPage(loc, &store.Cursor{DateAdded: odd.DateAdded, ID: odd.ID}, 5, even)
		if p.Total != 125 || p.Offset != 24 || !p.More || len(p.Contacts) != 5 || p.Contacts[0].ID != made[200].ID {
			t.Errorf("page = Total %d Offset %d More %v, %d contacts", p.Total, p.Offset, p.More, len(p.Contacts))
		}
	})
	t.Run("cursor on a deleted contact", func(t *testing.T) {
		s, _ := newStore(t, 2)
		var cs []store.Contact
		for range 5 {
			cs = append(cs, mustCreate(t, s, store.Contact{}))
		}
		if err := s.DeleteContact(cs[2].ID); err != nil {
			t.Fatal(err)
		}
		p := s.ContactsPage(loc, &store.Cursor{DateAdded: cs[2].DateAdded, ID: cs[2].ID}, 10, nil)
		if p.Total != 4 || p.Offset != 2 || p.More || len(p.Contacts) != 2 || p.Contacts[0].ID != cs[1].ID || p.Contacts[1].ID != cs[0].ID {
			t.Errorf("page = %+v", p)
		}
	})
	t.Run("no match", func(t *testing.T) {
		p := s.ContactsPage(loc, nil, 10, func(*store.Contact) bool { return false })
		if p.Total != 0 || p.Offset != 0 || p.More || len(p.Contacts) != 0 {
			t.Errorf("page = %+v", p)
		}
	})
	t.Run("empty location", func(t *testing.T) {
		p := s.ContactsPage("nope", nil, 10, nil)
		if p.Total != 0 || p.More || len(p.Contacts) != 0 {
			t.Errorf("page = %+v", p)
		}
	})
	t.Run("scan and count agree", func(t *testing.T) {
		var n int
		s.ScanContacts(loc, func(c *store.Contact) bool {
			if c.ID != made[len(made)-1-n].ID {
				t.Fatalf("scan %d: %s, want %s", n, c.ID, made[len(made)-1-n].ID)
			}
			n++
			return n < 10
		})
		if n != 10 || s.CountContacts(loc) != 250 {
			t.Errorf("scanned %d, count %d", n, s.CountContacts(loc))
		}
	})
}

// populate fills a store with two locations, contacts and children.
func populate(t *testing.T, s *store.Store, clk *clock.Manual) {
	t.Helper()
	dob := time.Date(1990, 9, 25, 0, 0, 0, 0, time.UTC)
	s.PutLocation(store.Location{ID: "LOC2", Name: "Two", AllowDuplicateContact: true,
		Calendars: []store.Calendar{{ID: "CAL1", Name: "c"}}, CustomFields: []store.CustomFieldDef{{ID: "F1", Key: "contact.k", Name: "K"}}})
	for i := range 6 {
		l := loc
		if i%2 == 1 {
			l = "LOC2"
		}
		c := mustCreate(t, s, store.Contact{
			LocationID: l, FirstName: fmt.Sprint("c", i), Email: fmt.Sprintf("c%d@x.io", i), Tags: []string{"t", fmt.Sprint(i)},
			CustomFields: []store.CustomFieldValue{{ID: "F1", Value: `"v"`}},
			DNDSettings:  map[string]store.DNDSetting{"SMS": {Status: "active"}},
			DateOfBirth:  &dob,
		})
		clk.Advance(time.Second)
		if _, err := s.CreateTask(c.ID, store.Task{Title: "t", DueDate: t0.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateNote(c.ID, store.Note{Body: "n"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAppointment(c.ID, store.Appointment{LocationID: l, CalendarID: "CAL1", StartTime: t0, EndTime: t0.Add(time.Hour), Offset: -14400}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	src, clk := newStore(t, 1)
	populate(t, src, clk)
	snap := src.Snapshot()
	if len(snap.Locations) != 2 || len(snap.Contacts) != 6 || len(snap.Tasks) != 6 || len(snap.Notes) != 6 || len(snap.Appointments) != 6 {
		t.Fatalf("snapshot sizes: %d %d %d %d %d", len(snap.Locations), len(snap.Contacts), len(snap.Tasks), len(snap.Notes), len(snap.Appointments))
	}

	dst := store.New(clock.NewManual(t0), store.NewIDs(99))
	if err := dst.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := dst.Snapshot(); !reflect.DeepEqual(got, snap) {
		t.Errorf("Snapshot after Restore differs:\n got %+v\nwant %+v", got, snap)
	}

	// The state survives JSON, as export and import carry it.
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var decoded store.State
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	viaJSON := store.New(clock.NewManual(t0), store.NewIDs(5))
	if err := viaJSON.Restore(decoded); err != nil {
		t.Fatal(err)
	}
	if got := viaJSON.Snapshot(); !reflect.DeepEqual(got, snap) {
		t.Errorf("Snapshot after a JSON round trip differs:\n got %+v\nwant %+v", got, snap)
	}

	// Restored indexes work: duplicates and children are found.
	first := snap.Contacts[0]
	if first.LocationID != loc {
		t.Fatalf("first contact in %s", first.LocationID)
	}
	if _, err := dst.CreateContact(store.Contact{LocationID: loc, Email: first.Email}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("restored email index: %v", err)
	}
	if tasks, err := dst.Tasks(first.ID); err != nil || len(tasks) != 1 {
		t.Errorf("restored tasks: %v, %v", tasks, err)
	}
}

func TestRestoreRejectsOrphansAndKeepsState(t *testing.T) {
	s, clk := newStore(t, 1)
	populate(t, s, clk)
	before := s.Snapshot()

	good := s.Snapshot()
	tests := []struct {
		name  string
		state func() store.State
		field string
	}{
		{"task of a missing contact", func() store.State {
			st := s.Snapshot()
			st.Contacts = st.Contacts[:1]
			st.Tasks = []store.Task{{ID: "T1", ContactID: "ghost", Title: "orphan"}}
			st.Notes, st.Appointments = nil, nil
			return st
		}, "tasks[T1].contactId"},
		{"note of a missing contact", func() store.State {
			st := s.Snapshot()
			st.Notes = append(st.Notes, store.Note{ID: "N1", ContactID: "ghost"})
			return st
		}, "notes[N1].contactId"},
		{"appointment of a missing contact", func() store.State {
			st := s.Snapshot()
			st.Appointments = append(st.Appointments, store.Appointment{ID: "A1", ContactID: "ghost"})
			return st
		}, "appointments[A1].contactId"},
		{"contact of a missing location", func() store.State {
			st := s.Snapshot()
			st.Contacts = append(st.Contacts, store.Contact{ID: "C1", LocationID: "ghost"})
			return st
		}, "contacts[C1].locationId"},
		{"contact id used twice", func() store.State {
			st := s.Snapshot()
			st.Contacts = append(st.Contacts, st.Contacts[0])
			return st
		}, "contacts[" + good.Contacts[0].ID + "].id"},
		{"an app's second webhook subscription", func() store.State {
			st := s.Snapshot()
			st.Webhooks = []store.Webhook{{ClientID: "app-1", URL: "http://127.0.0.1:9/a"}, {ClientID: "app-1", URL: "http://127.0.0.1:9/b"}}
			return st
		}, "webhooks[app-1].clientId"},
		{"a webhook subscription without a URL", func() store.State {
			st := s.Snapshot()
			st.Webhooks = []store.Webhook{{ClientID: "app-1"}}
			return st
		}, "webhooks[app-1].url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Restore(tc.state())
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Restore = %v, want ErrInvalid", err)
			}
			var ie *store.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) != 1 {
				t.Fatalf("Restore = %v, want an ImportError of one problem", err)
			}
			if p := ie.Problems[0]; p.Table+"["+p.ID+"]."+p.Field != tc.field {
				t.Errorf("problem %+v, want field %s", p, tc.field)
			}
			if got := s.Snapshot(); !reflect.DeepEqual(got, before) {
				t.Fatal("a rejected Restore changed the state")
			}
			// The old indexes still answer.
			c0 := before.Contacts[0]
			if _, err := s.CreateContact(store.Contact{LocationID: loc, Email: c0.Email}); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("email index after rejected Restore: %v", err)
			}
			if p := s.ContactsPage(loc, nil, 100, nil); p.Total != 3 {
				t.Errorf("location index after rejected Restore: %d contacts", p.Total)
			}
		})
	}
}

func TestReturnedValuesAreCopies(t *testing.T) {
	s, clk := newStore(t, 1)
	populate(t, s, clk)
	c := mustCreate(t, s, store.Contact{Email: "copy@x.io", Tags: []string{"keep"},
		CustomFields: []store.CustomFieldValue{{ID: "F", Value: "1"}},
		DNDSettings:  map[string]store.DNDSetting{"Email": {Status: "active"}}})
	before := s.Snapshot()

	vandalise := func(c store.Contact) {
		if len(c.Tags) > 0 {
			c.Tags[0] = "vandalised"
		}
		if len(c.CustomFields) > 0 {
			c.CustomFields[0].Value = "vandalised"
		}
		for k := range c.DNDSettings {
			c.DNDSettings[k] = store.DNDSetting{Status: "vandalised"}
		}
		if c.DateOfBirth != nil {
			*c.DateOfBirth = time.Time{}
		}
	}
	got, _ := s.Contact(c.ID)
	vandalise(got)
	vandalise(c)
	up, _ := s.UpdateContact(c.ID, func(*store.Contact) error { return nil })
	vandalise(up)
	dup, _ := s.FindDuplicate(loc, "copy@x.io", "")
	vandalise(dup)
	for _, pc := range s.ContactsPage(loc, nil, 100, nil).Contacts {
		vandalise(pc)
	}
	for _, sc := range s.Snapshot().Contacts {
		vandalise(sc)
	}
	l, _ := s.Location("LOC2")
	l.Calendars[0].Name = "vandalised"
	s.Locations()[0].Name = "vandalised"

	after := s.Snapshot()
	// UpdateContact moved DateUpdated: compare the rest.
	for i := range after.Contacts {
		if after.Contacts[i].ID == c.ID {
			after.Contacts[i].DateUpdated = before.Contacts[i].DateUpdated
		}
	}
	if !reflect.DeepEqual(after, before) {
		t.Error("mutating returned values changed the store")
	}

	// Values passed in are copied too.
	tags := []string{"mine"}
	in := mustCreate(t, s, store.Contact{Tags: tags})
	tags[0] = "changed"
	if got, _ := s.Contact(in.ID); got.Tags[0] != "mine" {
		t.Errorf("store shares the caller's Tags: %q", got.Tags)
	}
	cals := []store.Calendar{{ID: "X", Name: "mine"}}
	s.PutLocation(store.Location{ID: "LOC3", Calendars: cals})
	cals[0].Name = "changed"
	if l, _ := s.Location("LOC3"); l.Calendars[0].Name != "mine" {
		t.Errorf("store shares the caller's Calendars: %+v", l.Calendars)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, clk := newStore(t, 1)
	const workers, perWorker = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				c, err := s.CreateContact(store.Contact{LocationID: loc, Email: fmt.Sprintf("w%d-%d@x.io", w, i)})
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.CreateTask(c.ID, store.Task{Title: "t"}); err != nil {
					errs <- err
				}
				if _, err := s.UpdateContact(c.ID, func(c *store.Contact) error { c.Tags = append(c.Tags, "x"); return nil }); err != nil {
					errs <- err
				}
				s.ContactsPage(loc, nil, 10, func(c *store.Contact) bool { return len(c.Tags) > 0 })
				s.FindDuplicate(loc, c.Email, "")
				if i%4 == 0 {
					if err := s.DeleteContact(c.ID); err != nil {
						errs <- err
					}
				}
				if i%10 == 0 {
					clk.Advance(time.Millisecond)
					_ = s.Snapshot()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st := s.Snapshot()
	wantContacts := workers * (perWorker - perWorker/4)
	if len(st.Contacts) != wantContacts || len(st.Tasks) != wantContacts {
		t.Errorf("%d contacts and %d tasks, want %d of each", len(st.Contacts), len(st.Tasks), wantContacts)
	}
	seen := map[string]bool{}
	for i, c := range st.Contacts {
		if seen[c.ID] {
			t.Errorf("id %s used twice", c.ID)
		}
		seen[c.ID] = true
		if i > 0 && !c.DateAdded.After(st.Contacts[i-1].DateAdded) {
			t.Errorf("contacts %d and %d share DateAdded %v", i-1, i, c.DateAdded)
		}
	}
	if got := pageAll(t, s, 50, nil, wantContacts); len(got) != wantContacts {
		t.Errorf("paged %d contacts", len(got))
	}
}

var (
	base62ID = regexp.MustCompile(`^[0-9A-Za-z]{20}$`)
	objectID = regexp.MustCompile(`^[0-9a-f]{24}$`)
)

func TestIDs(t *testing.T) {
	draw := func(seed uint64) []string {
		g := store.NewIDs(seed)
		var out []string
		for range 50 {
			out = append(out, g.New(), g.ObjectID(), g.Token(32))
		}
		return out
	}
	a, b := draw(42), draw(42)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different ids")
	}
	if slices.Equal(a, draw(43)) {
		t.Error("different seeds gave the same ids")
	}
	seen := map[string]bool{}
	for i := 0; i < len(a); i += 3 {
		if !base62ID.MatchString(a[i]) {
			t.Errorf("New() = %q, want 20 base62 characters", a[i])
		}
		if !objectID.MatchString(a[i+1]) {
			t.Errorf("ObjectID() = %q, want 24 lowercase hex digits", a[i+1])
		}
		if len(a[i+2]) != 32 || strings.Trim(a[i+2], "0123456789abcdef") != "" {
			t.Errorf("Token(32) = %q", a[i+2])
		}
		if seen[a[i]] {
			t.Errorf("New() repeated %q", a[i])
		}
		seen[a[i]] = true
	}

	// A store on a seed names its records the same way every run.
	names := func() []string {
		s, _ := newStore(t, 9)
		var out []string
		for range 5 {
			c := mustCreate(t, s, store.Contact{})
			tk, _ := s.CreateTask(c.ID, store.Task{})
			out = append(out, c.ID, tk.ID)
		}
		return out
	}
	if x, y := names(), names(); !slices.Equal(x, y) {
		t.Errorf("seeded stores named records differently:\n%q\n%q", x, y)
	}
}

func TestWebhooks_SetListResetAndRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	events := []string{"ContactCreate"}
	s.SetWebhook(store.Webhook{ClientID: "zed-2", URL: "http://127.0.0.1:9/z", Events: events})
	s.SetWebhook(store.Webhook{ClientID: "abc-1", URL: "http://127.0.0.1:9/a"})
	events[0] = "changed"
	if w, ok := s.Webhook("zed-2"); !ok || w.Events[0] != "ContactCreate" || !w.Receives("ContactCreate") || w.Receives("TaskCreate") {
		t.Errorf("zed-2: %+v, %v (SetWebhook keeps a copy; it receives only its events)", w, ok)
	}
	if w, _ := s.Webhook("abc-1"); !w.Receives("TaskCreate") {
		t.Error("a subscription without events receives every event")
	}
	list := s.Webhooks()
	if len(list) != 2 || list[0].ClientID != "abc-1" || list[1].ClientID != "zed-2" {
		t.Errorf("webhooks %+v, want by client id", list)
	}
	st := s.Snapshot()
	s.SetWebhook(store.Webhook{ClientID: "abc-1"})
	if _, ok := s.Webhook("abc-1"); ok || len(s.Webhooks()) != 1 {
		t.Error("a subscription set without a URL is still there")
	}
	if err := s.Restore(st); err != nil {
		t.Fatal(err)
	}
	if got := s.Webhooks(); !reflect.DeepEqual(got, list) {
		t.Errorf("restored %+v, want %+v", got, list)
	}
	if err := s.Restore(store.State{Locations: st.Locations}); err != nil || len(s.Webhooks()) != 0 {
		t.Errorf("a state without subscriptions left %+v (%v)", s.Webhooks(), err)
	}
}

// The tables restore at once, but their problems are listed as if one after
// the other: the tables' order (tasks, notes, appointments, appointment
// notes, webhooks, then Marketing 360), each in its records' order, the
// first MaxProblems of them all and a count of the rest.
func TestRestoreListsProblemsInTableOrder(t *testing.T) {
	s, clk := newStore(t, 1)
	populate(t, s, clk)
	st := s.Snapshot()
	var want []string
	orphans := func(table string, n int, add func(id string)) {
		for i := range n {
			id := fmt.Sprintf("%s-%02d", table, i)
			add(id)
			want = append(want, table+"["+id+"]")
		}
	}
	orphans("tasks", 20, func(id string) { st.Tasks = append(st.Tasks, store.Task{ID: id, ContactID: "ghost"}) })
	orphans("notes", 20, func(id string) { st.Notes = append(st.Notes, store.Note{ID: id, ContactID: "ghost"}) })
	orphans("appointments", 5, func(id string) {
		st.Appointments = append(st.Appointments, store.Appointment{ID: id, ContactID: "ghost"})
	})
	orphans("appointmentNotes", 3, func(id string) {
		st.AppointmentNotes = append(st.AppointmentNotes, store.AppointmentNote{ID: id, AppointmentID: "ghost"})
	})
	st.Webhooks = append(st.Webhooks, store.Webhook{ClientID: "webhooks-00"})
	want = append(want, "webhooks[webhooks-00]")
	st.M360Accounts = append(st.M360Accounts, store.M360Account{ID: 7, Name: "Seven"})
	for i := range 4 {
		id := int64(100 + i)
		st.M360Contacts = append(st.M360Contacts, store.M360Contact{ID: id, AccountID: 999})
		want = append(want, fmt.Sprintf("m360Contacts[%d]", id))
	}

	var ie *store.ImportError
	if err := s.Restore(st); !errors.As(err, &ie) {
		t.Fatalf("Restore = %v, want an ImportError", err)
	}
	var got []string
	for _, p := range ie.Problems {
		got = append(got, p.Table+"["+p.ID+"]")
	}
	if !slices.Equal(got, want[:store.MaxProblems]) {
		t.Errorf("problems\n%v\nwant\n%v", got, want[:store.MaxProblems])
	}
	if ie.More != len(want)-store.MaxProblems {
		t.Errorf("More = %d, want %d", ie.More, len(want)-store.MaxProblems)
	}
}

// TestRestore_UnsortedContactsKeepTheFirstOfOneID: contacts restored out of
// (dateAdded, id) order are sorted, and of two sent with one id (and one
// dateAdded) the first sent is kept and the second refused, whatever the
// sort does with equal keys.
func TestRestore_UnsortedContactsKeepTheFirstOfOneID(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t, 1)
	populate(t, s, clk)
	st := s.Snapshot()
	if len(st.Contacts) < 2 {
		t.Fatalf("%d contacts populated, want 2 at least", len(st.Contacts))
	}
	first, second := st.Contacts[0], st.Contacts[0]
	first.FirstName, second.FirstName = "Sent first", "Sent second"
	// Reversed, so that the restore must sort; the two copies side by side
	// many times, so that an unstable sort would swap some of them.
	var contacts []store.Contact
	for i := len(st.Contacts) - 1; i > 0; i-- {
		contacts = append(contacts, st.Contacts[i])
	}
	at := len(contacts) // the first copy's place
	contacts = append(contacts, first)
	for range 40 {
		contacts = append(contacts, second)
	}
	st.Contacts = contacts
	err := s.Restore(st)
	if err == nil || strings.Contains(err.Error(), fmt.Sprintf("contacts[%d].id", at)) ||
		!strings.Contains(err.Error(), fmt.Sprintf("contacts[%d].id", at+1)) {
		t.Fatalf("Restore = %v, want the copies after contacts[%d] refused as used twice", err, at)
	}
	// A refused restore keeps the state: restore the first copy alone.
	st.Contacts = contacts[:len(contacts)-40]
	if err := s.Restore(st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Contact(first.ID)
	if err != nil || got.FirstName != "Sent first" {
		t.Fatalf("contact %s: %q (%v), want the first sent", first.ID, got.FirstName, err)
	}
}

// TestLocationShared_StaysAsItWas: what LocationShared returned is not
// changed by any later change of the location's lists, since the store
// never changes a stored list in place.
func TestLocationShared_StaysAsItWas(t *testing.T) {
	s, _ := newStore(t, 1)
	d, err := s.CreateCustomFieldDef(loc, store.CustomFieldDef{Key: "contact.a", Name: "A", AcceptedFormat: []string{".pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := s.CreateLocationTag(loc, store.LocationTag{Name: "vip"})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := s.LocationShared(loc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Location(loc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(shared, want) {
		t.Fatalf("LocationShared = %+v, Location = %+v", shared, want)
	}
	if _, err := s.UpdateCustomFieldDef(loc, d.ID, func(d *store.CustomFieldDef) error {
		d.Name, d.AcceptedFormat[0] = "B", ".png"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCustomFieldDef(loc, store.CustomFieldDef{Key: "contact.c", Name: "C"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateLocationTag(loc, tag.ID, func(t *store.LocationTag) error { t.Name = "gold"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLocationTag(loc, tag.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCustomFieldDef(loc, d.ID); err != nil {
		t.Fatal(err)
	}
	s.PutLocation(store.Location{ID: loc, Name: "Renamed"})
	if !reflect.DeepEqual(shared, want) {
		t.Errorf("after the changes LocationShared's answer is %+v, want it as it was: %+v", shared, want)
	}
}

package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// changeLog records what a store tells its observer, one line a change:
// "<op> <kind> <id> @<location>".
type changeLog struct{ lines []string }

func observe(s *store.Store) *changeLog {
	l := &changeLog{}
	s.Observe(func(c store.Change) { l.lines = append(l.lines, describe(c)) })
	return l
}

func (l *changeLog) take() []string {
	out := l.lines
	l.lines = nil
	return out
}

func describe(c store.Change) string {
	rec := c.Record()
	var kind, id string
	switch v := rec.(type) {
	case store.Contact:
		kind, id = "contact", v.ID
	case store.Task:
		kind, id = "task", v.ID
	case store.Note:
		kind, id = "note", v.ID
	case store.Appointment:
		kind, id = "appointment", v.ID
	case store.M360Contact:
		kind, id = "m360contact", fmt.Sprint(v.ID)
	case store.M360Task:
		kind, id = "m360task", fmt.Sprint(v.ID)
	case store.M360Note:
		kind, id = "m360note", fmt.Sprint(v.ID)
	case store.M360Event:
		kind, id = "m360event", fmt.Sprint(v.ID)
	default:
		kind = fmt.Sprintf("%T", rec)
	}
	return fmt.Sprintf("%s %s %s @%s", c.Op, kind, id, c.Location)
}

func wantLines(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: told\n\t%q\nwant\n\t%q", step, got, want)
	}
}

func TestStore_ObserveTellsEveryWriteInOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	s.PutLocation(store.Location{ID: "other", Name: "Other"})
	log := observe(s)

	c := mustCreate(t, s, store.Contact{Email: "a@example.com", Tags: []string{"x"}})
	wantLines(t, "create", log.take(), "created contact "+c.ID+" @"+loc)

	var before, after store.Contact
	s.Observe(func(ch store.Change) {
		before, after = ch.Before.(store.Contact), ch.After.(store.Contact)
	})
	if _, err := s.UpdateContact(c.ID, func(c *store.Contact) error { c.Tags = []string{"y"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before.Tags, []string{"x"}) || !slices.Equal(after.Tags, []string{"y"}) {
		t.Errorf("update told tags %v -> %v, want [x] -> [y]", before.Tags, after.Tags)
	}
	log = observe(s)

	if _, err := s.UpdateContact(c.ID, func(*store.Contact) error { return fmt.Errorf("no") }); err == nil {
		t.Fatal("failing update succeeded")
	}
	wantLines(t, "failed update", log.take())

	task, _ := s.CreateTask(c.ID, store.Task{Title: "t", DueDate: t0})
	_, _ = s.UpdateTask(c.ID, task.ID, func(t *store.Task) error { t.Completed = true; return nil })
	note, _ := s.CreateNote(c.ID, store.Note{Body: "n"})
	_ = s.DeleteNote(c.ID, note.ID)
	ap, _ := s.CreateAppointment(c.ID, store.Appointment{LocationID: loc, StartTime: t0, EndTime: t0.Add(time.Hour)})
	_, _ = s.UpdateAppointment(ap.ID, func(a *store.Appointment) error { a.Title = "x"; return nil })
	_ = s.DeleteTask(c.ID, task.ID)
	wantLines(t, "records", log.take(),
		"created task "+task.ID+" @"+loc, "updated task "+task.ID+" @"+loc,
		"created note "+note.ID+" @"+loc, "deleted note "+note.ID+" @"+loc,
		"created appointment "+ap.ID+" @"+loc, "updated appointment "+ap.ID+" @"+loc,
		"deleted task "+task.ID+" @"+loc)

	// Upsert tells an update of the match, or a creation.
	_, _, _ = s.UpsertContact(loc, "a@example.com", "", false, func(c *store.Contact) error { c.FirstName = "A"; return nil })
	n, _, _ := s.UpsertContact(loc, "new@example.com", "", false, func(c *store.Contact) error { return nil })
	wantLines(t, "upsert", log.take(), "updated contact "+c.ID+" @"+loc, "created contact "+n.ID+" @"+loc)

	// A deleted contact is told alone: its records go with it silently.
	_, _ = s.CreateNote(c.ID, store.Note{Body: "n2"})
	log.take()
	_ = s.DeleteContact(c.ID)
	wantLines(t, "delete contact", log.take(), "deleted contact "+c.ID+" @"+loc)

	s.Observe(nil)
	mustCreate(t, s, store.Contact{})
	wantLines(t, "after Observe(nil)", log.take())
}

func TestStore_ObserveTellsMarketing360Writes(t *testing.T) {
	t.Parallel()
	s, _ := newM360(t)
	log := observe(s)
	c := mustM360Contact(t, s, store.M360Contact{Email: "a@example.com"})
	_, _ = s.UpdateM360Contact(acct1, c.ID, func(c *store.M360Contact) error { c.FirstName = "A"; return nil })
	task, _ := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "t"})
	_, _ = s.UpdateM360Task(acct1, c.ID, task.ID, func(t *store.M360Task) error { t.Completed = true; return nil })
	note, _ := s.CreateM360Note(store.M360Note{AccountID: acct1, ContactID: c.ID, Body: "n"})
	ev, _ := s.CreateM360Event(store.M360Event{AccountID: acct1, ContactID: c.ID, Start: 100, End: 200})
	_ = s.DeleteM360Note(acct1, c.ID, note.ID)
	_ = s.DeleteM360Contact(acct1, c.ID)
	id := func(v int64) string { return fmt.Sprint(v) }
	wantLines(t, "m360", log.take(),
		"created m360contact "+id(c.ID)+" @", "updated m360contact "+id(c.ID)+" @",
		"created m360task "+id(task.ID)+" @", "updated m360task "+id(task.ID)+" @",
		"created m360note "+id(note.ID)+" @", "created m360event "+id(ev.ID)+" @",
		"deleted m360note "+id(note.ID)+" @", "deleted m360contact "+id(c.ID)+" @")
	// Subscriptions, campaigns and triggers are not records with changes.
	_, _ = s.CreateM360Webhook(store.M360Webhook{AccountID: acct1, URL: "http://x", Events: []string{"contact.created"}})
	wantLines(t, "webhook", log.take())
}

func TestStore_ImportTellsTheDifferenceRestoreNothing(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	s.PutM360Account(store.M360Account{ID: acct1, Name: "One"})
	keep := mustCreate(t, s, store.Contact{Email: "keep@example.com"})
	change := mustCreate(t, s, store.Contact{Email: "change@example.com"})
	drop := mustCreate(t, s, store.Contact{Email: "drop@example.com"})
	keptTask, _ := s.CreateTask(keep.ID, store.Task{Title: "kept", DueDate: t0})
	droppedTask, _ := s.CreateTask(keep.ID, store.Task{Title: "dropped", DueDate: t0})
	_, _ = s.CreateNote(drop.ID, store.Note{Body: "goes with its contact"})
	mc := mustM360Contact(t, s, store.M360Contact{AccountID: acct1, Email: "m@example.com"})

	st := s.Snapshot()
	log := observe(s)
	// Restore tells nothing, even of a state that differs.
	if err := s.Restore(store.State{Locations: st.Locations}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "restore", log.take())
	if err := s.Restore(st); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "restore back", log.take())

	// Import tells what differs: the same state again is nothing.
	if err := s.Import(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "same state", log.take())

	next := s.Snapshot()
	next.Contacts = slices.DeleteFunc(next.Contacts, func(c store.Contact) bool { return c.ID == drop.ID })
	next.Notes = nil
	for i := range next.Contacts {
		if next.Contacts[i].ID == change.ID {
			next.Contacts[i].FirstName = "Changed"
		}
	}
	next.Tasks = slices.DeleteFunc(next.Tasks, func(t store.Task) bool { return t.ID == droppedTask.ID })
	added := store.Contact{ID: "ADDED000000000000001", LocationID: loc, DateAdded: t0.Add(time.Hour), DateUpdated: t0.Add(time.Hour)}
	next.Contacts = append(next.Contacts, added)
	next.Tasks = append(next.Tasks, store.Task{ID: "ADDEDTASK00000000001", ContactID: added.ID, Title: "new", DueDate: t0})
	next.M360Contacts = nil
	if err := s.Import(next); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "import", log.take(),
		"updated contact "+change.ID+" @"+loc,
		"created contact "+added.ID+" @"+loc,
		"created task ADDEDTASK00000000001 @"+loc,
		"deleted task "+droppedTask.ID+" @"+loc,
		"deleted contact "+drop.ID+" @"+loc,
		"deleted m360contact "+fmt.Sprint(mc.ID)+" @")
	if _, err := s.Task(keep.ID, keptTask.ID); err != nil {
		t.Errorf("kept task: %v", err)
	}

	// A refused import changes nothing and tells nothing.
	bad := s.Snapshot()
	bad.Tasks = append(bad.Tasks, store.Task{ID: "ORPHAN", ContactID: "nobody", Title: "x"})
	if err := s.Import(bad); err == nil {
		t.Fatal("import of an orphan task succeeded")
	}
	wantLines(t, "refused import", log.take())
}

func TestStore_ObserveSubscribedTellsOnlyWhileSomeoneIsSubscribed(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	s.PutM360Account(store.M360Account{ID: acct1, Name: "One"})
	log := &changeLog{}
	s.ObserveSubscribed(func(c store.Change) { log.lines = append(log.lines, describe(c)) })

	mustCreate(t, s, store.Contact{Email: "unheard@example.com"})
	mustM360Contact(t, s, store.M360Contact{AccountID: acct1, Email: "unheard@example.com"})
	wantLines(t, "no subscription", log.take())

	// A HighLevel app's subscription: changes of both APIs are told.
	s.SetWebhook(store.Webhook{ClientID: "app", URL: "http://127.0.0.1:1/hook"})
	c := mustCreate(t, s, store.Contact{Email: "heard@example.com"})
	m := mustM360Contact(t, s, store.M360Contact{AccountID: acct1, Email: "heard@example.com"})
	wantLines(t, "app subscribed", log.take(), "created contact "+c.ID+" @"+loc, fmt.Sprintf("created m360contact %d @", m.ID))
	s.SetWebhook(store.Webhook{ClientID: "app"}) // no URL: dropped
	mustCreate(t, s, store.Contact{Email: "unheard-again@example.com"})
	wantLines(t, "app unsubscribed", log.take())

	// A Marketing 360 account's subscription.
	w, err := s.CreateM360Webhook(store.M360Webhook{AccountID: acct1, URL: "http://127.0.0.1:1/hook", Events: []string{"contact.created"}})
	if err != nil {
		t.Fatal(err)
	}
	c = mustCreate(t, s, store.Contact{Email: "heard-again@example.com"})
	wantLines(t, "account subscribed", log.take(), "created contact "+c.ID+" @"+loc)

	// An import tells what it changed when the state before or after it
	// holds a subscription.
	subscribed := s.Snapshot()
	if err := s.DeleteM360Webhook(acct1, w.ID); err != nil {
		t.Fatal(err)
	}
	quiet := s.Snapshot()
	quiet.Contacts = quiet.Contacts[:1]
	if err := s.Import(quiet); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "import with no subscription before or after", log.take())
	if err := s.Import(subscribed); err != nil {
		t.Fatal(err)
	}
	if got := len(log.take()); got != len(subscribed.Contacts)-1 {
		t.Errorf("import that brings a subscription told %d changes, want %d (the contacts it brought back)", got, len(subscribed.Contacts)-1)
	}
	if err := s.Import(quiet); err != nil {
		t.Fatal(err)
	}
	if got := len(log.take()); got != len(subscribed.Contacts)-1 {
		t.Errorf("import that drops the subscription told %d changes, want %d (the contacts it deleted)", got, len(subscribed.Contacts)-1)
	}
}

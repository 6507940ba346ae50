package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
)

const (
	acct1 int64 = 7001
	acct2 int64 = 7002
)

// newM360 returns a store on a manual clock stopped at t0 with two accounts.
func newM360(t testing.TB) (*store.Store, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	s := store.New(clk, store.NewIDs(1))
	s.PutM360Account(store.M360Account{ID: acct1, Name: "One", Timezone: "America/Denver"})
	s.PutM360Account(store.M360Account{ID: acct2, Name: "Two"})
	return s, clk
}

func mustM360Contact(t testing.TB, s *store.Store, c store.M360Contact) store.M360Contact {
	t.Helper()
	if c.AccountID == 0 {
		c.AccountID = acct1
	}
	got, err := s.CreateM360Contact(c)
	if err != nil {
		t.Fatalf("CreateM360Contact(%+v): %v", c, err)
	}
	return got
}

func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var c *store.ConflictError
	if !errors.As(err, &c) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("error %v (%T) is not a *ConflictError", err, err)
	}
	if c.Field != field {
		t.Errorf("ConflictError.Field = %q, want %q", c.Field, field)
	}
}

func TestM360Accounts(t *testing.T) {
	s, _ := newM360(t)
	a, err := s.M360Account(acct1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "One" || a.Created != t0.Unix() {
		t.Errorf("account = %+v", a)
	}
	auto := s.PutM360Account(store.M360Account{Name: "Auto"})
	if auto.ID != acct2+1 {
		t.Errorf("auto account id = %d, want %d (after the largest)", auto.ID, acct2+1)
	}
	// Replacing keeps the creation time.
	again := s.PutM360Account(store.M360Account{ID: acct1, Name: "Renamed"})
	if again.Created != a.Created {
		t.Errorf("replaced account created = %d, want %d", again.Created, a.Created)
	}
	_, err = s.M360Account(1)
	wantNotFound(t, err, "Account")
	if got := len(s.M360Accounts()); got != 3 {
		t.Errorf("M360Accounts has %d, want 3", got)
	}
}

func TestM360ContactIDsAndTimestamps(t *testing.T) {
	s, clk := newM360(t)
	a := mustM360Contact(t, s, store.M360Contact{FirstName: "A"})
	clk.Advance(2 * time.Second)
	b := mustM360Contact(t, s, store.M360Contact{FirstName: "B", AccountID: acct2})
	if a.ID != store.M360FirstID || b.ID != store.M360FirstID+1 {
		t.Errorf("ids = %d, %d, want %d, %d (one sequence per table)", a.ID, b.ID, store.M360FirstID, store.M360FirstID+1)
	}
	if a.Created != t0.Unix() || a.Updated != a.Created || b.Created != t0.Unix()+2 {
		t.Errorf("timestamps a=%d/%d b=%d", a.Created, a.Updated, b.Created)
	}
	// A task's ids come from its own sequence.
	task, err := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: a.ID, Title: "T"})
	if err != nil {
		t.Fatal(err)
	}
	if task.ID != store.M360FirstID {
		t.Errorf("task id = %d, want %d", task.ID, store.M360FirstID)
	}
	// Another account's contact is not found, and cannot be changed.
	_, err = s.M360Contact(acct1, b.ID)
	wantNotFound(t, err, "Contact")
	_, err = s.UpdateM360Contact(acct1, b.ID, func(*store.M360Contact) error { return nil })
	wantNotFound(t, err, "Contact")
	wantNotFound(t, s.DeleteM360Contact(acct1, b.ID), "Contact")
	_, err = s.CreateM360Contact(store.M360Contact{AccountID: 1})
	wantNotFound(t, err, "Account")
}

func TestM360ContactEmailUnique(t *testing.T) {
	s, _ := newM360(t)
	a := mustM360Contact(t, s, store.M360Contact{Email: "Jane@Example.com"})
	b := mustM360Contact(t, s, store.M360Contact{Email: "bob@example.com"})
	mustM360Contact(t, s, store.M360Contact{Email: "jane@example.com", AccountID: acct2}) // another account

	tests := []struct {
		name  string
		do    func() error
		field string // "" for success
	}{
		{"create same email other case", func() error {
			_, err := s.CreateM360Contact(store.M360Contact{AccountID: acct1, Email: "JANE@example.COM"})
			return err
		}, "email"},
		{"update to a used email", func() error {
			_, err := s.UpdateM360Contact(acct1, b.ID, func(c *store.M360Contact) error { c.Email = "jane@example.com"; return nil })
			return err
		}, "email"},
		{"update keeping its own email", func() error {
			_, err := s.UpdateM360Contact(acct1, a.ID, func(c *store.M360Contact) error { c.FirstName = "J"; return nil })
			return err
		}, ""},
		{"contacts without email", func() error {
			if _, err := s.CreateM360Contact(store.M360Contact{AccountID: acct1}); err != nil {
				return err
			}
			_, err := s.CreateM360Contact(store.M360Contact{AccountID: acct1})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantConflict(t, err, tt.field)
		})
	}
	// Once a's email changes, the old one is free again.
	if _, err := s.UpdateM360Contact(acct1, a.ID, func(c *store.M360Contact) error { c.Email = "new@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	mustM360Contact(t, s, store.M360Contact{Email: "jane@example.com"})
	// And after a delete.
	if err := s.DeleteM360Contact(acct1, b.ID); err != nil {
		t.Fatal(err)
	}
	mustM360Contact(t, s, store.M360Contact{Email: "BOB@example.com"})
}

func TestM360ContactsFilterAndOrder(t *testing.T) {
	s, clk := newM360(t)
	var ids []int64
	for i := range 5 {
		c := mustM360Contact(t, s, store.M360Contact{Email: fmt.Sprintf("c%d@example.com", i),
			ExternalIDs: store.M360ExternalIDs{GHL: fmt.Sprintf("ghl%d", i%2)}})
		ids = append(ids, c.ID)
		clk.Advance(time.Second)
	}
	// Update the first two: they move to the end of the updatedSince order,
	// in the same second, so id breaks the tie.
	clk.Advance(10 * time.Second)
	for _, id := range []int64{ids[1], ids[0]} {
		if _, err := s.UpdateM360Contact(acct1, id, func(c *store.M360Contact) error { c.Company = "X"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	since := func(v int64) *int64 { return &v }
	page := func(p, size int) store.M360Paging { return store.M360Paging{Page: p, PageSize: size} }
	tests := []struct {
		name      string
		f         store.M360ContactFilter
		want      []int64
		wantTotal int
	}{
		{"all by id", store.M360ContactFilter{M360Paging: page(1, 25)}, ids, 5},
		{"second page", store.M360ContactFilter{M360Paging: page(2, 2)}, ids[2:4], 5},
		{"past the end", store.M360ContactFilter{M360Paging: page(4, 2)}, nil, 5},
		{"huge page", store.M360ContactFilter{M360Paging: page(1<<30, 100)}, nil, 5},
		{"page size 0", store.M360ContactFilter{M360Paging: page(1, 0)}, nil, 5},
		{"updatedSince orders by updated then id", store.M360ContactFilter{M360Paging: page(1, 25), M360Changes: store.M360Changes{UpdatedSince: since(t0.Unix() + 2)}},
			[]int64{ids[2], ids[3], ids[4], ids[0], ids[1]}, 5},
		{"updatedSince after the creates", store.M360ContactFilter{M360Paging: page(1, 25), M360Changes: store.M360Changes{UpdatedSince: since(t0.Unix() + 6)}},
			[]int64{ids[0], ids[1]}, 2},
		{"email case-insensitive", store.M360ContactFilter{M360Paging: page(1, 25), Email: " C3@EXAMPLE.com"}, ids[3:4], 1},
		{"email unknown", store.M360ContactFilter{M360Paging: page(1, 25), Email: "nobody@example.com"}, nil, 0},
		{"externalId", store.M360ContactFilter{M360Paging: page(1, 25), M360Changes: store.M360Changes{ExternalID: "ghl1"}}, []int64{ids[1], ids[3]}, 2},
		{"externalId and updatedSince", store.M360ContactFilter{M360Paging: page(1, 25), M360Changes: store.M360Changes{ExternalID: "ghl0", UpdatedSince: since(t0.Unix() + 6)}},
			[]int64{ids[0]}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.M360Contacts(acct1, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, c := range got {
				gotIDs = append(gotIDs, c.ID)
			}
			if !reflect.DeepEqual(gotIDs, tt.want) || total != tt.wantTotal {
				t.Errorf("got %v total %d, want %v total %d", gotIDs, total, tt.want, tt.wantTotal)
			}
			if got == nil {
				t.Error("page is nil, want an empty slice")
			}
		})
	}
	if got, total, _ := s.M360Contacts(acct2, store.M360ContactFilter{M360Paging: page(1, 25)}); len(got) != 0 || total != 0 {
		t.Errorf("account 2 sees %d contacts", total)
	}
	if _, _, err := s.M360Contacts(1, store.M360ContactFilter{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestM360Copies(t *testing.T) {
	s, _ := newM360(t)
	in := store.M360Contact{Tags: []string{"a"}, Types: []store.M360Ref{{ID: 1}}, Source: &store.M360Ref{ID: 2},
		CustomFields: map[string]string{"k": "v"}}
	c := mustM360Contact(t, s, in)
	in.Tags[0], in.Types[0].ID, in.Source.ID, in.CustomFields["k"] = "x", 9, 9, "x"
	c.Tags[0], c.Types[0].ID, c.Source.ID, c.CustomFields["k"] = "y", 8, 8, "y"
	got, _ := s.M360Contact(acct1, c.ID)
	if got.Tags[0] != "a" || got.Types[0].ID != 1 || got.Source.ID != 2 || got.CustomFields["k"] != "v" {
		t.Errorf("stored contact changed through a caller's copy: %+v", got)
	}
	// An update's fn works on a copy; a failing fn changes nothing.
	_, err := s.UpdateM360Contact(acct1, c.ID, func(c *store.M360Contact) error {
		c.Tags[0] = "mutated"
		c.CustomFields["k"] = "mutated"
		return errors.New("no")
	})
	if err == nil || err.Error() != "no" {
		t.Fatalf("fn error not returned: %v", err)
	}
	got, _ = s.M360Contact(acct1, c.ID)
	if got.Tags[0] != "a" || got.CustomFields["k"] != "v" {
		t.Errorf("failed update leaked: %+v", got)
	}
	list, _, _ := s.M360Contacts(acct1, store.M360ContactFilter{M360Paging: store.M360Paging{Page: 1, PageSize: 10}})
	list[0].Tags[0] = "z"
	got, _ = s.M360Contact(acct1, c.ID)
	if got.Tags[0] != "a" {
		t.Error("list returned the stored slice")
	}
	due := int64(5)
	task, _ := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "t", DueAt: &due})
	due = 6
	*task.DueAt = 7
	gotTask, _ := s.M360Task(acct1, c.ID, task.ID)
	if *gotTask.DueAt != 5 {
		t.Errorf("task dueAt = %d, want 5", *gotTask.DueAt)
	}
	w, _ := s.CreateM360Webhook(store.M360Webhook{AccountID: acct1, URL: "https://x", Events: []string{"contact.created"}})
	w.Events[0] = "x"
	gotW, _ := s.M360Webhook(acct1, w.ID)
	if gotW.Events[0] != "contact.created" {
		t.Error("webhook events shared")
	}
}

func TestM360Tasks(t *testing.T) {
	s, clk := newM360(t)
	c := mustM360Contact(t, s, store.M360Contact{})
	other := mustM360Contact(t, s, store.M360Contact{})
	done, err := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "done", Completed: true})
	if err != nil {
		t.Fatal(err)
	}
	if done.CompletedAt == nil || *done.CompletedAt != done.Created {
		t.Errorf("task created completed: completedAt = %v, want %d", done.CompletedAt, done.Created)
	}
	open, _ := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "open", CompletedAt: new(int64)})
	if open.CompletedAt != nil {
		t.Errorf("open task has completedAt %d (the store's, not the caller's)", *open.CompletedAt)
	}
	_, err = s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: 999, Title: "x"})
	wantNotFound(t, err, "Contact")
	_, err = s.CreateM360Task(store.M360Task{AccountID: acct2, ContactID: c.ID, Title: "x"})
	wantNotFound(t, err, "Contact")

	clk.Advance(time.Minute)
	complete := func(v bool) func(*store.M360Task) error {
		return func(t *store.M360Task) error { t.Completed = v; return nil }
	}
	got, err := s.UpdateM360Task(acct1, c.ID, open.ID, complete(true))
	if err != nil {
		t.Fatal(err)
	}
	if got.CompletedAt == nil || *got.CompletedAt != t0.Unix()+60 || got.Updated != t0.Unix()+60 {
		t.Errorf("completing: %+v", got)
	}
	clk.Advance(time.Minute)
	got, _ = s.UpdateM360Task(acct1, c.ID, open.ID, func(t *store.M360Task) error { t.Title = "renamed"; return nil })
	if got.CompletedAt == nil || *got.CompletedAt != t0.Unix()+60 {
		t.Errorf("an update of a completed task moved completedAt: %+v", got)
	}
	got, _ = s.UpdateM360Task(acct1, c.ID, open.ID, complete(false))
	if got.CompletedAt != nil {
		t.Errorf("reopened task keeps completedAt %d", *got.CompletedAt)
	}

	// Lookups need the right contact.
	_, err = s.M360Task(acct1, other.ID, open.ID)
	wantNotFound(t, err, "Task")
	_, err = s.M360Task(acct1, 999, open.ID)
	wantNotFound(t, err, "Contact")
	wantNotFound(t, s.DeleteM360Task(acct2, c.ID, open.ID), "Contact")

	yes, no := true, false
	since := t0.Unix() + 60
	tests := []struct {
		name string
		f    store.M360TaskFilter
		want []int64
	}{
		{"all", store.M360TaskFilter{}, []int64{done.ID, open.ID}},
		{"completed", store.M360TaskFilter{Completed: &yes}, []int64{done.ID}},
		{"open", store.M360TaskFilter{Completed: &no}, []int64{open.ID}},
		{"updatedSince", store.M360TaskFilter{M360Changes: store.M360Changes{UpdatedSince: &since}}, []int64{open.ID}},
		{"other contact", store.M360TaskFilter{ContactID: other.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.M360Paging = store.M360Paging{Page: 1, PageSize: 25}
			list, total, err := s.M360Tasks(acct1, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, t := range list {
				ids = append(ids, t.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) || total != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", ids, total, tt.want)
			}
		})
	}
	if _, _, err := s.M360Tasks(acct1, store.M360TaskFilter{ContactID: 999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	if err := s.DeleteM360Task(acct1, c.ID, open.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.M360Task(acct1, c.ID, open.ID)
	wantNotFound(t, err, "Task")
}

func TestM360NotesAndEvents(t *testing.T) {
	s, _ := newM360(t)
	c := mustM360Contact(t, s, store.M360Contact{})
	n, err := s.CreateM360Note(store.M360Note{AccountID: acct1, ContactID: c.ID, Body: "hi", Author: "jdoe"})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := s.UpdateM360Note(acct1, c.ID, n.ID, func(n *store.M360Note) error { n.Body = "bye"; n.ID = 5; return nil })
	if err != nil || n2.Body != "bye" || n2.ID != n.ID || n2.Author != "jdoe" {
		t.Errorf("UpdateM360Note = %+v, %v", n2, err)
	}
	notes, total, _ := s.M360Notes(acct1, store.M360NoteFilter{M360Paging: store.M360Paging{Page: 1, PageSize: 10}, ContactID: c.ID})
	if total != 1 || len(notes) != 1 {
		t.Errorf("notes = %v", notes)
	}
	_, err = s.M360Note(acct2, c.ID, n.ID)
	wantNotFound(t, err, "Contact")

	tests := []struct {
		name    string
		e       store.M360Event
		wantErr string // "" ok, "Contact" not found, else an invalid field
	}{
		{"ok", store.M360Event{ContactID: c.ID, Start: 100, End: 200}, ""},
		{"end equals start", store.M360Event{ContactID: c.ID, Start: 100, End: 100}, "end"},
		{"end before start", store.M360Event{ContactID: c.ID, Start: 100, End: 50}, "end"},
		{"bad status", store.M360Event{ContactID: c.ID, Start: 1, End: 2, Status: "maybe"}, "status"},
		{"unknown contact", store.M360Event{ContactID: 999, Start: 1, End: 2}, "Contact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e.AccountID = acct1
			got, err := s.CreateM360Event(tt.e)
			switch tt.wantErr {
			case "":
				if err != nil || got.Status != store.M360EventScheduled {
					t.Errorf("got %+v, %v", got, err)
				}
			case "Contact":
				wantNotFound(t, err, "Contact")
			default:
				var inv *store.InvalidError
				if !errors.As(err, &inv) || inv.Field != tt.wantErr {
					t.Errorf("error %v, want invalid %s", err, tt.wantErr)
				}
			}
		})
	}
	e2, _ := s.CreateM360Event(store.M360Event{AccountID: acct1, ContactID: c.ID, Start: 50, End: 60})
	_, err = s.UpdateM360Event(acct1, e2.ID, func(e *store.M360Event) error { e.End = 10; return nil })
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("update to end < start: %v", err)
	}
	from, to := int64(50), int64(100)
	events, total, _ := s.M360Events(acct1, store.M360EventFilter{M360Paging: store.M360Paging{Page: 1, PageSize: 10}, From: &from, To: &to})
	if total != 1 || events[0].ID != e2.ID {
		t.Errorf("events in [50,100) = %+v", events)
	}
	all, _, _ := s.M360Events(acct1, store.M360EventFilter{M360Paging: store.M360Paging{Page: 1, PageSize: 10}})
	if len(all) != 2 || all[0].ID != e2.ID {
		t.Errorf("events are not ordered by start: %+v", all)
	}
	_, err = s.M360Event(acct2, e2.ID)
	wantNotFound(t, err, "Event")
}

func TestM360TriggerIdempotent(t *testing.T) {
	s, _ := newM360(t)
	c := mustM360Contact(t, s, store.M360Contact{})
	other := mustM360Contact(t, s, store.M360Contact{AccountID: acct2})
	active, _ := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Name: "A"})
	paused, _ := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Name: "P", Status: store.M360CampaignPaused})
	if active.Status != store.M360CampaignActive || active.ID != store.M360FirstID {
		t.Errorf("campaign = %+v", active)
	}
	first, isNew, err := s.TriggerM360Campaign(acct1, active.ID, c.ID)
	if err != nil || !isNew {
		t.Fatalf("first trigger: %+v %v %v", first, isNew, err)
	}
	again, isNew, err := s.TriggerM360Campaign(acct1, active.ID, c.ID)
	if err != nil || isNew || again != first {
		t.Errorf("second trigger = %+v new=%v err=%v, want the first %+v", again, isNew, err, first)
	}
	_, _, err = s.TriggerM360Campaign(acct1, paused.ID, c.ID)
	wantConflict(t, err, "campaignId")
	_, _, err = s.TriggerM360Campaign(acct1, 999, c.ID)
	wantNotFound(t, err, "Campaign")
	_, _, err = s.TriggerM360Campaign(acct1, active.ID, other.ID)
	wantNotFound(t, err, "Contact")
	_, _, err = s.TriggerM360Campaign(acct2, active.ID, other.ID)
	wantNotFound(t, err, "Campaign")

	// Paused after the trigger: the same trigger again.
	if _, err := s.PutM360Campaign(store.M360Campaign{ID: active.ID, AccountID: acct1, Name: "A", Status: store.M360CampaignPaused}); err != nil {
		t.Fatal(err)
	}
	again, isNew, err = s.TriggerM360Campaign(acct1, active.ID, c.ID)
	if err != nil || isNew || again.ID != first.ID {
		t.Errorf("trigger on a campaign paused since = %+v %v %v", again, isNew, err)
	}
	triggers, total, _ := s.M360Triggers(acct1, active.ID, store.M360Paging{Page: 1, PageSize: 10})
	if total != 1 || triggers[0].ID != first.ID {
		t.Errorf("triggers = %+v", triggers)
	}
	if _, err := s.PutM360Campaign(store.M360Campaign{ID: active.ID, AccountID: acct2}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("moving a campaign to another account: %v", err)
	}
	if _, err := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Status: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
}

func TestM360DeleteContactCascades(t *testing.T) {
	s, _ := newM360(t)
	c := mustM360Contact(t, s, store.M360Contact{Email: "gone@example.com"})
	keep := mustM360Contact(t, s, store.M360Contact{})
	camp, _ := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Name: "A"})
	for _, id := range []int64{c.ID, keep.ID} {
		s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: id, Title: "t"})
		s.CreateM360Note(store.M360Note{AccountID: acct1, ContactID: id, Body: "n"})
		s.CreateM360Event(store.M360Event{AccountID: acct1, ContactID: id, Start: 1, End: 2})
		s.TriggerM360Campaign(acct1, camp.ID, id)
	}
	if err := s.DeleteM360Contact(acct1, c.ID); err != nil {
		t.Fatal(err)
	}
	st := s.Snapshot()
	counts := []int{len(st.M360Contacts), len(st.M360Tasks), len(st.M360Notes), len(st.M360Events), len(st.M360Triggers)}
	if !reflect.DeepEqual(counts, []int{1, 1, 1, 1, 1}) {
		t.Errorf("after the cascade: contacts, tasks, notes, events, triggers = %v, want one each", counts)
	}
	for _, tk := range st.M360Tasks {
		if tk.ContactID != keep.ID {
			t.Errorf("task %d of the deleted contact remains", tk.ID)
		}
	}
	// The trigger is gone: triggering again makes a new one.
	c2 := mustM360Contact(t, s, store.M360Contact{Email: "gone@example.com"})
	if _, isNew, err := s.TriggerM360Campaign(acct1, camp.ID, c2.ID); err != nil || !isNew {
		t.Errorf("trigger of a new contact: new=%v err=%v", isNew, err)
	}
	wantNotFound(t, s.DeleteM360Contact(acct1, c.ID), "Contact")
}

func TestM360Webhooks(t *testing.T) {
	s, _ := newM360(t)
	w, err := s.CreateM360Webhook(store.M360Webhook{AccountID: acct1, URL: "https://example.com/h", Events: []string{"contact.created"}, Secret: "s"})
	if err != nil || w.ID != store.M360FirstID || w.Secret != "s" {
		t.Fatalf("CreateM360Webhook = %+v, %v", w, err)
	}
	list, total, _ := s.M360Webhooks(acct2, store.M360Paging{Page: 1, PageSize: 10})
	if total != 0 || len(list) != 0 {
		t.Error("account 2 sees account 1's webhook")
	}
	wantNotFound(t, s.DeleteM360Webhook(acct2, w.ID), "Webhook")
	if err := s.DeleteM360Webhook(acct1, w.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.M360Webhook(acct1, w.ID)
	wantNotFound(t, err, "Webhook")
}

// seedM360 fills a store with one of everything.
func seedM360(t *testing.T, s *store.Store) {
	t.Helper()
	c := mustM360Contact(t, s, store.M360Contact{FirstName: "Jane", Email: "jane@example.com", Tags: []string{"a"},
		Source: &store.M360Ref{ID: 1, Name: "Web"}, CustomFields: map[string]string{"k": "v"}, ExternalIDs: store.M360ExternalIDs{GHL: "g1"}})
	due := int64(123)
	if _, err := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "t", DueAt: &due, Completed: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateM360Note(store.M360Note{AccountID: acct1, ContactID: c.ID, Body: "n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateM360Event(store.M360Event{AccountID: acct1, ContactID: c.ID, Start: 1, End: 2}); err != nil {
		t.Fatal(err)
	}
	camp, _ := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Name: "A"})
	if _, _, err := s.TriggerM360Campaign(acct1, camp.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateM360Webhook(store.M360Webhook{AccountID: acct1, URL: "https://x.example", Events: []string{"task.created"}, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
}

func TestM360SnapshotRestore(t *testing.T) {
	s, clk := newM360(t)
	seedM360(t, s)
	st := s.Snapshot()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back store.State
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(-time.Hour)) // a clock behind the state
	s2 := store.New(clk, store.NewIDs(2))
	if err := s2.Restore(back); err != nil {
		t.Fatal(err)
	}
	if got := s2.Snapshot(); !reflect.DeepEqual(got, st) {
		t.Errorf("restored state differs:\n got %+v\nwant %+v", got, st)
	}
	// The sequences go on after the restored ids, and stamps never go back.
	c, err := s2.CreateM360Contact(store.M360Contact{AccountID: acct1})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != store.M360FirstID+1 || c.Created < st.M360Contacts[0].Updated {
		t.Errorf("new contact after restore = %+v", c)
	}
	// The email index is restored.
	_, err = s2.CreateM360Contact(store.M360Contact{AccountID: acct1, Email: "JANE@example.com"})
	wantConflict(t, err, "email")
	// The trigger index is restored.
	if _, isNew, _ := s2.TriggerM360Campaign(acct1, st.M360Campaigns[0].ID, st.M360Contacts[0].ID); isNew {
		t.Error("restored trigger not found: a new one was made")
	}
	// An empty state has no M360 fields in JSON.
	empty, _ := json.Marshal(store.New(clk, store.NewIDs(1)).Snapshot())
	var fields map[string]any
	json.Unmarshal(empty, &fields)
	for k := range fields {
		if len(k) > 4 && k[:4] == "m360" {
			t.Errorf("empty snapshot has %s", k)
		}
	}
}

func TestM360RestoreRejects(t *testing.T) {
	base := func(t *testing.T) store.State {
		s, _ := newM360(t)
		seedM360(t, s)
		return s.Snapshot()
	}
	tests := []struct {
		name  string
		spoil func(*store.State)
	}{
		{"duplicate account", func(st *store.State) { st.M360Accounts = append(st.M360Accounts, st.M360Accounts[0]) }},
		{"contact of no account", func(st *store.State) { st.M360Contacts[0].AccountID = 1 }},
		{"duplicate contact id", func(st *store.State) {
			c := st.M360Contacts[0]
			c.Email = ""
			st.M360Contacts = append(st.M360Contacts, c)
		}},
		{"duplicate email", func(st *store.State) {
			c := st.M360Contacts[0]
			c.ID = 5000
			st.M360Contacts = append(st.M360Contacts, c)
		}},
		{"task of no contact", func(st *store.State) { st.M360Tasks[0].ContactID = 1 }},
		{"task of another account's contact", func(st *store.State) { st.M360Tasks[0].AccountID = acct2 }},
		{"note of no contact", func(st *store.State) { st.M360Notes[0].ContactID = 1 }},
		{"event ending before it starts", func(st *store.State) { st.M360Events[0].End = 0 }},
		{"campaign status", func(st *store.State) { st.M360Campaigns[0].Status = "on" }},
		{"trigger of no campaign", func(st *store.State) { st.M360Triggers[0].CampaignID = 1 }},
		{"trigger twice", func(st *store.State) {
			tr := st.M360Triggers[0]
			tr.ID = 5000
			st.M360Triggers = append(st.M360Triggers, tr)
		}},
		{"webhook of no account", func(st *store.State) { st.M360Webhooks[0].AccountID = 1 }},
		{"zero id", func(st *store.State) { st.M360Webhooks[0].ID = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newM360(t)
			seedM360(t, s)
			before := s.Snapshot()
			st := base(t)
			tt.spoil(&st)
			err := s.Restore(st)
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Restore = %v, want an invalid error", err)
			}
			if got := s.Snapshot(); !reflect.DeepEqual(got, before) {
				t.Error("a failed restore changed the state")
			}
		})
	}
}

func TestM360Concurrent(t *testing.T) {
	s, clk := newM360(t)
	camp, _ := s.PutM360Campaign(store.M360Campaign{AccountID: acct1, Name: "A"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				c, err := s.CreateM360Contact(store.M360Contact{AccountID: acct1, Email: fmt.Sprintf("g%d-%d@example.com", g, i)})
				if err != nil {
					t.Error(err)
					return
				}
				s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c.ID, Title: "t"})
				s.TriggerM360Campaign(acct1, camp.ID, c.ID)
				s.M360Contacts(acct1, store.M360ContactFilter{M360Paging: store.M360Paging{Page: 1, PageSize: 5}})
				s.UpdateM360Contact(acct1, c.ID, func(c *store.M360Contact) error { c.Tags = append(c.Tags, "x"); return nil })
				if i%3 == 0 {
					s.DeleteM360Contact(acct1, c.ID)
				}
				s.Snapshot()
				clk.Advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	st := s.Snapshot()
	seen := map[int64]bool{}
	for _, c := range st.M360Contacts {
		if seen[c.ID] {
			t.Fatalf("id %d used twice", c.ID)
		}
		seen[c.ID] = true
	}
	if len(st.M360Contacts) != 8*33 || len(st.M360Tasks) != 8*33 || len(st.M360Triggers) != 8*33 {
		t.Errorf("contacts %d tasks %d triggers %d, want %d each", len(st.M360Contacts), len(st.M360Tasks), len(st.M360Triggers), 8*33)
	}
}

// TestM360RecordLookups pins the lookup rules the generic operations share:
// a record under a contact is found only under its own contact (a missing
// contact, 0 included, is the contact's 404), an event under its account
// only, and a failed update changes nothing.
func TestM360RecordLookups(t *testing.T) {
	s, clk := newM360(t)
	c1 := mustM360Contact(t, s, store.M360Contact{})
	c2 := mustM360Contact(t, s, store.M360Contact{})
	task, err := s.CreateM360Task(store.M360Task{AccountID: acct1, ContactID: c1.ID, Title: "call"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := s.CreateM360Note(store.M360Note{AccountID: acct1, ContactID: c1.ID, Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.M360Task(acct1, c2.ID, task.ID)
	wantNotFound(t, err, "Task")
	_, err = s.M360Task(acct1, 0, task.ID)
	wantNotFound(t, err, "Contact")
	wantNotFound(t, s.DeleteM360Task(acct1, c2.ID, task.ID), "Task")
	_, err = s.UpdateM360Note(acct1, c2.ID, note.ID, func(*store.M360Note) error { return nil })
	wantNotFound(t, err, "Note")
	wantNotFound(t, s.DeleteM360Note(acct1, 999, note.ID), "Contact")
	_, err = s.CreateM360Task(store.M360Task{AccountID: acct2, ContactID: c1.ID, Title: "x"})
	wantNotFound(t, err, "Contact")

	e, err := s.CreateM360Event(store.M360Event{AccountID: acct1, ContactID: c1.ID, Start: 10, End: 20})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	boom := errors.New("boom")
	if _, err := s.UpdateM360Event(acct1, e.ID, func(e *store.M360Event) error { e.Title = "x"; return boom }); err != boom {
		t.Errorf("UpdateM360Event: error %v, want fn's", err)
	}
	if _, err := s.UpdateM360Event(acct1, e.ID, func(e *store.M360Event) error { e.ContactID = 999; return nil }); err == nil {
		t.Error("UpdateM360Event moved an event to a missing contact")
	}
	if got, err := s.M360Event(acct1, e.ID); err != nil || got != e {
		t.Errorf("after failed updates: %+v, %v; want %+v", got, err, e)
	}
	moved, err := s.UpdateM360Event(acct1, e.ID, func(e *store.M360Event) error { e.ContactID = c2.ID; e.ID = 1; return nil })
	if err != nil || moved.ContactID != c2.ID || moved.ID != e.ID || moved.Created != e.Created || moved.Updated != e.Created+60 {
		t.Errorf("move event: %+v, %v", moved, err)
	}
	wantNotFound(t, s.DeleteM360Event(acct2, e.ID), "Event")
	if err := s.DeleteM360Event(acct1, e.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.M360Event(acct1, e.ID)
	wantNotFound(t, err, "Event")
}

package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/contactbridge/contactbridge/mock/store"
)

// memoOf returns the Memo ContactsPageFunc hands along with the contact id.
func memoOf(t *testing.T, s *store.Store, id string) *store.Memo {
	t.Helper()
	var m *store.Memo
	s.ContactsPageFunc(loc, nil, 100, nil, func(c *store.Contact, cm *store.Memo) {
		if c.ID == id {
			m = cm
		}
	})
	if m == nil {
		t.Fatalf("contact %s has no memo", id)
	}
	return m
}

func TestMemo_KeptUntilTheContactChanges(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	a := mustCreate(t, s, store.Contact{FirstName: "Ada", Email: "ada@example.com"})
	b := mustCreate(t, s, store.Contact{FirstName: "Bob", Email: "bob@example.com"})
	memoOf(t, s, a.ID).Store(0, []byte("ada v1"))
	memoOf(t, s, b.ID).Store(1, []byte("bob v1"))

	// Reads keep it; a write to another contact keeps it too.
	if got := string(memoOf(t, s, a.ID).Load(0)); got != "ada v1" {
		t.Fatalf("memo after a read = %q", got)
	}
	if _, err := s.UpdateContact(b.ID, func(c *store.Contact) error { c.FirstName = "Rob"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := string(memoOf(t, s, a.ID).Load(0)); got != "ada v1" {
		t.Errorf("memo of a after b changed = %q", got)
	}
	// b's write gave it a new, empty memo, in every slot.
	for i := range store.MemoSlots {
		if got := memoOf(t, s, b.ID).Load(i); got != nil {
			t.Errorf("slot %d of b after its update = %q, want empty", i, got)
		}
	}
	// A tag change is a write too.
	if _, err := s.UpdateContact(a.ID, func(c *store.Contact) error { c.Tags = append(c.Tags, "vip"); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := memoOf(t, s, a.ID).Load(0); got != nil {
		t.Errorf("memo of a after its update = %q, want empty", got)
	}
	// A restored store starts with empty memos.
	memoOf(t, s, a.ID).Store(0, []byte("ada v2"))
	if err := s.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := memoOf(t, s, a.ID).Load(0); got != nil {
		t.Errorf("memo after a restore = %q, want empty", got)
	}
}

func TestMemo_CopiesCarryNone(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	a := mustCreate(t, s, store.Contact{FirstName: "Ada", Email: "ada@example.com"})
	memoOf(t, s, a.ID).Store(0, []byte("ada"))
	got, err := s.Contact(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The copy equals the contact as created: no cache travels with it.
	if !reflect.DeepEqual(got, a) {
		t.Errorf("Contact = %+v, want %+v", got, a)
	}
	if p := s.ContactsPage(loc, nil, 10, nil); len(p.Contacts) != 1 || !reflect.DeepEqual(p.Contacts[0], a) {
		t.Errorf("ContactsPage = %+v", p)
	}
}

func TestMemo_NilCachesNothing(t *testing.T) {
	t.Parallel()
	var m *store.Memo
	m.Store(0, []byte("x"))
	if got := m.Load(0); got != nil {
		t.Errorf("nil memo Load = %q", got)
	}
}

func TestContactsPageFunc_MatchesContactsPage(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t, 1)
	var made []store.Contact
	for i := range 7 {
		made = append(made, mustCreate(t, s, store.Contact{FirstName: string(rune('A' + i))}))
		clk.Advance(1)
	}
	even := func(c *store.Contact) bool { return (c.FirstName[0]-'A')%2 == 0 }
	for _, tc := range []struct {
		name  string
		after *store.Cursor
		match func(*store.Contact) bool
	}{
		{"first page", nil, nil},
		{"after a cursor", &store.Cursor{DateAdded: made[4].DateAdded, ID: made[4].ID}, nil},
		{"matching", nil, even},
		{"matching after a cursor", &store.Cursor{DateAdded: made[4].DateAdded, ID: made[4].ID}, even},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := s.ContactsPage(loc, tc.after, 2, tc.match)
			var ids []string
			got := s.ContactsPageFunc(loc, tc.after, 2, tc.match, func(c *store.Contact, _ *store.Memo) { ids = append(ids, c.ID) })
			var wantIDs []string
			for _, c := range want.Contacts {
				wantIDs = append(wantIDs, c.ID)
			}
			if !reflect.DeepEqual(ids, wantIDs) || got.Total != want.Total || got.Offset != want.Offset ||
				got.More != want.More || got.Last != want.Last || got.Contacts != nil {
				t.Errorf("ContactsPageFunc = %v %+v, want %v %+v", ids, got, wantIDs, want)
			}
			if n := len(want.Contacts); n > 0 && want.Last.ID != want.Contacts[n-1].ID {
				t.Errorf("Last = %+v, want the page's last contact %s", want.Last, want.Contacts[n-1].ID)
			}
		})
	}
}

func TestContactFunc_HandsTheStoredContactAndItsMemo(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, 1)
	a := mustCreate(t, s, store.Contact{FirstName: "Ada", Email: "ada@example.com"})
	var got *store.Memo
	var name string
	if err := s.ContactFunc(a.ID, func(c *store.Contact, m *store.Memo) { got, name = m, c.FirstName }); err != nil {
		t.Fatal(err)
	}
	if name != "Ada" || got == nil || got != memoOf(t, s, a.ID) {
		t.Errorf("ContactFunc gave %q and memo %p, want Ada and the page's %p", name, got, memoOf(t, s, a.ID))
	}
	err := s.ContactFunc("nope", func(*store.Contact, *store.Memo) { t.Error("fn called for no contact") })
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "Contact" {
		t.Errorf("ContactFunc(nope) = %v, want a contact NotFoundError", err)
	}
}

package store

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

func TestIDIndex_OldestFirstThroughDuplicates(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := New(clk, NewIDs(1))
	s.PutLocation(Location{ID: "loc", AllowDuplicateContact: true})
	var ids []string
	for range 3 {
		c, err := s.CreateContact(Contact{LocationID: "loc", Email: "Same@example.com", Phone: "+15550100"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		clk.Advance(time.Second)
	}
	oldest := func() string {
		c, ok := s.FindDuplicate("loc", "same@example.com", "")
		if !ok {
			return ""
		}
		return c.ID
	}
	if got := oldest(); got != ids[0] {
		t.Fatalf("the oldest of three = %s, want %s", got, ids[0])
	}
	if n := len(s.hl.emails["loc"].ids("same@example.com", s.emailOf)); n != 3 {
		t.Fatalf("the index holds %d ids, want 3", n)
	}
	// An update re-indexes the oldest: it stays first.
	if _, err := s.UpdateContact(ids[0], func(c *Contact) error { c.FirstName = "Ada"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[0] {
		t.Errorf("after an update of the oldest, the oldest = %s, want %s", got, ids[0])
	}
	if err := s.DeleteContact(ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[1] {
		t.Errorf("after the oldest's delete, the oldest = %s, want %s", got, ids[1])
	}
	if _, err := s.UpdateContact(ids[1], func(c *Contact) error { c.Email = "other@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[2] {
		t.Errorf("after the next one's email changed, the oldest = %s, want %s", got, ids[2])
	}
	if err := s.DeleteContact(ids[2]); err != nil {
		t.Fatal(err)
	}
	x := s.hl.emails["loc"]
	if got := oldest(); got != "" || len(x.more) != 0 || len(x.first) != 1 {
		t.Errorf("with one contact left (other@), the index = %v %v and finds %q", x.first, x.more, got)
	}
	if got := s.hl.phones["loc"].firstOther("+15550100", ids[1], s.phoneOf); got != "" {
		t.Errorf("the phone's contact other than %s = %s, want none", ids[1], got)
	}
	if got := s.hl.phones["loc"].firstOther("+15550100", "", s.phoneOf); got != ids[1] {
		t.Errorf("the phone's contact = %s, want %s", got, ids[1])
	}
}

// The indexes know a value by its hash; values that share one must still
// be told apart. Random creates, updates and deletes run on stores whose
// indexes hash as the store does, into two hashes, and into one; after each,
// every value's contacts in the index are those of the store's contacts
// with it, oldest first.
func TestIDIndex_ValuesThatShareAHash(t *testing.T) {
	t.Parallel()
	emails := []string{"a@example.com", "B@example.com", "b@example.com", "ccc@example.com", "dddd@example.com", ""}
	phones := []string{"+15550100", "+15550101", "+155501020", ""}
	for _, h := range []struct {
		name string
		hash func(string) uint64
	}{
		{"maphash", nil},
		{"two hashes", func(s string) uint64 { return uint64(len(s) % 2) }},
		{"one hash", func(string) uint64 { return 7 }},
	} {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
			s := New(clk, NewIDs(1))
			s.PutLocation(Location{ID: "loc", AllowDuplicateContact: true})
			if h.hash != nil {
				s.hl.emails["loc"], s.hl.phones["loc"] = newIDIndexHashing(0, h.hash), newIDIndexHashing(0, h.hash)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			pick := func(values []string) string { return values[rng.IntN(len(values))] }
			var live []string
			for step := range 300 {
				switch op := rng.IntN(5); {
				case op == 4:
					email, phone := pick(emails), pick(phones)
					c, created, err := s.UpsertContact("loc", email, phone, rng.IntN(2) == 0, func(c *Contact) error {
						c.Email, c.Phone = email, phone
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if created {
						live = append(live, c.ID)
					}
				case op < 2 || len(live) == 0:
					c, err := s.CreateContact(Contact{LocationID: "loc", Email: pick(emails), Phone: pick(phones)})
					if err != nil {
						t.Fatal(err)
					}
					live = append(live, c.ID)
				case op == 2:
					email, phone := pick(emails), pick(phones)
					if _, err := s.UpdateContact(live[rng.IntN(len(live))], func(c *Contact) error {
						c.Email, c.Phone = email, phone
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				default:
					i := rng.IntN(len(live))
					if err := s.DeleteContact(live[i]); err != nil {
						t.Fatal(err)
					}
					live = slices.Delete(live, i, i+1)
				}
				clk.Advance(time.Duration(rng.IntN(2)) * time.Millisecond)
				checkIndex(t, step, s, "email", s.hl.emails["loc"], emails, func(c Contact) string { return EmailKey(c.Email) }, s.emailOf)
				checkIndex(t, step, s, "phone", s.hl.phones["loc"], phones, func(c Contact) string { return c.Phone }, s.phoneOf)
			}
		})
	}
}

// checkIndex compares each of values' contacts in x with the store's
// contacts whose field (of) has it.
func checkIndex(t *testing.T, step int, s *Store, field string, x *idIndex, values []string, of func(Contact) string, valueOf func(string) string) {
	t.Helper()
	contacts := s.Snapshot().Contacts
	slices.SortFunc(contacts, func(a, b Contact) int { return compareContacts(&a, &b) })
	for _, v := range values {
		key := v
		if field == "email" {
			key = EmailKey(v)
		}
		if key == "" {
			continue
		}
		var want []string
		for _, c := range contacts {
			if of(c) == key {
				want = append(want, c.ID)
			}
		}
		if got := x.ids(key, valueOf); !slices.Equal(got, want) {
			t.Fatalf("step %d: %s %q: the index holds %v, the store %v", step, field, key, got, want)
		}
		first := ""
		if len(want) > 0 {
			first = want[0]
		}
		if got := x.firstOther(key, "", valueOf); got != first {
			t.Fatalf("step %d: %s %q: the oldest is %q, want %q", step, field, key, got, first)
		}
	}
	// Every slot is a hash's or free, none both.
	used := 0
	for _, id := range x.slots {
		if id != "" {
			used++
		}
	}
	if used != len(x.first) || len(x.slots)-len(x.free) != used {
		t.Fatalf("step %d: %s: %d slots, %d free, %d used, for %d hashes", step, field, len(x.slots), len(x.free), used, len(x.first))
	}
}

// A location that forbids duplicates refuses a value taken, and only that
// one, when every value has the same hash.
func TestIDIndex_DuplicatesWhenEveryValueSharesAHash(t *testing.T) {
	t.Parallel()
	s := New(clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), NewIDs(1))
	s.PutLocation(Location{ID: "loc"})
	one := func(string) uint64 { return 7 }
	s.hl.emails["loc"], s.hl.phones["loc"] = newIDIndexHashing(0, one), newIDIndexHashing(0, one)
	first, err := s.CreateContact(Contact{LocationID: "loc", Email: "a@example.com", Phone: "+15550100"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContact(Contact{LocationID: "loc", Email: "b@example.com", Phone: "+15550101"}); err != nil {
		t.Fatalf("another email and phone of the same hash: %v", err)
	}
	var dup *DuplicateError
	_, err = s.CreateContact(Contact{LocationID: "loc", Email: "A@example.com", Phone: "+15550102"})
	if !errors.As(err, &dup) || dup.ContactID != first.ID || dup.Field != "email" {
		t.Fatalf("the first's email again: %v, want a duplicate of %s", err, first.ID)
	}
}

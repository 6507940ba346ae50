package store

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// sameBytes tells whether a and b are one string in memory.
func sameBytes(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// inBlock tells whether every string of ss lies in one allocation, one after
// the other.
func inBlock(ss ...string) bool {
	for i := 1; i < len(ss); i++ {
		if uintptr(unsafe.Pointer(unsafe.StringData(ss[i-1])))+uintptr(len(ss[i-1])) != uintptr(unsafe.Pointer(unsafe.StringData(ss[i]))) {
			return false
		}
	}
	return true
}

// oneBlock tells whether the strings of ss lie one after the other in one
// allocation, in whatever order.
func oneBlock(ss ...string) bool {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b string) int {
		return cmp.Compare(uintptr(unsafe.Pointer(unsafe.StringData(a))), uintptr(unsafe.Pointer(unsafe.StringData(b))))
	})
	return inBlock(ss...)
}

// fresh returns a copy of s in memory of its own, as a decoder makes it.
func fresh(s string) string { return strings.Clone(s) }

func TestCompact_KeepsTheValuesSharingAndPacking(t *testing.T) {
	t.Parallel()
	p := newPacker()
	contact := func() Contact {
		return Contact{ID: fresh("c1"), LocationID: fresh("loc"), FirstName: fresh("Ada"), LastName: fresh("Lovelace"),
			Email: fresh("ada@example.com"), City: fresh("London"), Country: fresh("GB"),
			Tags: []string{fresh("vip"), fresh("new")},
			CustomFields: []CustomFieldValue{{ID: fresh("cf1"), Value: fresh("gold")},
				{ID: fresh("cf2"), Value: fresh(strings.Repeat("long text ", 10))}}}
	}
	a, b := contact(), contact()
	want := contact()
	a.compact(p)
	b.compact(p)
	if !reflect.DeepEqual(a, want) || !reflect.DeepEqual(b, want) {
		t.Fatalf("compacted contacts = %+v and %+v, want %+v", a, b, want)
	}
	for _, pair := range [][2]string{{a.LocationID, b.LocationID}, {a.City, b.City}, {a.Country, b.Country},
		{a.Tags[0], b.Tags[0]}, {a.CustomFields[0].ID, b.CustomFields[0].ID}, {a.CustomFields[0].Value, b.CustomFields[0].Value}} {
		if !sameBytes(pair[0], pair[1]) {
			t.Errorf("%q is not shared by the two contacts", pair[0])
		}
	}
	if !inBlock(a.CustomFields[1].Value, a.ID, a.FirstName, a.LastName, a.Email) {
		t.Errorf("the contact's own strings are not in one block")
	}
	if sameBytes(a.ID, b.ID) || sameBytes(a.CustomFields[1].Value, b.CustomFields[1].Value) {
		t.Errorf("a contact's own strings are shared")
	}

	n := Note{ID: fresh("n1"), ContactID: fresh("c1"), Body: fresh("called"), UserID: fresh("u1"), Title: fresh("Next")}
	wantNote := n
	n.compact(p)
	if n != wantNote || !inBlock(n.ID, n.Body) {
		t.Errorf("compacted note = %+v, want %+v with its id and body in one block", n, wantNote)
	}
}

func TestVocab_SharesAtMostMaxVocab(t *testing.T) {
	t.Parallel()
	p := newPacker()
	for i := range maxVocab + 10 {
		s := fresh(strings.Repeat("x", i+1))
		if kept := p.share(&s); kept != (i < maxVocab) {
			t.Fatalf("value %d kept = %v", i, kept)
		}
	}
	if len(p.vocab) != maxVocab {
		t.Errorf("vocab holds %d values, want %d", len(p.vocab), maxVocab)
	}
}

func TestRestore_RecordsShareTheirOwnersID(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	st := State{
		Locations: []Location{{ID: "loc"}},
		Contacts:  []Contact{{ID: fresh("c1"), LocationID: fresh("loc"), DateAdded: at, DateUpdated: at}},
		Tasks:     []Task{{ID: "t1", ContactID: fresh("c1"), Title: "call", DateAdded: at}},
		Notes:     []Note{{ID: "n1", ContactID: fresh("c1"), Body: "called", DateAdded: at}},
	}
	s := New(clock.NewManual(at), NewIDs(1))
	if err := s.Restore(st); err != nil {
		t.Fatal(err)
	}
	c := s.hl.contacts.ref("c1")
	if !sameBytes(c.LocationID, s.hl.locations["loc"].ID) {
		t.Error("the contact's location id is not its location's")
	}
	if !sameBytes(s.hl.tasks.ref("t1").ContactID, c.ID) || !sameBytes(s.hl.notes.ref("n1").ContactID, c.ID) {
		t.Error("a record's contact id is not its contact's")
	}
}

// TestCreateContact_PacksItsStrings: a contact the API creates keeps its
// values, with its strings in one block of its own (packStrings) and its
// location's id the location's string.
func TestCreateContact_PacksItsStrings(t *testing.T) {
	t.Parallel()
	s := New(clock.NewManual(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), NewIDs(1))
	s.PutLocation(Location{ID: "loc", Name: "Test", AllowDuplicateContact: true})
	in := Contact{LocationID: fresh("loc"), FirstName: fresh("Ada"), LastName: fresh("Lovelace"),
		Email: fresh("ada@example.com"), City: fresh("London"), Tags: []string{fresh("vip"), fresh("new")},
		CustomFields: []CustomFieldValue{{ID: fresh("cf1"), Value: fresh("gold")}}}
	want := in
	want.Tags, want.CustomFields = slices.Clone(in.Tags), slices.Clone(in.CustomFields)
	got, err := s.CreateContact(in)
	if err != nil {
		t.Fatal(err)
	}
	want.ID, want.DateAdded, want.DateUpdated = got.ID, got.DateAdded, got.DateUpdated
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("created %+v, want %+v", got, want)
	}
	if !oneBlock(got.FirstName, got.LastName, got.Email, got.City, got.Tags[0], got.Tags[1], got.CustomFields[0].ID, got.CustomFields[0].Value) {
		t.Errorf("the created contact's strings are not in one block")
	}
	if sameBytes(got.FirstName, in.FirstName) || sameBytes(got.Tags[0], in.Tags[0]) {
		t.Errorf("the created contact holds the caller's strings")
	}
	if !sameBytes(got.LocationID, s.hl.locations["loc"].ID) {
		t.Errorf("the contact's location id is not the location's own string")
	}
}

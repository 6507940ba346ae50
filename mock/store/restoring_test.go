package store_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// decodeThen decodes data with DecodeStateThen, returning what ready was
// handed (and how many times) with the decoded state.
func decodeThen(t *testing.T, data []byte) (part store.State, calls int, st store.State, err error) {
	t.Helper()
	st, err = store.DecodeStateThen(bytes.NewReader(data), nil, func(p store.State) { part, calls = p, calls+1 })
	return part, calls, st, err
}

// TestBeginRestore_AsRestore: a state restored in two steps, its locations
// and contacts as DecodeStateThen hands them over, then the rest, is the
// state Restore restores, and nothing of it shows before Finish.
func TestBeginRestore_AsRestore(t *testing.T) {
	t.Parallel()
	src, clk := newStore(t, 1)
	populate(t, src, clk)
	snap := src.Snapshot()
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	part, calls, st, err := decodeThen(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !reflect.DeepEqual(part.Locations, st.Locations) || !reflect.DeepEqual(part.Contacts, st.Contacts) {
		t.Fatalf("ready called %d times with %d locations and %d contacts, want once with the state's %d and %d",
			calls, len(part.Locations), len(part.Contacts), len(st.Locations), len(st.Contacts))
	}

	dst, _ := newStore(t, 2)
	before := dst.Snapshot()
	r := dst.BeginRestore(part)
	defer r.Abandon()
	if got := dst.Snapshot(); !reflect.DeepEqual(got, before) {
		t.Fatal("a begun restore shows before it finishes")
	}
	if err := r.Finish(st); err != nil {
		t.Fatal(err)
	}
	if got := dst.Snapshot(); !reflect.DeepEqual(got, snap) {
		t.Errorf("Snapshot after BeginRestore and Finish differs:\n got %+v\nwant %+v", got, snap)
	}
	// The restored indexes answer.
	if _, err := dst.CreateContact(store.Contact{LocationID: loc, Email: snap.Contacts[0].Email}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("restored email index: %v", err)
	}
}

// TestBeginRestore_RefusedOrAbandonedKeepsState: a restore that Finish
// refuses, for a contact's problem or for another table's, or that is
// abandoned, leaves the store as it was.
func TestBeginRestore_RefusedOrAbandonedKeepsState(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t, 1)
	populate(t, s, clk)
	before := s.Snapshot()

	orphanTask := s.Snapshot()
	orphanTask.Tasks = append(orphanTask.Tasks, store.Task{ID: "T1", ContactID: "ghost", Title: "orphan"})
	orphanContact := s.Snapshot()
	orphanContact.Contacts = append(orphanContact.Contacts, store.Contact{ID: "C1", LocationID: "ghost"})
	for name, tc := range map[string]struct {
		st    store.State
		field string
	}{
		"task of a missing contact":     {orphanTask, "tasks[T1].contactId"},
		"contact of a missing location": {orphanContact, "contacts[C1].locationId"},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.BeginRestore(tc.st)
			err := r.Finish(tc.st)
			var ie *store.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) != 1 {
				t.Fatalf("Finish = %v, want an ImportError of one problem", err)
			}
			if p := ie.Problems[0]; p.Table+"["+p.ID+"]."+p.Field != tc.field {
				t.Errorf("problem %+v, want field %s", p, tc.field)
			}
			if got := s.Snapshot(); !reflect.DeepEqual(got, before) {
				t.Fatal("a refused restore changed the state")
			}
		})
	}

	other, oclk := newStore(t, 9)
	populate(t, other, oclk)
	r := s.BeginRestore(other.Snapshot())
	r.Abandon()
	if got := s.Snapshot(); !reflect.DeepEqual(got, before) {
		t.Fatal("an abandoned restore changed the state")
	}
}

// TestDecodeStateThen_Ready: ready has the locations and contacts once
// both are decoded, not when a record is at fault by then; when the state
// names the contacts twice, the decoded state has more than ready had.
func TestDecodeStateThen_Ready(t *testing.T) {
	t.Parallel()
	const (
		l  = `{"id":"L1","name":"One"}`
		c1 = `{"id":"c1","locationId":"L1","dateAdded":"2025-01-01T00:00:00Z","dateUpdated":"2025-01-01T00:00:00Z"}`
		c2 = `{"id":"c2","locationId":"L1","dateAdded":"2025-01-02T00:00:00Z","dateUpdated":"2025-01-02T00:00:00Z"}`
	)
	rest := `"tasks":[],"notes":[],"appointments":[]`
	part, calls, st, err := decodeThen(t, []byte(`{"contacts":[`+c1+`],"locations":[`+l+`],`+rest+`,"contacts":[`+c2+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(part.Locations) != 1 || len(part.Contacts) != 1 || part.Contacts[0].ID != "c1" {
		t.Fatalf("ready called %d times with %+v, want once with L1 and c1", calls, part)
	}
	if len(st.Contacts) != 2 || st.Contacts[1].ID != "c2" {
		t.Fatalf("decoded contacts %+v, want c1 and c2", st.Contacts)
	}

	_, calls, _, err = decodeThen(t, []byte(`{"locations":[`+l+`],"contacts":[`+c1+`,{"id":"c3"}],`+rest+`}`))
	var ie *store.ImportError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "locationId") {
		t.Fatalf("DecodeStateThen = %v, want the contact without a location refused", err)
	}
	if calls != 0 {
		t.Errorf("ready called %d times for a state at fault, want none", calls)
	}

	if _, calls, _, err = decodeThen(t, []byte(`{"locations":[`+l+`],`+rest+`}`)); err == nil || calls != 0 {
		t.Errorf("a state without contacts: ready called %d times, err %v; want none and an error", calls, err)
	}
}

// TestRestore_UnsortedContactsTheOldestKept: of contacts sent in no order
// with one email, in a location that forbids duplicates, the oldest by
// (dateAdded, id) is kept, many of them added at one time.
func TestRestore_UnsortedContactsTheOldestKept(t *testing.T) {
	t.Parallel()
	var contacts []store.Contact
	for i := range 40 {
		added := t0.Add(time.Duration(i*37%3) * time.Second)
		contacts = append(contacts, store.Contact{ID: fmt.Sprintf("c%02d", 39-i*7%40), LocationID: loc,
			Email: "one@example.com", DateAdded: added, DateUpdated: added})
	}
	oldest := slices.MinFunc(contacts, func(a, b store.Contact) int {
		return cmp.Or(a.DateAdded.Compare(b.DateAdded), strings.Compare(a.ID, b.ID))
	})
	s := store.New(clock.NewManual(t0), store.NewIDs(1))
	st := store.State{Locations: []store.Location{{ID: loc, Name: "Test", DuplicateOrder: []string{"email"}}}, Contacts: contacts}
	var ie *store.ImportError
	if err := s.Restore(st); !errors.As(err, &ie) {
		t.Fatalf("Restore = %v, want an ImportError", err)
	}
	if len(ie.Problems) != len(contacts)-1 {
		t.Fatalf("%d problems, want all but one of the %d contacts refused", len(ie.Problems), len(contacts))
	}
	for _, p := range ie.Problems {
		if p.ID == oldest.ID {
			t.Fatalf("the oldest contact %s refused: %+v", oldest.ID, p)
		}
	}
}

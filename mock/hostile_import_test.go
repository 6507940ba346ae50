package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The admin state import under hostile input (issue 12, class 3): a state
// is checked as API requests are, refused whole with what is wrong, and a
// refused state changes nothing.

// importBase is a valid state of two HighLevel locations (the second
// forbidding duplicates) with a contact each, and two Marketing 360
// accounts with a contact each.
func importBase() store.State {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return store.State{
		Locations: []store.Location{{ID: "LOC1", Name: "One", AllowDuplicateContact: true},
			{ID: "LOC2", Name: "Two", Calendars: []store.Calendar{{ID: "CAL2", Name: "Demos"}}}},
		Contacts: []store.Contact{
			{ID: "C1", LocationID: "LOC1", Email: "a@example.com", DateAdded: at, DateUpdated: at, Tags: []string{}, CustomFields: []store.CustomFieldValue{}},
			{ID: "C2", LocationID: "LOC2", Email: "b@example.com", DateAdded: at, DateUpdated: at, Tags: []string{}, CustomFields: []store.CustomFieldValue{}},
		},
		Tasks:        []store.Task{{ID: "T1", ContactID: "C1", Title: "Call", DueDate: at, DateAdded: at}},
		Notes:        []store.Note{{ID: "N1", ContactID: "C2", Body: "Hello", DateAdded: at}},
		Appointments: []store.Appointment{},
		M360Accounts: []store.M360Account{{ID: 1001, Name: "A", Created: 1}, {ID: 1002, Name: "B", Created: 1}},
		M360Contacts: []store.M360Contact{{ID: 1001, AccountID: 1001, Email: "x@example.com", Created: 1, Updated: 1},
			{ID: 1002, AccountID: 1002, Email: "y@example.com", Created: 1, Updated: 1}},
		M360Tasks: []store.M360Task{{ID: 1001, AccountID: 1001, ContactID: 1001, Title: "Call", Created: 1, Updated: 1}},
	}
}

// importProblems sends st and returns the answer's status, message and
// problems.
func importProblems(t *testing.T, e *admEnv, st store.State) (int, string, []store.Problem, int) {
	t.Helper()
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	r := putState(t, e, body)
	var out struct {
		Message  string          `json:"message"`
		Problems []store.Problem `json:"problems"`
		More     int             `json:"moreProblems"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatalf("answer %s: %v", r.raw, err)
	}
	return r.status, out.Message, out.Problems, out.More
}

// TestHostile_ImportRefusedWhole: each state breaks one rule an API request
// obeys; the import is refused with 422 naming the record (table, index,
// id, field) and the state is what it was.
func TestHostile_ImportRefusedWhole(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	if status, msg, _, _ := importProblems(t, e, importBase()); status != http.StatusOK {
		t.Fatalf("the base state: %d %s", status, msg)
	}
	before := e.srv.Store().Snapshot()
	long := strings.Repeat("x", 10_000)
	tests := []struct {
		name string
		edit func(st *store.State)
		want store.Problem
	}{
		{"one task id on contacts of two locations", func(st *store.State) {
			st.Tasks = append(st.Tasks, store.Task{ID: "T1", ContactID: "C2", Title: "Other", DueDate: st.Tasks[0].DueDate})
		}, store.Problem{Table: "tasks", Index: 1, ID: "T1", Field: "id"}},
		{"one note id twice", func(st *store.State) {
			st.Notes = append(st.Notes, st.Notes[0])
		}, store.Problem{Table: "notes", Index: 1, ID: "N1", Field: "id"}},
		{"one location id twice", func(st *store.State) {
			st.Locations = append(st.Locations, store.Location{ID: "LOC1", Name: "Again"})
		}, store.Problem{Table: "locations", Index: 2, ID: "LOC1", Field: "id"}},
		{"a task of no contact", func(st *store.State) {
			st.Tasks[0].ContactID = "ghost"
		}, store.Problem{Table: "tasks", Index: 0, ID: "T1", Field: "contactId"}},
		{"an appointment in another location than its contact's", func(st *store.State) {
			at := st.Tasks[0].DueDate
			st.Appointments = []store.Appointment{{ID: "A1", ContactID: "C1", LocationID: "LOC2", CalendarID: "CAL2",
				AppointmentStatus: "confirmed", StartTime: at, EndTime: at.Add(time.Hour), DateAdded: at, DateUpdated: at}}
		}, store.Problem{Table: "appointments", Index: 0, ID: "A1", Field: "locationId"}},
		{"an email twice where duplicates are forbidden (in another case)", func(st *store.State) {
			c := st.Contacts[1]
			c.ID, c.Email, c.DateAdded = "C3", "B@Example.com", c.DateAdded.Add(time.Second)
			st.Contacts = append(st.Contacts, c)
		}, store.Problem{Table: "contacts", Index: 2, ID: "C3", Field: "email"}},
		{"a first name past the spec's maxLength", func(st *store.State) {
			st.Contacts[0].FirstName = long
		}, store.Problem{Table: "contacts", Index: 0, ID: "C1", Field: "firstName"}},
		{"a DND status the spec's enum lacks", func(st *store.State) {
			st.Contacts[1].DNDSettings = map[string]store.DNDSetting{"SMS": {Status: "maybe"}}
		}, store.Problem{Table: "contacts", Index: 1, ID: "C2", Field: "dndSettings"}},
		{"a note colour off the spec's pattern", func(st *store.State) {
			st.Notes[0].Color = "red"
		}, store.Problem{Table: "notes", Index: 0, ID: "N1", Field: "color"}},
		{"a Marketing 360 task on another account's contact", func(st *store.State) {
			st.M360Tasks[0].ContactID = 1002
		}, store.Problem{Table: "m360Tasks", Index: 0, ID: "1001", Field: "contactId"}},
		{"a Marketing 360 email twice in an account", func(st *store.State) {
			st.M360Contacts = append(st.M360Contacts, store.M360Contact{ID: 1003, AccountID: 1001, Email: "X@example.com", Created: 1, Updated: 1})
		}, store.Problem{Table: "m360Contacts", Index: 2, ID: "1003", Field: "email"}},
		{"a Marketing 360 task title past the spec's maxLength", func(st *store.State) {
			st.M360Tasks[0].Title = long
		}, store.Problem{Table: "m360Tasks", Index: 0, ID: "1001", Field: "title"}},
		{"a Marketing 360 contact id used twice", func(st *store.State) {
			st.M360Contacts = append(st.M360Contacts, store.M360Contact{ID: 1001, AccountID: 1002, Created: 1, Updated: 1})
		}, store.Problem{Table: "m360Contacts", Index: 2, ID: "1001", Field: "id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := importBase()
			tc.edit(&st)
			status, msg, problems, _ := importProblems(t, e, st)
			if status != http.StatusUnprocessableEntity || len(problems) != 1 {
				t.Fatalf("import: %d %s %+v, want 422 with one problem", status, msg, problems)
			}
			got := problems[0]
			if got.Reason == "" || len(got.Reason) > 210 {
				t.Errorf("reason %q: want a short one", got.Reason)
			}
			got.Reason = ""
			if got != tc.want {
				t.Errorf("problem %+v, want %+v", got, tc.want)
			}
			if !strings.Contains(msg, tc.want.Table) {
				t.Errorf("message %q does not name the table", msg)
			}
			if after := e.srv.Store().Snapshot(); !reflect.DeepEqual(after, before) {
				t.Error("a refused import changed the state")
			}
		})
	}
}

// TestHostile_ImportProblemsBounded: a state with thousands of bad records
// is answered with the first 50 problems and the count of the rest, so the
// answer stays small whatever the state.
func TestHostile_ImportProblemsBounded(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	st := importBase()
	const n = 5000
	for i := range n {
		st.Tasks = append(st.Tasks, store.Task{ID: fmt.Sprintf("bad%d", i), ContactID: "ghost", Title: "x"})
	}
	status, _, problems, more := importProblems(t, e, st)
	if status != http.StatusUnprocessableEntity || len(problems) != store.MaxProblems || more != n-store.MaxProblems {
		t.Fatalf("import: %d, %d problems and %d more, want 422, %d and %d", status, len(problems), more,
			store.MaxProblems, n-store.MaxProblems)
	}
	if p := problems[0]; p.Table != "tasks" || p.Index != 1 || p.ID != "bad0" || p.Field != "contactId" {
		t.Errorf("first problem %+v", p)
	}
}

// TestHostile_ImportExportRoundTrip: what the twin exports, it imports
// again unchanged: the checks refuse no state the APIs can make.
func TestHostile_ImportExportRoundTrip(t *testing.T) {
	t.Parallel()
	fo, err := fixtures.Scenario("default")
	if err != nil {
		t.Fatal(err)
	}
	fo.Seed = 7
	e := newAdmTwin(t, mock.Options{Data: func(loc store.Location, acct store.M360Account) (store.State, error) {
		fo.Location, fo.M360Account = &loc, &acct
		ds, err := fixtures.Generate(fo)
		return ds.State, err
	}})
	before := e.srv.Store().Snapshot()
	body, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	e.want(t, putState(t, e, body), http.StatusOK)
	after := e.srv.Store().Snapshot()
	a, _ := json.Marshal(after)
	if string(a) != string(body) {
		t.Errorf("export, import: the state changed:\n%.300s\n%.300s", a, body)
	}
}

package mock_test

// End-to-end tests of the Marketing 360 contact's nextContact and
// assignees, the fields of the public Contacts Index.

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

func TestM360_ContactNextContactAndAssignees(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	made := m360Must[m360Result[m360Contact]](t, e, "POST", "/v1/contacts", jsonObj{"firstName": "Jane",
		"nextContact": 1709900000, "assignees": jsonObj{"username": " jdoe ", "fullName": "Jane Doe", "email": "jdoe@example.com"}},
		http.StatusCreated).Result
	if made.NextContact == nil || *made.NextContact != 1709900000 || made.Assignees == nil || made.Assignees.Username != "jdoe" ||
		made.Assignees.FullName == nil || *made.Assignees.FullName != "Jane Doe" || made.Assignees.Email == nil {
		t.Fatalf("created %+v (assignees %+v)", made, made.Assignees)
	}
	path := "/v1/contacts/" + strconv.FormatInt(made.ID, 10)
	got := m360Must[m360Result[m360Contact]](t, e, "GET", path, nil, http.StatusOK).Result
	if got.NextContact == nil || *got.NextContact != *made.NextContact || got.Assignees == nil ||
		got.Assignees.Username != "jdoe" || got.Assignees.Email == nil || *got.Assignees.Email != "jdoe@example.com" {
		t.Errorf("read back %+v", got)
	}
	// A PUT that leaves them out keeps them; null clears them.
	kept := m360Must[m360Result[m360Contact]](t, e, "PUT", path, jsonObj{"firstName": "Jane"}, http.StatusOK).Result
	if kept.NextContact == nil || *kept.NextContact != 1709900000 || kept.Assignees == nil || kept.Assignees.Username != "jdoe" {
		t.Errorf("update lost nextContact %v, assignees %+v", kept.NextContact, kept.Assignees)
	}
	cleared := m360Must[m360Result[m360Contact]](t, e, "PUT", path, jsonObj{"nextContact": nil, "assignees": nil}, http.StatusOK).Result
	if cleared.NextContact != nil || cleared.Assignees != nil || cleared.FirstName == nil {
		t.Errorf("null kept nextContact %v, assignees %+v", cleared.NextContact, cleared.Assignees)
	}
	// Refused: a blank username, a bad email, a negative time.
	m360MustError(t, e.do(t, "PUT", path, jsonObj{"assignees": jsonObj{"username": "  "}}), http.StatusUnprocessableEntity, "assignees.username")
	m360MustError(t, e.do(t, "PUT", path, jsonObj{"assignees": jsonObj{"username": "j", "email": "nope"}}), http.StatusUnprocessableEntity, "assignees.email")
	m360MustError(t, e.do(t, "POST", "/v1/contacts", jsonObj{"nextContact": -1}), http.StatusUnprocessableEntity)
}

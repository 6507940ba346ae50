package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// putState sends body to PUT /__admin/state and returns the answer.
func putState(t *testing.T, e *admEnv, body []byte) admResp {
	t.Helper()
	req, err := http.NewRequest("PUT", e.srv.HighLevel.URL()+"/__admin/state", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := admResp{status: res.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("PUT /__admin/state: %v in %s", err, raw)
	}
	return out
}

// bigState is the twin's own state with n more contacts, encoded.
func bigState(t *testing.T, e *admEnv, n int) []byte {
	t.Helper()
	st := e.srv.Store().Snapshot()
	loc := e.srv.Defaults().HighLevel.Location.ID
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		st.Contacts = append(st.Contacts, store.Contact{ID: fmt.Sprintf("bulk%016d", i), LocationID: loc,
			FirstName: "Bulk", LastName: strings.Repeat("x", 200), Email: fmt.Sprintf("bulk%d@example.com", i),
			DateAdded: at.Add(time.Duration(i) * time.Second), DateUpdated: at.Add(time.Duration(i) * time.Second)})
	}
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestAdmin_ImportLargeState: the admin import takes states far over the
// APIs' 1 MiB body limit, up to its own limit (413 past it), and refuses a
// malformed (400) or incomplete (422) state without changing anything.
func TestAdmin_ImportLargeState(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	body := bigState(t, e, 5000)
	if len(body) <= 2*pipeline.MaxBodyBytes {
		t.Fatalf("the state is %d bytes: not over the APIs' limit", len(body))
	}
	before := e.srv.Store().Stats().Contacts
	r := putState(t, e, body)
	e.want(t, r, 200)
	if got := r.body["contacts"]; got != float64(before+5000) {
		t.Errorf("imported contacts %v, want %d", got, before+5000)
	}
	e.want(t, e.do(t, "GET", "/contacts/bulk0000000000004999", e.token, nil), 200)

	// The APIs keep the vendor's limit.
	big := e.do(t, "POST", "/contacts/", e.token, map[string]any{"locationId": e.srv.Defaults().HighLevel.Location.ID,
		"firstName": strings.Repeat("y", pipeline.MaxBodyBytes)})
	e.want(t, big, 400)

	for _, tc := range []struct {
		name, body string
		status     int
		message    string
	}{
		{"malformed", `{"locations": [`, 400, "Invalid JSON body"},
		{"not an object", `[]`, 400, "Invalid JSON body"},
		{"a table missing", `{"locations":[],"contacts":[],"tasks":[],"notes":[]}`, 422, "appointments is required"},
		{"a wrong type", `{"locations":[{"id":5}],"contacts":[],"tasks":[],"notes":[],"appointments":[]}`, 422, "locations[0].id must be string"},
		{"a contact without dateAdded", `{"locations":[{"id":"L","name":"L"}],"contacts":[{"id":"c","locationId":"L"}],"tasks":[],"notes":[],"appointments":[]}`,
			422, "contacts[0].dateAdded is required"},
		{"a task without its contact", `{"locations":[],"contacts":[],"tasks":[{"id":"t"}],"notes":[],"appointments":[]}`, 422, "tasks[0].contactId is required"},
	} {
		r := putState(t, e, []byte(tc.body))
		if r.status != tc.status || !strings.Contains(string(r.raw), tc.message) {
			t.Errorf("%s: %d %s, want %d naming %q", tc.name, r.status, r.raw, tc.status, tc.message)
		}
	}
	if got := e.srv.Store().Stats().Contacts; got != before+5000 {
		t.Errorf("after the refused imports: %d contacts, want %d", got, before+5000)
	}
}

func TestAdmin_ImportLimit(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{Admin: mock.AdminOptions{MaxImportBytes: 64 << 10}})
	r := putState(t, e, bigState(t, e, 1000))
	e.want(t, r, 413)
	if !strings.Contains(string(r.raw), "larger than 65536 bytes") || !strings.Contains(string(r.raw), "admin.maxImportBytes") {
		t.Errorf("413 body %s", r.raw)
	}
	e.want(t, putState(t, e, bigState(t, e, 10)), 200)
}

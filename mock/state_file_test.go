package mock_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

// exportThreeContacts starts a twin (seed 3), creates three contacts in
// its default location, and returns the twin, the location and the state
// the twin exports.
func exportThreeContacts(t *testing.T) (src *admEnv, loc string, exported admResp) {
	t.Helper()
	src = newAdmTwin(t, mock.Options{Seed: 3})
	loc = src.srv.Defaults().HighLevel.Location.ID
	for i := range 3 {
		src.want(t, src.do(t, "POST", "/contacts/", src.token, map[string]any{"locationId": loc, "email": "s" + strconv.Itoa(i) + "@example.com"}), 201)
	}
	return src, loc, src.do(t, "GET", "/__admin/state", "", nil)
}

// TestServer_StateFileTablesTwiceOrAtFault: a state file whose contacts
// come in two parts, the second after another table, starts the twin with
// all of them (its locations and contacts restore while its other tables
// decode: the early ones are not the whole); one whose task names no
// contact of the file, found after its contacts restored, starts no twin.
func TestServer_StateFileTablesTwiceOrAtFault(t *testing.T) {
	t.Parallel()
	_, _, exported := exportThreeContacts(t)
	var tables map[string]json.RawMessage
	if err := json.Unmarshal(exported.raw, &tables); err != nil {
		t.Fatal(err)
	}
	var contacts []json.RawMessage
	if err := json.Unmarshal(tables["contacts"], &contacts); err != nil || len(contacts) != 3 {
		t.Fatalf("exported contacts: %d (%v)", len(contacts), err)
	}
	// file writes the state with its tables in the order given, the
	// exported ones not given after them.
	file := func(t *testing.T, first ...[2]string) string {
		var b bytes.Buffer
		b.WriteString("{")
		given := map[string]bool{}
		for _, kv := range first {
			given[kv[0]] = true
			b.WriteString(strconv.Quote(kv[0]) + ":" + kv[1] + ",")
		}
		for k, v := range tables {
			if !given[k] {
				b.WriteString(strconv.Quote(k) + ":" + string(v) + ",")
			}
		}
		path := t.TempDir() + "/state.json"
		if err := os.WriteFile(path, append(bytes.TrimSuffix(b.Bytes(), []byte(",")), '}'), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	array := func(records ...json.RawMessage) string {
		parts := make([]string, len(records))
		for i, r := range records {
			parts[i] = string(r)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}

	split := file(t, [2]string{"locations", string(tables["locations"])}, [2]string{"contacts", array(contacts[:2]...)},
		[2]string{"tasks", string(tables["tasks"])}, [2]string{"contacts", array(contacts[2:]...)})
	e := newAdmTwin(t, mock.Options{Seed: 3, StateFile: split})
	if list := e.listContacts(t, e.token); list.body["count"] != 3.0 {
		t.Fatalf("a file with its contacts in two parts starts with %v contacts, want 3", list.body["count"])
	}

	var id struct{ ID string }
	if err := json.Unmarshal(contacts[0], &id); err != nil {
		t.Fatal(err)
	}
	orphan := file(t, [2]string{"locations", string(tables["locations"])}, [2]string{"contacts", array(contacts[1:]...)},
		[2]string{"tasks", `[{"id":"T1","contactId":"` + id.ID + `","title":"orphan","dueDate":"2026-03-02T00:00:00Z","dateAdded":"2026-03-01T00:00:00Z"}]`})
	_, err := mock.NewServer(mock.Options{NoListener: true, Seed: 3, StateFile: orphan})
	if err == nil || !strings.Contains(err.Error(), "tasks[0].contactId names no contact") {
		t.Fatalf("NewServer on a file whose task names no contact of it = %v, want its problem", err)
	}
}

package mock_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

// fuzzTarget is an operation that takes a body, with the path to send it to.
type fuzzTarget struct{ method, path string }

// fuzzAnswer checks the fuzz targets' invariant on one answer: no 5xx,
// except, in strict mode, a response the spec does not allow (drift, which
// the answer names).
func fuzzAnswer(t *testing.T, target fuzzTarget, status int, body []byte) {
	t.Helper()
	if status >= 500 && !bytes.Contains(body, []byte("strict mode: response does not match the spec")) {
		t.Fatalf("%s %s: %d %s", target.method, target.path, status, body)
	}
}

// fuzzBody sends body to target with header, returning the answer's status
// and body.
func fuzzBody(t *testing.T, client *http.Client, base string, header http.Header, target fuzzTarget, body string) (int, []byte) {
	t.Helper()
	hr, err := http.NewRequest(target.method, base+target.path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header = header.Clone()
	hr.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

var fuzzSeeds = []string{
	`{}`, `{"firstName":"Ada","email":"ada@example.com","tags":["a","B"]}`, `{"FirstName":"x"}`,
	`{"a":` + strings.Repeat("[", 100) + `}`, `{"email":"not an email","phone":"+1 555"}`, `[1,2,3]`, `null`, `"x"`,
	`{"customFields":[{"id":"f","value":{"x":1}}]}`, `{"tags":[` + strings.Repeat(`"t",`, 50) + `"t"]}`,
	`{"title":"t","dueDate":"2026-13-45T99:00:00Z","completed":"yes"}`, `{"body":"\u0000\ud800"}`,
	`{"filters":[{"field":"email","operator":"eq","value":"a@b.c"}],"pageLimit":1e308}`, "\xff\xfe",
}

// FuzzHighLevelBodies: any body sent to a HighLevel operation that takes one
// is answered without a 5xx (strict drift aside).
func FuzzHighLevelBodies(f *testing.F) {
	e := newTwin(f)
	c := e.mustCreateContact(f, jsonObj{"firstName": "Fuzz"})
	task := e.mustCreateTask(f, c.ID, "fuzz")
	note := e.mustCreateNote(f, c.ID, "fuzz")
	targets := []fuzzTarget{
		{"POST", "/contacts/"}, {"PUT", "/contacts/" + c.ID}, {"POST", "/contacts/upsert"},
		{"POST", "/contacts/" + c.ID + "/tags"}, {"DELETE", "/contacts/" + c.ID + "/tags"},
		{"POST", "/contacts/search"}, {"POST", "/contacts/" + c.ID + "/tasks"},
		{"PUT", "/contacts/" + c.ID + "/tasks/" + task.ID}, {"POST", "/contacts/" + c.ID + "/notes"},
		{"PUT", "/contacts/" + c.ID + "/notes/" + note.ID},
	}
	header := http.Header{"Authorization": {"Bearer " + e.token}, "Version": {versionContacts}}
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), s)
	}
	client := e.srv.HighLevel.Client()
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		target := targets[int(which)%len(targets)]
		if strings.Contains(body, "locationId") || target.path == "/contacts/" || target.path == "/contacts/upsert" {
			// Creates name the twin's location, so they are not all refused.
			body = withLocation(body, e.loc.ID)
		}
		status, raw := fuzzBody(t, client, e.srv.HighLevel.URL(), header, target, body)
		fuzzAnswer(t, target, status, raw)
	})
}

// FuzzM360Bodies: the same for the Marketing 360 operations that take a
// body.
func FuzzM360Bodies(f *testing.F) {
	e := newM360(f, mock.Options{})
	c := e.mustContact(f, jsonObj{"email": "fuzz@example.com"})
	id := strconv.FormatInt(c.ID, 10)
	targets := []fuzzTarget{
		{"POST", "/v1/contacts"}, {"PATCH", "/v1/contacts/" + id}, {"POST", "/v1/contacts/" + id + "/notes"},
		{"POST", "/v1/contacts/" + id + "/tasks"}, {"POST", "/v1/webhooks"},
	}
	key := e.srv.Defaults().M360.Key
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(key.ClientID, key.ClientSecret)
	header := req.Header
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), s)
	}
	client := e.srv.HighLevel.Client()
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		target := targets[int(which)%len(targets)]
		status, raw := fuzzBody(t, client, e.srv.M360.URL(), header, target, body)
		fuzzAnswer(t, target, status, raw)
	})
}

// withLocation sets locationId in a JSON object body; other bodies stay.
func withLocation(body, location string) string {
	t := strings.TrimSpace(body)
	if !strings.HasPrefix(t, "{") {
		return body
	}
	rest := strings.TrimSpace(t[1:])
	if strings.HasPrefix(rest, "}") {
		return `{"locationId":"` + location + `"` + rest
	}
	return `{"locationId":"` + location + `",` + rest
}

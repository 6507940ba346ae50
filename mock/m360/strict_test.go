package m360_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/m360"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// This file runs the handlers behind the pipeline in strict mode, with a
// stand-in authenticator, so that every view is checked against the spec.
// The server's own end-to-end tests cover authentication, permissions and
// rate limits.

var allPermissions = []string{
	"account:read", "contacts:read", "contacts:write", "tasks:read", "tasks:write",
	"notes:read", "notes:write", "calendar:read", "calendar:write",
	"campaigns:read", "campaigns:write", "webhooks:read", "webhooks:write",
}

// keys maps a Basic client id to its account.
type keys map[string]string

func (k keys) Authenticate(header string) (*auth.Principal, error) {
	raw, ok := strings.CutPrefix(header, "Basic ")
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, auth.ErrInvalidToken
	}
	id, _, _ := strings.Cut(string(b), ":")
	account, ok := k[id]
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.Principal{LocationID: account, AppID: id, Scopes: allPermissions}, nil
}

type twin struct {
	t     *testing.T
	srv   *httptest.Server
	store *store.Store
}

func newTwin(t *testing.T) *twin {
	t.Helper()
	spec, err := openapi.LoadMarketing360(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := store.New(clock.NewManual(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), store.NewIDs(1))
	s.PutM360Account(store.M360Account{ID: 7001, Name: "One", Timezone: "America/Denver"})
	s.PutM360Account(store.M360Account{ID: 7002, Name: "Two"})
	n := 0
	api := &m360.API{Store: s, Secret: func() string { n++; return fmt.Sprintf("whsec_%d", n) }}
	p, err := pipeline.New(pipeline.Config{
		Spec:        spec,
		Handlers:    api.Handlers(),
		Auth:        keys{"k1": "7001", "k2": "7002"},
		RenderError: m360.RenderError,
		MapError:    m360.MapError,
		Strict:      true,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return &twin{t: t, srv: srv, store: s}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request as client id key; body, when not nil, is sent as JSON
// (a string is sent as is).
func (tw *twin) do(key, method, path string, body any) reply {
	tw.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, tw.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.SetBasicAuth(key, "secret")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tw.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	json.Unmarshal(data, &r.body)
	return r
}

// want checks the status and returns the result object (or the error).
func (tw *twin) want(r reply, status int) map[string]any {
	tw.t.Helper()
	if r.status != status {
		tw.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if status >= 400 {
		e, _ := r.body["error"].(map[string]any)
		if e == nil || e["code"] == nil || e["message"] == nil {
			tw.t.Fatalf("error body %s", r.raw)
		}
		return e
	}
	res, _ := r.body["result"].(map[string]any)
	return res
}

func id(m map[string]any) int64 { return int64(m["id"].(float64)) }

func TestStrictContacts(t *testing.T) {
	tw := newTwin(t)
	acct := tw.want(tw.do("k1", "GET", "/v1/account", nil), 200)
	if id(acct) != 7001 || acct["timezone"] != "America/Denver" {
		t.Errorf("account %v", acct)
	}
	if tw.do("k2", "GET", "/v1/account", nil).body["result"].(map[string]any)["timezone"] != nil {
		t.Error("unset timezone is not null")
	}
	tw.want(tw.do("", "GET", "/v1/account", nil), 401)
	tw.want(tw.do("nobody", "GET", "/v1/contacts", nil), 401)

	jane := tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{
		"firstName": "Jane", "email": "Jane@Example.com", "phone": "+1 303 555 0100", "tags": []string{"vip"},
		"source": map[string]any{"id": 3, "name": "Web"}, "types": []any{map[string]any{"id": 1, "name": "Lead"}},
		"customFields": map[string]string{"color": "blue"}, "externalIds": map[string]any{"ghl": "g-1"},
	}), 201)
	janeID := id(jane)
	bob := tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"firstName": "Bob"}), 201)
	e := tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"email": "jane@example.COM"}), 409)
	if e["code"] != "conflict" || e["fields"].(map[string]any)["email"] == nil {
		t.Errorf("duplicate email: %v", e)
	}
	e = tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"email": "nope", "phone": "x"}), 422)
	if f := e["fields"].(map[string]any); f["email"] == nil || f["phone"] == nil || e["code"] != "validation_error" {
		t.Errorf("invalid contact: %v", e)
	}
	tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"tags": []any{1}}), 422)
	tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"nickname": "J"}), 422)
	tw.want(tw.do("k1", "POST", "/v1/contacts", `{"firstName":`), 400)
	// The same email in another account is fine.
	tw.want(tw.do("k2", "POST", "/v1/contacts", map[string]any{"email": "jane@example.com"}), 201)

	got := tw.want(tw.do("k1", "GET", fmt.Sprintf("/v1/contacts/%d", janeID), nil), 200)
	if got["email"] != "Jane@Example.com" || got["company"] != nil || got["externalIds"].(map[string]any)["ghl"] != "g-1" {
		t.Errorf("contact %v", got)
	}
	tw.want(tw.do("k2", "GET", fmt.Sprintf("/v1/contacts/%d", janeID), nil), 404)
	tw.want(tw.do("k1", "GET", "/v1/contacts/abc", nil), 400)
	tw.want(tw.do("k1", "GET", "/v1/contacts/99999", nil), 404)

	list := tw.do("k1", "GET", "/v1/contacts?email=JANE@example.com", nil)
	tw.want(list, 200)
	if list.body["total"].(float64) != 1 || len(list.body["result"].([]any)) != 1 {
		t.Errorf("email lookup %s", list.raw)
	}
	list = tw.do("k1", "GET", "/v1/contacts?externalId=g-1&pageSize=0", nil)
	tw.want(list, 200)
	if list.body["total"].(float64) != 1 || len(list.body["result"].([]any)) != 0 || list.body["pageSize"].(float64) != 0 {
		t.Errorf("pageSize=0 %s", list.raw)
	}
	list = tw.do("k1", "GET", "/v1/contacts", nil)
	tw.want(list, 200)
	if list.body["page"].(float64) != 1 || list.body["pageSize"].(float64) != 25 || list.body["total"].(float64) != 2 {
		t.Errorf("defaults %s", list.raw)
	}
	tw.want(tw.do("k1", "GET", "/v1/contacts?updatedSince=0&page=2&pageSize=1", nil), 200)
	tw.want(tw.do("k1", "GET", "/v1/contacts?pageSize=101", nil), 422)
	tw.want(tw.do("k1", "GET", "/v1/contacts?page=0", nil), 422)
	tw.want(tw.do("k1", "GET", "/v1/contacts?updatedSince=soon", nil), 422)

	// PUT is partial: what is left out keeps its value, null clears.
	put := tw.want(tw.do("k1", "PUT", fmt.Sprintf("/v1/contacts/%d", janeID), map[string]any{
		"id": janeID, "firstName": "Janet", "email": "janet@example.com", "created": 1, "source": nil}), 200)
	if put["firstName"] != "Janet" || put["email"] != "janet@example.com" || put["phone"] != jane["phone"] ||
		fmt.Sprint(put["tags"]) != fmt.Sprint(jane["tags"]) || put["source"] != nil ||
		fmt.Sprint(put["externalIds"]) != fmt.Sprint(jane["externalIds"]) || put["created"] != jane["created"] {
		t.Errorf("updated contact %v; was %v", put, jane)
	}
	tw.want(tw.do("k1", "PUT", fmt.Sprintf("/v1/contacts/%d", id(bob)), map[string]any{"email": "JANET@example.com"}), 409)
	tw.want(tw.do("k2", "PUT", fmt.Sprintf("/v1/contacts/%d", janeID), map[string]any{}), 404)

	del := tw.want(tw.do("k1", "DELETE", fmt.Sprintf("/v1/contacts/%d", id(bob)), nil), 200)
	if id(del) != id(bob) || del["deleted"] != true {
		t.Errorf("deleted %v", del)
	}
	tw.want(tw.do("k1", "DELETE", fmt.Sprintf("/v1/contacts/%d", id(bob)), nil), 404)
	tw.want(tw.do("k1", "GET", "/v1/nothing", nil), 404)
}

func TestStrictTasksNotes(t *testing.T) {
	tw := newTwin(t)
	c := id(tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"firstName": "C"}), 201))
	base := fmt.Sprintf("/v1/contacts/%d", c)

	task := tw.want(tw.do("k1", "POST", base+"/tasks", map[string]any{"title": "Call", "dueAt": 1700000000,
		"assignee": map[string]any{"username": "amy"}}), 201)
	if task["completed"] != false || task["completedAt"] != nil || task["description"] != nil {
		t.Errorf("task %v", task)
	}
	taskPath := fmt.Sprintf("%s/tasks/%d", base, id(task))
	tw.want(tw.do("k1", "POST", base+"/tasks", map[string]any{"description": "no title"}), 422)
	tw.want(tw.do("k1", "POST", base+"/tasks", map[string]any{"title": "  "}), 422)
	tw.want(tw.do("k1", "POST", "/v1/contacts/99999/tasks", map[string]any{"title": "x"}), 404)
	tw.want(tw.do("k2", "GET", taskPath, nil), 404)
	tw.want(tw.do("k1", "GET", taskPath, nil), 200)
	done := tw.want(tw.do("k1", "PUT", taskPath, map[string]any{"completed": true, "assignee": nil}), 200)
	if done["completedAt"] == nil || done["title"] != "Call" || done["assignee"] != nil || done["dueAt"] == nil {
		t.Errorf("completed task %v", done)
	}
	for _, q := range []string{"", "?completed=true", "?updatedSince=0&pageSize=1", "?completed=false&page=3"} {
		tw.want(tw.do("k1", "GET", "/v1/tasks"+q, nil), 200)
	}
	tw.want(tw.do("k1", "GET", "/v1/tasks?completed=maybe", nil), 422)
	tw.want(tw.do("k1", "GET", base+"/tasks", nil), 200)
	tw.want(tw.do("k1", "GET", "/v1/contacts/99999/tasks", nil), 404)

	note := tw.want(tw.do("k1", "POST", base+"/notes", map[string]any{"body": "Prefers email."}), 201)
	if note["author"] != nil {
		t.Errorf("note %v", note)
	}
	notePath := fmt.Sprintf("%s/notes/%d", base, id(note))
	tw.want(tw.do("k1", "POST", base+"/notes", map[string]any{}), 422)
	tw.want(tw.do("k1", "GET", notePath, nil), 200)
	upd := tw.want(tw.do("k1", "PUT", notePath, map[string]any{"author": map[string]any{"username": "bo"}}), 200)
	if upd["body"] != "Prefers email." || upd["author"].(map[string]any)["username"] != "bo" {
		t.Errorf("note %v", upd)
	}
	tw.want(tw.do("k1", "GET", base+"/notes?pageSize=5", nil), 200)
	tw.want(tw.do("k1", "DELETE", notePath, nil), 200)
	tw.want(tw.do("k1", "GET", notePath, nil), 404)
	tw.want(tw.do("k1", "DELETE", taskPath, nil), 200)
	tw.want(tw.do("k1", "PUT", taskPath, map[string]any{"title": "x"}), 404)
}

func TestStrictEventsCampaignsWebhooks(t *testing.T) {
	tw := newTwin(t)
	c := id(tw.want(tw.do("k1", "POST", "/v1/contacts", map[string]any{"firstName": "C"}), 201))
	ev := tw.want(tw.do("k1", "POST", "/v1/calendar/events", map[string]any{"contactId": c, "start": 1000, "end": 2000,
		"title": "Visit", "externalIds": map[string]any{"ghl": "a-1"}}), 201)
	if ev["status"] != "scheduled" || ev["location"] != nil {
		t.Errorf("event %v", ev)
	}
	e := tw.want(tw.do("k1", "POST", "/v1/calendar/events", map[string]any{"contactId": c, "start": 1000, "end": 1000}), 422)
	if e["fields"].(map[string]any)["end"] == nil {
		t.Errorf("end <= start: %v", e)
	}
	tw.want(tw.do("k1", "POST", "/v1/calendar/events", map[string]any{"contactId": 99999, "start": 1, "end": 2}), 404)
	tw.want(tw.do("k1", "POST", "/v1/calendar/events", map[string]any{"contactId": c, "start": 1, "end": 2, "status": "maybe"}), 422)
	evPath := fmt.Sprintf("/v1/calendar/events/%d", id(ev))
	tw.want(tw.do("k1", "GET", evPath, nil), 200)
	tw.want(tw.do("k2", "GET", evPath, nil), 404)
	upd := tw.want(tw.do("k1", "PUT", evPath, map[string]any{"status": "cancelled", "title": nil}), 200)
	if upd["status"] != "cancelled" || upd["title"] != nil || upd["start"].(float64) != 1000 {
		t.Errorf("event %v", upd)
	}
	tw.want(tw.do("k1", "PUT", evPath, map[string]any{"start": 5000}), 422)
	for _, q := range []string{"", fmt.Sprintf("?contactId=%d", c), "?from=0&to=1001", "?from=1001"} {
		tw.want(tw.do("k1", "GET", "/v1/calendar/events"+q, nil), 200)
	}
	tw.want(tw.do("k1", "GET", "/v1/calendar/events?contactId=99999", nil), 404)

	active, _ := tw.store.PutM360Campaign(store.M360Campaign{AccountID: 7001, Name: "Nurture"})
	paused, _ := tw.store.PutM360Campaign(store.M360Campaign{AccountID: 7001, Name: "Old", Status: "paused"})
	tw.want(tw.do("k1", "GET", "/v1/campaigns", nil), 200)
	tw.want(tw.do("k1", "GET", fmt.Sprintf("/v1/campaigns/%d", active.ID), nil), 200)
	tw.want(tw.do("k2", "GET", fmt.Sprintf("/v1/campaigns/%d", active.ID), nil), 404)
	trig := fmt.Sprintf("/v1/campaigns/%d/triggers", active.ID)
	first := tw.want(tw.do("k1", "POST", trig, map[string]any{"contactId": c}), 201)
	again := tw.want(tw.do("k1", "POST", trig, map[string]any{"contactId": c}), 200)
	if id(first) != id(again) {
		t.Errorf("trigger again = %v, want %v", again, first)
	}
	tw.want(tw.do("k1", "POST", fmt.Sprintf("/v1/campaigns/%d/triggers", paused.ID), map[string]any{"contactId": c}), 409)
	tw.want(tw.do("k1", "POST", trig, map[string]any{"contactId": 99999}), 404)
	tw.want(tw.do("k1", "POST", "/v1/campaigns/99999/triggers", map[string]any{"contactId": c}), 404)
	tw.want(tw.do("k1", "POST", trig, map[string]any{}), 422)
	tw.want(tw.do("k1", "GET", trig, nil), 200)

	hook := tw.want(tw.do("k1", "POST", "/v1/webhooks", map[string]any{"url": "https://example.com/h",
		"events": []string{"contact.created", "task.completed", "contact.created"}}), 201)
	if hook["secret"] != "whsec_1" || len(hook["events"].([]any)) != 2 {
		t.Errorf("webhook %v", hook)
	}
	tw.want(tw.do("k1", "POST", "/v1/webhooks", map[string]any{"url": "ftp://x", "events": []string{"note.created"}}), 422)
	tw.want(tw.do("k1", "POST", "/v1/webhooks", map[string]any{"url": "https://x.example", "events": []string{"contact.merged"}}), 422)
	tw.want(tw.do("k1", "POST", "/v1/webhooks", map[string]any{"url": "https://x.example", "events": []string{}}), 422)
	hooks := tw.do("k1", "GET", "/v1/webhooks", nil)
	tw.want(hooks, 200)
	if strings.Contains(hooks.raw, "secret") {
		t.Errorf("listed webhooks show the secret: %s", hooks.raw)
	}
	tw.want(tw.do("k2", "DELETE", fmt.Sprintf("/v1/webhooks/%d", id(hook)), nil), 404)
	tw.want(tw.do("k1", "DELETE", fmt.Sprintf("/v1/webhooks/%d", id(hook)), nil), 200)

	// Deleting the contact takes its events and triggers along.
	tw.want(tw.do("k1", "DELETE", fmt.Sprintf("/v1/contacts/%d", c), nil), 200)
	tw.want(tw.do("k1", "GET", evPath, nil), 404)
	if r := tw.do("k1", "GET", trig, nil); r.body["total"].(float64) != 0 {
		t.Errorf("triggers after the delete: %s", r.raw)
	}
	tw.want(tw.do("k1", "DELETE", evPath, nil), 404)
}

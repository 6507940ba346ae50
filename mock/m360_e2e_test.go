package mock_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The Marketing 360 twin end to end, through mock.Server in strict mode: the
// pipeline (Basic keys, permissions, Content-Length, validation, the leaky
// bucket), the handlers and the store, and the admin API the two twins share.

// TestM360_OperationCoverage drives every operation of the Marketing 360
// spec to a success, to its 404 and to a 400 or 422, and fails if the spec
// has an operation the table misses: the M360 counterpart of the HighLevel
// coverage check TestMain runs.
func TestM360_OperationCoverage(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	ghost := ghostKey()
	c := e.mustContact(t, jsonObj{"firstName": "Jane", "email": "jane@example.com"})
	gone := e.mustContact(t, jsonObj{"firstName": "Gone"})
	task := m360Must[m360Result[m360Task]](t, e, "POST", fmt.Sprintf("/v1/contacts/%d/tasks", c.ID), jsonObj{"title": "Call"}, 201).Result
	note := m360Must[m360Result[m360Note]](t, e, "POST", fmt.Sprintf("/v1/contacts/%d/notes", c.ID), jsonObj{"body": "Hi"}, 201).Result
	ev := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 1709290000, "end": 1709293600}, 201).Result
	hook := m360Must[m360Result[m360Webhook]](t, e, "POST", "/v1/webhooks", jsonObj{"url": "http://127.0.0.1:9/h", "events": []string{"contact.created"}}, 201).Result
	camp := e.campaignID(t, "Welcome series")

	const missing = 999999
	ct := fmt.Sprintf("/v1/contacts/%d", c.ID)
	rows := []struct {
		method, path string
		body         any
		key          *m360Key
		want         int
		fields       []string
	}{
		{"GET", "/v1/account", nil, nil, 200, nil},
		{"GET", "/v1/account", nil, &ghost, 404, nil},

		{"GET", "/v1/contacts", nil, nil, 200, nil},
		{"GET", "/v1/contacts", nil, &ghost, 404, nil},
		{"GET", "/v1/contacts?pageSize=101", nil, nil, 422, []string{"pageSize"}},
		{"POST", "/v1/contacts", jsonObj{"firstName": "Max"}, nil, 201, nil},
		{"POST", "/v1/contacts", jsonObj{"firstName": "Max"}, &ghost, 404, nil},
		{"POST", "/v1/contacts", jsonObj{"email": "not-an-email"}, nil, 422, []string{"email"}},
		{"GET", ct, nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/contacts/%d", missing), nil, nil, 404, nil},
		{"GET", "/v1/contacts/0", nil, nil, 400, nil},
		{"PUT", ct, jsonObj{"firstName": "Jane", "email": "jane@example.com"}, nil, 200, nil},
		{"PUT", fmt.Sprintf("/v1/contacts/%d", missing), jsonObj{"firstName": "X"}, nil, 404, nil},
		{"PUT", ct, jsonObj{"phone": "12"}, nil, 422, []string{"phone"}},
		{"DELETE", fmt.Sprintf("/v1/contacts/%d", missing), nil, nil, 404, nil},
		{"DELETE", "/v1/contacts/abc", nil, nil, 400, nil},

		{"GET", ct + "/tasks", nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/contacts/%d/tasks", missing), nil, nil, 404, nil},
		{"GET", ct + "/tasks?page=0", nil, nil, 422, []string{"page"}},
		{"POST", ct + "/tasks", jsonObj{"title": "Email"}, nil, 201, nil},
		{"POST", fmt.Sprintf("/v1/contacts/%d/tasks", missing), jsonObj{"title": "Email"}, nil, 404, nil},
		{"POST", ct + "/tasks", jsonObj{"title": "   "}, nil, 422, []string{"title"}},
		{"GET", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil, nil, 200, nil},
		{"GET", fmt.Sprintf("%s/tasks/%d", ct, missing), nil, nil, 404, nil},
		{"GET", ct + "/tasks/0", nil, nil, 400, nil},
		{"PUT", fmt.Sprintf("%s/tasks/%d", ct, task.ID), jsonObj{"completed": true}, nil, 200, nil},
		{"PUT", fmt.Sprintf("%s/tasks/%d", ct, missing), jsonObj{"completed": true}, nil, 404, nil},
		{"PUT", fmt.Sprintf("%s/tasks/%d", ct, task.ID), jsonObj{"dueAt": -1}, nil, 422, []string{"dueAt"}},
		{"DELETE", fmt.Sprintf("%s/tasks/%d", ct, missing), nil, nil, 404, nil},
		{"DELETE", ct + "/tasks/x", nil, nil, 400, nil},
		{"GET", "/v1/tasks", nil, nil, 200, nil},
		{"GET", "/v1/tasks", nil, &ghost, 404, nil},
		{"GET", "/v1/tasks?completed=maybe", nil, nil, 422, []string{"completed"}},

		{"GET", ct + "/notes", nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/contacts/%d/notes", missing), nil, nil, 404, nil},
		{"GET", ct + "/notes?pageSize=-1", nil, nil, 422, []string{"pageSize"}},
		{"POST", ct + "/notes", jsonObj{"body": "Second"}, nil, 201, nil},
		{"POST", fmt.Sprintf("/v1/contacts/%d/notes", missing), jsonObj{"body": "x"}, nil, 404, nil},
		{"POST", ct + "/notes", jsonObj{"body": ""}, nil, 422, []string{"body"}},
		{"GET", fmt.Sprintf("%s/notes/%d", ct, note.ID), nil, nil, 200, nil},
		{"GET", fmt.Sprintf("%s/notes/%d", ct, missing), nil, nil, 404, nil},
		{"GET", ct + "/notes/-3", nil, nil, 400, nil},
		{"PUT", fmt.Sprintf("%s/notes/%d", ct, note.ID), jsonObj{"author": jsonObj{"username": "jdoe"}}, nil, 200, nil},
		{"PUT", fmt.Sprintf("%s/notes/%d", ct, missing), jsonObj{"body": "x"}, nil, 404, nil},
		{"PUT", fmt.Sprintf("%s/notes/%d", ct, note.ID), jsonObj{"author": jsonObj{"username": " "}}, nil, 422, []string{"author.username"}},
		{"DELETE", fmt.Sprintf("%s/notes/%d", ct, missing), nil, nil, 404, nil},
		{"DELETE", ct + "/notes/0", nil, nil, 400, nil},
		{"GET", "/v1/notes", nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/notes?contactId=%d", missing), nil, nil, 404, nil},
		{"GET", "/v1/notes?updatedSince=soon", nil, nil, 422, []string{"updatedSince"}},

		{"GET", "/v1/calendar/events", nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/calendar/events?contactId=%d", missing), nil, nil, 404, nil},
		{"GET", "/v1/calendar/events?from=-1", nil, nil, 422, []string{"from"}},
		{"POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 1709300000, "end": 1709303600, "status": "completed"}, nil, 201, nil},
		{"POST", "/v1/calendar/events", jsonObj{"contactId": missing, "start": 1709300000, "end": 1709303600}, nil, 404, nil},
		{"POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 1709300000, "end": 1709300000}, nil, 422, []string{"end"}},
		{"GET", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/calendar/events/%d", missing), nil, nil, 404, nil},
		{"GET", "/v1/calendar/events/0", nil, nil, 400, nil},
		{"PUT", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), jsonObj{"title": "Visit", "location": "12 Main St"}, nil, 200, nil},
		{"PUT", fmt.Sprintf("/v1/calendar/events/%d", missing), jsonObj{"title": "Visit"}, nil, 404, nil},
		{"PUT", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), jsonObj{"status": "done"}, nil, 422, []string{"status"}},
		{"DELETE", fmt.Sprintf("/v1/calendar/events/%d", missing), nil, nil, 404, nil},
		{"DELETE", "/v1/calendar/events/0", nil, nil, 400, nil},

		{"GET", "/v1/campaigns", nil, nil, 200, nil},
		{"GET", "/v1/campaigns", nil, &ghost, 404, nil},
		{"GET", "/v1/campaigns?pageSize=1000", nil, nil, 422, []string{"pageSize"}},
		{"GET", fmt.Sprintf("/v1/campaigns/%d", camp), nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/campaigns/%d", missing), nil, nil, 404, nil},
		{"GET", "/v1/campaigns/0", nil, nil, 400, nil},
		{"POST", fmt.Sprintf("/v1/campaigns/%d/triggers", camp), jsonObj{"contactId": c.ID}, nil, 201, nil},
		{"POST", fmt.Sprintf("/v1/campaigns/%d/triggers", camp), jsonObj{"contactId": missing}, nil, 404, nil},
		{"POST", fmt.Sprintf("/v1/campaigns/%d/triggers", camp), jsonObj{"contactId": 0}, nil, 422, []string{"contactId"}},
		{"GET", fmt.Sprintf("/v1/campaigns/%d/triggers", camp), nil, nil, 200, nil},
		{"GET", fmt.Sprintf("/v1/campaigns/%d/triggers", missing), nil, nil, 404, nil},
		{"GET", fmt.Sprintf("/v1/campaigns/%d/triggers?page=x", camp), nil, nil, 422, []string{"page"}},

		{"GET", "/v1/webhooks", nil, nil, 200, nil},
		{"GET", "/v1/webhooks", nil, &ghost, 404, nil},
		{"GET", "/v1/webhooks?pageSize=x", nil, nil, 422, []string{"pageSize"}},
		{"POST", "/v1/webhooks", jsonObj{"url": "http://example.com/x", "events": []string{"task.completed"}}, nil, 201, nil},
		{"POST", "/v1/webhooks", jsonObj{"url": "http://example.com/x", "events": []string{"task.completed"}}, &ghost, 404, nil},
		{"POST", "/v1/webhooks", jsonObj{"url": "ftp://example.com/x", "events": []string{"task.completed"}}, nil, 422, []string{"url"}},
		{"DELETE", fmt.Sprintf("/v1/webhooks/%d", missing), nil, nil, 404, nil},
		{"DELETE", "/v1/webhooks/0", nil, nil, 400, nil},

		// A query string that does not decode (issue 12).
		{"GET", "/v1/account?x=%zz", nil, nil, 400, nil},

		// The deletes last: they take the records the rows above use.
		{"DELETE", fmt.Sprintf("/v1/webhooks/%d", hook.ID), nil, nil, 200, nil},
		{"DELETE", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), nil, nil, 200, nil},
		{"DELETE", fmt.Sprintf("%s/notes/%d", ct, note.ID), nil, nil, 200, nil},
		{"DELETE", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil, nil, 200, nil},
		{"DELETE", fmt.Sprintf("/v1/contacts/%d", gone.ID), nil, nil, 200, nil},
	}
	for _, row := range rows {
		req := m360Req{method: row.method, path: row.path, body: row.body}
		if row.key != nil {
			req.id, req.secret = row.key.ClientID, row.key.ClientSecret
		}
		r := e.send(t, req)
		if r.status != row.want {
			t.Errorf("%s %s: %s, want %d", row.method, row.path, r, row.want)
			continue
		}
		if row.want >= 400 {
			m360MustError(t, r, row.want, row.fields...)
		}
	}
	for _, p := range m360Missing(e.cov, e.srv.M360.Spec()) {
		t.Errorf("operation coverage: %s", p)
	}
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestM360_AuthEveryOperation checks every operation against missing and bad
// credentials (401 with the Basic challenge), a key without permissions
// (403), a key with only the operation's permission (allowed) and one with
// every other permission (403).
func TestM360_AuthEveryOperation(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	acct := e.srv.Defaults().M360.Account.ID
	none := e.mintKey(t, acct)
	only := map[string]m360Key{}
	allBut := map[string]m360Key{}
	for _, p := range m360AllPermissions {
		only[p] = e.mintKey(t, acct, p)
		allBut[p] = e.mintKey(t, acct, slices.DeleteFunc(slices.Clone(m360AllPermissions), func(q string) bool { return q == p })...)
	}
	if got := mock.SpecScopes(e.srv.M360.Spec()); !slices.Equal(got, m360AllPermissions) {
		t.Fatalf("spec permissions %v, want %v", got, m360AllPermissions)
	}
	k := e.key
	for _, op := range e.srv.M360.Spec().Operations() {
		t.Run(op.ID, func(t *testing.T) {
			if len(op.Scopes) != 1 {
				t.Fatalf("x-permissions %v: want exactly one", op.Scopes)
			}
			path := pathParam.ReplaceAllString(op.Path, "999999")
			var body any
			if op.Spec.RequestBody != nil {
				body = jsonObj{}
			}
			for name, req := range map[string]m360Req{
				"no credentials":   {id: m360NoAuth},
				"wrong secret":     {id: k.ClientID, secret: k.ClientSecret + "x"},
				"unknown client":   {id: "m360_nobody", secret: k.ClientSecret},
				"empty secret":     {id: k.ClientID, secret: ""},
				"bearer token":     {authorization: "Bearer " + e.srv.Defaults().HighLevel.Token},
				"not base64":       {authorization: "Basic !!!"},
				"no colon":         {authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(k.ClientID))},
				"scheme only":      {authorization: "Basic"},
				"secret as client": {id: k.ClientSecret, secret: k.ClientID},
			} {
				req.method, req.path, req.body = op.Method, path, body
				r := e.send(t, req)
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s: %s, want 401", name, r)
					continue
				}
				m360MustError(t, r, http.StatusUnauthorized)
			}
			m360MustError(t, e.as(t, none, op.Method, path, body), http.StatusForbidden)
			m360MustError(t, e.as(t, allBut[op.Scopes[0]], op.Method, path, body), http.StatusForbidden)
			if r := e.as(t, only[op.Scopes[0]], op.Method, path, body); r.status == 401 || r.status == 403 {
				t.Errorf("key with only %s: %s", op.Scopes[0], r)
			}
		})
	}
}

// TestM360_RestrictedKey: a key with only contacts:read reads contacts but
// cannot write them nor read anything else.
func TestM360_RestrictedKey(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	c := e.mustContact(t, jsonObj{"firstName": "Ann"})
	ro := e.mintKey(t, e.srv.Defaults().M360.Account.ID, "contacts:read")
	l := mustDecode[m360List[m360Contact]](t, e.as(t, ro, "GET", "/v1/contacts", nil))
	if l.Total != 1 || l.Result[0].ID != c.ID {
		t.Fatalf("list as contacts:read: %+v", l)
	}
	mustStatus(t, e.as(t, ro, "GET", fmt.Sprintf("/v1/contacts/%d", c.ID), nil), 200)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/contacts"},
		{"PUT", fmt.Sprintf("/v1/contacts/%d", c.ID)},
		{"DELETE", fmt.Sprintf("/v1/contacts/%d", c.ID)},
		{"GET", "/v1/account"},
		{"GET", "/v1/tasks"},
		{"GET", "/v1/webhooks"},
	} {
		var body any
		if tc.method != "GET" && tc.method != "DELETE" {
			body = jsonObj{"firstName": "Bob"}
		}
		m360MustError(t, e.as(t, ro, tc.method, tc.path, body), http.StatusForbidden)
	}
	// The refused writes changed nothing.
	got := m360Must[m360Result[m360Contact]](t, e, "GET", fmt.Sprintf("/v1/contacts/%d", c.ID), nil, 200).Result
	if *got.FirstName != "Ann" || got.Updated != c.Updated {
		t.Fatalf("contact after refused writes: %+v", got)
	}
	if n := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts", nil, 200).Total; n != 1 {
		t.Fatalf("total %d after a refused create", n)
	}
	// A key minted for an unknown account is refused by the admin API.
	mustStatus(t, e.do(t, "POST", "/__admin/m360/keys", jsonObj{"accountId": 424242, "permissions": []string{}}), 404)
}

// TestM360_BodyErrors: 411 without Content-Length on every operation with a
// body, 400 for malformed JSON or another content type, 422 for a property
// the schema does not declare or a value of the wrong type.
func TestM360_BodyErrors(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	c := e.mustContact(t, jsonObj{"firstName": "Ann"})
	withBody := 0
	for _, op := range e.srv.M360.Spec().Operations() {
		if op.Spec.RequestBody == nil {
			continue
		}
		withBody++
		path := pathParam.ReplaceAllString(op.Path, strconv.FormatInt(c.ID, 10))
		t.Run(op.ID, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				req    m360Req
				status int
				fields []string
			}{
				{"chunked", m360Req{body: `{"title":"x"}`, chunked: true}, 411, nil},
				{"chunked without credentials", m360Req{body: `{}`, chunked: true, id: m360NoAuth}, 411, nil},
				{"malformed JSON", m360Req{body: `{"title":`}, 400, nil},
				{"text/plain", m360Req{body: `{}`, contentType: "text/plain"}, 400, nil},
				{"empty body", m360Req{body: ``}, 400, nil},
				{"unknown property", m360Req{body: jsonObj{"nope": 1}}, 422, []string{"nope"}},
			} {
				req := tc.req
				req.method, req.path = op.Method, path
				r := e.send(t, req)
				if r.status != tc.status {
					t.Errorf("%s: %s, want %d", tc.name, r, tc.status)
					continue
				}
				m360MustError(t, r, tc.status, tc.fields...)
			}
		})
	}
	if withBody != 10 {
		t.Errorf("%d operations with a body, want 10", withBody)
	}
	// Wrong types name the field.
	for _, tc := range []struct {
		method, path string
		body         jsonObj
		field        string
	}{
		{"POST", "/v1/contacts", jsonObj{"firstName": 7}, "firstName"},
		{"POST", "/v1/contacts", jsonObj{"tags": "vip"}, "tags"},
		{"POST", "/v1/contacts", jsonObj{"source": jsonObj{"id": 0}}, "source.id"},
		{"POST", "/v1/contacts", jsonObj{"email": strings.Repeat("a", 321)}, "email"},
		{"POST", "/v1/contacts", jsonObj{"tags": []string{"ok", " "}}, "tags.1"},
		{"POST", "/v1/contacts", jsonObj{"customFields": jsonObj{"": "x"}}, "customFields"},
		{"POST", fmt.Sprintf("/v1/contacts/%d/tasks", c.ID), jsonObj{"title": "x", "completed": "yes"}, "completed"},
		{"POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 10}, "end"},
		{"POST", "/v1/webhooks", jsonObj{"url": "https://e.com", "events": []string{"contact.exploded"}}, "events.0"},
		{"POST", "/v1/webhooks", jsonObj{"url": "https://e.com", "events": []string{}}, "events"},
	} {
		m360MustError(t, e.do(t, tc.method, tc.path, tc.body), http.StatusUnprocessableEntity, tc.field)
	}
}

// TestM360_ContactWorkflow is the flow: a contact, a task completed
// and reopened, a note, a calendar event and campaign triggers.
func TestM360_ContactWorkflow(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	t0 := clockStart.Unix()
	c := e.mustContact(t, jsonObj{
		"firstName": " Jane ", "lastName": "Doe", "email": "Jane.Doe@Example.com", "phone": "+1 (303) 555-0100",
		"company": "Acme", "tags": []string{"vip", " vip ", "lead"}, "source": jsonObj{"id": 7, "name": "Website"},
		"types": []jsonObj{{"id": 3, "name": "Lead"}, {"id": 3}}, "customFields": jsonObj{"plan": "pro"},
		"externalIds": jsonObj{"ghl": "seD4PfOuKoVMLkEZqohJ"},
	})
	if c.ID < 1001 || *c.FirstName != "Jane" || *c.Email != "Jane.Doe@Example.com" || !slices.Equal(c.Tags, []string{"vip", "lead"}) ||
		len(c.Types) != 1 || c.Source == nil || c.Source.Name != "Website" || c.CustomFields["plan"] != "pro" ||
		c.ExternalIDs.GHL == nil || c.Created != t0 || c.Updated != t0 {
		t.Fatalf("created %+v", c)
	}
	base := fmt.Sprintf("/v1/contacts/%d", c.ID)

	// A task, completed later, then reopened.
	task := m360Must[m360Result[m360Task]](t, e, "POST", base+"/tasks",
		jsonObj{"title": "Call back", "dueAt": t0 + 86400, "assignee": jsonObj{"username": "jdoe"}}, 201).Result
	if task.Completed || task.CompletedAt != nil || task.ContactID != c.ID || task.Assignee == nil || *task.DueAt != t0+86400 {
		t.Fatalf("task %+v", task)
	}
	e.advance(t, "90s")
	taskPath := fmt.Sprintf("%s/tasks/%d", base, task.ID)
	done := m360Must[m360Result[m360Task]](t, e, "PUT", taskPath, jsonObj{"completed": true}, 200).Result
	if !done.Completed || done.CompletedAt == nil || *done.CompletedAt != t0+90 || done.Updated != t0+90 || done.Title != "Call back" || done.Assignee == nil {
		t.Fatalf("completed %+v", done)
	}
	e.advance(t, "10s")
	again := m360Must[m360Result[m360Task]](t, e, "PUT", taskPath, jsonObj{"completed": true, "description": "left a message"}, 200).Result
	if again.CompletedAt == nil || *again.CompletedAt != t0+90 {
		t.Fatalf("completing again moved completedAt: %+v", again)
	}
	reopened := m360Must[m360Result[m360Task]](t, e, "PUT", taskPath, jsonObj{"completed": false, "assignee": nil, "dueAt": nil}, 200).Result
	if reopened.Completed || reopened.CompletedAt != nil || reopened.Assignee != nil || reopened.DueAt != nil || *reopened.Description != "left a message" {
		t.Fatalf("reopened %+v", reopened)
	}
	created := m360Must[m360Result[m360Task]](t, e, "POST", base+"/tasks", jsonObj{"title": "Done already", "completed": true}, 201).Result
	if created.CompletedAt == nil || *created.CompletedAt != created.Created {
		t.Fatalf("created completed: %+v", created)
	}
	tl := m360Must[m360List[m360Task]](t, e, "GET", base+"/tasks", nil, 200)
	if tl.Total != 2 || tl.Result[0].ID != task.ID || tl.Result[1].ID != created.ID || tl.Page != 1 || tl.PageSize != 25 {
		t.Fatalf("tasks %+v", tl)
	}

	// A note.
	note := m360Must[m360Result[m360Note]](t, e, "POST", base+"/notes", jsonObj{"body": "Prefers email.", "author": jsonObj{"username": "jdoe"}}, 201).Result
	if note.Body != "Prefers email." || note.Author == nil || note.Author.Username != "jdoe" || note.ContactID != c.ID {
		t.Fatalf("note %+v", note)
	}
	edited := m360Must[m360Result[m360Note]](t, e, "PUT", fmt.Sprintf("%s/notes/%d", base, note.ID), jsonObj{"author": nil}, 200).Result
	if edited.Author != nil || edited.Body != "Prefers email." {
		t.Fatalf("note edited %+v", edited)
	}
	if nl := m360Must[m360List[m360Note]](t, e, "GET", base+"/notes", nil, 200); nl.Total != 1 || nl.Result[0].ID != note.ID {
		t.Fatalf("notes %+v", nl)
	}

	// A calendar event.
	ev := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events",
		jsonObj{"contactId": c.ID, "title": "Estimate visit", "start": t0 + 3600, "end": t0 + 7200, "externalIds": jsonObj{"ghl": "appt1"}}, 201).Result
	if ev.Status != "scheduled" || *ev.Title != "Estimate visit" || ev.Location != nil || *ev.ExternalIDs.GHL != "appt1" {
		t.Fatalf("event %+v", ev)
	}
	evPath := fmt.Sprintf("/v1/calendar/events/%d", ev.ID)
	m360MustError(t, e.do(t, "PUT", evPath, jsonObj{"end": t0 + 3600}), 422, "end")
	moved := m360Must[m360Result[m360Event]](t, e, "PUT", evPath, jsonObj{"start": t0 + 7200, "end": t0 + 9000, "title": nil, "externalIds": nil}, 200).Result
	if moved.Start != t0+7200 || moved.Title != nil || moved.ExternalIDs.GHL != nil || moved.Status != "scheduled" {
		t.Fatalf("event moved %+v", moved)
	}
	el := m360Must[m360List[m360Event]](t, e, "GET", fmt.Sprintf("/v1/calendar/events?contactId=%d&from=%d&to=%d", c.ID, t0+7200, t0+7201), nil, 200)
	if el.Total != 1 || el.Result[0].ID != ev.ID {
		t.Fatalf("events %+v", el)
	}
	if el := m360Must[m360List[m360Event]](t, e, "GET", fmt.Sprintf("/v1/calendar/events?to=%d", t0+7200), nil, 200); el.Total != 0 {
		t.Fatalf("events before the start: %+v", el)
	}

	// Campaign triggers: 201, then 200 with the same trigger.
	welcome, paused := e.campaignID(t, "Welcome series"), e.campaignID(t, "Holiday promotion")
	trig := fmt.Sprintf("/v1/campaigns/%d/triggers", welcome)
	first := m360Must[m360Result[m360Trigger]](t, e, "POST", trig, jsonObj{"contactId": c.ID}, 201).Result
	e.advance(t, "1m")
	second := m360Must[m360Result[m360Trigger]](t, e, "POST", trig, jsonObj{"contactId": c.ID}, 200).Result
	if first != second || first.CampaignID != welcome || first.ContactID != c.ID {
		t.Fatalf("triggers %+v then %+v", first, second)
	}
	m360MustError(t, e.do(t, "POST", trig, jsonObj{"contactId": 999999}), 404)
	m360MustError(t, e.do(t, "POST", fmt.Sprintf("/v1/campaigns/%d/triggers", paused), jsonObj{"contactId": c.ID}), 409, "campaignId")
	m360MustError(t, e.do(t, "POST", "/v1/campaigns/999999/triggers", jsonObj{"contactId": c.ID}), 404)
	if l := m360Must[m360List[m360Trigger]](t, e, "GET", trig, nil, 200); l.Total != 1 || l.Result[0] != first {
		t.Fatalf("triggers %+v", l)
	}
	if l := m360Must[m360List[m360Trigger]](t, e, "GET", fmt.Sprintf("/v1/campaigns/%d/triggers", paused), nil, 200); l.Total != 0 {
		t.Fatalf("paused campaign's triggers %+v", l)
	}
	camp := m360Must[m360Result[m360Campaign]](t, e, "GET", fmt.Sprintf("/v1/campaigns/%d", paused), nil, 200).Result
	if camp.Name != "Holiday promotion" || camp.Status != "paused" {
		t.Fatalf("campaign %+v", camp)
	}

	// The contact PUT is partial, as the others: what it leaves out keeps
	// its value, null and "" clear, a list or map sent replaces it whole.
	r := m360Must[m360Result[m360Contact]](t, e, "PUT", base, jsonObj{"firstName": "Janet", "id": 1, "created": 2, "updated": 3,
		"lastName": nil, "company": "", "tags": []string{"won"}, "customFields": jsonObj{"tier": "gold"}}, 200).Result
	if r.ID != c.ID || r.Created != c.Created || *r.FirstName != "Janet" || *r.Email != *c.Email || *r.Phone != *c.Phone ||
		r.LastName != nil || r.Company != nil || !slices.Equal(r.Tags, []string{"won"}) || r.Source == nil || len(r.Types) != 1 ||
		len(r.CustomFields) != 1 || r.CustomFields["tier"] != "gold" || *r.ExternalIDs.GHL != *c.ExternalIDs.GHL || r.Updated <= c.Updated {
		t.Fatalf("updated %+v", r)
	}
	// An empty body changes nothing but the update time.
	e.clk.Advance(time.Second)
	same := m360Must[m360Result[m360Contact]](t, e, "PUT", base, jsonObj{}, 200).Result
	if *same.FirstName != "Janet" || !slices.Equal(same.Tags, r.Tags) || same.Source == nil || same.Updated <= r.Updated {
		t.Fatalf("empty update %+v", same)
	}
	r = m360Must[m360Result[m360Contact]](t, e, "PUT", base, jsonObj{"source": nil, "types": nil, "customFields": nil, "externalIds": nil, "tags": nil}, 200).Result
	if r.Source != nil || len(r.Types) != 0 || len(r.CustomFields) != 0 || r.ExternalIDs.GHL != nil || len(r.Tags) != 0 || *r.FirstName != "Janet" {
		t.Fatalf("cleared %+v", r)
	}
}

// TestM360_ContactsPaging pages through contacts by page and pageSize.
func TestM360_ContactsPaging(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	var ids []int64
	for i := range 7 {
		ids = append(ids, e.mustContact(t, jsonObj{"firstName": fmt.Sprintf("P%d", i)}).ID)
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids not increasing: %v", ids)
	}
	for _, tc := range []struct {
		query          string
		page, pageSize int
		want           []int64
	}{
		{"", 1, 25, ids},
		{"?pageSize=3", 1, 3, ids[:3]},
		{"?page=2&pageSize=3", 2, 3, ids[3:6]},
		{"?page=3&pageSize=3", 3, 3, ids[6:]},
		{"?page=4&pageSize=3", 4, 3, nil},
		{"?page=99999&pageSize=100", 99999, 100, nil},
		{"?page=2147483647&pageSize=100", 2147483647, 100, nil},
		{"?pageSize=0", 1, 0, nil},
		{"?page=2&pageSize=7", 2, 7, nil},
		{"?page=1&pageSize=7", 1, 7, ids},
	} {
		l := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts"+tc.query, nil, 200)
		var got []int64
		for _, c := range l.Result {
			got = append(got, c.ID)
		}
		if l.Total != 7 || l.Page != tc.page || l.PageSize != tc.pageSize || !slices.Equal(got, tc.want) || l.Result == nil {
			t.Errorf("%q: page %d size %d total %d ids %v; want page %d size %d total 7 ids %v",
				tc.query, l.Page, l.PageSize, l.Total, got, tc.page, tc.pageSize, tc.want)
		}
	}
	m360MustError(t, e.do(t, "GET", "/v1/contacts?page=2147483648", nil), 422, "page")
}

// TestM360_UpdatedSince reads contacts changed since a time, by updated then id.
func TestM360_UpdatedSince(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	t0 := clockStart.Unix()
	a := e.mustContact(t, jsonObj{"firstName": "A"})
	b := e.mustContact(t, jsonObj{"firstName": "B"})
	c := e.mustContact(t, jsonObj{"firstName": "C"})
	e.advance(t, "10s")
	m360Must[m360Result[m360Contact]](t, e, "PUT", fmt.Sprintf("/v1/contacts/%d", a.ID), jsonObj{"firstName": "A2"}, 200)
	ids := func(q string) []int64 {
		t.Helper()
		return m360IDs(t, e, "/v1/contacts"+q, func(c m360Contact) int64 { return c.ID })
	}
	if got := ids(fmt.Sprintf("?updatedSince=%d", t0+10)); !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("since t0+10: %v, want [%d]", got, a.ID)
	}
	if got := ids(fmt.Sprintf("?updatedSince=%d", t0+11)); len(got) != 0 {
		t.Fatalf("since t0+11: %v", got)
	}
	if got := ids(fmt.Sprintf("?updatedSince=%d", t0)); !slices.Equal(got, []int64{b.ID, c.ID, a.ID}) {
		t.Fatalf("since t0: %v, want by updated then id [%d %d %d]", got, b.ID, c.ID, a.ID)
	}
	if got := ids("?updatedSince=0"); !slices.Equal(got, []int64{b.ID, c.ID, a.ID}) {
		t.Fatalf("since 0: %v", got)
	}
	if got := ids(""); !slices.Equal(got, []int64{a.ID, b.ID, c.ID}) {
		t.Fatalf("no filter: %v, want by id", got)
	}
	if l := m360Must[m360List[m360Contact]](t, e, "GET", fmt.Sprintf("/v1/contacts?updatedSince=%d&pageSize=2&page=2", t0), nil, 200); l.Total != 3 || len(l.Result) != 1 || l.Result[0].ID != a.ID {
		t.Fatalf("since t0, page 2 by 2: %+v", l)
	}
	m360MustError(t, e.do(t, "GET", "/v1/contacts?updatedSince=-1", nil), 422, "updatedSince")
	m360MustError(t, e.do(t, "GET", "/v1/contacts?updatedSince=yesterday", nil), 422, "updatedSince")
}

// TestM360_Lookup finds a contact by email, case-insensitively, and by
// externalId; unique emails per account.
func TestM360_Lookup(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	jane := e.mustContact(t, jsonObj{"email": "Jane@Example.com", "externalIds": jsonObj{"ghl": "ghl-1"}})
	e.mustContact(t, jsonObj{"email": "john@example.com", "externalIds": jsonObj{"ghl": "ghl-2"}})
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"?email=jane@example.com", []int64{jane.ID}},
		{"?email=JANE@EXAMPLE.COM", []int64{jane.ID}},
		{"?email=Jane%40Example.com", []int64{jane.ID}},
		{"?email=nobody@example.com", nil},
		{"?externalId=ghl-1", []int64{jane.ID}},
		{"?externalId=GHL-1", nil},
		{"?email=jane@example.com&externalId=ghl-2", nil},
		{"?email=jane@example.com&externalId=ghl-1", []int64{jane.ID}},
	} {
		l := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts"+tc.query, nil, 200)
		var got []int64
		for _, c := range l.Result {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, tc.want) || l.Total != len(tc.want) {
			t.Errorf("%s: %v total %d, want %v", tc.query, got, l.Total, tc.want)
		}
	}
	m360MustError(t, e.do(t, "GET", "/v1/contacts?email=", nil), 422, "email")
}

// TestM360_UniqueEmail: a used email is 409 with fields.email, on create and
// on update, case-insensitively, within one account only.
func TestM360_UniqueEmail(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	jane := e.mustContact(t, jsonObj{"email": "jane@example.com"})
	john := e.mustContact(t, jsonObj{"email": "john@example.com"})
	m360MustError(t, e.do(t, "POST", "/v1/contacts", jsonObj{"email": "JANE@example.com"}), 409, "email")
	m360MustError(t, e.do(t, "POST", "/v1/contacts", jsonObj{"email": " jane@example.com "}), 409, "email")
	m360MustError(t, e.do(t, "PUT", fmt.Sprintf("/v1/contacts/%d", john.ID), jsonObj{"email": "Jane@Example.COM"}), 409, "email")
	// Keeping one's own email, in another case, is no conflict.
	self := m360Must[m360Result[m360Contact]](t, e, "PUT", fmt.Sprintf("/v1/contacts/%d", jane.ID), jsonObj{"email": "JANE@example.com"}, 200).Result
	if *self.Email != "JANE@example.com" {
		t.Fatalf("own email: %+v", self)
	}
	// A freed email may be taken; contacts without email never conflict.
	m360Must[m360Result[m360Contact]](t, e, "PUT", fmt.Sprintf("/v1/contacts/%d", john.ID), jsonObj{"firstName": "John", "email": nil}, 200)
	e.mustContact(t, jsonObj{"email": "john@example.com"})
	e.mustContact(t, jsonObj{"firstName": "No email"})
	e.mustContact(t, jsonObj{"firstName": "No email either", "email": nil})
	// Another account has its own emails.
	other := e.srv.Store().PutM360Account(store.M360Account{Name: "Other"})
	k := e.mintKey(t, other.ID, m360AllPermissions...)
	r := e.as(t, k, "POST", "/v1/contacts", jsonObj{"email": "jane@example.com"})
	mustStatus(t, r, 201)
	if l := mustDecode[m360List[m360Contact]](t, e.as(t, k, "GET", "/v1/contacts?email=JANE@example.com", nil)); l.Total != 1 || l.Result[0].ID == jane.ID {
		t.Fatalf("other account's lookup: %+v", l)
	}
}

// TestM360_OtherAccountIs404: a key sees only its account's records.
func TestM360_OtherAccountIs404(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	other := e.srv.Store().PutM360Account(store.M360Account{Name: "Other", Timezone: "Europe/Paris"})
	if _, err := e.srv.Store().PutM360Campaign(store.M360Campaign{AccountID: other.ID, Name: "Theirs", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	k := e.mintKey(t, other.ID, m360AllPermissions...)
	acct := mustDecode[m360Result[struct {
		ID       int64   `json:"id"`
		Name     string  `json:"name"`
		Timezone *string `json:"timezone"`
	}]](t, e.as(t, k, "GET", "/v1/account", nil)).Result
	if acct.ID != other.ID || acct.Name != "Other" || *acct.Timezone != "Europe/Paris" {
		t.Fatalf("other account %+v", acct)
	}
	mine := e.mustContact(t, jsonObj{"firstName": "Mine"})
	theirs := mustDecode[m360Result[m360Contact]](t, e.as(t, k, "POST", "/v1/contacts", jsonObj{"firstName": "Theirs"})).Result
	ct := fmt.Sprintf("/v1/contacts/%d", theirs.ID)
	task := mustDecode[m360Result[m360Task]](t, e.as(t, k, "POST", ct+"/tasks", jsonObj{"title": "T"})).Result
	note := mustDecode[m360Result[m360Note]](t, e.as(t, k, "POST", ct+"/notes", jsonObj{"body": "N"})).Result
	ev := mustDecode[m360Result[m360Event]](t, e.as(t, k, "POST", "/v1/calendar/events", jsonObj{"contactId": theirs.ID, "start": 1, "end": 2})).Result
	hook := mustDecode[m360Result[m360Webhook]](t, e.as(t, k, "POST", "/v1/webhooks", jsonObj{"url": "https://o.example/h", "events": []string{"note.created"}})).Result
	camps := mustDecode[m360List[m360Campaign]](t, e.as(t, k, "GET", "/v1/campaigns", nil))
	if camps.Total != 1 || camps.Result[0].Name != "Theirs" {
		t.Fatalf("other account's campaigns %+v", camps)
	}
	theirCamp := camps.Result[0].ID
	myCamp := e.campaignID(t, "Welcome series")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", ct, nil},
		{"PUT", ct, jsonObj{"firstName": "X"}},
		{"DELETE", ct, nil},
		{"GET", ct + "/tasks", nil},
		{"POST", ct + "/tasks", jsonObj{"title": "X"}},
		{"GET", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil},
		{"PUT", fmt.Sprintf("%s/tasks/%d", ct, task.ID), jsonObj{"completed": true}},
		{"DELETE", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil},
		{"GET", fmt.Sprintf("/v1/contacts/%d/tasks/%d", mine.ID, task.ID), nil},
		{"GET", ct + "/notes", nil},
		{"POST", ct + "/notes", jsonObj{"body": "X"}},
		{"GET", fmt.Sprintf("%s/notes/%d", ct, note.ID), nil},
		{"PUT", fmt.Sprintf("%s/notes/%d", ct, note.ID), jsonObj{"body": "X"}},
		{"DELETE", fmt.Sprintf("%s/notes/%d", ct, note.ID), nil},
		{"GET", fmt.Sprintf("/v1/contacts/%d/notes/%d", mine.ID, note.ID), nil},
		{"GET", fmt.Sprintf("/v1/calendar/events?contactId=%d", theirs.ID), nil},
		{"POST", "/v1/calendar/events", jsonObj{"contactId": theirs.ID, "start": 1, "end": 2}},
		{"GET", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), nil},
		{"PUT", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), jsonObj{"title": "X"}},
		{"PUT", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), jsonObj{"contactId": mine.ID}},
		{"DELETE", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), nil},
		{"GET", fmt.Sprintf("/v1/campaigns/%d", theirCamp), nil},
		{"GET", fmt.Sprintf("/v1/campaigns/%d/triggers", theirCamp), nil},
		{"POST", fmt.Sprintf("/v1/campaigns/%d/triggers", theirCamp), jsonObj{"contactId": mine.ID}},
		{"POST", fmt.Sprintf("/v1/campaigns/%d/triggers", myCamp), jsonObj{"contactId": theirs.ID}},
		{"DELETE", fmt.Sprintf("/v1/webhooks/%d", hook.ID), nil},
	} {
		m360MustError(t, e.do(t, tc.method, tc.path, tc.body), http.StatusNotFound)
	}
	// Their event may not move to my contact either.
	m360MustError(t, e.as(t, k, "PUT", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), jsonObj{"contactId": mine.ID}), http.StatusNotFound)
	for _, path := range []string{"/v1/contacts", "/v1/tasks", "/v1/calendar/events", "/v1/webhooks"} {
		var l m360List[json.RawMessage]
		l = m360Must[m360List[json.RawMessage]](t, e, "GET", path, nil, 200)
		want := 0
		if path == "/v1/contacts" {
			want = 1
		}
		if l.Total != want {
			t.Errorf("GET %s: total %d, want %d (the other account's records leak)", path, l.Total, want)
		}
	}
	// Their records are still there for them.
	mustStatus(t, e.as(t, k, "GET", ct, nil), 200)
	mustStatus(t, e.as(t, k, "GET", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil), 200)
	mustStatus(t, e.as(t, k, "GET", fmt.Sprintf("/v1/calendar/events/%d", ev.ID), nil), 200)
	if l := mustDecode[m360List[m360Webhook]](t, e.as(t, k, "GET", "/v1/webhooks", nil)); l.Total != 1 {
		t.Fatalf("their webhooks %+v", l)
	}
}

// TestM360_DeleteCascades: deleting a contact deletes its tasks, notes,
// events and triggers, and frees its email.
func TestM360_DeleteCascades(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	keep := e.mustContact(t, jsonObj{"firstName": "Keep"})
	c := e.mustContact(t, jsonObj{"firstName": "Doomed", "email": "doomed@example.com"})
	ct := fmt.Sprintf("/v1/contacts/%d", c.ID)
	task := m360Must[m360Result[m360Task]](t, e, "POST", ct+"/tasks", jsonObj{"title": "T"}, 201).Result
	note := m360Must[m360Result[m360Note]](t, e, "POST", ct+"/notes", jsonObj{"body": "N"}, 201).Result
	ev := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 100, "end": 200}, 201).Result
	keptTask := m360Must[m360Result[m360Task]](t, e, "POST", fmt.Sprintf("/v1/contacts/%d/tasks", keep.ID), jsonObj{"title": "K"}, 201).Result
	keptEv := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": keep.ID, "start": 100, "end": 200}, 201).Result
	camp := e.campaignID(t, "Re-engagement")
	trig := fmt.Sprintf("/v1/campaigns/%d/triggers", camp)
	m360Must[m360Result[m360Trigger]](t, e, "POST", trig, jsonObj{"contactId": c.ID}, 201)
	kept := m360Must[m360Result[m360Trigger]](t, e, "POST", trig, jsonObj{"contactId": keep.ID}, 201).Result

	del := m360Must[m360Result[m360Deleted]](t, e, "DELETE", ct, nil, 200).Result
	if del.ID != c.ID || !del.Deleted {
		t.Fatalf("deleted %+v", del)
	}
	for _, path := range []string{
		ct, ct + "/tasks", ct + "/notes",
		fmt.Sprintf("%s/tasks/%d", ct, task.ID), fmt.Sprintf("%s/notes/%d", ct, note.ID),
		fmt.Sprintf("/v1/calendar/events/%d", ev.ID), fmt.Sprintf("/v1/calendar/events?contactId=%d", c.ID),
	} {
		m360MustError(t, e.do(t, "GET", path, nil), 404)
	}
	m360MustError(t, e.do(t, "DELETE", ct, nil), 404)
	if l := m360Must[m360List[m360Task]](t, e, "GET", "/v1/tasks", nil, 200); l.Total != 1 || l.Result[0].ID != keptTask.ID {
		t.Fatalf("tasks after the delete: %+v", l)
	}
	if l := m360Must[m360List[m360Event]](t, e, "GET", "/v1/calendar/events", nil, 200); l.Total != 1 || l.Result[0].ID != keptEv.ID {
		t.Fatalf("events after the delete: %+v", l)
	}
	if l := m360Must[m360List[m360Trigger]](t, e, "GET", trig, nil, 200); l.Total != 1 || l.Result[0] != kept {
		t.Fatalf("triggers after the delete: %+v", l)
	}
	// The email is free again, and the new contact can enter the campaign anew.
	again := e.mustContact(t, jsonObj{"email": "doomed@example.com"})
	m360Must[m360Result[m360Trigger]](t, e, "POST", trig, jsonObj{"contactId": again.ID}, 201)
	st := m360Must[store.State](t, e, "GET", "/__admin/state", nil, 200)
	for _, tk := range st.M360Tasks {
		if tk.ContactID == c.ID {
			t.Errorf("state still has task %+v", tk)
		}
	}
	for _, n := range st.M360Notes {
		if n.ContactID == c.ID {
			t.Errorf("state still has note %+v", n)
		}
	}
}

// TestM360_TasksSync: GET /v1/tasks finds the tasks completed since a time.
func TestM360_TasksSync(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	t0 := clockStart.Unix()
	a := e.mustContact(t, jsonObj{"firstName": "A"})
	b := e.mustContact(t, jsonObj{"firstName": "B"})
	mk := func(c m360Contact, title string, completed bool) m360Task {
		return m360Must[m360Result[m360Task]](t, e, "POST", fmt.Sprintf("/v1/contacts/%d/tasks", c.ID), jsonObj{"title": title, "completed": completed}, 201).Result
	}
	a1, a2, b1 := mk(a, "a1", false), mk(a, "a2", true), mk(b, "b1", false)
	e.advance(t, "1h")
	complete := func(tk m360Task) {
		m360Must[m360Result[m360Task]](t, e, "PUT", fmt.Sprintf("/v1/contacts/%d/tasks/%d", tk.ContactID, tk.ID), jsonObj{"completed": true}, 200)
	}
	complete(b1)
	complete(a1)
	ids := func(q string) []int64 {
		t.Helper()
		l := m360Must[m360List[m360Task]](t, e, "GET", "/v1/tasks"+q, nil, 200)
		var out []int64
		for _, tk := range l.Result {
			out = append(out, tk.ID)
			if q != "" && strings.Contains(q, "completed=true") && (!tk.Completed || tk.CompletedAt == nil) {
				t.Errorf("%s: task %+v", q, tk)
			}
		}
		return out
	}
	since := t0 + 3600
	if got := ids(fmt.Sprintf("?completed=true&updatedSince=%d", since)); !slices.Equal(got, []int64{a1.ID, b1.ID}) {
		t.Fatalf("completed since: %v, want [%d %d]", got, a1.ID, b1.ID)
	}
	if got := ids("?completed=true"); !slices.Equal(got, []int64{a1.ID, a2.ID, b1.ID}) {
		t.Fatalf("completed: %v", got)
	}
	if got := ids(fmt.Sprintf("?completed=true&updatedSince=%d", t0)); !slices.Equal(got, []int64{a2.ID, a1.ID, b1.ID}) {
		t.Fatalf("completed since t0 by updated then id: %v", got)
	}
	if got := ids("?completed=false"); len(got) != 0 {
		t.Fatalf("open: %v", got)
	}
	if got := ids(fmt.Sprintf("?updatedSince=%d&pageSize=1&page=2", since)); !slices.Equal(got, []int64{b1.ID}) {
		t.Fatalf("page 2: %v", got)
	}
}

// TestM360_Webhooks: the secret is shown on create only.
func TestM360_Webhooks(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	r := e.do(t, "POST", "/v1/webhooks", jsonObj{"url": " http://127.0.0.1:9/hooks/m360 ",
		"events": []string{"contact.created", "task.completed", "contact.created"}})
	mustStatus(t, r, 201)
	h := mustDecode[m360Result[m360Webhook]](t, r).Result
	if h.Secret == nil || !strings.HasPrefix(*h.Secret, "whsec_") || len(*h.Secret) < 20 || h.URL != "http://127.0.0.1:9/hooks/m360" ||
		!slices.Equal(h.Events, []string{"contact.created", "task.completed"}) || h.Created != clockStart.Unix() {
		t.Fatalf("created %s", r.body)
	}
	h2 := m360Must[m360Result[m360Webhook]](t, e, "POST", "/v1/webhooks", jsonObj{"url": "http://127.0.0.1:9/x", "events": []string{"note.created"}}, 201).Result
	if *h2.Secret == *h.Secret {
		t.Fatal("two webhooks share a secret")
	}
	lr := e.do(t, "GET", "/v1/webhooks", nil)
	mustStatus(t, lr, 200)
	if strings.Contains(string(lr.body), "secret") || strings.Contains(string(lr.body), *h.Secret) {
		t.Fatalf("list shows the secret: %s", lr.body)
	}
	l := mustDecode[m360List[m360Webhook]](t, lr)
	if l.Total != 2 || l.Result[0].ID != h.ID || l.Result[1].ID != h2.ID {
		t.Fatalf("list %+v", l)
	}
	for _, bad := range []string{"example.com/x", "https://", "mailto:a@b.c", "/relative"} {
		m360MustError(t, e.do(t, "POST", "/v1/webhooks", jsonObj{"url": bad, "events": []string{"note.created"}}), 422, "url")
	}
	m360Must[m360Result[m360Deleted]](t, e, "DELETE", fmt.Sprintf("/v1/webhooks/%d", h.ID), nil, 200)
	m360MustError(t, e.do(t, "DELETE", fmt.Sprintf("/v1/webhooks/%d", h.ID), nil), 404)
	if l := m360Must[m360List[m360Webhook]](t, e, "GET", "/v1/webhooks", nil, 200); l.Total != 1 || l.Result[0].ID != h2.ID {
		t.Fatalf("after delete %+v", l)
	}
	// The journal does not keep the secret either.
	j := e.do(t, "GET", "/__admin/requests?operation=m360-create-webhook", nil)
	mustStatus(t, j, 200)
	if strings.Contains(string(j.body), *h.Secret) || strings.Contains(string(j.body), *h2.Secret) {
		t.Fatalf("the journal keeps a webhook secret: %s", j.body)
	}
}

// TestM360_Account: GET /v1/account is the key's account.
func TestM360_Account(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	r := e.do(t, "GET", "/v1/account", nil)
	mustStatus(t, r, 200)
	var got struct {
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := e.srv.Defaults().M360.Account
	if got.Result["id"] != float64(want.ID) || got.Result["name"] != want.Name || got.Result["timezone"] != "America/Denver" ||
		got.Result["created"] != float64(clockStart.Unix()) || len(got.Result) != 4 {
		t.Fatalf("account %s; want %+v", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	if r.header.Get("X-Rate-Limit-Limit") != "" {
		t.Fatalf("rate-limit headers without limits: %v", r.header)
	}
	m360MustError(t, e.do(t, "GET", "/v1/nope", nil), 404)
	m360MustError(t, e.send(t, m360Req{method: "GET", path: "/v1/nope", id: m360NoAuth}), 404)
}

// TestM360_RateLimits: 5 requests per second per key, then 429.
func TestM360_RateLimits(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{M360: mock.M360Options{Limits: m360Leaky()}})
	now := clockStart.Unix()
	for i := range 5 {
		r := e.do(t, "GET", "/v1/contacts", nil)
		mustStatus(t, r, 200)
		if got := r.header.Get("X-Rate-Limit-Remaining"); got != strconv.Itoa(4-i) {
			t.Fatalf("request %d: remaining %q, want %d", i+1, got, 4-i)
		}
		if r.header.Get("X-Rate-Limit-Limit") != "5" {
			t.Fatalf("limit %q", r.header.Get("X-Rate-Limit-Limit"))
		}
		reset, _ := strconv.ParseInt(r.header.Get("X-Rate-Limit-Reset"), 10, 64)
		if reset != now+1 {
			t.Fatalf("request %d: reset %d, want %d", i+1, reset, now+1)
		}
	}
	r := e.do(t, "GET", "/v1/contacts", nil)
	m360MustError(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-Rate-Limit-Remaining") != "0" ||
		r.header.Get("X-Rate-Limit-Reset") != strconv.FormatInt(now+1, 10) || r.header.Get("X-Rate-Limit-Limit") != "5" {
		t.Fatalf("429 headers %v", r.header)
	}
	// A refused request takes nothing: still refused, and not counted.
	mustStatus(t, e.do(t, "POST", "/v1/contacts", jsonObj{"firstName": "Refused"}), 429)
	// Another key has its own bucket.
	other := e.mintKey(t, e.srv.Defaults().M360.Account.ID, "contacts:read")
	r = e.as(t, other, "GET", "/v1/contacts", nil)
	mustStatus(t, r, 200)
	if r.header.Get("X-Rate-Limit-Remaining") != "4" {
		t.Fatalf("other key: remaining %q", r.header.Get("X-Rate-Limit-Remaining"))
	}
	if l := mustDecode[m360List[m360Contact]](t, r); l.Total != 0 {
		t.Fatalf("the refused create went through: %+v", l)
	}
	// 200ms drains one request.
	e.clk.Advance(200 * time.Millisecond)
	r = e.do(t, "GET", "/v1/contacts", nil)
	mustStatus(t, r, 200)
	if r.header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("after 200ms: remaining %q", r.header.Get("X-Rate-Limit-Remaining"))
	}
	mustStatus(t, e.do(t, "GET", "/v1/contacts", nil), 429)
	// Bad credentials are not counted against anyone, but carry the headers
	// of the bucket their client id names: the default key's, full.
	r = e.send(t, m360Req{method: "GET", path: "/v1/contacts", id: e.key.ClientID, secret: "wrong"})
	m360MustError(t, r, 401)
	if r.header.Get("X-Rate-Limit-Remaining") != "0" || r.header.Get("X-Rate-Limit-Limit") != "5" ||
		r.header.Get("X-Rate-Limit-Reset") != strconv.FormatInt(now+2, 10) { // t0+0.2s, full: drained at t0+1.2s, rounded up
		t.Fatalf("401 headers %v", r.header)
	}
	// The admin API shows the buckets and can turn limits off.
	st := m360Must[struct {
		Config  map[string]any   `json:"config"`
		Buckets []map[string]any `json:"buckets"`
	}](t, e, "GET", "/__admin/m360/limits", nil, 200)
	// The other key's one request has drained by now: only the default key's bucket is left.
	if st.Config["enabled"] != true || len(st.Buckets) != 1 || st.Buckets[0]["key"] != e.key.ClientID || st.Buckets[0]["remaining"] != float64(0) {
		t.Fatalf("limits %+v", st)
	}
	mustStatus(t, e.do(t, "PUT", "/__admin/m360/limits", jsonObj{"enabled": false, "perSecond": 5, "capacity": 5, "retryAfter": true}), 200)
	for range 8 {
		r := e.do(t, "GET", "/v1/contacts", nil)
		mustStatus(t, r, 200)
		for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Retry-After"} {
			if r.header.Get(h) != "" {
				t.Fatalf("limits off, yet %s: %q", h, r.header.Get(h))
			}
		}
	}
	mustStatus(t, e.do(t, "PUT", "/__admin/m360/limits", jsonObj{"enabled": true, "perSecond": 0, "capacity": 5}), 422)
	// Back on at 1 per second, capacity 2: Retry-After follows the rate.
	mustStatus(t, e.do(t, "PUT", "/__admin/m360/limits", jsonObj{"enabled": true, "perSecond": 1, "capacity": 2, "retryAfter": true}), 200)
	e.advance(t, "10s")
	mustStatus(t, e.do(t, "GET", "/v1/account", nil), 200)
	mustStatus(t, e.do(t, "GET", "/v1/account", nil), 200)
	r = e.do(t, "GET", "/v1/account", nil)
	mustStatus(t, r, 429)
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-Rate-Limit-Reset") != strconv.FormatInt(now+13, 10) { // t0+10.2s, drained at t0+12.2s, rounded up
		t.Fatalf("429 at 1/s: %v", r.header)
	}
}

// TestM360_RateLimitHeadersOnEveryStatus: a limited key's answers carry the
// headers whatever the status the handler gives.
func TestM360_RateLimitHeadersOnEveryStatus(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{M360: mock.M360Options{Limits: &limits.LeakyConfig{Enabled: true, PerSecond: 100, Capacity: 100, RetryAfter: true}}})
	c := e.mustContact(t, jsonObj{"email": "x@example.com"})
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/v1/contacts", nil, 200},
		{"POST", "/v1/contacts", jsonObj{"firstName": "Y"}, 201},
		{"GET", "/v1/contacts/999999", nil, 404},
		{"GET", "/v1/contacts/0", nil, 400},
		{"POST", "/v1/contacts", jsonObj{"email": "bad"}, 422},
		{"POST", "/v1/contacts", jsonObj{"email": "x@example.com"}, 409},
		{"DELETE", fmt.Sprintf("/v1/contacts/%d", c.ID), nil, 200},
	} {
		r := e.do(t, tc.method, tc.path, tc.body)
		mustStatus(t, r, tc.status)
		if r.header.Get("X-Rate-Limit-Limit") != "100" || r.header.Get("X-Rate-Limit-Remaining") == "" || r.header.Get("X-Rate-Limit-Reset") == "" {
			t.Errorf("%s %s %d: headers %v", tc.method, tc.path, tc.status, r.header)
		}
	}
	// Refused before the scope check: 401 (no key, an unknown key, a wrong
	// secret) and 403 (a permission missing) carry the headers too. A 401
	// is not counted and shows the level of the bucket its client id names
	// (the default key's 8 requests so far, or an empty bucket); Reset is
	// when that bucket is empty, from the same level. A 403 is counted.
	now := clockStart.Unix()
	readOnly := e.mintKey(t, e.srv.Defaults().M360.Account.ID, "contacts:read")
	for _, tc := range []struct {
		name             string
		r                m360Resp
		status           int
		remaining, reset int64
	}{
		{"no key", e.send(t, m360Req{method: "GET", path: "/v1/contacts", id: m360NoAuth}), 401, 100, now},
		{"unknown key", e.send(t, m360Req{method: "GET", path: "/v1/contacts", id: "m360_nobody", secret: "x"}), 401, 100, now},
		{"wrong secret", e.send(t, m360Req{method: "GET", path: "/v1/contacts", id: e.key.ClientID, secret: "wrong"}), 401, 92, now + 1},
		{"wrong secret again", e.send(t, m360Req{method: "GET", path: "/v1/contacts", id: e.key.ClientID, secret: "wrong"}), 401, 92, now + 1},
		{"no permission", e.as(t, readOnly, "POST", "/v1/contacts", jsonObj{"firstName": "Z"}), 403, 99, now + 1},
		{"no permission, counted", e.as(t, readOnly, "POST", "/v1/contacts", jsonObj{"firstName": "Z"}), 403, 98, now + 1},
	} {
		m360MustError(t, tc.r, tc.status)
		if tc.r.header.Get("X-Rate-Limit-Limit") != "100" || tc.r.header.Get("X-Rate-Limit-Remaining") != strconv.FormatInt(tc.remaining, 10) ||
			tc.r.header.Get("X-Rate-Limit-Reset") != strconv.FormatInt(tc.reset, 10) {
			t.Errorf("%s: %d headers %v; want remaining %d, reset %d", tc.name, tc.status, tc.r.header, tc.remaining, tc.reset)
		}
	}
}

// TestM360_JournalAndFaults: the journal names M360 operations and keeps no
// credentials; a fault rule on an M360 operation touches nothing else.
func TestM360_JournalAndFaults(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	hl := e.highLevel()
	secret := e.key.ClientSecret
	k := e.mintKey(t, e.srv.Defaults().M360.Account.ID, "contacts:read", "contacts:write")
	e.mustContact(t, jsonObj{"firstName": "J"})
	mustStatus(t, e.as(t, k, "GET", "/v1/contacts", nil), 200)
	mustStatus(t, e.send(t, m360Req{method: "GET", path: "/v1/account", id: e.key.ClientID, secret: "guess-" + secret}), 401)

	j := e.do(t, "GET", "/__admin/requests", nil)
	mustStatus(t, j, 200)
	raw := string(j.body)
	for _, s := range []string{secret, k.ClientSecret, "guess-" + secret,
		base64.StdEncoding.EncodeToString([]byte(e.key.ClientID + ":" + secret)),
		base64.StdEncoding.EncodeToString([]byte(k.ClientID + ":" + k.ClientSecret))} {
		if strings.Contains(raw, s) {
			t.Fatalf("the journal keeps a credential %q: %s", s, raw)
		}
	}
	var journal struct {
		Requests []struct {
			Method         string              `json:"method"`
			Path           string              `json:"path"`
			Operation      string              `json:"operation"`
			Status         int                 `json:"status"`
			Location       string              `json:"location"`
			RequestHeaders map[string][]string `json:"requestHeaders"`
		} `json:"requests"`
		Total int `json:"total"`
	}
	if err := json.Unmarshal(j.body, &journal); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range journal.Requests {
		ops = append(ops, fmt.Sprintf("%s %d", r.Operation, r.Status))
		if a := r.RequestHeaders["Authorization"]; len(a) != 1 || a[0] != "Basic [redacted]" {
			t.Errorf("journal Authorization %v", a)
		}
	}
	slices.Sort(ops)
	if want := []string{"m360-create-contact 201", "m360-get-account 401", "m360-list-contacts 200"}; !slices.Equal(ops, want) {
		t.Fatalf("journal operations %v, want %v", ops, want)
	}
	f := m360Must[struct {
		Requests []struct {
			Operation string `json:"operation"`
			Location  string `json:"location"`
		} `json:"requests"`
		Total int `json:"total"`
	}](t, e, "GET", "/__admin/requests?operation=m360-list-contacts", nil, 200)
	if f.Total != 1 || f.Requests[0].Location != strconv.FormatInt(e.srv.Defaults().M360.Account.ID, 10) {
		t.Fatalf("filtered journal %+v", f)
	}

	// One 503 for the next M360 create, none for HighLevel's create-contact.
	fr := e.do(t, "POST", "/__admin/faults", jsonObj{"match": jsonObj{"operation": "m360-create-contact"},
		"effect": jsonObj{"kind": "error", "status": 503}, "times": 1})
	mustStatus(t, fr, 201)
	hl.mustCreateContact(t, jsonObj{"firstName": "HL before"})
	mustStatus(t, e.do(t, "GET", "/v1/contacts", nil), 200)
	r := e.send(t, m360Req{method: "POST", path: "/v1/contacts", body: jsonObj{"firstName": "Faulted"}, expect5xx: 503})
	mustStatus(t, r, 503)
	hl.mustCreateContact(t, jsonObj{"firstName": "HL after"})
	ok := e.mustContact(t, jsonObj{"firstName": "After the fault"})
	if l := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts", nil, 200); l.Total != 2 || l.Result[1].ID != ok.ID {
		t.Fatalf("contacts after the fault: %+v (the faulted create must not have run)", l)
	}
	counts := m360Must[struct {
		Count int `json:"count"`
	}](t, e, "POST", "/__admin/requests/count", jsonObj{"operation": "m360-create-contact", "status": 503}, 200)
	if counts.Count != 1 {
		t.Fatalf("journal: %d faulted creates", counts.Count)
	}
	hlCount := m360Must[struct {
		Count int `json:"count"`
	}](t, e, "POST", "/__admin/requests/count", jsonObj{"operation": "create-contact", "status": 201}, 200)
	if hlCount.Count != 2 {
		t.Fatalf("journal: %d HighLevel creates, want 2", hlCount.Count)
	}
}

// highLevel is a HighLevel client on the same server.
func (e *m360Env) highLevel() *twinEnv {
	client := e.srv.HighLevel.Client()
	client.Transport = recordingTransport{next: client.Transport}
	return &twinEnv{srv: e.srv, clk: e.clk, client: client, token: e.srv.Defaults().HighLevel.Token, loc: e.srv.Defaults().HighLevel.Location}
}

// TestM360_ResetAndState: reset restores both twins' seeded state; the
// exported state has the M360 tables and imports back.
func TestM360_ResetAndState(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	hl := e.highLevel()
	seeded := m360Must[store.State](t, e, "GET", "/__admin/state", nil, 200)
	if len(seeded.M360Accounts) != 1 || len(seeded.M360Campaigns) != 3 || len(seeded.M360Contacts) != 0 {
		t.Fatalf("seeded state: %d accounts, %d campaigns, %d contacts", len(seeded.M360Accounts), len(seeded.M360Campaigns), len(seeded.M360Contacts))
	}

	c := e.mustContact(t, jsonObj{"firstName": "Jane", "email": "jane@example.com", "tags": []string{"a"}})
	ct := fmt.Sprintf("/v1/contacts/%d", c.ID)
	task := m360Must[m360Result[m360Task]](t, e, "POST", ct+"/tasks", jsonObj{"title": "T", "completed": true, "dueAt": 5}, 201).Result
	m360Must[m360Result[m360Note]](t, e, "POST", ct+"/notes", jsonObj{"body": "N", "author": jsonObj{"username": "u"}}, 201)
	m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "start": 1, "end": 2}, 201)
	m360Must[m360Result[m360Trigger]](t, e, "POST", fmt.Sprintf("/v1/campaigns/%d/triggers", e.campaignID(t, "Welcome series")), jsonObj{"contactId": c.ID}, 201)
	hook := m360Must[m360Result[m360Webhook]](t, e, "POST", "/v1/webhooks", jsonObj{"url": "https://e.com/h", "events": []string{"task.created"}}, 201).Result
	hlc := hl.mustCreateContact(t, jsonObj{"firstName": "HL"})
	k := e.mintKey(t, e.srv.Defaults().M360.Account.ID, "account:read")
	e.advance(t, "1h")

	exported := e.do(t, "GET", "/__admin/state", nil)
	mustStatus(t, exported, 200)
	st := mustDecode[store.State](t, exported)
	if len(st.M360Contacts) != 1 || len(st.M360Tasks) != 1 || len(st.M360Notes) != 1 || len(st.M360Events) != 1 ||
		len(st.M360Triggers) != 1 || len(st.M360Webhooks) != 1 || len(st.M360Campaigns) != 3 || len(st.M360Accounts) != 1 {
		t.Fatalf("exported state %s", exported.body)
	}
	if st.M360Tasks[0].CompletedAt == nil || st.M360Webhooks[0].Secret != *hook.Secret {
		t.Fatalf("exported task %+v, webhook %+v", st.M360Tasks[0], st.M360Webhooks[0])
	}

	// Reset: both twins back to the seed, minted keys gone.
	mustStatus(t, e.do(t, "POST", "/__admin/reset", nil), 200)
	m360MustError(t, e.do(t, "GET", ct, nil), 404)
	if l := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts", nil, 200); l.Total != 0 {
		t.Fatalf("contacts after reset: %+v", l)
	}
	if l := m360Must[m360List[m360Webhook]](t, e, "GET", "/v1/webhooks", nil, 200); l.Total != 0 {
		t.Fatalf("webhooks after reset: %+v", l)
	}
	if l := m360Must[m360List[m360Campaign]](t, e, "GET", "/v1/campaigns", nil, 200); l.Total != 3 {
		t.Fatalf("campaigns after reset: %+v", l)
	}
	if r := hl.do(t, "GET", "/contacts/"+hlc.ID, nil); r.status != 404 || string(r.body) != contactNotFound {
		t.Fatalf("HighLevel contact after reset: %s", r)
	}
	m360MustError(t, e.as(t, k, "GET", "/v1/account", nil), 401)
	if got := m360Must[store.State](t, e, "GET", "/__admin/state", nil, 200); len(got.M360Contacts) != 0 || len(got.M360Campaigns) != 3 {
		t.Fatalf("state after reset: %+v", got)
	}
	// Ids start over, as at start-up.
	if again := e.mustContact(t, jsonObj{"firstName": "Again"}); again.ID != c.ID {
		t.Fatalf("first contact after reset has id %d, want %d", again.ID, c.ID)
	}

	// Import the exported state: everything is back, and consistent.
	imp := e.do(t, "PUT", "/__admin/state", json.RawMessage(exported.body))
	mustStatus(t, imp, 200)
	got := m360Must[m360Result[m360Contact]](t, e, "GET", ct, nil, 200).Result
	if *got.Email != "jane@example.com" || got.Created != c.Created || !slices.Equal(got.Tags, []string{"a"}) {
		t.Fatalf("imported contact %+v", got)
	}
	gotTask := m360Must[m360Result[m360Task]](t, e, "GET", fmt.Sprintf("%s/tasks/%d", ct, task.ID), nil, 200).Result
	if gotTask.CompletedAt == nil || *gotTask.CompletedAt != *task.CompletedAt || *gotTask.DueAt != 5 {
		t.Fatalf("imported task %+v", gotTask)
	}
	m360MustError(t, e.do(t, "POST", "/v1/contacts", jsonObj{"email": "JANE@example.com"}), 409, "email")
	m360Must[m360Result[m360Trigger]](t, e, "POST", fmt.Sprintf("/v1/campaigns/%d/triggers", e.campaignID(t, "Welcome series")), jsonObj{"contactId": c.ID}, 200)
	if l := m360Must[m360List[m360Webhook]](t, e, "GET", "/v1/webhooks", nil, 200); l.Total != 1 || l.Result[0].Secret != nil {
		t.Fatalf("imported webhooks %+v", l)
	}
	mustStatus(t, hl.do(t, "GET", "/contacts/"+hlc.ID, nil), 200)
	next := e.mustContact(t, jsonObj{"firstName": "Next"})
	if next.ID <= c.ID || next.Created < c.Created {
		t.Fatalf("a contact made after the import: %+v", next)
	}
	// A state that breaks the M360 rules is refused and changes nothing.
	bad := st
	bad.M360Tasks = append(slices.Clone(st.M360Tasks), store.M360Task{ID: 5000, AccountID: e.srv.Defaults().M360.Account.ID, ContactID: 424242, Title: "orphan"})
	r := e.do(t, "PUT", "/__admin/state", bad)
	if r.status != 400 && r.status != 422 {
		t.Fatalf("importing an orphan task: %s", r)
	}
	mustStatus(t, e.do(t, "GET", fmt.Sprintf("/v1/contacts/%d", next.ID), nil), 200)
}

// TestM360_ConcurrentCreates: 20 goroutines create contacts with their own
// emails and race for one shared email: exactly one wins.
func TestM360_ConcurrentCreates(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	const n = 20
	var wg sync.WaitGroup
	shared := make([]int, n)
	own := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			r := e.do(t, "POST", "/v1/contacts", jsonObj{"email": fmt.Sprintf("user%d@example.com", i)})
			if r.status == 201 {
				var c m360Result[m360Contact]
				if json.Unmarshal(r.body, &c) == nil {
					own[i] = c.Result.ID
				}
			} else {
				t.Errorf("own email %d: %s", i, r)
			}
			r = e.do(t, "POST", "/v1/contacts", jsonObj{"email": "Shared@Example.com", "firstName": strconv.Itoa(i)})
			shared[i] = r.status
			if r.status == 409 {
				var er m360Error
				if json.Unmarshal(r.body, &er) != nil || er.Error.Fields["email"] == "" {
					t.Errorf("409 without fields.email: %s", r)
				}
			}
		})
	}
	wg.Wait()
	won, lost := 0, 0
	for _, s := range shared {
		switch s {
		case 201:
			won++
		case 409:
			lost++
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("shared email: %d created, %d conflicts of %d (%v)", won, lost, n, shared)
	}
	ids := slices.Clone(own)
	slices.Sort(ids)
	if len(slices.Compact(ids)) != n || ids[0] == 0 {
		t.Fatalf("own ids not distinct: %v", own)
	}
	l := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts?pageSize=100", nil, 200)
	if l.Total != n+1 {
		t.Fatalf("%d contacts, want %d", l.Total, n+1)
	}
	if s := m360Must[m360List[m360Contact]](t, e, "GET", "/v1/contacts?email=shared@example.com", nil, 200); s.Total != 1 {
		t.Fatalf("shared email lookup %+v", s)
	}
}

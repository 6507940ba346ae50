package m360

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// fieldsOf returns the fields a 422 names, or nil for no error.
func fieldsOf(t *testing.T, err error) map[string]any {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *pipeline.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity {
		t.Fatalf("error %v is not a 422", err)
	}
	if len(e.Messages) != len(e.Meta) {
		t.Errorf("messages %q do not match fields %v", e.Messages, e.Meta)
	}
	return e.Meta
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestContactInput(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       store.M360Contact
		wantFields []string
	}{
		{"empty", `{}`, store.M360Contact{}, nil},
		{"trimmed, null clears", `{"firstName":" Jane ","lastName":null,"email":" jane@example.com ","company":""}`,
			store.M360Contact{FirstName: "Jane", Email: "jane@example.com"}, nil},
		{"tags deduplicated", `{"tags":[" a","b","a "]}`, store.M360Contact{Tags: []string{"a", "b"}}, nil},
		{"blank tag", `{"tags":["a","  "]}`, store.M360Contact{}, []string{"tags.1"}},
		{"bad email", `{"email":"jane@"}`, store.M360Contact{}, []string{"email"}},
		{"email with a display name", `{"email":"Jane <jane@example.com>"}`, store.M360Contact{}, []string{"email"}},
		{"email without a dotted domain", `{"email":"jane@localhost"}`, store.M360Contact{}, []string{"email"}},
		{"phone ok", `{"phone":"+1 (303) 555-0100"}`, store.M360Contact{Phone: "+1 (303) 555-0100"}, nil},
		{"phone with letters", `{"phone":"555-CALL-NOW"}`, store.M360Contact{}, []string{"phone"}},
		{"phone too short", `{"phone":"12345"}`, store.M360Contact{}, []string{"phone"}},
		{"phone plus inside", `{"phone":"1+3035550100"}`, store.M360Contact{}, []string{"phone"}},
		{"source and types", `{"source":{"id":3,"name":" Web "},"types":[{"id":1,"name":"Lead"},{"id":1},{"id":2}]}`,
			store.M360Contact{Source: &store.M360Ref{ID: 3, Name: "Web"}, Types: []store.M360Ref{{ID: 1, Name: "Lead"}, {ID: 2}}}, nil},
		{"bad refs", `{"source":{"id":0},"types":[{"id":-1}]}`, store.M360Contact{}, []string{"source.id", "types.0.id"}},
		{"custom fields", `{"customFields":{" color ":"blue"}}`, store.M360Contact{CustomFields: map[string]string{"color": "blue"}}, nil},
		{"blank custom field key", `{"customFields":{" ":"x"}}`, store.M360Contact{}, []string{"customFields"}},
		{"external ids", `{"externalIds":{"ghl":" abc "}}`, store.M360Contact{ExternalIDs: store.M360ExternalIDs{GHL: "abc"}}, nil},
		{"several problems", `{"email":"x","phone":"y"}`, store.M360Contact{}, []string{"email", "phone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode[contactInput](t, tt.body)
			var got store.M360Contact
			err := in.apply(&got)
			fields := fieldsOf(t, err)
			for _, f := range tt.wantFields {
				if _, ok := fields[f]; !ok {
					t.Errorf("fields %v lack %s", fields, f)
				}
			}
			if len(fields) != len(tt.wantFields) {
				t.Errorf("fields = %v, want %v", keys(fields), tt.wantFields)
			}
			if tt.wantFields == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("contact = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTaskInput(t *testing.T) {
	due := int64(1700000000)
	base := store.M360Task{Title: "Old", Description: "d", DueAt: &due, Assignee: "amy"}
	tests := []struct {
		name       string
		body       string
		create     bool
		want       store.M360Task
		wantFields []string
	}{
		{"create", `{"title":" Call ","dueAt":5,"assignee":{"username":"bob"}}`, true,
			store.M360Task{Title: "Call", Description: "d", DueAt: ptr(int64(5)), Assignee: "bob"}, nil},
		{"create without title", `{"description":"x"}`, true, store.M360Task{}, []string{"title"}},
		{"blank title", `{"title":"  "}`, false, store.M360Task{}, []string{"title"}},
		{"null title", `{"title":null}`, false, store.M360Task{}, []string{"title"}},
		{"partial keeps the rest", `{"completed":true}`, false,
			store.M360Task{Title: "Old", Description: "d", DueAt: &due, Assignee: "amy", Completed: true}, nil},
		{"nulls clear", `{"description":null,"dueAt":null,"assignee":null}`, false, store.M360Task{Title: "Old"}, nil},
		{"blank assignee", `{"assignee":{"username":" "}}`, false, store.M360Task{}, []string{"assignee.username"}},
		{"negative due", `{"dueAt":-1}`, false, store.M360Task{}, []string{"dueAt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode[taskInput](t, tt.body)
			got := base
			got.DueAt = ptr(*base.DueAt)
			fields := fieldsOf(t, in.apply(&got, tt.create))
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields = %v, want %v", keys(fields), tt.wantFields)
			}
			if tt.wantFields == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("task = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestNoteInput(t *testing.T) {
	tests := []struct {
		body       string
		create     bool
		want       store.M360Note
		wantFields []string
	}{
		{`{"body":"hi","author":{"username":"amy"}}`, true, store.M360Note{Body: "hi", Author: "amy"}, nil},
		{`{}`, true, store.M360Note{}, []string{"body"}},
		{`{}`, false, store.M360Note{Body: "old", Author: "old"}, nil},
		{`{"author":null}`, false, store.M360Note{Body: "old"}, nil},
		{`{"body":" "}`, false, store.M360Note{}, []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			in := decode[noteInput](t, tt.body)
			got := store.M360Note{}
			if !tt.create {
				got = store.M360Note{Body: "old", Author: "old"}
			}
			fields := fieldsOf(t, in.apply(&got, tt.create))
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields = %v, want %v", keys(fields), tt.wantFields)
			}
			if tt.wantFields == nil && got != tt.want {
				t.Errorf("note = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEventInput(t *testing.T) {
	old := store.M360Event{ContactID: 1, Title: "t", Start: 10, End: 20, Location: "here", Status: "scheduled",
		ExternalIDs: store.M360ExternalIDs{GHL: "g"}}
	tests := []struct {
		name       string
		body       string
		create     bool
		want       store.M360Event
		wantFields []string
	}{
		{"create", `{"contactId":2,"start":1,"end":2,"title":" Visit "}`, true, store.M360Event{ContactID: 2, Start: 1, End: 2, Title: "Visit"}, nil},
		{"create missing", `{"title":"x"}`, true, store.M360Event{}, []string{"contactId", "start", "end"}},
		{"partial", `{"end":30,"status":"cancelled"}`, false,
			store.M360Event{ContactID: 1, Title: "t", Start: 10, End: 30, Location: "here", Status: "cancelled", ExternalIDs: store.M360ExternalIDs{GHL: "g"}}, nil},
		{"clears", `{"title":null,"location":null,"externalIds":null}`, false,
			store.M360Event{ContactID: 1, Start: 10, End: 20, Status: "scheduled"}, nil},
		{"null start", `{"start":null}`, false, store.M360Event{}, []string{"start"}},
		{"bad status", `{"status":"maybe"}`, false, store.M360Event{}, []string{"status"}},
		{"bad contact", `{"contactId":0}`, false, store.M360Event{}, []string{"contactId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode[eventInput](t, tt.body)
			got := old
			if tt.create {
				got = store.M360Event{}
			}
			fields := fieldsOf(t, in.apply(&got, tt.create))
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields = %v, want %v", keys(fields), tt.wantFields)
			}
			if tt.wantFields == nil && got != tt.want {
				t.Errorf("event = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWebhookInput(t *testing.T) {
	tests := []struct {
		body       string
		wantEvents []string
		wantFields []string
	}{
		{`{"url":"https://example.com/h","events":["contact.created","task.completed","contact.created"]}`,
			[]string{"contact.created", "task.completed"}, nil},
		{`{"url":"http://127.0.0.1:9000/h","events":["note.created"]}`, []string{"note.created"}, nil},
		{`{"url":"ftp://example.com","events":["note.created"]}`, nil, []string{"url"}},
		{`{"url":"/relative","events":["note.created"]}`, nil, []string{"url"}},
		{`{"url":"https://example.com","events":[]}`, nil, []string{"events"}},
		{`{"url":"https://example.com","events":["contact.merged"]}`, nil, []string{"events.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			in := decode[webhookInput](t, tt.body)
			w, err := in.webhook(nil)
			fields := fieldsOf(t, err)
			if len(fields) != len(tt.wantFields) {
				t.Fatalf("fields = %v, want %v", keys(fields), tt.wantFields)
			}
			if tt.wantFields == nil && !reflect.DeepEqual(w.Events, tt.wantEvents) {
				t.Errorf("events = %v, want %v", w.Events, tt.wantEvents)
			}
		})
	}
}

func TestRenderError(t *testing.T) {
	tests := []struct {
		e    *pipeline.Error
		want string
	}{
		{&pipeline.Error{Status: 404, Messages: []string{"Contact not found"}},
			`{"error":{"code":"not_found","message":"Contact not found"}}`},
		{&pipeline.Error{Status: 422, Messages: []string{"email must be x", "phone must be y"}, Meta: map[string]any{"email": "must be x", "phone": "must be y"}},
			`{"error":{"code":"validation_error","message":"email must be x; phone must be y","fields":{"email":"must be x","phone":"must be y"}}}`},
		{&pipeline.Error{Status: 409, Messages: []string{"email is used"}, Meta: map[string]any{"email": "is used"}},
			`{"error":{"code":"conflict","message":"email is used","fields":{"email":"is used"}}}`},
		{&pipeline.Error{Status: 429}, `{"error":{"code":"rate_limited","message":"Too Many Requests"}}`},
		{&pipeline.Error{Status: 411}, `{"error":{"code":"length_required","message":"Length Required"}}`},
		{&pipeline.Error{Status: 401, Messages: []string{"bad key"}}, `{"error":{"code":"unauthorized","message":"Invalid API key: send the key's client id and secret with HTTP Basic authentication"}}`},
		{&pipeline.Error{Status: 403, Messages: []string{"no"}}, `{"error":{"code":"forbidden","message":"This API key does not have the permission this operation requires"}}`},
		{&pipeline.Error{Status: 400, Messages: []string{"bad json"}}, `{"error":{"code":"bad_request","message":"bad json"}}`},
		{&pipeline.Error{Status: 500, Messages: []string{"boom"}}, `{"error":{"code":"internal","message":"boom"}}`},
		{&pipeline.Error{Status: 413}, `{"error":{"code":"bad_request","message":"Request Entity Too Large"}}`},
		{&pipeline.Error{Status: 503}, `{"error":{"code":"internal","message":"Service Unavailable"}}`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.e.Status), func(t *testing.T) {
			got, err := json.Marshal(RenderError(tt.e))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestMapError checks the statuses, words and fields this API gives the
// store's errors, and that it leaves other errors to the pipeline.
func TestMapError(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int // 0: not this API's error
		wantMsg    string
		wantField  string
	}{
		{&store.NotFoundError{Kind: "Contact", ID: "1"}, 404, "Contact not found", ""},
		{fmt.Errorf("wrapped: %w", &store.InvalidError{Field: "end", Reason: "must be after start"}), 422, "end must be after start", "end"},
		{&store.ConflictError{Field: "email", Reason: "is already used by contact 1001"}, 409, "email is already used by contact 1001", "email"},
		{&pipeline.Error{Status: 418}, 0, "", ""},
		{errors.New("plain"), 0, "", ""},
	}
	for _, tt := range tests {
		e := MapError(tt.err)
		if tt.wantStatus == 0 {
			if e != nil {
				t.Errorf("MapError(%v) = %d, want nil", tt.err, e.Status)
			}
			continue
		}
		if e == nil || e.Status != tt.wantStatus || e.Error() != tt.wantMsg || !errors.Is(e, tt.err) {
			t.Errorf("MapError(%v) = %+v, want %d %q wrapping the error", tt.err, e, tt.wantStatus, tt.wantMsg)
			continue
		}
		if tt.wantField != "" && e.Meta[tt.wantField] == nil {
			t.Errorf("MapError(%v) has no field %s: %v", tt.err, tt.wantField, e.Meta)
		}
	}
}

func TestViews(t *testing.T) {
	c := viewContact(store.M360Contact{ID: 1, FirstName: "Jane"})
	got, _ := json.Marshal(c)
	want := `{"id":1,"firstName":"Jane","lastName":null,"email":null,"phone":null,"company":null,"tags":[],` +
		`"source":null,"types":[],"customFields":{},"externalIds":{"ghl":null},"nextContact":null,"assignees":null,"created":0,"updated":0}`
	if string(got) != want {
		t.Errorf("contact view\n got %s\nwant %s", got, want)
	}
	next := int64(1700600000)
	got, _ = json.Marshal(viewContact(store.M360Contact{ID: 1, NextContact: &next, Assignees: &store.M360Assignee{Username: "jdoe", Email: "j@example.com"}}))
	if !strings.Contains(string(got), `"nextContact":1700600000,"assignees":{"username":"jdoe","fullName":null,"email":"j@example.com"}`) {
		t.Errorf("contact view with nextContact and assignees: %s", got)
	}
	task, _ := json.Marshal(viewTask(store.M360Task{ID: 2, ContactID: 1, Title: "t", Assignee: "amy"}))
	if !strings.Contains(string(task), `"description":null,"dueAt":null,"completed":false,"completedAt":null,"assignee":{"username":"amy"}`) {
		t.Errorf("task view %s", task)
	}
	listed, _ := json.Marshal(viewWebhook(store.M360Webhook{ID: 3, Secret: "s"}))
	if strings.Contains(string(listed), "secret") || !strings.Contains(string(listed), `"events":[]`) {
		t.Errorf("listed webhook %s", listed)
	}
	made, _ := json.Marshal(viewWebhookCreated(store.M360Webhook{ID: 3, Secret: "s"}))
	if !strings.Contains(string(made), `"secret":"s"`) {
		t.Errorf("created webhook %s", made)
	}
	empty, _ := json.Marshal(list([]store.M360Note(nil), 7, store.M360Paging{Page: 2, PageSize: 0}, viewNote))
	if string(empty) != `{"result":[],"page":2,"pageSize":0,"total":7}` {
		t.Errorf("empty list %s", empty)
	}
}

func TestHandlersCoverSpecNames(t *testing.T) {
	h := (&API{}).Handlers()
	if len(h) != 30 {
		t.Errorf("%d handlers, want 30", len(h))
	}
	for id, fn := range h {
		if fn == nil {
			t.Errorf("%s has no handler", id)
		}
	}
}

func TestDefaultSecret(t *testing.T) {
	a := &API{}
	s1, s2 := a.secret(), a.secret()
	if !strings.HasPrefix(s1, "whsec_") || len(s1) != 38 || s1 == s2 {
		t.Errorf("secrets %q %q", s1, s2)
	}
	a.Secret = func() string { return "fixed" }
	if a.secret() != "fixed" {
		t.Error("Secret not used")
	}
}

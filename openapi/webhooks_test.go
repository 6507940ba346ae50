package openapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/openapi"
)

func TestWebhookCatalogs_AreTheIssueLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hl, err := openapi.LoadHighLevel(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	m360, err := openapi.LoadMarketing360(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec *openapi.Spec
		want []string
	}{
		{"highlevel", hl, []string{"AppUninstall", "AppointmentCreate", "AppointmentDelete", "AppointmentUpdate", "ContactCreate",
			"ContactDelete", "ContactDndUpdate", "ContactTagUpdate", "ContactUpdate", "NoteCreate", "NoteDelete",
			"NoteUpdate", "TaskComplete", "TaskCreate", "TaskDelete"}},
		{"m360", m360, []string{"contact.created", "contact.deleted", "contact.updated", "event.created",
			"note.created", "task.completed", "task.created", "task.deleted", "task.updated"}},
	} {
		var got []string
		for _, w := range tc.spec.Webhooks() {
			got = append(got, w.Name)
			if w.Schema == nil || w.Spec == nil || w.Spec.OperationID == "" {
				t.Errorf("%s %s: no schema or operation", tc.name, w.Name)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s catalog:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
	for _, w := range hl.Webhooks() {
		want := []string{"contacts.readonly"}
		switch {
		case w.Name == "AppUninstall":
			want = []string{} // sent to the app whatever its scopes
		case strings.HasPrefix(w.Name, "Appointment"):
			want = []string{"calendars/events.readonly"}
		}
		if !slices.Equal(w.Scopes, want) {
			t.Errorf("%s scopes %v, want %v", w.Name, w.Scopes, want)
		}
	}
	if _, ok := hl.Webhook("TaskUpdate"); ok {
		t.Error("TaskUpdate is in the catalog: the live API has no such event")
	}
}

func TestWebhook_Validate(t *testing.T) {
	t.Parallel()
	hl, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	note, _ := hl.Webhook("NoteCreate")
	const envelope = `"locationId":"loc","appId":"app","versionId":"app","webhookId":"w1","timestamp":"2026-01-01T00:00:00.000Z"`
	for _, tc := range []struct {
		name, body, problem string
	}{
		{"valid", `{"type":"NoteCreate",` + envelope + `,"id":"n","body":"hi","contactId":"c","dateAdded":"2026-01-01T00:00:00.000Z"}`, ""},
		{"other event's type", `{"type":"NoteUpdate",` + envelope + `,"id":"n","body":"hi","contactId":"c","dateAdded":"x"}`, "/type"},
		{"undeclared field", `{"type":"NoteCreate",` + envelope + `,"id":"n","body":"hi","contactId":"c","dateAdded":"x","title":"t"}`, `"title" is unsupported`},
		{"missing field", `{"type":"NoteCreate",` + envelope + `,"id":"n","contactId":"c","dateAdded":"x"}`, `"body" is missing`},
		{"not JSON", `{"type":`, "not JSON"},
	} {
		err := note.Validate([]byte(tc.body))
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.problem != "" && (!errors.Is(err, openapi.ErrPayload) || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: got %v, want ErrPayload naming %q", tc.name, err, tc.problem)
		}
	}
}

func TestWebhookCatalog_BrokenFailsToLoad(t *testing.T) {
	t.Parallel()
	const base = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
	for _, tc := range []struct{ name, catalog, problem string }{
		{"no post", "x-webhooks:\n  Ev:\n    get: {responses: {'200': {description: ok}}}\n", "no post operation"},
		{"dangling ref", "x-webhooks:\n  Ev:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Nope'}\n      responses: {'200': {description: ok}}\n", "Nope"},
		{"no JSON body", "x-webhooks:\n  Ev:\n    post:\n      requestBody:\n        content:\n          text/plain:\n            schema: {type: string}\n      responses: {'200': {description: ok}}\n", "no application/json schema"},
	} {
		_, err := openapi.Load(context.Background(), "t.yaml", []byte(base+tc.catalog))
		if !errors.Is(err, openapi.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.problem) {
			t.Errorf("%s: got %v, want an invalid spec naming %q", tc.name, err, tc.problem)
		}
	}
}

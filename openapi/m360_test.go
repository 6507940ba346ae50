package openapi_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/openapi"
)

// wantM360 is the Marketing 360 operation list: "METHOD path operationId permission".
var wantM360 = []string{
	"GET /v1/account m360-get-account account:read",
	"GET /v1/calendar/events m360-list-events calendar:read",
	"POST /v1/calendar/events m360-create-event calendar:write",
	"DELETE /v1/calendar/events/{eventId} m360-delete-event calendar:write",
	"GET /v1/calendar/events/{eventId} m360-get-event calendar:read",
	"PUT /v1/calendar/events/{eventId} m360-update-event calendar:write",
	"GET /v1/campaigns m360-list-campaigns campaigns:read",
	"GET /v1/campaigns/{campaignId} m360-get-campaign campaigns:read",
	"GET /v1/campaigns/{campaignId}/triggers m360-list-campaign-triggers campaigns:read",
	"POST /v1/campaigns/{campaignId}/triggers m360-trigger-campaign campaigns:write",
	"GET /v1/contacts m360-list-contacts contacts:read",
	"POST /v1/contacts m360-create-contact contacts:write",
	"DELETE /v1/contacts/{contactId} m360-delete-contact contacts:write",
	"GET /v1/contacts/{contactId} m360-get-contact contacts:read",
	"PUT /v1/contacts/{contactId} m360-replace-contact contacts:write",
	"GET /v1/contacts/{contactId}/notes m360-list-notes notes:read",
	"POST /v1/contacts/{contactId}/notes m360-create-note notes:write",
	"DELETE /v1/contacts/{contactId}/notes/{noteId} m360-delete-note notes:write",
	"GET /v1/contacts/{contactId}/notes/{noteId} m360-get-note notes:read",
	"PUT /v1/contacts/{contactId}/notes/{noteId} m360-update-note notes:write",
	"GET /v1/contacts/{contactId}/tasks m360-list-contact-tasks tasks:read",
	"POST /v1/contacts/{contactId}/tasks m360-create-task tasks:write",
	"DELETE /v1/contacts/{contactId}/tasks/{taskId} m360-delete-task tasks:write",
	"GET /v1/contacts/{contactId}/tasks/{taskId} m360-get-task tasks:read",
	"PUT /v1/contacts/{contactId}/tasks/{taskId} m360-update-task tasks:write",
	"GET /v1/notes m360-list-account-notes notes:read",
	"GET /v1/tasks m360-list-tasks tasks:read",
	"GET /v1/webhooks m360-list-webhooks webhooks:read",
	"POST /v1/webhooks m360-create-webhook webhooks:write",
	"DELETE /v1/webhooks/{webhookId} m360-delete-webhook webhooks:write",
}

var m360Permissions = []string{
	"account:read", "contacts:read", "contacts:write", "tasks:read", "tasks:write",
	"notes:read", "notes:write", "calendar:read", "calendar:write",
	"campaigns:read", "campaigns:write", "webhooks:read", "webhooks:write",
}

// permissions reads an operation's x-permissions, however the loader
// decoded it.
func permissions(t *testing.T, op *openapi.Operation) []string {
	t.Helper()
	switch v := op.Spec.Extensions["x-permissions"].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				t.Errorf("%s: x-permissions entry %v is a %T, not a string", op.ID, p, p)
			}
			out = append(out, s)
		}
		return out
	case nil:
		return nil
	default:
		t.Errorf("%s: x-permissions is a %T", op.ID, v)
		return nil
	}
}

func TestMarketing360Spec(t *testing.T) {
	spec, err := openapi.LoadMarketing360(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if spec.File != openapi.Marketing360File {
		t.Errorf("File = %q, want %q", spec.File, openapi.Marketing360File)
	}
	var got []string
	for _, op := range spec.Operations() {
		perms := permissions(t, op)
		if len(perms) != 1 {
			t.Errorf("%s: x-permissions = %v, want exactly one", op.ID, perms)
			continue
		}
		if !slices.Contains(m360Permissions, perms[0]) {
			t.Errorf("%s: unknown permission %q", op.ID, perms[0])
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", op.Method, op.Path, op.ID, perms[0]))
		if !strings.HasPrefix(op.Path, "/v1/") {
			t.Errorf("%s: path %s is not under /v1/", op.ID, op.Path)
		}
		if !op.Authenticated {
			t.Errorf("%s: no security requirement", op.ID)
		}
		want := []string{"401", "403", "429", "500"}
		if strings.Contains(op.Path, "{") {
			want = append(want, "400", "404")
		}
		if op.Spec.RequestBody != nil {
			want = append(want, "400", "411", "422")
		}
		for _, status := range want {
			if op.Spec.Responses.Value(status) == nil {
				t.Errorf("%s: does not declare %s", op.ID, status)
			}
		}
		for status, ref := range op.Spec.Responses.Map() {
			resp := ref.Value
			if resp.Headers["X-Rate-Limit-Remaining"] == nil || resp.Headers["X-Rate-Limit-Reset"] == nil ||
				resp.Headers["X-Rate-Limit-Limit"] == nil {
				t.Errorf("%s %s: no rate-limit headers", op.ID, status)
			}
			if status == "429" && resp.Headers["Retry-After"] == nil {
				t.Errorf("%s 429: no Retry-After", op.ID)
			}
			if status == "401" && resp.Headers["WWW-Authenticate"] == nil {
				t.Errorf("%s 401: no WWW-Authenticate", op.ID)
			}
			if resp.Content.Get("application/json") == nil {
				t.Errorf("%s %s: no JSON body", op.ID, status)
			}
		}
	}
	slices.Sort(got)
	want := slices.Clone(wantM360)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("operations:\n got %q\nwant %q", got, want)
	}
	if len(spec.Doc.Servers) != 2 || spec.Doc.Servers[0].URL != "https://api.marketing360.com" {
		t.Errorf("servers = %v", spec.Doc.Servers)
	}
	scheme := spec.Doc.Components.SecuritySchemes["M360Basic"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "basic" {
		t.Errorf("M360Basic = %+v, want http basic", scheme)
	}
}

func TestLoadMarketing360File(t *testing.T) {
	spec, err := openapi.LoadMarketing360(context.Background(), filepath.Join(".", openapi.Marketing360File))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := spec.Operation("m360-create-contact"); !ok {
		t.Error("create-contact missing")
	}
}

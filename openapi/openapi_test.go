package openapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/openapi"
)

// wantOperations is the operation list of the issue, as "METHOD path".
var wantOperations = []string{
	"GET /contacts/",
	"POST /contacts/",
	"GET /contacts/{contactId}",
	"PUT /contacts/{contactId}",
	"DELETE /contacts/{contactId}",
	"POST /contacts/upsert",
	"POST /contacts/search",
	"GET /contacts/search/duplicate",
	"GET /contacts/business/{businessId}",
	"POST /contacts/bulk/tags/update/{type}",
	"POST /contacts/bulk/business",
	"GET /contacts/{contactId}/tasks",
	"POST /contacts/{contactId}/tasks",
	"GET /contacts/{contactId}/tasks/{taskId}",
	"PUT /contacts/{contactId}/tasks/{taskId}",
	"DELETE /contacts/{contactId}/tasks/{taskId}",
	"PUT /contacts/{contactId}/tasks/{taskId}/completed",
	"GET /contacts/{contactId}/notes",
	"POST /contacts/{contactId}/notes",
	"GET /contacts/{contactId}/notes/{id}",
	"PUT /contacts/{contactId}/notes/{id}",
	"DELETE /contacts/{contactId}/notes/{id}",
	"POST /contacts/{contactId}/tags",
	"DELETE /contacts/{contactId}/tags",
	"POST /contacts/{contactId}/followers",
	"DELETE /contacts/{contactId}/followers",
	"DELETE /contacts/{contactId}/campaigns/removeAll",
	"POST /contacts/{contactId}/campaigns/{campaignId}",
	"DELETE /contacts/{contactId}/campaigns/{campaignId}",
	"POST /contacts/{contactId}/workflow/{workflowId}",
	"DELETE /contacts/{contactId}/workflow/{workflowId}",
	"GET /contacts/{contactId}/appointments",
	"POST /contacts/{contactId}/appointments",
	"POST /calendars/events/appointments",
	"PUT /calendars/events/appointments/{eventId}",
	"GET /calendars/events/appointments/{eventId}",
	"GET /calendars/events",
	"DELETE /calendars/events/{eventId}",
	"GET /calendars/appointments/{appointmentId}/notes",
	"POST /calendars/appointments/{appointmentId}/notes",
	"PUT /calendars/appointments/{appointmentId}/notes/{noteId}",
	"DELETE /calendars/appointments/{appointmentId}/notes/{noteId}",
	"GET /locations/{locationId}/customFields",
	"POST /locations/{locationId}/customFields",
	"GET /locations/{locationId}/customFields/{id}",
	"PUT /locations/{locationId}/customFields/{id}",
	"DELETE /locations/{locationId}/customFields/{id}",
	"GET /locations/{locationId}/tags",
	"POST /locations/{locationId}/tags",
	"GET /locations/{locationId}/tags/{tagId}",
	"PUT /locations/{locationId}/tags/{tagId}",
	"DELETE /locations/{locationId}/tags/{tagId}",
	// The OAuth server of the next issue.
	"GET /oauth/chooselocation", "GET /v2/oauth/chooselocation", "POST /oauth/token",
}

var allowedScopes = []string{"contacts.readonly", "contacts.write", "calendars/events.readonly", "calendars/events.write",
	"locations/customFields.readonly", "locations/customFields.write", "locations/tags.readonly", "locations/tags.write"}

func loadEmbedded(t *testing.T) *openapi.Spec {
	t.Helper()
	spec, err := openapi.LoadHighLevel(t.Context(), "")
	if err != nil {
		t.Fatalf("LoadHighLevel: %v", err)
	}
	return spec
}

func TestEmbeddedSpecLoadsAndValidates(t *testing.T) {
	spec := loadEmbedded(t)
	if spec.File != openapi.HighLevelFile {
		t.Errorf("File = %q, want %q", spec.File, openapi.HighLevelFile)
	}
	if spec.Doc == nil || spec.Doc.OpenAPI == "" {
		t.Fatal("Doc is empty")
	}
	// The loaded document validates again on its own.
	if err := spec.Doc.Validate(t.Context()); err != nil {
		t.Errorf("Doc.Validate: %v", err)
	}
	// HighLevel returns a copy: changing it leaves the embedded spec alone.
	b := openapi.HighLevel()
	clear(b)
	if _, err := openapi.LoadHighLevel(t.Context(), ""); err != nil {
		t.Errorf("embedded spec changed through HighLevel(): %v", err)
	}
}

func TestOperationsAreTheIssueList(t *testing.T) {
	spec := loadEmbedded(t)
	var got []string
	for _, op := range spec.Operations() {
		got = append(got, op.Method+" "+op.Path)
	}
	want := slices.Clone(wantOperations)
	slices.Sort(want)
	gotSorted := slices.Clone(got)
	slices.Sort(gotSorted)
	if !slices.Equal(gotSorted, want) {
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("missing operation %s", w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("unexpected operation %s", g)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d operations, want %d (duplicates?)", len(got), len(want))
		}
	}

	// Operations are sorted by path then method, and Operations returns a copy.
	ops := spec.Operations()
	if !slices.IsSortedFunc(ops, func(a, b *openapi.Operation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	}) {
		t.Error("Operations() is not sorted by path then method")
	}
	ops[0] = nil
	if spec.Operations()[0] == nil {
		t.Error("Operations() returns the spec's own slice")
	}

	// Operation(id) finds each operation by its id.
	for _, op := range spec.Operations() {
		byID, ok := spec.Operation(op.ID)
		if !ok || byID != op {
			t.Errorf("Operation(%q) = %v, %v; want the listed operation", op.ID, byID, ok)
		}
	}
	if _, ok := spec.Operation("no-such-operation"); ok {
		t.Error(`Operation("no-such-operation") found something`)
	}
}

func TestOnlyContactAppointmentPostIsNotInLiveAPI(t *testing.T) {
	spec := loadEmbedded(t)
	var marked []string
	for _, op := range spec.Operations() {
		if op.NotInLiveAPI {
			marked = append(marked, op.Method+" "+op.Path)
		}
	}
	want := []string{"POST /contacts/{contactId}/appointments"}
	if !slices.Equal(marked, want) {
		t.Errorf("NotInLiveAPI operations = %q, want %q", marked, want)
	}
	op, _ := spec.Operation("create-contact-appointment")
	if want := `299 - "not in the live API: use POST /calendars/events/appointments"`; op.Warning != want {
		t.Errorf("Warning = %q, want %q (x-warning)", op.Warning, want)
	}
}

// parameters returns the operation's parameters with those of its path item.
func parameters(spec *openapi.Spec, op *openapi.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, p := range op.Spec.Parameters {
		out = append(out, p.Value)
	}
	if item := spec.Doc.Paths.Value(op.Path); item != nil {
		for _, p := range item.Parameters {
			out = append(out, p.Value)
		}
	}
	return out
}

func TestEveryOperationDeclaresVersionScopesAndErrors(t *testing.T) {
	spec := loadEmbedded(t)
	for _, op := range spec.Operations() {
		t.Run(op.ID, func(t *testing.T) {
			params := parameters(spec, op)
			if strings.Contains(op.Path, "/oauth/") {
				// The OAuth endpoints take no token and no Version header.
				if op.Authenticated {
					t.Errorf("%s %s: OAuth endpoint requires a token", op.Method, op.Path)
				}
				return
			}
			if !slices.ContainsFunc(params, func(p *openapi3.Parameter) bool {
				return p != nil && p.In == openapi3.ParameterInHeader && p.Name == "Version" && p.Required
			}) {
				t.Errorf("%s %s: no required Version header parameter", op.Method, op.Path)
			}

			if !op.Authenticated || len(op.Scopes) == 0 {
				t.Errorf("%s %s: no scope (Authenticated=%v, Scopes=%q)", op.Method, op.Path, op.Authenticated, op.Scopes)
			}
			for _, sc := range op.Scopes {
				if !slices.Contains(allowedScopes, sc) {
					t.Errorf("%s %s: scope %q not in %q", op.Method, op.Path, sc, allowedScopes)
				}
			}
			// Reads need the read scope of their service.
			read := "contacts.readonly"
			switch {
			case strings.HasPrefix(op.Path, "/calendars/"):
				read = "calendars/events.readonly"
			case strings.HasPrefix(op.Path, "/locations/{locationId}/customFields"):
				read = "locations/customFields.readonly"
			case strings.HasPrefix(op.Path, "/locations/{locationId}/tags"):
				read = "locations/tags.readonly"
			}
			if op.Method == http.MethodGet && !slices.Equal(op.Scopes, []string{read}) {
				t.Errorf("GET %s: scopes %q, want [%s]", op.Path, op.Scopes, read)
			}

			want := []string{"401", "429"}
			if slices.ContainsFunc(params, func(p *openapi3.Parameter) bool {
				return p != nil && p.In == openapi3.ParameterInPath &&
					slices.Contains([]string{"contactId", "eventId", "taskId", "id"}, p.Name)
			}) {
				want = append(want, "404")
			}
			for _, code := range want {
				if op.Spec.Responses == nil || op.Spec.Responses.Value(code) == nil {
					t.Errorf("%s %s: no %s response", op.Method, op.Path, code)
				}
			}
		})
	}
}

// lineOf returns the 1-based line of the first line of text equal to s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if l == s {
			return i + 1
		}
	}
	t.Fatalf("line %q not in the spec", s)
	return 0
}

// insertAfter returns text with lines inserted after the first line equal to
// anchor, and the 1-based line number of the first inserted line.
func insertAfter(t *testing.T, text, anchor string, lines ...string) (string, int) {
	t.Helper()
	at := lineOf(t, text, anchor)
	all := strings.Split(text, "\n")
	out := slices.Concat(all[:at], lines, all[at:])
	return strings.Join(out, "\n"), at + 1
}

// replaceLine returns text with line n (1-based) replaced.
func replaceLine(text string, n int, with string) string {
	all := strings.Split(text, "\n")
	all[n-1] = with
	return strings.Join(all, "\n")
}

// removeResponses drops the responses block of the operation whose
// operationId line is idLine, returning the new text and the line of the
// operation's method key.
func removeResponses(t *testing.T, text, idLine string) (string, int) {
	t.Helper()
	all := strings.Split(text, "\n")
	at := lineOf(t, text, idLine) - 1 // index of the operationId line
	opLine := at                      // the method key is the line above: 1-based at
	i := at
	for i < len(all) && all[i] != "      responses:" {
		i++
	}
	if i == len(all) {
		t.Fatalf("no responses after %q", idLine)
	}
	j := i + 1
	for j < len(all) && strings.HasPrefix(all[j], "        ") {
		j++
	}
	return strings.Join(slices.Concat(all[:i], all[j:]), "\n"), opLine
}

func TestBrokenSpecsFailWithTheirLine(t *testing.T) {
	base := string(openapi.HighLevel())

	summaryLine := lineOf(t, base, "      summary: Get Contacts")
	schemasLine := lineOf(t, base, "  schemas:")

	type broken struct {
		name     string
		text     string
		wantLine int
		wantMsg  string
	}
	var cases []broken

	// YAML syntax errors on a known line.
	cases = append(cases,
		broken{"yaml mapping value", replaceLine(base, summaryLine, "      summary: Get: Contacts"), summaryLine, "mapping values are not allowed"},
		broken{"yaml tab indentation", replaceLine(base, summaryLine, "\tsummary: Get Contacts"), summaryLine, "yaml"},
	)

	// An unknown schema type, in a component schema written on one line:
	// the error names that line.
	text, line := insertAfter(t, base, "  schemas:", "    Broken: {type: strin}")
	if line != schemasLine+1 {
		t.Fatalf("inserted at %d, want %d", line, schemasLine+1)
	}
	cases = append(cases, broken{"schema type on one line", text, line, `unsupported 'type' value "strin"`})

	// The same, written as a block: the error names the schema's line.
	text, line = insertAfter(t, base, "  schemas:",
		"    Broken:",
		"      type: object",
		"      properties:",
		"        name: {type: strin}")
	cases = append(cases, broken{"schema type in a block", text, line, `unsupported 'type' value "strin"`})

	// An operation without responses: the error names the operation's line.
	text, line = removeResponses(t, base, "      operationId: get-contact")
	if got := strings.Split(text, "\n")[line-1]; got != "    get:" {
		t.Fatalf("operation line %d is %q, want the get: key", line, got)
	}
	cases = append(cases, broken{"operation without responses", text, line, "responses"})

	// A twin-only route without its warning: the error names the operation's line.
	lines := strings.Split(base, "\n")
	warn := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "x-warning:") })
	post := warn
	for post > 0 && lines[post] != "    post:" {
		post--
	}
	if warn < 0 || post <= 0 {
		t.Fatal("the spec has no x-warning under a post operation")
	}
	text = strings.Join(slices.Delete(slices.Clone(lines), warn, warn+1), "\n")
	cases = append(cases, broken{"twin-only route without x-warning", text, post + 1, "x-warning"})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := openapi.Load(t.Context(), "broken.yaml", []byte(tc.text))
			if err == nil {
				t.Fatalf("Load succeeded (%d operations), want an error", len(spec.Operations()))
			}
			if !errors.Is(err, openapi.ErrInvalidSpec) {
				t.Errorf("errors.Is(%v, ErrInvalidSpec) = false", err)
			}
			var se *openapi.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SpecError: %v", err, err)
			}
			if se.File != "broken.yaml" {
				t.Errorf("File = %q, want broken.yaml", se.File)
			}
			if se.Line != tc.wantLine {
				t.Errorf("Line = %d, want %d (%v)", se.Line, tc.wantLine, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("broken.yaml:%d:", tc.wantLine)) {
				t.Errorf("message %q does not name broken.yaml:%d", err, tc.wantLine)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("message %q does not contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestSpecErrorWithoutLine(t *testing.T) {
	err := &openapi.SpecError{File: "x.yaml", Err: errors.New("boom")}
	if got, want := err.Error(), "openapi: x.yaml: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	inner := errors.New("inner")
	err = &openapi.SpecError{File: "x.yaml", Line: 3, Err: inner}
	if got, want := err.Error(), "openapi: x.yaml:3: inner"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, inner) || !errors.Is(err, openapi.ErrInvalidSpec) {
		t.Error("SpecError does not unwrap to both ErrInvalidSpec and its cause")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, openapi.HighLevel(), 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := openapi.LoadHighLevel(t.Context(), good)
	if err != nil {
		t.Fatalf("LoadHighLevel(%s): %v", good, err)
	}
	if spec.File != "good.yaml" || len(spec.Operations()) != len(wantOperations) {
		t.Errorf("File = %q with %d operations", spec.File, len(spec.Operations()))
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("openapi: 3.0.3\ninfo: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = openapi.LoadFile(t.Context(), bad)
	var se *openapi.SpecError
	if !errors.Is(err, openapi.ErrInvalidSpec) || !errors.As(err, &se) || se.File != "bad.yaml" {
		t.Errorf("LoadFile(bad) = %v, want a SpecError for bad.yaml", err)
	}

	_, err = openapi.LoadFile(t.Context(), filepath.Join(dir, "missing.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want os.ErrNotExist", err)
	}
	if errors.Is(err, openapi.ErrInvalidSpec) {
		t.Errorf("a missing file is reported as an invalid spec: %v", err)
	}
}

func TestFindRoute(t *testing.T) {
	spec := loadEmbedded(t)
	tests := []struct {
		method, target string
		wantID         string
		wantParams     map[string]string
		wantErr        error
	}{
		{"GET", "/contacts/abc123", "get-contact", map[string]string{"contactId": "abc123"}, nil},
		{"PUT", "/contacts/abc123", "update-contact", map[string]string{"contactId": "abc123"}, nil},
		{"GET", "/contacts/?locationId=loc", "get-contacts", map[string]string{}, nil},
		{"POST", "/contacts/upsert", "upsert-contact", map[string]string{}, nil},
		{"POST", "/contacts/search", "search-contacts-advanced", map[string]string{}, nil},
		{"GET", "/contacts/search/duplicate?locationId=l", "get-duplicate-contact", map[string]string{}, nil},
		{"GET", "/contacts/c1/tasks/t1", "get-task", map[string]string{"contactId": "c1", "taskId": "t1"}, nil},
		{"PUT", "/contacts/c1/tasks/t1/completed", "update-task-completed", map[string]string{"contactId": "c1", "taskId": "t1"}, nil},
		{"DELETE", "/contacts/c1/notes/n1", "delete-note", map[string]string{"contactId": "c1", "id": "n1"}, nil},
		{"POST", "/contacts/c1/appointments", "create-contact-appointment", map[string]string{"contactId": "c1"}, nil},
		{"PUT", "/calendars/events/appointments/e1", "edit-appointment", map[string]string{"eventId": "e1"}, nil},
		{"PATCH", "/contacts/abc123", "", nil, openapi.ErrMethodNotAllowed},
		{"GET", "/calendars/events/appointments", "", nil, openapi.ErrMethodNotAllowed},
		{"GET", "/nowhere", "", nil, openapi.ErrNoRoute},
		{"GET", "/contacts/c1/tasks/t1/extra/segments", "", nil, openapi.ErrNoRoute},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://twin.invalid"+tc.target, nil)
			route, err := spec.FindRoute(req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("FindRoute error = %v, want %v", err, tc.wantErr)
				}
				if route != nil {
					t.Errorf("route = %+v with an error", route)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindRoute: %v", err)
			}
			if route.Operation == nil || route.Operation.ID != tc.wantID {
				t.Fatalf("operation = %+v, want %s", route.Operation, tc.wantID)
			}
			if route.Route == nil {
				t.Error("Route is nil")
			}
			for k, v := range tc.wantParams {
				if route.PathParams[k] != v {
					t.Errorf("PathParams[%q] = %q, want %q", k, route.PathParams[k], v)
				}
			}
			if len(route.PathParams) != len(tc.wantParams) {
				t.Errorf("PathParams = %v, want %v", route.PathParams, tc.wantParams)
			}
		})
	}
}

func TestFindRouteAnyHost(t *testing.T) {
	spec := loadEmbedded(t)
	for _, host := range []string{"http://127.0.0.1:4010", "http://example.com", "https://services.leadconnectorhq.com"} {
		route, err := spec.FindRoute(httptest.NewRequest("GET", host+"/contacts/x", nil))
		if err != nil || route.Operation.ID != "get-contact" {
			t.Errorf("%s: route %v, err %v", host, route, err)
		}
	}
}

func Example() {
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, op := range spec.Operations()[:5] {
		fmt.Println(op.Method, op.Path, op.ID, op.Scopes)
	}
	// Output:
	// GET /calendars/appointments/{appointmentId}/notes get-appointment-notes [calendars/events.readonly]
	// POST /calendars/appointments/{appointmentId}/notes create-appointment-note [calendars/events.write]
	// DELETE /calendars/appointments/{appointmentId}/notes/{noteId} delete-appointment-note [calendars/events.write]
	// PUT /calendars/appointments/{appointmentId}/notes/{noteId} update-appointment-note [calendars/events.write]
	// GET /calendars/events get-calendar-events [calendars/events.readonly]
}

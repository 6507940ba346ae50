package mock_test

// Vendor conformance: every response of the HighLevel twin is validated
// against the vendor's own OpenAPI documents (testdata/vendor/highlevel,
// copied unchanged from the vendor's CC0 highlevel-api-docs repository),
// not against our spec. Statuses the vendor does not document (403, 404,
// 429) are skipped and counted; the twin's extension route
// POST /contacts/{contactId}/appointments, absent from the vendor documents,
// is skipped, and so are the operations that live on another host
// (x-live-host: the OAuth consent page GET /oauth/chooselocation, on
// marketplace.gohighlevel.com), which the vendor's API documents do not
// describe. POST /oauth/token is validated against the vendor's oauth.json.
// Where a vendor schema contradicts the vendor's own examples
// (vendorDocSlips), the schema is corrected in memory before validating.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
)

const vendorDocsDir = "testdata/vendor/highlevel/apps/"

const (
	vendorContactsVersion  = "2021-07-28"
	vendorCalendarsVersion = "2021-04-15"
)

// vendorDoc is one vendor document and its router.
type vendorDoc struct {
	name   string
	doc    *openapi3.T
	router routers.Router
}

func loadVendorDoc(t *testing.T, name string) vendorDoc {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(vendorDocsDir + name)
	if err != nil {
		t.Fatalf("load vendor %s: %v", name, err)
	}
	// Routes are matched on the path alone: the vendor's server is the live host.
	doc.Servers = nil
	for _, slip := range vendorDocSlips[name] {
		slip.fix(t, doc)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("gorillamux router for vendor %s: %v", name, err)
	}
	return vendorDoc{name: name, doc: doc, router: router}
}

// vendorDocSlip is a mistake in a vendor document whose own examples
// contradict its schema; fix checks the document still has it (so the
// correction goes when the vendor fixes it) and corrects it in memory.
type vendorDocSlip struct {
	schema string   // a component schema
	fields []string // its properties typed wrongly
	items  bool     // the properties are arrays whose items are typed wrongly
	from   string   // the type the vendor gives them
	to     string   // the type of the vendor's own examples; "" for any type
}

func (s vendorDocSlip) fix(t *testing.T, doc *openapi3.T) {
	t.Helper()
	ref := doc.Components.Schemas[s.schema]
	if ref == nil || ref.Value == nil {
		t.Fatalf("vendor slip: no schema %s", s.schema)
	}
	for _, f := range s.fields {
		p := ref.Value.Properties[f]
		if s.items && p != nil && p.Value != nil {
			p = p.Value.Items
		}
		if p == nil || p.Value == nil || !p.Value.Type.Is(s.from) {
			t.Fatalf("vendor slip: %s.%s is no longer of type %s: drop the correction", s.schema, f, s.from)
		}
		p.Value.Type = &openapi3.Types{s.to}
		if s.to == "" {
			p.Value.Type = nil
		}
	}
}

// vendorDocSlips lists, per vendor document, the slips corrected before
// validating: CalendarEventDTO types its times as objects, while its
// examples (and the twin, as the live service) write them as strings like
// "2023-09-25T16:00:00+05:30"; UpdateTagsResponseDTO types the lines of
// responses as strings, while its example has objects ({contactId,
// message, type, ...}); CustomFieldSchema (a contact's custom field as
// answered) types value as a string, while the values its writes take, by
// its own examples (NumericField 100, CheckboxField ["test", "test2"],
// FileField an object of files), and its webhook documentation carry
// numbers, arrays and objects, which the twin answers in their type.
var vendorDocSlips = map[string][]vendorDocSlip{
	"calendars.json": {{schema: "CalendarEventDTO", fields: []string{"startTime", "endTime", "dateAdded", "dateUpdated"},
		from: openapi3.TypeObject, to: openapi3.TypeString}},
	"contacts.json": {{schema: "UpdateTagsResponseDTO", fields: []string{"responses"}, items: true,
		from: openapi3.TypeString, to: openapi3.TypeObject},
		{schema: "CustomFieldSchema", fields: []string{"value"}, from: openapi3.TypeString, to: ""}},
}

// vendorConformance sends requests to the twin and validates each response
// with the vendor operation the request routes to.
type vendorConformance struct {
	t      *testing.T
	srv    *mock.Server
	client *http.Client
	token  string
	docs   []vendorDoc

	// served lists the vendor operations the twin serves (by operationId).
	served map[string]bool
	// checked counts validated responses per vendor operationId and status.
	checked map[string]map[int]int
	// skipped counts responses not validated, by reason.
	skipped map[string]int
	// noSchema counts validated responses whose vendor documentation has no
	// body schema ("operationId status"): only the status was checked.
	noSchema map[string]int
	// failures counts responses that broke the vendor schema.
	failures int
}

// vendorCall is one request to the twin.
type vendorCall struct {
	method, path string
	body         any        // encoded as JSON when non-nil
	raw          string     // sent as is when non-empty (for malformed bodies)
	form         url.Values // sent form-encoded when non-nil (POST /oauth/token)
	token        *string
	version      *string // nil: the route's documented version
	// want is the status the flow expects; 0 accepts any.
	want int
}

func (c vendorCall) withToken(tok string) vendorCall { c.token = &tok; return c }
func (c vendorCall) withVersion(v string) vendorCall { c.version = &v; return c }
func (c vendorCall) expect(status int) vendorCall    { c.want = status; return c }
func vcGet(path string) vendorCall                   { return vendorCall{method: http.MethodGet, path: path} }
func vcDel(path string, body ...any) vendorCall      { return vcWithBody(http.MethodDelete, path, body) }
func vcPost(path string, body any) vendorCall {
	return vendorCall{method: http.MethodPost, path: path, body: body}
}
func vcPut(path string, body any) vendorCall {
	return vendorCall{method: http.MethodPut, path: path, body: body}
}
func vcRaw(method, path, raw string) vendorCall {
	return vendorCall{method: method, path: path, raw: raw}
}

// vcForm is a form POST to an OAuth endpoint: no token, no Version.
func vcForm(path string, form url.Values) vendorCall {
	return vendorCall{method: http.MethodPost, path: path, form: form}.public()
}

// public drops the token and the Version header, as the OAuth endpoints
// (security: []) are called.
func (c vendorCall) public() vendorCall { return c.withToken("").withVersion("") }
func vcWithBody(m, path string, body []any) vendorCall {
	c := vendorCall{method: m, path: path}
	if len(body) > 0 {
		c.body = body[0]
	}
	return c
}

// do sends c, validates the response against the vendor and returns the
// status and decoded JSON body.
func (v *vendorConformance) do(c vendorCall) (int, map[string]any) {
	v.t.Helper()
	status, _, decoded := v.send(c)
	return status, decoded
}

// send is do that also returns the response's header (a redirect's Location).
func (v *vendorConformance) send(c vendorCall) (int, http.Header, map[string]any) {
	t := v.t
	t.Helper()
	var body io.Reader
	var sent []byte
	switch {
	case c.form != nil:
		sent = []byte(c.form.Encode())
	case c.raw != "":
		sent = []byte(c.raw)
	case c.body != nil:
		var err error
		if sent, err = json.Marshal(c.body); err != nil {
			t.Fatalf("encode %s %s: %v", c.method, c.path, err)
		}
	}
	if sent != nil {
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequestWithContext(context.Background(), c.method, v.srv.HighLevel.URL()+c.path, body)
	if err != nil {
		t.Fatalf("request %s %s: %v", c.method, c.path, err)
	}
	tok := v.token
	if c.token != nil {
		tok = *c.token
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	version := vendorContactsVersion
	if strings.HasPrefix(c.path, "/calendars/") {
		version = vendorCalendarsVersion
	}
	if c.version != nil {
		version = *c.version
	}
	if version != "" {
		req.Header.Set("Version", version)
	}
	switch {
	case c.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case sent != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", c.method, c.path, err)
	}
	if c.want != 0 && resp.StatusCode != c.want {
		t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, resp.StatusCode, c.want, got)
	}
	if resp.StatusCode >= 500 {
		// In strict mode a 500 means the twin broke its own spec.
		t.Fatalf("%s %s: status %d: %s", c.method, c.path, resp.StatusCode, got)
	}
	v.validate(req, resp, sent, got)
	var decoded map[string]any
	if len(got) > 0 {
		if err := json.Unmarshal(got, &decoded); err != nil {
			t.Fatalf("%s %s: response is not a JSON object: %v: %s", c.method, c.path, err, got)
		}
	}
	return resp.StatusCode, resp.Header, decoded
}

// validate checks one response against the vendor operation its request
// routes to and records the outcome.
func (v *vendorConformance) validate(req *http.Request, resp *http.Response, sent, got []byte) {
	t := v.t
	t.Helper()
	what := req.Method + " " + req.URL.Path
	if req.Method == http.MethodPost && vendorExtensionRoute.MatchString(req.URL.Path) {
		v.skipped["twin extension POST /contacts/{contactId}/appointments (not in the vendor documents)"]++
		return
	}
	if route, err := v.srv.HighLevel.Spec().FindRoute(req); err == nil && route.Operation.LiveHost != "" {
		op := route.Operation
		v.skipped[fmt.Sprintf("%s (%s %s) lives on %s (not in the vendor documents)", op.ID, op.Method, op.Path, op.LiveHost)]++
		return
	}
	res := vendorValidate(v.docs, req, sent, resp.StatusCode, resp.Header, got)
	switch {
	case res.op == "":
		t.Errorf("%s: no vendor operation routes this request", what)
		return
	case !res.documented:
		v.skipped[fmt.Sprintf("status %d not documented by the vendor", resp.StatusCode)]++
		t.Logf("note: %s (%s) answered %d, which the vendor does not document: not validated", what, res.op, resp.StatusCode)
		return
	case !res.schema:
		v.noSchema[fmt.Sprintf("%s %d", res.op, resp.StatusCode)]++
	}
	if v.checked[res.op] == nil {
		v.checked[res.op] = map[int]int{}
	}
	v.checked[res.op][resp.StatusCode]++
	if res.err != nil {
		v.failures++
		t.Errorf("vendor mismatch: %s (%s) status %d:\n%s\nbody: %s", what, res.op, resp.StatusCode, vendorDescribe(res.err), got)
	}
}

// vendorExtensionRoute is the path of the twin's extension route
// POST /contacts/{contactId}/appointments, which the vendor does not have.
var vendorExtensionRoute = regexp.MustCompile(`^/contacts/[^/]+/appointments$`)

// vendorResult is the outcome of validating one response with the vendor.
type vendorResult struct {
	op         string // vendor operationId; "" when no vendor operation routes the request
	documented bool   // the vendor documents the status (or a default)
	schema     bool   // the documented response has a JSON schema to check the body with
	err        error  // the validation error, if any
}

// vendorValidate finds the vendor operation of req and validates a response
// to it with openapi3filter.ValidateResponse.
func vendorValidate(docs []vendorDoc, req *http.Request, sent []byte, status int, header http.Header, got []byte) vendorResult {
	// A fresh request for the vendor's router and validator: the body the
	// twin read is gone.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(sent))
	var (
		route  *routers.Route
		params map[string]string
	)
	for _, d := range docs {
		if r, p, err := d.router.FindRoute(vreq); err == nil {
			route, params = r, p
			break
		}
	}
	if route == nil {
		return vendorResult{}
	}
	res := vendorResult{op: route.Operation.OperationID}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return res
	}
	res.documented = true
	if mt := ref.Value.Content.Get(header.Get("Content-Type")); mt != nil && mt.Schema != nil {
		res.schema = true
	}
	res.err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    vreq,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: false,
			MultiError:            true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		},
	})
	return res
}

// vendorDescribe flattens a (multi) validation error, one problem a line.
func vendorDescribe(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var lines []string
		for _, e := range me {
			lines = append(lines, "  - "+vendorDescribe(e))
		}
		return strings.Join(lines, "\n")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("field %q: %s (schema %s)", "/"+strings.Join(se.JSONPointer(), "/"), se.Reason, vendorSchemaSummary(se.Schema))
	}
	return err.Error()
}

func vendorSchemaSummary(s *openapi3.Schema) string {
	if s == nil {
		return "?"
	}
	var parts []string
	if s.Type != nil && len(*s.Type) > 0 {
		parts = append(parts, "type "+strings.Join(*s.Type, "|"))
	}
	if len(s.Required) > 0 {
		parts = append(parts, "required "+strings.Join(s.Required, ","))
	}
	if len(s.Enum) > 0 {
		parts = append(parts, fmt.Sprintf("enum %v", s.Enum))
	}
	if s.Format != "" {
		parts = append(parts, "format "+s.Format)
	}
	if s.Nullable {
		parts = append(parts, "nullable")
	}
	return strings.Join(parts, ", ")
}

// vendorServedOperations maps each operation of our spec that also exists in
// the vendor documents (same method and path) to its vendor operationId, and
// checks the ids agree. Operations on another live host (x-live-host) are
// not in the vendor's API documents: they are returned apart, by id.
func vendorServedOperations(t *testing.T, srv *mock.Server, docs []vendorDoc) (served map[string]bool, otherHost []string) {
	t.Helper()
	served = map[string]bool{}
	for _, op := range srv.HighLevel.Spec().Operations() {
		if op.LiveHost != "" {
			otherHost = append(otherHost, op.ID)
			continue
		}
		var vop *openapi3.Operation
		for _, d := range docs {
			if item := d.doc.Paths.Value(op.Path); item != nil {
				if vop = item.GetOperation(op.Method); vop != nil {
					break
				}
			}
		}
		if vop == nil {
			if !op.NotInLiveAPI {
				t.Errorf("operation %s (%s %s) is in neither vendor document and is not marked x-not-in-live-api", op.ID, op.Method, op.Path)
			}
			continue
		}
		if vop.OperationID != op.ID {
			t.Errorf("operation %s %s: our id %q, vendor id %q", op.Method, op.Path, op.ID, vop.OperationID)
		}
		served[vop.OperationID] = true
	}
	return served, otherHost
}

// loadVendorDocs loads the four vendor documents the twin's operations are in.
func loadVendorDocs(t *testing.T) []vendorDoc {
	t.Helper()
	return []vendorDoc{loadVendorDoc(t, "contacts.json"), loadVendorDoc(t, "calendars.json"), loadVendorDoc(t, "oauth.json"),
		loadVendorDoc(t, "locations.json")}
}

func TestVendorConformance(t *testing.T) {
	docs := loadVendorDocs(t)
	srv, err := mock.NewServer(mock.Options{
		NoListener: true, Strict: true, Seed: 1,
		Clock: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// The consent page redirects to the app's callback: the client stops there.
	client := srv.HighLevel.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := &vendorConformance{
		t: t, srv: srv, client: client, token: srv.Defaults().HighLevel.Token, docs: docs,
		checked: map[string]map[int]int{}, skipped: map[string]int{}, noSchema: map[string]int{},
	}
	var otherHost []string
	v.served, otherHost = vendorServedOperations(t, srv, docs)
	if !v.served["get-access-token"] {
		t.Errorf("get-access-token (POST /oauth/token) is not matched to the vendor's oauth.json")
	}
	for _, id := range otherHost {
		v.skipped["operation on another live host, not in the vendor documents: "+id]++
	}
	loc := srv.Defaults().HighLevel.Location
	calendarID := loc.Calendars[0].ID
	q := url.QueryEscape

	// --- contacts ---
	_, created := v.do(vcPost("/contacts/", map[string]any{
		"locationId": loc.ID, "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
		"phone": "+14155550100", "companyName": "Analytical Engines", "businessId": "641c094001436dbc2081e642",
		"address1": "12 St James's Square", "city": "London", "state": "LDN", "postalCode": "SW1Y 4JH",
		"country": "GB", "website": "https://example.com", "timezone": "Europe/London", "source": "public api",
		"gender": "female", "dateOfBirth": "1815-12-10", "tags": []string{"VIP", "math"}, "assignedTo": "user-1",
		"dnd": false, "dndSettings": map[string]any{
			"Call": map[string]any{"status": "active", "message": "asked", "code": "103"}, "Email": map[string]any{"status": "inactive"},
			"SMS": map[string]any{"status": "permanent"}, "WhatsApp": map[string]any{"status": "active"},
			"GMB": map[string]any{"status": "inactive"}, "FB": map[string]any{"status": "active"},
		},
		"inboundDndSettings": map[string]any{"all": map[string]any{"status": "inactive"}},
		"customFields":       []map[string]any{{"key": "contact.plan", "field_value": "gold"}, {"key": "contact.lead_score", "field_value": 42}},
	}).expect(http.StatusCreated))
	ada := vendorObject(t, created, "contact")["id"].(string)
	_, created = v.do(vcPost("/contacts/", map[string]any{
		"locationId": loc.ID, "name": "Charles Babbage", "email": "charles@example.com",
		"businessId": "641c094001436dbc2081e642",
	}).expect(http.StatusCreated))
	charles := vendorObject(t, created, "contact")["id"].(string)
	for i := range 3 {
		v.do(vcPost("/contacts/", map[string]any{"locationId": loc.ID, "firstName": "Filler" + strconv.Itoa(i), "phone": fmt.Sprintf("+1415555020%d", i)}).expect(http.StatusCreated))
	}
	// Duplicate contact: 400 with meta.contactId.
	v.do(vcPost("/contacts/", map[string]any{"locationId": loc.ID, "email": "ada@example.com"}).expect(http.StatusBadRequest))

	v.do(vcGet("/contacts/" + ada).expect(http.StatusOK))
	v.do(vcPut("/contacts/"+ada, map[string]any{"city": "Marylebone", "tags": []string{"vip", "poet"},
		"customFields": []map[string]any{{"key": "contact.plan", "field_value": "platinum"}}}).expect(http.StatusOK))
	// The customFields variants of the vendor's writes: id and key
	// together, an array (checkbox, multi-select), a number (numeric,
	// monetary), an object (file upload); answered as {id, value} in type.
	// (The twin keeps a value in the type it is sent with, whatever the
	// field's dataType: the two fields of the location serve for all.)
	v.do(vcPut("/contacts/"+ada, map[string]any{"customFields": []map[string]any{
		{"id": loc.CustomFields[1].ID, "key": loc.CustomFields[1].Key, "field_value": "silver"},
		{"id": loc.CustomFields[0].ID, "field_value": 12.5},
	}}).expect(http.StatusOK))
	v.do(vcPut("/contacts/"+charles, map[string]any{"customFields": []map[string]any{
		{"key": loc.CustomFields[1].Key, "field_value": []string{"morning", "evening"}},
		{"id": loc.CustomFields[0].ID, "field_value": map[string]any{"f31175d4": map[string]any{
			"meta": map[string]any{"originalname": "plan.pdf", "mimetype": "application/pdf", "size": 1024},
			"url":  "https://example.com/plan.pdf", "documentId": "w2M9qTZ0ZJz8rGt02jdJ"}}},
	}}).expect(http.StatusOK))
	v.do(vcGet("/contacts/" + ada).expect(http.StatusOK))
	v.do(vcGet("/contacts/" + charles).expect(http.StatusOK))

	// List with paging: first page of 2, then follow the cursor to the end.
	path := "/contacts/?locationId=" + q(loc.ID) + "&limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 10 {
			t.Fatal("get-contacts: paging does not end")
		}
		_, page := v.do(vcGet(path).expect(http.StatusOK))
		meta := vendorObject(t, page, "meta")
		path = ""
		if id, ok := meta["startAfterId"].(string); ok && id != "" {
			after, _ := meta["startAfter"].(float64)
			path = fmt.Sprintf("/contacts/?locationId=%s&limit=2&startAfterId=%s&startAfter=%d", q(loc.ID), q(id), int64(after))
		}
	}
	v.do(vcGet("/contacts/?locationId=" + q(loc.ID) + "&query=ada").expect(http.StatusOK))

	// Upsert: an existing contact (matched by email), then a new one.
	_, up := v.do(vcPost("/contacts/upsert", map[string]any{"locationId": loc.ID, "email": "ada@example.com", "lastName": "King"}).expect(http.StatusOK))
	if up["new"] != false {
		t.Errorf("upsert of an existing contact: new = %v", up["new"])
	}
	_, up = v.do(vcPost("/contacts/upsert", map[string]any{"locationId": loc.ID, "email": "grace@example.com", "firstName": "Grace"}).expect(http.StatusOK))
	if up["new"] != true {
		t.Errorf("upsert of a new contact: new = %v", up["new"])
	}

	// Search: query, filters and sort; then page 2.
	v.do(vcPost("/contacts/search", map[string]any{"locationId": loc.ID, "pageLimit": 2, "query": "example.com",
		"sort": []map[string]any{{"field": "dateAdded", "direction": "asc"}}}).expect(http.StatusOK))
	v.do(vcPost("/contacts/search", map[string]any{"locationId": loc.ID, "pageLimit": 2, "page": 2,
		"filters": []map[string]any{{"field": "tags", "operator": "eq", "value": "vip"}}}).expect(http.StatusOK))

	// Duplicate search: a match, and none (contact null).
	v.do(vcGet("/contacts/search/duplicate?locationId=" + q(loc.ID) + "&email=" + q("ada@example.com")).expect(http.StatusOK))
	v.do(vcGet("/contacts/search/duplicate?locationId=" + q(loc.ID) + "&number=" + q("+14155550100")).expect(http.StatusOK))
	v.do(vcGet("/contacts/search/duplicate?locationId=" + q(loc.ID) + "&email=" + q("nobody@example.com")).expect(http.StatusOK))

	// Business contacts.
	v.do(vcGet("/contacts/business/641c094001436dbc2081e642?locationId=" + q(loc.ID) + "&limit=1&skip=0").expect(http.StatusOK))
	v.do(vcGet("/contacts/business/641c094001436dbc2081e642?locationId=" + q(loc.ID)).expect(http.StatusOK))

	// --- tasks ---
	tasks := "/contacts/" + ada + "/tasks"
	_, task := v.do(vcPost(tasks, map[string]any{"title": "Send the notes", "body": "On the engine", "dueDate": "2026-01-08T02:30:00Z", "completed": false, "assignedTo": "user-1"}).expect(http.StatusCreated))
	taskID := vendorObject(t, task, "task")["id"].(string)
	v.do(vcPost(tasks, map[string]any{"title": "Second", "dueDate": "2026-02-01T10:00:00+01:00", "completed": true}).expect(http.StatusCreated))
	v.do(vcGet(tasks).expect(http.StatusOK))
	v.do(vcGet(tasks + "/" + taskID).expect(http.StatusOK))
	v.do(vcPut(tasks+"/"+taskID, map[string]any{"title": "Send the notes (G)", "dueDate": "2026-01-09T02:30:00Z"}).expect(http.StatusOK))
	v.do(vcPut(tasks+"/"+taskID+"/completed", map[string]any{"completed": true}).expect(http.StatusOK))
	v.do(vcDel(tasks + "/" + taskID).expect(http.StatusOK))
	v.do(vcGet(tasks + "/" + taskID).expect(http.StatusNotFound))

	// --- notes ---
	notes := "/contacts/" + ada + "/notes"
	_, note := v.do(vcPost(notes, map[string]any{"body": "Note G", "title": "Bernoulli", "color": "#FFAA00", "pinned": true, "userId": "user-1"}).expect(http.StatusCreated))
	noteID := vendorObject(t, note, "note")["id"].(string)
	v.do(vcPost(notes, map[string]any{"body": "A plain note"}).expect(http.StatusCreated))
	v.do(vcGet(notes).expect(http.StatusOK))
	v.do(vcGet(notes + "/" + noteID).expect(http.StatusOK))
	v.do(vcPut(notes+"/"+noteID, map[string]any{"body": "Note G, revised", "pinned": false}).expect(http.StatusOK))
	v.do(vcDel(notes + "/" + noteID).expect(http.StatusOK))

	// --- tags ---
	tags := "/contacts/" + ada + "/tags"
	v.do(vcPost(tags, map[string]any{"tags": []string{"Engine", "vip"}}).expect(http.StatusCreated))
	v.do(vcDel(tags, map[string]any{"tags": []string{"engine"}}).expect(http.StatusOK))

	// --- followers ---
	followers := "/contacts/" + ada + "/followers"
	v.do(vcPost(followers, map[string]any{"followers": []string{"user-1", "user-2"}}).expect(http.StatusCreated))
	v.do(vcDel(followers, map[string]any{"followers": []string{"user-1"}}).expect(http.StatusOK))
	v.do(vcPost(followers, map[string]any{"followers": "user-1"}).expect(http.StatusUnprocessableEntity))

	// --- campaigns and workflows ---
	v.do(vcPost("/contacts/"+ada+"/campaigns/camp-1", map[string]any{}).expect(http.StatusCreated))
	v.do(vcDel("/contacts/" + ada + "/campaigns/camp-1").expect(http.StatusOK))
	v.do(vcDel("/contacts/" + ada + "/campaigns/removeAll").expect(http.StatusOK))
	v.do(vcPost("/contacts/"+ada+"/workflow/wf-1", map[string]any{"eventStartTime": "2021-06-23T03:30:00+01:00"}).expect(http.StatusOK))
	v.do(vcDel("/contacts/"+ada+"/workflow/wf-1", map[string]any{}).expect(http.StatusOK))
	v.do(vcPost("/contacts/"+ada+"/workflow/wf-1", map[string]any{"eventStartTime": "soon"}).expect(http.StatusUnprocessableEntity))

	// --- appointments ---
	_, ap := v.do(vcPost("/calendars/events/appointments", map[string]any{
		"calendarId": calendarID, "locationId": loc.ID, "contactId": ada, "startTime": "2026-01-05T10:00:00-05:00",
		"title": "Engine demo", "meetingLocationType": "custom", "address": "London", "appointmentStatus": "new",
		"description": "Bring the cards", "assignedUserId": "user-1",
	}).expect(http.StatusOK))
	eventID, _ := ap["id"].(string)
	v.do(vcPut("/calendars/events/appointments/"+eventID, map[string]any{"appointmentStatus": "confirmed",
		"startTime": "2026-01-05T11:00:00-05:00", "endTime": "2026-01-05T12:00:00-05:00", "rrule": "RRULE:FREQ=WEEKLY;COUNT=3"}).expect(http.StatusOK))
	_, ap = v.do(vcPost("/calendars/events/appointments", map[string]any{
		"calendarId": calendarID, "locationId": loc.ID, "contactId": ada, "startTime": "2026-01-07T10:00:00+05:30",
	}).expect(http.StatusOK))
	v.do(vcPut("/calendars/events/appointments/"+ap["id"].(string), map[string]any{"appointmentStatus": "cancelled"}).expect(http.StatusOK))
	v.do(vcPost("/contacts/"+ada+"/appointments", map[string]any{"calendarId": calendarID, "startTime": "2026-01-06T09:00:00Z"}).expect(http.StatusCreated))
	v.do(vcGet("/contacts/" + ada + "/appointments").expect(http.StatusOK))
	v.do(vcGet("/contacts/" + charles + "/appointments").expect(http.StatusOK))
	v.do(vcGet("/calendars/events/appointments/" + eventID).expect(http.StatusOK))
	events := "/calendars/events?locationId=" + q(loc.ID) + "&startTime=1767225600000&endTime=1769904000000"
	v.do(vcGet(events + "&calendarId=" + q(calendarID)).expect(http.StatusOK))
	v.do(vcGet(events + "&userId=user-1").expect(http.StatusOK))
	v.do(vcGet(events).expect(http.StatusBadRequest))
	v.do(vcDel("/calendars/events/"+ap["id"].(string), map[string]any{}).expect(http.StatusCreated))
	v.do(vcDel("/calendars/events/"+ap["id"].(string), map[string]any{}).expect(http.StatusNotFound))

	// --- appointment notes ---
	apNotes := "/calendars/appointments/" + eventID + "/notes"
	_, apNote := v.do(vcPost(apNotes, map[string]any{"body": "Bring the cards", "userId": "user-1"}).expect(http.StatusCreated))
	apNoteID := vendorObject(t, apNote, "note")["id"].(string)
	v.do(vcPost(apNotes, map[string]any{"body": "And the engine"}).expect(http.StatusCreated))
	v.do(vcGet(apNotes + "?limit=1&offset=0").expect(http.StatusOK))
	v.do(vcPut(apNotes+"/"+apNoteID, map[string]any{"body": "Bring the punched cards"}).expect(http.StatusOK))
	v.do(vcDel(apNotes + "/" + apNoteID).expect(http.StatusOK))
	v.do(vcDel(apNotes + "/" + apNoteID).expect(http.StatusNotFound))

	// --- the location's custom fields and tags ---
	fields := "/locations/" + loc.ID + "/customFields"
	_, field := v.do(vcPost(fields, map[string]any{"name": "Pin code", "dataType": "TEXT", "placeholder": "PIN"}).expect(http.StatusCreated))
	fieldID := vendorObject(t, field, "customField")["id"].(string)
	v.do(vcGet(fields).expect(http.StatusOK))
	v.do(vcGet(fields + "?model=contact").expect(http.StatusOK))
	v.do(vcGet(fields + "/" + fieldID).expect(http.StatusOK))
	v.do(vcPut(fields+"/"+fieldID, map[string]any{"name": "Postcode", "position": 2}).expect(http.StatusOK))
	v.do(vcPost(fields, map[string]any{"name": "Pin code"}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost(fields, map[string]any{"name": "PIN code", "dataType": "TEXT"}).expect(http.StatusBadRequest))
	v.do(vcDel(fields + "/" + fieldID).expect(http.StatusOK))
	locTags := "/locations/" + loc.ID + "/tags"
	_, tag := v.do(vcPost(locTags, map[string]any{"name": "Engine"}).expect(http.StatusOK))
	tagID := vendorObject(t, tag, "tag")["id"].(string)
	v.do(vcGet(locTags).expect(http.StatusOK))
	v.do(vcGet(locTags + "/" + tagID).expect(http.StatusOK))
	v.do(vcPut(locTags+"/"+tagID, map[string]any{"name": "Analytical engine"}).expect(http.StatusOK))
	v.do(vcPost(locTags, map[string]any{"name": 5}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost(locTags, map[string]any{"name": "analytical engine"}).expect(http.StatusBadRequest))
	v.do(vcDel(locTags + "/" + tagID).expect(http.StatusOK))

	// --- bulk ---
	v.do(vcPost("/contacts/bulk/tags/update/add", map[string]any{"locationId": loc.ID,
		"contacts": []string{ada, "abcdef", charles}, "tags": []string{"tag-1", "tag-2"}}).expect(http.StatusCreated))
	v.do(vcPost("/contacts/bulk/tags/update/remove", map[string]any{"locationId": loc.ID,
		"contacts": []string{ada}, "tags": []string{}, "removeAllTags": false}).expect(http.StatusCreated))
	v.do(vcPost("/contacts/bulk/tags/update/add", map[string]any{"locationId": loc.ID, "tags": []string{"x"}}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost("/contacts/bulk/business", map[string]any{"locationId": loc.ID,
		"ids": []string{ada, charles}, "businessId": "63b7ec34ea409a9a8bd2a4ff"}).expect(http.StatusOK))
	v.do(vcPost("/contacts/bulk/business", map[string]any{"locationId": loc.ID, "ids": []string{ada}, "businessId": nil}).expect(http.StatusOK))
	v.do(vcPost("/contacts/bulk/business", map[string]any{"locationId": loc.ID, "ids": []string{ada}}).expect(http.StatusUnprocessableEntity))

	// --- OAuth ---
	// The consent page (another host: skipped) redirects with a code; the
	// token endpoint is validated against the vendor's oauth.json.
	app := srv.Defaults().HighLevel.App
	authorize := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURIs[0]},
		"scope": {"contacts.readonly contacts.write"}, "state": {"vendor"}}
	oauthCode := func(path string) string {
		t.Helper()
		_, h, _ := v.send(vcGet(path + "?" + authorize.Encode()).public().expect(http.StatusFound))
		to, err := url.Parse(h.Get("Location"))
		if err != nil || to.Query().Get("code") == "" {
			t.Fatalf("GET %s: redirect %q has no code", path, h.Get("Location"))
		}
		return to.Query().Get("code")
	}
	grant := func(kind string, kv ...string) url.Values {
		f := url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "grant_type": {kind}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	code := oauthCode("/oauth/chooselocation")
	_, tok := v.do(vcForm("/oauth/token", grant("authorization_code", "code", code, "user_type", "Location",
		"redirect_uri", app.RedirectURIs[0])).expect(http.StatusOK))
	refresh, _ := tok["refresh_token"].(string)
	v.do(vcForm("/oauth/token", grant("refresh_token", "refresh_token", refresh, "user_type", "Location")).expect(http.StatusOK))
	v.do(vcForm("/oauth/token", grant("authorization_code", "code", oauthCode("/v2/oauth/chooselocation"),
		"redirect_uri", app.RedirectURIs[0])).expect(http.StatusOK))
	v.do(vcForm("/oauth/token", grant("client_credentials")).expect(http.StatusOK))
	// 400: a used code and a used refresh token (invalid_grant).
	v.do(vcForm("/oauth/token", grant("authorization_code", "code", code, "redirect_uri", app.RedirectURIs[0])).expect(http.StatusBadRequest))
	v.do(vcForm("/oauth/token", grant("refresh_token", "refresh_token", refresh)).expect(http.StatusBadRequest))
	// 401: a wrong secret, an unknown client (invalid_client).
	wrong := grant("client_credentials")
	wrong.Set("client_secret", "wrong")
	v.do(vcForm("/oauth/token", wrong).expect(http.StatusUnauthorized))
	wrong = grant("client_credentials")
	wrong.Set("client_id", "unknown-client")
	v.do(vcForm("/oauth/token", wrong).expect(http.StatusUnauthorized))
	// 422: a missing client_id, a grant type outside the enum.
	noClient := grant("client_credentials")
	noClient.Del("client_id")
	v.do(vcForm("/oauth/token", noClient).expect(http.StatusUnprocessableEntity))
	v.do(vcForm("/oauth/token", grant("password")).expect(http.StatusUnprocessableEntity))
	// The consent page's own errors (skipped: another host).
	v.do(vcGet("/oauth/chooselocation?response_type=code&client_id=unknown&redirect_uri=x").public().expect(http.StatusBadRequest))
	v.do(vcGet("/v2/oauth/chooselocation").public().expect(http.StatusUnprocessableEntity))
	for _, status := range []int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity} {
		if v.checked["get-access-token"][status] == 0 {
			t.Errorf("get-access-token: no %d response validated against the vendor's oauth.json", status)
		}
	}

	// --- error responses ---
	// 401: no token on every served authenticated operation, and an unknown
	// token once.
	// 400: a missing Version header on every served authenticated operation.
	ids := map[string]string{"{contactId}": charles, "{taskId}": "nonexistent-task", "{id}": "nonexistent-note",
		"{eventId}": eventID, "{businessId}": "641c094001436dbc2081e642", "{appointmentId}": eventID,
		"{noteId}": "nonexistent-note", "{type}": "add", "{locationId}": loc.ID, "{tagId}": "nonexistent-tag"}
	for _, e := range vendorServedEndpoints(srv) {
		p := e.path
		for k, id := range ids {
			p = strings.ReplaceAll(p, k, id)
		}
		c := vendorCall{method: e.method, path: p}
		if e.method != http.MethodGet {
			c.body = map[string]any{}
		}
		v.do(c.withToken("").expect(http.StatusUnauthorized))
		v.do(c.withVersion("").expect(http.StatusBadRequest))
	}
	v.do(vcGet("/contacts/" + ada).withToken("not-a-token").expect(http.StatusUnauthorized))
	// 400: malformed JSON.
	v.do(vcRaw(http.MethodPost, "/contacts/", `{"locationId":`).expect(http.StatusBadRequest))
	v.do(vcRaw(http.MethodPut, "/contacts/"+ada, `{`).expect(http.StatusBadRequest))
	// 400: a calendar of another location.
	v.do(vcPost("/calendars/events/appointments", map[string]any{"calendarId": "nope", "locationId": loc.ID,
		"contactId": ada, "startTime": "2026-01-05T10:00:00Z"}).expect(http.StatusBadRequest))
	// 422: bodies and queries that break the schema, where the vendor documents 422.
	v.do(vcPost("/contacts/", map[string]any{"locationId": loc.ID, "email": "not-an-email"}).expect(http.StatusUnprocessableEntity))
	v.do(vcPut("/contacts/"+ada, map[string]any{"email": 12}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost("/contacts/upsert", map[string]any{"email": "x@example.com"}).expect(http.StatusUnprocessableEntity))
	v.do(vcGet("/contacts/?limit=2").expect(http.StatusUnprocessableEntity))
	v.do(vcGet("/contacts/business/641c094001436dbc2081e642?locationId=" + q(loc.ID) + "&limit=ten").expect(http.StatusUnprocessableEntity))
	v.do(vcPost("/contacts/search", map[string]any{"locationId": loc.ID}).expect(http.StatusUnprocessableEntity))
	v.do(vcGet("/contacts/search/duplicate").expect(http.StatusUnprocessableEntity))
	v.do(vcPost(tasks, map[string]any{"title": ""}).expect(http.StatusUnprocessableEntity))
	_, task = v.do(vcPost(tasks, map[string]any{"title": "Third", "dueDate": "2026-03-01T10:00:00Z", "completed": false}).expect(http.StatusCreated))
	taskID = vendorObject(t, task, "task")["id"].(string)
	v.do(vcPut(tasks+"/"+taskID, map[string]any{"dueDate": "tomorrow"}).expect(http.StatusUnprocessableEntity))
	v.do(vcPut(tasks+"/"+taskID+"/completed", map[string]any{"completed": "yes"}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost(notes, map[string]any{"body": ""}).expect(http.StatusUnprocessableEntity))
	_, note = v.do(vcPost(notes, map[string]any{"body": "Kept"}).expect(http.StatusCreated))
	noteID = vendorObject(t, note, "note")["id"].(string)
	v.do(vcPut(notes+"/"+noteID, map[string]any{"color": "red"}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost(tags, map[string]any{"tags": []string{}}).expect(http.StatusUnprocessableEntity))
	v.do(vcDel(tags, map[string]any{}).expect(http.StatusUnprocessableEntity))
	v.do(vcPost("/calendars/events/appointments", map[string]any{"locationId": loc.ID}).expect(http.StatusUnprocessableEntity))
	v.do(vcPut("/calendars/events/appointments/"+eventID, map[string]any{"appointmentStatus": "maybe"}).expect(http.StatusUnprocessableEntity))
	// 404 (undocumented by the vendor: skipped): an unknown contact.
	v.do(vcGet("/contacts/nonexistent").expect(http.StatusNotFound))

	// --- delete, last ---
	v.do(vcDel("/contacts/" + charles).expect(http.StatusOK))
	v.do(vcGet("/contacts/" + charles).expect(http.StatusNotFound))

	// Every vendor operation the twin serves was validated with a success status.
	var missing []string
	for op := range v.served {
		ok := false
		for status := range v.checked[op] {
			if status >= 200 && status < 300 {
				ok = true
			}
		}
		if !ok {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("vendor operations served by the twin but never validated with a 2xx: %v", missing)
	}
	for op := range v.checked {
		if !v.served[op] {
			t.Errorf("validated %s, which the twin does not serve", op)
		}
	}
	v.report()
}

// vendorEndpoint is a method and path template of our spec.
type vendorEndpoint struct{ method, path string }

// vendorServedEndpoints lists the authenticated operations of our spec that
// are in the live API (not the OAuth ones: they take no token or Version).
func vendorServedEndpoints(srv *mock.Server) []vendorEndpoint {
	var out []vendorEndpoint
	for _, op := range srv.HighLevel.Spec().Operations() {
		if !op.NotInLiveAPI && op.Authenticated {
			out = append(out, vendorEndpoint{op.Method, op.Path})
		}
	}
	slices.SortFunc(out, func(a, b vendorEndpoint) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return out
}

// report logs the table of checked operations and statuses and the skips.
func (v *vendorConformance) report() {
	ops := make([]string, 0, len(v.checked))
	for op := range v.checked {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	total := 0
	for _, op := range ops {
		var parts []string
		statuses := make([]int, 0, len(v.checked[op]))
		for s := range v.checked[op] {
			statuses = append(statuses, s)
		}
		sort.Ints(statuses)
		for _, s := range statuses {
			parts = append(parts, fmt.Sprintf("%d×%d", s, v.checked[op][s]))
			total += v.checked[op][s]
		}
		v.t.Logf("checked %-28s %s", op, strings.Join(parts, " "))
	}
	reasons := make([]string, 0, len(v.skipped))
	for r := range v.skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		v.t.Logf("skipped %d: %s", v.skipped[r], r)
	}
	noSchema := make([]string, 0, len(v.noSchema))
	for k := range v.noSchema {
		noSchema = append(noSchema, k)
	}
	sort.Strings(noSchema)
	for _, k := range noSchema {
		v.t.Logf("note: %d× %s: the vendor documents this status without a body schema; only the status was checked", v.noSchema[k], k)
	}
	v.t.Logf("%d responses validated against the vendor documents over %d of %d served vendor operations; %d mismatched",
		total, len(ops), len(v.served), v.failures)
}

func vendorObject(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	n, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("response has no object %q: %v", key, m)
	}
	return n
}

// TestVendorValidatorRejects guards the conformance test against passing
// vacuously: bodies that break the vendor documents must be rejected, and
// statuses the vendor does not document must be reported as such.
func TestVendorValidatorRejects(t *testing.T) {
	docs := loadVendorDocs(t)
	jsonHeader := http.Header{"Content-Type": []string{"application/json; charset=utf-8"}}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		op           string
		valid        bool
	}{
		{http.MethodGet, "/contacts/abc", 200, `{"contact":{"id":"abc","tags":["a"],"dnd":true}}`, "get-contact", true},
		{http.MethodGet, "/contacts/abc", 200, `{"contact":{"id":"abc","tags":"a"}}`, "get-contact", false},
		{http.MethodGet, "/contacts/abc", 200, `{"contact":{"dndSettings":{"SMS":{"status":"sometimes"}}}}`, "get-contact", false},
		{http.MethodGet, "/contacts/abc", 401, `{"statusCode":"401","message":"no"}`, "get-contact", false},
		{http.MethodPost, "/contacts/", 422, `{"statusCode":422,"message":"email must be an email"}`, "create-contact", false},
		{http.MethodGet, "/contacts/search/duplicate", 200, `{"contact":null}`, "get-duplicate-contact", true},
		{http.MethodPost, "/calendars/events/appointments", 200, `{"calendarId":"c","locationId":"l","contactId":"x","appointmentStatus":"confirmed"}`, "create-appointment", false},
		{http.MethodPut, "/calendars/events/appointments/e1", 200, `{"id":"e1","calendarId":"c","locationId":"l","contactId":"x","appointmentStatus":"booked"}`, "edit-appointment", false},
		{http.MethodGet, "/calendars/events/appointments/e1", 200, `{"event":{"id":"e1","title":"","calendarId":"c","locationId":"l","contactId":"x","groupId":"","appointmentStatus":"confirmed","assignedUserId":"","users":[],"startTime":"2023-09-25T16:00:00+05:30","endTime":"2023-09-25T16:30:00+05:30","dateAdded":"2023-09-25T16:00:00+05:30","dateUpdated":"2023-09-25T16:00:00+05:30"}}`, "get-appointment", true},
		{http.MethodGet, "/calendars/events/appointments/e1", 200, `{"event":{"id":"e1","calendarId":"c","locationId":"l","contactId":"x","appointmentStatus":"confirmed","startTime":5}}`, "get-appointment", false},
		{http.MethodDelete, "/calendars/events/e1", 201, `{"succeeded":"yes"}`, "delete-event", false},
		{http.MethodGet, "/contacts/abc/notes/n1", 200, `{"note":{"id":"n1","pinned":"yes"}}`, "get-note", false},
		{http.MethodPost, "/oauth/token", 200, `{"access_token":"a","token_type":"Bearer","expires_in":86399,"userType":"Location","userId":"u","approvedLocations":["l"],"isBulkInstallation":false}`, "get-access-token", true},
		{http.MethodPost, "/oauth/token", 200, `{"access_token":"a","token_type":"Bearer","expires_in":86399}`, "get-access-token", false},
		{http.MethodPost, "/oauth/token", 200, `{"access_token":"a","expires_in":"86399","userId":"u"}`, "get-access-token", false},
		{http.MethodPost, "/oauth/token", 200, `{"userId":"u","approvedLocations":"l"}`, "get-access-token", false},
		{http.MethodPost, "/oauth/token", 400, `{"statusCode":400,"message":"code is invalid","error":"invalid_grant"}`, "get-access-token", true},
		{http.MethodPost, "/oauth/token", 400, `{"statusCode":400,"message":["code is invalid"]}`, "get-access-token", false},
		{http.MethodPost, "/oauth/token", 401, `{"statusCode":"401","message":"no"}`, "get-access-token", false},
		{http.MethodPost, "/oauth/token", 422, `{"statusCode":422,"message":"grant_type is wrong"}`, "get-access-token", false},
	} {
		req, err := http.NewRequestWithContext(context.Background(), tc.method, "http://highlevel.twin"+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res := vendorValidate(docs, req, nil, tc.status, jsonHeader, []byte(tc.body))
		if res.op != tc.op || !res.documented {
			t.Errorf("%s %s %d: routed to %q (documented %v), want %s", tc.method, tc.path, tc.status, res.op, res.documented, tc.op)
			continue
		}
		if (res.err == nil) != tc.valid {
			t.Errorf("%s %s %d %s: valid = %v, want %v (%v)", tc.method, tc.path, tc.status, tc.body, res.err == nil, tc.valid, res.err)
		}
	}
	// Mismatches are reported by field.
	req := httptest.NewRequest(http.MethodGet, "/contacts/abc", nil)
	res := vendorValidate(docs, req, nil, http.StatusOK, jsonHeader, []byte(`{"contact":{"tags":"a","dnd":"no"}}`))
	if got := vendorDescribe(res.err); !strings.Contains(got, `"/contact/tags"`) || !strings.Contains(got, `"/contact/dnd"`) {
		t.Errorf("describe does not name the fields:\n%s", got)
	} else {
		t.Logf("sample mismatch report:\n%s", got)
	}
	if res := vendorValidate(docs, req, nil, http.StatusNotFound, jsonHeader, []byte(`{}`)); res.op != "get-contact" || res.documented {
		t.Errorf("404 on get-contact: %+v, want an undocumented status of get-contact", res)
	}
	req = httptest.NewRequest(http.MethodPost, "/contacts/abc/appointments", nil)
	if res := vendorValidate(docs, req, nil, http.StatusCreated, jsonHeader, []byte(`{}`)); res.op != "" {
		t.Errorf("POST /contacts/{contactId}/appointments routed to vendor operation %q; the vendor has none", res.op)
	}
	// The consent page is on another host: no vendor document describes it.
	for _, path := range []string{"/oauth/chooselocation", "/v2/oauth/chooselocation"} {
		req = httptest.NewRequest(http.MethodGet, path, nil)
		if res := vendorValidate(docs, req, nil, http.StatusFound, http.Header{}, nil); res.op != "" {
			t.Errorf("GET %s routed to vendor operation %q; the vendor documents none", path, res.op)
		}
	}
}

// vendorContactOperationsServed is how many of the vendor's contact-related
// operations the twin serves (see TestVendorCoverage_ContactOperations); it
// may only grow: it is all 41.
const vendorContactOperationsServed = 41

// vendorContactRelated tells whether a calendars.json path is about a
// contact's appointments: the appointments, the events read and deleted by
// id or listed, and the appointment notes (not calendars, groups, slots,
// resources, notifications or schedules). Every contacts.json path is.
func vendorContactRelated(doc, path string) bool {
	if doc == "contacts.json" {
		return true
	}
	return doc == "calendars.json" && (strings.HasPrefix(path, "/calendars/events/appointments") ||
		path == "/calendars/events" || path == "/calendars/events/{eventId}" ||
		strings.HasPrefix(path, "/calendars/appointments/"))
}

// TestVendorCoverage_ContactOperations counts the vendor's contact-related
// operations (method and path) the twin's spec serves, and fails when fewer
// are served than vendorContactOperationsServed.
func TestVendorCoverage_ContactOperations(t *testing.T) {
	docs := loadVendorDocs(t)
	srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ours := map[string]bool{}
	for _, op := range srv.HighLevel.Spec().Operations() {
		ours[op.Method+" "+op.Path] = true
	}
	var total int
	var missing []string
	for _, d := range docs {
		for _, path := range d.doc.Paths.InMatchingOrder() {
			if !vendorContactRelated(d.name, path) {
				continue
			}
			for method := range d.doc.Paths.Value(path).Operations() {
				total++
				if key := method + " " + path; !ours[key] {
					missing = append(missing, key)
				}
			}
		}
	}
	sort.Strings(missing)
	served := total - len(missing)
	t.Logf("the twin serves %d of the vendor's %d contact-related operations; not yet: %v", served, total, missing)
	if total != 41 {
		t.Errorf("the vendor documents %d contact-related operations, not 41: update the count and this test", total)
	}
	if served < vendorContactOperationsServed {
		t.Errorf("the twin serves %d of the vendor's contact-related operations, fewer than %d", served, vendorContactOperationsServed)
	}
}

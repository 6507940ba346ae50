package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// Versions of the API the twin serves.
const (
	versionContacts  = "2021-07-28"
	versionCalendars = "2021-04-15"
)

// clockStart is when every test's clock starts.
var clockStart = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)

// suiteSpec is the spec the twin serves; TestMain loads it once.
var suiteSpec *openapi.Spec

// opSeen records the (operation, status) of every request the tests make.
var opSeen = newOpCoverage()

// TestMain runs the tests and then, on a full run, checks that the suite
// reached every operation of the spec with a success, a 404 (when the spec
// declares one) and a 400 or 422. Any 500 fails the run, filtered or not.
func TestMain(m *testing.M) {
	flag.Parse()
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "load spec:", err)
		os.Exit(1)
	}
	suiteSpec = spec
	code := m.Run()
	problems := opSeen.serverErrors()
	if code == 0 && isFullRun() {
		problems = append(problems, opSeen.missing(spec)...)
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: operation coverage:")
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "\t"+p)
		}
		code = 1
	}
	os.Exit(code)
}

// isFullRun tells whether every test ran: no -run, -skip or -list filter.
func isFullRun() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

// opCoverage is a set of (operation, status) pairs, safe for concurrent use.
type opCoverage struct {
	mu       sync.Mutex // guards statuses and failures
	statuses map[string]map[int]bool
	failures []string
}

func newOpCoverage() *opCoverage { return &opCoverage{statuses: map[string]map[int]bool{}} }

func (c *opCoverage) record(operation, method, path string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if status >= 500 {
		c.failures = append(c.failures, fmt.Sprintf("%s %s answered %d", method, path, status))
	}
	if operation == "" {
		return
	}
	if c.statuses[operation] == nil {
		c.statuses[operation] = map[int]bool{}
	}
	c.statuses[operation][status] = true
}

func (c *opCoverage) serverErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.failures)
	slices.Sort(out)
	return out
}

// missing lists, in the spec's order, what no test reached.
func (c *opCoverage) missing(spec *openapi.Spec) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, op := range spec.Operations() {
		got := c.statuses[op.ID]
		has := func(ok func(int) bool) bool {
			for status := range got {
				if ok(status) {
					return true
				}
			}
			return false
		}
		where := fmt.Sprintf("%s (%s %s)", op.ID, op.Method, op.Path)
		// A redirect is the success of an operation that declares one
		// (the OAuth consent page's 302).
		redirects := declaresRedirect(op)
		if !has(func(s int) bool { return s >= 200 && s < 300 || redirects && s >= 300 && s < 400 }) {
			if redirects {
				out = append(out, where+": no 2xx or 3xx response")
			} else {
				out = append(out, where+": no 2xx response")
			}
		}
		if op.Spec.Responses.Value("404") != nil && !got[http.StatusNotFound] {
			out = append(out, where+": no 404 response")
		}
		if !got[http.StatusBadRequest] && !got[http.StatusUnprocessableEntity] {
			out = append(out, where+": no 400 or 422 response")
		}
	}
	return out
}

// declaresRedirect tells whether the spec declares a 3xx response for op.
func declaresRedirect(op *openapi.Operation) bool {
	for code := range op.Spec.Responses.Map() {
		if len(code) == 3 && code[0] == '3' {
			return true
		}
	}
	return false
}

// recordingTransport is a RoundTripper that records each request's operation and
// status in opSeen.
type recordingTransport struct{ next http.RoundTripper }

func (t recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	operation := ""
	if route, err := suiteSpec.FindRoute(r); err == nil {
		operation = route.Operation.ID
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	opSeen.record(operation, r.Method, r.URL.Path, resp.StatusCode)
	return resp, nil
}

// twinEnv is one twin, its clock and a recording client.
type twinEnv struct {
	srv    *mock.Server
	clk    *clock.Manual
	client *http.Client
	token  string
	loc    store.Location
}

// newTwin starts a strict twin with seed 1 on a manual clock stopped at clockStart.
func newTwin(tb testing.TB) *twinEnv {
	tb.Helper()
	return newTwinSeed(tb, 1)
}

func newTwinSeed(tb testing.TB, seed uint64) *twinEnv {
	tb.Helper()
	return newTwinWith(tb, mock.Options{Seed: seed})
}

// newTwinWith starts a strict twin with opts on a manual clock stopped at
// clockStart.
func newTwinWith(tb testing.TB, opts mock.Options) *twinEnv {
	tb.Helper()
	clk := clock.NewManual(clockStart)
	opts.NoListener, opts.Strict, opts.Clock = true, true, clk
	srv, err := mock.NewServer(opts)
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	client := srv.HighLevel.Client()
	client.Transport = recordingTransport{next: client.Transport}
	return &twinEnv{srv: srv, clk: clk, client: client, token: srv.Defaults().HighLevel.Token, loc: srv.Defaults().HighLevel.Location}
}

// addLocation adds a location with a calendar and a token with every scope for it.
func (e *twinEnv) addLocation(tb testing.TB, id string, allowDuplicates bool, order ...string) (store.Location, string) {
	tb.Helper()
	loc := store.Location{ID: id, Name: id, AllowDuplicateContact: allowDuplicates, DuplicateOrder: order,
		Calendars: []store.Calendar{{ID: id + "Cal", Name: "Calendar"}}}
	e.srv.Store().PutLocation(loc)
	token := "pit-" + id
	e.srv.AddToken(token, auth.Principal{Kind: auth.PrivateIntegration, LocationID: id, Scopes: mock.SpecScopes(e.srv.HighLevel.Spec())})
	return loc, token
}

// Special values of apiRequest.token and apiRequest.version.
const (
	omitHeader = "\x00omit"
)

// apiRequest is one call to the twin. Zero fields take defaults: the default
// token, the Version the path needs, a JSON body.
type apiRequest struct {
	method, path string
	// body is marshalled as JSON; a json.RawMessage or string is sent as is.
	body        any
	token       string
	version     string
	contentType string
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// requestBody encodes a test request's body: a string or raw JSON as is,
// anything else as JSON. It reports a value that does not encode.
func requestBody(tb testing.TB, b any) (io.Reader, bool) {
	tb.Helper()
	switch b := b.(type) {
	case nil:
		return nil, true
	case string:
		return strings.NewReader(b), true
	case json.RawMessage:
		return bytes.NewReader(b), true
	}
	buf, err := json.Marshal(b)
	if err != nil {
		tb.Errorf("marshal body: %v", err)
		return nil, false
	}
	return bytes.NewReader(buf), true
}

// call sends req and returns the response. Any 5xx fails the test. It never
// stops the test, so goroutines may use it: a request that cannot be sent
// is reported and answered with status 0.
func (e *twinEnv) call(tb testing.TB, req apiRequest) apiResponse {
	tb.Helper()
	body, ok := requestBody(tb, req.body)
	if !ok {
		return apiResponse{}
	}
	target := req.path
	if !strings.HasPrefix(target, "http") {
		target = e.srv.HighLevel.URL() + target
	}
	hr, err := http.NewRequest(req.method, target, body)
	if err != nil {
		tb.Errorf("new request: %v", err)
		return apiResponse{}
	}
	switch req.token {
	case omitHeader:
	case "":
		hr.Header.Set("Authorization", "Bearer "+e.token)
	default:
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	switch req.version {
	case omitHeader:
	case "":
		v := versionContacts
		if strings.HasPrefix(hr.URL.Path, "/calendars/") {
			v = versionCalendars
		}
		hr.Header.Set("Version", v)
	default:
		hr.Header.Set("Version", req.version)
	}
	return exchange(tb, e.client, hr, req.path, req.contentType, 0)
}

// exchange sends a test request hr for path, whose headers but
// Content-Type are set: a request with a body gets contentType
// (application/json when ""). A 5xx other than expect5xx fails the test, as
// does a request that cannot be sent (answered with status 0); it never
// stops the test, so goroutines may use it.
func exchange(tb testing.TB, client *http.Client, hr *http.Request, path, contentType string, expect5xx int) apiResponse {
	tb.Helper()
	if hr.Body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		hr.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(hr)
	if err != nil {
		tb.Errorf("%s %s: %v", hr.Method, path, err)
		return apiResponse{}
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Errorf("%s %s: read body: %v", hr.Method, path, err)
	}
	out := apiResponse{status: resp.StatusCode, header: resp.Header, body: buf}
	if out.status >= 500 && out.status != expect5xx {
		tb.Errorf("%s %s: server error %s", hr.Method, path, out)
	}
	return out
}

// do sends a request with the default token and Version.
func (e *twinEnv) do(tb testing.TB, method, path string, body any) apiResponse {
	tb.Helper()
	return e.call(tb, apiRequest{method: method, path: path, body: body})
}

// mustDo sends a request and fails the test unless it answers want; it
// decodes the body into a T.
func mustDo[T any](tb testing.TB, e *twinEnv, method, path string, body any, want int) T {
	tb.Helper()
	r := e.do(tb, method, path, body)
	mustStatus(tb, r, want)
	return mustDecode[T](tb, r)
}

func mustStatus(tb testing.TB, r apiResponse, want int) {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
}

func mustDecode[T any](tb testing.TB, r apiResponse) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		tb.Fatalf("decode %T from %s: %v", v, r.body, err)
	}
	return v
}

// wireError is the vendor's error envelope; Message is a string or, for 422,
// an array of strings.
type wireError struct {
	StatusCode int             `json:"statusCode"`
	Message    json.RawMessage `json:"message"`
	Error      string          `json:"error"`
	Meta       map[string]any  `json:"meta"`
}

// mustError checks an error response: its status, that the envelope's
// statusCode and error agree, and that the message is a string containing
// msg (or, for 422, an array with a line containing msg). It returns the body.
func mustError(tb testing.TB, r apiResponse, status int, msg string) wireError {
	tb.Helper()
	mustStatus(tb, r, status)
	e := mustDecode[wireError](tb, r)
	if e.StatusCode != status || e.Error != http.StatusText(status) {
		tb.Errorf("error body %s: want statusCode %d and error %q", r.body, status, http.StatusText(status))
	}
	if status == http.StatusUnprocessableEntity {
		var lines []string
		if err := json.Unmarshal(e.Message, &lines); err != nil {
			tb.Fatalf("422 message is not an array of strings: %s", r.body)
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, msg) }) {
			tb.Errorf("422 message %q has no line containing %q", lines, msg)
		}
		return e
	}
	var s string
	if err := json.Unmarshal(e.Message, &s); err != nil {
		tb.Fatalf("%d message is not a string: %s", status, r.body)
	}
	if !strings.Contains(s, msg) {
		tb.Errorf("message %q does not contain %q", s, msg)
	}
	return e
}

// wireContact is the part of a contact the tests read.
type wireContact struct {
	ID           string            `json:"id"`
	LocationID   string            `json:"locationId"`
	Name         string            `json:"name"`
	FirstName    string            `json:"firstName"`
	LastName     string            `json:"lastName"`
	Email        string            `json:"email"`
	Phone        string            `json:"phone"`
	CompanyName  string            `json:"companyName"`
	BusinessID   string            `json:"businessId"`
	Source       string            `json:"source"`
	Tags         []string          `json:"tags"`
	Followers    []string          `json:"followers,omitempty"`
	CustomFields []wireCustomField `json:"customFields"`
	DateOfBirth  string            `json:"dateOfBirth"`
	BirthMonth   *int              `json:"birthMonth"`
	BirthDay     *int              `json:"birthDay"`
	DateAdded    string            `json:"dateAdded"`
	DateUpdated  string            `json:"dateUpdated"`
	SearchAfter  json.RawMessage   `json:"searchAfter"`
}

// wireCustomField is a custom field as answered: Value in its JSON type
// (string, float64, []any, map[string]any).
type wireCustomField struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

type wireContactEnvelope struct {
	Contact wireContact `json:"contact"`
}

type wireContactsList struct {
	Contacts []wireContact `json:"contacts"`
	Count    int           `json:"count"`
	Meta     struct {
		Total        int      `json:"total"`
		NextPageURL  *string  `json:"nextPageUrl"`
		StartAfterID *string  `json:"startAfterId"`
		StartAfter   *float64 `json:"startAfter"`
		CurrentPage  int      `json:"currentPage"`
		NextPage     *int     `json:"nextPage"`
		PrevPage     *int     `json:"prevPage"`
	} `json:"meta"`
}

type wireUpsert struct {
	New     bool        `json:"new"`
	Contact wireContact `json:"contact"`
	TraceID string      `json:"traceId"`
}

type wireTask struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	DueDate   string `json:"dueDate"`
	Completed bool   `json:"completed"`
	ContactID string `json:"contactId"`
}

type wireNote struct {
	ID        string `json:"id"`
	Body      string `json:"body"`
	Title     string `json:"title"`
	Color     string `json:"color"`
	Pinned    bool   `json:"pinned"`
	DateAdded string `json:"dateAdded"`
	ContactID string `json:"contactId"`
}

type wireAppointment struct {
	ID                string `json:"id"`
	CalendarID        string `json:"calendarId"`
	LocationID        string `json:"locationId"`
	ContactID         string `json:"contactId"`
	StartTime         string `json:"startTime"`
	EndTime           string `json:"endTime"`
	Title             string `json:"title"`
	AppointmentStatus string `json:"appointmentStatus"`
}

type wireEvent struct {
	ID                string `json:"id"`
	CalendarID        string `json:"calendarId"`
	Status            string `json:"status"`
	StartTime         string `json:"startTime"`
	EndTime           string `json:"endTime"`
	ContactID         string `json:"contactId"`
	AppointmentStatus string `json:"appointmentStatus"`
	DateAdded         string `json:"dateAdded"`
}

type wireDeleted struct {
	Succeded *bool `json:"succeded"`
}

type jsonObj = map[string]any

// mustCreateContact creates a contact in the default location from fields.
func (e *twinEnv) mustCreateContact(tb testing.TB, fields jsonObj) wireContact {
	tb.Helper()
	body := jsonObj{"locationId": e.loc.ID}
	for k, v := range fields {
		body[k] = v
	}
	return mustDo[wireContactEnvelope](tb, e, "POST", "/contacts/", body, http.StatusCreated).Contact
}

func (e *twinEnv) mustCreateTask(tb testing.TB, contactID, title string) wireTask {
	tb.Helper()
	return mustDo[struct{ Task wireTask }](tb, e, "POST", "/contacts/"+contactID+"/tasks",
		jsonObj{"title": title, "dueDate": "2024-03-08T10:00:00Z", "completed": false}, http.StatusCreated).Task
}

func (e *twinEnv) mustCreateNote(tb testing.TB, contactID, body string) wireNote {
	tb.Helper()
	return mustDo[struct{ Note wireNote }](tb, e, "POST", "/contacts/"+contactID+"/notes",
		jsonObj{"body": body}, http.StatusCreated).Note
}

func (e *twinEnv) mustBook(tb testing.TB, contactID, start string) wireAppointment {
	tb.Helper()
	return mustDo[wireAppointment](tb, e, "POST", "/calendars/events/appointments", jsonObj{
		"calendarId": e.loc.Calendars[0].ID, "locationId": e.loc.ID, "contactId": contactID, "startTime": start,
	}, http.StatusOK)
}

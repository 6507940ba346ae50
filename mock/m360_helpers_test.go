package mock_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/openapi"
)

// m360Env is a strict Marketing 360 twin (with the HighLevel one beside it)
// on a manual clock, and a client that records every M360 request's
// (operation, status) in cov and fails the run on any unexpected 5xx.
type m360Env struct {
	srv    *mock.Server
	clk    *clock.Manual
	client *http.Client
	key    mock.APIKey
	cov    *opCoverage
}

// m360Ghost is a key of an account the twin does not have: every operation
// answers it 404, as it would a key whose account was deleted.
var m360Ghost = mock.APIKey{ClientID: "m360_ghost", ClientSecret: "ghost-secret", AccountID: 999999}

// newM360 starts a strict twin with seed 1 on a manual clock at clockStart;
// opts may set limits or keys. It always adds m360Ghost.
func newM360(tb testing.TB, opts mock.Options) *m360Env {
	tb.Helper()
	clk := clock.NewManual(clockStart)
	opts.NoListener, opts.Strict, opts.Clock = true, true, clk
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	ghost := m360Ghost
	ghost.Permissions = m360AllPermissions
	opts.M360.Keys = append(opts.M360.Keys, ghost)
	srv, err := mock.NewServer(opts)
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m360EnvOf(srv, clk)
}

// m360EnvOf is the Marketing 360 side of a running twin.
func m360EnvOf(srv *mock.Server, clk *clock.Manual) *m360Env {
	e := &m360Env{srv: srv, clk: clk, key: srv.Defaults().M360.Key, cov: newOpCoverage()}
	client := srv.HighLevel.Client()
	client.Transport = m360Transport{next: client.Transport, spec: srv.M360.Spec(), cov: e.cov}
	e.client = client
	return e
}

// m360AllPermissions are the x-permissions of the spec.
var m360AllPermissions = []string{
	"account:read", "calendar:read", "calendar:write", "campaigns:read", "campaigns:write",
	"contacts:read", "contacts:write", "notes:read", "notes:write", "tasks:read", "tasks:write",
	"webhooks:read", "webhooks:write",
}

type expect5xxKey struct{}

// m360Transport records each M360 request's operation and status in cov; a
// 5xx the request did not expect (a fault) is recorded in opSeen too, which
// fails the run at the end of TestMain.
type m360Transport struct {
	next http.RoundTripper
	spec *openapi.Spec
	cov  *opCoverage
}

func (t m360Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	operation := ""
	if !strings.HasPrefix(r.URL.Path, "/__admin/") {
		if route, err := t.spec.FindRoute(r); err == nil {
			operation = route.Operation.ID
		}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	expected, _ := r.Context().Value(expect5xxKey{}).(int)
	if resp.StatusCode >= 500 && resp.StatusCode != expected {
		opSeen.record("", r.Method, r.URL.Host+r.URL.Path, resp.StatusCode)
	}
	if resp.StatusCode < 500 || resp.StatusCode != expected {
		t.cov.record(operation, r.Method, r.URL.Path, resp.StatusCode)
	}
	return resp, nil
}

// Special values of m360Req.id.
const (
	m360NoAuth = "\x00none" // no Authorization header
)

// m360Req is one call to the twin. Zero fields take defaults: the default
// key, a JSON body with Content-Type application/json and Content-Length.
type m360Req struct {
	method, path string
	// body is marshalled as JSON; a json.RawMessage or string is sent as is.
	body any
	// id and secret are the Basic credentials; "" means the default key's.
	id, secret string
	// authorization, when set, is sent as is instead of Basic credentials.
	authorization string
	contentType   string
	// chunked sends the body without a Content-Length.
	chunked bool
	// expect5xx is a 5xx status the test provokes (a fault).
	expect5xx int
}

// m360Resp is an answer, as the HighLevel suite reads them.
type m360Resp = apiResponse

// send sends req to the M360 twin (or, for /__admin/ paths, its admin API).
// An unexpected 5xx fails the test; it never stops the test, so goroutines
// may use it.
func (e *m360Env) send(tb testing.TB, req m360Req) m360Resp {
	tb.Helper()
	body, ok := requestBody(tb, req.body)
	if !ok {
		return m360Resp{}
	}
	ctx := context.Background()
	if req.expect5xx != 0 {
		ctx = context.WithValue(ctx, expect5xxKey{}, req.expect5xx)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, e.srv.M360.URL()+req.path, body)
	if err != nil {
		tb.Errorf("new request: %v", err)
		return m360Resp{}
	}
	if req.chunked && body != nil {
		hr.ContentLength = -1
	}
	switch {
	case req.authorization != "":
		hr.Header.Set("Authorization", req.authorization)
	case req.id == m360NoAuth, strings.HasPrefix(req.path, "/__admin/"):
	case req.id == "":
		hr.SetBasicAuth(e.key.ClientID, e.key.ClientSecret)
	default:
		hr.SetBasicAuth(req.id, req.secret)
	}
	return exchange(tb, e.client, hr, req.path, req.contentType, req.expect5xx)
}

// do sends a request with the default key.
func (e *m360Env) do(tb testing.TB, method, path string, body any) m360Resp {
	tb.Helper()
	return e.send(tb, m360Req{method: method, path: path, body: body})
}

// as sends a request with key k.
func (e *m360Env) as(tb testing.TB, k m360Key, method, path string, body any) m360Resp {
	tb.Helper()
	return e.send(tb, m360Req{method: method, path: path, body: body, id: k.ClientID, secret: k.ClientSecret})
}

// m360Must sends a request with the default key, fails the test unless it
// answers want, and decodes the body into a T.
func m360Must[T any](tb testing.TB, e *m360Env, method, path string, body any, want int) T {
	tb.Helper()
	r := e.do(tb, method, path, body)
	mustStatus(tb, r, want)
	return mustDecode[T](tb, r)
}

// m360Error is the one error envelope.
type m360Error struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// m360Codes are the envelope's codes by status.
var m360Codes = map[int]string{
	400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
	411: "length_required", 422: "validation_error", 429: "rate_limited",
}

// m360MustError checks an error: its status, the code that goes with it, a
// message, and, when fields are named, that fields has each of them.
func m360MustError(tb testing.TB, r m360Resp, status int, fields ...string) m360Error {
	tb.Helper()
	mustStatus(tb, r, status)
	e := mustDecode[m360Error](tb, r)
	if e.Error.Code != m360Codes[status] || e.Error.Message == "" {
		tb.Errorf("error %s: want code %q and a message", r.body, m360Codes[status])
	}
	for _, f := range fields {
		if e.Error.Fields[f] == "" {
			tb.Errorf("error %s: no fields.%s", r.body, f)
		}
	}
	if status == http.StatusUnauthorized {
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="Marketing 360"` {
			tb.Errorf("401 WWW-Authenticate %q", got)
		}
	}
	return e
}

type m360Result[T any] struct {
	Result T `json:"result"`
}

type m360List[T any] struct {
	Result   []T `json:"result"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Total    int `json:"total"`
}

type m360Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type m360ExternalIDs struct {
	GHL *string `json:"ghl"`
}

type m360Contact struct {
	ID           int64             `json:"id"`
	FirstName    *string           `json:"firstName"`
	LastName     *string           `json:"lastName"`
	Email        *string           `json:"email"`
	Phone        *string           `json:"phone"`
	Company      *string           `json:"company"`
	Tags         []string          `json:"tags"`
	Source       *m360Ref          `json:"source"`
	Types        []m360Ref         `json:"types"`
	CustomFields map[string]string `json:"customFields"`
	ExternalIDs  m360ExternalIDs   `json:"externalIds"`
	NextContact  *int64            `json:"nextContact"`
	Assignees    *m360Assignees    `json:"assignees"`
	Created      int64             `json:"created"`
	Updated      int64             `json:"updated"`
}

type m360Assignees struct {
	Username string  `json:"username"`
	FullName *string `json:"fullName"`
	Email    *string `json:"email"`
}

type m360User struct {
	Username string `json:"username"`
}

type m360Task struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Title       string          `json:"title"`
	Description *string         `json:"description"`
	DueAt       *int64          `json:"dueAt"`
	Completed   bool            `json:"completed"`
	CompletedAt *int64          `json:"completedAt"`
	Assignee    *m360User       `json:"assignee"`
	ExternalIDs m360ExternalIDs `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

type m360Note struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Body        string          `json:"body"`
	Author      *m360User       `json:"author"`
	ExternalIDs m360ExternalIDs `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

type m360Event struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Title       *string         `json:"title"`
	Start       int64           `json:"start"`
	End         int64           `json:"end"`
	Location    *string         `json:"location"`
	Status      string          `json:"status"`
	ExternalIDs m360ExternalIDs `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

type m360Campaign struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type m360Trigger struct {
	ID         int64 `json:"id"`
	CampaignID int64 `json:"campaignId"`
	ContactID  int64 `json:"contactId"`
	Created    int64 `json:"created"`
}

type m360Webhook struct {
	ID      int64    `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  *string  `json:"secret"`
	Created int64    `json:"created"`
}

type m360Deleted struct {
	ID      int64 `json:"id"`
	Deleted bool  `json:"deleted"`
}

// m360Key is a key minted through the admin API.
type m360Key struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	AccountID    int64    `json:"accountId"`
	Permissions  []string `json:"permissions"`
}

// mintKey mints a key for account with permissions through the admin API.
func (e *m360Env) mintKey(tb testing.TB, account int64, permissions ...string) m360Key {
	tb.Helper()
	if permissions == nil {
		permissions = []string{}
	}
	r := e.do(tb, "POST", "/__admin/m360/keys", jsonObj{"accountId": account, "permissions": permissions})
	mustStatus(tb, r, http.StatusCreated)
	k := mustDecode[m360Key](tb, r)
	if k.ClientID == "" || k.ClientSecret == "" || k.AccountID != account || !slices.Equal(k.Permissions, permissions) {
		tb.Fatalf("minted key %s", r.body)
	}
	return k
}

// defaultKey is the default key as a m360Key.
func (e *m360Env) defaultKey() m360Key {
	return m360Key{ClientID: e.key.ClientID, ClientSecret: e.key.ClientSecret, AccountID: e.key.AccountID, Permissions: e.key.Permissions}
}

// ghostKey is m360Ghost as a m360Key.
func ghostKey() m360Key {
	return m360Key{ClientID: m360Ghost.ClientID, ClientSecret: m360Ghost.ClientSecret, AccountID: m360Ghost.AccountID}
}

// mustContact creates a contact with the default key.
func (e *m360Env) mustContact(tb testing.TB, body jsonObj) m360Contact {
	tb.Helper()
	return m360Must[m360Result[m360Contact]](tb, e, "POST", "/v1/contacts", body, http.StatusCreated).Result
}

// campaignID returns the id of the default account's campaign called name.
func (e *m360Env) campaignID(tb testing.TB, name string) int64 {
	tb.Helper()
	l := m360Must[m360List[m360Campaign]](tb, e, "GET", "/v1/campaigns", nil, http.StatusOK)
	for _, c := range l.Result {
		if c.Name == name {
			return c.ID
		}
	}
	tb.Fatalf("no campaign %q in %+v", name, l.Result)
	return 0
}

// advance moves the twin's clock through the admin API.
func (e *m360Env) advance(tb testing.TB, d string) {
	tb.Helper()
	mustStatus(tb, e.do(tb, "POST", "/__admin/clock", jsonObj{"advance": d}), http.StatusOK)
}

// basic is an Authorization header value for HTTP Basic.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// m360Missing lists, in the spec's order, what cov lacks: a 2xx for every
// operation, a 404 where the spec declares one, and a 400 or 422 where it
// declares either (GET /v1/account has no parameter or body to get wrong).
func m360Missing(cov *opCoverage, spec *openapi.Spec) []string {
	cov.mu.Lock()
	defer cov.mu.Unlock()
	var out []string
	for _, op := range spec.Operations() {
		got := cov.statuses[op.ID]
		where := fmt.Sprintf("%s (%s %s)", op.ID, op.Method, op.Path)
		if !slices.ContainsFunc(mapKeys(got), func(s int) bool { return s >= 200 && s < 300 }) {
			out = append(out, where+": no 2xx response")
		}
		if op.Spec.Responses.Value("404") != nil && !got[http.StatusNotFound] {
			out = append(out, where+": no 404 response")
		}
		declares := op.Spec.Responses.Value("400") != nil || op.Spec.Responses.Value("422") != nil
		if declares && !got[http.StatusBadRequest] && !got[http.StatusUnprocessableEntity] {
			out = append(out, where+": no 400 or 422 response")
		}
	}
	return out
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// m360Leaky is Marketing 360's bucket: 5 per second per key, Retry-After on.
func m360Leaky() *limits.LeakyConfig {
	cfg := limits.DefaultLeakyConfig()
	return &cfg
}

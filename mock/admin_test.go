package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/internal/lockedbuf"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
)

type admEnv struct {
	srv   *mock.Server
	clk   *clock.Manual
	logs  *lockedbuf.Buffer
	token string
}

// newAdmTwin is a strict, seeded twin on a manual clock, logging at debug
// level into a buffer.
func newAdmTwin(t *testing.T, opts mock.Options) *admEnv {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	logs := &lockedbuf.Buffer{}
	opts.NoListener, opts.Strict, opts.Clock = true, true, clk
	if opts.Seed == 0 {
		opts.Seed = 11
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &admEnv{srv: srv, clk: clk, logs: logs, token: srv.Defaults().HighLevel.Token}
}

type admResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request; bearer "" sends no Authorization; HighLevel paths get
// the Version header 2021-07-28.
func (e *admEnv) do(t *testing.T, method, path, bearer string, body any) admResp {
	t.Helper()
	return e.doVersion(t, method, path, bearer, body, "2021-07-28")
}

func (e *admEnv) doVersion(t *testing.T, method, path, bearer string, body any, version string) admResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.HighLevel.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if !strings.HasPrefix(path, "/__admin") {
		req.Header.Set("Version", version)
	}
	res, err := e.srv.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := admResp{status: res.StatusCode, header: res.Header, raw: raw}
	if res.StatusCode == http.StatusInternalServerError {
		t.Fatalf("%s %s: 500 %s", method, path, raw)
	}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return out
}

func (e *admEnv) want(t *testing.T, r admResp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

func (e *admEnv) listContacts(t *testing.T, token string) admResp {
	t.Helper()
	return e.do(t, "GET", "/contacts/?locationId="+e.srv.Defaults().HighLevel.Location.ID+"&limit=5", token, nil)
}

func TestAdmin_HealthAndOwnSpec(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	r := e.do(t, "GET", "/__admin/health", "", nil)
	e.want(t, r, 200)
	if r.body["status"] != "ok" || r.body["time"] != "2026-03-01T12:00:00Z" {
		t.Fatalf("health: %v", r.body)
	}
	r = e.do(t, "GET", "/__admin/openapi.yaml", "", nil)
	e.want(t, r, 200)
	if !strings.HasPrefix(string(r.raw), "openapi: 3.0.3") || !strings.Contains(r.header.Get("Content-Type"), "yaml") {
		t.Fatalf("admin spec: %s %.40q", r.header.Get("Content-Type"), r.raw)
	}
	e.want(t, e.do(t, "GET", "/__admin/nope", "", nil), 404)
}

func TestAdmin_TokenAndLoopbackGuards(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{Admin: mock.AdminOptions{Token: "adm-s3cret"}})
	e.want(t, e.do(t, "GET", "/__admin/health", "", nil), 401)
	e.want(t, e.do(t, "GET", "/__admin/health", "wrong", nil), 401)
	e.want(t, e.do(t, "GET", "/__admin/health", "adm-s3cret", nil), 200)
	// The dashboard's files hold no data and load without the token; what
	// they read asks for it.
	e.want(t, e.do(t, "GET", "/__admin/ui", "", nil), 200)
	e.want(t, e.do(t, "GET", "/__admin/ui/app.js", "", nil), 200)
	e.want(t, e.do(t, "GET", "/__admin/requests/stream", "", nil), 401)
	e.want(t, e.do(t, "GET", "/__admin/state/overview", "", nil), 401)
	e.want(t, e.do(t, "GET", "/__admin/sync/status", "", nil), 401)
	e.want(t, e.do(t, "GET", "/__admin/sync/status", "adm-s3cret", nil), 404) // no sync attached

	// A client that is not on loopback is refused unless allowed.
	for _, remote := range []bool{false, true} {
		e := newAdmTwin(t, mock.Options{Admin: mock.AdminOptions{Remote: remote}})
		req := httptest.NewRequest("GET", "/__admin/health", nil)
		req.RemoteAddr = "203.0.113.9:5555"
		rec := httptest.NewRecorder()
		e.srv.HighLevel.Handler().ServeHTTP(rec, req)
		want := http.StatusForbidden
		if remote {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Fatalf("remote allowed=%v: status %d, want %d", remote, rec.Code, want)
		}
	}
}

func TestAdmin_StateExportImportAndReset(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	loc := e.srv.Defaults().HighLevel.Location.ID
	c := e.do(t, "POST", "/contacts/", e.token, map[string]any{"locationId": loc, "email": "a@example.com"})
	e.want(t, c, 201)
	id := c.body["contact"].(map[string]any)["id"].(string)
	e.want(t, e.do(t, "POST", "/contacts/"+id+"/notes", e.token, map[string]any{"body": "n"}), 201)

	exported := e.do(t, "GET", "/__admin/state", "", nil)
	e.want(t, exported, 200)
	e.want(t, e.do(t, "POST", "/__admin/reset", "", nil), 200)
	e.want(t, e.do(t, "GET", "/contacts/"+id, e.token, nil), 404)

	var state map[string]any
	if err := json.Unmarshal(exported.raw, &state); err != nil {
		t.Fatal(err)
	}
	imp := e.do(t, "PUT", "/__admin/state", "", state)
	e.want(t, imp, 200)
	if imp.body["contacts"] != 1.0 || imp.body["notes"] != 1.0 {
		t.Fatalf("import counts: %v", imp.body)
	}
	e.want(t, e.do(t, "GET", "/contacts/"+id, e.token, nil), 200)

	// A note whose contact is missing is refused, and nothing changes.
	state["contacts"] = []any{}
	bad := e.do(t, "PUT", "/__admin/state", "", state)
	e.want(t, bad, 422)
	e.want(t, e.do(t, "GET", "/contacts/"+id, e.token, nil), 200)
}

func TestAdmin_MintTokens(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	loc := e.srv.Defaults().HighLevel.Location.ID
	r := e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": loc, "scopes": []string{"contacts.readonly"}, "expiresIn": 60})
	e.want(t, r, 201)
	tok := r.body["token"].(string)
	e.want(t, e.listContacts(t, tok), 200)
	denied := e.do(t, "POST", "/contacts/", tok, map[string]any{"locationId": loc})
	e.want(t, denied, 401)
	if denied.body["message"] != "The token is not authorized for this scope." {
		t.Fatalf("scope denial: %v", denied.body)
	}
	e.clk.Advance(61 * time.Second)
	expired := e.listContacts(t, tok)
	e.want(t, expired, 401)
	if !strings.Contains(expired.body["message"].(string), "expired") {
		t.Fatalf("expired token: %v", expired.body)
	}

	pit := e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": loc, "scopes": []string{"contacts.readonly"},
		"type": "private-integration", "expiresIn": -1})
	e.want(t, pit, 201)
	if !strings.HasPrefix(pit.body["token"].(string), "pit-") || pit.body["expiresAt"] != nil {
		t.Fatalf("pit: %v", pit.body)
	}
	e.clk.Advance(1000 * time.Hour)
	e.want(t, e.listContacts(t, pit.body["token"].(string)), 200)
	e.want(t, e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": "nope", "scopes": []string{}}), 404)
}

func TestAdmin_ScopeDeniedStatusCanBe403(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{HighLevel: mock.HighLevelOptions{Auth: mock.AuthOptions{ScopeDeniedStatus: 403}}})
	r := e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": e.srv.Defaults().HighLevel.Location.ID, "scopes": []string{"contacts.readonly"}})
	e.want(t, e.do(t, "POST", "/contacts/", r.body["token"].(string), map[string]any{"locationId": e.srv.Defaults().HighLevel.Location.ID}), 403)
}

func TestAdmin_RateLimitsAndRetryAfter(t *testing.T) {
	t.Parallel()
	lim := limits.DefaultConfig()
	lim.Burst = 3
	e := newAdmTwin(t, mock.Options{HighLevel: mock.HighLevelOptions{Limits: &lim}})
	for i := range 3 {
		r := e.listContacts(t, e.token)
		e.want(t, r, 200)
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("request %d: X-RateLimit-Remaining %q", i, got)
		}
		if r.header.Get("X-RateLimit-Max") != "3" || r.header.Get("X-RateLimit-Interval-Milliseconds") != "10000" ||
			r.header.Get("X-RateLimit-Limit-Daily") != "200000" || r.header.Get("X-RateLimit-Daily-Remaining") != strconv.Itoa(199999-i) {
			t.Fatalf("request %d: headers %v", i, r.header)
		}
	}
	e.clk.Advance(4 * time.Second)
	over := e.listContacts(t, e.token)
	e.want(t, over, 429)
	if over.header.Get("Retry-After") != "6" || over.body["message"] != "Too Many Requests" {
		t.Fatalf("429: Retry-After %q, body %v", over.header.Get("Retry-After"), over.body)
	}
	e.clk.Advance(6 * time.Second)
	e.want(t, e.listContacts(t, e.token), 200)

	// The admin API shows the bucket and changes the settings.
	got := e.do(t, "GET", "/__admin/limits", "", nil)
	e.want(t, got, 200)
	if b := got.body["buckets"].([]any); len(b) != 1 {
		t.Fatalf("buckets: %v", got.body)
	}
	lim.Enabled = false
	e.want(t, e.do(t, "PUT", "/__admin/limits", "", lim), 200)
	if r := e.listContacts(t, e.token); r.header.Get("X-RateLimit-Max") != "" {
		t.Fatalf("limits off but headers sent: %v", r.header)
	}
	e.want(t, e.do(t, "PUT", "/__admin/limits", "", map[string]any{"enabled": true, "burst": 0, "interval": "10s", "daily": 5}), 422)
}

func TestAdmin_FaultsApplyToExactlyTheMatchingRequests(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	loc := e.srv.Defaults().HighLevel.Location.ID
	r := e.do(t, "POST", "/__admin/faults", "", map[string]any{
		"match":  map[string]any{"operation": "create-contact"},
		"effect": map[string]any{"kind": "error", "status": 503, "body": map[string]any{"statusCode": 503, "message": "down"}},
		"times":  2,
	})
	e.want(t, r, 201)
	id := r.body["id"].(string)
	for i := range 3 {
		got := e.do(t, "POST", "/contacts/", e.token, map[string]any{"locationId": loc, "email": "f" + strconv.Itoa(i) + "@example.com"})
		want := 503
		if i == 2 {
			want = 201
		}
		e.want(t, got, want)
		e.want(t, e.listContacts(t, e.token), 200) // not matched
	}
	list := e.do(t, "GET", "/__admin/faults", "", nil)
	if f := list.body["faults"].([]any)[0].(map[string]any); f["applied"] != 2.0 {
		t.Fatalf("fault after use: %v", f)
	}
	count := e.do(t, "POST", "/__admin/requests/count", "", map[string]any{"operation": "create-contact", "status": 503})
	if count.body["count"] != 2.0 {
		t.Fatalf("journal count of faulted requests: %v", count.body)
	}
	e.want(t, e.do(t, "DELETE", "/__admin/faults/"+id, "", nil), 200)
	e.want(t, e.do(t, "DELETE", "/__admin/faults/"+id, "", nil), 404)
	e.want(t, e.do(t, "POST", "/__admin/faults", "", map[string]any{"match": map[string]any{}, "effect": map[string]any{"kind": "error"}}), 422)
}

func TestAdmin_JournalFiltersAndNeverKeepsSecrets(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{Journal: mock.JournalOptions{Size: 5}})
	app := e.srv.Defaults().HighLevel.App
	// Secrets travel in headers, bodies and forms.
	form := "client_id=" + app.ClientID + "&client_secret=" + app.ClientSecret + "&grant_type=client_credentials"
	req, _ := http.NewRequest("POST", e.srv.HighLevel.URL()+"/oauth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.srv.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	e.want(t, e.listContacts(t, tok.AccessToken), 200)
	for range 8 {
		e.listContacts(t, e.token)
	}
	all := e.do(t, "GET", "/__admin/requests", "", nil)
	if n := len(all.body["requests"].([]any)); n != 5 || all.body["total"] != 5.0 {
		t.Fatalf("journal of size 5 holds %d (total %v)", n, all.body["total"])
	}
	ops := e.do(t, "GET", "/__admin/requests?operation=get-contacts&limit=2", "", nil)
	if n := len(ops.body["requests"].([]any)); n != 2 || ops.body["total"] != 5.0 {
		t.Fatalf("filtered: %d of %v", n, ops.body["total"])
	}
	for _, secret := range []string{app.ClientSecret, tok.AccessToken, e.token} {
		if strings.Contains(string(all.raw), secret) {
			t.Fatalf("journal holds a secret %q", secret)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Fatalf("logs hold a secret %q", secret)
		}
	}
	cleared := e.do(t, "DELETE", "/__admin/requests", "", nil)
	if cleared.body["cleared"] != 5.0 {
		t.Fatalf("cleared: %v", cleared.body)
	}
	if after := e.do(t, "GET", "/__admin/requests", "", nil); after.body["total"] != 0.0 {
		t.Fatalf("after clear: %v", after.body)
	}
}

func TestAdmin_Clock(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	r := e.do(t, "POST", "/__admin/clock", "", map[string]any{"advance": "90s"})
	e.want(t, r, 200)
	if r.body["now"] != "2026-03-01T12:01:30Z" || r.body["frozen"] != true {
		t.Fatalf("clock: %v", r.body)
	}
	e.want(t, e.do(t, "POST", "/__admin/clock", "", map[string]any{"advance": "-1s"}), 422)
	e.want(t, e.do(t, "POST", "/__admin/clock", "", map[string]any{"set": "2020-01-01T00:00:00Z"}), 422)

	real, err := mock.NewServer(mock.Options{NoListener: true, Strict: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", real.HighLevel.URL()+"/__admin/clock", strings.NewReader(`{"advance":"1s"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := real.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("moving a real clock: %d", res.StatusCode)
	}
}

func TestOAuth_RefusesUnknownLocations(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	app := e.srv.Defaults().HighLevel.App
	q := "response_type=code&client_id=" + app.ClientID + "&redirect_uri=" + app.RedirectURIs[0] + "&location_id=nowhere"
	req, _ := http.NewRequest("GET", e.srv.HighLevel.URL()+"/oauth/chooselocation?"+q, nil)
	noFollow := e.srv.HighLevel.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.Contains(loc, "error=invalid_request") || strings.Contains(loc, "code=") {
		t.Fatalf("unknown location: %d %s", res.StatusCode, loc)
	}
	form := "client_id=" + app.ClientID + "&client_secret=" + app.ClientSecret + "&grant_type=client_credentials&location_id=nowhere"
	req, _ = http.NewRequest("POST", e.srv.HighLevel.URL()+"/oauth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = e.srv.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("client_credentials for an unknown location: %d", res.StatusCode)
	}
}

func TestServer_LoadsAStateFileAndResetsToIt(t *testing.T) {
	t.Parallel()
	src, loc, exported := exportThreeContacts(t)
	path := t.TempDir() + "/state.json"
	if err := os.WriteFile(path, exported.raw, 0o600); err != nil {
		t.Fatal(err)
	}
	// Same seed: the same default location, so the token fits the loaded contacts.
	e := newAdmTwin(t, mock.Options{Seed: 3, StateFile: path})
	list := e.listContacts(t, e.token)
	if list.body["count"] != 3.0 {
		t.Fatalf("loaded state: %v", list.body["count"])
	}
	e.want(t, e.do(t, "POST", "/contacts/", e.token, map[string]any{"locationId": loc, "email": "new@example.com"}), 201)
	e.want(t, e.do(t, "POST", "/__admin/reset", "", nil), 200)
	if again := e.listContacts(t, e.token); again.body["count"] != 3.0 {
		t.Fatalf("reset goes back to the loaded state: %v", again.body["count"])
	}
	// Another seed: the default credentials are for the file's location and
	// account, not for new empty ones.
	other := newAdmTwin(t, mock.Options{Seed: 4, StateFile: path})
	if got := other.srv.Defaults(); got.HighLevel.Location.ID != loc || got.HighLevel.App.Location != loc ||
		got.M360.Account.ID != src.srv.Defaults().M360.Account.ID {
		t.Errorf("defaults with another seed: location %s, app on %s, account %d; want the file's %s and %d",
			got.HighLevel.Location.ID, got.HighLevel.App.Location, got.M360.Account.ID, loc, src.srv.Defaults().M360.Account.ID)
	}
	if list := other.listContacts(t, other.token); list.body["count"] != 3.0 {
		t.Fatalf("the default token with another seed sees %v contacts, want the file's 3", list.body["count"])
	}
	if _, err := mock.NewServer(mock.Options{NoListener: true, StateFile: path + ".missing"}); err == nil {
		t.Fatal("missing state file: no error")
	}
}

// TestLimits_CountRequestsRefusedForScope: a request refused for its scope or
// permission was authenticated, so it counts and carries the quota headers.
func TestLimits_CountRequestsRefusedForScope(t *testing.T) {
	t.Parallel()
	lim, leaky := limits.DefaultConfig(), limits.DefaultLeakyConfig()
	e := newAdmTwin(t, mock.Options{HighLevel: mock.HighLevelOptions{Limits: &lim}, M360: mock.M360Options{Limits: &leaky}})
	loc := e.srv.Defaults().HighLevel.Location.ID
	tok := e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": loc, "scopes": []string{"contacts.readonly"}})
	denied := e.do(t, "POST", "/contacts/", tok.body["token"].(string), map[string]any{"locationId": loc})
	e.want(t, denied, 401)
	if denied.header.Get("X-RateLimit-Remaining") != "99" {
		t.Fatalf("HighLevel scope denial: headers %v", denied.header)
	}

	key := e.do(t, "POST", "/__admin/m360/keys", "", map[string]any{"accountId": e.srv.Defaults().M360.Account.ID, "permissions": []string{"contacts:read"}})
	e.want(t, key, 201)
	req, _ := http.NewRequest("POST", e.srv.M360.URL()+"/v1/contacts", strings.NewReader(`{"firstName":"Ada"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key.body["clientId"].(string), key.body["clientSecret"].(string))
	res, err := e.srv.HighLevel.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("X-Rate-Limit-Remaining") != "4" {
		t.Fatalf("Marketing 360 permission denial: %d %v", res.StatusCode, res.Header)
	}
}

func TestServer_DataHookLoadsAtStartAndOnReset(t *testing.T) {
	t.Parallel()
	calls := 0
	e := newAdmTwin(t, mock.Options{Data: func(loc store.Location, acct store.M360Account) (store.State, error) {
		calls++
		at := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
		return store.State{Contacts: []store.Contact{{ID: "dataContact0000000001", LocationID: loc.ID, Email: "d@example.com", DateAdded: at, DateUpdated: at}},
			M360Contacts: []store.M360Contact{{ID: 5001, AccountID: acct.ID, Email: "d@example.com", Created: at.Unix(), Updated: at.Unix()}}}, nil
	}})
	if got := e.listContacts(t, e.token); got.body["count"] != 1.0 {
		t.Fatalf("generated data not loaded: %v", got.body)
	}
	key := e.srv.Defaults().M360.Key
	for _, path := range []string{"/v1/account", "/v1/contacts/5001"} {
		req, _ := http.NewRequest("GET", e.srv.M360.URL()+path, nil)
		req.SetBasicAuth(key.ClientID, key.ClientSecret)
		res, err := e.srv.HighLevel.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s after loading data: %d", path, res.StatusCode)
		}
	}
	e.want(t, e.do(t, "DELETE", "/contacts/dataContact0000000001", e.token, nil), 200)
	e.want(t, e.do(t, "POST", "/__admin/reset", "", nil), 200)
	if got := e.listContacts(t, e.token); got.body["count"] != 1.0 || calls != 2 {
		t.Fatalf("reset did not load the data again: %v (calls %d)", got.body["count"], calls)
	}
}

// TestAdmin_ResetUnderLoad: resets running next to requests never show an
// empty twin or an unknown token, and concurrent resets all succeed.
func TestAdmin_ResetUnderLoad(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{Data: func(loc store.Location, _ store.M360Account) (store.State, error) {
		at := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
		return store.State{Contacts: []store.Contact{{ID: "resetContact00000001", LocationID: loc.ID, DateAdded: at, DateUpdated: at}}}, nil
	}})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if r := e.do(t, "POST", "/__admin/reset", "", nil); r.status != 200 {
					t.Errorf("reset: %d %s", r.status, r.raw)
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				r := e.listContacts(t, e.token)
				if r.status != 200 || r.body["count"] != 1.0 {
					t.Errorf("during resets: %d %v", r.status, r.body["count"])
				}
			}
		}()
	}
	wg.Wait()
}

func TestAdmin_SettingsEdges(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	// dailyReset left out means utc; the settings read back in strict mode.
	e.want(t, e.do(t, "PUT", "/__admin/limits", "", map[string]any{"enabled": true, "burst": 1, "interval": "10s", "daily": 1, "retryAfter": true}), 200)
	if got := e.do(t, "GET", "/__admin/limits", "", nil); got.body["config"].(map[string]any)["dailyReset"] != "utc" {
		t.Fatalf("limits: %s", got.raw)
	}
	e.want(t, e.do(t, "PUT", "/__admin/limits", "", map[string]any{"enabled": true, "burst": 1, "interval": "10s", "daily": 1}), 422)
	e.want(t, e.do(t, "PUT", "/__admin/m360/limits", "", map[string]any{"enabled": true, "perSecond": 1e-300, "capacity": 1, "retryAfter": true}), 422)
	e.want(t, e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": e.srv.Defaults().HighLevel.Location.ID, "scopes": []string{}, "expiresIn": 9223372037}), 422)
}

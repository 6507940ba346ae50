package adminapi_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/adminapi"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

const adminToken = "admin-secret"

// newTwin starts an in-process, strict twin with a frozen clock and an
// admin token, and returns it with a client of its admin API.
func newTwin(t *testing.T) (*mock.Server, *adminapi.Client) {
	t.Helper()
	srv, err := mock.NewServer(mock.Options{NoListener: true, Strict: true, Seed: 1,
		Admin: mock.AdminOptions{Token: adminToken}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, &adminapi.Client{BaseURL: srv.URL() + "/", Token: adminToken, HTTPClient: srv.Client()}
}

// getHighLevel sends GET path to the HighLevel twin with token and returns
// the status.
func getHighLevel(t *testing.T, srv *mock.Server, path, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Version", "2021-07-28")
	return send(t, srv, req)
}

// send sends req to the twin and returns the status.
func send(t *testing.T, srv *mock.Server, req *http.Request) int {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// statusOf returns the status of an *adminapi.Error, or fails.
func statusOf(t *testing.T, err error) *adminapi.Error {
	t.Helper()
	var ae *adminapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *adminapi.Error", err, err)
	}
	return ae
}

func TestClient_HealthStateAndReset(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	ctx := t.Context()
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.LocationID != srv.DefaultLocation().ID || h.M360AccountID != srv.DefaultM360Account().ID ||
		h.Time.IsZero() {
		t.Errorf("health: %+v", h)
	}
	spec, err := c.OpenAPI(ctx)
	if err != nil || !strings.Contains(string(spec), "operationId: admin-health") {
		t.Fatalf("openapi: %v, %.80q", err, spec)
	}

	var st store.State
	if err := c.ExportState(ctx, &st); err != nil {
		t.Fatal(err)
	}
	loc := srv.DefaultLocation().ID
	st.Contacts = append(st.Contacts, store.Contact{ID: "c1", LocationID: loc, FirstName: "Ada", DateAdded: time.Now().UTC()},
		store.Contact{ID: "c2", LocationID: loc, FirstName: "Grace", DateAdded: time.Now().UTC()})
	n, err := c.ImportState(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if n.Contacts != 2 || n.Locations != len(st.Locations) {
		t.Errorf("import counts: %+v", n)
	}
	st.Contacts = st.Contacts[:1]
	if n, err = c.ImportStateQuietly(ctx, st); err != nil || n.Contacts != 1 {
		t.Fatalf("quiet import: %+v, %v", n, err)
	}
	var back store.State
	if err := c.ExportState(ctx, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Contacts) != 1 || back.Contacts[0].FirstName != "Ada" {
		t.Errorf("exported contacts: %+v", back.Contacts)
	}

	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err = c.Health(ctx); err != nil || h.Contacts != 0 {
		t.Errorf("after reset: %+v, %v", h, err)
	}
}

func TestClient_TokensAppsAndKeys(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	ctx := t.Context()
	loc := srv.DefaultLocation().ID
	tok, err := c.MintToken(ctx, adminapi.TokenRequest{LocationID: loc, Scopes: []string{"contacts.readonly"},
		Type: adminapi.TokenPrivateIntegration, ExpiresIn: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, "pit-") || tok.Type != adminapi.TokenPrivateIntegration || tok.LocationID != loc ||
		tok.ExpiresAt != nil {
		t.Errorf("token: %+v", tok)
	}
	if status := getHighLevel(t, srv, "/contacts/?locationId="+loc, tok.Token); status != http.StatusOK {
		t.Errorf("the minted token lists contacts with %d", status)
	}
	oauth, err := c.MintToken(ctx, adminapi.TokenRequest{LocationID: loc})
	if err != nil || oauth.Type != adminapi.TokenOAuth || oauth.ExpiresAt == nil || len(oauth.Scopes) != 0 {
		t.Errorf("oauth token: %+v, %v", oauth, err)
	}
	_, err = c.MintToken(ctx, adminapi.TokenRequest{LocationID: "nowhere"})
	if ae := statusOf(t, err); ae.StatusCode != http.StatusNotFound || ae.Path != "/__admin/tokens" || ae.Method != http.MethodPost {
		t.Errorf("unknown location: %v", err)
	}

	app := adminapi.App{ClientID: "app1-x", ClientSecret: "s", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Location: loc}
	put, err := c.PutApp(ctx, app)
	if err != nil || put.ClientID != app.ClientID || put.Scopes == nil {
		t.Fatalf("put app: %+v, %v", put, err)
	}
	apps, err := c.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range apps {
		found = found || a.ClientID == app.ClientID
	}
	if !found {
		t.Errorf("apps %+v lack %s", apps, app.ClientID)
	}
	_, err = c.PutApp(ctx, adminapi.App{ClientID: "bad"})
	if ae := statusOf(t, err); ae.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(ae.Message, "clientSecret") {
		t.Errorf("app without secret: %v", err)
	}

	key, err := c.MintM360Key(ctx, adminapi.M360Key{AccountID: srv.DefaultM360Account().ID, Permissions: []string{"contacts:read"}})
	if err != nil || !strings.HasPrefix(key.ClientID, "m360_") || key.ClientSecret == "" {
		t.Fatalf("m360 key: %+v, %v", key, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.M360URL()+"/v1/contacts", nil)
	req.SetBasicAuth(key.ClientID, key.ClientSecret)
	if status := send(t, srv, req); status != http.StatusOK {
		t.Errorf("the minted key lists contacts with %d", status)
	}
}

func TestClient_FaultsJournalAndClock(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	ctx := t.Context()
	rule, err := c.AddFault(ctx, adminapi.FaultRule{Match: adminapi.FaultMatch{Operation: "get-contact"},
		Effect: adminapi.FaultEffect{Kind: adminapi.FaultError, Status: 503, Body: json.RawMessage(`{"message":"down"}`)}, Times: 2})
	if err != nil || rule.ID == "" {
		t.Fatalf("add fault: %+v, %v", rule, err)
	}
	if _, err := c.AddFault(ctx, adminapi.FaultRule{Effect: adminapi.FaultEffect{Kind: adminapi.FaultLatency,
		Latency: &adminapi.Latency{Distribution: "fixed", Fixed: "5ms"}}}); err != nil {
		t.Fatal(err)
	}
	rules, err := c.Faults(ctx)
	if err != nil || len(rules) != 2 || rules[0].ID != rule.ID || rules[0].Effect.Status != 503 || rules[1].Effect.Latency.Fixed != "5ms" {
		t.Fatalf("faults: %+v, %v", rules, err)
	}
	if err := c.DeleteFault(ctx, rule.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteFault(ctx, rule.ID)
	if ae := statusOf(t, err); ae.StatusCode != http.StatusNotFound || !strings.Contains(ae.Message, rule.ID) ||
		!strings.Contains(err.Error(), "404") {
		t.Errorf("second delete: %v", err)
	}
	if n, err := c.ClearFaults(ctx); err != nil || n != 1 {
		t.Errorf("clear faults: %d, %v", n, err)
	}

	for _, id := range []string{"missing1", "missing2"} {
		if status := getHighLevel(t, srv, "/contacts/"+id, srv.DefaultToken()); status != http.StatusNotFound {
			t.Fatalf("GET /contacts/%s: %d", id, status)
		}
	}
	entries, total, err := c.Requests(ctx, adminapi.RequestFilter{Method: http.MethodGet, Path: "/contacts/*", Status: 404}, 1)
	if err != nil || total != 2 || len(entries) != 1 || entries[0].Path != "/contacts/missing2" || entries[0].Operation != "get-contact" {
		t.Fatalf("requests: %d %+v, %v", total, entries, err)
	}
	if got := entries[0].RequestHeaders.Get("Authorization"); strings.Contains(got, srv.DefaultToken()) {
		t.Errorf("the journal holds the token: %q", got)
	}
	n, err := c.CountRequests(ctx, adminapi.RequestFilter{Operation: "get-contact", Since: entries[0].Time.Add(-time.Hour)})
	if err != nil || n != 2 {
		t.Errorf("count: %d, %v", n, err)
	}
	if later, total, err := c.Requests(ctx, adminapi.RequestFilter{Since: entries[0].Time.Add(time.Hour)}, 0); err != nil ||
		total != 0 || len(later) != 0 {
		t.Errorf("requests since later: %d %+v, %v", total, later, err)
	}
	if n, err := c.ClearRequests(ctx); err != nil || n != 2 {
		t.Errorf("clear requests: %d, %v", n, err)
	}

	clk, err := c.Clock(ctx)
	if err != nil || !clk.Frozen {
		t.Fatalf("clock: %+v, %v", clk, err)
	}
	moved, err := c.AdvanceClock(ctx, 90*time.Second)
	if err != nil || !moved.Now.Equal(clk.Now.Add(90*time.Second)) {
		t.Errorf("advance: %+v, %v", moved, err)
	}
	at := moved.Now.Add(time.Hour)
	if set, err := c.SetClock(ctx, at); err != nil || !set.Now.Equal(at) {
		t.Errorf("set: %+v, %v", set, err)
	}
	_, err = c.SetClock(ctx, clk.Now)
	if ae := statusOf(t, err); ae.StatusCode != http.StatusUnprocessableEntity || ae.Message != "set must not move the clock back" {
		t.Errorf("clock back: %v", err)
	}
}

func TestClient_Errors(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	for _, tc := range []struct {
		name   string
		client *adminapi.Client
		status int
	}{
		{"no token", &adminapi.Client{BaseURL: srv.URL(), HTTPClient: srv.Client()}, http.StatusUnauthorized},
		{"wrong token", &adminapi.Client{BaseURL: srv.URL(), Token: "nope", HTTPClient: srv.Client()}, http.StatusUnauthorized},
		{"not a twin", &adminapi.Client{BaseURL: srv.URL() + "/elsewhere", Token: adminToken, HTTPClient: srv.Client()}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.client.Health(t.Context())
			if ae := statusOf(t, err); ae.StatusCode != tc.status || ae.Message == "" {
				t.Errorf("%v, want %d with a message", err, tc.status)
			}
		})
	}
	if err := c.ExportState(t.Context(), new(int)); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("undecodable answer: %v", err)
	}
	unreachable := &adminapi.Client{BaseURL: "http://127.0.0.1:1"}
	if _, err := unreachable.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "GET /__admin/health") {
		t.Errorf("unreachable: %v", err)
	}
}

package adminapi_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/adminapi"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

const adminToken = "admin-secret"

// newTwin starts an in-process, strict twin with a frozen clock and an
// admin token, and returns it with a client of its admin API.
func newTwin(t *testing.T) (*mock.Server, *adminapi.Client) {
	t.Helper()
	return newTwinWith(t, mock.Options{})
}

// newTwinWith is newTwin with more options.
func newTwinWith(t *testing.T, opts mock.Options) (*mock.Server, *adminapi.Client) {
	t.Helper()
	opts.NoListener, opts.Strict, opts.Seed = true, true, 1
	opts.Admin.Token, opts.Logger = adminToken, slog.New(slog.DiscardHandler)
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, &adminapi.Client{BaseURL: srv.HighLevel.URL() + "/", Token: adminToken, HTTPClient: srv.HighLevel.Client()}
}

// getHighLevel sends GET path to the HighLevel twin with token and returns
// the status.
func getHighLevel(t *testing.T, srv *mock.Server, path, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.HighLevel.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Version", "2021-07-28")
	return send(t, srv, req)
}

// send sends req to the twin and returns the status.
func send(t *testing.T, srv *mock.Server, req *http.Request) int {
	t.Helper()
	res, err := srv.HighLevel.Client().Do(req)
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
	if h.Status != "ok" || h.LocationID != srv.Defaults().HighLevel.Location.ID || h.M360AccountID != srv.Defaults().M360.Account.ID ||
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
	loc := srv.Defaults().HighLevel.Location.ID
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
	loc := srv.Defaults().HighLevel.Location.ID
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

	key, err := c.MintM360Key(ctx, adminapi.M360Key{AccountID: srv.Defaults().M360.Account.ID, Permissions: []string{"contacts:read"}})
	if err != nil || !strings.HasPrefix(key.ClientID, "m360_") || key.ClientSecret == "" {
		t.Fatalf("m360 key: %+v, %v", key, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.M360.URL()+"/v1/contacts", nil)
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
		if status := getHighLevel(t, srv, "/contacts/"+id, srv.Defaults().HighLevel.Token); status != http.StatusNotFound {
			t.Fatalf("GET /contacts/%s: %d", id, status)
		}
	}
	entries, total, err := c.Requests(ctx, adminapi.RequestFilter{Method: http.MethodGet, Path: "/contacts/*", Status: 404}, 1)
	if err != nil || total != 2 || len(entries) != 1 || entries[0].Path != "/contacts/missing2" || entries[0].Operation != "get-contact" {
		t.Fatalf("requests: %d %+v, %v", total, entries, err)
	}
	if got := entries[0].RequestHeaders.Get("Authorization"); strings.Contains(got, srv.Defaults().HighLevel.Token) {
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
		{"no token", &adminapi.Client{BaseURL: srv.HighLevel.URL(), HTTPClient: srv.HighLevel.Client()}, http.StatusUnauthorized},
		{"wrong token", &adminapi.Client{BaseURL: srv.HighLevel.URL(), Token: "nope", HTTPClient: srv.HighLevel.Client()}, http.StatusUnauthorized},
		{"not a twin", &adminapi.Client{BaseURL: srv.HighLevel.URL() + "/elsewhere", Token: adminToken, HTTPClient: srv.HighLevel.Client()}, http.StatusNotFound},
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

func TestClient_Limits(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	ctx := t.Context()
	set, err := c.SetLimits(ctx, adminapi.LimitsConfig{Limit: adminapi.Limit{Enabled: true, Burst: 2, Interval: "10s", Daily: 50},
		RetryAfter: true, Locations: map[string]adminapi.Limit{"elsewhere": {Enabled: false, Burst: 1, Interval: "1s", Daily: 1}}})
	if err != nil || set.Config.Burst != 2 || set.Config.Interval != "10s" || !set.Config.RetryAfter || len(set.Config.Locations) != 1 {
		t.Fatalf("set limits: %+v, %v", set, err)
	}
	if status := getHighLevel(t, srv, "/contacts/?locationId="+srv.Defaults().HighLevel.Location.ID, srv.Defaults().HighLevel.Token); status != http.StatusOK {
		t.Fatalf("list: %d", status)
	}
	lim, err := c.Limits(ctx)
	if err != nil || len(lim.Buckets) != 1 || lim.Buckets[0].Max != 2 || lim.Buckets[0].Remaining != 1 || lim.Buckets[0].Daily != 50 ||
		lim.Buckets[0].LocationID != srv.Defaults().HighLevel.Location.ID {
		t.Errorf("limits: %+v, %v", lim, err)
	}
	_, err = c.SetLimits(ctx, adminapi.LimitsConfig{Limit: adminapi.Limit{Enabled: true, Burst: 2, Interval: "soon", Daily: 50}})
	if ae := statusOf(t, err); ae.StatusCode/100 != 4 || ae.Message == "" {
		t.Errorf("bad interval: %v", err)
	}

	m, err := c.SetM360Limits(ctx, adminapi.LeakyConfig{Enabled: true, PerSecond: 2, Capacity: 3, RetryAfter: true})
	if err != nil || m.Config.PerSecond != 2 || m.Config.Capacity != 3 {
		t.Fatalf("set m360 limits: %+v, %v", m, err)
	}
	key := srv.Defaults().M360.Key
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.M360.URL()+"/v1/contacts", nil)
	req.SetBasicAuth(key.ClientID, key.ClientSecret)
	if status := send(t, srv, req); status != http.StatusOK {
		t.Fatalf("m360 list: %d", status)
	}
	if m, err = c.M360Limits(ctx); err != nil || len(m.Buckets) != 1 || m.Buckets[0].Key != key.ClientID || m.Buckets[0].Remaining != 2 {
		t.Errorf("m360 limits: %+v, %v", m, err)
	}
}

func TestClient_Webhooks(t *testing.T) {
	t.Parallel()
	received := make(chan string, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.URL.Path
	}))
	t.Cleanup(rcv.Close)
	settled := make(chan adminapi.DeliveryFilter, 16)
	srv, c := newTwinWith(t, mock.Options{Webhooks: mock.WebhookOptions{Observe: func(d webhooks.Delivery) {
		if d.Status == webhooks.StatusDelivered {
			settled <- adminapi.DeliveryFilter{EventID: d.EventID}
		}
	}}})
	ctx := t.Context()

	keys, err := c.WebhookKeys(ctx)
	if err != nil || !strings.HasPrefix(keys.Ed25519, "-----BEGIN PUBLIC KEY-----") || keys.RSA != "" {
		t.Fatalf("keys: %+v, %v", keys, err)
	}
	ws, err := c.SetWebhookSettings(ctx, adminapi.WebhookSettings{RetryPolicy: "live", Drop: 0.5,
		DropEvents: []string{"ContactDndUpdate"}, Reorder: "1s"})
	if err != nil || ws.RetryPolicy != "live" || ws.Drop != 0.5 || !slices.Equal(ws.DropEvents, []string{"ContactDndUpdate"}) || ws.Reorder != "1s" {
		t.Fatalf("set the live policy and the loss: %+v, %v", ws, err)
	}
	ws, err = c.SetWebhookSettings(ctx, adminapi.WebhookSettings{Attempts: 2, Backoff: "3s"})
	if err != nil || ws.Attempts != 2 || ws.Backoff != "3s" || ws.Timeout != "10s" || ws.RetryPolicy != "twin" || ws.Drop != 0 {
		t.Fatalf("set settings: %+v, %v", ws, err)
	}
	if ws, err = c.WebhookSettings(ctx); err != nil || ws.Attempts != 2 {
		t.Errorf("settings: %+v, %v", ws, err)
	}
	_, err = c.SetWebhookSettings(ctx, adminapi.WebhookSettings{Duplicates: 2})
	if ae := statusOf(t, err); ae.StatusCode/100 != 4 {
		t.Errorf("duplicates 2: %v", err)
	}

	app := srv.Defaults().HighLevel.App.ClientID
	sub, err := c.SubscribeHighLevel(ctx, app, rcv.URL+"/hooks", []string{"ContactCreate"})
	if err != nil || sub.ClientID != app || sub.URL != rcv.URL+"/hooks" || !slices.Contains(sub.Locations, srv.Defaults().HighLevel.Location.ID) {
		t.Fatalf("subscribe: %+v, %v", sub, err)
	}
	_, err = c.SubscribeHighLevel(ctx, "nobody", rcv.URL, nil)
	if ae := statusOf(t, err); ae.StatusCode != http.StatusNotFound {
		t.Errorf("unknown app: %v", err)
	}

	loc := srv.Defaults().HighLevel.Location.ID
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.HighLevel.URL()+"/contacts/",
		strings.NewReader(`{"locationId":"`+loc+`","firstName":"Ada","email":"ada@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+srv.Defaults().HighLevel.Token)
	req.Header.Set("Version", "2021-07-28")
	req.Header.Set("Content-Type", "application/json")
	if status := send(t, srv, req); status != http.StatusCreated {
		t.Fatalf("create contact: %d", status)
	}
	first := receive(t, settled)
	if path := receive(t, received); path != "/hooks" {
		t.Errorf("delivered to %s", path)
	}

	list, total, err := c.Deliveries(ctx, adminapi.DeliveryFilter{Twin: "highlevel", Event: "ContactCreate",
		Status: adminapi.DeliveryDelivered, Subscription: app, EventID: first.EventID}, 1)
	if err != nil || total != 1 || len(list) != 1 || list[0].DeliveredAt == nil || len(list[0].Attempts) != 1 ||
		list[0].Attempts[0].Status != http.StatusOK || !strings.Contains(string(list[0].Body), `"Ada"`) {
		t.Fatalf("deliveries: %d %+v, %v", total, list, err)
	}
	d, err := c.Delivery(ctx, list[0].ID)
	if err != nil || d.ID != list[0].ID || d.EventID != first.EventID || !strings.HasPrefix(d.Resource, "contact/") {
		t.Errorf("delivery: %+v, %v", d, err)
	}
	again, err := c.Redeliver(ctx, d.ID)
	if err != nil || again.RedeliveryOf != d.ID || again.EventID != d.EventID || again.ID == d.ID {
		t.Errorf("redeliver: %+v, %v", again, err)
	}
	receive(t, settled)
	receive(t, received)
	// Both deliveries of the event, the redelivery too, are sent again.
	bulk, err := c.RedeliverMatching(ctx, adminapi.DeliveryFilter{EventID: first.EventID, Since: d.CreatedAt})
	if err != nil || len(bulk) != 2 || bulk[0].RedeliveryOf != d.ID || bulk[1].RedeliveryOf != again.ID {
		t.Errorf("redeliver matching: %+v, %v", bulk, err)
	}
	for range bulk {
		receive(t, settled)
		receive(t, received)
	}
	if _, total, err := c.Deliveries(ctx, adminapi.DeliveryFilter{EventID: first.EventID, Since: d.CreatedAt}, 0); err != nil || total != 4 {
		t.Errorf("deliveries of the event since the first: %d, %v", total, err)
	}
	_, err = c.Delivery(ctx, "wh_none")
	if ae := statusOf(t, err); ae.StatusCode != http.StatusNotFound {
		t.Errorf("unknown delivery: %v", err)
	}

	un, err := c.UninstallApp(ctx, app, loc)
	if err != nil || un.ClientID != app || un.LocationID != loc {
		t.Errorf("uninstall: %+v, %v", un, err)
	}
	_, err = c.UninstallApp(ctx, app, loc)
	if ae := statusOf(t, err); ae.StatusCode != http.StatusNotFound {
		t.Errorf("a second uninstall: %v", err)
	}
	if err := c.UnsubscribeHighLevel(ctx, app); err != nil {
		t.Fatal(err)
	}
	apps, err := c.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.ClientID == app && a.WebhookURL != "" {
			t.Errorf("still subscribed: %+v", a)
		}
	}
}

// receive returns the next value of ch, failing the test if none comes
// before the test's deadline or within a minute.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatal("nothing received within a minute")
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	var zero T
	return zero
}

func TestClient_FaultAfterTheHandler(t *testing.T) {
	t.Parallel()
	srv, c := newTwin(t)
	ctx := t.Context()
	rule, err := c.AddFault(ctx, adminapi.FaultRule{Match: adminapi.FaultMatch{Operation: "get-contact"},
		Effect: adminapi.FaultEffect{Kind: adminapi.FaultError, Status: http.StatusBadGateway, After: true}, Times: 1})
	if err != nil || !rule.Effect.After {
		t.Fatalf("add fault: %+v, %v", rule, err)
	}
	if status := getHighLevel(t, srv, "/contacts/missing", srv.Defaults().HighLevel.Token); status != http.StatusBadGateway {
		t.Fatalf("GET /contacts/missing: %d, want the fault's 502", status)
	}
	entries, _, err := c.Requests(ctx, adminapi.RequestFilter{Operation: "get-contact"}, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("requests: %+v, %v", entries, err)
	}
	if e := entries[0]; e.Status != http.StatusBadGateway || e.Fault != rule.ID || e.HandlerStatus != http.StatusNotFound {
		t.Errorf("journal: status %d fault %q handlerStatus %d, want 502 %q 404", e.Status, e.Fault, e.HandlerStatus, rule.ID)
	}
}

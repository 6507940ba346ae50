package admin_test

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

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

var t0 = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)

// newHandler serves api as the twin does: through a strict pipeline of the
// admin spec, behind the loopback guard. A nil Clock is a frozen one at t0.
func newHandler(t *testing.T, api *admin.API) http.Handler {
	t.Helper()
	spec, err := openapi.LoadAdmin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if api.Clock == nil {
		api.Clock = clock.NewManual(t0)
	}
	p, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: api.Handlers(), Auth: admin.TokenAuth{},
		RenderError: admin.RenderError, MapError: admin.MapError, Strict: true, Outer: []pipeline.Middleware{admin.Guard(admin.GuardOptions{Hosts: []string{"example.com"}})},
		Streamed: api.Streamed(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// answer is a decoded response.
type answer struct {
	status int
	body   map[string]any
	raw    string
}

// message is an error answer's message.
func (a answer) message() string { s, _ := a.body["message"].(string); return s }

// call sends one request from a loopback client; body is JSON unless "".
func call(t *testing.T, h http.Handler, method, target, body string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: %v: %s", method, target, err, a.raw)
		}
	}
	return a
}

// want fails unless a has status and, for errors, the admin envelope.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	if status >= 400 && (a.body["statusCode"] != float64(status) || a.body["error"] != http.StatusText(status)) {
		t.Fatalf("error envelope: %s", a.raw)
	}
	return a
}

func emptyState() store.State {
	return store.State{Locations: []store.Location{}, Contacts: []store.Contact{}, Tasks: []store.Task{},
		Notes: []store.Note{}, Appointments: []store.Appointment{}}
}

func TestAPI_Health(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &admin.API{
		Store:           &FakeStore{StatsFn: func() store.Stats { return store.Stats{Contacts: 7} }},
		Journal:         &FakeJournal{LenFn: func() int { return 3 }},
		Faults:          &FakeFaults{ListFn: func() []faults.Rule { return []faults.Rule{{ID: "a"}, {ID: "b"}} }},
		DefaultLocation: "loc1", DefaultM360Account: 42,
	})
	a := call(t, h, http.MethodGet, "/__admin/health", "").want(t, http.StatusOK)
	for k, v := range map[string]any{"status": "ok", "contacts": 7.0, "journal": 3.0, "faults": 2.0, "locationId": "loc1",
		"m360AccountId": 42.0, "time": "2024-03-01T09:30:00Z"} {
		if a.body[k] != v {
			t.Errorf("%s: %v, want %v", k, a.body[k], v)
		}
	}
}

func TestAPI_OpenAPIServesTheSpecAsIs(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &admin.API{Spec: []byte("openapi: 3.0.3\n")})
	a := call(t, h, http.MethodGet, "/__admin/openapi.yaml", "").want(t, http.StatusOK)
	if a.raw != "openapi: 3.0.3\n" {
		t.Errorf("body %q", a.raw)
	}
}

func TestAPI_Reset(t *testing.T) {
	t.Parallel()
	calls := 0
	fail := false
	h := newHandler(t, &admin.API{Reset: func() error {
		calls++
		if fail {
			return errors.New("disk full")
		}
		return nil
	}})
	if a := call(t, h, http.MethodPost, "/__admin/reset", "").want(t, http.StatusOK); a.body["reset"] != true {
		t.Errorf("body %s", a.raw)
	}
	fail = true
	if a := call(t, h, http.MethodPost, "/__admin/reset", "").want(t, http.StatusInternalServerError); strings.Contains(a.raw, "disk full") {
		t.Errorf("the cause reached the client: %s", a.raw)
	}
	if calls != 2 {
		t.Errorf("Reset called %d times", calls)
	}
}

func TestAPI_ImportStateChoosesImportOrRestore(t *testing.T) {
	t.Parallel()
	var imported, restored []store.State
	fs := &FakeStore{
		ImportFn:  func(s store.State) error { imported = append(imported, s); return nil },
		RestoreFn: func(s store.State) error { restored = append(restored, s); return nil },
		StatsFn:   func() store.Stats { return store.Stats{Locations: 1, Contacts: 2, Tasks: 3, Notes: 4, Appointments: 5} },
	}
	h := newHandler(t, &admin.API{Store: fs})
	records := `"locations":[{"id":"L","name":"Main"}],"contacts":[{"id":"c1","locationId":"L","dateAdded":"2024-01-01T00:00:00Z","firstName":"Ada"}],"tasks":[],"notes":[],"appointments":[]`
	body := `{` + records + `,"webhooks":[{"clientId":"app","url":"https://hooks.example/hl"}]}`
	m360Only := `{` + records + `,"m360Webhooks":[{"id":1,"accountId":1001,"url":"https://hooks.example/m","events":["contact.created"],"secret":"s","created":1}]}`
	a := call(t, h, http.MethodPut, "/__admin/state", body).want(t, http.StatusOK)
	if a.body["contacts"] != 2.0 || a.body["appointments"] != 5.0 {
		t.Errorf("counts come from Stats: %s", a.raw)
	}
	call(t, h, http.MethodPut, "/__admin/state?events=false", body).want(t, http.StatusOK)
	call(t, h, http.MethodPut, "/__admin/state?events=true", body).want(t, http.StatusOK)
	call(t, h, http.MethodPut, "/__admin/state", m360Only).want(t, http.StatusOK)
	if len(imported) != 3 || len(restored) != 1 {
		t.Fatalf("imports %d, restores %d", len(imported), len(restored))
	}
	if c := restored[0].Contacts; len(c) != 1 || c[0].FirstName != "Ada" || c[0].LocationID != "L" {
		t.Errorf("restored %+v", restored[0])
	}
	// A state without subscriptions has nowhere to send its changes: it
	// is restored, events or not.
	call(t, h, http.MethodPut, "/__admin/state", `{`+records+`}`).want(t, http.StatusOK)
	if len(imported) != 3 || len(restored) != 2 {
		t.Errorf("a state without subscriptions: imports %d, restores %d, want 3 and 2", len(imported), len(restored))
	}
}

func TestAPI_ImportStateErrors(t *testing.T) {
	t.Parallel()
	refuse := func(store.State) error {
		return &store.InvalidError{Field: "contacts[0].locationId", Reason: "names no location"}
	}
	fs := &FakeStore{ImportFn: refuse, RestoreFn: refuse} // a state without subscriptions is restored
	h := newHandler(t, &admin.API{Store: fs})
	a := call(t, h, http.MethodPut, "/__admin/state", `{"locations":[],"contacts":[],"tasks":[],"notes":[],"appointments":[]}`).
		want(t, http.StatusUnprocessableEntity)
	if a.message() != "contacts[0].locationId names no location" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodPut, "/__admin/state", `{"locations":[]}`).want(t, http.StatusUnprocessableEntity)
	call(t, h, http.MethodPut, "/__admin/state", `{`).want(t, http.StatusBadRequest)
}

func TestAPI_ExportState(t *testing.T) {
	t.Parallel()
	st := emptyState()
	st.Locations = []store.Location{{ID: "L", Name: "Main"}}
	h := newHandler(t, &admin.API{Store: &FakeStore{SnapshotFn: func() store.State { return st }}})
	a := call(t, h, http.MethodGet, "/__admin/state", "").want(t, http.StatusOK)
	if locs, _ := a.body["locations"].([]any); len(locs) != 1 {
		t.Errorf("state %s", a.raw)
	}
}

func TestAPI_MintToken(t *testing.T) {
	t.Parallel()
	type minted struct {
		location string
		scopes   []string
		ttl      time.Duration
		pit      bool
	}
	var got []minted
	tokens := &FakeTokens{MintFn: func(location string, scopes []string, ttl time.Duration, pit bool) (string, auth.Principal) {
		got = append(got, minted{location, scopes, ttl, pit})
		p := auth.Principal{LocationID: location, Scopes: scopes}
		if ttl >= 0 {
			p.ExpiresAt = t0.Add(time.Hour)
		}
		return "tok", p
	}}
	fs := &FakeStore{LocationFn: func(id string) (store.Location, error) {
		if id != "L" {
			return store.Location{}, &store.NotFoundError{Kind: "Location", ID: id}
		}
		return store.Location{ID: id}, nil
	}}
	h := newHandler(t, &admin.API{Store: fs, Tokens: tokens})

	a := call(t, h, http.MethodPost, "/__admin/tokens", `{"locationId":"L","scopes":["contacts.readonly"],"expiresIn":90}`).
		want(t, http.StatusCreated)
	if a.body["type"] != "oauth" || a.body["token"] != "tok" || a.body["expiresAt"] != "2024-03-01T10:30:00Z" {
		t.Errorf("oauth token: %s", a.raw)
	}
	a = call(t, h, http.MethodPost, "/__admin/tokens", `{"locationId":"L","scopes":[],"type":"private-integration","expiresIn":-1}`).
		want(t, http.StatusCreated)
	if a.body["type"] != "private-integration" || a.body["expiresAt"] != nil {
		t.Errorf("private integration token: %s", a.raw)
	}
	want := []minted{{"L", []string{"contacts.readonly"}, 90 * time.Second, false}, {"L", []string{}, -time.Second, true}}
	if len(got) != len(want) {
		t.Fatalf("minted %+v", got)
	}
	for i := range want {
		if got[i].location != want[i].location || !slices.Equal(got[i].scopes, want[i].scopes) || got[i].ttl != want[i].ttl ||
			got[i].pit != want[i].pit {
			t.Errorf("mint %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	a = call(t, h, http.MethodPost, "/__admin/tokens", `{"locationId":"elsewhere","scopes":[]}`).want(t, http.StatusNotFound)
	if a.message() != "Location not found" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodPost, "/__admin/tokens", `{"locationId":"L","scopes":[],"type":"jwt"}`).want(t, http.StatusUnprocessableEntity)
	call(t, h, http.MethodPost, "/__admin/tokens", `{"locationId":"L","scopes":[],"expiresIn":-2}`).want(t, http.StatusUnprocessableEntity)
	if len(got) != 2 {
		t.Errorf("refused requests minted tokens: %+v", got)
	}
}

func TestAPI_Apps(t *testing.T) {
	t.Parallel()
	var put []auth.App
	var checked []auth.App
	tokens := &FakeTokens{
		PutAppFn: func(a auth.App) { put = append(put, a) },
		AppsFn: func() []auth.App {
			return []auth.App{{ClientID: "a-1", ClientSecret: "s", RedirectURIs: []string{"u"}, Scopes: []string{}}}
		},
	}
	var subs []store.Webhook
	fs := &FakeStore{
		WebhookFn: func(id string) (store.Webhook, bool) {
			return store.Webhook{ClientID: id, URL: "http://127.0.0.1:9/h"}, id == "a-1"
		},
		SetWebhookFn: func(w store.Webhook) { subs = append(subs, w) },
	}
	h := newHandler(t, &admin.API{Tokens: tokens, Store: fs, CheckApp: func(a auth.App) error {
		checked = append(checked, a)
		if a.WebhookURL == "ftp://x" {
			return errors.New("webhookUrl must be http or https")
		}
		return nil
	}})
	if a := call(t, h, http.MethodGet, "/__admin/apps", "").want(t, http.StatusOK); !strings.Contains(a.raw, `"clientId":"a-1"`) ||
		!strings.Contains(a.raw, `"webhookUrl":"http://127.0.0.1:9/h"`) {
		t.Errorf("apps %s: want a-1 with its subscription", a.raw)
	}
	a := call(t, h, http.MethodPost, "/__admin/apps", `{"clientId":"b-2","clientSecret":"s","redirectUris":["http://127.0.0.1/cb"],"scopes":["contacts.readonly"],"location":"L"}`).
		want(t, http.StatusCreated)
	if a.body["clientId"] != "b-2" || a.body["location"] != "L" {
		t.Errorf("answer %s", a.raw)
	}
	if len(put) != 1 || put[0].ClientID != "b-2" || put[0].Location != "L" || !slices.Equal(put[0].Scopes, []string{"contacts.readonly"}) {
		t.Errorf("put %+v", put)
	}
	if len(subs) != 1 || subs[0].ClientID != "b-2" || subs[0].URL != "" {
		t.Errorf("subscriptions %+v: an app without a webhook URL drops its subscription", subs)
	}
	a = call(t, h, http.MethodPost, "/__admin/apps", `{"clientId":"c-3","clientSecret":"s","redirectUris":["u"],"scopes":[],"webhookUrl":"ftp://x"}`).
		want(t, http.StatusUnprocessableEntity)
	if a.message() != "webhookUrl must be http or https" || len(put) != 1 || len(checked) != 2 {
		t.Errorf("refused app: %q; put %d, checked %d", a.message(), len(put), len(checked))
	}
	call(t, h, http.MethodPost, "/__admin/apps", `{"clientId":"d","clientSecret":"s","redirectUris":[],"scopes":[]}`).
		want(t, http.StatusUnprocessableEntity)
}

func TestAPI_Limits(t *testing.T) {
	t.Parallel()
	cfg := limits.Config{Limit: limits.Limit{Enabled: true, Burst: 100, Interval: clock.Duration(10 * time.Second), Daily: 1000},
		DailyReset: limits.DailyResetUTC}
	var set []limits.Config
	lim := &FakeLimiter{
		ConfigFn: func() limits.Config { return cfg },
		SetConfigFn: func(c limits.Config) error {
			if c.Burst > 1000 {
				return errors.New("burst is too large")
			}
			set = append(set, c)
			cfg = c
			return nil
		},
		StatusFn: func() []limits.BucketStatus { return nil },
	}
	h := newHandler(t, &admin.API{Limits: lim})
	a := call(t, h, http.MethodGet, "/__admin/limits", "").want(t, http.StatusOK)
	if b, ok := a.body["buckets"].([]any); !ok || len(b) != 0 {
		t.Errorf("no buckets must be []: %s", a.raw)
	}
	a = call(t, h, http.MethodPut, "/__admin/limits", `{"enabled":true,"burst":5,"interval":"1s","daily":10,"dailyReset":"rolling","retryAfter":true,"locations":{"L":{"enabled":false,"burst":1,"interval":"1s","daily":1}}}`).
		want(t, http.StatusOK)
	if len(set) != 1 || set[0].Burst != 5 || set[0].Interval.Std() != time.Second || !set[0].RetryAfter || set[0].Locations["L"].Enabled {
		t.Errorf("set %+v", set)
	}
	if a.body["config"].(map[string]any)["burst"] != 5.0 {
		t.Errorf("the answer shows the new config: %s", a.raw)
	}
	a = call(t, h, http.MethodPut, "/__admin/limits", `{"enabled":true,"burst":5000,"interval":"1s","daily":10,"retryAfter":true}`).
		want(t, http.StatusUnprocessableEntity)
	if a.message() != "burst is too large" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodPut, "/__admin/limits", `{"enabled":true,"burst":0,"interval":"1s","daily":10,"retryAfter":true}`).
		want(t, http.StatusUnprocessableEntity)
}

func TestAPI_Faults(t *testing.T) {
	t.Parallel()
	var rules []faults.Rule
	cleared := 0
	fs := &FakeFaults{
		AddFn: func(r faults.Rule) (faults.Rule, error) {
			if r.Effect.Kind == "hang" && r.Times == 0 {
				return r, errors.New("a hang needs times")
			}
			r.ID = "f1"
			rules = append(rules, r)
			return r, nil
		},
		ListFn: func() []faults.Rule { return rules },
		DeleteFn: func(id string) error {
			switch id {
			case "f1":
				return nil
			case "broken":
				return errors.New("lock lost")
			}
			return faults.ErrNotFound
		},
		ClearFn: func() { cleared++; rules = nil },
	}
	h := newHandler(t, &admin.API{Faults: fs})
	if a := call(t, h, http.MethodGet, "/__admin/faults", ""); a.want(t, http.StatusOK).body["faults"] == nil {
		t.Errorf("no rules must be []: %s", a.raw)
	}
	a := call(t, h, http.MethodPost, "/__admin/faults", `{"match":{"operation":"get-contact"},"effect":{"kind":"error","status":503},"times":2}`).
		want(t, http.StatusCreated)
	if a.body["id"] != "f1" || len(rules) != 1 || rules[0].Match.Operation != "get-contact" || rules[0].Effect.Status != 503 || rules[0].Times != 2 {
		t.Errorf("added %s; rules %+v", a.raw, rules)
	}
	a = call(t, h, http.MethodPost, "/__admin/faults", `{"match":{},"effect":{"kind":"hang"}}`).want(t, http.StatusUnprocessableEntity)
	if a.message() != "a hang needs times" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodPost, "/__admin/faults", `{"match":{},"effect":{"kind":"explode"}}`).want(t, http.StatusUnprocessableEntity)

	call(t, h, http.MethodDelete, "/__admin/faults/f1", "").want(t, http.StatusOK)
	if a := call(t, h, http.MethodDelete, "/__admin/faults/f9", "").want(t, http.StatusNotFound); a.message() != "no fault rule f9" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodDelete, "/__admin/faults/broken", "").want(t, http.StatusInternalServerError)

	if a := call(t, h, http.MethodDelete, "/__admin/faults", "").want(t, http.StatusOK); a.body["deleted"] != 1.0 || cleared != 1 {
		t.Errorf("clear: %s, cleared %d", a.raw, cleared)
	}
}

func TestAPI_RequestsPassTheFilter(t *testing.T) {
	t.Parallel()
	var entriesWith, countWith []journal.Filter
	cleared := false
	j := &FakeJournal{
		EntriesFn: func(f journal.Filter) []journal.Entry {
			entriesWith = append(entriesWith, f)
			return nil
		},
		CountFn: func(f journal.Filter) int { countWith = append(countWith, f); return 9 },
		LenFn:   func() int { return 12 },
		ClearFn: func() { cleared = true },
	}
	h := newHandler(t, &admin.API{Journal: j})
	a := call(t, h, http.MethodGet, "/__admin/requests?method=GET&path=/contacts/*&operation=get-contact&status=404&since=2024-03-01T09:00:00Z&limit=2", "").
		want(t, http.StatusOK)
	if a.body["total"] != 9.0 || a.body["requests"] == nil {
		t.Errorf("answer %s", a.raw)
	}
	want := journal.Filter{Method: "GET", Path: "/contacts/*", Operation: "get-contact", Status: 404,
		Since: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)}
	if len(countWith) != 1 || countWith[0] != want {
		t.Errorf("count with %+v, want %+v (total is before the limit)", countWith, want)
	}
	want.Limit = 2
	if len(entriesWith) != 1 || entriesWith[0] != want {
		t.Errorf("entries with %+v, want %+v", entriesWith, want)
	}
	call(t, h, http.MethodGet, "/__admin/requests?status=99", "").want(t, http.StatusUnprocessableEntity)

	a = call(t, h, http.MethodPost, "/__admin/requests/count", `{"operation":"create-contact","since":"2024-03-01T09:30:00.5Z"}`).
		want(t, http.StatusOK)
	if a.body["count"] != 9.0 || countWith[1].Operation != "create-contact" || !countWith[1].Since.Equal(t0.Add(500*time.Millisecond)) {
		t.Errorf("count: %s with %+v", a.raw, countWith[1])
	}
	if a := call(t, h, http.MethodPost, "/__admin/requests/count", `{"since":"yesterday"}`); a.status != http.StatusBadRequest &&
		a.status != http.StatusUnprocessableEntity {
		t.Errorf("bad since: %d %s", a.status, a.raw)
	}

	if a := call(t, h, http.MethodDelete, "/__admin/requests", "").want(t, http.StatusOK); a.body["cleared"] != 12.0 || !cleared {
		t.Errorf("clear: %s, cleared %v", a.raw, cleared)
	}
}

func TestAPI_Clock(t *testing.T) {
	t.Parallel()
	manual := clock.NewManual(t0)
	h := newHandler(t, &admin.API{Clock: manual})
	if a := call(t, h, http.MethodGet, "/__admin/clock", "").want(t, http.StatusOK); a.body["frozen"] != true || a.body["now"] != "2024-03-01T09:30:00Z" {
		t.Errorf("clock %s", a.raw)
	}
	call(t, h, http.MethodPost, "/__admin/clock", `{"advance":"90s"}`).want(t, http.StatusOK)
	if got := manual.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("after advance: %s", got)
	}
	call(t, h, http.MethodPost, "/__admin/clock", `{"set":"2024-03-02T00:00:00Z"}`).want(t, http.StatusOK)
	if got := manual.Now(); !got.Equal(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after set: %s", got)
	}
	for _, tc := range []struct{ name, body, message string }{
		{"back", `{"set":"2024-03-01T00:00:00Z"}`, "set must not move the clock back"},
		{"negative", `{"advance":"-1s"}`, "advance must be a positive duration such as 10s"},
		{"not a duration", `{"advance":"soon"}`, "advance must be a positive duration such as 10s"},
		{"nothing", `{}`, "give advance or set"},
	} {
		if a := call(t, h, http.MethodPost, "/__admin/clock", tc.body); a.status != http.StatusUnprocessableEntity || a.message() != tc.message {
			t.Errorf("%s: %d %s, want 422 %q", tc.name, a.status, a.raw, tc.message)
		}
	}
	if got := manual.Now(); !got.Equal(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("refused moves moved the clock to %s", got)
	}

	realClock := newHandler(t, &admin.API{Clock: clock.Real{}})
	if a := call(t, realClock, http.MethodGet, "/__admin/clock", "").want(t, http.StatusOK); a.body["frozen"] != false {
		t.Errorf("real clock %s", a.raw)
	}
	call(t, realClock, http.MethodPost, "/__admin/clock", `{"advance":"1s"}`).want(t, http.StatusConflict)
}

func TestAPI_MintM360Key(t *testing.T) {
	t.Parallel()
	type added struct {
		id, secret string
		p          auth.Principal
	}
	var keys []added
	var sizes []int
	h := newHandler(t, &admin.API{
		M360Keys:          &FakeKeyRing{AddFn: func(id, secret string, p auth.Principal) { keys = append(keys, added{id, secret, p}) }},
		M360AccountExists: func(id int64) bool { return id == 42 },
		Secret:            func(n int) string { sizes = append(sizes, n); return strings.Repeat("x", n) },
	})
	a := call(t, h, http.MethodPost, "/__admin/m360/keys", `{"accountId":42,"permissions":["contacts:read"]}`).want(t, http.StatusCreated)
	if a.body["clientId"] != "m360_"+strings.Repeat("x", 16) || a.body["clientSecret"] != strings.Repeat("x", 32) {
		t.Errorf("made key %s", a.raw)
	}
	call(t, h, http.MethodPost, "/__admin/m360/keys", `{"accountId":42,"permissions":[],"clientId":"ci","clientSecret":"s3"}`).
		want(t, http.StatusCreated)
	if len(keys) != 2 || keys[0].p.LocationID != "42" || !slices.Equal(keys[0].p.Scopes, []string{"contacts:read"}) ||
		keys[1].id != "ci" || keys[1].secret != "s3" || !slices.Equal(sizes, []int{16, 32}) {
		t.Errorf("keys %+v, secrets of sizes %v", keys, sizes)
	}
	a = call(t, h, http.MethodPost, "/__admin/m360/keys", `{"accountId":7,"permissions":[]}`).want(t, http.StatusNotFound)
	if a.message() != "no Marketing 360 account 7" || len(keys) != 2 {
		t.Errorf("unknown account: %q, keys %d", a.message(), len(keys))
	}
}

func TestAPI_M360Limits(t *testing.T) {
	t.Parallel()
	cfg := limits.LeakyConfig{Enabled: true, PerSecond: 5, Capacity: 5}
	lim := &FakeLeakyLimiter{
		ConfigFn: func() limits.LeakyConfig { return cfg },
		SetConfigFn: func(c limits.LeakyConfig) error {
			if c.Capacity > 100 {
				return errors.New("capacity is too large")
			}
			cfg = c
			return nil
		},
		StatusFn: func() []limits.LeakyStatus {
			return []limits.LeakyStatus{{Key: "k", Limit: 5, Remaining: 4, Reset: t0}}
		},
	}
	h := newHandler(t, &admin.API{M360Limits: lim})
	if a := call(t, h, http.MethodGet, "/__admin/m360/limits", "").want(t, http.StatusOK); !strings.Contains(a.raw, `"key":"k"`) {
		t.Errorf("limits %s", a.raw)
	}
	call(t, h, http.MethodPut, "/__admin/m360/limits", `{"enabled":true,"perSecond":2,"capacity":3,"retryAfter":false}`).want(t, http.StatusOK)
	if cfg.PerSecond != 2 || cfg.Capacity != 3 {
		t.Errorf("config %+v", cfg)
	}
	a := call(t, h, http.MethodPut, "/__admin/m360/limits", `{"enabled":true,"perSecond":2,"capacity":300,"retryAfter":false}`).
		want(t, http.StatusUnprocessableEntity)
	if a.message() != "capacity is too large" {
		t.Errorf("message %q", a.message())
	}
}

func TestTokenAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, header string
		ok                  bool
	}{
		{"none configured", "", "", true},
		{"none configured, any header", "", "Basic abc", true},
		{"right", "s3cret", "Bearer s3cret", true},
		{"scheme in any case", "s3cret", "bearer s3cret", true},
		{"wrong", "s3cret", "Bearer s3cre", false},
		{"missing", "s3cret", "", false},
		{"other scheme", "s3cret", "Basic s3cret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := admin.TokenAuth{Token: tc.token}.Authenticate(tc.header)
			switch {
			case tc.ok && (err != nil || p == nil || p.AppID != "admin"):
				t.Errorf("%+v, %v; want the admin", p, err)
			case !tc.ok && !errors.Is(err, auth.ErrInvalidToken):
				t.Errorf("%+v, %v; want ErrInvalidToken", p, err)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	api := func() *admin.API { return &admin.API{Clock: clock.NewManual(t0)} }
	local := newHandler(t, api())
	spec, err := openapi.LoadAdmin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	remote, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: api().Handlers(), Auth: admin.TokenAuth{},
		RenderError: admin.RenderError, MapError: admin.MapError, Outer: []pipeline.Middleware{admin.Guard(admin.GuardOptions{AllowRemote: true})}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	type guardCase struct {
		name       string
		h          http.Handler
		addr, host string
		status     int
	}
	var cases []guardCase
	// The client's address is checked.
	for _, tc := range []guardCase{
		{"IPv4 loopback", local, "127.0.0.1:5000", "", http.StatusOK},
		{"IPv6 loopback", local, "[::1]:5000", "", http.StatusOK},
		{"in process", local, "", "", http.StatusOK},
		{"remote", local, "192.0.2.7:5000", "", http.StatusForbidden},
		{"not an address", local, "somewhere", "", http.StatusForbidden},
		{"remote allowed", remote, "192.0.2.7:5000", "", http.StatusOK},
	} {
		tc.host = "example.com" // the configured host
		cases = append(cases, tc)
	}
	// The Host is checked too (DNS rebinding), from a loopback client.
	for _, tc := range []guardCase{
		{"Host: IPv4 loopback", local, "", "127.0.0.1:8080", http.StatusOK},
		{"Host: other loopback address", local, "", "127.3.4.5", http.StatusOK},
		{"Host: IPv6 loopback", local, "", "[::1]:8080", http.StatusOK},
		{"Host: localhost", local, "", "localhost:8080", http.StatusOK},
		{"Host: localhost, trailing dot", local, "", "localhost.:8080", http.StatusOK},
		{"Host: a .localhost name", local, "", "app.localhost", http.StatusOK},
		{"Host: configured, other case", local, "", "EXAMPLE.com:9000", http.StatusOK},
		{"Host: rebinding name", local, "", "attacker.example:8080", http.StatusForbidden},
		{"Host: localhost as a prefix", local, "", "localhost.attacker.example", http.StatusForbidden},
		{"Host: a public address", local, "", "192.0.2.1:8080", http.StatusForbidden},
		{"Host: empty", local, "", "", http.StatusForbidden},
		{"Host: any, remote allowed", remote, "", "twin.example", http.StatusOK},
	} {
		tc.addr = "127.0.0.1:5000"
		cases = append(cases, tc)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/__admin/clock", nil)
			req.RemoteAddr, req.Host = tc.addr, tc.host
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("%d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == http.StatusForbidden && tc.addr != "127.0.0.1:5000" && !strings.Contains(rec.Body.String(), "--admin-remote") {
				t.Errorf("the refusal does not say how to allow it: %s", rec.Body)
			}
		})
	}
}

func TestRenderError(t *testing.T) {
	t.Parallel()
	got := admin.RenderError(&pipeline.Error{Status: http.StatusUnprocessableEntity, Messages: []string{"a", "b"}})
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"statusCode":422,"message":"a; b","error":"Unprocessable Entity"}` {
		t.Errorf("%s", raw)
	}
}

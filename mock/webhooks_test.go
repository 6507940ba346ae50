package mock_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// hookWait bounds every wait for a delivery the twin sends at once; it is
// never reached when the code works.
const hookWait = 10 * time.Second

// hookDelivery is a webhook the receiver got.
type hookDelivery struct {
	path   string
	header http.Header
	body   []byte
	fields map[string]any
}

func (d hookDelivery) str(key string) string { s, _ := d.fields[key].(string); return s }

// hookReceiver is a webhook endpoint: it fails the first deliveries it is
// told to, per path, answers 200 to the rest and hands each to the test.
type hookReceiver struct {
	srv *httptest.Server
	got chan hookDelivery

	mu    sync.Mutex // guards fails
	fails map[string]int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{got: make(chan hookDelivery, 1000), fails: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := hookDelivery{path: req.URL.Path, header: req.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &d.fields); err != nil {
			t.Errorf("delivery to %s is not JSON: %s", req.URL.Path, body)
		}
		r.mu.Lock()
		fail := r.fails[req.URL.Path] > 0
		if fail {
			r.fails[req.URL.Path]--
		}
		r.mu.Unlock()
		r.got <- d
		if fail {
			http.Error(w, "receiver down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) failNext(path string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails[path] = n
}

// next returns the next delivery.
func (r *hookReceiver) next(t *testing.T) hookDelivery {
	t.Helper()
	return hookReceive(t, r.got, "no webhook arrived")
}

// hookReceive returns the next value of ch, failing the test with missing
// when none comes within hookWait.
func hookReceive[T any](t *testing.T, ch <-chan T, missing string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hookWait):
		t.Fatal(missing)
		var zero T
		return zero
	}
}

// take returns the next n deliveries.
func (r *hookReceiver) take(t *testing.T, n int) []hookDelivery {
	t.Helper()
	out := make([]hookDelivery, 0, n)
	for range n {
		out = append(out, r.next(t))
	}
	return out
}

// hookEnv is a strict, seeded twin on a manual clock that sends the default
// location's HighLevel events to rcv/ghl, with both twins' clients.
type hookEnv struct {
	hl  *twinEnv
	m   *m360Env
	rcv *hookReceiver
	srv *mock.Server
	// attempts receives each delivery as the twin records an attempt,
	// queued each as it is queued.
	attempts, queued chan webhooks.Delivery
	clk              *clock.Manual
	pub              ed25519.PublicKey
	secs             map[string]string // Marketing 360 subscription id -> secret
}

func newHookEnv(t *testing.T, opts mock.Options) *hookEnv {
	t.Helper()
	rcv := newHookReceiver(t)
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Webhooks.URL == "" {
		opts.Webhooks.URL = rcv.srv.URL + "/ghl"
	}
	attempts, queued := make(chan webhooks.Delivery, 1000), make(chan webhooks.Delivery, 1000)
	opts.Webhooks.Observe = func(d webhooks.Delivery) {
		if len(d.Attempts) > 0 {
			attempts <- d
		} else {
			queued <- d
		}
	}
	hl := newTwinWith(t, opts)
	srv, clk := hl.srv, hl.clk
	m := m360EnvOf(srv, clk)
	block, _ := pem.Decode([]byte(srv.Webhooks().Keys().Public().Ed25519))
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("the twin's public key: %v", err)
	}
	return &hookEnv{hl: hl, m: m, rcv: rcv, srv: srv, attempts: attempts, queued: queued, clk: clk, pub: key.(ed25519.PublicKey),
		secs: map[string]string{}}
}

// queue waits until the twin has queued n deliveries, and returns them as
// they were then; the API answers before its events are routed.
func (e *hookEnv) queue(t *testing.T, n int) []webhooks.Delivery {
	t.Helper()
	var out []webhooks.Delivery
	for len(out) < n {
		out = append(out, hookReceive(t, e.queued, fmt.Sprintf("the twin queued %d deliveries, want %d", len(out), n)))
	}
	return out
}

// attempted waits until the twin has recorded an attempt, and returns the
// delivery as it was then.
func (e *hookEnv) attempted(t *testing.T) webhooks.Delivery {
	t.Helper()
	return hookReceive(t, e.attempts, "the twin recorded no attempt")
}

// subscribeM360 subscribes rcv/m360 to events and keeps the secret.
func (e *hookEnv) subscribeM360(t *testing.T, events ...string) m360Webhook {
	t.Helper()
	w := m360Must[m360Result[m360Webhook]](t, e.m, "POST", "/v1/webhooks",
		jsonObj{"url": e.rcv.srv.URL + "/m360", "events": events}, http.StatusCreated).Result
	e.secs[fmt.Sprint(w.ID)] = *w.Secret
	return w
}

// check verifies a delivery as a receiver would, and against the spec: the
// signature, the payload's schema, the event's name in the body.
func (e *hookEnv) check(t *testing.T, d hookDelivery) {
	t.Helper()
	spec := e.srv.HighLevel.Spec()
	if d.path == "/m360" {
		spec = e.srv.M360.Spec()
		if d.header.Get("X-M360-Event") != d.str("type") || d.header.Get("X-M360-Delivery") != d.str("id") {
			t.Errorf("Marketing 360 headers %v for %s", d.header, d.body)
		}
		sig := d.header.Get("X-M360-Signature")
		var at int64
		fmt.Sscanf(sig, "t=%d,", &at)
		ok := false
		for _, secret := range e.secs {
			ok = ok || sig == webhooks.SignHMAC(secret, d.body, time.Unix(at, 0))
		}
		if !ok {
			t.Errorf("X-M360-Signature %q verifies with no subscription's secret", sig)
		}
	} else {
		sig, err := base64.StdEncoding.DecodeString(d.header.Get("X-Ghl-Signature"))
		if err != nil || !ed25519.Verify(e.pub, d.body, sig) {
			t.Errorf("x-ghl-signature of %s does not verify", d.body)
		}
	}
	hook, ok := spec.Webhook(d.str("type"))
	if !ok {
		t.Fatalf("%s: event %q is not in the catalog", d.path, d.str("type"))
	}
	if err := hook.Validate(d.body); err != nil {
		t.Errorf("payload breaks the spec: %v\n%s", err, d.body)
	}
}

// events checks n deliveries and returns their types.
func (e *hookEnv) events(t *testing.T, n int) ([]string, []hookDelivery) {
	t.Helper()
	got := e.rcv.take(t, n)
	var types []string
	for _, d := range got {
		e.check(t, d)
		types = append(types, d.str("type"))
	}
	return types, got
}

// deliveryList is the answer of the delivery log and of a redelivery by
// filter.
type deliveryList struct {
	Deliveries []webhooks.Delivery `json:"deliveries"`
	Total      int                 `json:"total"`
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events\n\tgot  %v\n\twant %v", got, want)
	}
}

func TestWebhooks_HighLevelEventsForEveryChange(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada", "email": "ada@example.com", "tags": []string{"lead"}})
	path := "/contacts/" + c.ID
	mustStatus(t, hl.do(t, "PUT", path, jsonObj{"lastName": "Lovelace"}), 200)
	mustStatus(t, hl.do(t, "POST", path+"/tags", jsonObj{"tags": []string{"vip"}}), 201)
	mustStatus(t, hl.do(t, "DELETE", path+"/tags", jsonObj{"tags": []string{"lead"}}), 200)
	mustStatus(t, hl.do(t, "PUT", path, jsonObj{"dnd": true, "dndSettings": jsonObj{"SMS": jsonObj{"status": "active"}}}), 200)
	mustStatus(t, hl.do(t, "PUT", path, jsonObj{"city": "London", "tags": []string{"gold"}}), 200)
	mustStatus(t, hl.do(t, "PUT", path, jsonObj{}), 200)
	task := hl.mustCreateTask(t, c.ID, "Call")
	mustStatus(t, hl.do(t, "PUT", path+"/tasks/"+task.ID, jsonObj{"title": "Call back"}), 200)
	mustStatus(t, hl.do(t, "PUT", path+"/tasks/"+task.ID+"/completed", jsonObj{"completed": true}), 200)
	mustStatus(t, hl.do(t, "DELETE", path+"/tasks/"+task.ID, nil), 200)
	note := hl.mustCreateNote(t, c.ID, "Met at the fair")
	mustStatus(t, hl.do(t, "PUT", path+"/notes/"+note.ID, jsonObj{"body": "Met at the fair, 2nd day"}), 200)
	mustStatus(t, hl.do(t, "DELETE", path+"/notes/"+note.ID, nil), 200)
	ap := hl.mustBook(t, c.ID, "2026-01-05T16:00:00+05:30")
	mustStatus(t, hl.do(t, "PUT", "/calendars/events/appointments/"+ap.ID, jsonObj{"title": "Demo"}), 200)
	mustStatus(t, hl.do(t, "DELETE", "/calendars/events/"+ap.ID, jsonObj{}), 201)
	mustStatus(t, hl.do(t, "DELETE", path, nil), 200)

	types, got := e.events(t, 17)
	wantEvents(t, types, "ContactCreate", "ContactUpdate", "ContactTagUpdate", "ContactTagUpdate",
		"ContactDndUpdate", "ContactUpdate", "ContactTagUpdate", "ContactUpdate",
		"TaskCreate", "TaskComplete", "TaskDelete", "NoteCreate", "NoteUpdate", "NoteDelete",
		"AppointmentCreate", "AppointmentUpdate", "AppointmentDelete")
	if appt, _ := got[16].fields["appointment"].(map[string]any); appt["id"] != ap.ID {
		t.Errorf("AppointmentDelete: %s", got[16].body)
	}
	del := e.rcv.next(t)
	e.check(t, del)
	got = append(got, del)
	if del.str("type") != "ContactDelete" || del.str("id") != c.ID || del.str("lastName") != "Lovelace" {
		t.Errorf("last event %s, want the contact's ContactDelete with its fields", del.body)
	}

	app := e.srv.Defaults().HighLevel.App
	ids := map[string]bool{}
	last := ""
	for _, d := range got {
		// The timestamp is the write's, as the records' dates: at or after
		// the clock, never before what the event reports.
		ts := d.str("timestamp")
		if d.str("locationId") != hl.loc.ID || d.str("appId") != app.AppID() || ts < "2024-03-01T09:30:00.000Z" ||
			ts < last || ts < d.str("dateAdded") || !strings.HasSuffix(ts, "Z") {
			t.Errorf("envelope of %s: locationId, appId %s, a timestamp after %s expected", d.body, app.AppID(), last)
		}
		last = ts
		if ids[d.str("webhookId")] {
			t.Errorf("webhookId %s used twice", d.str("webhookId"))
		}
		ids[d.str("webhookId")] = true
	}
	if tags := got[3].fields["tags"]; fmt.Sprint(tags) != "[vip]" {
		t.Errorf("ContactTagUpdate after removing lead carries tags %v", tags)
	}
	if dnd, _ := got[4].fields["dndSettings"].(map[string]any); dnd["SMS"] == nil || got[4].fields["dnd"] != true {
		t.Errorf("ContactDndUpdate: %s", got[4].body)
	}
	if _, has := got[0].fields["dndSettings"]; has {
		t.Errorf("ContactCreate carries dndSettings: %s", got[0].body)
	}
	if got[8].str("contactId") != c.ID || got[8].str("title") != "Call" || got[9].str("title") != "Call back" {
		t.Errorf("task events: %s / %s", got[8].body, got[9].body)
	}
	appt, _ := got[14].fields["appointment"].(map[string]any)
	if appt["startTime"] != "2026-01-05T16:00:00+05:30" || appt["contactId"] != c.ID {
		t.Errorf("AppointmentCreate: %s", got[14].body)
	}
}

func TestWebhooks_Marketing360EventsForTheirSubscriptions(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	m := e.m
	all := e.subscribeM360(t, "contact.created", "contact.updated", "contact.deleted", "task.created",
		"task.completed", "note.created", "event.created")
	c := m.mustContact(t, jsonObj{"firstName": "Ada", "email": "ada@example.com"})
	base := fmt.Sprintf("/v1/contacts/%d", c.ID)
	m360Must[jsonObj](t, m, "PUT", base, jsonObj{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}, 200)
	task := m360Must[m360Result[m360Task]](t, m, "POST", base+"/tasks", jsonObj{"title": "Call"}, 201).Result
	m360Must[jsonObj](t, m, "PUT", fmt.Sprintf("%s/tasks/%d", base, task.ID), jsonObj{"title": "Call", "completed": true}, 200)
	m360Must[jsonObj](t, m, "POST", base+"/notes", jsonObj{"body": "Met"}, 201)
	m360Must[jsonObj](t, m, "POST", "/v1/calendar/events", jsonObj{"contactId": c.ID, "title": "Demo",
		"start": clockStart.Add(time.Hour).Unix(), "end": clockStart.Add(2 * time.Hour).Unix()}, 201)
	m360Must[jsonObj](t, m, "DELETE", base, nil, 200)

	types, got := e.events(t, 7)
	wantEvents(t, types, "contact.created", "contact.updated", "task.created", "task.completed",
		"note.created", "event.created", "contact.deleted")
	for _, d := range got {
		if d.fields["accountId"] != float64(e.srv.Defaults().M360.Account.ID) || d.fields["occurred"] != float64(clockStart.Unix()) ||
			!strings.HasPrefix(d.str("id"), "evt_") {
			t.Errorf("envelope of %s", d.body)
		}
	}
	if data, _ := got[1].fields["data"].(map[string]any); data["lastName"] != "Lovelace" {
		t.Errorf("contact.updated data: %s", got[1].body)
	}
	if data, _ := got[3].fields["data"].(map[string]any); data["completed"] != true || data["completedAt"] == nil {
		t.Errorf("task.completed data: %s", got[3].body)
	}

	// A subscription gets only its events; a deleted one none.
	only := e.subscribeM360(t, "note.created")
	m360Must[jsonObj](t, m, "DELETE", fmt.Sprintf("/v1/webhooks/%d", all.ID), nil, 200)
	c2 := m.mustContact(t, jsonObj{"firstName": "Bob"})
	m360Must[jsonObj](t, m, "POST", fmt.Sprintf("/v1/contacts/%d/notes", c2.ID), jsonObj{"body": "hi"}, 201)
	d := e.rcv.next(t)
	e.check(t, d)
	if d.str("type") != "note.created" {
		t.Errorf("after unsubscribing, got %s", d.body)
	}
	logged, _ := e.srv.Webhooks().Deliveries(webhooks.Filter{Twin: "m360"})
	if len(logged) != 8 || logged[0].Subscription != fmt.Sprint(only.ID) {
		t.Errorf("Marketing 360 deliveries: %d, newest for subscription %s", len(logged), logged[0].Subscription)
	}
}

func TestWebhooks_ScopesInstallsAndFiltersDecideWhoReceives(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	other, otherToken := hl.addLocation(t, "loc2", false)
	url := e.rcv.srv.URL
	for _, app := range []jsonObj{
		{"clientId": "noscope-1", "clientSecret": "s", "redirectUris": []string{"http://x/cb"}, "scopes": []string{"contacts.write"},
			"location": hl.loc.ID, "webhookUrl": url + "/noscope"},
		{"clientId": "tasks-1", "clientSecret": "s", "redirectUris": []string{"http://x/cb"}, "scopes": []string{"contacts.readonly"},
			"location": hl.loc.ID, "webhookUrl": url + "/tasks", "webhookEvents": []string{"TaskCreate"}},
		{"clientId": "elsewhere-1", "clientSecret": "s", "redirectUris": []string{"http://x/cb"}, "scopes": []string{"contacts.readonly"},
			"location": other.ID, "webhookUrl": url + "/elsewhere"},
	} {
		mustStatus(t, hl.do(t, "POST", "/__admin/apps", app), 201)
	}
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	hl.mustCreateTask(t, c.ID, "Call")
	got := map[string][]string{}
	for _, d := range e.rcv.take(t, 3) { // the default app's two, the task app's one
		e.check(t, d)
		got[d.path] = append(got[d.path], d.str("type"))
	}
	if fmt.Sprint(got) != "map[/ghl:[ContactCreate TaskCreate] /tasks:[TaskCreate]]" {
		t.Errorf("receivers got %v", got)
	}

	// No token for a location the app is not installed on; once installed
	// there (App.Locations), a token, and the location's events.
	grant := apiRequest{method: "POST", path: "/oauth/token", contentType: "application/x-www-form-urlencoded",
		body: "client_id=tasks-1&client_secret=s&grant_type=client_credentials&location_id=loc2", token: omitHeader}
	mustStatus(t, hl.call(t, grant), 400)
	mustStatus(t, hl.do(t, "POST", "/__admin/apps", jsonObj{"clientId": "tasks-1", "clientSecret": "s",
		"redirectUris": []string{"http://x/cb"}, "scopes": []string{"contacts.readonly"}, "location": hl.loc.ID,
		"locations": []string{"loc2"}, "webhookUrl": url + "/tasks", "webhookEvents": []string{"TaskCreate"}}), 201)
	mustStatus(t, hl.call(t, grant), 200)
	hl.call(t, apiRequest{method: "POST", path: "/contacts/", token: otherToken, body: jsonObj{"locationId": other.ID, "firstName": "Bob"}})
	c2 := hl.mustCreateContact(t, jsonObj{"firstName": "Cy"})
	hl.mustCreateTask(t, c2.ID, "Ping")
	got = map[string][]string{}
	for _, d := range e.rcv.take(t, 3) { // elsewhere: Bob; default: Cy, Cy's task; tasks app: Cy's task
		got[d.path] = append(got[d.path], d.str("type")+":"+d.str("locationId"))
	}
	d := e.rcv.next(t)
	got[d.path] = append(got[d.path], d.str("type")+":"+d.str("locationId"))
	for path, want := range map[string]string{"/elsewhere": "[ContactCreate:loc2]", "/tasks": "[TaskCreate:" + hl.loc.ID + "]"} {
		if fmt.Sprint(got[path]) != want {
			t.Errorf("%s got %v, want %s (all: %v)", path, got[path], want, got)
		}
	}
	sub := mustDo[jsonObj](t, hl, "GET", "/__admin/webhooks", nil, 200)
	if !strings.Contains(fmt.Sprint(sub["subscriptions"]), "locations:["+hl.loc.ID+" loc2]") {
		t.Errorf("the tasks app's locations: %v", sub["subscriptions"])
	}
}

func TestWebhooks_FailingEndpointIsRetriedAndLogged(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	e.rcv.failNext("/ghl", 3)
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	first := e.rcv.next(t)
	// Each retry waits for the clock: 1s, then 2s, then 4s.
	now := clockStart
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		d := e.attempted(t)
		if d.Status != webhooks.StatusPending || d.NextAttempt == nil || !d.NextAttempt.Equal(now.Add(wait)) {
			t.Fatalf("after %d failed attempts: %s, next %v, want pending until +%s", len(d.Attempts), d.Status, d.NextAttempt, wait)
		}
		now = now.Add(wait)
		mustStatus(t, hl.do(t, "POST", "/__admin/clock", jsonObj{"advance": wait.String()}), 200)
		if d := e.rcv.next(t); string(d.body) != string(first.body) {
			t.Fatalf("retry after %s is not the same delivery: %s", wait, d.body)
		}
	}
	if d := e.attempted(t); d.Status != webhooks.StatusDelivered {
		t.Fatalf("after the fourth attempt: %s", d.Status)
	}
	log := mustDo[deliveryList](t, hl, "GET", "/__admin/webhooks/deliveries?event=ContactCreate&resource=contact/"+c.ID, nil, 200)
	if log.Total != 1 {
		t.Fatalf("log: %+v", log)
	}
	dl := mustDo[webhooks.Delivery](t, hl, "GET", "/__admin/webhooks/deliveries/"+log.Deliveries[0].ID, nil, 200)
	var statuses []int
	for _, a := range dl.Attempts {
		statuses = append(statuses, a.Status)
	}
	if !slices.Equal(statuses, []int{503, 503, 503, 200}) || dl.Status != webhooks.StatusDelivered ||
		dl.Target != e.rcv.srv.URL+"/ghl" || dl.LatencyMs == nil || dl.EventID != first.str("webhookId") {
		t.Errorf("delivery %+v", dl)
	}
	if dl.Attempts[1].At.Sub(dl.Attempts[0].At) != time.Second || dl.Attempts[3].At.Sub(dl.Attempts[2].At) != 4*time.Second ||
		dl.Attempts[0].Response != "receiver down\n" {
		t.Errorf("attempts %+v", dl.Attempts)
	}

	// Redelivery on demand: the same body and webhookId, again.
	again := mustDo[webhooks.Delivery](t, hl, "POST", "/__admin/webhooks/deliveries/"+dl.ID+"/redeliver", nil, 202)
	if d := e.rcv.next(t); d.str("webhookId") != first.str("webhookId") || again.RedeliveryOf != dl.ID {
		t.Errorf("redelivery %+v sent %s", again, d.body)
	}
	mustStatus(t, hl.do(t, "GET", "/__admin/webhooks/deliveries/wh_999", nil), 404)
	mustStatus(t, hl.do(t, "POST", "/__admin/webhooks/deliveries/wh_999/redeliver", nil), 404)
}

func TestWebhooks_RealismToggles(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	settings := mustDo[admin.WebhookSettings](t, hl, "PUT", "/__admin/webhooks/settings",
		jsonObj{"updateAfterCreate": true, "missingFields": true, "duplicates": 1}, 200)
	if settings.Attempts != 5 || !settings.UpdateAfterCreate || settings.Duplicates != 1 {
		t.Fatalf("settings %+v", settings)
	}
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	types, got := e.events(t, 4)
	wantEvents(t, types, "ContactCreate", "ContactCreate", "ContactUpdate", "ContactUpdate")
	if got[0].str("webhookId") != got[1].str("webhookId") || got[1].str("webhookId") == got[2].str("webhookId") {
		t.Errorf("a duplicate repeats its webhookId, and only its own: %s %s %s",
			got[0].str("webhookId"), got[1].str("webhookId"), got[2].str("webhookId"))
	}

	mustDo[admin.WebhookSettings](t, hl, "PUT", "/__admin/webhooks/settings", jsonObj{"missingFields": true, "delay": "3s"}, 200)
	for len(e.queued) > 0 { // what the first part queued
		<-e.queued
	}
	hl.mustCreateTask(t, c.ID, "Call")
	mustStatus(t, hl.do(t, "POST", "/contacts/"+c.ID+"/notes", jsonObj{"body": "hi", "userId": "user-1"}), 201)
	for _, d := range e.queue(t, 2) {
		if d.NextAttempt == nil || !d.NextAttempt.Equal(clockStart.Add(3*time.Second)) {
			t.Errorf("delayed delivery %s due %v, want +3s", d.Event, d.NextAttempt)
		}
	}
	mustStatus(t, hl.do(t, "POST", "/__admin/clock", jsonObj{"advance": "3s"}), 200)
	_, got = e.events(t, 2)
	for _, d := range got {
		for _, missing := range map[string][]string{"TaskCreate": {"contactId", "body"}, "NoteCreate": {"userId"}}[d.str("type")] {
			if _, has := d.fields[missing]; has {
				t.Errorf("%s with missingFields carries %s: %s", d.str("type"), missing, d.body)
			}
		}
	}

	// Off again: the documented fields are all there.
	mustDo[webhooks.Settings](t, hl, "PUT", "/__admin/webhooks/settings", jsonObj{}, 200)
	hl.mustCreateTask(t, c.ID, "Call again")
	mustStatus(t, hl.do(t, "POST", "/contacts/"+c.ID+"/notes", jsonObj{"body": "hi", "userId": "user-1"}), 201)
	_, got = e.events(t, 2)
	if got[0].str("contactId") != c.ID || got[1].str("userId") != "user-1" {
		t.Errorf("without missingFields: %s / %s", got[0].body, got[1].body)
	}
	for _, bad := range []jsonObj{{"attempts": 0}, {"duplicates": 2}, {"timeout": "forever"}, {"bogus": true}} {
		if r := hl.do(t, "PUT", "/__admin/webhooks/settings", bad); r.status != 422 && r.status != 400 {
			t.Errorf("settings %v answered %s", bad, r)
		}
	}
}

func TestWebhooks_ImportSendsWhatItChanges(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	keep := hl.mustCreateContact(t, jsonObj{"firstName": "Keep"})
	drop := hl.mustCreateContact(t, jsonObj{"firstName": "Drop"})
	e.events(t, 2)
	st := mustDo[jsonObj](t, hl, "GET", "/__admin/state", nil, 200)
	contacts := st["contacts"].([]any)
	var kept []any
	for _, c := range contacts {
		if c.(map[string]any)["id"] == keep.ID {
			c.(map[string]any)["firstName"] = "Kept"
			kept = append(kept, c)
		}
	}
	added := jsonObj{"id": "IMPORTED000000000001", "locationId": hl.loc.ID, "firstName": "New", "tags": []string{},
		"customFields": []any{}, "dnd": false, "dateAdded": "2024-03-01T09:31:00Z", "dateUpdated": "2024-03-01T09:31:00Z"}
	st["contacts"] = append(kept, added)
	mustStatus(t, hl.do(t, "PUT", "/__admin/state", st), 200)
	got := map[string]string{}
	for _, d := range e.rcv.take(t, 3) {
		e.check(t, d)
		got[d.str("id")] = d.str("type")
	}
	want := map[string]string{keep.ID: "ContactUpdate", drop.ID: "ContactDelete", "IMPORTED000000000001": "ContactCreate"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("import sent %v, want %v", got, want)
	}

	// events=false imports quietly: the next event is the API's.
	st["contacts"] = kept
	mustStatus(t, hl.do(t, "PUT", "/__admin/state?events=false", st), 200)
	marker := hl.mustCreateContact(t, jsonObj{"firstName": "Marker"})
	if d := e.rcv.next(t); d.str("id") != marker.ID {
		t.Errorf("after a quiet import got %s", d.body)
	}
	if _, total := e.srv.Webhooks().Deliveries(webhooks.Filter{}); total != 6 {
		t.Errorf("deliveries %d, want 2 + 3 + the marker's", total)
	}
}

func TestWebhooks_ResetCancelsPendingAndIsQuiet(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	e.rcv.failNext("/ghl", 1)
	hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	e.rcv.next(t)
	e.attempted(t)
	mustStatus(t, hl.do(t, "POST", "/__admin/reset", nil), 200)
	mustStatus(t, hl.do(t, "POST", "/__admin/clock", jsonObj{"advance": "1h"}), 200)
	marker := hl.mustCreateContact(t, jsonObj{"firstName": "After"})
	if d := e.rcv.next(t); d.str("id") != marker.ID {
		t.Errorf("after reset got %s, want only the new contact's event", d.body)
	}
	if _, total := e.srv.Webhooks().Deliveries(webhooks.Filter{}); total != 1 {
		t.Errorf("log after reset holds %d deliveries", total)
	}
	// The start-up subscription (webhooks.url) is there after the reset.
	if sub := mustDo[jsonObj](t, hl, "GET", "/__admin/webhooks", nil, 200); !strings.Contains(fmt.Sprint(sub["subscriptions"]), e.rcv.srv.URL) {
		t.Errorf("subscriptions after reset: %v", sub["subscriptions"])
	}
}

// subscriptionURLs lists the twins' webhook subscriptions as the admin API
// shows them: the HighLevel ones' URLs and the Marketing 360 ones'.
func subscriptionURLs(t *testing.T, hl *twinEnv) (highLevel, m360 []string) {
	t.Helper()
	type urls []struct{ URL string }
	got := mustDo[struct {
		Subscriptions struct {
			HighLevel urls `json:"highlevel"`
			M360      urls `json:"m360"`
		} `json:"subscriptions"`
	}](t, hl, "GET", "/__admin/webhooks", nil, 200)
	for _, s := range got.Subscriptions.HighLevel {
		highLevel = append(highLevel, s.URL)
	}
	for _, s := range got.Subscriptions.M360 {
		m360 = append(m360, s.URL)
	}
	return highLevel, m360
}

func TestWebhooks_SubscriptionsOfBothTwinsResetAndTravelWithTheState(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	app := e.srv.Defaults().HighLevel.App
	moved, start, m360URL := e.rcv.srv.URL+"/moved", e.rcv.srv.URL+"/ghl", e.rcv.srv.URL+"/m360"
	mustDo[jsonObj](t, hl, "PUT", "/__admin/webhooks/highlevel/"+app.ClientID, jsonObj{"url": moved}, 200)
	e.subscribeM360(t, "contact.created")
	want := func(step string, wantHL, wantM360 []string) {
		t.Helper()
		gotHL, gotM360 := subscriptionURLs(t, hl)
		if !slices.Equal(gotHL, wantHL) || !slices.Equal(gotM360, wantM360) {
			t.Errorf("%s: subscriptions %v and %v, want %v and %v", step, gotHL, gotM360, wantHL, wantM360)
		}
	}
	want("made", []string{moved}, []string{m360URL})

	exported := mustDo[store.State](t, hl, "GET", "/__admin/state", nil, 200)
	if len(exported.Webhooks) != 1 || exported.Webhooks[0].ClientID != app.ClientID || exported.Webhooks[0].URL != moved ||
		len(exported.M360Webhooks) != 1 {
		t.Fatalf("exported subscriptions %+v and %+v", exported.Webhooks, exported.M360Webhooks)
	}
	// Reset returns both to the start-up state: the configured URL, and
	// no Marketing 360 subscription.
	mustStatus(t, hl.do(t, "POST", "/__admin/reset", nil), 200)
	want("after reset", []string{start}, nil)
	hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	if d := e.rcv.next(t); d.path != "/ghl" {
		t.Errorf("after reset a delivery to %s, want /ghl", d.path)
	}
	// An import brings both back, as a state file does (and a reset then
	// returns to the file's).
	mustStatus(t, hl.do(t, "PUT", "/__admin/state?events=false", exported), 200)
	want("imported", []string{moved}, []string{m360URL})
	data, err := json.Marshal(exported)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	again := newHookEnv(t, mock.Options{StateFile: path})
	if got, _ := subscriptionURLs(t, again.hl); !slices.Equal(got, []string{moved}) {
		t.Errorf("started from the state file: HighLevel subscriptions %v, want the file's %v", got, moved)
	}
	mustStatus(t, again.hl.do(t, "POST", "/__admin/reset", nil), 200)
	if gotHL, gotM360 := subscriptionURLs(t, again.hl); !slices.Equal(gotHL, []string{moved}) || !slices.Equal(gotM360, []string{m360URL}) {
		t.Errorf("reset to the state file: subscriptions %v and %v", gotHL, gotM360)
	}
}

func TestWebhooks_ShutdownSpoolsAndTheNextStartDelivers(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "webhooks.spool")
	rcv := newHookReceiver(t)
	rcv.failNext("/ghl", 2) // the first attempt and the last one at shutdown
	recorded := make(chan webhooks.Delivery, 10)
	opts := mock.Options{NoListener: true, Strict: true, Seed: 5, Clock: clock.NewManual(clockStart),
		Webhooks: mock.WebhookOptions{URL: rcv.srv.URL + "/ghl", Spool: spool, Observe: func(d webhooks.Delivery) {
			if len(d.Attempts) > 0 {
				recorded <- d
			}
		}}}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	hl := &twinEnv{srv: srv, client: srv.HighLevel.Client(), token: srv.Defaults().HighLevel.Token, loc: srv.Defaults().HighLevel.Location}
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	first := rcv.next(t)
	if d := hookReceive(t, recorded, "the first attempt was not recorded"); d.Status != webhooks.StatusPending {
		t.Fatalf("after the first attempt: %s (it failed: the retry waits)", d.Status)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := rcv.next(t); d.str("webhookId") != first.str("webhookId") {
		t.Fatalf("last attempt at shutdown: %s", d.body)
	}
	if data, err := os.ReadFile(spool); err != nil || !strings.Contains(string(data), c.ID) {
		t.Fatalf("spool: %v %s", err, data)
	}
	opts.Clock = clock.NewManual(clockStart)
	again, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := rcv.next(t); d.str("webhookId") != first.str("webhookId") || string(d.body) != string(first.body) {
		t.Errorf("after restart: %s", d.body)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spool); !os.IsNotExist(err) {
		t.Errorf("spool left after everything was delivered: %v", err)
	}
}

func TestWebhooks_AdminSubscriptionsKeysAndErrors(t *testing.T) {
	e := newHookEnv(t, mock.Options{Webhooks: mock.WebhookOptions{RSA: true}})
	hl := e.hl
	app := e.srv.Defaults().HighLevel.App
	keys := mustDo[webhooks.PublicKeys](t, hl, "GET", "/__admin/webhooks/keys", nil, 200)
	if keys != e.srv.Webhooks().Keys().Public() || keys.RSA == "" {
		t.Fatalf("keys %+v", keys)
	}
	for name, want := range map[string]string{"ed25519": keys.Ed25519, "rsa": keys.RSA} {
		r := hl.do(t, "GET", "/__admin/webhooks/keys/"+name+".pem", nil)
		if r.status != 200 || string(r.body) != want || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s.pem: %s", name, r)
		}
	}
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	if d := e.rcv.next(t); d.header.Get("X-Wh-Signature") == "" || d.header.Get("X-Ghl-Signature") == "" {
		t.Errorf("with RSA on, headers %v", d.header)
	}

	// Move the default app's subscription to another path, for one event.
	path := "/__admin/webhooks/highlevel/" + app.ClientID
	sub := mustDo[jsonObj](t, hl, "PUT", path, jsonObj{"url": e.rcv.srv.URL + "/moved", "events": []string{"ContactUpdate"}}, 200)
	if sub["appId"] != app.AppID() || fmt.Sprint(sub["locations"]) != "["+hl.loc.ID+"]" {
		t.Errorf("subscription %v", sub)
	}
	hl.mustCreateTask(t, c.ID, "not sent: the app filters it out")
	mustStatus(t, hl.do(t, "PUT", "/contacts/"+c.ID, jsonObj{"lastName": "L"}), 200)
	if d := e.rcv.next(t); d.path != "/moved" || d.str("type") != "ContactUpdate" {
		t.Errorf("after the move: %s %s", d.path, d.body)
	}
	mustDo[jsonObj](t, hl, "DELETE", path, nil, 200)
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"PUT", path, jsonObj{"url": "ftp://x"}, 422},
		{"PUT", path, jsonObj{"url": "http://127.0.0.1:1/x", "events": []string{"TaskUpdate"}}, 422},
		{"PUT", path, jsonObj{"events": []string{}}, 422},
		{"PUT", "/__admin/webhooks/highlevel/nope", jsonObj{"url": "http://127.0.0.1:1/x"}, 404},
		{"DELETE", "/__admin/webhooks/highlevel/nope", nil, 404},
		{"POST", "/__admin/apps", jsonObj{"clientId": "x", "clientSecret": "y", "redirectUris": []string{"http://x"},
			"scopes": []string{}, "webhookUrl": "not a url"}, 422},
		{"GET", "/__admin/webhooks/deliveries?status=lost", nil, 422},
	} {
		if r := hl.do(t, tc.method, tc.path, tc.body); r.status != tc.status {
			t.Errorf("%s %s %v: %s, want %d", tc.method, tc.path, tc.body, r, tc.status)
		}
	}
	if _, err := mock.NewServer(mock.Options{NoListener: true, Webhooks: mock.WebhookOptions{URL: "localhost:9000"}}); err == nil {
		t.Error("a twin started with a webhook URL that is not absolute")
	}
	if _, err := mock.NewServer(mock.Options{NoListener: true, HighLevel: mock.HighLevelOptions{Apps: []auth.App{{ClientID: "a", ClientSecret: "b",
		WebhookURL: "http://127.0.0.1:1/x", WebhookEvents: []string{"contact.created"}}}}}); err == nil {
		t.Error("a twin started with an app subscribed to an event HighLevel does not have")
	}
}

func TestWebhooks_ConcurrentWritesArriveOnceInOrderPerContact(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	const contacts, updates = 12, 5
	var wg sync.WaitGroup
	for i := range contacts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := hl.call(t, apiRequest{method: "POST", path: "/contacts/", body: jsonObj{"locationId": hl.loc.ID, "firstName": fmt.Sprint("C", i)}})
			var created wireContactEnvelope
			if err := json.Unmarshal(r.body, &created); err != nil || r.status != 201 {
				t.Errorf("create: %s", r)
				return
			}
			for n := range updates {
				hl.call(t, apiRequest{method: "PUT", path: "/contacts/" + created.Contact.ID, body: jsonObj{"lastName": fmt.Sprint("L", n)}})
			}
		}()
	}
	wg.Wait()
	seen := map[string][]string{}
	ids := map[string]bool{}
	for _, d := range e.rcv.take(t, contacts*(1+updates)) {
		if ids[d.str("webhookId")] {
			t.Errorf("webhookId %s arrived twice", d.str("webhookId"))
		}
		ids[d.str("webhookId")] = true
		seen[d.str("id")] = append(seen[d.str("id")], d.str("type")+":"+d.str("lastName"))
	}
	want := []string{"ContactCreate:"}
	for n := range updates {
		want = append(want, fmt.Sprint("ContactUpdate:L", n))
	}
	for id, got := range seen {
		if !slices.Equal(got, want) {
			t.Errorf("contact %s: %v, want %v", id, got, want)
		}
	}
	if len(seen) != contacts {
		t.Errorf("events of %d contacts, want %d", len(seen), contacts)
	}
}

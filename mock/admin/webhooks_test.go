package admin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

func newKeys(t *testing.T) *webhooks.Keys {
	t.Helper()
	k, err := webhooks.GenerateKeys(1, false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAPI_GetWebhooksListsOnlyAppsWithAURL(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	tokens := &FakeTokens{
		AppFn: func(clientID string) (auth.App, bool) {
			return auth.App{ClientID: clientID}, clientID != "gone-3"
		},
		LocationsFn: func(clientID string) []string {
			if clientID != "hooked-2" {
				t.Errorf("locations asked of %s", clientID)
			}
			return []string{"L1", "L2"}
		},
	}
	fs := &FakeStore{
		WebhooksFn: func() []store.Webhook {
			// The subscription of an app that is gone (an imported state's) is not shown.
			return []store.Webhook{{ClientID: "gone-3", URL: "http://127.0.0.1:9/g"}, {ClientID: "hooked-2", URL: "http://127.0.0.1:9/h"}}
		},
		AllM360WebhooksFn: func() []store.M360Webhook {
			return []store.M360Webhook{{ID: 3, AccountID: 42, URL: "http://127.0.0.1:9/m", Events: []string{"contact.created"}}}
		},
	}
	wh := &FakeWebhooks{
		KeysFn:     func() *webhooks.Keys { return keys },
		SettingsFn: webhooks.DefaultSettings,
		StatsFn:    func() webhooks.Stats { return webhooks.Stats{Pending: 1, Delivered: 2} },
	}
	ev := &FakeEvents{EventOptionsFn: func() highlevel.EventOptions { return highlevel.EventOptions{UpdateAfterCreate: true} }}
	h := newHandler(t, &admin.API{Tokens: tokens, Store: fs, Webhooks: wh, Events: ev})
	a := call(t, h, http.MethodGet, "/__admin/webhooks", "").want(t, http.StatusOK)
	if set := a.body["settings"].(map[string]any); set["updateAfterCreate"] != true {
		t.Errorf("settings %v", set)
	}
	subs := a.body["subscriptions"].(map[string]any)
	hl := subs["highlevel"].([]any)
	if len(hl) != 1 {
		t.Fatalf("highlevel subscriptions %v", hl)
	}
	sub := hl[0].(map[string]any)
	if sub["clientId"] != "hooked-2" || sub["appId"] != "hooked" || fmt.Sprint(sub["locations"]) != "[L1 L2]" ||
		fmt.Sprint(sub["events"]) != "[]" {
		t.Errorf("subscription %v", sub)
	}
	if m := subs["m360"].([]any); len(m) != 1 || m[0].(map[string]any)["accountId"] != 42.0 {
		t.Errorf("m360 subscriptions %v", m)
	}
	if d := a.body["deliveries"].(map[string]any); d["pending"] != 1.0 || d["delivered"] != 2.0 {
		t.Errorf("deliveries %v", d)
	}
	if k := a.body["keys"].(map[string]any); k["ed25519"] != keys.Public().Ed25519 || k["rsa"] != "" {
		t.Errorf("keys %v", k)
	}
}

func TestAPI_WebhookKeys(t *testing.T) {
	t.Parallel()
	keys := newKeys(t)
	h := newHandler(t, &admin.API{Webhooks: &FakeWebhooks{KeysFn: func() *webhooks.Keys { return keys }}})
	if a := call(t, h, http.MethodGet, "/__admin/webhooks/keys", "").want(t, http.StatusOK); a.body["ed25519"] != keys.Public().Ed25519 {
		t.Errorf("keys %s", a.raw)
	}
	if a := call(t, h, http.MethodGet, "/__admin/webhooks/keys/ed25519.pem", "").want(t, http.StatusOK); a.raw != keys.Public().Ed25519 ||
		!strings.HasPrefix(a.raw, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("PEM %q", a.raw)
	}
	if a := call(t, h, http.MethodGet, "/__admin/webhooks/keys/rsa.pem", "").want(t, http.StatusNotFound); !strings.Contains(a.message(), "--webhook-rsa") {
		t.Errorf("message %q", a.message())
	}
}

func TestAPI_WebhookSettings(t *testing.T) {
	t.Parallel()
	current := webhooks.DefaultSettings()
	var set []webhooks.Settings
	wh := &FakeWebhooks{
		SettingsFn: func() webhooks.Settings { return current },
		SetSettingsFn: func(s webhooks.Settings) error {
			if s.Attempts == 7 {
				return fmt.Errorf("attempts: %w", webhooks.ErrInvalidSettings)
			}
			set = append(set, s)
			current = s.WithDefaults()
			return nil
		},
	}
	var events highlevel.EventOptions
	ev := &FakeEvents{
		EventOptionsFn:    func() highlevel.EventOptions { return events },
		SetEventOptionsFn: func(o highlevel.EventOptions) { events = o },
	}
	h := newHandler(t, &admin.API{Webhooks: wh, Events: ev})
	call(t, h, http.MethodGet, "/__admin/webhooks/settings", "").want(t, http.StatusOK)
	a := call(t, h, http.MethodPut, "/__admin/webhooks/settings", `{"attempts":3,"duplicates":0.5,"missingFields":true}`).want(t, http.StatusOK)
	if len(set) != 1 || set[0].Attempts != 3 || set[0].Duplicates != 0.5 || !events.MissingFields || a.body["attempts"] != 3.0 ||
		a.body["missingFields"] != true {
		t.Errorf("set %+v, events %+v, answered %s", set, events, a.raw)
	}
	call(t, h, http.MethodPut, "/__admin/webhooks/settings", `{"attempts":7}`).want(t, http.StatusUnprocessableEntity)
	call(t, h, http.MethodPut, "/__admin/webhooks/settings", `{"retries":7}`).want(t, http.StatusUnprocessableEntity)
	if len(set) != 1 {
		t.Errorf("refused settings were set: %+v", set)
	}
}

func TestAPI_HighLevelSubscription(t *testing.T) {
	t.Parallel()
	apps := map[string]auth.App{"app-1": {ClientID: "app-1", ClientSecret: "s", RedirectURIs: []string{"u"}, Scopes: []string{}}}
	var put []auth.App
	tokens := &FakeTokens{
		AppFn:       func(id string) (auth.App, bool) { a, ok := apps[id]; return a, ok },
		PutAppFn:    func(a auth.App) { put = append(put, a); apps[a.ClientID] = a },
		LocationsFn: func(string) []string { return nil },
	}
	check := func(a auth.App) error {
		if strings.HasPrefix(a.WebhookURL, "ftp:") {
			return errors.New("webhookUrl must be http or https")
		}
		return nil
	}
	var subs []store.Webhook
	fs := &FakeStore{SetWebhookFn: func(w store.Webhook) { subs = append(subs, w) }}
	h := newHandler(t, &admin.API{Tokens: tokens, Store: fs, CheckApp: check})

	a := call(t, h, http.MethodPut, "/__admin/webhooks/highlevel/app-1", `{"url":"http://127.0.0.1:9/h","events":["ContactCreate"]}`).
		want(t, http.StatusOK)
	if a.body["url"] != "http://127.0.0.1:9/h" || fmt.Sprint(a.body["locations"]) != "[]" || a.body["appId"] != "app" {
		t.Errorf("subscription %s", a.raw)
	}
	if len(subs) != 1 || subs[0].ClientID != "app-1" || subs[0].URL != "http://127.0.0.1:9/h" ||
		!slices.Equal(subs[0].Events, []string{"ContactCreate"}) || len(put) != 1 || put[0].ClientSecret != "s" {
		t.Errorf("subscriptions %+v, put %+v", subs, put)
	}
	a = call(t, h, http.MethodPut, "/__admin/webhooks/highlevel/app-1", `{"url":"ftp://x"}`).want(t, http.StatusUnprocessableEntity)
	if a.message() != "webhookUrl must be http or https" || len(put) != 1 || len(subs) != 1 {
		t.Errorf("refused URL: %q, put %d, subscriptions %d", a.message(), len(put), len(subs))
	}
	if a := call(t, h, http.MethodPut, "/__admin/webhooks/highlevel/nobody", `{"url":"http://127.0.0.1:9/h"}`).
		want(t, http.StatusNotFound); a.message() != "no app nobody" {
		t.Errorf("message %q", a.message())
	}
	call(t, h, http.MethodPut, "/__admin/webhooks/highlevel/app-1", `{"url":""}`).want(t, http.StatusUnprocessableEntity)

	call(t, h, http.MethodDelete, "/__admin/webhooks/highlevel/app-1", "").want(t, http.StatusOK)
	if last := subs[len(subs)-1]; len(subs) != 2 || last.ClientID != "app-1" || last.URL != "" || len(put) != 1 {
		t.Errorf("after delete: subscriptions %+v, put %d", subs, len(put))
	}
	call(t, h, http.MethodDelete, "/__admin/webhooks/highlevel/nobody", "").want(t, http.StatusNotFound)
}

func TestAPI_Deliveries(t *testing.T) {
	t.Parallel()
	var filters []webhooks.Filter
	wh := &FakeWebhooks{
		DeliveriesFn: func(f webhooks.Filter) ([]webhooks.Delivery, int) {
			filters = append(filters, f)
			return []webhooks.Delivery{newDelivery("wh_1")}, 5
		},
		DeliveryFn: func(id string) (webhooks.Delivery, error) {
			if id != "wh_1" {
				return webhooks.Delivery{}, fmt.Errorf("delivery %s: %w", id, webhooks.ErrNotFound)
			}
			return newDelivery(id), nil
		},
		RedeliverFn: func(id string) (webhooks.Delivery, error) {
			switch id {
			case "wh_1":
				d := newDelivery("wh_2")
				d.RedeliveryOf = id
				return d, nil
			case "refused":
				return webhooks.Delivery{}, fmt.Errorf("strict mode refused it: %w", webhooks.ErrInvalidPayload)
			}
			return webhooks.Delivery{}, webhooks.ErrClosed
		},
	}
	h := newHandler(t, &admin.API{Webhooks: wh})
	a := call(t, h, http.MethodGet, "/__admin/webhooks/deliveries?twin=highlevel&event=ContactCreate&status=pending&subscription=a-1&resource=contact/c1&eventId=e1&limit=3", "").
		want(t, http.StatusOK)
	want := webhooks.Filter{Twin: "highlevel", Event: "ContactCreate", Status: "pending", Subscription: "a-1",
		Resource: "contact/c1", EventID: "e1", Limit: 3}
	if len(filters) != 1 || filters[0] != want || a.body["total"] != 5.0 {
		t.Errorf("filters %+v, answer %s", filters, a.raw)
	}
	call(t, h, http.MethodGet, "/__admin/webhooks/deliveries?status=lost", "").want(t, http.StatusUnprocessableEntity)

	if a := call(t, h, http.MethodGet, "/__admin/webhooks/deliveries/wh_1", "").want(t, http.StatusOK); a.body["id"] != "wh_1" {
		t.Errorf("delivery %s", a.raw)
	}
	call(t, h, http.MethodGet, "/__admin/webhooks/deliveries/wh_9", "").want(t, http.StatusNotFound)

	if a := call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/wh_1/redeliver", "").want(t, http.StatusAccepted); a.body["redeliveryOf"] != "wh_1" {
		t.Errorf("redelivery %s", a.raw)
	}
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/refused/redeliver", "").want(t, http.StatusUnprocessableEntity)
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/late/redeliver", "").want(t, http.StatusServiceUnavailable)
	a = call(t, h, http.MethodGet, "/__admin/webhooks/deliveries?since="+t0.Format(time.RFC3339), "").want(t, http.StatusOK)
	if last := filters[len(filters)-1]; !last.Since.Equal(t0) {
		t.Errorf("since: filter %+v", last)
	}
}

func TestAPI_RedeliverMatching(t *testing.T) {
	t.Parallel()
	var got []webhooks.Filter
	closed := false
	wh := &FakeWebhooks{MatchingFn: func(f webhooks.Filter) ([]webhooks.Delivery, error) {
		got = append(got, f)
		if closed {
			return nil, webhooks.ErrClosed
		}
		d := newDelivery("wh_7")
		d.RedeliveryOf = "wh_1"
		return []webhooks.Delivery{d}, nil
	}}
	h := newHandler(t, &admin.API{Webhooks: wh})
	a := call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/redeliver",
		`{"since":"`+t0.Format(time.RFC3339)+`","twin":"highlevel","event":"ContactCreate","resource":"contact/c1","status":"delivered","subscription":"a-1","eventId":"e1"}`).
		want(t, http.StatusAccepted)
	want := webhooks.Filter{Since: t0, Twin: "highlevel", Event: "ContactCreate", Resource: "contact/c1", Status: "delivered",
		Subscription: "a-1", EventID: "e1"}
	if len(got) != 1 || !got[0].Since.Equal(want.Since) || got[0].Event != want.Event || got[0].Resource != want.Resource ||
		got[0].Status != want.Status || got[0].Twin != want.Twin || got[0].Subscription != want.Subscription ||
		got[0].EventID != want.EventID || a.body["total"] != 1.0 {
		t.Errorf("filters %+v, answer %s", got, a.raw)
	}
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/redeliver", `{}`).want(t, http.StatusAccepted)
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/redeliver", `{"status":"lost"}`).want(t, http.StatusUnprocessableEntity)
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/redeliver", `{"resource":"contact/c1","other":1}`).want(t, http.StatusUnprocessableEntity)
	closed = true
	call(t, h, http.MethodPost, "/__admin/webhooks/deliveries/redeliver", `{}`).want(t, http.StatusServiceUnavailable)
}

// newDelivery is a delivery the spec accepts.
func newDelivery(id string) webhooks.Delivery {
	return webhooks.Delivery{ID: id, Message: webhooks.Message{Twin: "highlevel", Event: "ContactCreate", EventID: "e1",
		Subscription: "a-1", Target: "http://127.0.0.1:9/hooks", Resource: "contact/c1", At: t0, Body: json.RawMessage(`{}`)},
		Status: "pending", Attempts: []webhooks.Attempt{}, CreatedAt: t0}
}

func TestAPI_UninstallApp(t *testing.T) {
	t.Parallel()
	var told []string
	tokens := &FakeTokens{
		AppFn: func(id string) (auth.App, bool) { return auth.App{ClientID: id}, id == "app-1" },
		UninstallFn: func(clientID, location string) (int, bool) {
			return 3, clientID == "app-1" && location == "L1"
		},
	}
	events := &FakeEvents{AppUninstalledFn: func(app auth.App, location string, at time.Time) {
		told = append(told, app.ClientID+"@"+location+"@"+at.Format(time.RFC3339))
	}}
	h := newHandler(t, &admin.API{Tokens: tokens, Events: events, Clock: clock.NewManual(t0)})
	a := call(t, h, http.MethodPost, "/__admin/apps/app-1/uninstall", `{"locationId":"L1"}`).want(t, http.StatusOK)
	if a.body["revokedTokens"] != 3.0 || a.body["clientId"] != "app-1" || a.body["locationId"] != "L1" {
		t.Errorf("answer %s", a.raw)
	}
	if want := "app-1@L1@" + t0.Format(time.RFC3339); len(told) != 1 || told[0] != want {
		t.Errorf("events told %v, want [%s]", told, want)
	}
	call(t, h, http.MethodPost, "/__admin/apps/app-1/uninstall", `{"locationId":"L2"}`).want(t, http.StatusNotFound)
	call(t, h, http.MethodPost, "/__admin/apps/nobody/uninstall", `{"locationId":"L1"}`).want(t, http.StatusNotFound)
	call(t, h, http.MethodPost, "/__admin/apps/app-1/uninstall", `{}`).want(t, http.StatusUnprocessableEntity)
	if len(told) != 1 {
		t.Errorf("an uninstall that failed sent AppUninstall: %v", told)
	}
}

package mock_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// Webhooks cannot loop (issue 12, class 9): no subscription, by any path,
// points at the twin's own listeners or admin API; and a webhook URL's
// password is never shown.

// TestHostile_WebhookToItselfRefused: on a listening twin, a subscription
// to either twin's listener (the admin API on it or the API), by any
// loopback spelling, is refused by the admin API (app and subscription),
// the Marketing 360 API and the state import; another port passes.
func TestHostile_WebhookToItselfRefused(t *testing.T) {
	t.Parallel()
	srv := newListening(t, mock.Options{})
	hlURL, _ := url.Parse(srv.HighLevel.URL())
	m360URL, _ := url.Parse(srv.M360.URL())
	app := srv.Defaults().HighLevel.App
	key := srv.Defaults().M360.Key
	send := func(method, target string, m360 bool, body any) (int, string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, err := http.NewRequest(method, target, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if m360 {
			req.SetBasicAuth(key.ClientID, key.ClientSecret)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	selves := []string{
		srv.HighLevel.URL() + "/__admin/reset",
		"http://localhost:" + m360URL.Port() + "/__admin/reset",
		"http://[::1]:" + hlURL.Port() + "/contacts/",
		"http://127.0.0.9:" + m360URL.Port() + "/v1/contacts",
	}
	for _, target := range selves {
		if status, body := send("PUT", srv.HighLevel.URL()+"/__admin/webhooks/highlevel/"+app.ClientID, false,
			map[string]any{"url": target}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "twin itself") {
			t.Errorf("admin subscription to %s: %d %s, want 422", target, status, body)
		}
		if status, body := send("POST", srv.HighLevel.URL()+"/__admin/apps", false, map[string]any{"clientId": "loop-1",
			"clientSecret": "s", "redirectUris": []string{"http://127.0.0.1:9/cb"}, "scopes": []string{}, "webhookUrl": target}); status != http.StatusUnprocessableEntity {
			t.Errorf("admin app with webhookUrl %s: %d %s, want 422", target, status, body)
		}
		if status, body := send("POST", srv.M360.URL()+"/v1/webhooks", true,
			map[string]any{"url": target, "events": []string{"contact.created"}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "twin itself") {
			t.Errorf("Marketing 360 subscription to %s: %d %s, want 422", target, status, body)
		}
	}
	st := srv.Store().Snapshot()
	st.Webhooks = []store.Webhook{{ClientID: app.ClientID, URL: selves[1]}}
	if status, body := send("PUT", srv.HighLevel.URL()+"/__admin/state", false, st); status != http.StatusUnprocessableEntity || !strings.Contains(body, "twin itself") {
		t.Errorf("import of a subscription to the twin: %d %s, want 422", status, body)
	}
	if status, body := send("PUT", srv.HighLevel.URL()+"/__admin/webhooks/highlevel/"+app.ClientID, false,
		map[string]any{"url": "http://127.0.0.1:9/hooks"}); status != http.StatusOK {
		t.Errorf("a subscription elsewhere: %d %s", status, body)
	}
}

// TestHostile_WebhookPasswordsRedacted: a webhook URL with a password is
// stored as given (deliveries use it) but every admin listing and the
// journal show it redacted.
func TestHostile_WebhookPasswordsRedacted(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	m := m360EnvOf(e.srv, e.clk)
	const secret = "hunter2pw"
	target := "http://hook:" + secret + "@127.0.0.1:9/hooks"
	app := e.srv.Defaults().HighLevel.App
	mustStatus(t, e.do(t, "PUT", "/__admin/webhooks/highlevel/"+app.ClientID, jsonObj{"url": target}), 200)
	mustStatus(t, e.do(t, "POST", "/__admin/apps", jsonObj{"clientId": "pw-1", "clientSecret": "s",
		"redirectUris": []string{"http://127.0.0.1:9/cb"}, "scopes": []string{"contacts.readonly"}, "location": e.loc.ID, "webhookUrl": target}), 201)
	mustStatus(t, m.do(t, "POST", "/v1/webhooks", jsonObj{"url": target, "events": []string{"contact.created"}}), 201)
	e.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	if w, ok := e.srv.Store().Webhook(app.ClientID); !ok || w.URL != target {
		t.Errorf("stored subscription %+v: want the URL as given", w)
	}
	for _, path := range []string{"/__admin/webhooks", "/__admin/apps", "/__admin/webhooks/deliveries", "/__admin/requests"} {
		r := e.do(t, "GET", path, nil)
		mustStatus(t, r, 200)
		if strings.Contains(string(r.body), secret) {
			t.Errorf("GET %s shows the webhook URL's password: %.300s", path, r.body)
		}
	}
}

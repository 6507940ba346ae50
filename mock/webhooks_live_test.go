package mock_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

func TestWebhooks_LivePolicyLosesAnEventTheReceiverRefuses(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	mustStatus(t, hl.do(t, "PUT", "/__admin/webhooks/settings", jsonObj{"retryPolicy": "live"}), 200)
	e.rcv.failNext("/ghl", 1) // a 503
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	e.rcv.next(t)
	if d := e.attempted(t); d.Status != webhooks.StatusDropped {
		t.Fatalf("after a 503 under the live policy: %s", d.Status)
	}
	log := mustDo[deliveryList](t, hl, "GET", "/__admin/webhooks/deliveries?status=dropped&resource=contact/"+c.ID, nil, 200)
	if log.Total != 1 || !strings.Contains(log.Deliveries[0].Error, "503") || !strings.Contains(log.Deliveries[0].Error, "live retry policy") {
		t.Errorf("the delivery log: %+v", log)
	}
	// Redelivered by filter, it goes out again: the receiver is back.
	again := mustDo[deliveryList](t, hl, "POST", "/__admin/webhooks/deliveries/redeliver", jsonObj{"status": "dropped", "resource": "contact/" + c.ID}, 202)
	if again.Total != 1 || again.Deliveries[0].RedeliveryOf != log.Deliveries[0].ID {
		t.Fatalf("redelivery: %+v", again)
	}
	if d := e.rcv.next(t); d.str("id") != c.ID || d.str("type") != "ContactCreate" {
		t.Errorf("redelivered %s", d.body)
	}
}

func TestWebhooks_AppUninstallRevokesTheTokensAndIsSent(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	app := e.srv.Defaults().HighLevel.App
	code, err := e.srv.Tokens().Authorize(app.ClientID, app.RedirectURIs[0], "", hl.loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.srv.Tokens().Token(auth.TokenRequest{ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		GrantType: "authorization_code", Code: code, RedirectURI: app.RedirectURIs[0]})
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, hl.call(t, apiRequest{method: "GET", path: "/contacts/?locationId=" + hl.loc.ID, token: tok.AccessToken}), 200)

	out := mustDo[jsonObj](t, hl, "POST", "/__admin/apps/"+app.ClientID+"/uninstall", jsonObj{"locationId": hl.loc.ID}, 200)
	if out["revokedTokens"].(float64) < 2 {
		t.Errorf("uninstall answered %v: want the access and the refresh token revoked", out)
	}
	// The body's type is the vendor's UNINSTALL, which the catalog does not
	// key on: the strict twin checked it against AppUninstall's schema, and
	// delivered it.
	if d := e.attempted(t); d.Event != "AppUninstall" || d.Status != webhooks.StatusDelivered {
		t.Errorf("AppUninstall delivery %s: %s %s", d.ID, d.Event, d.Status)
	}
	if d := e.rcv.next(t); d.str("type") != "UNINSTALL" || d.str("appId") != app.AppID() || d.str("locationId") != hl.loc.ID || d.str("versionId") == "" ||
		d.str("companyId") == "" || d.str("webhookId") == "" {
		t.Errorf("AppUninstall %s", d.body)
	}

	// The sync's re-authorisation path: the refresh is refused, the token too.
	refresh := url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}}
	r := hl.call(t, apiRequest{method: http.MethodPost, path: "/oauth/token", body: refresh.Encode(),
		contentType: "application/x-www-form-urlencoded", token: omitHeader, version: omitHeader})
	mustOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	mustStatus(t, hl.call(t, apiRequest{method: "GET", path: "/contacts/?locationId=" + hl.loc.ID, token: tok.AccessToken}), 401)

	mustStatus(t, hl.do(t, "POST", "/__admin/apps/"+app.ClientID+"/uninstall", jsonObj{"locationId": hl.loc.ID}), 404)
	mustStatus(t, hl.do(t, "POST", "/__admin/apps/nobody/uninstall", jsonObj{"locationId": hl.loc.ID}), 404)
	mustStatus(t, hl.do(t, "POST", "/__admin/apps/"+app.ClientID+"/uninstall", jsonObj{}), 422)
}

// TestWebhooks_ContactPayloadsAsLive: through the strict twin, a
// ContactCreate of a contact created with DND set carries dnd and every
// channel's dndSettings; a DND change sends ContactDndUpdate with all six
// channels; each envelope carries versionId and companyId; dateOfBirth is
// the ISO form and customFields keep their types, as the vendor's webhook
// documents have them.
func TestWebhooks_ContactPayloadsAsLive(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	lead, plan := hl.loc.CustomFields[0], hl.loc.CustomFields[1]
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Quiet", "dnd": true, "dateOfBirth": "09/25/1990",
		"customFields": []jsonObj{{"id": lead.ID, "field_value": 7}, {"key": plan.Key, "field_value": []string{"a", "b"}}}})
	mustStatus(t, hl.do(t, "PUT", "/contacts/"+c.ID, jsonObj{"dndSettings": jsonObj{"Email": jsonObj{"status": "permanent", "message": "bounced"}}}), 200)
	types, got := e.events(t, 2)
	wantEvents(t, types, "ContactCreate", "ContactDndUpdate")
	channels := []string{"Call", "Email", "SMS", "WhatsApp", "GMB", "FB"}
	for i, d := range got {
		if d.str("versionId") == "" || d.str("companyId") == "" || d.str("appId") == "" {
			t.Errorf("event %d envelope: %s", i, d.body)
		}
		dnd, _ := d.fields["dndSettings"].(map[string]any)
		for _, ch := range channels {
			if _, ok := dnd[ch].(map[string]any); !ok {
				t.Errorf("event %d (%s) lacks the %s channel: %s", i, d.str("type"), ch, d.body)
			}
		}
		if d.fields["dnd"] != true {
			t.Errorf("event %d: dnd %v", i, d.fields["dnd"])
		}
	}
	create := got[0]
	if dnd := create.fields["dndSettings"].(map[string]any); dnd["SMS"].(map[string]any)["status"] != "active" {
		t.Errorf("ContactCreate with DND set: %s", create.body)
	}
	if create.str("dateOfBirth") != "1990-09-25T00:00:00.000Z" {
		t.Errorf("ContactCreate dateOfBirth %q", create.str("dateOfBirth"))
	}
	if fields := fmt.Sprint(create.fields["customFields"]); fields != fmt.Sprintf("[map[id:%s value:7] map[id:%s value:[a b]]]", lead.ID, plan.ID) {
		t.Errorf("ContactCreate customFields %s", fields)
	}
	if email := got[1].fields["dndSettings"].(map[string]any)["Email"].(map[string]any); email["status"] != "permanent" || email["message"] != "bounced" {
		t.Errorf("ContactDndUpdate Email %v", email)
	}
}

// TestWebhooks_TagChangeAlsoSendsContactUpdateUnderItsToggle: through the
// twin, a tag-only change sends ContactTagUpdate alone, and with
// updateOnTagChange also a ContactUpdate first, as live is reported to;
// a change of other fields is not doubled.
func TestWebhooks_TagChangeAlsoSendsContactUpdateUnderItsToggle(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Tag"})
	path := "/contacts/" + c.ID + "/tags"
	mustStatus(t, hl.do(t, "POST", path, jsonObj{"tags": []string{"one"}}), 201)
	types, _ := e.events(t, 2)
	wantEvents(t, types, "ContactCreate", "ContactTagUpdate")

	mustStatus(t, hl.do(t, "PUT", "/__admin/webhooks/settings", jsonObj{"updateOnTagChange": true}), 200)
	mustStatus(t, hl.do(t, "POST", path, jsonObj{"tags": []string{"two"}}), 201)
	mustStatus(t, hl.do(t, "PUT", "/contacts/"+c.ID, jsonObj{"lastName": "Less"}), 200)
	types, got := e.events(t, 3)
	wantEvents(t, types, "ContactUpdate", "ContactTagUpdate", "ContactUpdate")
	if fmt.Sprint(got[0].fields["tags"]) != "[one two]" || got[1].str("webhookId") == got[0].str("webhookId") {
		t.Errorf("the tag change's ContactUpdate %s / ContactTagUpdate %s", got[0].body, got[1].body)
	}
}

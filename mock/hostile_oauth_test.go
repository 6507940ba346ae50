package mock_test

import (
	"net/http"
	"testing"
)

// OAuth tenant isolation (issue 12, class 5): an app installed on one
// location gets nothing of another through any grant, a token never carries
// more scope than its app has now, and a code's exchange must repeat the
// redirect_uri. Errors are in the OAuth error shape.

// TestHostile_OAuthOtherLocation: with the location existing, neither
// client_credentials, the consent page nor a code gives the default app a
// token for a location it is not installed on; once installed there, each
// does.
func TestHostile_OAuthOtherLocation(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	other, _ := o.addLocation(t, "HostileOtherLoc00001", false)

	mustOAuthError(t, o.token(t, o.grant("client_credentials", "location_id", other.ID)), http.StatusBadRequest, "unauthorized_client")
	q := o.authorizeQuery("", "s")
	q.Set("location_id", other.ID)
	got := mustRedirect(t, o.chooseLocation(t, "/oauth/chooselocation", q), q.Get("redirect_uri"))
	if got.Get("error") != "access_denied" || got.Get("code") != "" || got.Get("error_description") == "" {
		t.Errorf("consent page for another location redirected with %v, want access_denied and no code", got)
	}
	// A code of the app's own location stays there.
	tok := o.mustExchange(t, o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("", "s")))
	if tok.LocationID != o.loc.ID {
		t.Errorf("token for %s, want %s", tok.LocationID, o.loc.ID)
	}
	r := o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + other.ID, token: tok.AccessToken})
	mustStatus(t, r, http.StatusForbidden)

	installed := o.app
	installed.Locations = []string{other.ID}
	o.srv.Tokens().PutApp(installed)
	cc := o.mustToken(t, o.grant("client_credentials", "location_id", other.ID))
	mustStatus(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + other.ID, token: cc.AccessToken}), http.StatusOK)
	o.mustExchange(t, o.mustCode(t, "/oauth/chooselocation", q))
}

// TestHostile_OAuthRefreshAfterScopeCut: a refresh after the app lost a
// scope issues the reduced scope, and the new token is refused what the
// lost scope allowed.
func TestHostile_OAuthRefreshAfterScopeCut(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	tok := o.mustExchange(t, o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("contacts.readonly contacts.write", "s")))
	cut := o.app
	cut.Scopes = []string{"contacts.readonly"}
	o.srv.Tokens().PutApp(cut)
	again := o.mustToken(t, o.grant("refresh_token", "refresh_token", *tok.RefreshToken))
	if again.Scope != "contacts.readonly" {
		t.Fatalf("refreshed scope %q, want contacts.readonly", again.Scope)
	}
	mustStatus(t, o.listContacts(t, again.AccessToken), http.StatusOK)
	r := o.call(t, apiRequest{method: http.MethodPost, path: "/contacts/", token: again.AccessToken,
		body: jsonObj{"locationId": o.loc.ID, "firstName": "Eve"}})
	mustStatus(t, r, http.StatusUnauthorized)
}

// TestHostile_OAuthRedirectURIRequired: RFC 6749 4.1.3, the exchange of a
// code whose request sent redirect_uri must send it too; the refused
// exchange does not use the code up.
func TestHostile_OAuthRedirectURIRequired(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	code := o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("", "s"))
	e := mustOAuthError(t, o.token(t, o.grant("authorization_code", "code", code)), http.StatusBadRequest, "invalid_request")
	if e.Message == "" {
		t.Error("no description")
	}
	o.mustExchange(t, code)
}

// TestHostile_WebhooksOnlyForInstalledLocations: an app receives no events
// of a location it is not installed on, whatever tokens it asked for.
func TestHostile_WebhooksOnlyForInstalledLocations(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	other, _ := o.addLocation(t, "HostileHookLoc000001", false)
	o.token(t, o.grant("client_credentials", "location_id", other.ID))
	q := o.authorizeQuery("", "")
	q.Set("location_id", other.ID)
	o.chooseLocation(t, "/oauth/chooselocation", q)
	if got := o.srv.Tokens().Locations(o.app.ClientID); len(got) != 1 || got[0] != o.loc.ID {
		t.Errorf("the app is installed on %v, want only %s", got, o.loc.ID)
	}
	if o.srv.Tokens().Installed(o.app.ClientID, other.ID) {
		t.Error("installed on the other location")
	}
}

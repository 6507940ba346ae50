package auth_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
)

const redirect = "http://127.0.0.1:9000/cb"

// newApp registers app-1 (secret s3cret, scopes a and b, location L) on a
// registry that knows the locations L and M.
func newApp(t *testing.T) (*auth.Registry, func(d time.Duration)) {
	t.Helper()
	r, clk := newRegistry(t)
	r.KnownLocation = func(id string) bool { return id == "L" || id == "M" }
	r.PutApp(auth.App{ClientID: "app-1", ClientSecret: "s3cret", RedirectURIs: []string{redirect}, Scopes: []string{"a", "b"}, Location: "L",
		Locations: []string{"M"}})
	return r, clk.Advance
}

func tokenReq(grant string) auth.TokenRequest {
	return auth.TokenRequest{ClientID: "app-1", ClientSecret: "s3cret", GrantType: grant}
}

// wantOAuth fails unless err is an *OAuthError with code.
func wantOAuth(t *testing.T, what string, err, code error) {
	t.Helper()
	var oe *auth.OAuthError
	if !errors.As(err, &oe) || !errors.Is(err, code) {
		t.Errorf("%s: %v, want %v", what, err, code)
	}
}

func TestRegistry_Apps(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	uris := []string{"u1"}
	r.PutApp(auth.App{ClientID: "zed-2", RedirectURIs: uris, Scopes: []string{"a"}, WebhookURL: "http://127.0.0.1/h", Location: "L"})
	r.PutApp(auth.App{ClientID: "abc-1", Scopes: []string{"a"}, Location: "M"})
	uris[0] = "changed"
	if got, ok := r.App("zed-2"); !ok || got.RedirectURIs[0] != "u1" {
		t.Errorf("app %+v, %v: PutApp keeps a copy", got, ok)
	}
	if _, ok := r.App("none"); ok {
		t.Error("an unknown app was found")
	}
	var ids []string
	for _, a := range r.Apps() {
		ids = append(ids, a.ClientID)
	}
	if !slices.Equal(ids, []string{"abc-1", "zed-2"}) {
		t.Errorf("apps %v, want sorted by client id", ids)
	}
	r.PutApp(auth.App{ClientID: "abc-1", Scopes: []string{"b"}})
	if a, _ := r.App("abc-1"); !slices.Equal(a.Scopes, []string{"b"}) || len(r.Apps()) != 2 {
		t.Errorf("replaced app %+v", a)
	}
	if a, _ := r.App("zed-2"); a.WebhookURL != "" {
		t.Errorf("app %+v: the registry keeps no subscription", a)
	}
	if !r.Installed("zed-2", "L") || r.Installed("zed-2", "M") || r.Installed("none", "L") {
		t.Error("Installed: want zed-2 on its own location L only")
	}
}

func TestApp_AppIDAndAllows(t *testing.T) {
	t.Parallel()
	a := auth.App{ClientID: "6630f2-lv8k", Scopes: []string{"contacts.readonly"}}
	if a.AppID() != "6630f2" || (auth.App{ClientID: "plain"}).AppID() != "plain" {
		t.Errorf("AppID %q", a.AppID())
	}
	for _, tc := range []struct {
		name   string
		scopes []string
		want   bool
	}{
		{"has the scope", []string{"contacts.readonly"}, true},
		{"lacks the scope", []string{"calendars/events.readonly"}, false},
		{"needs none", nil, true},
	} {
		if got := a.Allows(tc.scopes); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestRegistry_AuthorizeChecksTheRequest(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	for _, tc := range []struct {
		name                       string
		client, uri, scope, locate string
		want                       error
	}{
		{"unknown app", "nobody", redirect, "", "", auth.ErrUnknownApp},
		{"unregistered redirect", "app-1", "http://127.0.0.1:9000/other", "", "", auth.ErrRedirectMismatch},
		{"scope not granted", "app-1", redirect, "a c", "", auth.ErrInvalidScope},
		{"unknown location", "app-1", redirect, "", "Z", auth.ErrInvalidRequest},
	} {
		if _, err := r.Authorize(tc.client, tc.uri, tc.scope, tc.locate); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRegistry_AuthorizationCodeGrant(t *testing.T) {
	t.Parallel()
	r, advance := newApp(t)
	r.SetAccount("comp", "user")
	code, err := r.Authorize("app-1", redirect, "a", "M")
	if err != nil {
		t.Fatal(err)
	}
	req := tokenReq("authorization_code")
	req.Code, req.RedirectURI = code, "http://127.0.0.1:9000/elsewhere"
	_, err = r.Token(req)
	wantOAuth(t, "another redirect_uri", err, auth.ErrInvalidGrant)

	req.RedirectURI = redirect
	resp, err := r.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 86399 || resp.Scope != "a" || resp.LocationID != "M" ||
		resp.UserType != "Location" || resp.CompanyID != "comp" || resp.UserID != "user" ||
		!slices.Equal(resp.Approved, []string{"M"}) || resp.RefreshToken == "" {
		t.Errorf("response %+v", resp)
	}
	p, err := r.Authenticate("Bearer " + resp.AccessToken)
	if err != nil || p.Kind != auth.OAuthAccess || p.AppID != "app-1" || p.LocationID != "M" || !slices.Equal(p.Scopes, []string{"a"}) ||
		!p.ExpiresAt.Equal(t0.Add(86399*time.Second)) {
		t.Errorf("principal %+v, %v", p, err)
	}
	if got := r.Locations("app-1"); !slices.Equal(got, []string{"L", "M"}) || !r.Installed("app-1", "M") {
		t.Errorf("locations %v: the app is installed on its own and its other locations", got)
	}
	_, err = r.Token(req)
	wantOAuth(t, "the code a second time", err, auth.ErrInvalidGrant)

	all, err := r.Authorize("app-1", redirect, "", "")
	if err != nil {
		t.Fatal(err)
	}
	advance(10 * time.Minute)
	req.Code = all
	_, err = r.Token(req)
	wantOAuth(t, "an expired code", err, auth.ErrInvalidGrant)

	fresh, _ := r.Authorize("app-1", redirect, "", "")
	r.PutApp(auth.App{ClientID: "app-2", ClientSecret: "x", RedirectURIs: []string{redirect}})
	_, err = r.Token(auth.TokenRequest{ClientID: "app-2", ClientSecret: "x", GrantType: "authorization_code", Code: fresh})
	wantOAuth(t, "another app's code", err, auth.ErrInvalidGrant)
	req.Code, req.RedirectURI = fresh, ""
	_, err = r.Token(req)
	wantOAuth(t, "no redirect_uri where the authorization request sent one", err, auth.ErrInvalidRequest)
	req.RedirectURI = redirect
	if resp, err = r.Token(req); err != nil || resp.Scope != "a b" || resp.LocationID != "L" {
		t.Errorf("every scope of the app, at its location: %+v, %v", resp, err)
	}
}

func TestRegistry_RefreshRotates(t *testing.T) {
	t.Parallel()
	r, advance := newApp(t)
	first, req := mustRefreshable(t, r)
	second, err := r.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || second.Scope != first.Scope ||
		second.LocationID != first.LocationID {
		t.Errorf("rotation: %+v after %+v", second, first)
	}
	_, err = r.Token(req)
	wantOAuth(t, "a used refresh token (no grace)", err, auth.ErrInvalidGrant)
	if _, err := r.Authenticate("Bearer " + first.AccessToken); err != nil {
		t.Errorf("a refresh leaves the old access token to its expiry: %v", err)
	}

	req.RefreshToken = second.RefreshToken
	req.ClientSecret = "wrong"
	_, err = r.Token(req)
	wantOAuth(t, "wrong secret", err, auth.ErrInvalidClient)
	req.ClientSecret = "s3cret"

	advance(365 * 24 * time.Hour)
	_, err = r.Token(req)
	wantOAuth(t, "an expired refresh token", err, auth.ErrInvalidGrant)
}

func TestRegistry_RefreshGrace(t *testing.T) {
	t.Parallel()
	r, advance := newApp(t)
	life := auth.DefaultLifetimes()
	life.RefreshGrace = 30 * time.Second
	r.SetLifetimes(life)
	if r.Lifetimes() != life {
		t.Fatalf("lifetimes %+v", r.Lifetimes())
	}
	_, req := mustRefreshable(t, r)
	a, err := r.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	advance(30*time.Second - time.Nanosecond)
	b, err := r.Token(req)
	if err != nil {
		t.Fatalf("within the grace window: %v", err)
	}
	if a.RefreshToken == b.RefreshToken {
		t.Error("each use within the grace window gets its own refresh token")
	}
	advance(time.Nanosecond)
	_, err = r.Token(req)
	wantOAuth(t, "past the grace window, counted from the first use", err, auth.ErrInvalidGrant)
	req.RefreshToken = b.RefreshToken
	if _, err := r.Token(req); err != nil {
		t.Errorf("the token issued within the grace window: %v", err)
	}
}

func TestRegistry_ClientCredentials(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	resp, err := r.Token(tokenReq("client_credentials"))
	if err != nil || resp.LocationID != "L" || resp.RefreshToken != "" || resp.Scope != "a b" {
		t.Fatalf("default location: %+v, %v", resp, err)
	}
	req := tokenReq("client_credentials")
	req.Location = "M"
	if resp, err = r.Token(req); err != nil || resp.LocationID != "M" {
		t.Errorf("chosen location: %+v, %v", resp, err)
	}
	req.Location = "Z"
	_, err = r.Token(req)
	wantOAuth(t, "unknown location", err, auth.ErrInvalidRequest)

	r.PutApp(auth.App{ClientID: "homeless", ClientSecret: "x"})
	_, err = r.Token(auth.TokenRequest{ClientID: "homeless", ClientSecret: "x", GrantType: "client_credentials"})
	wantOAuth(t, "no location at all", err, auth.ErrInvalidRequest)
}

func TestRegistry_TokenRequestErrors(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	for _, tc := range []struct {
		name string
		req  auth.TokenRequest
		want error
	}{
		{"unknown client", auth.TokenRequest{ClientID: "nobody", ClientSecret: "s3cret", GrantType: "client_credentials"}, auth.ErrInvalidClient},
		{"wrong secret", auth.TokenRequest{ClientID: "app-1", ClientSecret: "s3cre", GrantType: "client_credentials"}, auth.ErrInvalidClient},
		{"no grant type", tokenReq(""), auth.ErrInvalidRequest},
		{"password grant", tokenReq("password"), auth.ErrUnsupportedGrantType},
		{"unknown code", func() auth.TokenRequest { q := tokenReq("authorization_code"); q.Code = "nope"; return q }(), auth.ErrInvalidGrant},
		{"unknown refresh token", func() auth.TokenRequest { q := tokenReq("refresh_token"); q.RefreshToken = "nope"; return q }(), auth.ErrInvalidGrant},
	} {
		_, err := r.Token(tc.req)
		wantOAuth(t, tc.name, err, tc.want)
	}
	_, err := r.Token(tokenReq("password"))
	if !strings.HasPrefix(err.Error(), "unsupported_grant_type: ") || !strings.Contains(err.Error(), `"password"`) {
		t.Errorf("message %q", err)
	}
}

func TestRegistry_ForgetsLongExpiredGrants(t *testing.T) {
	t.Parallel()
	r, advance := newApp(t)
	old, _ := r.Mint("L", nil, time.Minute, false)
	advance(25 * time.Hour)
	if _, err := r.Authenticate("Bearer " + old); !errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("before the sweep: %v", err)
	}
	for range 1024 {
		if _, err := r.Token(tokenReq("client_credentials")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Authenticate("Bearer " + old); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("a token expired for a day is still held: %v", err)
	}
}

// mustRefreshable runs app-1's authorization code flow and returns the
// tokens and the refresh request of their refresh token.
func mustRefreshable(t *testing.T, r *auth.Registry) (auth.TokenResponse, auth.TokenRequest) {
	t.Helper()
	resp := mustGrant(t, r, "", "")
	refresh := tokenReq("refresh_token")
	refresh.RefreshToken = resp.RefreshToken
	return resp, refresh
}

func TestRegistry_UninstallRevokesTheAppsTokensForTheLocation(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	atL, refreshL := mustRefreshable(t, r) // the app's own location, L
	atM := mustGrant(t, r, "a", "M")
	if _, ok := r.Uninstall("app-1", "Z"); ok {
		t.Error("uninstalled from a location it was never installed on")
	}
	if _, ok := r.Uninstall("nobody", "L"); ok {
		t.Error("uninstalled an unknown app")
	}
	revoked, ok := r.Uninstall("app-1", "L")
	if !ok || revoked != 2 {
		t.Errorf("uninstall from L: %d revoked, %v; want the access and the refresh token", revoked, ok)
	}
	if _, err := r.Authenticate("Bearer " + atL.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("the access token for L after the uninstall: %v", err)
	}
	_, err := r.Token(refreshL)
	wantOAuth(t, "a refresh after the uninstall", err, auth.ErrInvalidGrant)
	if r.Installed("app-1", "L") || !r.Installed("app-1", "M") || !slices.Equal(r.Locations("app-1"), []string{"M"}) {
		t.Errorf("installed on %v after the uninstall from L", r.Locations("app-1"))
	}
	if _, err := r.Authenticate("Bearer " + atM.AccessToken); err != nil {
		t.Errorf("the token for M went with L's: %v", err)
	}
	if _, ok := r.Uninstall("app-1", "L"); ok {
		t.Error("uninstalled twice")
	}
}

// mustGrant runs app-1's authorization-code grant for scope and location
// ("" for the app's).
func mustGrant(t *testing.T, r *auth.Registry, scope, location string) auth.TokenResponse {
	t.Helper()
	code, err := r.Authorize("app-1", redirect, scope, location)
	if err != nil {
		t.Fatal(err)
	}
	req := tokenReq("authorization_code")
	req.Code, req.RedirectURI = code, redirect
	resp, err := r.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRegistry_OnlyInstalledLocations: no grant gives an app a token for a
// location it is not installed on, though the location exists (issue 12,
// class 5); uninstalling stops the refresh too.
func TestRegistry_OnlyInstalledLocations(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	r.KnownLocation = func(id string) bool { return id == "L" || id == "M" || id == "N" }
	_, err := r.Authorize("app-1", redirect, "", "N")
	wantOAuth(t, "the consent screen for another location", err, auth.ErrAccessDenied)
	req := tokenReq("client_credentials")
	req.Location = "N"
	_, err = r.Token(req)
	wantOAuth(t, "client_credentials for another location", err, auth.ErrUnauthorizedClient)

	// A code and a refresh token of M stop working once the app leaves M.
	code, err := r.Authorize("app-1", redirect, "", "M")
	if err != nil {
		t.Fatal(err)
	}
	atM := mustGrant(t, r, "", "M")
	r.PutApp(auth.App{ClientID: "app-1", ClientSecret: "s3cret", RedirectURIs: []string{redirect}, Scopes: []string{"a", "b"}, Location: "L"})
	exchange := tokenReq("authorization_code")
	exchange.Code, exchange.RedirectURI = code, redirect
	_, err = r.Token(exchange)
	wantOAuth(t, "a code of a location the app left", err, auth.ErrInvalidGrant)
	refresh := tokenReq("refresh_token")
	refresh.RefreshToken = atM.RefreshToken
	_, err = r.Token(refresh)
	wantOAuth(t, "a refresh of a location the app left", err, auth.ErrInvalidGrant)
	if got := r.Locations("app-1"); !slices.Equal(got, []string{"L"}) {
		t.Errorf("locations %v, want [L]", got)
	}
}

// TestRegistry_RefreshNeverWidensScope: after the app's scopes are cut, a
// refresh (and a code issued before) carries only what the app has now.
func TestRegistry_RefreshNeverWidensScope(t *testing.T) {
	t.Parallel()
	r, _ := newApp(t)
	code, err := r.Authorize("app-1", redirect, "a b", "")
	if err != nil {
		t.Fatal(err)
	}
	_, refresh := mustRefreshable(t, r)
	r.PutApp(auth.App{ClientID: "app-1", ClientSecret: "s3cret", RedirectURIs: []string{redirect}, Scopes: []string{"b"}, Location: "L"})
	resp, err := r.Token(refresh)
	if err != nil || resp.Scope != "b" {
		t.Fatalf("refresh after the cut: %+v, %v; want scope b", resp, err)
	}
	p, err := r.Authenticate("Bearer " + resp.AccessToken)
	if err != nil || !slices.Equal(p.Scopes, []string{"b"}) {
		t.Errorf("the refreshed token's principal %+v, %v", p, err)
	}
	exchange := tokenReq("authorization_code")
	exchange.Code, exchange.RedirectURI = code, redirect
	if resp, err := r.Token(exchange); err != nil || resp.Scope != "b" {
		t.Errorf("a code of before the cut: %+v, %v; want scope b", resp, err)
	}
}

package mock_test

// The twin's OAuth 2.0 server end to end: the consent page
// (GET /oauth/chooselocation, /v2/oauth/chooselocation), the token endpoint
// (POST /oauth/token) and the tokens it issues on the Contacts API. Every
// test runs a strict, seeded twin on a manual clock; nothing sleeps.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/store"
)

// accessLifetime is how long the twin's access tokens last, as the live API's.
const accessLifetime = 86399 * time.Second

const (
	scopeMessage    = "The token is not authorized for this scope."
	locationMessage = "The token does not have access to this location."
	expiredMessage  = "Invalid JWT: access token has expired"
)

// wireToken is the body of a successful POST /oauth/token.
type wireToken struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken *string  `json:"refresh_token"`
	Scope        string   `json:"scope"`
	UserType     string   `json:"userType"`
	LocationID   string   `json:"locationId"`
	CompanyID    string   `json:"companyId"`
	UserID       string   `json:"userId"`
	Approved     []string `json:"approvedLocations"`
}

func (w wireToken) refresh() string {
	if w.RefreshToken == nil {
		return ""
	}
	return *w.RefreshToken
}

// wireOAuthError is the body of a failed POST /oauth/token: the vendor's
// statusCode and message and RFC 6749's error and error_description.
type wireOAuthError struct {
	StatusCode       int     `json:"statusCode"`
	Message          string  `json:"message"`
	Error            string  `json:"error"`
	ErrorDescription *string `json:"error_description"`
}

// oauthTwin is a twin whose client stops at redirects, with its default app.
type oauthTwin struct {
	*twinEnv
	app auth.App
}

func newOAuthTwin(tb testing.TB) *oauthTwin {
	tb.Helper()
	e := newTwin(tb)
	// The consent page redirects to the app's callback, which is not the
	// twin: stop there and read the Location, as an app's server would.
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &oauthTwin{twinEnv: e, app: e.srv.Defaults().HighLevel.App}
}

// authorizeQuery is an authorization request of the default app.
func (o *oauthTwin) authorizeQuery(scope, state string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {o.app.ClientID}, "redirect_uri": {o.app.RedirectURIs[0]}}
	if scope != "" {
		q.Set("scope", scope)
	}
	if state != "" {
		q.Set("state", state)
	}
	return q
}

// chooseLocation calls the consent page at path (with no token or Version,
// as a browser would).
func (o *oauthTwin) chooseLocation(tb testing.TB, path string, q url.Values) apiResponse {
	tb.Helper()
	return o.call(tb, apiRequest{method: http.MethodGet, path: path + "?" + q.Encode(), token: omitHeader, version: omitHeader})
}

// mustRedirect checks a 302 to redirectURI and returns its query.
func mustRedirect(tb testing.TB, r apiResponse, redirectURI string) url.Values {
	tb.Helper()
	mustStatus(tb, r, http.StatusFound)
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		tb.Fatalf("Location %q: %v", r.header.Get("Location"), err)
	}
	q := loc.Query()
	loc.RawQuery = ""
	if loc.String() != redirectURI {
		tb.Fatalf("redirected to %s, want %s", r.header.Get("Location"), redirectURI)
	}
	return q
}

// mustCode runs the consent page and returns the code it redirects with.
func (o *oauthTwin) mustCode(tb testing.TB, path string, q url.Values) string {
	tb.Helper()
	got := mustRedirect(tb, o.chooseLocation(tb, path, q), q.Get("redirect_uri"))
	if got.Get("code") == "" || got.Get("error") != "" {
		tb.Fatalf("redirect %v: want a code and no error", got)
	}
	if got.Get("state") != q.Get("state") {
		tb.Errorf("redirect state %q, want %q", got.Get("state"), q.Get("state"))
	}
	return got.Get("code")
}

// grant is a token request of the default app.
func (o *oauthTwin) grant(kind string, kv ...string) url.Values {
	f := url.Values{"client_id": {o.app.ClientID}, "client_secret": {o.app.ClientSecret}, "grant_type": {kind}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// token posts a form to the token endpoint.
func (o *oauthTwin) token(tb testing.TB, form url.Values) apiResponse {
	tb.Helper()
	return o.call(tb, apiRequest{method: http.MethodPost, path: "/oauth/token", body: form.Encode(),
		contentType: "application/x-www-form-urlencoded", token: omitHeader, version: omitHeader})
}

func (o *oauthTwin) mustToken(tb testing.TB, form url.Values) wireToken {
	tb.Helper()
	r := o.token(tb, form)
	mustStatus(tb, r, http.StatusOK)
	tok := mustDecode[wireToken](tb, r)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" {
		tb.Fatalf("token response %s: want an access_token of type Bearer", r.body)
	}
	return tok
}

// mustExchange trades a code for tokens.
func (o *oauthTwin) mustExchange(tb testing.TB, code string) wireToken {
	tb.Helper()
	return o.mustToken(tb, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[0], "user_type", "Location"))
}

// mustAuthorize runs the whole authorization-code flow for scope.
func (o *oauthTwin) mustAuthorize(tb testing.TB, scope string) wireToken {
	tb.Helper()
	return o.mustExchange(tb, o.mustCode(tb, "/oauth/chooselocation", o.authorizeQuery(scope, "s")))
}

// mustOAuthError checks a failed token request: the status, the RFC 6749
// code, and the vendor's statusCode and message agreeing with them.
func mustOAuthError(tb testing.TB, r apiResponse, status int, code string) wireOAuthError {
	tb.Helper()
	mustStatus(tb, r, status)
	e := mustDecode[wireOAuthError](tb, r)
	if e.StatusCode != status || e.Error != code {
		tb.Errorf("error body %s: want statusCode %d and error %q", r.body, status, code)
	}
	if e.Message == "" || e.ErrorDescription == nil || *e.ErrorDescription != e.Message {
		tb.Errorf("error body %s: want a message and the same error_description", r.body)
	}
	return e
}

// listContacts lists the default location's contacts with a bearer token.
func (o *oauthTwin) listContacts(tb testing.TB, token string) apiResponse {
	tb.Helper()
	return o.call(tb, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + o.loc.ID, token: token})
}

func TestOAuth_AuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	q := o.authorizeQuery("contacts.readonly contacts.write", "xyz")
	r := o.chooseLocation(t, "/oauth/chooselocation", q)
	got := mustRedirect(t, r, o.app.RedirectURIs[0])
	if got.Get("code") == "" || got.Get("state") != "xyz" || got.Has("error") {
		t.Fatalf("redirect query %v: want code and state=xyz", got)
	}
	if len(r.body) != 0 {
		t.Errorf("redirect has a body: %s", r.body)
	}
	code := got.Get("code")

	tr := o.token(t, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[0], "user_type", "Location"))
	mustStatus(t, tr, http.StatusOK)
	if ct := tr.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("token response Content-Type %q", ct)
	}
	tok := mustDecode[wireToken](t, tr)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 86399 || tok.refresh() == "" ||
		tok.Scope != "contacts.readonly contacts.write" || tok.UserType != "Location" ||
		tok.LocationID != o.loc.ID || tok.UserID == "" || tok.CompanyID == "" ||
		!slices.Equal(tok.Approved, []string{o.loc.ID}) {
		t.Errorf("token response %s", tr.body)
	}
	if tok.AccessToken == tok.refresh() || strings.Contains(tr.String(), code) {
		t.Errorf("token response reuses secrets: %s", tr.body)
	}

	// The access token works on the Contacts API.
	c := o.mustCreateContact(t, jsonObj{"firstName": "Oauth"})
	list := o.listContacts(t, tok.AccessToken)
	mustStatus(t, list, http.StatusOK)
	if l := mustDecode[wireContactsList](t, list); len(l.Contacts) != 1 || l.Contacts[0].ID != c.ID {
		t.Errorf("list with the OAuth token: %s", list.body)
	}
	r = o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/" + c.ID, token: tok.AccessToken})
	mustStatus(t, r, http.StatusOK)

	// The code is single use.
	again := o.token(t, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[0]))
	mustOAuthError(t, again, http.StatusBadRequest, "invalid_grant")
}

// TestOAuth_AuthorizationCodeVariants covers the v2 path, the second
// registered redirect URI, an empty scope (all the app's), an explicit
// location, and what makes a code unusable.
func TestOAuth_AuthorizationCodeVariants(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	other := store.Location{ID: "OauthOtherLoc0000001", Name: "Other"}
	o.srv.Store().PutLocation(other)
	installed := o.app
	installed.Locations = []string{other.ID}
	o.srv.Tokens().PutApp(installed)

	t.Run("v2 path, second redirect URI, all scopes", func(t *testing.T) {
		q := o.authorizeQuery("", "")
		q.Set("redirect_uri", o.app.RedirectURIs[1])
		q.Set("loginWindowOpenMode", "self")
		code := o.mustCode(t, "/v2/oauth/chooselocation", q)
		tok := o.mustToken(t, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[1]))
		if want := strings.Join(o.app.Scopes, " "); tok.Scope != want {
			t.Errorf("scope %q, want the app's %q", tok.Scope, want)
		}
		mustStatus(t, o.listContacts(t, tok.AccessToken), http.StatusOK)
	})
	t.Run("location_id picks the location", func(t *testing.T) {
		q := o.authorizeQuery("contacts.readonly", "")
		q.Set("location_id", other.ID)
		tok := o.mustExchange(t, o.mustCode(t, "/oauth/chooselocation", q))
		if tok.LocationID != other.ID || !slices.Equal(tok.Approved, []string{other.ID}) {
			t.Errorf("token for location %q (approved %v), want %s", tok.LocationID, tok.Approved, other.ID)
		}
		mustStatus(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + other.ID, token: tok.AccessToken}), http.StatusOK)
		mustError(t, o.listContacts(t, tok.AccessToken), http.StatusForbidden, locationMessage)
	})
	t.Run("code without redirect_uri on exchange", func(t *testing.T) {
		// RFC 6749 4.1.3: required when the authorization request sent one.
		code := o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("contacts.readonly", "s"))
		mustOAuthError(t, o.token(t, o.grant("authorization_code", "code", code)), http.StatusBadRequest, "invalid_request")
	})
	t.Run("redirect_uri differs on exchange", func(t *testing.T) {
		code := o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("contacts.readonly", "s"))
		r := o.token(t, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[1]))
		mustOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("another app's code", func(t *testing.T) {
		second := auth.App{ClientID: "second-app", ClientSecret: "second-secret",
			RedirectURIs: o.app.RedirectURIs, Scopes: []string{"contacts.readonly"}, Location: o.loc.ID}
		o.srv.Tokens().PutApp(second)
		code := o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("contacts.readonly", "s"))
		r := o.token(t, url.Values{"client_id": {second.ClientID}, "client_secret": {second.ClientSecret},
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.app.RedirectURIs[0]}})
		mustOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		// The failed attempt did not use the code up for its own app.
		o.mustExchange(t, code)
	})
	t.Run("expired code", func(t *testing.T) {
		code := o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("contacts.readonly", "s"))
		o.clk.Advance(o.srv.Tokens().Lifetimes().Code)
		mustOAuthError(t, o.token(t, o.grant("authorization_code", "code", code, "redirect_uri", o.app.RedirectURIs[0])),
			http.StatusBadRequest, "invalid_grant")
	})
}

// TestOAuth_GolangOAuth2Client drives the flow with golang.org/x/oauth2, a
// real third-party client: AuthCodeURL, Exchange and a refreshing
// TokenSource.
func TestOAuth_GolangOAuth2Client(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	cfg := oauth2.Config{
		ClientID:     o.app.ClientID,
		ClientSecret: o.app.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   o.srv.HighLevel.URL() + "/oauth/chooselocation",
			TokenURL:  o.srv.HighLevel.URL() + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: o.app.RedirectURIs[0],
		Scopes:      []string{"contacts.readonly", "contacts.write"},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, o.client)

	r := o.call(t, apiRequest{method: http.MethodGet, path: cfg.AuthCodeURL("state-123"), token: omitHeader, version: omitHeader})
	got := mustRedirect(t, r, cfg.RedirectURL)
	if got.Get("state") != "state-123" {
		t.Errorf("state %q, want state-123", got.Get("state"))
	}
	start := time.Now()
	tok, err := cfg.Exchange(ctx, got.Get("code"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.Type() != "Bearer" || tok.RefreshToken == "" || tok.ExpiresIn != 86399 {
		t.Errorf("token %+v", tok)
	}
	// oauth2 dates expiry on the real clock.
	if lo, hi := start.Add(accessLifetime-time.Minute), time.Now().Add(accessLifetime); tok.Expiry.Before(lo) || tok.Expiry.After(hi) {
		t.Errorf("Expiry %v, want about now + 86399 s", tok.Expiry)
	}
	if tok.Extra("locationId") != o.loc.ID || tok.Extra("userType") != "Location" || tok.Extra("scope") != "contacts.readonly contacts.write" {
		t.Errorf("extras: locationId %v, userType %v, scope %v", tok.Extra("locationId"), tok.Extra("userType"), tok.Extra("scope"))
	}
	getContacts := func(client *http.Client) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, o.srv.HighLevel.URL()+"/contacts/?locationId="+o.loc.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Version", versionContacts)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /contacts/: %v", err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if status := getContacts(cfg.Client(ctx, tok)); status != http.StatusOK {
		t.Fatalf("GET /contacts/ with the exchanged token: %d", status)
	}

	// The twin's clock passes the expiry: the access token is refused.
	o.clk.Advance(accessLifetime)
	mustError(t, o.listContacts(t, tok.AccessToken), http.StatusUnauthorized, expiredMessage)
	// oauth2 judges expiry on the real clock, which the manual clock left
	// behind: date the client's copy as expired too, and its TokenSource
	// refreshes.
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Second)
	ts := cfg.TokenSource(ctx, &stale)
	fresh, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh through the TokenSource: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refreshed token %+v: want a new access token and a rotated refresh token", fresh)
	}
	if !fresh.Valid() {
		t.Errorf("refreshed token is not valid: %+v", fresh)
	}
	if status := getContacts(oauth2.NewClient(ctx, ts)); status != http.StatusOK {
		t.Errorf("GET /contacts/ with the refreshed token: %d", status)
	}
	if again, err := ts.Token(); err != nil || again.AccessToken != fresh.AccessToken {
		t.Errorf("TokenSource refreshed again (%v) while its token is valid", err)
	}

	// The used refresh token is refused, as RFC 6749 errors oauth2 decodes.
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Second)}).Token()
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
		t.Errorf("refresh with the used token: %v, want a 400 invalid_grant", err)
	}
	wrong := cfg
	wrong.ClientSecret = "wrong"
	_, err = wrong.Exchange(ctx, "whatever")
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("exchange with a wrong secret: %v, want a 401 invalid_client", err)
	}
}

func TestOAuth_RefreshRotation(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	first := o.mustAuthorize(t, "contacts.readonly contacts.write")
	second := o.mustToken(t, o.grant("refresh_token", "refresh_token", first.refresh()))
	if second.refresh() == "" || second.refresh() == first.refresh() || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh did not rotate: %+v after %+v", second, first)
	}
	if second.Scope != first.Scope || second.LocationID != first.LocationID || second.ExpiresIn != 86399 {
		t.Errorf("refreshed token %+v differs from %+v", second, first)
	}
	mustStatus(t, o.listContacts(t, second.AccessToken), http.StatusOK)
	// The used refresh token is refused; the new one works.
	r := o.token(t, o.grant("refresh_token", "refresh_token", first.refresh()))
	mustOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	third := o.mustToken(t, o.grant("refresh_token", "refresh_token", second.refresh()))
	mustStatus(t, o.listContacts(t, third.AccessToken), http.StatusOK)
	// A refresh token is bound to its app.
	o.srv.Tokens().PutApp(auth.App{ClientID: "other-app", ClientSecret: "other-secret", Scopes: o.app.Scopes, Location: o.loc.ID})
	r = o.token(t, url.Values{"client_id": {"other-app"}, "client_secret": {"other-secret"},
		"grant_type": {"refresh_token"}, "refresh_token": {third.refresh()}})
	mustOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	mustOAuthError(t, o.token(t, o.grant("refresh_token", "refresh_token", "not-a-refresh-token")), http.StatusBadRequest, "invalid_grant")
	mustOAuthError(t, o.token(t, o.grant("refresh_token")), http.StatusBadRequest, "invalid_grant")
	// Refresh tokens last a year.
	o.clk.Advance(o.srv.Tokens().Lifetimes().Refresh)
	mustOAuthError(t, o.token(t, o.grant("refresh_token", "refresh_token", third.refresh())), http.StatusBadRequest, "invalid_grant")
}

func TestOAuth_RefreshGrace(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	l := o.srv.Tokens().Lifetimes()
	if l.RefreshGrace != 0 {
		t.Errorf("default RefreshGrace %v, want 0 (single use)", l.RefreshGrace)
	}
	l.RefreshGrace = 30 * time.Second
	o.srv.Tokens().SetLifetimes(l)

	old := o.mustAuthorize(t, "contacts.readonly").refresh()
	next := o.mustToken(t, o.grant("refresh_token", "refresh_token", old))
	// Within the grace window the used token still works (a client that lost
	// the first answer retries), and each use answers new tokens.
	o.clk.Advance(29 * time.Second)
	retry := o.mustToken(t, o.grant("refresh_token", "refresh_token", old))
	if retry.refresh() == next.refresh() || retry.AccessToken == next.AccessToken {
		t.Errorf("retry within the grace window answered the same tokens")
	}
	mustStatus(t, o.listContacts(t, retry.AccessToken), http.StatusOK)
	// 30 s after its first use, it no longer does.
	o.clk.Advance(time.Second)
	mustOAuthError(t, o.token(t, o.grant("refresh_token", "refresh_token", old)), http.StatusBadRequest, "invalid_grant")
	o.clk.Advance(time.Hour)
	mustOAuthError(t, o.token(t, o.grant("refresh_token", "refresh_token", old)), http.StatusBadRequest, "invalid_grant")
	// Both tokens it answered are live.
	o.mustToken(t, o.grant("refresh_token", "refresh_token", next.refresh()))
	o.mustToken(t, o.grant("refresh_token", "refresh_token", retry.refresh()))
}

// TestOAuth_ConcurrentRefresh has two clients race to refresh the same
// token, with no grace: exactly one wins. Run it with -race.
func TestOAuth_ConcurrentRefresh(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	refresh := o.mustAuthorize(t, "contacts.readonly").refresh()
	const rounds = 25
	for round := range rounds {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [2]apiResponse
		)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = o.token(t, o.grant("refresh_token", "refresh_token", refresh))
			}()
		}
		close(start)
		wg.Wait()
		var won []wireToken
		for _, r := range results {
			switch r.status {
			case http.StatusOK:
				won = append(won, mustDecode[wireToken](t, r))
			case http.StatusBadRequest:
				if e := mustDecode[wireOAuthError](t, r); e.Error != "invalid_grant" {
					t.Errorf("round %d: loser got %s, want invalid_grant", round, r.body)
				}
			default:
				t.Errorf("round %d: status %s", round, r)
			}
		}
		if len(won) != 1 {
			t.Fatalf("round %d: %d of 2 concurrent refreshes succeeded, want exactly 1: %s | %s", round, len(won), results[0], results[1])
		}
		mustStatus(t, o.listContacts(t, won[0].AccessToken), http.StatusOK)
		refresh = won[0].refresh()
	}
}

func TestOAuth_AccessTokenExpiry(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	tok := o.mustAuthorize(t, "contacts.readonly contacts.write")
	o.clk.Advance(accessLifetime - time.Second)
	mustStatus(t, o.listContacts(t, tok.AccessToken), http.StatusOK)
	o.clk.Advance(time.Second) // 86399 s after issue
	mustError(t, o.listContacts(t, tok.AccessToken), http.StatusUnauthorized, expiredMessage)
	mustError(t, o.call(t, apiRequest{method: http.MethodPost, path: "/contacts/", token: tok.AccessToken,
		body: jsonObj{"locationId": o.loc.ID, "firstName": "Late"}}), http.StatusUnauthorized, expiredMessage)
	// The refresh token outlives it and gets a working access token.
	fresh := o.mustToken(t, o.grant("refresh_token", "refresh_token", tok.refresh()))
	mustStatus(t, o.listContacts(t, fresh.AccessToken), http.StatusOK)
	// A client_credentials token expires the same way.
	cc := o.mustToken(t, o.grant("client_credentials"))
	o.clk.Advance(accessLifetime)
	mustError(t, o.listContacts(t, cc.AccessToken), http.StatusUnauthorized, expiredMessage)
	mustError(t, o.listContacts(t, fresh.AccessToken), http.StatusUnauthorized, expiredMessage)
}

func TestOAuth_TokenErrors(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	wrongSecret := o.grant("client_credentials")
	wrongSecret.Set("client_secret", "wrong")
	unknownClient := o.grant("client_credentials")
	unknownClient.Set("client_id", "no-such-app")
	noClientID := o.grant("client_credentials")
	noClientID.Del("client_id")
	noSecret := o.grant("client_credentials")
	noSecret.Del("client_secret")
	noGrantType := o.grant("")
	noGrantType.Del("grant_type")
	wrongSecretForCode := o.grant("authorization_code", "code", o.mustCode(t, "/oauth/chooselocation", o.authorizeQuery("", "")))
	wrongSecretForCode.Set("client_secret", o.app.ClientSecret+"x")

	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		code   string // RFC 6749 error, for 400 and 401
		msg    string // a line of the 422 message
	}{
		{"wrong secret", wrongSecret, http.StatusUnauthorized, "invalid_client", ""},
		{"wrong secret with a valid code", wrongSecretForCode, http.StatusUnauthorized, "invalid_client", ""},
		{"unknown client", unknownClient, http.StatusUnauthorized, "invalid_client", ""},
		{"unknown code", o.grant("authorization_code", "code", "nope"), http.StatusBadRequest, "invalid_grant", ""},
		{"no code", o.grant("authorization_code"), http.StatusBadRequest, "invalid_grant", ""},
		// The spec's enum for grant_type makes request validation answer an
		// unknown grant type before the token endpoint could say
		// unsupported_grant_type: a 422 in the vendor's 422 envelope.
		{"unknown grant_type", o.grant("password"), http.StatusUnprocessableEntity, "", "grant_type is not one of the allowed values"},
		{"no grant_type", noGrantType, http.StatusUnprocessableEntity, "", "grant_type should not be empty"},
		{"no client_id", noClientID, http.StatusUnprocessableEntity, "", "client_id should not be empty"},
		{"no client_secret", noSecret, http.StatusUnprocessableEntity, "", "client_secret should not be empty"},
		{"bad user_type", o.grant("client_credentials", "user_type", "Agency"), http.StatusUnprocessableEntity, "", "user_type is not one of the allowed values"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := o.token(t, tt.form)
			if tt.status == http.StatusUnprocessableEntity {
				mustError(t, r, tt.status, tt.msg)
				return
			}
			mustOAuthError(t, r, tt.status, tt.code)
		})
	}
	t.Run("JSON body", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"client_id": o.app.ClientID, "client_secret": o.app.ClientSecret, "grant_type": "client_credentials"})
		r := o.call(t, apiRequest{method: http.MethodPost, path: "/oauth/token", body: json.RawMessage(body), token: omitHeader, version: omitHeader})
		mustError(t, r, http.StatusBadRequest, "Content-Type")
	})
	t.Run("no Authorization or Version needed, and a bearer token is no substitute", func(t *testing.T) {
		form := o.grant("client_credentials")
		form.Set("client_secret", "")
		r := o.call(t, apiRequest{method: http.MethodPost, path: "/oauth/token", body: form.Encode(),
			contentType: "application/x-www-form-urlencoded"}) // with the default token and Version
		mustOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	})
}

func TestOAuth_ClientCredentials(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	r := o.token(t, o.grant("client_credentials"))
	mustStatus(t, r, http.StatusOK)
	tok := mustDecode[wireToken](t, r)
	if tok.LocationID != o.app.Location || tok.TokenType != "Bearer" || tok.ExpiresIn != 86399 ||
		tok.Scope != strings.Join(o.app.Scopes, " ") || tok.UserType != "Location" {
		t.Errorf("client_credentials token %s", r.body)
	}
	if tok.RefreshToken != nil {
		t.Errorf("client_credentials answered a refresh_token: %s", r.body)
	}
	mustStatus(t, o.listContacts(t, tok.AccessToken), http.StatusOK)
	o.mustCreateContact(t, jsonObj{"firstName": "Machine"})
	r = o.call(t, apiRequest{method: http.MethodPost, path: "/contacts/", token: tok.AccessToken,
		body: jsonObj{"locationId": o.loc.ID, "firstName": "ByApp"}})
	mustStatus(t, r, http.StatusCreated)
}

func TestOAuth_ChooseLocationErrors(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	for _, path := range []string{"/oauth/chooselocation", "/v2/oauth/chooselocation"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			with := func(k, v string) url.Values {
				q := o.authorizeQuery("contacts.readonly", "st")
				if v == "" {
					q.Del(k)
				} else {
					q.Set(k, v)
				}
				return q
			}
			noRedirect := func(t *testing.T, r apiResponse, status int, msg string) {
				t.Helper()
				mustError(t, r, status, msg)
				if loc := r.header.Get("Location"); loc != "" {
					t.Errorf("answered with a Location %q: an unverified request must never redirect", loc)
				}
			}
			noRedirect(t, o.chooseLocation(t, path, with("client_id", "no-such-app")), http.StatusBadRequest, "is not a registered app")
			for _, uri := range []string{"http://evil.example/oauth/callback", o.app.RedirectURIs[0] + "/more",
				o.app.RedirectURIs[0] + "?next=evil", "HTTP://127.0.0.1:8080/oauth/callback", "http://127.0.0.1:8081/oauth/callback"} {
				noRedirect(t, o.chooseLocation(t, path, with("redirect_uri", uri)), http.StatusBadRequest, "is not registered for this app")
			}
			noRedirect(t, o.chooseLocation(t, path, with("client_id", "")), http.StatusUnprocessableEntity, "client_id")
			noRedirect(t, o.chooseLocation(t, path, with("redirect_uri", "")), http.StatusUnprocessableEntity, "redirect_uri")
			noRedirect(t, o.chooseLocation(t, path, with("response_type", "")), http.StatusUnprocessableEntity, "response_type")
			noRedirect(t, o.chooseLocation(t, path, with("response_type", "token")), http.StatusUnprocessableEntity, "response_type is not one of the allowed values")

			// Grant errors go back to the app, as RFC 6749 redirect parameters.
			for _, scope := range []string{"users.readonly", "contacts.readonly bogus.scope"} {
				got := mustRedirect(t, o.chooseLocation(t, path, with("scope", scope)), o.app.RedirectURIs[0])
				if got.Get("error") != "invalid_scope" || got.Get("error_description") == "" || got.Has("code") || got.Get("state") != "st" {
					t.Errorf("scope %q: redirect query %v, want error=invalid_scope with a description and the state, no code", scope, got)
				}
			}
		})
	}
	// A scope the app lost since is refused too.
	narrow := o.app
	narrow.Scopes = []string{"contacts.readonly"}
	o.srv.Tokens().PutApp(narrow)
	got := mustRedirect(t, o.chooseLocation(t, "/oauth/chooselocation", o.authorizeQuery("contacts.write", "")), o.app.RedirectURIs[0])
	if got.Get("error") != "invalid_scope" || got.Has("state") {
		t.Errorf("redirect query %v, want error=invalid_scope and no state", got)
	}
}

// TestOAuth_TokenScopes checks that an OAuth token carries the scopes it was
// granted, and only those.
func TestOAuth_TokenScopes(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	c := o.mustCreateContact(t, jsonObj{"firstName": "Scoped"})
	tok := o.mustAuthorize(t, "contacts.readonly")
	if tok.Scope != "contacts.readonly" {
		t.Errorf("scope %q, want contacts.readonly", tok.Scope)
	}
	mustStatus(t, o.listContacts(t, tok.AccessToken), http.StatusOK)
	mustStatus(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/" + c.ID, token: tok.AccessToken}), http.StatusOK)
	create := apiRequest{method: http.MethodPost, path: "/contacts/", token: tok.AccessToken,
		body: jsonObj{"locationId": o.loc.ID, "firstName": "Denied"}}
	mustError(t, o.call(t, create), http.StatusUnauthorized, scopeMessage)
	mustError(t, o.call(t, apiRequest{method: http.MethodPut, path: "/contacts/" + c.ID, token: tok.AccessToken,
		body: jsonObj{"firstName": "Denied"}}), http.StatusUnauthorized, scopeMessage)
	// Refreshing keeps the scopes.
	fresh := o.mustToken(t, o.grant("refresh_token", "refresh_token", tok.refresh()))
	if fresh.Scope != "contacts.readonly" {
		t.Errorf("refreshed scope %q", fresh.Scope)
	}
	create.token = fresh.AccessToken
	mustError(t, o.call(t, create), http.StatusUnauthorized, scopeMessage)
	// A token with contacts.write may create.
	create.token = o.mustAuthorize(t, "contacts.readonly contacts.write").AccessToken
	mustStatus(t, o.call(t, create), http.StatusCreated)
}

// TestOAuth_TokenLocation checks that a token for one location cannot
// reach another location's contacts.
func TestOAuth_TokenLocation(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	c := o.mustCreateContact(t, jsonObj{"firstName": "Mine"})
	other := store.Location{ID: "OauthOtherLoc0000002", Name: "Other"}
	o.srv.Store().PutLocation(other)
	token, p := o.srv.Tokens().Mint(other.ID, []string{"contacts.readonly", "contacts.write"}, 0, false)
	if p.LocationID != other.ID || p.Kind != auth.OAuthAccess || !p.ExpiresAt.Equal(clockStart.Add(accessLifetime)) {
		t.Errorf("minted principal %+v", p)
	}
	mustError(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/" + c.ID, token: token}), http.StatusForbidden, locationMessage)
	mustError(t, o.listContacts(t, token), http.StatusForbidden, locationMessage)
	mustError(t, o.call(t, apiRequest{method: http.MethodPut, path: "/contacts/" + c.ID, token: token,
		body: jsonObj{"firstName": "Theirs"}}), http.StatusForbidden, locationMessage)
	mustStatus(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + other.ID, token: token}), http.StatusOK)
	// And the minted token expires with the configured access lifetime.
	o.clk.Advance(accessLifetime)
	mustError(t, o.call(t, apiRequest{method: http.MethodGet, path: "/contacts/?locationId=" + other.ID, token: token}), http.StatusUnauthorized, expiredMessage)
}

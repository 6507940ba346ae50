package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/uuid"
)

// OAuth errors, as RFC 6749 names them; OAuthError carries one.
var (
	ErrInvalidRequest       = errors.New("invalid_request")
	ErrInvalidClient        = errors.New("invalid_client")
	ErrInvalidGrant         = errors.New("invalid_grant")
	ErrUnsupportedGrantType = errors.New("unsupported_grant_type")
	ErrInvalidScope         = errors.New("invalid_scope")
	ErrUnauthorizedClient   = errors.New("unauthorized_client")
	ErrAccessDenied         = errors.New("access_denied")
	ErrUnknownApp           = errors.New("auth: no such app")
	ErrRedirectMismatch     = errors.New("auth: redirect_uri is not registered for the app")
)

// OAuthError is a failed authorization or token request.
type OAuthError struct {
	Code        error // one of the ErrInvalid... values
	Description string
}

func (e *OAuthError) Error() string { return e.Code.Error() + ": " + e.Description }

// Unwrap makes errors.Is(err, ErrInvalidGrant) and the like work.
func (e *OAuthError) Unwrap() error { return e.Code }

func oauthErr(code error, format string, args ...any) error {
	return &OAuthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// App is a Marketplace app: an OAuth client.
type App struct {
	ClientID     string   `json:"clientId" yaml:"clientId"`
	ClientSecret string   `json:"clientSecret" yaml:"clientSecret"`
	Name         string   `json:"name,omitempty" yaml:"name,omitempty"`
	RedirectURIs []string `json:"redirectUris" yaml:"redirectUris"`
	Scopes       []string `json:"scopes" yaml:"scopes"`
	// Location is where the twin's consent screen installs the app when the
	// authorization request names none.
	Location string `json:"location,omitempty" yaml:"location,omitempty"`
	// Locations are the other locations the app is installed on. An app
	// gets tokens (client_credentials, the consent screen, a code or a
	// refresh) and webhook events only for Location and these: the twin's
	// consent screen approves at once, so it installs nothing by itself.
	Locations []string `json:"locations,omitempty" yaml:"locations,omitempty"`
	// WebhookURL and WebhookEvents are the app's webhook subscription as it
	// is declared (the config file, POST /__admin/apps) and shown: the URL
	// that receives the events of the locations the app is installed on (""
	// for none), and the events it narrows to (empty: all its scopes allow).
	// The Registry keeps apps without them; the twin's store holds the
	// subscription (store.Webhook), with the Marketing 360 ones.
	WebhookURL    string   `json:"webhookUrl,omitempty" yaml:"webhookUrl,omitempty"`
	WebhookEvents []string `json:"webhookEvents,omitempty" yaml:"webhookEvents,omitempty"`
}

// AppID is the app's id as webhook payloads carry it: the client id up to
// its first "-" (HighLevel client ids are "<appId>-<suffix>").
func (a App) AppID() string {
	id, _, _ := strings.Cut(a.ClientID, "-")
	return id
}

// Allows tells whether the app has every one of scopes (those a webhook
// event needs, for one).
func (a App) Allows(scopes []string) bool { return hasAll(a.Scopes, scopes) }

// Lifetimes of what the OAuth server issues.
type Lifetimes struct {
	Access  time.Duration
	Refresh time.Duration
	Code    time.Duration
	// RefreshGrace is how long a rotated refresh token still works after its
	// first use; 0, as in production, makes it single-use.
	RefreshGrace time.Duration
}

// DefaultLifetimes are the live API's: access tokens for 86399 s, refresh
// tokens for a year, single use.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{Access: 86399 * time.Second, Refresh: 365 * 24 * time.Hour, Code: 10 * time.Minute}
}

// TokenResponse is what POST /oauth/token answers.
type TokenResponse struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int      `json:"expires_in"`
	RefreshToken string   `json:"refresh_token,omitempty"`
	Scope        string   `json:"scope"`
	UserType     string   `json:"userType"`
	LocationID   string   `json:"locationId"`
	CompanyID    string   `json:"companyId"`
	UserID       string   `json:"userId"`
	Approved     []string `json:"approvedLocations"`
	Bulk         bool     `json:"isBulkInstallation"`
}

type codeGrant struct {
	clientID, redirectURI, location string
	// redirectSent tells that the authorization request sent redirect_uri,
	// which the exchange must then send too (RFC 6749 4.1.3).
	redirectSent bool
	scopes       []string
	expires      time.Time
}

type refreshGrant struct {
	clientID, location string
	scopes             []string
	expires            time.Time
	rotatedAt          time.Time // zero until first used
}

// PutApp registers an app or replaces the one with its client id, without
// its webhook subscription (see App); it is installed on a.Location and
// a.Locations, and no longer on any other location.
func (r *Registry) PutApp(a App) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	a.Scopes = slices.Clone(a.Scopes)
	a.WebhookURL, a.WebhookEvents = "", nil
	installs := map[string]bool{}
	for _, loc := range a.Locations {
		installs[loc] = true
	}
	a.Locations = nil
	r.apps[a.ClientID] = a
	r.installs[a.ClientID] = installs
}

// App returns the app with the client id.
func (r *Registry) App(clientID string) (App, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.apps[clientID]
	return r.withLocations(a), ok
}

// withLocations is a with its Locations: where it is installed besides its
// own location, sorted. Callers hold mu.
func (r *Registry) withLocations(a App) App {
	a.Locations = nil
	for _, loc := range slices.Sorted(maps.Keys(r.installs[a.ClientID])) {
		if loc != a.Location {
			a.Locations = append(a.Locations, loc)
		}
	}
	return a
}

// Locations lists the locations an app is installed on: its own and the
// others it was given (App.Locations), sorted.
func (r *Registry) Locations(clientID string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	if a, ok := r.apps[clientID]; ok && a.Location != "" {
		out = append(out, a.Location)
	}
	for loc := range r.installs[clientID] {
		out = append(out, loc)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Installed tells whether an app is installed on location: its own
// location, or one of the others it was given.
func (r *Registry) Installed(clientID, location string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.installed(clientID, location)
}

// installed is Installed. Callers hold mu.
func (r *Registry) installed(clientID, location string) bool {
	a, ok := r.apps[clientID]
	return ok && location != "" && (a.Location == location || r.installs[clientID][location])
}

// Uninstall removes an app from a location, as the location's user does in
// the vendor's app settings: every access token, refresh token and code the
// app holds for the location stops working (a refresh answers
// invalid_grant), and the app is no longer installed there (when it was its
// own location, the app is left without one). It returns how many tokens it
// revoked, and false when the app was not installed on the location.
func (r *Registry) Uninstall(clientID, location string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.apps[clientID]
	if !ok || !r.installed(clientID, location) {
		return 0, false
	}
	revoked := 0
	for k, p := range r.tokens {
		if p.Kind == OAuthAccess && p.AppID == clientID && p.LocationID == location {
			delete(r.tokens, k)
			revoked++
		}
	}
	for k, g := range r.refresh {
		if g.clientID == clientID && g.location == location {
			delete(r.refresh, k)
			revoked++
		}
	}
	for k, g := range r.codes {
		if g.clientID == clientID && g.location == location {
			delete(r.codes, k)
		}
	}
	delete(r.installs[clientID], location)
	if a.Location == location {
		a.Location = ""
		r.apps[clientID] = a
	}
	return revoked, true
}

// Apps lists the registered apps by client id.
func (r *Registry) Apps() []App {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]App, 0, len(r.apps))
	for _, a := range r.apps {
		out = append(out, r.withLocations(a))
	}
	slices.SortFunc(out, func(a, b App) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out
}

// SetLifetimes changes the lifetimes of tokens issued from now on.
func (r *Registry) SetLifetimes(l Lifetimes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.life = l
}

// Lifetimes returns the lifetimes in force.
func (r *Registry) Lifetimes() Lifetimes {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.life
}

// Authorize is the consent screen, auto-approving: it checks the app, the
// redirect URI and the scopes (space-separated; empty asks for all of the
// app's) and returns a single-use code for location (empty: the app's),
// which must be one the app is installed on (access_denied otherwise).
func (r *Registry) Authorize(clientID, redirectURI, scope, location string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	app, ok := r.apps[clientID]
	if !ok {
		return "", fmt.Errorf("client_id %q: %w", clientID, ErrUnknownApp)
	}
	if !slices.Contains(app.RedirectURIs, redirectURI) {
		return "", fmt.Errorf("%q: %w", redirectURI, ErrRedirectMismatch)
	}
	scopes, err := requestedScopes(app, scope)
	if err != nil {
		return "", err
	}
	if location == "" {
		location = app.Location
	}
	if err := r.checkLocation(location); err != nil {
		return "", err
	}
	if !r.installed(clientID, location) {
		return "", oauthErr(ErrAccessDenied, "the app is not installed on location %s", location)
	}
	code := r.secret(32)
	r.codes[code] = &codeGrant{clientID: clientID, redirectURI: redirectURI, redirectSent: redirectURI != "",
		location: location, scopes: scopes, expires: r.clock.Now().Add(r.life.Code)}
	return code, nil
}

func requestedScopes(app App, scope string) ([]string, error) {
	want := strings.Fields(scope)
	if len(want) == 0 {
		return slices.Clone(app.Scopes), nil
	}
	for _, s := range want {
		if !slices.Contains(app.Scopes, s) {
			return nil, oauthErr(ErrInvalidScope, "scope %q is not granted to this app", s)
		}
	}
	return want, nil
}

// TokenRequest is the form of POST /oauth/token.
type TokenRequest struct {
	ClientID, ClientSecret, GrantType, Code, RefreshToken, RedirectURI, UserType string
	// Location is the twin's extension for client_credentials: the location
	// the token is for (default: the app's).
	Location string
}

// Token serves the token endpoint: authorization_code, refresh_token and
// client_credentials grants, each only for a location the app is installed
// on now. A code's exchange must name the authorization request's
// redirect_uri when that request sent one (RFC 6749 4.1.3); a refresh
// issues the grant's scopes that the app still has, never more.
func (r *Registry) Token(req TokenRequest) (TokenResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	app, ok := r.apps[req.ClientID]
	if !ok || subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(req.ClientSecret)) != 1 {
		return TokenResponse{}, oauthErr(ErrInvalidClient, "client_id or client_secret is wrong")
	}
	now := r.clock.Now()
	switch req.GrantType {
	case "authorization_code":
		g, ok := r.codes[req.Code]
		if !ok || g.clientID != app.ClientID || !now.Before(g.expires) {
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "code is invalid, used or expired")
		}
		switch {
		case g.redirectSent && req.RedirectURI == "":
			return TokenResponse{}, oauthErr(ErrInvalidRequest, "redirect_uri is required: the authorization request sent one")
		case req.RedirectURI != "" && req.RedirectURI != g.redirectURI:
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "redirect_uri differs from the authorization request's")
		case !r.installed(app.ClientID, g.location):
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "the app is not installed on location %s", g.location)
		}
		delete(r.codes, req.Code)
		return r.issue(app.ClientID, g.location, allowed(app, g.scopes), true), nil
	case "refresh_token":
		g, ok := r.refresh[req.RefreshToken]
		if !ok || g.clientID != app.ClientID || !now.Before(g.expires) {
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "refresh token is invalid or expired")
		}
		if !g.rotatedAt.IsZero() && now.Sub(g.rotatedAt) >= r.life.RefreshGrace {
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "refresh token has already been used")
		}
		if !r.installed(app.ClientID, g.location) {
			return TokenResponse{}, oauthErr(ErrInvalidGrant, "the app is not installed on location %s", g.location)
		}
		if g.rotatedAt.IsZero() {
			g.rotatedAt = now
		}
		return r.issue(app.ClientID, g.location, allowed(app, g.scopes), true), nil
	case "client_credentials":
		location := req.Location
		if location == "" {
			location = app.Location
		}
		if err := r.checkLocation(location); err != nil {
			return TokenResponse{}, err
		}
		if !r.installed(app.ClientID, location) {
			return TokenResponse{}, oauthErr(ErrUnauthorizedClient, "the app is not installed on location %s", location)
		}
		return r.issue(app.ClientID, location, app.Scopes, false), nil
	case "":
		return TokenResponse{}, oauthErr(ErrInvalidRequest, "grant_type is missing")
	}
	return TokenResponse{}, oauthErr(ErrUnsupportedGrantType, "grant_type %q is not supported", req.GrantType)
}

// allowed is the scopes of a grant that app still has: a grant made before
// the app's scopes were cut issues no more than the app has now.
func allowed(app App, scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(app.Scopes, s) })
}

// checkLocation refuses an empty or unknown location. Callers hold mu.
func (r *Registry) checkLocation(location string) error {
	if location == "" {
		return oauthErr(ErrInvalidRequest, "no location for the token")
	}
	if r.KnownLocation != nil && !r.KnownLocation(location) {
		return oauthErr(ErrInvalidRequest, "location %q does not exist", location)
	}
	return nil
}

// issue mints an access token (and a refresh token) for an app and a
// location. Callers hold mu.
func (r *Registry) issue(clientID, location string, scopes []string, withRefresh bool) TokenResponse {
	now := r.clock.Now()
	access := r.secret(40)
	r.tokens[access] = &Principal{Kind: OAuthAccess, AppID: clientID, LocationID: location,
		Scopes: slices.Clone(scopes), ExpiresAt: now.Add(r.life.Access)}
	resp := TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(r.life.Access / time.Second),
		Scope: strings.Join(scopes, " "), UserType: "Location", LocationID: location, CompanyID: r.company,
		UserID: r.user, Approved: []string{location}}
	if withRefresh {
		resp.RefreshToken = r.secret(40)
		r.refresh[resp.RefreshToken] = &refreshGrant{clientID: clientID, location: location,
			scopes: slices.Clone(scopes), expires: now.Add(r.life.Refresh)}
	}
	r.sweep(now)
	return resp
}

// Mint issues an access token with chosen scopes and lifetime (0: the
// configured access lifetime; negative: never expires), as a Private
// Integration Token when pit is set.
func (r *Registry) Mint(location string, scopes []string, ttl time.Duration, pit bool) (string, Principal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	p := Principal{Kind: OAuthAccess, AppID: "admin", LocationID: location, Scopes: slices.Clone(scopes)}
	token := r.secret(40)
	if pit {
		token = "pit-" + uuid.Format(r.secret(32))
		p.Kind, p.AppID = PrivateIntegration, "pit-"+token[4:12]
	}
	switch {
	case ttl == 0:
		p.ExpiresAt = now.Add(r.life.Access)
	case ttl > 0:
		p.ExpiresAt = now.Add(ttl)
	}
	r.tokens[token] = &p
	return token, p
}

// sweep forgets grants long past use, so a long run does not grow without
// bound. Callers hold mu.
func (r *Registry) sweep(now time.Time) {
	r.issued++
	if r.issued%1024 != 0 {
		return
	}
	for k, p := range r.tokens {
		if !p.ExpiresAt.IsZero() && now.Sub(p.ExpiresAt) > 24*time.Hour {
			delete(r.tokens, k)
		}
	}
	for k, g := range r.refresh {
		if !now.Before(g.expires) || (!g.rotatedAt.IsZero() && now.Sub(g.rotatedAt) > r.life.RefreshGrace+24*time.Hour) {
			delete(r.refresh, k)
		}
	}
	for k, g := range r.codes {
		if !now.Before(g.expires) {
			delete(r.codes, k)
		}
	}
}

func (r *Registry) secret(n int) string {
	if r.Secrets != nil {
		return r.Secrets(n)
	}
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

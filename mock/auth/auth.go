// Package auth decides who a bearer token belongs to: the location it is
// bound to and the scopes it carries.
package auth

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// Errors Authenticate and Authorize return.
var (
	ErrInvalidToken = errors.New("auth: invalid token")
	ErrExpiredToken = errors.New("auth: token expired")
	ErrScope        = errors.New("auth: token lacks the operation's scope")
	ErrLocation     = errors.New("auth: token has no access to this location")
)

// Kind tells how a token was issued.
type Kind string

// Token kinds.
const (
	PrivateIntegration Kind = "private-integration"
	OAuthAccess        Kind = "oauth-access"
)

// Principal is the holder of a valid token.
type Principal struct {
	Kind       Kind
	LocationID string
	// AppID identifies the app the token acts for: the OAuth client id, or
	// the Private Integration's own id. Rate limits count per app and location.
	AppID     string
	Scopes    []string
	ExpiresAt time.Time // zero: never
}

// HasScopes tells whether p carries every one of scopes.
func (p *Principal) HasScopes(scopes []string) bool { return hasAll(p.Scopes, scopes) }

// hasAll tells whether have holds every one of want.
func hasAll(have, want []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// CanAccess returns ErrLocation unless p is bound to location.
func (p *Principal) CanAccess(location string) error {
	if p.LocationID != location {
		return ErrLocation
	}
	return nil
}

// Registry holds the tokens the twin accepts and is its OAuth server: apps,
// authorization codes, access and refresh tokens.
type Registry struct {
	clock clock.Clock
	// Secrets makes n-character secrets (codes, tokens); nil means
	// crypto/rand. Set it before use, for reproducible runs.
	Secrets func(n int) string
	// KnownLocation tells whether a location exists, so the OAuth server
	// refuses to issue tokens for others; nil accepts any.
	KnownLocation func(id string) bool

	mu      sync.RWMutex          // guards everything below
	tokens  map[string]*Principal // each never changed once stored: Authenticate hands it out
	apps    map[string]App
	codes   map[string]*codeGrant
	refresh map[string]*refreshGrant
	// installs holds, per app, the locations it is installed on besides its
	// own (App.Locations, less those uninstalled).
	installs map[string]map[string]bool
	life     Lifetimes
	issued   int
	company  string
	user     string
}

// NewRegistry returns an empty registry that judges expiry by clk.
func NewRegistry(clk clock.Clock) *Registry {
	return &Registry{clock: clk, tokens: map[string]*Principal{}, apps: map[string]App{},
		codes: map[string]*codeGrant{}, refresh: map[string]*refreshGrant{}, installs: map[string]map[string]bool{},
		life:    DefaultLifetimes(),
		company: "twin-company", user: "twin-user"}
}

// SetAccount names the company and user that tokens report.
func (r *Registry) SetAccount(companyID, userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.company, r.user = companyID, userID
}

// Company returns the company that tokens and webhooks report.
func (r *Registry) Company() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.company
}

// Reset forgets every token, code and refresh token but the static tokens
// given, in one step: no request sees the registry without them. Apps stay,
// installed where they are.
func (r *Registry) Reset(static map[string]Principal) {
	tokens := make(map[string]*Principal, len(static))
	for k, p := range static {
		p.Scopes = slices.Clone(p.Scopes)
		tokens[k] = &p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = tokens
	r.codes = map[string]*codeGrant{}
	r.refresh = map[string]*refreshGrant{}
}

// Add registers token for p.
func (r *Registry) Add(token string, p Principal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.Scopes = slices.Clone(p.Scopes)
	r.tokens[token] = &p
}

// Authenticate returns the principal of an Authorization header value: the
// registry's own, which its callers only read (a copy would be made on
// every request).
func (r *Registry) Authenticate(header string) (*Principal, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, ErrInvalidToken
	}
	r.mu.RLock()
	p, found := r.tokens[strings.TrimSpace(token)]
	r.mu.RUnlock()
	if !found {
		return nil, ErrInvalidToken
	}
	if !p.ExpiresAt.IsZero() && !r.clock.Now().Before(p.ExpiresAt) {
		return nil, ErrExpiredToken
	}
	return p, nil
}

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrReauthorize is wrapped by the error of a request whose tenant has no
// working refresh token any more: a person has to authorize the app again
// (contactbridge connect highlevel).
var ErrReauthorize = errors.New("transport: authorization needed again")

// ReauthorizeError names the tenant that needs authorizing again.
type ReauthorizeError struct {
	Key string
	Err error
}

func (e *ReauthorizeError) Error() string {
	return fmt.Sprintf("transport: %s must be authorized again (contactbridge connect highlevel): %v", e.Key, e.Err)
}

func (e *ReauthorizeError) Unwrap() []error { return []error{ErrReauthorize, e.Err} }

// Defaults of OAuth.
const (
	DefaultRefreshEarly = time.Minute
	// DefaultTokenTimeout bounds a token request, which outlives the
	// caller's context: an answer with a rotated refresh token must be
	// read and stored even when the caller gave up meanwhile.
	DefaultTokenTimeout = 30 * time.Second
)

// OAuth authorizes requests with a tenant's OAuth access token, refreshing
// it with its rotating refresh token: before it expires by Clock, and
// once when an answer says it has expired (the server's clock may run
// ahead). A refresh is single-flight per OAuth value, so one per tenant:
// concurrent requests wait for it. The rotated token is saved in Store
// before the new access token is used; a refresh the server refuses
// (invalid_grant) is a *ReauthorizeError, never retried.
type OAuth struct {
	// Config names the app and the token endpoint.
	Config *oauth2.Config
	Store  TokenStore
	// Key is the tenant's key in Store: the HighLevel location id.
	Key string
	// Base sends the authorized requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// TokenClient sends the token requests; nil means http.DefaultClient.
	TokenClient *http.Client
	Clock       Clock
	// Early is how long before its expiry a token is refreshed; 0 means
	// DefaultRefreshEarly.
	Early time.Duration
	// Expired tells whether an answer refuses an expired token; nil means
	// DefaultExpired.
	Expired func(status int, body []byte) bool

	once sync.Once
	lock chan struct{} // held by the goroutine reading or refreshing cur
	cur  *Token
}

// DefaultExpired recognises HighLevel's 401 for an expired token ("Invalid
// JWT: access token has expired").
func DefaultExpired(status int, body []byte) bool {
	return status == http.StatusUnauthorized && bytes.Contains(bytes.ToLower(body), []byte("expired"))
}

// Tenant is the tenant of OAuth's requests: the app and the location.
func (a *OAuth) Tenant() string { return "highlevel:" + a.Config.ClientID + "/" + a.Key }

// RoundTrip sends a clone of req with the access token.
func (a *OAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := a.token(req.Context(), "")
	if err != nil {
		return nil, closeBody(req, err)
	}
	res, err := a.send(req, tok)
	if err != nil || res.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.GetBody == nil) {
		return res, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("transport: read 401 answer: %w", err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	expired := a.Expired
	if expired == nil {
		expired = DefaultExpired
	}
	if !expired(res.StatusCode, body) {
		return res, nil
	}
	// The server says the token has expired although our clock does not:
	// refresh (unless a concurrent request did already) and send again.
	if tok, err = a.token(req.Context(), tok.AccessToken); err != nil {
		return nil, err
	}
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("transport: replay body: %w", err)
		}
	}
	return a.send(again, tok)
}

func (a *OAuth) send(req *http.Request, tok Token) (*http.Response, error) {
	out := withTenant(req, a.Tenant())
	out.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return baseOr(a.Base).RoundTrip(out)
}

// closeBody closes a request's body that will not be sent, as a
// RoundTripper must, and returns err.
func closeBody(req *http.Request, err error) error {
	if req.Body != nil {
		req.Body.Close()
	}
	return err
}

// token returns a token to use: the current one while it is fresh and is
// not failed (an access token the server called expired); else a refreshed
// one.
func (a *OAuth) token(ctx context.Context, failed string) (Token, error) {
	a.once.Do(func() { a.lock = make(chan struct{}, 1) })
	select {
	case a.lock <- struct{}{}:
	case <-ctx.Done():
		return Token{}, fmt.Errorf("transport: wait for the token of %s: %w", a.Key, ctx.Err())
	}
	defer func() { <-a.lock }()
	if a.cur == nil {
		tok, err := a.Store.Load(ctx, a.Key)
		if errors.Is(err, ErrNoToken) {
			return Token{}, &ReauthorizeError{Key: a.Key, Err: err}
		}
		if err != nil {
			return Token{}, fmt.Errorf("transport: token of %s: %w", a.Key, err)
		}
		a.cur = &tok
	}
	if a.usable(*a.cur, failed) {
		return *a.cur, nil
	}
	// Another process may have refreshed since we read the store.
	if stored, err := a.Store.Load(ctx, a.Key); err == nil && stored.Generation > a.cur.Generation {
		a.cur = &stored
		if a.usable(stored, failed) {
			return stored, nil
		}
	}
	return a.refresh()
}

func (a *OAuth) usable(tok Token, failed string) bool {
	early := a.Early
	if early == 0 {
		early = DefaultRefreshEarly
	}
	fresh := tok.Expiry.IsZero() || clockOr(a.Clock).Now().Add(early).Before(tok.Expiry)
	return tok.AccessToken != "" && tok.AccessToken != failed && fresh
}

// refresh trades the current refresh token for new tokens, saves them and
// makes them current. Callers hold lock. The token request and the save
// outlive the caller's context (up to DefaultTokenTimeout), so that the
// rotated token is not lost when the caller gives up.
func (a *OAuth) refresh() (Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTokenTimeout)
	defer cancel()
	client := a.TokenClient
	if client == nil {
		client = http.DefaultClient
	}
	got, err := a.Config.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, client),
		&oauth2.Token{RefreshToken: a.cur.RefreshToken}).Token()
	if rerr := (*oauth2.RetrieveError)(nil); errors.As(err, &rerr) && rerr.ErrorCode == "invalid_grant" {
		return Token{}, &ReauthorizeError{Key: a.Key, Err: err}
	}
	if err != nil {
		return Token{}, fmt.Errorf("transport: refresh the token of %s: %w", a.Key, err)
	}
	next := tokenFrom(got, clockOr(a.Clock).Now())
	if next.RefreshToken == "" {
		next.RefreshToken = a.cur.RefreshToken
	}
	next.Generation = a.cur.Generation + 1
	if err := a.Store.Save(ctx, a.Key, next); err != nil {
		return Token{}, fmt.Errorf("transport: save the refreshed token of %s: %w", a.Key, err)
	}
	a.cur = &next
	return next, nil
}

// tokenFrom is what the token endpoint answered, as stored; the expiry
// counts from now.
func tokenFrom(t *oauth2.Token, now time.Time) Token {
	tok := Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken}
	if t.ExpiresIn > 0 {
		tok.Expiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	if v, ok := t.Extra("locationId").(string); ok {
		tok.LocationID = v
	}
	if v, ok := t.Extra("scope").(string); ok {
		tok.Scope = v
	}
	return tok
}

// Exchange trades an authorization code for a tenant's first tokens and
// saves them under key (the location the answer names when key is ""),
// following whatever Store holds for it. It returns the saved token and
// its key.
func Exchange(ctx context.Context, cfg *oauth2.Config, client *http.Client, store TokenStore, clock Clock, key, code string) (Token, string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	got, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, client), code)
	if err != nil {
		return Token{}, "", fmt.Errorf("transport: exchange the code: %w", err)
	}
	tok := tokenFrom(got, clockOr(clock).Now())
	if key == "" {
		key = tok.LocationID
	}
	if strings.TrimSpace(key) == "" {
		return Token{}, "", errors.New("transport: exchange the code: the answer names no location")
	}
	prev, err := store.Load(ctx, key)
	if err != nil && !errors.Is(err, ErrNoToken) {
		return Token{}, "", fmt.Errorf("transport: exchange the code: %w", err)
	}
	tok.Generation = prev.Generation + 1
	if err := store.Save(context.WithoutCancel(ctx), key, tok); err != nil {
		return Token{}, "", fmt.Errorf("transport: save the tokens of %s: %w", key, err)
	}
	return tok, key, nil
}

// HighLevel's OAuth hosts.
const (
	HighLevelConsentURL = "https://marketplace.gohighlevel.com"
	HighLevelTokenURL   = "https://services.leadconnectorhq.com"
)

// HighLevelEndpoint is HighLevel's OAuth endpoint: the consent page
// (/oauth/chooselocation) under consentBase and the token endpoint
// (/oauth/token, client credentials in the form) under apiBase. A twin
// serves both under its base URL.
func HighLevelEndpoint(consentBase, apiBase string) oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:   strings.TrimRight(consentBase, "/") + "/oauth/chooselocation",
		TokenURL:  strings.TrimRight(apiBase, "/") + "/oauth/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// Bearer authorizes requests with a fixed token: a HighLevel Private
// Integration Token, which does not refresh.
type Bearer struct {
	Token string
	// Location is the token's location: the tenant of the requests.
	Location string
	Base     http.RoundTripper
}

// RoundTrip sends a clone of req with the token.
func (b *Bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	out := withTenant(req, "highlevel:pit/"+b.Location)
	out.Header.Set("Authorization", "Bearer "+b.Token)
	return baseOr(b.Base).RoundTrip(out)
}

// Basic authorizes requests with a Marketing 360 API key (HTTP Basic: the
// client id and secret); the key is the tenant.
type Basic struct {
	ClientID, ClientSecret string
	Base                   http.RoundTripper
}

// RoundTrip sends a clone of req with the key.
func (b *Basic) RoundTrip(req *http.Request) (*http.Response, error) {
	out := withTenant(req, "m360:"+b.ClientID)
	out.SetBasicAuth(b.ClientID, b.ClientSecret)
	return baseOr(b.Base).RoundTrip(out)
}

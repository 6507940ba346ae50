// Package connect runs the steps a person takes once to give the sync its
// credentials: the HighLevel OAuth install (consent in a browser, the code
// received on a loopback callback, exchanged and stored) and the check and
// storing of a Marketing 360 API key.
package connect

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Defaults of HighLevelOptions.
const (
	DefaultRedirectURI = "http://127.0.0.1:8080/oauth/callback"
	DefaultWait        = 5 * time.Minute
)

// ErrNotLoopback: the redirect URI is not on a loopback address, so the
// callback could not be received here.
var ErrNotLoopback = errors.New("connect: the redirect URI must be on 127.0.0.1 or localhost")

// HighLevelOptions configure the HighLevel install.
type HighLevelOptions struct {
	// APIBase is the API (and token endpoint) base URL; "" means the live
	// one. ConsentBase serves /oauth/chooselocation; "" means the live
	// marketplace, or APIBase when that is set (a twin serves both).
	APIBase, ConsentBase   string
	ClientID, ClientSecret string
	// RedirectURI is the app's registered loopback callback; "" means
	// DefaultRedirectURI.
	RedirectURI string
	// Scopes asked for; none asks for all the app's.
	Scopes []string
	Store  *transport.FileStore
	// Wait bounds the wait for the callback; 0 means DefaultWait.
	Wait time.Duration
	// HTTPClient sends the token request; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// HighLevel prints the consent URL on out, receives the code on the
// redirect URI, exchanges it and stores the tokens. It returns the
// location the tokens are for.
func HighLevel(ctx context.Context, opts HighLevelOptions, out io.Writer) (string, error) {
	redirect := opts.RedirectURI
	if redirect == "" {
		redirect = DefaultRedirectURI
	}
	cb, err := url.Parse(redirect)
	if err != nil {
		return "", fmt.Errorf("connect: redirect URI: %w", err)
	}
	if h := cb.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return "", fmt.Errorf("%w: %s", ErrNotLoopback, redirect)
	}
	api, consent := opts.APIBase, opts.ConsentBase
	if api == "" {
		api = transport.HighLevelTokenURL
	}
	if consent == "" {
		consent = transport.HighLevelConsentURL
		if opts.APIBase != "" {
			consent = opts.APIBase
		}
	}
	cfg := &oauth2.Config{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, RedirectURL: redirect,
		Endpoint: transport.HighLevelEndpoint(consent, api), Scopes: opts.Scopes}
	state, err := newState()
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", cb.Host)
	if err != nil {
		return "", fmt.Errorf("connect: listen for the callback: %w", err)
	}
	codes := make(chan callback, 1)
	srv := &http.Server{Handler: callbackHandler(cb.Path, state, codes), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()
	fmt.Fprintf(out, "Open this URL, choose the location and approve:\n\n  %s\n\nWaiting for the callback on %s ...\n",
		cfg.AuthCodeURL(state), redirect)
	wait := opts.Wait
	if wait <= 0 {
		wait = DefaultWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var got callback
	select {
	case got = <-codes:
	case <-ctx.Done():
		return "", fmt.Errorf("connect: no callback: %w", ctx.Err())
	}
	if got.err != nil {
		return "", got.err
	}
	tok, loc, err := transport.Exchange(ctx, cfg, opts.HTTPClient, opts.Store, nil, "", got.code)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	fmt.Fprintf(out, "Connected location %s (scopes: %s); tokens stored in %s.\n", loc, tok.Scope, opts.Store.Path)
	return loc, nil
}

type callback struct {
	code string
	err  error
}

// callbackHandler takes the one callback at path with the state asked for.
func callbackHandler(path, state string, codes chan<- callback) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+cmp.Or(path, "/"), func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var cb callback
		switch {
		case q.Get("state") != state:
			http.Error(w, "unexpected state: start contactbridge connect again", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			cb.err = fmt.Errorf("connect: consent refused: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			cb.err = errors.New("connect: the callback has no code")
		default:
			cb.code = q.Get("code")
		}
		select {
		case codes <- cb:
		default: // a second callback: the first one counts
		}
		if cb.err != nil {
			http.Error(w, cb.err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "contactbridge is connected: you can close this window.")
	})
	return mux
}

func newState() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("connect: state: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// M360Options configure the storing of a Marketing 360 key.
type M360Options struct {
	// BaseURL is the API's base URL; "" means the live one.
	BaseURL                string
	ClientID, ClientSecret string
	Store                  *transport.FileStore
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// Marketing360 checks the key against GET /v1/account (validated against
// the spec) and stores it under its client id. It returns the account.
func Marketing360(ctx context.Context, opts M360Options, out io.Writer) (int64, error) {
	spec, err := openapi.LoadMarketing360(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	stack := transport.New(transport.Config{Auth: &transport.Basic{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret},
		Specs: []*openapi.Spec{spec}, Base: opts.Base})
	c, err := m360api.New(strings.TrimRight(opts.BaseURL, "/"), stack.Client())
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	res, err := m360api.OK(c.M360GetAccountWithResponse(ctx))
	if err == nil && res.JSON200 == nil {
		err = m360api.ErrNoBody
	}
	if err != nil {
		return 0, fmt.Errorf("connect: check the key: %w", err)
	}
	acct := res.JSON200.Result
	if err := opts.Store.SaveKey(opts.ClientID, transport.APIKey{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, AccountID: acct.Id}); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	fmt.Fprintf(out, "Key %s works for account %d (%s); stored in %s.\n", opts.ClientID, acct.Id, acct.Name, opts.Store.Path)
	return acct.Id, nil
}

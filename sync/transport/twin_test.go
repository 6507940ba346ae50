package transport

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/oauth2"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// oauthConfig is the default app of the twin.
func oauthConfig(w *twintest.Twin) *oauth2.Config {
	app := w.App()
	return &oauth2.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: app.RedirectURI,
		Endpoint: HighLevelEndpoint(w.HighLevelURL(), w.HighLevelURL())}
}

// connected runs the install flow against the twin and returns a file
// store holding the location's first tokens, and the location.
func connected(t *testing.T, w *twintest.Twin, clk Clock) (*FileStore, string) {
	t.Helper()
	store := &FileStore{Path: filepath.Join(t.TempDir(), "tokens.json")}
	tok, key, err := Exchange(context.Background(), oauthConfig(w), &http.Client{Transport: w.Base()}, store, clk, "", w.Authorize("st"))
	if err != nil {
		t.Fatal(err)
	}
	if key != w.Location() || tok.Generation != 1 || tok.RefreshToken == "" {
		t.Fatalf("Exchange = %+v for %q", tok, key)
	}
	return store, key
}

// oauthFor is a process's OAuth layer for the location in store.
func oauthFor(w *twintest.Twin, store TokenStore, key string, clk Clock) *OAuth {
	return &OAuth{Config: oauthConfig(w), Store: store, Key: key, TokenClient: &http.Client{Transport: w.Base()}, Clock: clk}
}

// strictHighLevel is a HighLevel client through the strict stack.
func strictHighLevel(t *testing.T, w *twintest.Twin, auth Auth, clk Clock) (*highlevelapi.ClientWithResponses, *Stack) {
	t.Helper()
	stack := New(Config{Auth: auth, Specs: []*openapi.Spec{w.HighLevelSpec()}, Strict: true, Clock: clk, Base: w.Base()})
	c, err := highlevelapi.New(w.HighLevelURL(), stack.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, stack
}

// strictM360 is a Marketing 360 client through the strict stack.
func strictM360(t *testing.T, w *twintest.Twin, clk Clock) (*m360api.ClientWithResponses, *Stack) {
	t.Helper()
	id, secret := w.M360Key()
	stack := New(Config{Auth: &Basic{ClientID: id, ClientSecret: secret}, Specs: []*openapi.Spec{w.M360Spec()},
		Strict: true, Clock: clk, Base: w.Base()})
	c, err := m360api.New(w.M360URL(), stack.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c, stack
}

func listContacts(ctx context.Context, c *highlevelapi.ClientWithResponses, loc string) error {
	_, err := highlevelapi.OK(c.GetContactsWithResponse(ctx, &highlevelapi.GetContactsParams{LocationId: loc}))
	return err
}

func TestOAuthRefreshesOnceWhenTheTwinsClockPassesExpiry(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	clk := newFakeClock() // the client's clock does not move
	store, loc := connected(t, w, clk)
	c, _ := strictHighLevel(t, w, oauthFor(w, store, loc, clk), clk)
	ctx := context.Background()
	if err := listContacts(ctx, c, loc); err != nil {
		t.Fatal(err)
	}
	w.AdvanceClock(86400e9) // a day: the access token has expired
	if err := listContacts(ctx, c, loc); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := listContacts(ctx, c, loc); err != nil {
		t.Fatal(err)
	}
	if n := w.Count("get-access-token"); n != 2 {
		t.Errorf("%d token requests, want 2 (the code, one refresh)", n)
	}
	if tok, err := store.Load(ctx, loc); err != nil || tok.Generation != 2 {
		t.Errorf("stored %+v, %v; want generation 2", tok, err)
	}
}

func TestOAuthTwentyGoroutinesOneRefresh(t *testing.T) {
	for name, expire := range map[string]func(*twintest.Twin, *twintest.Clock){
		"the twin says expired": func(w *twintest.Twin, _ *twintest.Clock) { w.AdvanceClock(86400e9) },
		"the client's clock":    func(w *twintest.Twin, clk *twintest.Clock) { w.AdvanceClock(86400e9); clk.Advance(86400e9) },
	} {
		t.Run(name, func(t *testing.T) {
			w := twintest.New(t, twintest.Options{})
			clk := newFakeClock()
			store, loc := connected(t, w, clk)
			c, _ := strictHighLevel(t, w, oauthFor(w, store, loc, clk), clk)
			expire(w, clk)
			errs := make(chan error, 20)
			for range 20 {
				go func() { errs <- listContacts(context.Background(), c, loc) }()
			}
			for range 20 {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			if n := w.Count("get-access-token"); n != 2 {
				t.Errorf("%d token requests, want 2 (the code, one refresh)", n)
			}
		})
	}
}

func TestOAuthRotatedTokenNeedsReauthorizing(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	clk := newFakeClock()
	store, loc := connected(t, w, clk)
	// A second process holds a copy of the same tokens and refreshes first.
	copied := &FileStore{Path: filepath.Join(t.TempDir(), "copy.json")}
	tok, err := store.Load(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := copied.Save(context.Background(), loc, tok); err != nil {
		t.Fatal(err)
	}
	w.AdvanceClock(86400e9)
	clk.Advance(86400e9)
	other, _ := strictHighLevel(t, w, oauthFor(w, copied, loc, clk), clk)
	if err := listContacts(context.Background(), other, loc); err != nil {
		t.Fatal(err)
	}
	c, _ := strictHighLevel(t, w, oauthFor(w, store, loc, clk), clk)
	err = listContacts(context.Background(), c, loc)
	var re *ReauthorizeError
	if !errors.As(err, &re) || !errors.Is(err, ErrReauthorize) || re.Key != loc {
		t.Fatalf("err = %v, want a *ReauthorizeError naming %s", err, loc)
	}
	if n := w.Count("get-access-token"); n != 3 {
		t.Errorf("%d token requests, want 3 (code, the other's refresh, one refused): no retry loop", n)
	}
}

// crashingTokens sends the token requests to the twin, or dies (returns an
// error, dropping what it had) before or after the twin answers.
type crashingTokens struct {
	base          http.RoundTripper
	before, after bool
}

var errKilled = errors.New("process killed")

func (c *crashingTokens) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.before {
		return nil, errKilled
	}
	res, err := c.base.RoundTrip(req)
	if err == nil && c.after {
		res.Body.Close()
		return nil, errKilled
	}
	return res, err
}

func TestOAuthCrashAtEachStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace bool
		crash func(w *twintest.Twin, a *OAuth)
		// reauthorize: the restarted process must be authorized again.
		reauthorize bool
	}{
		{name: "before the refresh is sent", crash: func(w *twintest.Twin, a *OAuth) {
			a.TokenClient = &http.Client{Transport: &crashingTokens{base: w.Base(), before: true}}
		}},
		{name: "after the refresh is saved, before the token is used", crash: func(w *twintest.Twin, a *OAuth) {
			a.Base = roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errKilled })
		}},
		// The twin rotated the refresh token and the answer died with the
		// process: with the live API's grace window of 0 no client can keep
		// it, and the location asks to be authorized again (no loop) ...
		{name: "after the twin answered, before saving, grace 0", reauthorize: true, crash: func(w *twintest.Twin, a *OAuth) {
			a.TokenClient = &http.Client{Transport: &crashingTokens{base: w.Base(), after: true}}
		}},
		// ... while a grace window lets the restarted process refresh again.
		{name: "after the twin answered, before saving, grace 1m", grace: true, crash: func(w *twintest.Twin, a *OAuth) {
			a.TokenClient = &http.Client{Transport: &crashingTokens{base: w.Base(), after: true}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := twintest.Options{}
			if tc.grace {
				opts.RefreshGrace = 60e9
			}
			w := twintest.New(t, opts)
			clk := newFakeClock()
			store, loc := connected(t, w, clk)
			w.AdvanceClock(86400e9)
			clk.Advance(86400e9)
			dying := oauthFor(w, store, loc, clk)
			tc.crash(w, dying)
			req, _ := http.NewRequest(http.MethodGet, w.HighLevelURL()+"/contacts/?locationId="+loc, nil)
			req.Header.Set("Version", "2021-07-28")
			if _, err := dying.RoundTrip(req); !errors.Is(err, errKilled) {
				t.Fatalf("the dying process: %v, want it killed", err)
			}
			// The restarted process reads the store.
			c, _ := strictHighLevel(t, w, oauthFor(w, &FileStore{Path: store.Path}, loc, clk), clk)
			err := listContacts(context.Background(), c, loc)
			if tc.reauthorize {
				if !errors.Is(err, ErrReauthorize) {
					t.Fatalf("restarted: %v, want ErrReauthorize", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("restarted: %v: the stored refresh token must still work", err)
			}
		})
	}
}

package auth_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
)

var t0 = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)

// newRegistry returns a registry on a frozen clock at t0 whose secrets are
// numbered, so tests know them.
func newRegistry(t *testing.T) (*auth.Registry, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	r := auth.NewRegistry(clk)
	n := 0
	r.Secrets = func(size int) string {
		n++
		s := fmt.Sprintf("s%0*d", size-1, n)
		return s[len(s)-size:]
	}
	return r, clk
}

func TestRegistry_AuthenticateParsesTheHeader(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	r.Add("tok", auth.Principal{Kind: auth.PrivateIntegration, LocationID: "L", Scopes: []string{"contacts.readonly"}})
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer tok", true},
		{"bearer tok", true},
		{"BEARER tok ", true},
		{"Bearer  tok", true},
		{"Bearer other", false},
		{"Bearer ", false},
		{"Bearer", false},
		{"tok", false},
		{"Basic tok", false},
		{"", false},
	} {
		p, err := r.Authenticate(tc.header)
		switch {
		case tc.ok && (err != nil || p.LocationID != "L" || p.Kind != auth.PrivateIntegration):
			t.Errorf("%q: %+v, %v", tc.header, p, err)
		case !tc.ok && !errors.Is(err, auth.ErrInvalidToken):
			t.Errorf("%q: %+v, %v; want ErrInvalidToken", tc.header, p, err)
		}
	}
}

func TestRegistry_AddAndAuthenticateCopyScopes(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	scopes := []string{"a", "b"}
	r.Add("tok", auth.Principal{Scopes: scopes})
	scopes[0] = "changed"
	p, err := r.Authenticate("Bearer tok")
	if err != nil || !slices.Equal(p.Scopes, []string{"a", "b"}) {
		t.Fatalf("%+v, %v", p, err)
	}
}

// TestRegistry_PrincipalsHandedOutDoNotChange: Authenticate hands out the
// registry's own principal, which a later Add or Reset for the token
// replaces rather than changes: one already handed out keeps what it said.
func TestRegistry_PrincipalsHandedOutDoNotChange(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	r.Add("tok", auth.Principal{LocationID: "L1", Scopes: []string{"a"}})
	first, err := r.Authenticate("Bearer tok")
	if err != nil {
		t.Fatal(err)
	}
	r.Add("tok", auth.Principal{LocationID: "L2", Scopes: []string{"b"}})
	second, err := r.Authenticate("Bearer tok")
	if err != nil || second.LocationID != "L2" {
		t.Fatalf("after the second Add: %+v, %v", second, err)
	}
	r.Reset(map[string]auth.Principal{"tok": {LocationID: "L3", Scopes: []string{"c"}}})
	third, err := r.Authenticate("Bearer tok")
	if err != nil || third.LocationID != "L3" {
		t.Fatalf("after the Reset: %+v, %v", third, err)
	}
	if first.LocationID != "L1" || !slices.Equal(first.Scopes, []string{"a"}) ||
		second.LocationID != "L2" || !slices.Equal(second.Scopes, []string{"b"}) {
		t.Errorf("principals handed out changed: %+v then %+v", first, second)
	}
}

func TestRegistry_TokensExpireOnTheClock(t *testing.T) {
	t.Parallel()
	r, clk := newRegistry(t)
	r.Add("short", auth.Principal{ExpiresAt: t0.Add(time.Minute)})
	r.Add("forever", auth.Principal{})
	if _, err := r.Authenticate("Bearer short"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if _, err := r.Authenticate("Bearer short"); err != nil {
		t.Fatalf("a nanosecond before expiry: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := r.Authenticate("Bearer short"); !errors.Is(err, auth.ErrExpiredToken) {
		t.Errorf("at expiry: %v, want ErrExpiredToken", err)
	}
	clk.Advance(10 * 365 * 24 * time.Hour)
	if _, err := r.Authenticate("Bearer forever"); err != nil {
		t.Errorf("a token without expiry: %v", err)
	}
}

func TestRegistry_Mint(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	r.SetLifetimes(auth.Lifetimes{Access: time.Hour, Refresh: time.Hour, Code: time.Minute})
	uuid := regexp.MustCompile(`^pit-[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$`)
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		pit     bool
		expires time.Time
	}{
		{"default lifetime", 0, false, t0.Add(time.Hour)},
		{"chosen lifetime", 90 * time.Second, false, t0.Add(90 * time.Second)},
		{"never", -1, false, time.Time{}},
		{"private integration", -1, true, time.Time{}},
	} {
		token, p := r.Mint("L", []string{"contacts.write"}, tc.ttl, tc.pit)
		if !p.ExpiresAt.Equal(tc.expires) || p.LocationID != "L" || !slices.Equal(p.Scopes, []string{"contacts.write"}) {
			t.Errorf("%s: %+v", tc.name, p)
		}
		switch {
		case tc.pit && (p.Kind != auth.PrivateIntegration || !uuid.MatchString(token) || p.AppID != "pit-"+token[4:12]):
			t.Errorf("%s: %q %+v", tc.name, token, p)
		case !tc.pit && (p.Kind != auth.OAuthAccess || p.AppID != "admin" || len(token) != 40):
			t.Errorf("%s: %q %+v", tc.name, token, p)
		}
		got, err := r.Authenticate("Bearer " + token)
		if err != nil || got.AppID != p.AppID || !got.ExpiresAt.Equal(p.ExpiresAt) {
			t.Errorf("%s: authenticate: %+v, %v", tc.name, got, err)
		}
	}
}

func TestRegistry_ResetKeepsOnlyTheStaticTokens(t *testing.T) {
	t.Parallel()
	r, _ := newRegistry(t)
	app := auth.App{ClientID: "app-1", ClientSecret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"x"}, Location: "L",
		Locations: []string{"L2", "L3"}}
	r.PutApp(app)
	minted, _ := r.Mint("L", nil, -1, false)
	code, err := r.Authorize(app.ClientID, app.RedirectURIs[0], "", "L2")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.Token(auth.TokenRequest{ClientID: "app-1", ClientSecret: "s", GrantType: "client_credentials", Location: "L3"})
	if err != nil {
		t.Fatal(err)
	}
	static := map[string]auth.Principal{"pit-static": {Kind: auth.PrivateIntegration, LocationID: "L", Scopes: []string{"y"}}}
	r.Reset(static)
	static["pit-static"].Scopes[0] = "changed"

	if p, err := r.Authenticate("Bearer pit-static"); err != nil || !slices.Equal(p.Scopes, []string{"y"}) {
		t.Errorf("static token: %+v, %v", p, err)
	}
	for _, tok := range []string{minted, resp.AccessToken} {
		if _, err := r.Authenticate("Bearer " + tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("token %s survived the reset: %v", tok, err)
		}
	}
	if _, err := r.Token(auth.TokenRequest{ClientID: "app-1", ClientSecret: "s", GrantType: "authorization_code", Code: code}); !errors.Is(err, auth.ErrInvalidGrant) {
		t.Errorf("code survived the reset: %v", err)
	}
	if got := r.Locations("app-1"); !slices.Equal(got, []string{"L", "L2", "L3"}) {
		t.Errorf("the app's installs after the reset: %v, want its own", got)
	}
	if _, ok := r.App("app-1"); !ok {
		t.Error("the app did not stay")
	}
}

func TestPrincipal_ScopesAndLocation(t *testing.T) {
	t.Parallel()
	p := &auth.Principal{LocationID: "L", Scopes: []string{"a", "b"}}
	for _, tc := range []struct {
		want []string
		ok   bool
	}{{nil, true}, {[]string{"a"}, true}, {[]string{"b", "a"}, true}, {[]string{"a", "c"}, false}} {
		if got := p.HasScopes(tc.want); got != tc.ok {
			t.Errorf("HasScopes(%v) = %v", tc.want, got)
		}
	}
	if err := p.CanAccess("L"); err != nil {
		t.Errorf("own location: %v", err)
	}
	if err := p.CanAccess("M"); !errors.Is(err, auth.ErrLocation) {
		t.Errorf("other location: %v", err)
	}
}

func TestKeyRing(t *testing.T) {
	t.Parallel()
	k := auth.NewKeyRing()
	scopes := []string{"contacts:read"}
	k.Add("id1", "secret1", auth.Principal{LocationID: "42", Scopes: scopes, AppID: "ignored", Kind: auth.OAuthAccess})
	scopes[0] = "changed"
	basic := func(s string) string { return "Basic " + b64(s) }
	p, err := k.Authenticate(basic("id1:secret1"))
	if err != nil || p.Kind != auth.APIKey || p.AppID != "id1" || p.LocationID != "42" || !slices.Equal(p.Scopes, []string{"contacts:read"}) {
		t.Fatalf("%+v, %v", p, err)
	}
	p.Scopes[0] = "mutated"
	if again, _ := k.Authenticate(basic("id1:secret1")); again.Scopes[0] != "contacts:read" {
		t.Errorf("a principal shares its scopes with the ring: %v", again.Scopes)
	}
	for _, h := range []string{basic("id1:wrong"), basic("id2:secret1"), basic("id1"), "Basic !!!", "Bearer " + b64("id1:secret1"), "basic"} {
		if _, err := k.Authenticate(h); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%q: %v, want ErrInvalidToken", h, err)
		}
	}
	if _, err := k.Authenticate("basic " + b64("id1:secret1")); err != nil {
		t.Errorf("scheme in lower case: %v", err)
	}

	k.Reset([]auth.KeyEntry{{ClientID: "kept", Secret: "s", Principal: auth.Principal{LocationID: "7"}}})
	if _, err := k.Authenticate(basic("id1:secret1")); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("a key survived the reset: %v", err)
	}
	if p, err := k.Authenticate(basic("kept:s")); err != nil || p.Kind != auth.APIKey || p.AppID != "kept" {
		t.Errorf("kept key: %+v, %v", p, err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/transport"
)

var bannerBaseURL = regexp.MustCompile(`(?m)^HighLevel Contacts API v2 twin\n  base URL   (\S+)`)

// freeLoopbackPort returns a port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestConnect_HighLevelThenACallAfterExpiry runs the install as a person
// would, against the running twin: connect prints the consent URL, the
// "browser" opens it and follows the twin's redirect to connect's callback,
// and the stored tokens then serve a call made after the twin's clock has
// passed their expiry.
func TestConnect_HighLevelThenACallAfterExpiry(t *testing.T) {
	dir := t.TempDir()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/oauth/callback", freeLoopbackPort(t))
	cfg := filepath.Join(dir, "twin.yaml")
	if err := os.WriteFile(cfg, []byte(`highlevel:
  locations:
    - {id: loc-connect, name: Connect}
  apps:
    - clientId: connect-app
      location: loc-connect
      clientSecret: connect-secret
      redirectUris: [`+redirect+`]
      scopes: [contacts.readonly, contacts.write]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := bannerBaseURL.FindStringSubmatch(startMock(t, "--seed", "3", "--config", cfg))
	if m == nil {
		t.Fatal("no base URL in the banner")
	}
	base := m[1]
	store := filepath.Join(dir, "credentials.json")

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"connect", "highlevel", "--base-url", base, "--client-id", "connect-app",
			"--client-secret", "connect-secret", "--redirect-uri", redirect, "--store", store, "--wait", "30s"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var consent string
	for consent == "" && sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, base+"/oauth/chooselocation?") {
			consent = line
		}
	}
	if consent == "" {
		t.Fatal("connect printed no consent URL")
	}
	browser := &http.Client{Timeout: 10 * time.Second}
	res, err := browser.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "connected") {
		t.Fatalf("callback page: %d %s", res.StatusCode, page)
	}
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := <-done; err != nil {
		t.Fatalf("connect: %v", err)
	}
	if !strings.Contains(rest.String(), "Connected location") {
		t.Errorf("connect said %q", rest.String())
	}
	info, err := os.Stat(store)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, %v", info, err)
	}
	raw, _ := os.ReadFile(store)
	loc := regexp.MustCompile(`"highlevel": \{\s*"([^"]+)"`).FindSubmatch(raw)
	if loc == nil {
		t.Fatalf("no location in %s", raw)
	}

	// A day later on the twin's clock, the stored tokens still serve.
	advance, _ := http.NewRequest(http.MethodPost, base+"/__admin/clock", strings.NewReader(`{"advance":"25h"}`))
	advance.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(advance); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("move the clock: %v %v", res, err)
	}
	oa := &transport.OAuth{Config: &oauth2.Config{ClientID: "connect-app", ClientSecret: "connect-secret",
		Endpoint: transport.HighLevelEndpoint(base, base)}, Store: &transport.FileStore{Path: store}, Key: string(loc[1])}
	c, err := highlevelapi.New(base, transport.New(transport.Config{Auth: oa}).Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := highlevelapi.OK(c.GetContactsWithResponse(context.Background(), &highlevelapi.GetContactsParams{LocationId: string(loc[1])})); err != nil {
		t.Fatalf("a call after expiry: %v", err)
	}
	if tok, err := oa.Store.Load(context.Background(), string(loc[1])); err != nil || tok.Generation != 2 {
		t.Errorf("stored %+v, %v; want the refreshed generation 2", tok, err)
	}
}

var bannerM360Key = regexp.MustCompile(`(?s)Marketing 360 twin\n  base URL   (\S+)/v1.*?client id (\S+)\n\s+client secret (\S+)`)

func TestConnect_M360StoresACheckedKey(t *testing.T) {
	m := bannerM360Key.FindStringSubmatch(startMock(t, "--seed", "4"))
	if m == nil {
		t.Fatal("no Marketing 360 key in the banner")
	}
	store := filepath.Join(t.TempDir(), "credentials.json")
	var out strings.Builder
	if err := run(context.Background(), []string{"connect", "m360", "--base-url", m[1], "--client-id", m[2], "--client-secret", m[3], "--store", store}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	key, err := (&transport.FileStore{Path: store}).LoadKey(m[2])
	if err != nil || key.ClientSecret != m[3] || key.AccountID == 0 {
		t.Errorf("stored %+v, %v", key, err)
	}
	err = run(context.Background(), []string{"connect", "m360", "--base-url", m[1], "--client-id", m[2], "--client-secret", "wrong", "--store", store}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v, want the 401", err)
	}
}

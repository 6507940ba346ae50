//go:build pact

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sandbox is a twin started by `contactbridge mock` and seen as a sandbox
// account: what its banner prints, plus restricted credentials.
type sandbox struct {
	hlURL, m360URL, location, calendar, token, m360ID, m360Secret string
	readOnly, m360ReadOnlyID, m360ReadOnlySecret                  string
}

const otherLocation, otherToken = "pactOtherLocation001", "pit-cli-other-location"

func startSandbox(t *testing.T) sandbox {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "twin.yaml")
	if err := os.WriteFile(cfg, []byte(`m360Limits: {enabled: true, perSecond: 5, capacity: 300, retryAfter: true}
locations:
  - {id: `+otherLocation+`, name: Other}
tokens:
  - {token: `+otherToken+`, locationId: `+otherLocation+`, scopes: [contacts.readonly, contacts.write]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	banner := startMock(t, "--seed", "1", "--empty", "--config", cfg)
	field := func(re string) []string {
		m := regexp.MustCompile(re).FindAllStringSubmatch(banner, -1)
		if m == nil {
			t.Fatalf("no %s in the banner:\n%s", re, banner)
		}
		var out []string
		for _, s := range m {
			out = append(out, s[1])
		}
		return out
	}
	urls := field(`base URL +(http://\S+)`)
	s := sandbox{hlURL: urls[0], m360URL: strings.TrimSuffix(urls[1], "/v1"),
		location: field(`location +(\S+)`)[0], calendar: field(`calendar +(\S+)`)[0],
		token: field(`token +(pit-\S+)`)[0], m360ID: field(`client id (m360_\S+)`)[0], m360Secret: field(`client secret (\S+)`)[0]}
	var tok struct{ Token string }
	adminCall(t, s.hlURL, "POST", "/__admin/tokens", map[string]any{"locationId": s.location, "scopes": []string{"contacts.readonly"}}, &tok)
	s.readOnly = tok.Token
	var key struct{ ClientID, ClientSecret string }
	account := field(`account +(\d+)`)[0]
	adminCall(t, s.hlURL, "POST", "/__admin/m360/keys", json.RawMessage(`{"accountId":`+account+`,"permissions":["contacts:read"]}`), &key)
	s.m360ReadOnlyID, s.m360ReadOnlySecret = key.ClientID, key.ClientSecret
	// The twin's clock is frozen: a 429's Retry-After passes when the
	// test moves it, not by waiting.
	rateLimitWait = func(ctx context.Context, d time.Duration) error {
		adminCall(t, s.hlURL, "POST", "/__admin/clock", map[string]string{"advance": "1h"}, nil)
		return nil
	}
	t.Cleanup(func() { rateLimitWait = nil })
	return s
}

func adminCall(t *testing.T, base, method, path string, body, out any) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, res.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func (s sandbox) highLevelArgs() []string {
	return []string{"contract", "verify", "--provider", "highlevel", "--base-url", s.hlURL, "--token", s.token,
		"--location", s.location, "--calendar", s.calendar, "--readonly-token", s.readOnly,
		"--other-location", otherLocation, "--other-token", otherToken}
}

type junitFile struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitFile
	if err := xml.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Suites) != 1 {
		t.Fatalf("junit suites = %d", len(j.Suites))
	}
	return j
}

func TestContractVerify_PassesAgainstAStartedTwinAndLeavesNothing(t *testing.T) {
	s := startSandbox(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"highlevel", s.highLevelArgs(), "HighLevel: 17 interactions, 0 failed"},
		{"m360", []string{"contract", "verify", "--provider", "m360", "--base-url", s.m360URL, "--client-id", s.m360ID,
			"--client-secret", s.m360Secret, "--readonly-client-id", s.m360ReadOnlyID, "--readonly-client-secret", s.m360ReadOnlySecret},
			"Marketing360: 15 interactions, 0 failed"},
	} {
		var out, errOut bytes.Buffer
		junit := filepath.Join(dir, tc.name+".xml")
		if err := run(context.Background(), append(tc.args, "--junit", junit), &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, errOut.String())
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: output %q, want %q", tc.name, out.String(), tc.want)
		}
		if j := readJUnit(t, junit); j.Suites[0].Failures != 0 || j.Suites[0].Tests < 15 {
			t.Errorf("%s: junit %+v", tc.name, j)
		}
	}
	var st map[string]json.RawMessage
	adminCall(t, s.hlURL, "GET", "/__admin/state", nil, &st)
	for kind, raw := range st {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 && kind != "locations" && kind != "m360Accounts" && kind != "m360Campaigns" {
			t.Errorf("verify left %d %s behind", len(list), kind)
		}
	}
}

func TestContractVerify_FailsOnAPactTheTwinDoesNotKeep(t *testing.T) {
	s := startSandbox(t)
	raw, err := os.ReadFile("../../contract/pacts/contactbridge-sync-HighLevel.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pact, junit := filepath.Join(dir, "drifted.json"), filepath.Join(dir, "out.xml")
	// The consumer now reads "givenName" where the API answers "firstName".
	if err := os.WriteFile(pact, bytes.ReplaceAll(raw, []byte(`"firstName": "Ada"`), []byte(`"givenName": "Ada"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(s.highLevelArgs(), "--pact", pact, "--junit", junit), &out, &errOut)
	if !errors.Is(err, errVerifyFailed) {
		t.Fatalf("err = %v, want errVerifyFailed", err)
	}
	if !strings.Contains(errOut.String(), "missing the following keys: givenName") {
		t.Errorf("stderr does not name the field:\n%s", errOut.String())
	}
	if j := readJUnit(t, junit); j.Suites[0].Failures == 0 {
		t.Errorf("junit has no failures: %+v", j)
	}
}

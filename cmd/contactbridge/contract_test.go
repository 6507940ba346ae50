package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
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
	if err := os.WriteFile(cfg, []byte(`m360:
  limits: {enabled: true, perSecond: 5, capacity: 300, retryAfter: true}
highlevel:
  locations:
    - {id: `+otherLocation+`, name: Other}
  tokens:
    - {token: `+otherToken+`, locationId: `+otherLocation+`, scopes: [contacts.readonly, contacts.write]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	banner := startMock(t, "--seed", "1", "--empty", "--config", cfg)
	field := func(re string) []string { return bannerField(t, banner, re) }
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

// bannerField is the first group of each match of re in a twin's banner.
func bannerField(t *testing.T, banner, re string) []string {
	t.Helper()
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

type junitSuiteFile struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
}

type junitFile struct {
	Suites []junitSuiteFile `xml:"testsuite"`
}

// junitSuite is suite i of the JUnit file at path.
func readJUnit(t *testing.T, path string, i int) junitSuiteFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j junitFile
	if err := xml.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Suites) <= i {
		t.Fatalf("junit suites = %d", len(j.Suites))
	}
	return j.Suites[i]
}

// leftovers fails when the twin holds records: a run must delete what it
// made.
func leftovers(t *testing.T, s sandbox, what string) {
	t.Helper()
	var st map[string]json.RawMessage
	adminCall(t, s.hlURL, "GET", "/__admin/state", nil, &st)
	for kind, raw := range st {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 && kind != "locations" && kind != "m360Accounts" && kind != "m360Campaigns" {
			t.Errorf("%s left %d %s behind", what, len(list), kind)
		}
	}
}

func TestContractCheck_TwinConformsAndTheVendorDocumentShowsDrift(t *testing.T) {
	s := startSandbox(t)
	dir := t.TempDir()
	md, junit := filepath.Join(dir, "report.md"), filepath.Join(dir, "report.xml")
	hl := []string{"contract", "check", "--base-url", s.hlURL, "--token", s.token, "--readonly-token", s.readOnly,
		"--location", s.location, "--calendar", s.calendar}
	var out bytes.Buffer
	if err := run(context.Background(), append(hl, "--spec", "highlevel", "--junit", junit), &out, io.Discard); err != nil {
		t.Fatalf("check highlevel: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "| 100.0% | 55 of 55 |") || !strings.Contains(out.String(), "No differences.") {
		t.Errorf("report:\n%s", out.String())
	}
	if j := readJUnit(t, junit, 0); j.Failures != 0 || j.Tests == 0 {
		t.Errorf("junit %+v", j)
	}
	m360 := []string{"contract", "check", "--spec", "m360", "--base-url", s.m360URL, "--client-id", s.m360ID,
		"--client-secret", s.m360Secret, "--readonly-client-id", s.m360ReadOnlyID, "--readonly-client-secret", s.m360ReadOnlySecret}
	out.Reset()
	if err := run(context.Background(), m360, &out, io.Discard); err != nil {
		t.Fatalf("check m360: %v\n%s", err, out.String())
	}
	err := run(context.Background(), append(hl, "--spec", "../../mock/testdata/vendor/highlevel/apps/contacts.json", "--markdown", md), &out, io.Discard)
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("check against the vendor document: %v, want errCheckFailed", err)
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	// The twin serves every operation of the document; the document's
	// bulk tags path has a {type} it does not declare, and it lists no 404.
	for _, want := range []string{"## Statuses of the wrong class", "create-association", "## Statuses the document does not list"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the drift report lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), "## Operations the API does not serve") {
		t.Errorf("the twin does not serve an operation of the vendor's document:\n%s", raw)
	}
	if strings.Contains(string(raw), "## Answers that break the document's schemas") {
		t.Errorf("the twin breaks the vendor's schemas:\n%s", raw)
	}
	leftovers(t, s, "check")
}

func TestContractDiff_BreakingFirst(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"contract", "diff", "--fail-on-breaking", "highlevel", "../../mock/testdata/vendor/highlevel/apps/contacts.json"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "breaking changes") {
		t.Fatalf("err = %v", err)
	}
	if i, j := strings.Index(out.String(), "## Breaking"), strings.Index(out.String(), "## Other changes"); i < 0 || j < i {
		t.Errorf("breaking changes do not come first:\n%.1500s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"contract", "diff", "m360", "m360"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "0 changes, 0 breaking") {
		t.Errorf("diff of a document with itself: %v\n%s", err, out.String())
	}
}

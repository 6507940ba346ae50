package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// startMock runs `contactbridge mock` with args on a free port and returns
// the banner it printed; the command stops when the test ends.
func startMock(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"mock", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mock exited with %v", err)
		}
	})
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasSuffix(sc.Text(), "/__admin/webhooks/deliveries'") { // the banner's last line
			break
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until the pipe closes
	return banner.String()
}

var curlPart = regexp.MustCompile(`-H '([^']+)'|'(http[^']+)'`)

// curlRequest turns the banner's first curl line into a request.
func curlRequest(t *testing.T, banner string) *http.Request {
	t.Helper()
	for _, line := range strings.Split(banner, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "curl -s -H") {
			continue
		}
		var url string
		hdr := http.Header{}
		for _, m := range curlPart.FindAllStringSubmatch(line, -1) {
			if m[2] != "" {
				url = m[2]
				continue
			}
			k, v, _ := strings.Cut(m[1], ": ")
			hdr.Set(k, v)
		}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		return req
	}
	t.Fatalf("no curl line in banner:\n%s", banner)
	return nil
}

func TestMock_PrintedCurlWorks(t *testing.T) {
	banner := startMock(t, "--seed", "42", "--strict")
	req := curlRequest(t, banner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Contacts []any `json:"contacts"`
		Count    *int  `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	// The embedded default scenario is loaded: 250 contacts.
	if resp.StatusCode != http.StatusOK || body.Count == nil || *body.Count != 250 || len(body.Contacts) != 5 {
		t.Fatalf("printed curl: status %d, body %+v", resp.StatusCode, body)
	}
}

func TestMock_SeedMakesBannerReproducible(t *testing.T) {
	token := regexp.MustCompile(`token +(pit-[0-9a-f-]+)`)
	a := token.FindStringSubmatch(startMock(t, "--seed", "7"))
	b := token.FindStringSubmatch(startMock(t, "--seed", "7"))
	if a == nil || b == nil || a[1] != b[1] {
		t.Fatalf("tokens differ with the same seed: %v vs %v", a, b)
	}
}

func TestMock_RejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback address", []string{"mock", "--addr", "0.0.0.0:4010"}, "loopback"},
		{"unknown clock", []string{"mock", "--addr", "127.0.0.1:0", "--clock", "slow"}, "clock \"slow\""},
		{"missing spec file", []string{"mock", "--addr", "127.0.0.1:0", "--spec", "/nonexistent.yaml"}, "read spec"},
		{"bad log level", []string{"mock", "--log-level", "loud"}, "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestMock_ConfigFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/twin.yaml"
	if err := os.WriteFile(cfg, []byte(`seed: 5
strict: true
journal:
  size: 50
highlevel:
  limits:
    enabled: true
    burst: 7
    interval: 2s
    daily: 1000
    retryAfter: false
  apps:
    - clientId: my-app
      clientSecret: my-secret
      redirectUris: [http://127.0.0.1:9999/cb]
      scopes: [contacts.readonly]
faults:
  - match: {operation: get-contact}
    effect: {kind: error, status: 503}
    times: 1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"mock", "--config", cfg, "--print-config", "--burst", "9"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Seed    int  `yaml:"seed"`
		Strict  bool `yaml:"strict"`
		Journal struct {
			Size int `yaml:"size"`
		} `yaml:"journal"`
		HighLevel struct {
			Limits struct {
				Burst      int    `yaml:"burst"`
				Interval   string `yaml:"interval"`
				RetryAfter bool   `yaml:"retryAfter"`
			} `yaml:"limits"`
			Apps []struct {
				ClientID string `yaml:"clientId"`
			} `yaml:"apps"`
		} `yaml:"highlevel"`
		Faults []struct {
			Times int `yaml:"times"`
		} `yaml:"faults"`
	}
	if err := yaml.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("print-config is not YAML: %v\n%s", err, out.String())
	}
	if got.Seed != 5 || !got.Strict || got.Journal.Size != 50 || got.HighLevel.Limits.Burst != 9 || got.HighLevel.Limits.Interval != "2s" ||
		got.HighLevel.Limits.RetryAfter || len(got.HighLevel.Apps) != 1 || got.HighLevel.Apps[0].ClientID != "my-app" || len(got.Faults) != 1 {
		t.Fatalf("effective config wrong (flag --burst 9 must win over the file's 7):\n%s", out.String())
	}

	// The config is used: the file's fault fires once.
	banner := startMock(t, "--config", cfg)
	req := curlRequest(t, banner)
	req.URL.Path = "/contacts/nonexistent"
	req.URL.RawQuery = ""
	for _, want := range []int{503, 404} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET a contact: %d, want %d", resp.StatusCode, want)
		}
	}
}

func TestMock_BadConfigFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": "seeed: 5\n",
		"bad limits":  "highlevel: {limits: {enabled: true, burst: 0, interval: 10s, daily: 5}}\n",
		"bad fault":   "faults: [{match: {}, effect: {kind: explode}}]\n",
	} {
		path := dir + "/" + strings.ReplaceAll(name, " ", "-") + ".yaml"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), []string{"mock", "--config", path, "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := run(context.Background(), []string{"mock", "--config", dir + "/missing.yaml"}, io.Discard, io.Discard); err == nil {
		t.Error("missing config file: no error")
	}
}

var m360Curl = regexp.MustCompile(`curl -s -u '([^:]+):([^']+)' '(http[^']+/v1/contacts\?[^']*)'`)

func TestMock_PrintedMarketing360CurlWorks(t *testing.T) {
	banner := startMock(t, "--seed", "9", "--strict")
	m := m360Curl.FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no Marketing 360 curl line in banner:\n%s", banner)
	}
	req, err := http.NewRequest(http.MethodGet, m[3], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(m[1], m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Result []any `json:"result"`
		Total  *int  `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body.Result == nil || body.Total == nil || resp.Header.Get("X-Rate-Limit-Limit") != "5" {
		t.Fatalf("printed Marketing 360 curl: status %d, headers %v, body %+v", resp.StatusCode, resp.Header, body)
	}
}

func TestFixtures_GenerateIsDeterministicAndLoadsIntoATwin(t *testing.T) {
	dir := t.TempDir()
	for _, out := range []string{dir + "/a.json", dir + "/b.json"} {
		if err := run(context.Background(), []string{"fixtures", "generate", "--scenario", "small", "--seed", "3", "--out", out}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(dir + "/a.json")
	b, _ := os.ReadFile(dir + "/b.json")
	if len(a) == 0 || string(a) != string(b) {
		t.Fatalf("generate with the same seed gave different files (%d and %d bytes)", len(a), len(b))
	}

	banner := startMock(t, "--empty", "--seed", "4")
	req := curlRequest(t, banner)
	base := req.URL.Scheme + "://" + req.URL.Host
	var out strings.Builder
	if err := run(context.Background(), []string{"fixtures", "load", "--scenario", "small", "--admin-url", base}, &out, io.Discard); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count int `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Count != 25 {
		t.Fatalf("after loading small into the twin, its default location lists %d contacts, want 25\n%s", body.Count, out.String())
	}
}

// bannerKey is the Ed25519 public key the banner prints.
func bannerKey(t *testing.T, banner string) ed25519.PublicKey {
	t.Helper()
	start := strings.Index(banner, "-----BEGIN PUBLIC KEY-----")
	end := strings.Index(banner, "-----END PUBLIC KEY-----")
	if start < 0 || end < start {
		t.Fatalf("no public key in the banner:\n%s", banner)
	}
	var pemText strings.Builder
	for _, line := range strings.Split(banner[start:end+len("-----END PUBLIC KEY-----")], "\n") {
		pemText.WriteString(strings.TrimSpace(line) + "\n")
	}
	block, _ := pem.Decode([]byte(pemText.String()))
	if block == nil {
		t.Fatalf("the banner's key is not PEM:\n%s", pemText.String())
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key.(ed25519.PublicKey)
}

func TestMock_WebhookToALocalEndpointVerifiesWithThePrintedKey(t *testing.T) {
	got := make(chan *http.Request, 10)
	bodies := make(chan []byte, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer rcv.Close()
	banner := startMock(t, "--empty", "--webhook-url", rcv.URL+"/hooks")
	key := bannerKey(t, banner)
	if !strings.Contains(banner, "subscribe  "+rcv.URL+"/hooks (the default app)") {
		t.Errorf("the banner does not name the subscription:\n%s", banner)
	}
	req := curlRequest(t, banner)
	req.URL.Path, req.URL.RawQuery, req.Method = "/contacts/", "", http.MethodPost
	loc := regexp.MustCompile(`location +(\S+)`).FindStringSubmatch(banner)[1]
	req.Body = io.NopCloser(strings.NewReader(`{"locationId":"` + loc + `","firstName":"Ada"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	select {
	case r := <-got:
		body := <-bodies
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("X-Ghl-Signature"))
		if !ed25519.Verify(key, body, sig) || !strings.Contains(string(body), `"type":"ContactCreate"`) {
			t.Errorf("delivery %s with signature %q does not verify with the printed key", body, r.Header.Get("X-Ghl-Signature"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived")
	}
}

func TestMock_WebhookSettingsFromConfigFlagsAndKeyFile(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/twin.yaml"
	if err := os.WriteFile(cfg, []byte(`webhooks:
  url: http://127.0.0.1:1/from-file
  attempts: 3
  duplicates: 0.25
  updateAfterCreate: true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"mock", "--config", cfg, "--print-config", "--webhook-attempts", "4",
		"--webhook-delay", "2s"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Webhooks struct {
			URL               string  `yaml:"url"`
			Attempts          int     `yaml:"attempts"`
			Duplicates        float64 `yaml:"duplicates"`
			Delay             string  `yaml:"delay"`
			Backoff           string  `yaml:"backoff"`
			UpdateAfterCreate bool    `yaml:"updateAfterCreate"`
		} `yaml:"webhooks"`
	}
	if err := yaml.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatal(err)
	}
	w := got.Webhooks
	if w.URL != "http://127.0.0.1:1/from-file" || w.Attempts != 4 || w.Duplicates != 0.25 || w.Delay != "2s" ||
		w.Backoff != "1s" || !w.UpdateAfterCreate {
		t.Fatalf("effective webhooks config (flags win over the file, defaults fill the rest):\n%s", out.String())
	}

	// A key file keeps the key across starts; a seed alone makes the same key too.
	keys := dir + "/keys.pem"
	first := bannerKey(t, startMock(t, "--empty", "--webhook-keys", keys))
	if again := bannerKey(t, startMock(t, "--empty", "--webhook-keys", keys)); !first.Equal(again) {
		t.Error("a start with the same key file printed another key")
	}
	if info, err := os.Stat(keys); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", info, err)
	}
	a, b := bannerKey(t, startMock(t, "--empty", "--seed", "8")), bannerKey(t, startMock(t, "--empty", "--seed", "8"))
	if !a.Equal(b) || a.Equal(first) {
		t.Error("seeded starts print different keys, or the key file's")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook-duplicates", "2"}, "duplicates"},
		{[]string{"--webhook-attempts", "0"}, "attempts"},
		{[]string{"--webhook-url", "nope"}, "webhooks.url"},
	} {
		// Cancelled: a start that wrongly succeeds stops at once.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := run(ctx, append([]string{"mock", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0", "--empty"}, tc.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mock %v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

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
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/internal/logkey"
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

func TestMock_PrintsTheDashboard(t *testing.T) {
	m := regexp.MustCompile(`dashboard +(http://\S+/__admin/ui)\n`).FindStringSubmatch(startMock(t, "--seed", "2"))
	if m == nil {
		t.Fatal("no dashboard line in the banner")
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("dashboard: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// With an admin token the banner says how to give it, never showing it.
	banner := startMock(t, "--seed", "2", "--admin-token", "adm-t0ken-9")
	if !strings.Contains(banner, "/__admin/ui#token=<admin token>") || strings.Contains(banner, "adm-t0ken-9") {
		t.Errorf("banner with an admin token:\n%s", banner)
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
	if count, _ := listContacts(t, req); count != 25 {
		t.Fatalf("after loading small into the twin, its default location lists %d contacts, want 25\n%s", count, out.String())
	}
}

// listContacts sends the banner's list request and returns how many
// contacts the page holds and how many the location has.
func listContacts(t *testing.T, req *http.Request) (count, total int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count int `json:"count"`
		Meta  struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Count, body.Meta.Total
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

// fakeTerminal is an output that says it is a terminal.
type fakeTerminal struct{ strings.Builder }

func (*fakeTerminal) IsTerminal() bool { return true }

func TestMain_ExitStatusAndErrors(t *testing.T) {
	t.Parallel()
	load := []string{"fixtures", "load", "--scenario", "small", "--highlevel-url", "http://127.0.0.1:1"}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		want, not []string // in stderr
	}{
		{"done", []string{"fixtures", "scenarios"}, exitOK, nil, []string{"contactbridge:"}},
		{"unknown command", []string{"bogus"}, exitUsage,
			[]string{`unknown command "bogus" for "contactbridge"`, "Run 'contactbridge --help' for usage."}, nil},
		{"unknown subcommand", []string{"fixtures", "bogus"}, exitUsage,
			[]string{`unknown command "bogus" for "contactbridge fixtures"`, "Run 'contactbridge fixtures --help' for usage."}, nil},
		{"misspelt subcommand", []string{"fixtures", "generat"}, exitUsage, []string{"did you mean generate?"}, nil},
		{"arguments to a command that takes none", []string{"fixtures", "scenarios", "all"}, exitUsage, []string{"takes no arguments"}, nil},
		{"arguments to mock", []string{"mock", "start"}, exitUsage, []string{"contactbridge mock takes no arguments"}, nil},
		{"arguments to connect m360", []string{"connect", "m360", "key"}, exitUsage, []string{"contactbridge connect m360 takes no arguments"}, nil},
		{"one file to contract diff", []string{"contract", "diff", "a.yaml"}, exitUsage, []string{"contract diff takes 2 arguments, got 1"}, nil},
		{"help of no command", []string{"help", "bogus"}, exitUsage,
			[]string{`no command "bogus"`, "Run 'contactbridge --help' for usage."}, []string{"Available Commands"}},
		{"help of no subcommand", []string{"help", "fixtures", "bogus"}, exitUsage,
			[]string{`no command "fixtures bogus"`, "Run 'contactbridge fixtures --help' for usage."}, nil},
		{"help of a command", []string{"help", "fixtures"}, exitOK, nil, []string{"contactbridge:"}},
		{"bad mock log level", []string{"mock", "--log-level", "loud", "--print-config"}, exitUsage,
			[]string{`--log-level "loud": want debug`, "Run 'contactbridge mock --help' for usage."}, nil},
		{"bad mock setting", []string{"mock", "--webhook-duplicates", "2", "--print-config"}, exitUsage,
			[]string{"Run 'contactbridge mock --help' for usage."}, nil},
		{"mock off loopback", []string{"mock", "--addr", "0.0.0.0:4010", "--print-config"}, exitUsage,
			[]string{"loopback only", "Run 'contactbridge mock --help' for usage."}, nil},
		{"unknown flag", []string{"fixtures", "generate", "--bogus"}, exitUsage,
			[]string{"unknown flag: --bogus", "Run 'contactbridge fixtures generate --help' for usage."}, nil},
		{"not a number", []string{"fixtures", "generate", "--contacts", "abc"}, exitUsage,
			[]string{`--contacts "abc": want a whole number`}, []string{"strconv", "ParseInt", "invalid syntax"}},
		{"negative size", []string{"fixtures", "generate", "--tasks", "-3"}, exitUsage, []string{"--tasks -3: want 0 or more"}, nil},
		{"not a duration", []string{"bench", "--duration", "soon"}, exitUsage, []string{`--duration "soon": want a duration`}, []string{"time:"}},
		{"bad bench value", []string{"bench", "--pairs", "0"}, exitUsage, []string{"--pairs 0: want more than 0"}, nil},
		{"bad log format", []string{"--log-format", "yaml", "fixtures", "scenarios"}, exitUsage, []string{`--log-format "yaml": want text or json`}, nil},
		{"unknown scenario", []string{"fixtures", "generate", "--scenario", "nope"}, exitUsage, []string{`no scenario "nope"`}, nil},
		{"load without a target", []string{"fixtures", "load", "--scenario", "small"}, exitUsage, []string{"give --admin-url"}, nil},
		{"load without a data set", []string{"fixtures", "load", "--admin-url", "http://127.0.0.1:1"}, exitUsage, []string{"give --file"}, nil},
		{"load without a token", append(load, "--highlevel-token", ""), exitUsage,
			[]string{"--highlevel-url needs --highlevel-token"}, []string{"BaseURL", "Token is"}},
		{"load without a calendar", append(load, "--highlevel-token", "pit-x"), exitUsage,
			[]string{"the data set has 25 appointments: give --highlevel-calendar"}, []string{"CalendarID"}},
		{"no calendar needed without appointments", append(load, "--highlevel-token", "pit-x", "--appointments", "0", "--dry-run"), exitOK, nil, nil},
		{"no twin at the admin URL", []string{"fixtures", "load", "--scenario", "small", "--admin-url", "http://127.0.0.1:1"}, exitFailed,
			[]string{"is contactbridge mock running there?"}, []string{"--help"}},
		{"a failure that is no usage error", []string{"fixtures", "load", "--file", "/nonexistent.json", "--admin-url", "http://127.0.0.1:1"}, exitFailed,
			[]string{"/nonexistent.json"}, []string{"--help"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			code := Main(context.Background(), tc.args, io.Discard, &stderr)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(stderr.String(), n) {
					t.Errorf("stderr has %q:\n%s", n, stderr.String())
				}
			}
		})
	}
}

func TestMain_InterruptExitsAsTheSignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  os.Signal
		code int
	}{{os.Interrupt, 130}, {syscall.SIGTERM, 143}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(interrupted{tc.sig})
		var stderr strings.Builder
		code := Main(ctx, []string{"mock", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0", "--empty"}, io.Discard, &stderr)
		if code != tc.code || strings.Contains(stderr.String(), "contactbridge:") {
			t.Errorf("%v: exit status %d, want %d; stderr:\n%s", tc.sig, code, tc.code, stderr.String())
		}
	}
}

func TestFixturesLoad_PartlyFailedExits1AndLogsEachFailure(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex // guards paths
	var paths []string
	m360 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"error":{"code":"invalid","message":"refused by the test"}}`) //nolint:errcheck // the client reads what it gets
	}))
	defer m360.Close()
	var stdout, stderr strings.Builder
	code := Main(context.Background(), []string{"--log-format", "json", "fixtures", "load", "--scenario", "small",
		"--m360-url", m360.URL + "/v1", "--m360-client-id", "id", "--m360-client-secret", "secret"}, &stdout, &stderr)
	if code != exitFailed || !strings.Contains(stdout.String(), "failures (") || !strings.Contains(stderr.String(), "records failed") {
		t.Fatalf("exit status %d; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	mu.Lock()
	for _, p := range paths {
		if !strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v1/v1") {
			t.Errorf("requested %s with --m360-url ending in /v1", p)
		}
	}
	mu.Unlock()
	var warnings, refused int
	for _, line := range strings.Split(stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" {
			warnings++
			if reason, _ := rec[logkey.Err].(string); strings.Contains(reason, "refused by the test") {
				refused++
			} else if reason == "" {
				t.Errorf("log line without a reason under %q: %s", logkey.Err, line)
			}
		}
	}
	if warnings == 0 || refused == 0 {
		t.Errorf("%d failures logged as JSON, %d with the API's reason:\n%s", warnings, refused, stderr.String())
	}
	if n := strings.Count(stderr.String(), "loaded "); n != 1 {
		t.Errorf("%d progress lines for a load of seconds, want the last one only:\n%s", n, stderr.String())
	}
}

func TestNewLogger_TextOnATerminalJSONOtherwise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, format string
		terminal     bool
		wantJSON     bool
	}{
		{"terminal", "", true, false},
		{"pipe", "", false, true},
		{"text to a pipe", "text", false, false},
		{"json to a terminal", "json", true, true},
	} {
		cmd := &cobra.Command{}
		var f logFormat
		cmd.Flags().Var(&f, "log-format", "")
		if tc.format != "" {
			if err := cmd.Flags().Set("log-format", tc.format); err != nil {
				t.Fatal(err)
			}
		}
		var out interface {
			io.Writer
			String() string
		} = &strings.Builder{}
		if tc.terminal {
			out = &fakeTerminal{}
		}
		newLogger(cmd, out, slog.LevelInfo).Info("hello", logkey.Err, "none")
		if isJSON := json.Valid([]byte(out.String())); isJSON != tc.wantJSON || !strings.Contains(out.String(), "err") {
			t.Errorf("%s: %q", tc.name, out.String())
		}
	}
}

func TestFixturesGenerate_NotALargeSetToATerminal(t *testing.T) {
	t.Parallel()
	var term fakeTerminal
	var stderr strings.Builder
	if code := Main(context.Background(), []string{"fixtures", "generate", "--contacts", "2000"}, &term, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "not writing 2040 contacts to the terminal") || term.Len() != 0 {
		t.Fatalf("exit status %d, %d bytes written; stderr:\n%s", code, term.Len(), stderr.String())
	}
	// --out - says so; a small set goes to a terminal anyway; progress is on stderr.
	for _, args := range [][]string{{"--out", "-", "--contacts", "2000", "--m360-contacts", "0", "--tasks", "0", "--notes", "0", "--appointments", "0"},
		{"--scenario", "small"}} {
		term.Reset()
		stderr.Reset()
		code := Main(context.Background(), append([]string{"fixtures", "generate"}, args...), &term, &stderr)
		if code != exitOK || !json.Valid([]byte(term.String())) ||
			!strings.Contains(stderr.String(), "generating ") || !strings.Contains(stderr.String(), "wrote stdout") {
			t.Errorf("%v: exit status %d, %d bytes; stderr:\n%s", args, code, term.Len(), stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	goVersion := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "devel " + goVersion},
		{"a checkout with changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "c93de24cde39"}, {Key: "vcs.modified", Value: "true"}}},
			"devel (commit c93de24cde39, modified) " + goVersion},
		{"a released module", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"v1.2.3 (commit abc) " + goVersion},
	} {
		if got := versionOf(tc.bi, tc.bi != nil); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	var cmd, flag strings.Builder
	if Main(context.Background(), []string{"version"}, &cmd, io.Discard) != exitOK ||
		Main(context.Background(), []string{"--version"}, &flag, io.Discard) != exitOK ||
		cmd.String() != flag.String() || cmd.String() != "contactbridge "+version()+"\n" {
		t.Errorf("version %q, --version %q", cmd.String(), flag.String())
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"__complete", "bench", "--workloads", "get,"}, []string{"get,list\n", "get,mixed\n"}, []string{"get,get"}},
		{[]string{"__complete", "fixtures", "load", "--scenario", ""}, []string{"small\t25 HighLevel contacts", "large\t"}, nil},
		{[]string{"__complete", "mock", "--log-format", ""}, []string{"text\n", "json\n"}, nil},
		{[]string{"completion", "bash"}, []string{"__start_contactbridge"}, nil},
	} {
		var out strings.Builder
		if code := Main(context.Background(), tc.args, &out, io.Discard); code != exitOK {
			t.Errorf("%v: exit status %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: no %q in\n%s", tc.args, w, out.String())
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("%v: %q in\n%s", tc.args, n, out.String())
			}
		}
	}
}

func TestHelp_PromisesWhatThereIsWithOneDefaultEach(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"mock"}, {"fixtures"}, {"fixtures", "generate"}, {"fixtures", "load"}, {"fixtures", "scenarios"},
		{"bench"}, {"version"}, {"connect"}, {"connect", "highlevel"}, {"connect", "m360"},
		{"contract"}, {"contract", "verify"}, {"contract", "check"}, {"contract", "diff"}, {"sync"}, {"sync", "run"}, {"up"}} {
		var out strings.Builder
		if code := Main(context.Background(), append(args, "--help"), &out, io.Discard); code != exitOK {
			t.Errorf("%v --help: exit status %d", args, code)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "-") && strings.Count(line, "(default") > 1 {
				t.Errorf("%v --help: two defaults in %q", args, line)
			}
		}
	}
}

// TestFixtures_LoadLargeThroughAdmin: a data set far over the APIs' 1 MiB
// body limit (5,000 contacts with their records) loads into a running twin
// in one admin import; a twin started
// with a smaller --admin-max-import refuses it, naming the setting.
func TestFixtures_LoadLargeThroughAdmin(t *testing.T) {
	file := t.TempDir() + "/big.json"
	if err := run(context.Background(), []string{"fixtures", "generate", "--scenario", "small", "--seed", "5", "--contacts", "5000", "--out", file}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil || info.Size() <= 4<<20 {
		t.Fatalf("the data set is %v bytes (%v): want it well over 1 MiB", info.Size(), err)
	}

	banner := startMock(t, "--empty", "--seed", "4")
	req := curlRequest(t, banner)
	base := req.URL.Scheme + "://" + req.URL.Host
	var out strings.Builder
	// The same data set, made for the twin's default location.
	if err := run(context.Background(), []string{"fixtures", "load", "--scenario", "small", "--seed", "5", "--contacts", "5000", "--admin-url", base}, &out, io.Discard); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	if _, total := listContacts(t, req); total != 5000 {
		t.Fatalf("after the load, the default location holds %d contacts, want 5000\n%s", total, out.String())
	}

	small := startMock(t, "--empty", "--seed", "4", "--admin-max-import", "1048576")
	sreq := curlRequest(t, small)
	var errOut strings.Builder
	err = run(context.Background(), []string{"fixtures", "load", "--file", file, "--admin-url", sreq.URL.Scheme + "://" + sreq.URL.Host}, &errOut, &errOut)
	if err == nil || !strings.Contains(err.Error()+errOut.String(), "admin.maxImportBytes") {
		t.Errorf("load into a twin with a 1 MiB import limit: %v\n%s", err, errOut.String())
	}
}

// A data set of fixtures generate, as one JSON document or NDJSON, is a
// --state the twins start from, with the banner's credentials on its
// location; the state file made from it is gone when the twins stop.
func TestMock_StateFromADataSet(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, name := range []string{"small.json", "small.ndjson"} {
		out := filepath.Join(dir, name)
		if err := run(context.Background(), []string{"fixtures", "generate", "--scenario", "small", "--seed", "3", "--out", out}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			banner := startMock(t, "--state", out)
			if count, total := listContacts(t, curlRequest(t, banner)); count == 0 || total != 25 {
				t.Errorf("the default location lists %d of %d contacts, want 25 in all", count, total)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

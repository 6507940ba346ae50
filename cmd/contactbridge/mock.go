package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// defaultConfigFile is read when it exists and --config is not given.
const defaultConfigFile = "contactbridge.yaml"

type mockFlags struct {
	config       string
	printConfig  bool
	logLevel     string
	noLimits     bool
	scenario     string
	empty        bool
	interval     time.Duration
	webhookDelay time.Duration
	opts         mock.Options
}

func newMockCmd(stdout, stderr io.Writer) *cobra.Command {
	f := mockFlags{opts: defaultMockOptions()}
	cmd := &cobra.Command{
		Use:   "mock",
		Short: "Run the HighLevel Contacts API v2 twin",
		Long: `Runs a stateful twin of the HighLevel Contacts API v2 on loopback, routed and
validated from openapi/highlevel.yaml, with its OAuth server, rate limits, fault
injection, request journal and admin API (/__admin), and prints a ready-to-use
token, OAuth app and curl lines.

Settings come from contactbridge.yaml (or --config FILE); flags override them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMock(cmd, &f, stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file (default: ./"+defaultConfigFile+" when it exists)")
	fl.BoolVar(&f.printConfig, "print-config", false, "print the effective config as YAML and exit")
	fl.StringVar(&f.opts.HighLevel.Addr, "addr", f.opts.HighLevel.Addr, "address of the HighLevel twin (loopback only)")
	fl.StringVar(&f.opts.M360.Addr, "m360-addr", f.opts.M360.Addr, "address of the Marketing 360 twin (loopback only)")
	fl.StringVar(&f.opts.M360.Spec, "m360-spec", "", "serve this OpenAPI file instead of the embedded Marketing 360 spec")
	fl.Float64Var(&f.opts.M360.Limits.PerSecond, "m360-rate", f.opts.M360.Limits.PerSecond, "Marketing 360 requests per second per API key (leaky bucket)")
	fl.Uint64Var(&f.opts.Seed, "seed", 0, "seed for ids and secrets; with a seed the clock is frozen at "+mock.SeededStart.Format("2006-01-02T15:04:05Z")+" unless --clock real")
	fl.StringVar(&f.opts.ClockMode, "clock", "", "real or frozen (default: frozen with --seed, real without); a frozen clock moves with POST /__admin/clock")
	fl.StringVar(&f.opts.HighLevel.Spec, "spec", "", "serve this OpenAPI file instead of the embedded spec")
	fl.StringVar(&f.opts.StateFile, "state", "", "load this state (as GET /__admin/state exports it) at start")
	fl.StringVar(&f.scenario, "scenario", "default", "fixtures scenario loaded at start (see: contactbridge fixtures scenarios)")
	fl.BoolVar(&f.empty, "empty", false, "start with no data: only the default location, account and credentials")
	fl.BoolVar(&f.opts.Strict, "strict", false, "validate every response against the spec and answer 500 on drift")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (debug logs every request)")
	fl.StringVar(&f.opts.Admin.Token, "admin-token", "", "require this bearer token on the admin API")
	fl.BoolVar(&f.opts.Admin.Remote, "admin-remote", false, "let non-loopback clients use the admin API")
	fl.IntVar(&f.opts.Journal.Size, "journal-size", f.opts.Journal.Size, "requests kept in the journal (negative: none)")
	fl.BoolVar(&f.noLimits, "no-limits", false, "turn the rate limits off")
	fl.IntVar(&f.opts.HighLevel.Limits.Burst, "burst", f.opts.HighLevel.Limits.Burst, "requests per burst window, per app and location")
	fl.DurationVar(&f.interval, "burst-interval", f.opts.HighLevel.Limits.Interval.Std(), "burst window length")
	fl.IntVar(&f.opts.HighLevel.Limits.Daily, "daily", f.opts.HighLevel.Limits.Daily, "requests per day, per app and location")
	fl.BoolVar(&f.opts.HighLevel.Limits.RetryAfter, "retry-after", true, "send Retry-After with 429s")
	fl.IntVar(&f.opts.HighLevel.Auth.ScopeDeniedStatus, "scope-denied-status", 401, "status for a token without the scope: 401 (live API) or 403 (RFC 6750)")
	w := &f.opts.Webhooks
	fl.StringVar(&w.URL, "webhook-url", "", "send the default location's HighLevel webhook events to this URL (the default app's webhook URL)")
	fl.StringVar(&w.KeyFile, "webhook-keys", "", "PEM file of the webhook signing keys: read when it exists, written when not (default: new keys each start, from --seed when given)")
	fl.BoolVar(&w.RSA, "webhook-rsa", false, "also sign HighLevel webhooks with RSA-SHA256 in x-wh-signature (the legacy scheme)")
	fl.StringVar(&w.Spool, "webhook-spool", "", "keep the webhook deliveries still pending at shutdown in this file, and send them at the next start")
	fl.IntVar(&w.Attempts, "webhook-attempts", w.Attempts, "attempts per webhook delivery before it fails")
	fl.Float64Var(&w.Duplicates, "webhook-duplicates", 0, "probability (0-1) that a delivered webhook is delivered again with the same id")
	fl.DurationVar(&f.webhookDelay, "webhook-delay", 0, "hold every webhook delivery back this long")
	fl.BoolVar(&w.UpdateAfterCreate, "webhook-update-after-create", false, "send ContactUpdate after each ContactCreate, as the live API is reported to")
	fl.BoolVar(&w.MissingFields, "webhook-missing-fields", false, "leave out what live payloads are reported to lack (TaskCreate contactId and body, Note userId)")
	return cmd
}

// defaultMockOptions are the command's defaults: the live API's limits on.
func defaultMockOptions() mock.Options {
	lim, leaky := limits.DefaultConfig(), limits.DefaultLeakyConfig()
	return mock.Options{HighLevel: mock.HighLevelOptions{Addr: "127.0.0.1:4010", Limits: &lim},
		M360: mock.M360Options{Addr: "127.0.0.1:4011", Limits: &leaky}, Journal: mock.JournalOptions{Size: 1000}, Webhooks: mock.WebhookOptions{Settings: webhooks.DefaultSettings()}}
}

// loadOptions reads the config file, then lays the flags that were set on top.
func loadOptions(cmd *cobra.Command, f *mockFlags) (mock.Options, error) {
	opts := defaultMockOptions()
	path, explicit := f.config, f.config != ""
	if !explicit {
		path = defaultConfigFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&opts); err != nil && !errors.Is(err, io.EOF) {
			return opts, fmt.Errorf("config %s: %w", path, err)
		}
		if opts.HighLevel.Limits == nil {
			lim := limits.DefaultConfig()
			opts.HighLevel.Limits = &lim
		}
		if opts.M360.Limits == nil {
			leaky := limits.DefaultLeakyConfig()
			opts.M360.Limits = &leaky
		}
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return opts, fmt.Errorf("config: %w", err)
	}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "addr":
			opts.HighLevel.Addr = f.opts.HighLevel.Addr
		case "m360-addr":
			opts.M360.Addr = f.opts.M360.Addr
		case "m360-spec":
			opts.M360.Spec = f.opts.M360.Spec
		case "m360-rate":
			opts.M360.Limits.PerSecond = f.opts.M360.Limits.PerSecond
		case "seed":
			opts.Seed = f.opts.Seed
		case "clock":
			opts.ClockMode = f.opts.ClockMode
		case "spec":
			opts.HighLevel.Spec = f.opts.HighLevel.Spec
		case "state":
			opts.StateFile = f.opts.StateFile
		case "strict":
			opts.Strict = f.opts.Strict
		case "admin-token":
			opts.Admin.Token = f.opts.Admin.Token
		case "admin-remote":
			opts.Admin.Remote = f.opts.Admin.Remote
		case "journal-size":
			opts.Journal.Size = f.opts.Journal.Size
		case "burst":
			opts.HighLevel.Limits.Burst = f.opts.HighLevel.Limits.Burst
		case "burst-interval":
			opts.HighLevel.Limits.Interval = clock.Duration(f.interval)
		case "daily":
			opts.HighLevel.Limits.Daily = f.opts.HighLevel.Limits.Daily
		case "retry-after":
			opts.HighLevel.Limits.RetryAfter = f.opts.HighLevel.Limits.RetryAfter
		case "scope-denied-status":
			opts.HighLevel.Auth.ScopeDeniedStatus = f.opts.HighLevel.Auth.ScopeDeniedStatus
		case "no-limits":
			opts.HighLevel.Limits.Enabled = !f.noLimits
			opts.M360.Limits.Enabled = !f.noLimits
		case "webhook-url":
			opts.Webhooks.URL = f.opts.Webhooks.URL
		case "webhook-keys":
			opts.Webhooks.KeyFile = f.opts.Webhooks.KeyFile
		case "webhook-rsa":
			opts.Webhooks.RSA = f.opts.Webhooks.RSA
		case "webhook-spool":
			opts.Webhooks.Spool = f.opts.Webhooks.Spool
		case "webhook-attempts":
			// An explicit 0 is a mistake, not "the default".
			opts.Webhooks.Attempts = max(f.opts.Webhooks.Attempts, -1)
			if opts.Webhooks.Attempts == 0 {
				opts.Webhooks.Attempts = -1
			}
		case "webhook-duplicates":
			opts.Webhooks.Duplicates = f.opts.Webhooks.Duplicates
		case "webhook-delay":
			opts.Webhooks.Delay = clock.Duration(f.webhookDelay)
		case "webhook-update-after-create":
			opts.Webhooks.UpdateAfterCreate = f.opts.Webhooks.UpdateAfterCreate
		case "webhook-missing-fields":
			opts.Webhooks.MissingFields = f.opts.Webhooks.MissingFields
		}
	})
	opts.Webhooks.Settings = opts.Webhooks.Settings.WithDefaults()
	if err := opts.Webhooks.Settings.Validate(); err != nil {
		return opts, err
	}
	if s := opts.HighLevel.Auth.ScopeDeniedStatus; s != 0 && s != 401 && s != 403 {
		return opts, fmt.Errorf("scope-denied-status %d: want 401 or 403", s)
	}
	if err := opts.HighLevel.Limits.Validate(); err != nil {
		return opts, err
	}
	if err := opts.M360.Limits.Validate(); err != nil {
		return opts, err
	}
	return opts, nil
}

func runMock(cmd *cobra.Command, f *mockFlags, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts, err := loadOptions(cmd, f)
	if err != nil {
		return err
	}
	if f.printConfig {
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		return enc.Encode(opts)
	}
	for _, addr := range []string{opts.HighLevel.Addr, opts.M360.Addr} {
		if !isLoopback(addr) {
			return fmt.Errorf("addr %s: the twins bind to loopback only (127.0.0.1, ::1 or localhost)", addr)
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts.Logger = logger
	if !f.empty {
		fo, err := fixtures.Scenario(f.scenario)
		if err != nil {
			return err
		}
		fo.Seed = max(opts.Seed, 1)
		opts.Data = func(loc store.Location, acct store.M360Account) (store.State, error) {
			fo.Location, fo.M360Account = &loc, &acct
			ds, err := fixtures.Generate(fo)
			return ds.State, err
		}
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		return err
	}
	printBanner(stdout, srv, opts)
	data := "none (--empty)"
	if !f.empty {
		data = "scenario " + f.scenario
	}
	logger.Info("twin serving", "url", srv.HighLevel.URL(), "m360", srv.M360.URL(), "data", data, "strict", opts.Strict, "limits", opts.HighLevel.Limits.Enabled)
	<-cmd.Context().Done()
	logger.Info("shutting down")
	return srv.Close()
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "::1" || host == "localhost" || strings.HasPrefix(host, "127.")
}

func printBanner(w io.Writer, srv *mock.Server, opts mock.Options) {
	loc, app, url := srv.Defaults().HighLevel.Location, srv.Defaults().HighLevel.App, srv.HighLevel.URL()
	limitsLine := "off"
	if opts.HighLevel.Limits.Enabled {
		limitsLine = fmt.Sprintf("%d per %s and %d per day, per app and location", opts.HighLevel.Limits.Burst, opts.HighLevel.Limits.Interval, opts.HighLevel.Limits.Daily)
	}
	fmt.Fprintf(w, `HighLevel Contacts API v2 twin
  base URL   %[1]s
  location   %[2]s (%[3]s)
  calendar   %[4]s (%[5]s)
  token      %[6]s
             Private Integration Token for the location; scopes: %[7]s
  headers    Authorization: Bearer <token>, Version: 2021-07-28 (calendars: 2021-04-15)
  OAuth app  client_id %[8]s
             client_secret %[9]s
             redirect_uri %[10]s
  limits     %[11]s
  admin      %[1]s/__admin/health (spec: %[1]s/__admin/openapi.yaml)

Try it:
  curl -s -H 'Authorization: Bearer %[6]s' -H 'Version: 2021-07-28' '%[1]s/contacts/?locationId=%[2]s&limit=5'
  curl -s -X POST -H 'Authorization: Bearer %[6]s' -H 'Version: 2021-07-28' -H 'Content-Type: application/json' \
    -d '{"locationId":"%[2]s","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}' '%[1]s/contacts/'
OAuth (authorization code, auto-approved): open or curl -i
  '%[1]s/oauth/chooselocation?response_type=code&client_id=%[8]s&redirect_uri=%[10]s&scope=contacts.readonly%%20contacts.write'
  then: curl -s -X POST '%[1]s/oauth/token' -d client_id=%[8]s -d client_secret=%[9]s -d grant_type=authorization_code -d code=<code>
`, url, loc.ID, loc.Name, loc.Calendars[0].ID, loc.Calendars[0].Name, srv.Defaults().HighLevel.Token,
		strings.Join(mock.SpecScopes(srv.HighLevel.Spec()), " "), app.ClientID, app.ClientSecret, app.RedirectURIs[0], limitsLine)

	acct, key, m360URL := srv.Defaults().M360.Account, srv.Defaults().M360.Key, srv.M360.URL()
	m360Limits := "off"
	if opts.M360.Limits.Enabled {
		m360Limits = fmt.Sprintf("leaky bucket, %g requests per second per API key", opts.M360.Limits.PerSecond)
	}
	fmt.Fprintf(w, `
Marketing 360 twin
  base URL   %[1]s/v1
  account    %[2]d (%[3]s)
  API key    client id %[4]s
             client secret %[5]s
             HTTP Basic; permissions: %[6]s
  limits     %[7]s
  admin      %[1]s/__admin/health (the same admin API)

Try it:
  curl -s -u '%[4]s:%[5]s' '%[1]s/v1/contacts?page=1&pageSize=25'
  curl -s -u '%[4]s:%[5]s' -H 'Content-Type: application/json' -d '{"firstName":"Ada","email":"ada@example.com"}' '%[1]s/v1/contacts'
`, m360URL, acct.ID, acct.Name, key.ClientID, key.ClientSecret, strings.Join(key.Permissions, " "), m360Limits)

	keys := srv.Webhooks().Keys().Public()
	subscribed := "none: --webhook-url URL, or"
	if opts.Webhooks.URL != "" {
		subscribed = opts.Webhooks.URL + " (the default app); more with"
	}
	rsaLine := "off (--webhook-rsa)"
	if keys.RSA != "" {
		rsaLine = "x-wh-signature, RSA-SHA256; key at " + url + "/__admin/webhooks/keys/rsa.pem"
	}
	fmt.Fprintf(w, `
Webhooks
  HighLevel  events of the location to each app's webhook URL, signed over the exact body:
             x-ghl-signature, base64 Ed25519, verified with this public key
             (also at %[1]s/__admin/webhooks/keys/ed25519.pem):
%[2]s  legacy     %[3]s
  subscribe  %[4]s
             curl -s -X PUT -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:9000/hooks"}' '%[1]s/__admin/webhooks/highlevel/%[5]s'
  Marketing 360  subscribe through the API; deliveries carry X-M360-Signature: t=<epoch>,v1=<hex HMAC-SHA256(secret, t.body)>
             curl -s -u '%[6]s:%[7]s' -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:9000/m360","events":["contact.created"]}' '%[8]s/v1/webhooks'
  retries    %[9]d attempts, backoff from %[10]s
  log        curl -s '%[1]s/__admin/webhooks/deliveries'
`, url, indent(keys.Ed25519, "             "), rsaLine, subscribed, app.ClientID, key.ClientID, key.ClientSecret, m360URL,
		opts.Webhooks.Attempts, opts.Webhooks.Backoff)
}

// indent prefixes every line of text.
func indent(text, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			b.WriteString(prefix + line)
		}
	}
	return b.String()
}

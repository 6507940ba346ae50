package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/admin/ui"
	"github.com/contactbridge/contactbridge/mock/gctune"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

func newMockCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	var printConfig, noLimits bool
	cmd := &cobra.Command{
		Use:   "mock",
		Short: "Run the HighLevel Contacts API v2 and Marketing 360 twins",
		Long: `Runs stateful twins of the HighLevel Contacts API v2 and of the Marketing 360
API on loopback, each routed and validated from its spec (served at
/openapi.yaml on its listener), on one state with fixtures loaded, with OAuth
and API keys, rate limits, fault injection, signed webhooks, a request journal
and one admin API (/__admin), and prints ready-to-use credentials and curl
lines.

Settings come from, highest first: the flags, CONTACTBRIDGE_* environment
variables, the config file (./contactbridge.yaml when it exists, or --config
FILE), the defaults. An environment variable names a config key with its
levels joined by "__", in any case, underscores within a level ignored, and a
YAML value: CONTACTBRIDGE_SEED=7, CONTACTBRIDGE_M360__ADDR=127.0.0.1:5011,
CONTACTBRIDGE_HIGHLEVEL__LIMITS__RETRY_AFTER=false, CONTACTBRIDGE_LOG_LEVEL=debug.
--print-config shows the merged result.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadMockConfig(cmd.Flags(), configPath, nil)
			if err != nil {
				return err
			}
			if fl := cmd.Flags().Lookup("no-limits"); fl.Changed {
				cfg.HighLevel.Limits.Enabled, cfg.M360.Limits.Enabled = !noLimits, !noLimits
			}
			if err := checkMockConfig(&cfg, cmd.Flags().Lookup("webhook-attempts").Changed); err != nil {
				return badSetting(err)
			}
			if printConfig {
				enc := yaml.NewEncoder(stdout)
				enc.SetIndent(2)
				return enc.Encode(cfg)
			}
			return runMock(cmd, cfg, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "config file (default ./"+defaultConfigFile+" when it exists)")
	fl.BoolVar(&printConfig, "print-config", false, "print the effective settings as YAML and exit")
	fl.BoolVar(&noLimits, "no-limits", false, "turn both twins' rate limits off")
	d := defaultMockConfig()
	keyed(fl, fl.Uint64, "seed", "seed", 0, "seed for ids, secrets and keys; freezes the clock at "+mock.SeededStart.Format(time.RFC3339)+" unless --clock real")
	keyed(fl, fl.String, "clock", "clock", "", "real, or frozen (moved by POST /__admin/clock); unset: frozen with --seed, else real")
	keyed(fl, fl.Bool, "strict", "strict", false, "validate every response against the spec and answer 500 on drift")
	keyed(fl, fl.String, "state", "state", "", "start with this state (as GET /__admin/state exports it, or a data set of fixtures generate) instead of a scenario")
	keyed(fl, fl.String, "scenario", "scenario", d.Scenario, "fixtures scenario loaded at start (list: contactbridge fixtures scenarios)")
	keyed(fl, fl.Bool, "empty", "empty", false, "start with no data: only the default location, account and credentials")
	keyed(fl, fl.String, "logLevel", "log-level", d.LogLevel, "debug (a line per request), info, warn or error")
	keyed(fl, fl.String, "admin.token", "admin-token", "", "require this bearer token on the admin API")
	keyed(fl, fl.Bool, "admin.remote", "admin-remote", false, "let non-loopback clients use the admin API")
	keyed(fl, fl.Int64, "admin.maxImportBytes", "admin-max-import", d.Admin.MaxImportBytes, "largest state PUT /__admin/state takes, in bytes (fixtures load --admin-url)")
	keyed(fl, fl.Int, "journal.size", "journal-size", d.Journal.Size, "requests kept in the journal (negative: none)")
	hl := d.HighLevel
	keyed(fl, fl.String, "highlevel.addr", "addr", hl.Addr, "address of the HighLevel twin (loopback only)")
	keyed(fl, fl.String, "highlevel.spec", "spec", "", "serve this OpenAPI file instead of the embedded HighLevel spec")
	keyed(fl, fl.Int, "highlevel.limits.burst", "burst", hl.Limits.Burst, "HighLevel requests per burst window, per app and location")
	keyed(fl, fl.Duration, "highlevel.limits.interval", "burst-interval", hl.Limits.Interval.Std(), "HighLevel burst window length")
	keyed(fl, fl.Int, "highlevel.limits.daily", "daily", hl.Limits.Daily, "HighLevel requests per day, per app and location")
	keyed(fl, fl.Bool, "highlevel.limits.retryAfter", "retry-after", hl.Limits.RetryAfter, "send Retry-After with HighLevel 429s")
	keyed(fl, fl.Bool, "highlevel.listProjection", "list-projection", false, "list contacts (GET /contacts/, POST /contacts/search) as the vendor's list projection (id, locationId, email, timezone, country, source, dateAdded, customFields, tags, businessId, attributions, followers), not as full contacts")
	keyed(fl, fl.Int, "highlevel.auth.scopeDeniedStatus", "scope-denied-status", 401, "status for a token without the scope: 401 as the live API, or 403 as RFC 6750")
	keyed(fl, fl.String, "m360.addr", "m360-addr", d.M360.Addr, "address of the Marketing 360 twin (loopback only)")
	keyed(fl, fl.String, "m360.spec", "m360-spec", "", "serve this OpenAPI file instead of the embedded Marketing 360 spec")
	keyed(fl, fl.Float64, "m360.limits.perSecond", "m360-rate", d.M360.Limits.PerSecond, "Marketing 360 requests per second per API key (leaky bucket)")
	w := d.Webhooks
	keyed(fl, fl.String, "webhooks.url", "webhook-url", "", "send the default location's HighLevel webhook events to this URL (the default app's webhook URL)")
	keyed(fl, fl.String, "webhooks.keyFile", "webhook-keys", "", "PEM file of the webhook signing keys: read when it exists, written when not (unset: new keys each start, from --seed when given)")
	keyed(fl, fl.Bool, "webhooks.rsa", "webhook-rsa", false, "also sign HighLevel webhooks with RSA-SHA256 in x-wh-signature (the legacy scheme)")
	keyed(fl, fl.String, "webhooks.spool", "webhook-spool", "", "keep the webhook deliveries still pending at shutdown in this file, and send them at the next start")
	keyed(fl, fl.String, "webhooks.retryPolicy", "webhook-retry-policy", w.RetryPolicy, "webhook retries: twin (every failure, with backoff, up to --webhook-attempts) or live (only a 429, six times about 10 minutes apart; any other failure drops the event)")
	keyed(fl, fl.Int, "webhooks.attempts", "webhook-attempts", w.Attempts, "attempts per webhook delivery before it fails")
	keyed(fl, fl.Float64, "webhooks.duplicates", "webhook-duplicates", 0, "probability (0-1) that a delivered webhook is delivered again with the same id")
	keyed(fl, fl.Duration, "webhooks.delay", "webhook-delay", 0, "hold every webhook delivery back this long")
	keyed(fl, fl.Float64, "webhooks.drop", "webhook-drop", 0, "probability (0-1, seeded) that a webhook event is lost before its first attempt")
	keyed(fl, fl.StringSlice, "webhooks.dropEvents", "webhook-drop-events", nil, "webhook event types always lost (e.g. ContactDndUpdate)")
	keyed(fl, fl.Duration, "webhooks.reorder", "webhook-reorder", 0, "let webhook deliveries within this window go out of order (seeded)")
	keyed(fl, fl.Bool, "webhooks.updateAfterCreate", "webhook-update-after-create", false, "send ContactUpdate after each ContactCreate, as the live API is reported to")
	keyed(fl, fl.Bool, "webhooks.updateOnTagChange", "webhook-update-on-tag-change", false, "send ContactUpdate with each ContactTagUpdate of a tag-only change, as the live API is reported to")
	keyed(fl, fl.Bool, "webhooks.missingFields", "webhook-missing-fields", false, "leave out what live payloads are reported to lack (TaskCreate contactId and body, Note userId)")
	completions := map[string][]string{"webhook-retry-policy": {webhooks.PolicyTwin, webhooks.PolicyLive}, "clock": {"real", "frozen"}, "log-level": {"debug", "info", "warn", "error"}}
	for _, sc := range fixtures.Scenarios() {
		completions["scenario"] = append(completions["scenario"], sc.Name+"\t"+sc.Description)
	}
	for name, values := range completions {
		if err := cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
			panic(err) // the flags are declared above
		}
	}
	return cmd
}

// checkMockConfig refuses settings that cannot work, and settles the clock
// so that --print-config shows the one a seed freezes; attemptsSet tells
// that --webhook-attempts was given.
func checkMockConfig(cfg *mockConfig, attemptsSet bool) error {
	if _, err := logLevel(cfg.LogLevel); err != nil {
		return err
	}
	switch cfg.ClockMode {
	case "":
		cfg.ClockMode = "real"
		if cfg.Seed != 0 {
			cfg.ClockMode = "frozen"
		}
	case "real", "frozen":
	default:
		return fmt.Errorf("--clock %q: want real or frozen", cfg.ClockMode)
	}
	// An explicit 0 is a mistake, not "the default".
	if attemptsSet && cfg.Webhooks.Attempts == 0 {
		cfg.Webhooks.Attempts = -1
	}
	cfg.Webhooks.Settings = cfg.Webhooks.Settings.WithDefaults()
	if err := cfg.Webhooks.Settings.Validate(); err != nil {
		return err
	}
	if s := cfg.HighLevel.Auth.ScopeDeniedStatus; s != 0 && s != 401 && s != 403 {
		return fmt.Errorf("scope-denied-status %d: want 401 or 403", s)
	}
	if err := cfg.HighLevel.Limits.Validate(); err != nil {
		return err
	}
	for _, addr := range []string{cfg.HighLevel.Addr, cfg.M360.Addr} {
		if !isLoopback(addr) {
			return fmt.Errorf("addr %s: the twins bind to loopback only (127.0.0.1, ::1 or localhost)", addr)
		}
	}
	return cfg.M360.Limits.Validate()
}

func logLevel(name string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return level, fmt.Errorf("--log-level %q: want debug, info, warn or error", name)
	}
	return level, nil
}

func runMock(cmd *cobra.Command, cfg mockConfig, stdout, stderr io.Writer) error {
	level, err := logLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	logger := newLogger(cmd, stderr, level)
	srv, opts, data, stop, err := startTwins(cfg, logger)
	if err != nil {
		return err
	}
	printBanner(stdout, srv, opts, "")
	logger.Info("twins serving", logkey.HighLevel, srv.HighLevel.URL(), logkey.M360, srv.M360.URL(), logkey.Data, data,
		logkey.Strict, opts.Strict, logkey.Limits, opts.HighLevel.Limits.Enabled)
	<-cmd.Context().Done()
	logger.Info("shutting down")
	return stop()
}

// startTwins starts the twins of cfg with their data, and returns them,
// the options they run with, a description of the data and stop, which
// closes them and removes what they started from when it was made for them.
func startTwins(cfg mockConfig, logger *slog.Logger) (_ *mock.Server, _ mock.Options, _ string, stop func() error, _ error) {
	opts := cfg.Options
	opts.Logger = logger
	data := "none (--empty)"
	var made string // a state file made from a data set, for reset too
	switch {
	case opts.StateFile != "" && isDataSet(opts.StateFile):
		// A data set of fixtures generate: the twins start from its state.
		file, name, err := dataSetState(opts.StateFile, "")
		if err != nil {
			return nil, opts, "", nil, err
		}
		made, opts.StateFile, data = file, file, name
	case opts.StateFile != "":
		data = "state " + opts.StateFile
	case !cfg.Empty:
		fo, err := fixtures.Scenario(cfg.Scenario)
		if err != nil {
			return nil, opts, "", nil, err
		}
		fo.Seed = max(opts.Seed, 1)
		opts.Data = func(loc store.Location, acct store.M360Account) (store.State, error) {
			fo.Location, fo.M360Account = &loc, &acct
			ds, err := fixtures.Generate(fo)
			return ds.State, err
		}
		data = "scenario " + cfg.Scenario
	}
	remove := func() error {
		if made == "" {
			return nil
		}
		return os.Remove(made)
	}
	// The collector's one owner (unless GOGC or GOMEMLIMIT says otherwise)
	// from before the state loads: at gctune's pace, with no memory limit
	// while a state file over 32 MB loads (the mock tells it, at a reset
	// too), and the load's garbage returned to the OS once the twins
	// serve (the mock calls gctune.Serving).
	untune := gctune.Start(gctune.Default)
	srv, err := mock.NewServer(opts)
	if err != nil {
		untune()
		return nil, opts, "", nil, errors.Join(err, remove())
	}
	return srv, opts, data, func() error {
		defer untune()
		return errors.Join(srv.Close(), remove())
	}, nil
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "::1" || host == "localhost" || strings.HasPrefix(host, "127.")
}

// dashboardURL is where the HighLevel twin serves the dashboard.
func dashboardURL(srv *mock.Server) string { return srv.HighLevel.URL() + ui.Path }

// printBanner prints the twins' addresses, credentials and curls to try;
// syncHook is the receiver up subscribed the default app's webhooks to
// ("" for mock).
func printBanner(w io.Writer, srv *mock.Server, opts mock.Options, syncHook string) {
	loc, app, url := srv.Defaults().HighLevel.Location, srv.Defaults().HighLevel.App, srv.HighLevel.URL()
	cal := store.Calendar{ID: "none", Name: "the location has no calendar"} // a loaded state's may have none
	if len(loc.Calendars) > 0 {
		cal = loc.Calendars[0]
	}
	limitsLine := "off"
	if opts.HighLevel.Limits.Enabled {
		limitsLine = fmt.Sprintf("%d per %s and %d per day, per app and location", opts.HighLevel.Limits.Burst, opts.HighLevel.Limits.Interval, opts.HighLevel.Limits.Daily)
	}
	dashboard := dashboardURL(srv)
	if opts.Admin.Token != "" {
		dashboard += " (it asks for the admin token; or open " + dashboard + "#token=<admin token>)"
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
  spec       %[1]s/openapi.yaml
  admin      %[1]s/__admin/health (spec: %[1]s/__admin/openapi.yaml)
  dashboard  %[12]s

Try it:
  curl -s -H 'Authorization: Bearer %[6]s' -H 'Version: 2021-07-28' '%[1]s/contacts/?locationId=%[2]s&limit=5'
  curl -s -X POST -H 'Authorization: Bearer %[6]s' -H 'Version: 2021-07-28' -H 'Content-Type: application/json' \
    -d '{"locationId":"%[2]s","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}' '%[1]s/contacts/'
OAuth (authorization code, auto-approved): open or curl -i
  '%[1]s/oauth/chooselocation?response_type=code&client_id=%[8]s&redirect_uri=%[10]s&scope=contacts.readonly%%20contacts.write'
  then: curl -s -X POST '%[1]s/oauth/token' -d client_id=%[8]s -d client_secret=%[9]s -d grant_type=authorization_code -d redirect_uri=%[10]s -d code=<code>
`, url, loc.ID, loc.Name, cal.ID, cal.Name, srv.Defaults().HighLevel.Token,
		strings.Join(mock.SpecScopes(srv.HighLevel.Spec()), " "), app.ClientID, app.ClientSecret, app.RedirectURIs[0], limitsLine,
		dashboard)

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
  spec       %[1]s/openapi.yaml
  admin      %[1]s/__admin/health (the same admin API)

Try it:
  curl -s -u '%[4]s:%[5]s' '%[1]s/v1/contacts?page=1&pageSize=25'
  curl -s -u '%[4]s:%[5]s' -H 'Content-Type: application/json' -d '{"firstName":"Grace","email":"grace@example.com"}' '%[1]s/v1/contacts'
`, m360URL, acct.ID, acct.Name, key.ClientID, key.ClientSecret, strings.Join(key.Permissions, " "), m360Limits)

	keys := srv.Webhooks().Keys().Public()
	// The default app has one webhook URL: the curl that sets it replaces
	// it. Under up it is the sync's receiver, which another URL would take
	// the webhooks from: a receiver of the user's gets them from an app of
	// its own.
	setURL := fmt.Sprintf(`curl -s -X PUT -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:9000/hooks"}' '%s/__admin/webhooks/highlevel/%s'`,
		url, app.ClientID)
	subscribe := "none: --webhook-url URL, or\n             " + setURL
	switch {
	case syncHook != "":
		subscribe = fmt.Sprintf(`%s (the default app: the sync's receiver; another URL
             for it would take the webhooks from the sync); an app of your own gets them too:
             curl -s -X POST -H 'Content-Type: application/json' -d '{"clientId":"my-app","clientSecret":"s3cret","redirectUris":["http://127.0.0.1:9000/cb"],"scopes":["contacts.readonly"],"location":"%s","webhookUrl":"http://127.0.0.1:9000/hooks"}' '%s/__admin/apps'`,
			syncHook, loc.ID, url)
	case opts.Webhooks.URL != "":
		subscribe = opts.Webhooks.URL + " (the default app); change it with\n             " + setURL
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
  Marketing 360  subscribe through the API; deliveries carry X-M360-Signature: t=<epoch>,v1=<hex HMAC-SHA256(secret, t.body)>
             curl -s -u '%[5]s:%[6]s' -H 'Content-Type: application/json' -d '{"url":"http://127.0.0.1:9000/m360","events":["contact.created"]}' '%[7]s/v1/webhooks'
  retries    %[8]d attempts, backoff from %[9]s
  log        curl -s '%[1]s/__admin/webhooks/deliveries'
`, url, indent(keys.Ed25519, "             "), rsaLine, subscribe, key.ClientID, key.ClientSecret, m360URL,
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

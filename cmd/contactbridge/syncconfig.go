package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	"golang.org/x/oauth2"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// syncSection is the config file's key of the sync's settings.
const syncSection = "sync"

// syncConfig is what the sync commands are configured with: the sync:
// section of the config file.
type syncConfig struct {
	// DB is the sync's database file; Listen the receiver's address.
	DB     string `yaml:"db"`
	Listen string `yaml:"listen"`
	// Credentials is connect's credentials file: the HighLevel OAuth
	// tokens (refreshed there) and Marketing 360 keys.
	Credentials    string         `yaml:"credentials"`
	ReconcileEvery clock.Duration `yaml:"reconcileEvery"`
	HighLevel      syncHighLevel  `yaml:"highlevel"`
	M360           syncM360       `yaml:"m360"`
	Flows          syncFlows      `yaml:"flows"`
	Backfill       syncBackfill   `yaml:"backfill"`
	Queue          syncQueue      `yaml:"queue"`
	LogLevel       string         `yaml:"logLevel"`
	// Rules are the rules of the config file itself (read with their lines
	// from the file, see ruleSources); RulesDir a folder of rule files
	// (default: rules/ next to the config file, when it exists).
	Rules    []any  `yaml:"rules,omitempty"`
	RulesDir string `yaml:"rulesDir,omitempty"`
}

// syncHighLevel is the HighLevel connection: a Private Integration Token,
// or an OAuth app whose tokens connect stored.
type syncHighLevel struct {
	BaseURL      string `yaml:"baseURL"`
	Location     string `yaml:"location"`
	Token        string `yaml:"token"`
	ClientID     string `yaml:"clientID"`
	ClientSecret string `yaml:"clientSecret"`
	// WebhookKey is a PEM file of the Ed25519 webhook public key.
	WebhookKey string `yaml:"webhookKey"`
	// Calendars are the location's calendars whose appointments the
	// reconcile polls (none: appointments come by webhook only).
	Calendars []string `yaml:"calendars"`
}

// syncM360 is the Marketing 360 connection; without a secret, the key
// connect stored under the client id.
type syncM360 struct {
	BaseURL        string   `yaml:"baseURL"`
	ClientID       string   `yaml:"clientID"`
	ClientSecret   string   `yaml:"clientSecret"`
	WebhookSecrets []string `yaml:"webhookSecrets"`
}

// syncFlows are the flows switched on or off, their texts and the
// campaign rules of flow 5.
type syncFlows struct {
	Contacts        bool           `yaml:"contacts"`
	Onboarding      bool           `yaml:"onboarding"`
	FollowUp        string         `yaml:"followUp"`
	OnboardingTasks []string       `yaml:"onboardingTasks"`
	WelcomeNote     string         `yaml:"welcomeNote"`
	M360Tasks       bool           `yaml:"m360Tasks"`
	Notes           bool           `yaml:"notes"`
	Appointments    bool           `yaml:"appointments"`
	Tasks           bool           `yaml:"tasks"`
	Campaigns       bool           `yaml:"campaigns"`
	CampaignRules   []campaignRule `yaml:"campaignRules"`
}

// campaignRule is an engine.CampaignRule in the config file.
type campaignRule struct {
	Name     string `yaml:"name"`
	Campaign int64  `yaml:"campaign"`
	On       string `yaml:"on"`
	Tag      string `yaml:"tag"`
	Field    string `yaml:"field"`
	Value    string `yaml:"value"`
}

// engineFlows is the engine's Flows of the config's.
func (f syncFlows) engineFlows() engine.Flows {
	rules := make([]engine.CampaignRule, len(f.CampaignRules))
	for i, r := range f.CampaignRules {
		rules[i] = engine.CampaignRule{Name: r.Name, Campaign: r.Campaign, On: r.On, Tag: r.Tag, Field: r.Field, Value: r.Value}
	}
	return engine.Flows{Contacts: f.Contacts, Onboarding: f.Onboarding, FollowUp: f.FollowUp,
		OnboardingTasks: f.OnboardingTasks, WelcomeNote: f.WelcomeNote, M360Tasks: f.M360Tasks, Notes: f.Notes,
		Appointments: f.Appointments, Tasks: f.Tasks, Campaigns: f.Campaigns, CampaignRules: rules}
}

// syncBackfill bounds what a backfill spends.
type syncBackfill struct {
	// Share of a location's DailyQuota the backfill may spend a day.
	Share      float64 `yaml:"share"`
	DailyQuota int     `yaml:"dailyQuota"`
}

// syncQueue tunes the work queue: how many jobs run at once, how long one
// may run, when a job whose process died is rescued, and when an effect
// left inflight is taken for a crashed try (0: the defaults).
type syncQueue struct {
	Workers     int            `yaml:"workers"`
	JobTimeout  clock.Duration `yaml:"jobTimeout"`
	RescueAfter clock.Duration `yaml:"rescueAfter"`
	StaleAfter  clock.Duration `yaml:"staleAfter"`
}

// defaultSyncConfig is the sync's defaults, the one place they are
// written.
func defaultSyncConfig() syncConfig {
	return syncConfig{DB: defaultSyncDB, Listen: syncrun.DefaultListen, Credentials: defaultCredentials,
		ReconcileEvery: clock.Duration(syncrun.DefaultReconcileEvery), LogLevel: "info",
		Flows: syncFlows{Contacts: true, Onboarding: true, FollowUp: engine.DefaultFollowUp,
			OnboardingTasks: engine.DefaultOnboardingTasks, WelcomeNote: engine.DefaultWelcomeNote,
			M360Tasks: true, Notes: true, Appointments: true, Tasks: true, Campaigns: true},
		Backfill: syncBackfill{Share: engine.DefaultBackfillShare, DailyQuota: engine.DefaultDailyQuota}}
}

// syncConnectionFlags declares the flags of the sync's connections and
// database, which every sync command takes.
func syncConnectionFlags(fl *pflag.FlagSet) *string {
	d := defaultSyncConfig()
	configPath := fl.String("config", "", "config file (default ./"+defaultConfigFile+" when it exists); the sync reads its sync: section")
	keyed(fl, fl.String, "sync.db", "db", d.DB, "the sync's database file (SQLite)")
	keyed(fl, fl.String, "sync.credentials", "credentials", d.Credentials, "connect's credentials file (HighLevel OAuth tokens, Marketing 360 keys)")
	keyed(fl, fl.String, "sync.highlevel.baseURL", "hl-base-url", "", "HighLevel API base URL (default the live API)")
	keyed(fl, fl.String, "sync.highlevel.location", "hl-location", "", "HighLevel location id")
	keyed(fl, fl.String, "sync.highlevel.token", "hl-token", "", "HighLevel Private Integration Token of the location (unset: the OAuth tokens connect stored)")
	keyed(fl, fl.String, "sync.highlevel.clientID", "hl-client-id", "", "the OAuth app's client id, whose tokens connect stored")
	keyed(fl, fl.String, "sync.highlevel.clientSecret", "hl-client-secret", "", "the OAuth app's client secret")
	keyed(fl, fl.String, "sync.m360.baseURL", "m360-base-url", "", "Marketing 360 API base URL, without /v1 (default the live API)")
	keyed(fl, fl.String, "sync.m360.clientID", "m360-client-id", "", "Marketing 360 API key: client id")
	keyed(fl, fl.String, "sync.m360.clientSecret", "m360-client-secret", "", "Marketing 360 API key: client secret (unset: the key connect stored)")
	keyed(fl, fl.String, "sync.logLevel", "log-level", d.LogLevel, "debug, info, warn or error")
	return configPath
}

// syncRunFlags declares the flags of the commands that run the sync's
// workers (run, backfill).
func syncRunFlags(fl *pflag.FlagSet) {
	d := defaultSyncConfig()
	keyed(fl, fl.String, "sync.listen", "listen", d.Listen, "the webhook receiver's address (loopback)")
	keyed(fl, fl.String, "sync.highlevel.webhookKey", "hl-webhook-key", "", "PEM file of HighLevel's Ed25519 webhook public key (unset: HighLevel webhooks are refused)")
	keyed(fl, fl.StringSlice, "sync.highlevel.calendars", "hl-calendar", nil, "a HighLevel calendar whose appointments the reconcile polls (repeatable; none: appointments come by webhook only)")
	keyed(fl, fl.StringSlice, "sync.m360.webhookSecrets", "m360-webhook-secret", nil, "secret of a Marketing 360 webhook subscription (repeatable)")
	keyed(fl, fl.Duration, "sync.reconcileEvery", "reconcile-every", d.ReconcileEvery.Std(), "how often each stream is polled for what webhooks missed (negative: never)")
	keyed(fl, fl.Bool, "sync.flows.contacts", "flow-contacts", d.Flows.Contacts, "flow 1: HighLevel contacts to Marketing 360 with a follow-up task")
	keyed(fl, fl.Bool, "sync.flows.onboarding", "flow-onboarding", d.Flows.Onboarding, "flow 2: onboarding tasks and a welcome note, once per contact")
	keyed(fl, fl.Bool, "sync.flows.m360Tasks", "flow-m360-tasks", d.Flows.M360Tasks, "flow 3: Marketing 360 tasks to HighLevel, completions both ways")
	keyed(fl, fl.Bool, "sync.flows.notes", "flow-notes", d.Flows.Notes, "flow 4: HighLevel notes to Marketing 360 notes, edits and deletions too")
	keyed(fl, fl.Bool, "sync.flows.appointments", "flow-appointments", d.Flows.Appointments, "flow 4: HighLevel appointments to Marketing 360 calendar events")
	keyed(fl, fl.Bool, "sync.flows.campaigns", "flow-campaigns", d.Flows.Campaigns, "flow 5: the campaign rules (sync.flows.campaignRules in the config file)")
	keyed(fl, fl.Bool, "sync.flows.tasks", "flow-tasks", d.Flows.Tasks, "flow 6: HighLevel tasks to Marketing 360, without echoing flow 3's")
	keyed(fl, fl.String, "sync.flows.followUp", "follow-up", d.Flows.FollowUp, "the follow-up task's title; {contact} is the contact's name")
	keyed(fl, fl.Float64, "sync.backfill.share", "backfill-share", d.Backfill.Share, "share of a location's daily quota a backfill may spend a day")
	keyed(fl, fl.Int, "sync.backfill.dailyQuota", "daily-quota", d.Backfill.DailyQuota, "a HighLevel location's requests a day")
}

// loadSyncConfig merges, by precedence, the flags that were set, the
// CONTACTBRIDGE_SYNC__* environment, the sync: section of the config file
// and the defaults, as mock's settings are merged.
func loadSyncConfig(flags *pflag.FlagSet, configPath string, environ func() []string) (syncConfig, error) {
	cfg := defaultSyncConfig()
	k := koanf.New(".")
	if err := loadConfigFile(k, configPath); err != nil {
		return cfg, err
	}
	keys := configKeys{}
	keys.add(reflect.TypeFor[syncConfig](), syncSection+".")
	if err := k.Load(env.Provider(".", env.Opt{Prefix: envPrefix, EnvironFunc: environ, TransformFunc: keys.fromEnv}), nil); err != nil {
		return cfg, fmt.Errorf("environment: %w", err)
	}
	if err := k.Load(posflag.ProviderWithFlag(flags, ".", k, flagSetting(flags)), nil); err != nil {
		return cfg, fmt.Errorf("flags: %w", err)
	}
	merged, err := yamlv3.Marshal(k.Cut(syncSection).Raw())
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := decodeStrict(merged, &cfg); err != nil {
		return cfg, &usageError{command: "contactbridge sync", err: errors.New(plainYAMLError(err, "settings"))}
	}
	if _, err := logLevel(cfg.LogLevel); err != nil {
		return cfg, &usageError{command: "contactbridge sync", err: err}
	}
	return cfg, nil
}

// runConfig is the running sync's config: the PEM key read, the
// credentials file as the token store and the source of a Marketing 360
// key without its secret.
func (c syncConfig) runConfig() (syncrun.Config, error) {
	rc := syncrun.Config{DB: c.DB, Listen: c.Listen, ReconcileEvery: c.ReconcileEvery.Std(),
		HighLevel: syncrun.HighLevel{BaseURL: c.HighLevel.BaseURL, Token: c.HighLevel.Token, Location: c.HighLevel.Location,
			Calendars: c.HighLevel.Calendars},
		M360: syncrun.M360{BaseURL: c.M360.BaseURL, ClientID: c.M360.ClientID, ClientSecret: c.M360.ClientSecret,
			WebhookSecrets: c.M360.WebhookSecrets},
		Queue:      engine.Config{MaxWorkers: c.Queue.Workers, JobTimeout: c.Queue.JobTimeout.Std(), RescueAfter: c.Queue.RescueAfter.Std()},
		StaleAfter: c.Queue.StaleAfter.Std(),
		Flows:      c.Flows.engineFlows()}
	if c.HighLevel.WebhookKey != "" {
		pem, err := os.ReadFile(c.HighLevel.WebhookKey)
		if err != nil {
			return rc, fmt.Errorf("sync.highlevel.webhookKey: %w", err)
		}
		rc.HighLevel.WebhookKey = string(pem)
	}
	store := &transport.FileStore{Path: c.Credentials}
	if rc.HighLevel.Token == "" && c.HighLevel.ClientID != "" {
		base := c.HighLevel.BaseURL
		if base == "" {
			base = highlevelapi.DefaultServer
		}
		rc.HighLevel.OAuth = &oauth2.Config{ClientID: c.HighLevel.ClientID, ClientSecret: c.HighLevel.ClientSecret,
			Endpoint: transport.HighLevelEndpoint(base, base)}
		rc.HighLevel.Tokens = store
	}
	if rc.M360.ClientSecret == "" && rc.M360.ClientID != "" {
		key, err := store.LoadKey(rc.M360.ClientID)
		if err != nil {
			return rc, fmt.Errorf("the Marketing 360 key %s: no --m360-client-secret, and %w", rc.M360.ClientID, err)
		}
		rc.M360.ClientSecret, rc.M360.AccountID = key.ClientSecret, accountText(key.AccountID)
	}
	return rc, nil
}

// accountText is an account id as the sync names tenants; "" for none.
func accountText(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}

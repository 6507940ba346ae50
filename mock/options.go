package mock

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// Options configure a Server. The zero value serves the embedded specs on
// free loopback ports with one default location, app, token, Marketing 360
// account and key, a journal of 1000 entries, no rate limits and no faults.
// The fields with yaml tags are also the config file's (contactbridge.yaml):
// what only one twin uses sits under its name, what both share at the top.
type Options struct {
	// Seed makes ids and secrets reproducible; 0 picks a random seed.
	Seed uint64 `yaml:"seed"`
	// ClockMode is "real" or "frozen"; "" means frozen with a seed and real
	// without. A frozen clock starts at SeededStart and moves only through
	// the admin API. Ignored when Clock is set.
	ClockMode string `yaml:"clock"`
	// Strict validates every response against the spec (500 on drift).
	Strict bool `yaml:"strict"`
	// StateFile is a state exported by GET /__admin/state, loaded at start
	// (and restored by reset) over the start-up data.
	StateFile string `yaml:"state,omitempty"`

	HighLevel HighLevelOptions `yaml:"highlevel"`
	M360      M360Options      `yaml:"m360"`

	Admin    AdminOptions   `yaml:"admin"`
	Journal  JournalOptions `yaml:"journal"`
	Timeouts TimeoutOptions `yaml:"timeouts"`
	Faults   []faults.Rule  `yaml:"faults,omitempty"`
	// Webhooks configure both twins' webhooks.
	Webhooks WebhookOptions `yaml:"webhooks"`

	// Data, when set, makes data for the default location and Marketing 360
	// account; it is loaded at start and again by reset (fixtures use it).
	Data func(store.Location, store.M360Account) (store.State, error) `yaml:"-"`

	// NoListener builds the handlers without listening; use the twins'
	// Handler or Client.
	NoListener bool `yaml:"-"`
	// Clock gives the time; nil means the clock ClockMode asks for.
	Clock clock.Clock `yaml:"-"`
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

// HighLevelOptions configure the HighLevel twin.
type HighLevelOptions struct {
	// Addr is the address to listen on; "" means 127.0.0.1:0.
	Addr string `yaml:"addr"`
	// Spec overrides the embedded spec (a file path).
	Spec string      `yaml:"spec,omitempty"`
	Auth AuthOptions `yaml:"auth"`
	// Locations, Apps and Tokens are made at start besides the defaults.
	Locations []store.Location `yaml:"locations,omitempty"`
	Apps      []auth.App       `yaml:"apps,omitempty"`
	Tokens    []TokenOptions   `yaml:"tokens,omitempty"`
	// Limits are the rate limits; nil means none.
	Limits *limits.Config `yaml:"limits,omitempty"`
	// ListProjection makes the contact lists (GET /contacts/, POST
	// /contacts/search) answer each contact as the vendor's list projection
	// documents it (ContactsSearchSchema: id, locationId, email, timezone,
	// country, source, dateAdded, customFields, tags, businessId,
	// attributions, followers) instead of the full contact.
	ListProjection bool `yaml:"listProjection,omitempty"`
}

// M360Options configure the Marketing 360 twin.
type M360Options struct {
	// Addr is the address to listen on; "" means 127.0.0.1:0.
	Addr string `yaml:"addr"`
	// Spec overrides the embedded spec (a file path).
	Spec string `yaml:"spec,omitempty"`
	// Limits is the leaky bucket per API key; nil means none.
	Limits *limits.LeakyConfig `yaml:"limits,omitempty"`
	// Keys are API keys made at start besides the default one.
	Keys []APIKey `yaml:"keys,omitempty"`
}

// WebhookOptions configure the webhooks of both twins: HighLevel events go
// to the apps with a webhook URL, Marketing 360 events to the subscriptions
// made through its /v1/webhooks.
type WebhookOptions struct {
	// URL is the default app's webhook URL: the quick way to receive the
	// HighLevel events of the default location.
	URL string `yaml:"url,omitempty"`
	// KeyFile holds the keys HighLevel deliveries are signed with: read
	// when it exists, made and written there when not. Without one, keys
	// are made at each start (from the seed, when there is one).
	KeyFile string `yaml:"keyFile,omitempty"`
	// RSA signs HighLevel deliveries with RSA too (x-wh-signature).
	RSA bool `yaml:"rsa"`
	// Spool is a file that keeps the deliveries still pending at shutdown,
	// delivered at the next start.
	Spool string `yaml:"spool,omitempty"`
	// Drain is how long shutdown gives pending deliveries a last attempt
	// (0: 5s).
	Drain clock.Duration `yaml:"drain,omitempty"`
	// Workers is how many deliveries are attempted at once (0: 4).
	Workers int `yaml:"workers,omitempty"`
	// LogSize is how many finished deliveries the log keeps (0: 1000).
	LogSize int `yaml:"logSize,omitempty"`
	// Observe, when set, is told of each delivery when it is queued and
	// after each attempt (see webhooks.Options.Observe).
	Observe func(webhooks.Delivery) `yaml:"-"`
	// Settings are the retry policy and the delivery realism toggles.
	webhooks.Settings `yaml:",inline"`
	// EventOptions are the toggles of HighLevel's payloads.
	highlevel.EventOptions `yaml:",inline"`
}

// AdminOptions guard the admin API.
type AdminOptions struct {
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token string `yaml:"token,omitempty"`
	// Remote lets clients that are not on loopback use the admin API.
	Remote bool `yaml:"remote"`
	// MaxImportBytes is the largest state PUT /__admin/state takes (0:
	// admin.DefaultMaxImportBytes, 1 GiB); the APIs' 1 MiB body limit is
	// the live APIs' and does not apply to it.
	MaxImportBytes int64 `yaml:"maxImportBytes,omitempty"`
}

// JournalOptions size the request journal.
type JournalOptions struct {
	// Size is how many requests the journal keeps; 0 means 1000, negative none.
	Size int `yaml:"size"`
}

// TimeoutOptions bound how long both twins' listeners wait on a client, so a
// slow or stalled one cannot hold a connection open.
type TimeoutOptions struct {
	// ReadHeader is how long a request's headers may take (0: 10s).
	ReadHeader clock.Duration `yaml:"readHeader,omitempty"`
	// Read is how long a whole request, body included, may take (0: 2m,
	// room for a large admin state import).
	Read clock.Duration `yaml:"read,omitempty"`
	// Idle is how long a kept-alive connection may wait for its next
	// request (0: 2m).
	Idle clock.Duration `yaml:"idle,omitempty"`
}

// Default timeouts of TimeoutOptions.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 2 * time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
)

// orDefault returns d, or def when d is 0.
func orDefault(d clock.Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d.Std()
}

// AuthOptions tune the OAuth server and scope checks.
type AuthOptions struct {
	AccessTokenTTL  clock.Duration `yaml:"accessTokenTTL,omitempty"`
	RefreshTokenTTL clock.Duration `yaml:"refreshTokenTTL,omitempty"`
	// RefreshGrace keeps a used refresh token working this long (0: single use).
	RefreshGrace clock.Duration `yaml:"refreshGrace,omitempty"`
	// ScopeDeniedStatus answers a missing scope: 401 as the live API (0), or 403.
	ScopeDeniedStatus int `yaml:"scopeDeniedStatus,omitempty"`
}

// TokenOptions is a static token from the config file.
type TokenOptions struct {
	Token      string   `yaml:"token"`
	LocationID string   `yaml:"locationId"`
	Scopes     []string `yaml:"scopes"`
	// Type is "private-integration" (default) or "oauth".
	Type string `yaml:"type,omitempty"`
	// ExpiresIn is a lifetime; 0 never expires.
	ExpiresIn clock.Duration `yaml:"expiresIn,omitempty"`
}

// APIKey is a Marketing 360 API key: HTTP Basic client id and secret.
type APIKey struct {
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// AccountID is the key's account; 0 in Options means the default account.
	AccountID   int64    `yaml:"accountId,omitempty"`
	Permissions []string `yaml:"permissions"`
}

// MaxTimeout is the longest of each TimeoutOptions.
const MaxTimeout = 24 * time.Hour

// ErrInvalidOptions wraps the errors of options NewServer cannot honour.
var ErrInvalidOptions = errors.New("mock: invalid options")

// validate refuses the settings the process cannot honour, naming each; the
// rate limits and fault rules are checked by their own packages.
func (o Options) validate() error {
	var errs []error
	if o.Journal.Size > journal.MaxSize {
		errs = append(errs, fmt.Errorf("journal.size %d: at most %d", o.Journal.Size, journal.MaxSize))
	}
	for _, t := range []struct {
		name string
		d    clock.Duration
	}{{"readHeader", o.Timeouts.ReadHeader}, {"read", o.Timeouts.Read}, {"idle", o.Timeouts.Idle}} {
		if t.d < 0 || t.d.Std() > MaxTimeout {
			errs = append(errs, fmt.Errorf("timeouts.%s %s: must be between 0 (the default) and %s", t.name, t.d, MaxTimeout))
		}
	}
	if o.Admin.MaxImportBytes < 0 {
		errs = append(errs, fmt.Errorf("admin.maxImportBytes %d: must not be negative (0: the default)", o.Admin.MaxImportBytes))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}

// SeededStart is where a frozen clock starts.
var SeededStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pickClock(opts Options) (clock.Clock, error) {
	if opts.Clock != nil {
		return opts.Clock, nil
	}
	switch opts.ClockMode {
	case "frozen":
		return clock.NewManual(SeededStart), nil
	case "":
		if opts.Seed != 0 {
			return clock.NewManual(SeededStart), nil
		}
		return clock.Real{}, nil
	case "real":
		return clock.Real{}, nil
	}
	return nil, fmt.Errorf("mock: clock %q: want real or frozen", opts.ClockMode)
}

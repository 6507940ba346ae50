// Package mock assembles the contactbridge twins: a server that serves the
// HighLevel Contacts API v2 and the Marketing 360 API from their specs, on
// one in-memory state, each through the same pipeline (journal, faults,
// authentication, rate limits, validation, handlers), with one admin API.
package mock

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/m360"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/openapi"
)

// Options configure a Server. The zero value serves the embedded spec on a
// free loopback port with one default location, app and token, a journal of
// 1000 entries, no rate limits and no faults. The fields with yaml tags are
// also the config file's (contactbridge.yaml).
type Options struct {
	// Addr is the address to listen on; "" means 127.0.0.1:0.
	Addr string `yaml:"addr"`
	// Seed makes ids and secrets reproducible; 0 picks a random seed.
	Seed uint64 `yaml:"seed"`
	// ClockMode is "real" or "frozen"; "" means frozen with a seed and real
	// without. A frozen clock starts at SeededStart and moves only through
	// the admin API. Ignored when Clock is set.
	ClockMode string `yaml:"clock"`
	// SpecPath overrides the embedded HighLevel spec.
	SpecPath string `yaml:"spec,omitempty"`
	// Strict validates every response against the spec (500 on drift).
	Strict bool `yaml:"strict"`
	// StateFile is a state exported by GET /__admin/state, loaded at start
	// (and restored by reset) instead of the empty default location.
	StateFile string `yaml:"state,omitempty"`

	Admin     AdminOptions     `yaml:"admin"`
	Journal   JournalOptions   `yaml:"journal"`
	Auth      AuthOptions      `yaml:"auth"`
	Locations []store.Location `yaml:"locations,omitempty"`
	Apps      []auth.App       `yaml:"apps,omitempty"`
	Tokens    []TokenOptions   `yaml:"tokens,omitempty"`
	// Limits are the rate limits; nil means none.
	Limits *limits.Config `yaml:"limits,omitempty"`
	Faults []faults.Rule  `yaml:"faults,omitempty"`
	// Webhooks configure both twins' webhooks.
	Webhooks WebhookOptions `yaml:"webhooks"`

	// M360Addr is the Marketing 360 twin's address; "" means 127.0.0.1:0.
	M360Addr string `yaml:"m360Addr"`
	// M360SpecPath overrides the embedded Marketing 360 spec.
	M360SpecPath string `yaml:"m360Spec,omitempty"`
	// M360Limits is the leaky bucket per API key; nil means none.
	M360Limits *limits.LeakyConfig `yaml:"m360Limits,omitempty"`
	// M360Keys are Marketing 360 API keys besides the default one.
	M360Keys []M360KeyOptions `yaml:"m360Keys,omitempty"`

	// Data, when set, makes data for the default location and Marketing 360
	// account; it is loaded at start and again by reset (fixtures use it).
	Data func(store.Location, store.M360Account) (store.State, error) `yaml:"-"`

	// NoListener builds the handler without listening; use Handler or Client.
	NoListener bool `yaml:"-"`
	// Clock gives the time; nil means the clock ClockMode asks for.
	Clock clock.Clock `yaml:"-"`
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger `yaml:"-"`
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
	// Settings are the retry policy and the realism toggles.
	webhooks.Settings `yaml:",inline"`
}

// AdminOptions guard the admin API.
type AdminOptions struct {
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token string `yaml:"token,omitempty"`
	// Remote lets clients that are not on loopback use the admin API.
	Remote bool `yaml:"remote"`
}

// JournalOptions size the request journal.
type JournalOptions struct {
	// Size is how many requests the journal keeps; 0 means 1000, negative none.
	Size int `yaml:"size"`
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

// M360KeyOptions is a Marketing 360 API key from the config file.
type M360KeyOptions struct {
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// AccountID is the key's account; 0 means the default account.
	AccountID   int64    `yaml:"accountId,omitempty"`
	Permissions []string `yaml:"permissions"`
}

// M360Key is a Marketing 360 API key: HTTP Basic client id and secret.
type M360Key struct {
	ClientID, ClientSecret string
	AccountID              int64
	Permissions            []string
}

// SeededStart is where a frozen clock starts.
var SeededStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Server is a running twin.
type Server struct {
	opts     Options
	spec     *openapi.Spec
	clock    clock.Clock
	store    *store.Store
	tokens   *auth.Registry
	limiter  *limits.Limiter
	faults   *faults.Injector
	journal  *journal.Journal
	handler  http.Handler
	log      *slog.Logger
	location store.Location
	token    string
	app      auth.App
	initial  store.State

	m360Spec    *openapi.Spec
	keys        *auth.KeyRing
	leaky       *limits.Leaky
	m360Handler http.Handler
	m360URL     string
	m360Account store.M360Account
	m360Key     M360Key
	early       <-chan decodedState // the state file, decoding since start
	resetMu     sync.Mutex          // one reset at a time
	webhooks    *webhooks.Dispatcher
	emitter     *emitter

	url       string
	listeners []*listener
	closeMu   sync.Mutex // guards closed
	closed    bool
}

// NewServer builds a twin and, unless opts.NoListener, starts serving it.
func NewServer(opts Options) (*Server, error) {
	ctx := context.Background()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	clk, err := pickClock(opts)
	if err != nil {
		return nil, err
	}
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	// The state file decodes while the three specs load: together they are
	// most of start-up. The goroutine ends on its own: its channel holds the
	// one result.
	var early chan decodedState
	if opts.StateFile != "" {
		early = make(chan decodedState, 1)
		go func() { early <- decodeStateFile(opts.StateFile) }()
	}
	// The three specs load at once.
	var spec, adminSpec, m360Spec *openapi.Spec
	var specErrs [3]error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); spec, specErrs[0] = openapi.LoadHighLevel(ctx, opts.SpecPath) }()
	go func() { defer wg.Done(); adminSpec, specErrs[1] = openapi.LoadAdmin(ctx) }()
	go func() { defer wg.Done(); m360Spec, specErrs[2] = openapi.LoadMarketing360(ctx, opts.M360SpecPath) }()
	wg.Wait()
	if err := errors.Join(specErrs[:]...); err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	ids := store.NewIDs(seed)
	s := &Server{
		opts:     opts,
		spec:     spec,
		clock:    clk,
		store:    store.New(clk, ids),
		tokens:   auth.NewRegistry(clk),
		keys:     auth.NewKeyRing(),
		m360Spec: m360Spec,
		early:    early,
		log:      opts.Logger.With("component", "mock"),
	}
	s.tokens.Secrets = ids.Token
	s.tokens.KnownLocation = func(id string) bool {
		_, err := s.store.Location(id)
		return err == nil
	}
	if err := s.seedData(ids); err != nil {
		return nil, err
	}
	limitCfg := limits.Config{}
	if opts.Limits != nil {
		limitCfg = *opts.Limits
	}
	if s.limiter, err = limits.New(clk, limitCfg); err != nil {
		return nil, fmt.Errorf("mock: limits: %w", err)
	}
	leakyCfg := limits.LeakyConfig{}
	if opts.M360Limits != nil {
		leakyCfg = *opts.M360Limits
	}
	if s.leaky, err = limits.NewLeaky(clk, leakyCfg); err != nil {
		return nil, fmt.Errorf("mock: marketing 360 limits: %w", err)
	}
	s.faults = faults.New(faults.Options{Seed: seed, LocationOf: s.locationOf, Logger: opts.Logger})
	if err := s.addFaults(); err != nil {
		return nil, err
	}
	size := opts.Journal.Size
	if size == 0 {
		size = 1000
	}
	s.journal = journal.New(size, clk)
	if err := s.startWebhooks(seed); err != nil {
		return nil, err
	}

	api := &highlevel.API{Store: s.store, OAuth: s.tokens, TraceID: func() string { return uuid(ids) }}
	hl, err := pipeline.New(pipeline.Config{
		Spec:              spec,
		Handlers:          api.Handlers(),
		Auth:              s.tokens,
		RenderError:       highlevel.RenderError,
		MapError:          highlevel.MapError,
		Strict:            opts.Strict,
		ScopeDeniedStatus: opts.Auth.ScopeDeniedStatus,
		Outer:             []pipeline.Middleware{s.journal.Middleware(), accessLog(s.log), s.faults.Middleware()},
		Inner:             []pipeline.Middleware{s.limiter.Middleware()},
		Logger:            opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: %w", err))
	}
	adminAPI := &admin.API{Store: s.store, Tokens: s.tokens, Limits: s.limiter, Faults: s.faults, Webhooks: s.webhooks,
		CheckApp: func(a auth.App) error { return checkWebhookApp(a, s.spec) },
		Journal:  s.journal, Clock: clk, Reset: s.reset, Spec: openapi.Admin(),
		M360Keys: s.keys, M360Limits: s.leaky, Secret: ids.Token,
		DefaultLocation: s.location.ID, DefaultM360Account: s.m360Account.ID,
		M360AccountExists: func(id int64) bool {
			_, err := s.store.M360Account(id)
			return err == nil
		}}
	adm, err := pipeline.New(pipeline.Config{
		Spec:        adminSpec,
		Handlers:    adminAPI.Handlers(),
		Auth:        admin.TokenAuth{Token: opts.Admin.Token},
		RenderError: admin.RenderError,
		MapError:    admin.MapError,
		Strict:      opts.Strict,
		Outer:       []pipeline.Middleware{admin.LoopbackOnly(opts.Admin.Remote), accessLog(s.log)},
		Logger:      opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: admin: %w", err))
	}
	m360API := &m360.API{Store: s.store, Secret: func() string { return "whsec_" + ids.Token(32) }}
	mp, err := pipeline.New(pipeline.Config{
		Spec:              m360Spec,
		Handlers:          m360API.Handlers(),
		Auth:              s.keys,
		RenderError:       m360.RenderError,
		MapError:          m360.MapError,
		Strict:            opts.Strict,
		ScopeDeniedStatus: http.StatusForbidden,
		Challenge:         `Basic realm="Marketing 360"`,
		Outer: []pipeline.Middleware{s.journal.Middleware(), accessLog(s.log), s.faults.Middleware(),
			pipeline.RequireContentLength()},
		Inner:  []pipeline.Middleware{s.leaky.Middleware()},
		Logger: opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: marketing 360: %w", err))
	}
	s.handler, s.m360Handler = withAdmin(adm, hl), withAdmin(adm, mp)
	if opts.NoListener {
		s.url, s.m360URL = "http://highlevel.twin", "http://m360.twin"
		return s, nil
	}
	for _, l := range []struct {
		addr string
		h    http.Handler
		url  *string
	}{{opts.Addr, s.handler, &s.url}, {opts.M360Addr, s.m360Handler, &s.m360URL}} {
		ln, err := s.serve(l.addr, l.h)
		if err != nil {
			s.Close()
			return nil, err
		}
		*l.url = ln.url
		s.listeners = append(s.listeners, ln)
	}
	return s, nil
}

// fail stops what NewServer started before err, and returns err.
func (s *Server) fail(err error) error {
	s.Close()
	return err
}

// withAdmin serves the admin API under /__admin/ and api elsewhere: each
// twin's listener answers the one admin API.
func withAdmin(adm, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__admin/") {
			adm.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// listener is one of the server's listeners and the goroutine serving it.
type listener struct {
	url    string
	srv    *http.Server
	cancel context.CancelFunc // cancels every request's context
	done   chan error         // receives Serve's result
}

// serve listens on addr (127.0.0.1:0 when empty) and serves h there.
func (s *Server) serve(addr string, h http.Handler) (*listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock: listen: %w", err)
	}
	// Requests' contexts derive from one the listener cancels when it
	// closes, so a hanging or slow fault ends at once instead of holding
	// the shutdown up.
	base, cancel := context.WithCancel(context.Background())
	l := &listener{
		url: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:    slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
			BaseContext: func(net.Listener) context.Context { return base }},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	go func() { l.done <- l.srv.Serve(ln) }()
	return l, nil
}

// close stops the listener: it ends the requests that wait on their context
// (faults), lets the others finish until ctx ends, then cuts what is left.
func (l *listener) close(ctx context.Context) error {
	l.cancel()
	err := l.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, l.srv.Close())
	}
	if serveErr := <-l.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

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

// seedData makes the start-up state: the default location, app and token,
// and the configured locations, apps and tokens. It is what reset returns to.
func (s *Server) seedData(ids *store.IDs) error {
	s.location = defaultLocation(ids)
	s.store.PutLocation(s.location)
	for _, l := range s.opts.Locations {
		if l.ID == "" {
			return fmt.Errorf("mock: a configured location has no id")
		}
		s.store.PutLocation(l)
	}
	s.token = "pit-" + uuid(ids)
	s.app = auth.App{
		ClientID:     ids.ObjectID() + "-" + ids.Token(8),
		ClientSecret: uuid(ids),
		Name:         "Contactbridge Dev App",
		RedirectURIs: []string{"http://127.0.0.1:8080/oauth/callback", "http://localhost:8080/oauth/callback"},
		Scopes:       SpecScopes(s.spec),
		Location:     s.location.ID,
	}
	if u := s.opts.Webhooks.URL; u != "" {
		if err := webhooks.CheckURL(u); err != nil {
			return fmt.Errorf("mock: webhooks.url %q: %w", u, err)
		}
		s.app.WebhookURL = u
	}
	apps := append([]auth.App{s.app}, s.opts.Apps...)
	for _, a := range apps {
		if a.ClientID == "" || a.ClientSecret == "" {
			return fmt.Errorf("mock: a configured app needs clientId and clientSecret")
		}
		if err := checkWebhookApp(a, s.spec); err != nil {
			return fmt.Errorf("mock: %w", err)
		}
		s.tokens.PutApp(a)
	}
	life := auth.DefaultLifetimes()
	if d := s.opts.Auth.AccessTokenTTL.Std(); d > 0 {
		life.Access = d
	}
	if d := s.opts.Auth.RefreshTokenTTL.Std(); d > 0 {
		life.Refresh = d
	}
	life.RefreshGrace = s.opts.Auth.RefreshGrace.Std()
	s.tokens.SetLifetimes(life)
	if err := s.seedM360(ids); err != nil {
		return err
	}
	// The start-up state without the state file: reset reads the file again
	// rather than keep a second copy of a large state in memory.
	s.initial = s.store.Snapshot()
	if err := s.loadStart(); err != nil {
		return err
	}
	keys, err := s.staticKeys()
	if err != nil {
		return err
	}
	tokens, err := s.staticTokens()
	if err != nil {
		return err
	}
	s.keys.Reset(keys)
	s.tokens.Reset(tokens)
	return nil
}

// seedM360 makes the default Marketing 360 account, its campaigns and key.
func (s *Server) seedM360(ids *store.IDs) error {
	s.m360Account = s.store.PutM360Account(store.M360Account{Name: "Contactbridge Demo (Marketing 360)", Timezone: "America/Denver"})
	for _, c := range []store.M360Campaign{
		{Name: "Welcome series", Status: store.M360CampaignActive},
		{Name: "Re-engagement", Status: store.M360CampaignActive},
		{Name: "Holiday promotion", Status: store.M360CampaignPaused},
	} {
		c.AccountID = s.m360Account.ID
		if _, err := s.store.PutM360Campaign(c); err != nil {
			return fmt.Errorf("mock: seed campaigns: %w", err)
		}
	}
	s.m360Key = M360Key{ClientID: "m360_" + ids.Token(16), ClientSecret: ids.Token(32),
		AccountID: s.m360Account.ID, Permissions: SpecScopes(s.m360Spec)}
	return nil
}

// staticKeys lists the default and the configured Marketing 360 keys.
func (s *Server) staticKeys() ([]auth.KeyEntry, error) {
	keys := []M360Key{s.m360Key}
	for _, k := range s.opts.M360Keys {
		if k.ClientID == "" || k.ClientSecret == "" {
			return nil, fmt.Errorf("mock: a configured Marketing 360 key needs clientId and clientSecret")
		}
		if k.AccountID == 0 {
			k.AccountID = s.m360Account.ID
		}
		keys = append(keys, M360Key(k))
	}
	out := make([]auth.KeyEntry, 0, len(keys))
	for _, k := range keys {
		out = append(out, auth.KeyEntry{ClientID: k.ClientID, Secret: k.ClientSecret,
			Principal: auth.Principal{LocationID: strconv.FormatInt(k.AccountID, 10), Scopes: k.Permissions}})
	}
	return out, nil
}

// startState is the start-up state: the defaults, with the state file and
// the generated data laid over them when given. It reports whether it came
// from a large file, whose decoding garbage is worth returning to the OS.
func (s *Server) startState() (store.State, bool, error) {
	st, large := s.initial, false
	if s.opts.StateFile != "" {
		var d decodedState
		if s.early != nil {
			d, s.early = <-s.early, nil
		} else {
			d = decodeStateFile(s.opts.StateFile)
		}
		if d.err != nil {
			return st, false, d.err
		}
		st, large = overlay(st, d.st), d.size > 32<<20
	}
	if s.opts.Data != nil {
		data, err := s.opts.Data(s.location, s.m360Account)
		if err != nil {
			return st, false, fmt.Errorf("mock: data: %w", err)
		}
		st = overlay(st, data)
	}
	return st, large, nil
}

// loadStart makes the store hold the start-up state, in one step.
func (s *Server) loadStart() error {
	st, large, err := s.startState()
	if err != nil {
		return err
	}
	if err := s.store.Restore(st); err != nil {
		return fmt.Errorf("mock: start-up state: %w", err)
	}
	// Decoding a large state leaves garbage behind: give it back now rather
	// than carry it while serving (not worth a pause for a small one).
	if large {
		debug.FreeOSMemory()
	}
	return nil
}

// decodedState is a state file, decoded.
type decodedState struct {
	st   store.State
	size int64
	err  error
}

func decodeStateFile(path string) decodedState {
	f, err := os.Open(path)
	if err != nil {
		return decodedState{err: fmt.Errorf("mock: state: %w", err)}
	}
	defer f.Close()
	st, err := store.DecodeState(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return decodedState{err: fmt.Errorf("mock: state %s: %w", path, err)}
	}
	d := decodedState{st: st}
	if info, err := f.Stat(); err == nil {
		d.size = info.Size()
	}
	return d
}

// overlay lays top over base: locations merge by id (top wins) and the
// records of both are kept; but when top has Marketing 360 accounts of its
// own (an exported state has the default one too), its Marketing 360 tables
// replace base's.
func overlay(base, top store.State) store.State {
	out := top
	seen := map[string]bool{}
	for _, l := range top.Locations {
		seen[l.ID] = true
	}
	out.Locations = nil
	for _, l := range base.Locations {
		if !seen[l.ID] {
			out.Locations = append(out.Locations, l)
		}
	}
	out.Locations = append(out.Locations, top.Locations...)
	out.Contacts = append(base.Contacts, top.Contacts...)
	out.Tasks = append(base.Tasks, top.Tasks...)
	out.Notes = append(base.Notes, top.Notes...)
	out.Appointments = append(base.Appointments, top.Appointments...)
	if len(top.M360Accounts) == 0 {
		out.M360Accounts = base.M360Accounts
		out.M360Campaigns = append(base.M360Campaigns, top.M360Campaigns...)
		out.M360Contacts = append(base.M360Contacts, top.M360Contacts...)
		out.M360Tasks = append(base.M360Tasks, top.M360Tasks...)
		out.M360Notes = append(base.M360Notes, top.M360Notes...)
		out.M360Events = append(base.M360Events, top.M360Events...)
		out.M360Triggers = append(base.M360Triggers, top.M360Triggers...)
		out.M360Webhooks = append(base.M360Webhooks, top.M360Webhooks...)
	}
	return out
}

// staticTokens lists the default and the configured static tokens.
func (s *Server) staticTokens() (map[string]auth.Principal, error) {
	out := map[string]auth.Principal{s.token: {Kind: auth.PrivateIntegration, AppID: "pit-" + s.token[4:12],
		LocationID: s.location.ID, Scopes: SpecScopes(s.spec)}}
	for _, t := range s.opts.Tokens {
		if t.Token == "" || t.LocationID == "" {
			return nil, fmt.Errorf("mock: a configured token needs token and locationId")
		}
		p := auth.Principal{Kind: auth.PrivateIntegration, AppID: "pit-" + t.Token, LocationID: t.LocationID, Scopes: t.Scopes}
		if t.Type == "oauth" {
			p.Kind, p.AppID = auth.OAuthAccess, "config"
		}
		if d := t.ExpiresIn.Std(); d > 0 {
			p.ExpiresAt = s.clock.Now().Add(d)
		}
		out[t.Token] = p
	}
	return out, nil
}

func (s *Server) addFaults() error {
	for _, r := range s.opts.Faults {
		if _, err := s.faults.Add(r); err != nil {
			return fmt.Errorf("mock: fault rule %q: %w", r.ID, err)
		}
	}
	return nil
}

// reset brings the twin back to its start-up state. Resets run one at a
// time; each table is swapped in one step, so a request sees the old or the
// new content, not an empty twin.
func (s *Server) reset() error {
	s.resetMu.Lock()
	defer s.resetMu.Unlock()
	// Pending webhooks go first: a write that lands while the state is
	// swapped keeps its event.
	s.emitter.reset()
	if err := s.loadStart(); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	keys, err := s.staticKeys()
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	tokens, err := s.staticTokens()
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	s.keys.Reset(keys)
	s.tokens.Reset(tokens)
	s.leaky.Reset()
	s.limiter.Reset()
	s.journal.Clear()
	s.faults.Clear()
	return s.addFaults()
}

// locationOf peeks at a request's token to tell its location, for fault
// rules that match on location; "" when the token is not valid.
func (s *Server) locationOf(r *http.Request) string {
	header := r.Header.Get("Authorization")
	if p, err := s.tokens.Authenticate(header); err == nil {
		return p.LocationID
	}
	if p, err := s.keys.Authenticate(header); err == nil {
		return p.LocationID
	}
	return ""
}

// Handler returns the twin's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// URL returns the twin's base URL.
func (s *Server) URL() string { return s.url }

// Client returns an HTTP client for the twin; without a listener it calls the
// handler in process.
func (s *Server) Client() *http.Client {
	if len(s.listeners) > 0 {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Transport: handlerTransport{"highlevel.twin": s.handler, "m360.twin": s.m360Handler}}
}

// Store returns the twin's state.
func (s *Server) Store() *store.Store { return s.store }

// Spec returns the spec the twin serves.
func (s *Server) Spec() *openapi.Spec { return s.spec }

// DefaultLocation returns the location made at start.
func (s *Server) DefaultLocation() store.Location { return s.location }

// DefaultToken returns a Private Integration Token for the default location
// with every scope of the spec.
func (s *Server) DefaultToken() string { return s.token }

// M360URL returns the Marketing 360 twin's base URL (paths under /v1).
func (s *Server) M360URL() string { return s.m360URL }

// M360Spec returns the Marketing 360 spec the twin serves.
func (s *Server) M360Spec() *openapi.Spec { return s.m360Spec }

// DefaultM360Account returns the Marketing 360 account made at start.
func (s *Server) DefaultM360Account() store.M360Account { return s.m360Account }

// DefaultM360Key returns the Marketing 360 API key made at start, with every
// permission of the spec.
func (s *Server) DefaultM360Key() M360Key { return s.m360Key }

// DefaultApp returns the OAuth app made at start: installed on the default
// location with every scope of the spec.
func (s *Server) DefaultApp() auth.App { return s.app }

// Webhooks returns the twins' webhook dispatcher: its delivery log, keys
// and settings.
func (s *Server) Webhooks() *webhooks.Dispatcher { return s.webhooks }

// Tokens returns the twin's token registry and OAuth server.
func (s *Server) Tokens() *auth.Registry { return s.tokens }

// AddToken registers a token for a principal.
func (s *Server) AddToken(token string, p auth.Principal) { s.tokens.Add(token, p) }

// Close stops serving, waiting up to five seconds for requests in flight,
// then gives the pending webhook deliveries a last attempt (up to
// Webhooks.Drain) and spools or logs what is left.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, l := range s.listeners {
		errs = append(errs, l.close(ctx))
	}
	s.emitter.close()
	drain := s.opts.Webhooks.Drain.Std()
	if drain <= 0 {
		drain = 5 * time.Second
	}
	dctx, dcancel := context.WithTimeout(context.Background(), drain)
	defer dcancel()
	errs = append(errs, s.webhooks.Close(dctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mock: close: %w", err)
	}
	return nil
}

// SpecScopes lists every scope an operation or a webhook event of spec
// requires.
func SpecScopes(spec *openapi.Spec) []string {
	var scopes []string
	for _, op := range spec.Operations() {
		scopes = append(scopes, op.Scopes...)
	}
	for _, w := range spec.Webhooks() {
		scopes = append(scopes, w.Scopes...)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// startWebhooks makes the signing keys and the dispatcher, and has the
// store's changes routed to it.
func (s *Server) startWebhooks(seed uint64) error {
	o := s.opts.Webhooks
	// Keys from the configured seed only: without one, random keys.
	var keys *webhooks.Keys
	var err error
	if o.KeyFile != "" {
		keys, err = webhooks.LoadOrCreateKeys(o.KeyFile, s.opts.Seed, o.RSA)
	} else {
		keys, err = webhooks.GenerateKeys(s.opts.Seed, o.RSA)
	}
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	var validate func(webhooks.Message) error
	if s.opts.Strict {
		validate = validator(s.spec, s.m360Spec)
	}
	s.webhooks, err = webhooks.New(webhooks.Options{Clock: s.clock, Keys: keys, Settings: o.Settings,
		Workers: o.Workers, LogSize: o.LogSize, Seed: seed, Spool: o.Spool, Validate: validate, Observe: o.Observe,
		Logger: s.opts.Logger})
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	s.emitter = newEmitter(s, s.webhooks, store.NewIDs(seed^0x77656268_6f6f6b73))
	return nil
}

func defaultLocation(ids *store.IDs) store.Location {
	return store.Location{
		ID:             ids.New(),
		Name:           "Contactbridge Demo",
		Timezone:       "America/New_York",
		DuplicateOrder: []string{"email", "phone"},
		Calendars:      []store.Calendar{{ID: ids.New(), Name: "Sales calls"}},
		CustomFields: []store.CustomFieldDef{
			{ID: ids.New(), Key: "contact.lead_score", Name: "Lead score"},
			{ID: ids.New(), Key: "contact.plan", Name: "Plan"},
		},
	}
}

func uuid(ids *store.IDs) string {
	h := ids.Token(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// accessLog logs each request at debug level, without its headers.
func accessLog(log *slog.Logger) pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			next.ServeHTTP(w, r)
			x := pipeline.ExchangeFrom(r.Context())
			log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
				"operation", x.OperationID(), "status", x.Status, "duration", time.Since(start))
		})
	}
}

// handlerTransport serves requests in process, with the handler of their host.
type handlerTransport map[string]http.Handler

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := t[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("mock: no in-process twin at %s", r.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

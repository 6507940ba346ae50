// Package mock assembles the contactbridge twins: a Server holds two equal
// Twins, HighLevel (the HighLevel Contacts API v2) and M360 (the Marketing
// 360 API), each served from its spec through the same pipeline (journal,
// faults, authentication, rate limits, validation, handlers) on its own
// listener, on one in-memory state, with one admin API. Options configure
// each twin under its name, and what both share at the top.
package mock

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/internal/uuid"
	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/gctune"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/m360"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/openapi"
)

// Server serves the two twins, HighLevel and Marketing 360, on one state.
type Server struct {
	HighLevel *Twin
	M360      *Twin

	opts     Options
	clock    clock.Clock
	store    *store.Store
	tokens   *auth.Registry
	limiter  *limits.Limiter
	faults   *faults.Injector
	journal  *journal.Journal
	log      *slog.Logger
	defaults Defaults
	initial  store.State

	keys     *auth.KeyRing
	leaky    *limits.Leaky
	early    *earlyState // the state file, decoding since start (seedData takes it)
	resetMu  sync.Mutex  // one reset at a time
	webhooks *webhooks.Dispatcher
	emitter  *emitter
	admin    *admin.API
	// self is the twin's own listeners, which no webhook may target.
	self *webhooks.Self

	listeners []*listener
	closeMu   sync.Mutex // guards closed
	closed    bool
}

// The hosts of the twins' URLs without a listener (Options.NoListener).
const (
	inProcessHighLevel = "highlevel.twin"
	inProcessM360      = "m360.twin"
)

// NewServer builds a twin and, unless opts.NoListener, starts serving it.
func NewServer(opts Options) (*Server, error) {
	ctx := context.Background()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := opts.validate(); err != nil {
		return nil, err
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
	// most of start-up. The goroutine ends on its own (decodeEarly).
	var early *earlyState
	if opts.StateFile != "" {
		defer paceLargeLoad(opts.StateFile)()
		early = decodeEarly(opts.StateFile)
	}
	// The three specs load at once.
	var spec, adminSpec, m360Spec *openapi.Spec
	var specErrs [3]error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); spec, specErrs[0] = openapi.LoadHighLevel(ctx, opts.HighLevel.Spec) }()
	go func() { defer wg.Done(); adminSpec, specErrs[1] = openapi.LoadAdmin(ctx) }()
	go func() { defer wg.Done(); m360Spec, specErrs[2] = openapi.LoadMarketing360(ctx, opts.M360.Spec) }()
	wg.Wait()
	if err := errors.Join(specErrs[:]...); err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	ids := store.NewIDs(seed)
	s := &Server{
		HighLevel: &Twin{spec: spec},
		M360:      &Twin{spec: m360Spec},
		opts:      opts,
		clock:     clk,
		store:     store.New(clk, ids),
		tokens:    auth.NewRegistry(clk),
		keys:      auth.NewKeyRing(),
		early:     early,
		log:       opts.Logger.With(logkey.Component, "mock"),
		self:      ownListeners(opts),
	}
	s.tokens.Secrets = ids.Token
	s.tokens.KnownLocation = func(id string) bool {
		_, err := s.store.Location(id)
		return err == nil
	}
	large, err := s.seedData(ids)
	if err != nil {
		return nil, err
	}
	limitCfg := limits.Config{}
	if opts.HighLevel.Limits != nil {
		limitCfg = *opts.HighLevel.Limits
	}
	if s.limiter, err = limits.New(clk, limitCfg); err != nil {
		return nil, fmt.Errorf("mock: limits: %w", err)
	}
	leakyCfg := limits.LeakyConfig{}
	if opts.M360.Limits != nil {
		leakyCfg = *opts.M360.Limits
	}
	if s.leaky, err = limits.NewLeaky(clk, leakyCfg); err != nil {
		return nil, fmt.Errorf("mock: marketing 360 limits: %w", err)
	}
	s.faults = faults.New(faults.Options{Seed: seed, LocationOf: s.locationOf, Logger: opts.Logger,
		KnownOperation: func(id string) bool {
			_, hl := spec.Operation(id)
			_, m := m360Spec.Operation(id)
			return hl || m
		}})
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

	api := &highlevel.API{Store: s.store, OAuth: s.tokens, TraceID: func() string { return uuid.Format(ids.Token(32)) },
		BaseURL: s.HighLevel.URL, ListProjection: opts.HighLevel.ListProjection}
	hl, err := pipeline.New(pipeline.Config{
		Spec:              spec,
		Handlers:          api.Handlers(),
		Auth:              s.tokens,
		RenderError:       highlevel.RenderError,
		MapError:          highlevel.MapError,
		Strict:            opts.Strict,
		ScopeDeniedStatus: opts.HighLevel.Auth.ScopeDeniedStatus,
		Outer:             []pipeline.Middleware{s.journal.Middleware(), accessLog(s.log), s.faults.Middleware()},
		Inner:             []pipeline.Middleware{s.limiter.Middleware()},
		Logger:            opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: %w", err))
	}
	checkRecord, err := recordCheck(spec, m360Spec, s.self)
	if err != nil {
		return nil, s.fail(err)
	}
	adminAPI := &admin.API{Store: s.store, Tokens: s.tokens, Limits: s.limiter, Faults: s.faults, Webhooks: s.webhooks, Events: s.emitter,
		CheckApp: func(a auth.App) error { return checkWebhookApp(a, spec, s.self) },
		Journal:  s.journal, Clock: clk, Reset: s.reset, Spec: openapi.Admin(),
		M360Keys: s.keys, M360Limits: s.leaky, Secret: ids.Token,
		DefaultLocation: s.defaults.HighLevel.Location.ID, DefaultM360Account: s.defaults.M360.Account.ID,
		M360AccountExists: func(id int64) bool {
			_, err := s.store.M360Account(id)
			return err == nil
		},
		MaxImportBytes: opts.Admin.MaxImportBytes, Records: s.store, CheckRecord: checkRecord}
	s.admin = adminAPI
	adm, err := pipeline.New(pipeline.Config{
		Spec:        adminSpec,
		Handlers:    adminAPI.Handlers(),
		Auth:        admin.TokenAuth{Token: opts.Admin.Token},
		RenderError: admin.RenderError,
		MapError:    admin.MapError,
		Strict:      opts.Strict,
		Outer:       []pipeline.Middleware{admin.Guard(adminGuard(opts)), accessLog(s.log)},
		Streamed:    adminAPI.Streamed(),
		Logger:      opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: admin: %w", err))
	}
	m360API := &m360.API{Store: s.store, Secret: func() string { return "whsec_" + ids.Token(32) }, CheckURL: s.self.Check}
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
			s.leaky.Preset(), pipeline.RequireContentLength()},
		Inner:  []pipeline.Middleware{s.leaky.Middleware()},
		Logger: opts.Logger,
	})
	if err != nil {
		return nil, s.fail(fmt.Errorf("mock: marketing 360: %w", err))
	}
	s.HighLevel.handler, s.M360.handler = withAdmin(adm, spec, hl), withAdmin(adm, m360Spec, mp)
	if opts.NoListener {
		s.HighLevel.url, s.M360.url = "http://"+inProcessHighLevel, "http://"+inProcessM360
		t := handlerTransport{inProcessHighLevel: s.HighLevel.handler, inProcessM360: s.M360.handler}
		s.HighLevel.inProcess, s.M360.inProcess = t, t
		releaseStartup(s, large)
		return s, nil
	}
	for _, l := range []struct {
		addr string
		twin *Twin
	}{{opts.HighLevel.Addr, s.HighLevel}, {opts.M360.Addr, s.M360}} {
		ln, err := s.serve(l.addr, l.twin)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.listeners = append(s.listeners, ln)
		s.self.Listen(ln.url)
	}
	releaseStartup(s, large)
	return s, nil
}

// releaseStartup gives back to the OS what start-up left (the specs'
// loads, the state's decoding, the data's generation): in a process tuned
// for serving (gctune.Serving) always, otherwise a large state file's only
// (a test starts many small twins, each not worth a collection). NewServer
// calls it once the twins' listeners serve: a start-up is over when the
// twin answers, and the release is a full collection (at 100,000 contacts
// and 400,000 tasks and notes, ~0.25 s of the start-up's wall time when it
// came before the listeners). It runs on NewServer's goroutine rather than
// one of its own, which left the idle twin (1,000 contacts) 1.3 MB more
// resident (48.9 against 47.6 MB, five starts each). A variable for tests,
// which are given the twin that serves.
var releaseStartup = func(_ *Server, large bool) {
	if !gctune.Serving() && large {
		debug.FreeOSMemory()
	}
}

// adminGuard says whom the admin API answers: loopback clients at loopback
// names, the hosts of the configured addresses and the in-process twins' (or
// anyone, with Admin.Remote).
func adminGuard(opts Options) admin.GuardOptions {
	g := admin.GuardOptions{AllowRemote: opts.Admin.Remote}
	if opts.NoListener {
		g.Hosts = append(g.Hosts, inProcessHighLevel, inProcessM360)
	}
	for _, addr := range []string{opts.HighLevel.Addr, opts.M360.Addr} {
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
			g.Hosts = append(g.Hosts, host)
		}
	}
	return g
}

// fail stops what NewServer started before err, and returns err.
func (s *Server) fail(err error) error {
	s.Close()
	return err
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

// Store returns the twins' state.
func (s *Server) Store() *store.Store { return s.store }

// Defaults returns the location, token, app, account and key made at start.
func (s *Server) Defaults() Defaults { return s.defaults }

// Webhooks returns the twins' webhook dispatcher: its delivery log, keys
// and settings.
func (s *Server) Webhooks() *webhooks.Dispatcher { return s.webhooks }

// AttachSync makes v the sync the dashboard's Sync panel shows (GET
// /__admin/sync/status and /__admin/sync/differences); nil detaches it.
func (s *Server) AttachSync(v admin.SyncView) { s.admin.AttachSync(v) }

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
	if s.admin != nil {
		s.admin.Close() // the request streams, which shutdown would wait for
	}
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
		validate = validator(s.HighLevel.spec, s.M360.spec)
	}
	s.webhooks, err = webhooks.New(webhooks.Options{Clock: s.clock, Keys: keys, Settings: o.Settings,
		Workers: o.Workers, LogSize: o.LogSize, Seed: seed, Spool: o.Spool, Validate: validate, Observe: o.Observe,
		Self: s.self, Logger: s.opts.Logger})
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	s.emitter = &emitter{dispatcher: s.webhooks, keys: keys, apps: s.tokens, store: s.store, hl: s.HighLevel.spec,
		ids: store.NewIDs(seed ^ 0x77656268_6f6f6b73), log: s.opts.Logger.With(logkey.Component, "webhooks")}
	s.emitter.SetEventOptions(o.EventOptions)
	s.emitter.start()
	return nil
}

// ownListeners is what the twin knows of its own listeners before they
// listen: the configured addresses (an ephemeral port is added once it is
// known) and the in-process hosts.
func ownListeners(opts Options) *webhooks.Self {
	self := &webhooks.Self{}
	for _, addr := range []string{opts.HighLevel.Addr, opts.M360.Addr} {
		if addr != "" {
			self.Listen("http://" + addr)
		}
	}
	self.Listen("http://" + inProcessHighLevel)
	self.Listen("http://" + inProcessM360)
	return self
}

// accessLog logs each request at debug level, without its headers.
func accessLog(log *slog.Logger) pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			next.ServeHTTP(w, r)
			// Asked first: the arguments cost allocations even unlogged.
			if !log.Enabled(r.Context(), slog.LevelDebug) {
				return
			}
			x := pipeline.ExchangeFrom(r.Context())
			log.DebugContext(r.Context(), "request", logkey.Method, r.Method, logkey.Path, r.URL.Path,
				logkey.Operation, x.OperationID(), logkey.Status, x.Status, logkey.Duration, time.Since(start))
		})
	}
}

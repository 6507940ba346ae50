// Package run wires the sync into one running service: the state
// database, the webhook receiver on loopback, the work queue and its
// converge workers, over clients of both APIs. `contactbridge sync run`
// and `contactbridge up` start it.
package run

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/receiver"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Defaults of Config.
const (
	// DefaultListen is the receiver's address by default.
	DefaultListen = "127.0.0.1:8790"
	// DefaultReconcileEvery is how often each stream is polled for the
	// changes webhooks missed.
	DefaultReconcileEvery = 5 * time.Minute
)

// ErrInvalidConfig is wrapped by every error a bad Config gives.
var ErrInvalidConfig = errors.New("run: invalid config")

// HighLevel is the HighLevel connection: a Private Integration Token of
// one location, or an OAuth app's tokens of it, and the key its webhooks
// are signed with.
type HighLevel struct {
	BaseURL  string // "" means the live API
	Token    string
	Location string
	// OAuth and Tokens, when Token is "", authorize with the location's
	// OAuth tokens in Tokens (connect's credentials file), refreshed there.
	OAuth  *oauth2.Config
	Tokens transport.TokenStore
	// WebhookKey is the PEM public key (Ed25519) of x-ghl-signature.
	WebhookKey string
	// Calendars are the location's calendars whose appointments reconcile
	// polls (GET /calendars/events lists one calendar's); none: the
	// appointments come by webhook only.
	Calendars []string
}

// M360 is the Marketing 360 connection: an API key, and the secrets of
// its webhook subscriptions.
type M360 struct {
	BaseURL                string // "" means the live API
	ClientID, ClientSecret string
	// AccountID is the key's account ("": asked for with GET /v1/account
	// at start).
	AccountID      string
	WebhookSecrets []string
	// SubscribeWebhooks subscribes the account's webhooks (every event)
	// to the receiver at each start and accepts their secret: for twins
	// that start afresh (up). A live account is subscribed once, and its
	// secret given in WebhookSecrets.
	SubscribeWebhooks bool
}

// Config configures the sync. Zero fields take defaults.
type Config struct {
	// DB is the state database's file.
	DB string
	// Listen is the receiver's address (DefaultListen when "").
	Listen    string
	HighLevel HighLevel
	M360      M360
	Flows     engine.Flows
	// Rules are the user rules (nil: none; sync/rules makes them from
	// the rule files). Their actions' requests go through the same
	// transports as the clients' (auth, quota, 429 pacing, retries).
	Rules engine.Rules
	// Queue tunes the work queue (its Workers and Periodic are set here).
	Queue engine.Config
	// StaleAfter is how long an effect may be inflight before a worker
	// takes it for a crashed try (0: engine.DefaultStaleAfter). It may not
	// be shorter than the queue's JobTimeout, which bounds a job's calls:
	// a call could otherwise still be in flight when another worker takes
	// its effect over, and create the record a second time.
	StaleAfter time.Duration
	// ReconcileEvery is how often each stream is polled (0:
	// DefaultReconcileEvery; negative: never).
	ReconcileEvery time.Duration
	// Poll tunes the poller (its DB, Queue, Streams and Logger are set
	// here).
	Poll engine.PollerConfig
	// Base sends the API requests. nil: Start sends them on a transport of
	// its own, transport.Pooled with an idle connection to each API for
	// each of the queue's workers; Clients on http.DefaultTransport.
	Base   http.RoundTripper
	Clock  transport.Clock // nil: the system clock
	Logger *slog.Logger
	// metrics count the API requests; set by clients.
	metrics *metrics
	// hlHTTP and m360HTTP are the transports of the clients, for the
	// rules' requests; set by clients.
	hlHTTP, m360HTTP *http.Client
}

// Clients are the clients of both APIs that the sync with cfg uses.
func Clients(cfg Config) (*highlevelapi.ClientWithResponses, *m360api.ClientWithResponses, error) {
	_, hl, m, _, err := cfg.clients()
	return hl, m, err
}

// clients fills cfg's defaults, checks it and makes the clients of both
// APIs and the HighLevel webhook key.
func (cfg Config) clients() (Config, *highlevelapi.ClientWithResponses, *m360api.ClientWithResponses, ed25519.PublicKey, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = transport.SystemClock{}
	}
	if cfg.metrics == nil {
		cfg.metrics = newMetrics()
	}
	hlAuth := cfg.HighLevel.auth(cfg.Base, cfg.Clock)
	if cfg.DB == "" || hlAuth == nil || cfg.HighLevel.Location == "" || cfg.M360.ClientID == "" {
		return cfg, nil, nil, nil, fmt.Errorf("%w: the database, a HighLevel token (or OAuth app and tokens) and location and a Marketing 360 key are needed", ErrInvalidConfig)
	}
	stale, job := cmp.Or(cfg.StaleAfter, engine.DefaultStaleAfter), cmp.Or(cfg.Queue.JobTimeout, engine.DefaultJobTimeout)
	if cfg.StaleAfter < 0 || stale < job {
		return cfg, nil, nil, nil, fmt.Errorf("%w: StaleAfter (%s) must be positive and at least the queue's JobTimeout (%s): an effect's call may last as long as its job, and one taken over while still in flight could be made twice",
			ErrInvalidConfig, stale, job)
	}
	var hlKey ed25519.PublicKey
	if cfg.HighLevel.WebhookKey != "" {
		k, err := receiver.ParsePublicKey(cfg.HighLevel.WebhookKey)
		ek, ok := k.(ed25519.PublicKey)
		if err != nil || !ok {
			return cfg, nil, nil, nil, fmt.Errorf("%w: the HighLevel webhook key is not an Ed25519 PEM public key (%v)", ErrInvalidConfig, err)
		}
		hlKey = ek
	}
	hlStack := transport.New(transport.Config{Auth: hlAuth,
		Clock: cfg.Clock, Logger: cfg.Logger, Base: cfg.apiBase(engine.SideHighLevel)})
	cfg.hlHTTP = hlStack.Client()
	hl, err := highlevelapi.New(cfg.HighLevel.BaseURL, cfg.hlHTTP)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	mStack := transport.New(transport.Config{Auth: &transport.Basic{ClientID: cfg.M360.ClientID, ClientSecret: cfg.M360.ClientSecret},
		Clock: cfg.Clock, Logger: cfg.Logger, Base: cfg.apiBase(engine.SideM360)})
	cfg.m360HTTP = mStack.Client()
	m, err := m360api.New(cfg.M360.BaseURL, cfg.m360HTTP)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	return cfg, hl, m, hlKey, nil
}

// auth is the connection's authorizing layer; nil without a token or
// OAuth app.
func (h HighLevel) auth(base http.RoundTripper, clock transport.Clock) transport.Auth {
	switch {
	case h.Token != "":
		return &transport.Bearer{Token: h.Token, Location: h.Location}
	case h.OAuth != nil && h.Tokens != nil:
		return &transport.OAuth{Config: h.OAuth, Store: h.Tokens, Key: h.Location, Clock: clock,
			TokenClient: &http.Client{Transport: cmp.Or(base, http.DefaultTransport)}}
	}
	return nil
}

// Sync is the running sync.
type Sync struct {
	db      *state.DB
	queue   *engine.River
	poller  *engine.Poller
	metrics *metrics
	rcv     *receiver.Receiver
	ln      net.Listener
	srv     *http.Server
	// served is the receiver's Serve outcome.
	served chan error
	// stopRecording ends the writer of the 429 counts, recorded once it
	// returned.
	stopRecording context.CancelFunc
	recorded      chan struct{}
	clock         transport.Clock
	// pooled sends the API requests when the Config named no Base (nil
	// otherwise); its idle connections are closed with the sync.
	pooled *http.Transport
	log    *slog.Logger
	// stopWork stops the queue once, with stopWorkErr its outcome.
	stopWork    sync.Once
	stopWorkErr error
}

// Start opens the database, starts the queue's workers and the receiver,
// and returns the running sync; Close stops it.
func Start(ctx context.Context, cfg Config) (_ *Sync, err error) {
	var pooled *http.Transport
	if cfg.Base == nil {
		// A connection to each API for each job under way.
		pooled = transport.Pooled(cfg.Queue.RunsAtOnce())
		cfg.Base = pooled
		defer func() {
			if err != nil {
				pooled.CloseIdleConnections()
			}
		}()
	}
	cfg, hl, m, hlKey, err := cfg.clients()
	if err != nil {
		return nil, err
	}
	if cfg.M360.AccountID == "" {
		acct, err := m360api.OK(m.M360GetAccountWithResponse(ctx))
		if err != nil {
			return nil, fmt.Errorf("run: the Marketing 360 key's account: %w", err)
		}
		cfg.M360.AccountID = strconv.FormatInt(acct.JSON200.Result.Id, 10)
	}
	db, err := state.Open(ctx, cfg.DB, state.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s := &Sync{db: db, served: make(chan error, 1), metrics: cfg.metrics, recorded: make(chan struct{}), clock: cfg.Clock,
		pooled: pooled, log: cfg.Logger.With(logkey.Component, "sync")}
	if err := s.start(ctx, cfg, hl, m, hlKey); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRecording = stop
	go func() {
		defer close(s.recorded)
		s.metrics.rateLimited.run(rctx, s.db, s.clock.Now, s.log)
	}()
	return s, nil
}

// start starts the queue and the receiver on s.db.
func (s *Sync) start(ctx context.Context, cfg Config, hl *highlevelapi.ClientWithResponses, m *m360api.ClientWithResponses, hlKey ed25519.PublicKey) error {
	conv, err := engine.NewConverger(engine.ConvergerConfig{DB: s.db, HighLevel: engine.HighLevelClient(hl),
		M360: engine.M360Client(m), Location: cfg.HighLevel.Location, Flows: cfg.Flows, StaleAfter: cfg.StaleAfter,
		Rules:         cfg.Rules,
		HighLevelHTTP: engine.Requester{BaseURL: cmp.Or(cfg.HighLevel.BaseURL, highlevelapi.DefaultServer), Client: cfg.hlHTTP},
		M360HTTP:      engine.Requester{BaseURL: cmp.Or(cfg.M360.BaseURL, m360api.DefaultServer), Client: cfg.m360HTTP},
		Now:           cfg.Clock.Now, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	// The poller is made before the working queue, which works its jobs,
	// and enqueues through it once it is made: a job enqueued through the
	// queue that works it is fetched at once, not at the next poll.
	enqueuer := &laterQueue{}
	pc := cfg.Poll
	pc.DB, pc.Queue, pc.Logger = s.db, enqueuer, cfg.Logger
	if pc.Now == nil {
		pc.Now = cfg.Clock.Now
	}
	pc.Streams = []engine.Stream{engine.HighLevelContacts(hl, cfg.HighLevel.Location)}
	if len(cfg.HighLevel.Calendars) > 0 {
		pc.Streams = append(pc.Streams, engine.HighLevelAppointments(hl, cfg.HighLevel.Location, cfg.HighLevel.Calendars, pc.Now))
	}
	pc.Streams = append(pc.Streams, engine.M360Streams(m, cfg.M360.AccountID)...)
	if s.poller, err = engine.NewPoller(pc); err != nil {
		return err
	}
	qc := cfg.Queue
	qc.Workers = []engine.Worker{s.metrics.timed(conv.Worker()), s.poller.Worker()}
	switch {
	case cfg.ReconcileEvery == 0:
		qc.Periodic = s.poller.Periodic(DefaultReconcileEvery)
	case cfg.ReconcileEvery > 0:
		qc.Periodic = s.poller.Periodic(cfg.ReconcileEvery)
	}
	if s.queue, err = engine.NewRiver(ctx, s.db, qc, cfg.Logger); err != nil {
		return err
	}
	enqueuer.q = s.queue
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("run: listen: %w", err)
	}
	if err := s.serve(ctx, cfg, m, hlKey); err != nil {
		return errors.Join(err, s.ln.Close())
	}
	return nil
}

// laterQueue enqueues through q, set before the queue starts (nothing
// enqueues earlier).
type laterQueue struct{ q *engine.River }

func (l *laterQueue) Enqueue(ctx context.Context, tx *state.Tx, args engine.Args) (engine.Enqueued, error) {
	return l.q.Enqueue(ctx, tx, args)
}

func (l *laterQueue) EnqueueMany(ctx context.Context, tx *state.Tx, jobs []engine.Args) error {
	return l.q.EnqueueMany(ctx, tx, jobs)
}

// serve subscribes the Marketing 360 webhooks when asked, starts the
// queue and serves the receiver and the metrics on s.ln.
func (s *Sync) serve(ctx context.Context, cfg Config, m *m360api.ClientWithResponses, hlKey ed25519.PublicKey) error {
	secrets := cfg.M360.WebhookSecrets
	if cfg.M360.SubscribeWebhooks {
		res, err := m360api.OK(m.M360CreateWebhookWithResponse(ctx, m360api.WebhookInput{Url: s.URL() + receiver.PathM360,
			Events: []m360api.WebhookEvent{m360api.ContactCreated, m360api.ContactUpdated, m360api.ContactDeleted,
				m360api.TaskCreated, m360api.TaskUpdated, m360api.TaskCompleted, m360api.TaskDeleted, m360api.NoteCreated, m360api.EventCreated}}))
		if err != nil {
			return fmt.Errorf("run: subscribe the Marketing 360 webhooks: %w", err)
		}
		secrets = append(slices.Clip(secrets), res.JSON201.Result.Secret)
	}
	mux := http.NewServeMux()
	if hlKey != nil || len(secrets) > 0 {
		var err error
		if s.rcv, err = receiver.New(receiver.Config{DB: s.db, Queue: s.queue, HighLevelKey: hlKey,
			M360Secrets: secrets, Now: cfg.Clock.Now, Logger: cfg.Logger}); err != nil {
			return err
		}
		mux.Handle("/", s.rcv.Handler())
	} else {
		s.log.WarnContext(ctx, "no webhook key or secret: no webhooks are taken, the reconcile alone finds the changes")
	}
	if err := s.queue.Start(ctx); err != nil {
		return err
	}
	s.metrics.register(s)
	mux.Handle(PathMetrics, s.metrics.handler(s.log))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.srv.Serve(s.ln) }()
	s.log.InfoContext(ctx, "sync running", logkey.URL, s.URL())
	return nil
}

// Addr is the receiver's address (host:port).
func (s *Sync) Addr() string { return s.ln.Addr().String() }

// URL is the receiver's base URL; the webhook endpoints are under it at
// receiver.PathHighLevel and receiver.PathM360.
func (s *Sync) URL() string { return "http://" + s.Addr() }

// Poller returns the poller: its streams, Backfill.
func (s *Sync) Poller() *engine.Poller { return s.poller }

// recordWait bounds the recording of the last 429s at Close.
const recordWait = 5 * time.Second

// drainTick is how often Drain looks whether the jobs are done.
const drainTick = 100 * time.Millisecond

// Drain waits until no converge job waits or runs (a job that failed waits
// for its retry), or until ctx ends.
func (s *Sync) Drain(ctx context.Context) error {
	tick := time.NewTicker(drainTick)
	defer tick.Stop()
	for {
		waiting, err := engine.Waiting(ctx, s.db, engine.KindConverge)
		if err != nil {
			return err
		}
		if !waiting {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("run: drain: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// DB returns the sync's database.
func (s *Sync) DB() *state.DB { return s.db }

// Queue returns the work queue, for its jobs.
func (s *Sync) Queue() *engine.River { return s.queue }

// Receiver returns the receiver, for its counters; nil when the sync has
// no webhook key or secret (it takes no webhooks then).
func (s *Sync) Receiver() *receiver.Receiver { return s.rcv }

// StopWork stops the queue's workers: the running jobs finish until ctx
// ends (then they are cancelled and tried again at the next start). The
// receiver goes on answering: a webhook that comes meanwhile is stored
// with its job, worked at the next start. Close calls it; a caller that
// must still let webhooks in once no job runs (up: the twins' last
// deliveries, made by the sync's last writes) calls it first.
func (s *Sync) StopWork(ctx context.Context) error {
	s.stopWork.Do(func() { s.stopWorkErr = s.queue.Stop(ctx) })
	return s.stopWorkErr
}

// Close stops the work (StopWork), then stops accepting webhooks (the ones
// being stored finish), records the 429s counted last and closes the
// database. No job is lost: each is in the database until it completes;
// and the receiver answers until the last job has stopped, so the webhooks
// of the sync's last writes are stored, not refused.
func (s *Sync) Close(ctx context.Context) error {
	errStop := s.StopWork(ctx)
	errShutdown := s.srv.Shutdown(ctx)
	if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
		errShutdown = errors.Join(errShutdown, err)
	}
	if s.pooled != nil {
		s.pooled.CloseIdleConnections()
	}
	s.stopRecording()
	<-s.recorded
	// The last 429s are recorded even when ctx has ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordWait)
	defer cancel()
	errs := errors.Join(errShutdown, errStop, s.metrics.rateLimited.flush(fctx, s.db, s.clock.Now()), s.db.Close())
	if errs != nil {
		return fmt.Errorf("run: close: %w", errs)
	}
	return nil
}

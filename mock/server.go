// Package mock assembles the contactbridge twins: a server that serves the
// HighLevel Contacts API v2 from its spec, on in-memory state, through one
// pipeline of authentication, validation and handlers.
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
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// Options configure a Server. The zero value serves the embedded spec on a
// free loopback port with one default location and token.
type Options struct {
	// Addr is the address to listen on; "" means 127.0.0.1:0.
	Addr string
	// NoListener builds the handler without listening; use Handler or Client.
	NoListener bool
	// Seed makes ids reproducible; 0 picks a random seed.
	Seed uint64
	// Clock gives the time; nil means the system clock.
	Clock clock.Clock
	// SpecPath overrides the embedded HighLevel spec.
	SpecPath string
	// Strict validates every response against the spec (500 on drift).
	Strict bool
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running twin.
type Server struct {
	spec     *openapi.Spec
	store    *store.Store
	tokens   *auth.Registry
	handler  http.Handler
	log      *slog.Logger
	location store.Location
	token    string

	url      string
	srv      *http.Server
	serveErr chan error
	closeMu  sync.Mutex // guards closed
	closed   bool
}

// NewServer builds a twin and, unless opts.NoListener, starts serving it.
func NewServer(opts Options) (*Server, error) {
	ctx := context.Background()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	spec, err := openapi.LoadHighLevel(ctx, opts.SpecPath)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	ids := store.NewIDs(seed)
	s := &Server{
		spec:   spec,
		store:  store.New(opts.Clock, ids),
		tokens: auth.NewRegistry(opts.Clock),
		log:    opts.Logger.With("component", "mock"),
	}
	s.location = defaultLocation(ids)
	s.store.PutLocation(s.location)
	s.token = "pit-" + uuid(ids)
	s.tokens.Add(s.token, auth.Principal{Kind: auth.PrivateIntegration, AppID: "pit-" + ids.New(), LocationID: s.location.ID, Scopes: SpecScopes(spec)})

	api := &highlevel.API{Store: s.store, TraceID: func() string { return uuid(ids) }}
	p, err := pipeline.New(pipeline.Config{
		Spec:        spec,
		Handlers:    api.Handlers(),
		Auth:        s.tokens,
		RenderError: highlevel.RenderError,
		Strict:      opts.Strict,
		Outer:       []pipeline.Middleware{accessLog(s.log)},
		Logger:      opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	s.handler = p
	if opts.NoListener {
		s.url = "http://highlevel.twin"
		return s, nil
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)}
	s.serveErr = make(chan error, 1)
	go func() { s.serveErr <- s.srv.Serve(ln) }()
	return s, nil
}

// Handler returns the twin's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// URL returns the twin's base URL.
func (s *Server) URL() string { return s.url }

// Client returns an HTTP client for the twin; without a listener it calls the
// handler in process.
func (s *Server) Client() *http.Client {
	if s.srv != nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return &http.Client{Transport: handlerTransport{s.handler}}
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

// AddToken registers a token for a principal.
func (s *Server) AddToken(token string, p auth.Principal) { s.tokens.Add(token, p) }

// Close stops serving, waiting up to five seconds for requests in flight.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed || s.srv == nil {
		s.closed = true
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.serveErr; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("mock: close: %w", err)
	}
	return nil
}

// SpecScopes lists every scope an operation of spec requires.
func SpecScopes(spec *openapi.Spec) []string {
	var scopes []string
	for _, op := range spec.Operations() {
		for _, sc := range op.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	slices.Sort(scopes)
	return scopes
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
				"operation", x.Route.Operation.ID, "status", x.Status, "duration", time.Since(start))
		})
	}
}

// handlerTransport serves requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

package transport

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
)

// DefaultTimeout bounds each attempt of a request.
const DefaultTimeout = 30 * time.Second

// Auth is a layer that authorizes requests: *OAuth, *Bearer or *Basic.
type Auth interface {
	http.RoundTripper
	setBase(http.RoundTripper)
}

func (a *OAuth) setBase(rt http.RoundTripper)  { a.Base = rt }
func (b *Bearer) setBase(rt http.RoundTripper) { b.Base = rt }
func (b *Basic) setBase(rt http.RoundTripper)  { b.Base = rt }

// Config configures a Stack. The zero value is a stack without auth and
// validation over http.DefaultTransport.
type Config struct {
	// Auth authorizes the requests; New sets its Base. nil means none.
	Auth Auth
	// Specs validate the requests and answers, and tell which operations
	// are idempotent; nil means no validation, idempotency by method.
	Specs []*openapi.Spec
	// Strict makes a drift from the spec the call's error (tests), and
	// validates every exchange.
	Strict bool
	// ValidateEvery is, when not Strict, how many exchanges of an
	// operation make one validated; 0 means DefaultValidateEvery, 1 all.
	ValidateEvery int
	// Limiter paces the requests; share one between the stacks of a
	// process. nil means a Limiter of the stack's own with Clock.
	Limiter *Limiter
	// MaxAttempts, MaxWait and Backoff are Retry's.
	MaxAttempts int
	MaxWait     time.Duration
	Backoff     func(n int, res *http.Response, now time.Time) time.Duration
	// Timeout bounds each attempt; 0 means DefaultTimeout, negative none.
	Timeout time.Duration
	// UserAgent is the User-Agent header; "" means DefaultUserAgent().
	UserAgent string
	Logger    *slog.Logger
	Clock     Clock
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// Stack is the whole client stack:
//
//	UserAgent -> Auth -> Validate -> Retry -> Limiter -> Log -> Timeout -> Base
type Stack struct {
	http.RoundTripper
	// Validate is the validating layer; nil without Specs.
	Validate *Validate
	Limiter  *Limiter
}

// New builds a stack from cfg.
func New(cfg Config) *Stack {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var rt http.RoundTripper = &Timeout{Timeout: timeout, Base: cfg.Base}
	rt = &Log{Logger: cfg.Logger, Clock: cfg.Clock, Base: rt}
	lim := cfg.Limiter
	if lim == nil {
		lim = &Limiter{Clock: cfg.Clock}
	}
	rt = &limited{limiter: lim, base: rt}
	retry := &Retry{Base: rt, Clock: cfg.Clock, MaxAttempts: cfg.MaxAttempts, MaxWait: cfg.MaxWait, Backoff: cfg.Backoff}
	if len(cfg.Specs) > 0 {
		retry.Idempotent = SpecIdempotent(cfg.Specs...)
	}
	rt = retry
	s := &Stack{Limiter: lim}
	if len(cfg.Specs) > 0 {
		s.Validate = &Validate{Base: rt, Specs: cfg.Specs, Strict: cfg.Strict, Every: cmp.Or(cfg.ValidateEvery, DefaultValidateEvery), Logger: cfg.Logger}
		rt = s.Validate
	}
	if cfg.Auth != nil {
		cfg.Auth.setBase(rt)
		rt = cfg.Auth
	}
	agent := cfg.UserAgent
	if agent == "" {
		agent = DefaultUserAgent()
	}
	s.RoundTripper = &UserAgent{Agent: agent, Base: rt}
	return s
}

// Client returns an HTTP client over the stack.
func (s *Stack) Client() *http.Client { return &http.Client{Transport: s} }

// limited sends through a shared Limiter onto this stack's base, without
// changing the Limiter's own Base.
type limited struct {
	limiter *Limiter
	base    http.RoundTripper
}

func (l *limited) RoundTrip(req *http.Request) (*http.Response, error) {
	return l.limiter.send(req, l.base)
}

package limits

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// Headers of the leaky bucket, as Marketing 360 names them.
const (
	HeaderLeakyLimit     = "X-Rate-Limit-Limit"
	HeaderLeakyRemaining = "X-Rate-Limit-Remaining"
	HeaderLeakyReset     = "X-Rate-Limit-Reset"
)

// LeakyConfig sets a leaky bucket per API key: it holds Capacity requests and
// drains PerSecond of them every second (Marketing 360: 5 and 5).
type LeakyConfig struct {
	Enabled    bool    `json:"enabled" yaml:"enabled"`
	PerSecond  float64 `json:"perSecond" yaml:"perSecond"`
	Capacity   int     `json:"capacity" yaml:"capacity"`
	RetryAfter bool    `json:"retryAfter" yaml:"retryAfter"`
}

// minPerSecond is the slowest drain: one request every 1000 s. Slower ones
// would put the reset time past what a header can say.
const minPerSecond = 0.001

// maxLeaky bounds the rate and the capacity: a full bucket at the slowest
// drain then empties in under 32 years, a time a header can still say.
const maxLeaky = 1_000_000

// DefaultLeakyConfig is Marketing 360's: 5 requests per second per key.
func DefaultLeakyConfig() LeakyConfig {
	return LeakyConfig{Enabled: true, PerSecond: 5, Capacity: 5, RetryAfter: true}
}

// Validate checks an enabled config; the error wraps ErrInvalidConfig.
func (c LeakyConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if !(c.PerSecond >= minPerSecond && c.PerSecond <= maxLeaky) {
		errs = append(errs, fmt.Errorf("perSecond %v: must be between %v and %v", c.PerSecond, minPerSecond, float64(maxLeaky)))
	}
	if c.Capacity < 1 || c.Capacity > maxLeaky {
		errs = append(errs, fmt.Errorf("capacity %d: must be between 1 and %d", c.Capacity, maxLeaky))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// LeakyDecision is the bucket's answer to one request.
type LeakyDecision struct {
	Allowed bool
	// Limited is false when the bucket is off; no headers are sent then.
	Limited bool
	// Limit is the capacity; Remaining how many more requests fit now.
	Limit, Remaining int
	// Reset is when the bucket will be empty.
	Reset time.Time
	// RetryAfter is, when !Allowed, the wait until one request fits,
	// rounded up to whole seconds and at least one second.
	RetryAfter time.Duration
}

// LeakyStatus is the live level of one key's bucket.
type LeakyStatus struct {
	Key       string    `json:"key"`
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     time.Time `json:"reset"`
}

type drip struct {
	level float64
	at    time.Time
}

// Leaky is a leaky-bucket limiter per key, safe for concurrent use.
type Leaky struct {
	clock clock.Clock

	mu      sync.Mutex // guards cfg and buckets
	cfg     LeakyConfig
	buckets map[string]*drip
}

// NewLeaky returns a leaky-bucket limiter reading the time from clk.
func NewLeaky(clk clock.Clock, cfg LeakyConfig) (*Leaky, error) {
	if clk == nil {
		return nil, errors.New("limits: nil clock")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Leaky{clock: clk, cfg: cfg, buckets: map[string]*drip{}}, nil
}

// Config returns the config in force.
func (l *Leaky) Config() LeakyConfig {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// SetConfig applies cfg at once; levels stay.
func (l *Leaky) SetConfig(cfg LeakyConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg
	return nil
}

// Reset empties every bucket.
func (l *Leaky) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buckets = map[string]*drip{}
}

// drain brings b's level to now. Callers hold mu.
func (l *Leaky) drain(b *drip, now time.Time) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.level = math.Max(0, b.level-elapsed.Seconds()*l.cfg.PerSecond)
		b.at = now
	}
}

// untilLevel is how long the bucket takes to drain from level to target.
func (l *Leaky) untilLevel(level, target float64) time.Duration {
	if level <= target {
		return 0
	}
	return time.Duration((level - target) / l.cfg.PerSecond * float64(time.Second))
}

// Take counts one request of key when it fits; a refused request adds nothing.
func (l *Leaky) Take(key string) LeakyDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cfg.Enabled {
		return LeakyDecision{Allowed: true}
	}
	now := l.clock.Now()
	b, ok := l.buckets[key]
	if !ok {
		b = &drip{at: now}
		l.buckets[key] = b
	}
	l.drain(b, now)
	capacity := float64(l.cfg.Capacity)
	d := LeakyDecision{Limited: true, Limit: l.cfg.Capacity}
	// A small tolerance keeps float drift from refusing a request that fits.
	if b.level+1 <= capacity+1e-9 {
		d.Allowed = true
		b.level++
	} else {
		d.RetryAfter = roundUpSeconds(l.untilLevel(b.level, capacity-1))
	}
	d.Remaining = max(0, int(math.Floor(capacity-b.level+1e-9)))
	d.Reset = now.Add(l.untilLevel(b.level, 0))
	return d
}

// Peek is the level of key's bucket without counting a request (Allowed is
// whether one would fit now). It makes no bucket for a key that has none:
// an empty bucket is reported.
func (l *Leaky) Peek(key string) LeakyDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cfg.Enabled {
		return LeakyDecision{Allowed: true}
	}
	now := l.clock.Now()
	level := 0.0
	if b, ok := l.buckets[key]; ok {
		l.drain(b, now)
		level = b.level
	}
	capacity := float64(l.cfg.Capacity)
	return LeakyDecision{Allowed: level+1 <= capacity+1e-9, Limited: true, Limit: l.cfg.Capacity,
		Remaining: max(0, int(math.Floor(capacity-level+1e-9))), Reset: now.Add(l.untilLevel(level, 0))}
}

// Status lists the buckets that are not empty.
func (l *Leaky) Status() []LeakyStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var out []LeakyStatus
	for k, b := range l.buckets {
		l.drain(b, now)
		if b.level == 0 {
			delete(l.buckets, k)
			continue
		}
		out = append(out, LeakyStatus{Key: k, Limit: l.cfg.Capacity,
			Remaining: max(0, int(math.Floor(float64(l.cfg.Capacity)-b.level+1e-9))), Reset: now.Add(l.untilLevel(b.level, 0))})
	}
	return out
}

// Middleware counts every authenticated request against its principal's
// key (AppID), sets the X-Rate-Limit-* headers, and answers 429 with
// Retry-After, without calling the rest of the chain, when the bucket is full.
func (l *Leaky) Middleware() pipeline.Middleware {
	return middleware(func(p *auth.Principal, h http.Header) verdict {
		d := l.Take(p.AppID)
		setLeakyHeaders(h, d)
		if d.Allowed {
			return verdict{allowed: true}
		}
		return verdict{message: fmt.Sprintf("Rate limit exceeded: the bucket holds %d requests per API key", d.Limit),
			retryAfter: d.RetryAfter, sendRetryAfter: l.Config().RetryAfter}
	})
}

// Preset is the step before authentication: it sets the X-Rate-Limit-*
// headers of the bucket the request's Basic credentials name by client id
// (whether or not the secret is right), without counting the request, so an
// answer refused before the bucket is asked (401, 411) carries them as every
// other does. Middleware replaces them with the counted level once the
// request is authenticated. A request naming no client id reports an empty
// bucket.
func (l *Leaky) Preset() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _, _ := r.BasicAuth()
			setLeakyHeaders(w.Header(), l.Peek(id))
			next.ServeHTTP(w, r)
		})
	}
}

// setLeakyHeaders writes d's X-Rate-Limit-* headers; an unlimited decision
// writes none.
func setLeakyHeaders(h http.Header, d LeakyDecision) {
	if d.Limited {
		h.Set(HeaderLeakyLimit, strconv.Itoa(d.Limit))
		h.Set(HeaderLeakyRemaining, strconv.Itoa(d.Remaining))
		h.Set(HeaderLeakyReset, strconv.FormatInt(ceilUnix(d.Reset), 10))
	}
}

// ceilUnix is t in whole epoch seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Package limits is the twins' rate limiter. It counts requests per app and
// location as the live HighLevel API does: a burst window (100 requests per
// 10 seconds) and a daily quota (200,000), answering 429 Too Many Requests
// over either and telling every response how much is left in X-RateLimit-*
// headers.
//
// Windows are fixed: one begins at the first request counted after the
// previous one ended and lasts exactly Interval. A daily period begins at
// the first request counted after the previous one ended and lasts until the
// next midnight UTC ("utc") or 24 hours ("rolling"). Refused requests count
// nowhere. All time comes from a clock.Clock.
package limits

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// Reasons of a refusal.
const (
	ReasonBurst = "burst"
	ReasonDaily = "daily"
)

// Response headers.
const (
	HeaderMax            = "X-RateLimit-Max"
	HeaderRemaining      = "X-RateLimit-Remaining"
	HeaderInterval       = "X-RateLimit-Interval-Milliseconds"
	HeaderDaily          = "X-RateLimit-Limit-Daily"
	HeaderDailyRemaining = "X-RateLimit-Daily-Remaining"
	HeaderRetryAfter     = "Retry-After"
)

// minSweep is the bucket count below which idle buckets are never swept.
const minSweep = 1024

// Key identifies a set of buckets: limits count per app and per location.
type Key struct{ AppID, LocationID string }

// Decision is the limiter's answer to one request.
type Decision struct {
	// Allowed tells whether the request may proceed; only allowed requests
	// are counted.
	Allowed bool
	// Limited is false when limits are off for the key; the other fields
	// are then zero and no headers are sent.
	Limited bool
	// Max is the burst size; Remaining is what is left of the current burst
	// window after this request.
	Max, Remaining int
	Interval       time.Duration
	// Daily is the daily quota; DailyRemaining is what is left of it after
	// this request.
	Daily, DailyRemaining int
	// RetryAfter is, when !Allowed, the time until a request would succeed,
	// rounded up to whole seconds and at least one second.
	RetryAfter time.Duration
	// Reason is ReasonBurst or ReasonDaily when !Allowed (ReasonDaily when
	// both are exhausted).
	Reason string
}

// BucketStatus describes the live buckets of one key.
type BucketStatus struct {
	AppID      string `json:"appId"`
	LocationID string `json:"locationId"`
	Max        int    `json:"max"`
	Remaining  int    `json:"remaining"`
	// WindowResetsAt is the end of the current burst window; zero when no
	// window is open.
	WindowResetsAt time.Time `json:"windowResetsAt,omitzero"`
	Daily          int       `json:"daily"`
	DailyRemaining int       `json:"dailyRemaining"`
	// DailyResetsAt is the end of the current daily period; zero when no
	// period is open.
	DailyResetsAt time.Time `json:"dailyResetsAt,omitzero"`
}

// bucket holds the counts of one key. A window (period) is open while its
// count is positive and the clock is before its end; the ends are derived
// from the starts and the current config, so a config change applies at once.
type bucket struct {
	windowStart time.Time
	windowCount int
	dayStart    time.Time
	dayCount    int
}

// Limiter counts requests per Key. It is safe for concurrent use; one mutex
// makes every decision exact.
type Limiter struct {
	clock clock.Clock

	mu      sync.Mutex // guards everything below
	cfg     Config
	buckets map[Key]*bucket
	sweepAt int
}

// New returns a limiter that reads the time from clk.
func New(clk clock.Clock, cfg Config) (*Limiter, error) {
	if clk == nil {
		return nil, errors.New("limits: nil clock")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{clock: clk, cfg: cfg.clone(), buckets: map[Key]*bucket{}, sweepAt: minSweep}, nil
}

// Config returns the limiter's config.
func (l *Limiter) Config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.clone()
}

// SetConfig replaces the config at once; buckets keep their counts, and
// their windows end by the new interval and daily reset.
func (l *Limiter) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg.clone()
	return nil
}

// Reset forgets every bucket.
func (l *Limiter) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.buckets)
	l.sweepAt = minSweep
}

// Take counts one request of k, unless it is refused.
func (l *Limiter) Take(k Key) Decision {
	d, _ := l.take(k)
	return d
}

// take is Take, also telling whether Retry-After is to be sent, as decided
// under the same lock.
func (l *Limiter) take(k Key) (Decision, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.cfg.limitFor(k.LocationID)
	if !lim.Enabled {
		return Decision{Allowed: true}, l.cfg.RetryAfter
	}
	// Read the clock under the lock, so that the times the buckets see never
	// go backwards.
	now := l.clock.Now()
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.sweepAt {
			l.sweep(now)
		}
		b = &bucket{}
		l.buckets[k] = b
	}
	interval := lim.Interval.Std()
	windowEnd := b.windowStart.Add(interval)
	if b.windowCount > 0 && !now.Before(windowEnd) {
		b.windowCount = 0
	}
	dayEnd := l.dayEnd(b.dayStart)
	if b.dayCount > 0 && !now.Before(dayEnd) {
		b.dayCount = 0
	}
	d := Decision{Allowed: true, Limited: true, Max: lim.Burst, Interval: interval, Daily: lim.Daily}

	var wait time.Duration
	if b.dayCount >= lim.Daily {
		d.Allowed, d.Reason = false, ReasonDaily
		wait = dayEnd.Sub(now)
	}
	if b.windowCount >= lim.Burst {
		if d.Allowed {
			d.Allowed, d.Reason = false, ReasonBurst
		}
		wait = max(wait, windowEnd.Sub(now))
	}
	if d.Allowed {
		if b.windowCount == 0 {
			b.windowStart = now
		}
		b.windowCount++
		if b.dayCount == 0 {
			b.dayStart = now
		}
		b.dayCount++
	} else {
		d.RetryAfter = roundUpSeconds(wait)
	}
	d.Remaining = max(0, lim.Burst-b.windowCount)
	d.DailyRemaining = max(0, lim.Daily-b.dayCount)
	return d, l.cfg.RetryAfter
}

// dayEnd returns the end of a daily period that began at start.
func (l *Limiter) dayEnd(start time.Time) time.Time {
	if l.cfg.DailyReset == DailyResetRolling {
		return start.Add(24 * time.Hour)
	}
	u := start.UTC()
	return time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
}

// open returns the live window and period of b at now, with their ends;
// a count of zero means the window (period) is closed.
func (l *Limiter) open(b *bucket, lim Limit, now time.Time) (window int, windowEnd time.Time, day int, dayEnd time.Time) {
	windowEnd = b.windowStart.Add(lim.Interval.Std())
	if b.windowCount > 0 && now.Before(windowEnd) {
		window = b.windowCount
	} else {
		windowEnd = time.Time{}
	}
	dayEnd = l.dayEnd(b.dayStart)
	if b.dayCount > 0 && now.Before(dayEnd) {
		day = b.dayCount
	} else {
		dayEnd = time.Time{}
	}
	return window, windowEnd, day, dayEnd
}

// sweep drops the buckets whose window and period are over, and sets the
// size at which to sweep next so that sweeping costs amortized O(1).
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		window, _, day, _ := l.open(b, l.cfg.limitFor(k.LocationID), now)
		if window == 0 && day == 0 {
			delete(l.buckets, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.buckets))
}

// Status returns the live buckets (those with an open window or period, for
// keys whose limits are on), sorted by app then location.
func (l *Limiter) Status() []BucketStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	out := make([]BucketStatus, 0, len(l.buckets))
	for k, b := range l.buckets {
		lim := l.cfg.limitFor(k.LocationID)
		if !lim.Enabled {
			continue
		}
		window, windowEnd, day, dayEnd := l.open(b, lim, now)
		if window == 0 && day == 0 {
			continue
		}
		out = append(out, BucketStatus{
			AppID: k.AppID, LocationID: k.LocationID,
			Max: lim.Burst, Remaining: max(0, lim.Burst-window), WindowResetsAt: windowEnd,
			Daily: lim.Daily, DailyRemaining: max(0, lim.Daily-day), DailyResetsAt: dayEnd,
		})
	}
	slices.SortFunc(out, func(a, b BucketStatus) int {
		return cmp.Or(cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.LocationID, b.LocationID))
	})
	return out
}

// canonicalHeaders are the X-RateLimit-* headers' keys as http.Header
// holds them, in the order Middleware sets them.
var canonicalHeaders = [...]string{http.CanonicalHeaderKey(HeaderMax), http.CanonicalHeaderKey(HeaderRemaining),
	http.CanonicalHeaderKey(HeaderInterval), http.CanonicalHeaderKey(HeaderDaily), http.CanonicalHeaderKey(HeaderDailyRemaining)}

// Middleware counts every authenticated request against its principal's app
// and location, sets the X-RateLimit-* headers on the response, and answers
// 429 Too Many Requests, without calling the rest of the chain, over a
// limit. Operations without security pass through untouched.
func (l *Limiter) Middleware() pipeline.Middleware {
	return middleware(func(p *auth.Principal, h http.Header) verdict {
		d, retryAfter := l.take(Key{AppID: p.AppID, LocationID: p.LocationID})
		if d.Limited {
			// As h.Set would, with the keys canonical already and one
			// allocation for the five values.
			v := []string{strconv.Itoa(d.Max), strconv.Itoa(d.Remaining), strconv.FormatInt(d.Interval.Milliseconds(), 10),
				strconv.Itoa(d.Daily), strconv.Itoa(d.DailyRemaining)}
			for i, k := range canonicalHeaders {
				h[k] = v[i : i+1 : i+1]
			}
		}
		return verdict{allowed: d.Allowed, message: "Too Many Requests", retryAfter: d.RetryAfter, sendRetryAfter: retryAfter}
	})
}

// verdict is what a limiter says of one request: whether it may pass, and
// the 429 of one that may not (message, and Retry-After when
// sendRetryAfter is set).
type verdict struct {
	allowed        bool
	message        string
	retryAfter     time.Duration
	sendRetryAfter bool
}

// middleware is the chain step of a limiter: it asks take about each
// authenticated request (others pass), which sets the limit's headers on
// the answer, and passes the request on or answers 429 (with Retry-After in
// whole seconds when the verdict sends it) as the verdict says.
func middleware(take func(*auth.Principal, http.Header) verdict) pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			x := pipeline.ExchangeFrom(r.Context())
			if x == nil || x.Principal == nil {
				next.ServeHTTP(w, r)
				return
			}
			v := take(x.Principal, w.Header())
			if !v.allowed {
				e := &pipeline.Error{Status: http.StatusTooManyRequests, Messages: []string{v.message}}
				if v.sendRetryAfter {
					e.Header = http.Header{HeaderRetryAfter: {strconv.FormatInt(int64(v.retryAfter/time.Second), 10)}}
				}
				x.Fail(w, r, e)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// roundUpSeconds rounds d up to whole seconds, at least one.
func roundUpSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(1, s) * time.Second
}

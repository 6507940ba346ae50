package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrDailyQuotaExhausted is wrapped by the *DailyQuotaError of a request
// whose tenant has spent its daily quota.
var ErrDailyQuotaExhausted = errors.New("transport: daily quota exhausted")

// DailyQuotaError names the tenant whose daily quota is spent and when it
// comes back. The request was not sent.
type DailyQuotaError struct {
	Tenant string
	Reset  time.Time
}

func (e *DailyQuotaError) Error() string {
	return fmt.Sprintf("transport: daily quota of %s exhausted until %s", e.Tenant, e.Reset.UTC().Format(time.RFC3339))
}

func (e *DailyQuotaError) Unwrap() error { return ErrDailyQuotaExhausted }

// DefaultRateLimitedWait is the pause after a 429 without Retry-After when
// the quota headers tell no interval either.
const DefaultRateLimitedWait = time.Second

// Limiter paces requests per tenant (see Tenant) from the quota headers of
// the answers, so that a client at full demand uses the quota and receives
// no 429:
//
//   - a window (HighLevel: Limit requests per Interval, opened by its first
//     request): requests go while the window has room, counting those in
//     flight; when it is spent, everyone pauses until the window has
//     surely ended, then one request probes the next window alone;
//   - a leaky bucket (Marketing 360): a token bucket (golang.org/x/time/rate)
//     of the same size and rate, lowered to what each answer reports.
//
// A 429 pauses the tenant for its Retry-After. A spent daily quota stops
// the tenant's requests with a *DailyQuotaError until it resets; other
// tenants go on. Limits that change show in the headers and are followed.
type Limiter struct {
	Base  http.RoundTripper
	Clock Clock
	// Quota reads the headers; nil means HighLevelQuota, then
	// Marketing360Quota.
	Quota QuotaFunc
	// DailyReset tells when a daily quota spent at now comes back; nil
	// means the next midnight UTC.
	DailyReset func(now time.Time) time.Time

	mu      sync.Mutex
	tenants map[string]*pacer
}

// RoundTrip sends req on Base when its tenant's quota allows.
func (l *Limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	return l.send(req, baseOr(l.Base))
}

// send sends req on base when its tenant's quota allows.
func (l *Limiter) send(req *http.Request, base http.RoundTripper) (*http.Response, error) {
	p := l.pacer(Tenant(req))
	epoch, err := p.acquire(req.Context())
	if err != nil {
		return nil, closeBody(req, err)
	}
	clk := clockOr(l.Clock)
	res, err := base.RoundTrip(req)
	p.release(epoch, clk.Now(), res)
	return res, err
}

func (l *Limiter) pacer(tenant string) *pacer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tenants == nil {
		l.tenants = map[string]*pacer{}
	}
	p, ok := l.tenants[tenant]
	if !ok {
		p = &pacer{l: l, tenant: tenant, changed: make(chan struct{})}
		p.newEpoch()
		l.tenants[tenant] = p
	}
	return p
}

func (l *Limiter) quota(h http.Header) (Quota, bool) {
	if l.Quota != nil {
		return l.Quota(h)
	}
	if q, ok := HighLevelQuota(h); ok {
		return q, true
	}
	return Marketing360Quota(h)
}

func (l *Limiter) dailyReset(now time.Time) time.Time {
	if l.DailyReset != nil {
		return l.DailyReset(now)
	}
	return now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// pacer is the quota of one tenant.
//
// In a window, answers arrive out of order, so within an epoch the room
// only shrinks: it is the least of what each answer allows (its remaining
// quota less the requests still in flight). Time passing is taken into
// account by starting a new epoch (after a pause, or with a probe sent
// alone once the room is spent and nothing is in flight); the first answer
// of an epoch sets the room, and answers to requests of an older epoch
// only count when they report the quota spent.
type pacer struct {
	l      *Limiter
	tenant string

	mu         sync.Mutex // guards everything below
	changed    chan struct{}
	inflight   int
	epoch      int
	fresh      bool // no answer of this epoch yet
	room       int
	unlimited  bool      // answers carry no quota headers
	openedAt   time.Time // when this epoch's probe opened a window; zero when it did not
	interval   time.Duration
	pauseUntil time.Time
	dailyUntil time.Time
	bucket     *rate.Limiter // set once the answers tell a leaky bucket
}

// newEpoch starts an epoch with room for one request. Callers hold mu.
func (p *pacer) newEpoch() {
	p.epoch++
	p.fresh, p.room, p.openedAt = true, 1, time.Time{}
}

func (p *pacer) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire waits until a request may go and returns its epoch.
func (p *pacer) acquire(ctx context.Context) (int, error) {
	clk := clockOr(p.l.Clock)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		p.mu.Lock()
		now := clk.Now()
		if now.Before(p.dailyUntil) {
			until := p.dailyUntil
			p.mu.Unlock()
			return 0, &DailyQuotaError{Tenant: p.tenant, Reset: until}
		}
		if until := p.pauseUntil; now.Before(until) {
			p.mu.Unlock()
			if err := clk.Sleep(ctx, until.Sub(now)); err != nil {
				return 0, err
			}
			p.mu.Lock()
			if p.pauseUntil.Equal(until) && !clk.Now().Before(until) {
				p.pauseUntil = time.Time{}
				p.newEpoch()
				p.broadcast()
			}
			p.mu.Unlock()
			continue
		}
		if p.bucket != nil {
			r := p.bucket.ReserveN(now, 1)
			p.inflight++
			epoch := p.epoch
			p.mu.Unlock()
			if err := clk.Sleep(ctx, r.DelayFrom(now)); err != nil {
				p.mu.Lock()
				r.CancelAt(clk.Now())
				p.inflight--
				p.broadcast()
				p.mu.Unlock()
				return 0, err
			}
			return epoch, nil
		}
		if p.room <= 0 && p.inflight == 0 && !p.unlimited {
			p.newEpoch() // the probe
		}
		if p.unlimited || p.room > 0 {
			p.room--
			p.inflight++
			epoch := p.epoch
			p.mu.Unlock()
			return epoch, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// release ends a request of epoch answered at now with res (nil when none).
func (p *pacer) release(epoch int, now time.Time, res *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcast()
	p.inflight--
	if res == nil {
		return
	}
	q, ok := p.l.quota(res.Header)
	switch {
	case ok && q.Bucket:
		p.unlimited = false
		p.follow(q, now)
	case ok:
		p.unlimited = false
		p.interval = q.Interval
		switch {
		case epoch != p.epoch:
		case p.fresh:
			p.room, p.fresh = q.Remaining-p.inflight, false
			if q.Remaining == q.Limit-1 {
				p.openedAt = now
			}
		default:
			p.room = min(p.room, q.Remaining-p.inflight)
		}
		if q.Remaining <= 0 {
			p.room = min(p.room, 0)
			// The window ends at most Interval after the probe's answer
			// that opened it, or else after this answer.
			end := now.Add(q.Interval)
			if epoch == p.epoch && !p.openedAt.IsZero() && p.openedAt.Add(q.Interval).After(now) {
				end = p.openedAt.Add(q.Interval)
			}
			p.pause(end)
		}
	case res.StatusCode >= 200 && res.StatusCode < 300 && p.bucket == nil:
		// A success without quota headers: no limits here. (Errors may
		// come from a proxy that does not send them.)
		p.unlimited = true
	}
	if ok && q.HasDaily && q.DailyRemaining <= 0 {
		p.dailyUntil = p.l.dailyReset(now)
	}
	if res.StatusCode == http.StatusTooManyRequests {
		p.unlimited, p.room = false, 0
		wait, ok := RetryAfter(res.Header, now)
		if !ok {
			wait = cmp.Or(p.interval, DefaultRateLimitedWait)
		}
		p.pause(now.Add(wait))
	}
}

// follow sets the token bucket from a leaky bucket's answer: its size and
// rate, and no more tokens than the answer leaves for the requests in
// flight. Callers hold mu.
func (p *pacer) follow(q Quota, now time.Time) {
	r := rate.Limit(float64(q.Limit) / q.Interval.Seconds())
	switch {
	case p.bucket == nil:
		p.bucket = rate.NewLimiter(r, q.Limit)
	case p.bucket.Limit() != r || p.bucket.Burst() != q.Limit:
		p.bucket.SetLimitAt(now, r)
		p.bucket.SetBurstAt(now, q.Limit)
	}
	if excess := p.bucket.TokensAt(now) - float64(q.Remaining-p.inflight); excess > 0 {
		p.bucket.ReserveN(now, min(int(math.Ceil(excess)), q.Limit))
	}
}

// pause stops the tenant's requests until t. Callers hold mu.
func (p *pacer) pause(t time.Time) {
	if t.After(p.pauseUntil) {
		p.pauseUntil = t
	}
}

package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
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
//   - a leaky bucket (Marketing 360): a mirror of the server's bucket, of
//     the size and rate the headers tell, into which each request enters
//     when answered (see leaky) and which is never below what an answer
//     reports.
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
	stats   LimiterStats
}

// LimiterStats count what a Limiter did.
type LimiterStats struct {
	// Requests sent; Waits the times a request waited for the quota, and
	// Waited how long in all.
	Requests, Waits int
	Waited          time.Duration
}

// Stats returns the counts so far.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Limiter) count(requests int, waited time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Requests += requests
	if waited > 0 {
		l.stats.Waits++
		l.stats.Waited += waited
	}
}

// RoundTrip sends req on Base when its tenant's quota allows.
func (l *Limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	return l.send(req, baseOr(l.Base))
}

// send sends req on base when its tenant's quota allows.
func (l *Limiter) send(req *http.Request, base http.RoundTripper) (*http.Response, error) {
	p := l.pacer(Tenant(req))
	clk := clockOr(l.Clock)
	start := clk.Now()
	epoch, err := p.acquire(req.Context())
	l.count(0, clk.Now().Sub(start))
	if err != nil {
		return nil, closeBody(req, err)
	}
	l.count(1, 0)
	sent := clk.Now()
	res, err := base.RoundTrip(req)
	if daily := p.release(epoch, sent, res); daily != nil {
		drain(res)
		return nil, daily
	}
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
	unlimited  bool // answers carry no quota headers
	opened     opener
	interval   time.Duration
	pauseUntil time.Time
	dailyUntil time.Time
	bucket     *leaky // set once the answers tell a leaky bucket
}

// opener is the last request whose answer told that it opened a window
// (the first the server counted in it: Remaining is Limit-1): the window
// opened between its send and its answer.
type opener struct{ sent, answered time.Time }

// windowEnd is when the window of a request sent at sent and answered at
// now, which spent it, surely ends: Interval after the last opener's
// answer when the request was in the opener's window, Interval after now
// otherwise. The request was in it when it was sent after the opener's
// answer (so it reached the server after the window opened) and answered
// before Interval from the opener's send (so it reached the server before
// the window ended). This holds whether or not the limiter saw the
// window open while it was pacing: a window that the demand did not fill
// ends unseen, and the next one is opened by whichever request comes.
func (o opener) windowEnd(sent, now time.Time, interval time.Duration) time.Time {
	if !o.answered.IsZero() && !sent.Before(o.answered) && now.Before(o.sent.Add(interval)) {
		return o.answered.Add(interval)
	}
	return now.Add(interval)
}

// newEpoch starts an epoch with room for one request. Callers hold mu.
func (p *pacer) newEpoch() {
	p.epoch++
	p.fresh, p.room = true, 1
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
			if err := clk.SleepUntil(ctx, until); err != nil {
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
		if b := p.bucket; b != nil {
			b.drain(now)
			over := b.level + float64(p.inflight) + 1 - float64(b.capacity)
			if over <= 1e-9 {
				p.inflight++
				epoch := p.epoch
				p.mu.Unlock()
				return epoch, nil
			}
			if p.inflight > 0 {
				// Their answers change the level: wait for one, then
				// reckon again.
				if err := p.awaitChange(ctx); err != nil {
					return 0, err
				}
				continue
			}
			wait := time.Duration(over / b.perSecond * float64(time.Second))
			p.mu.Unlock()
			if err := clk.SleepUntil(ctx, now.Add(max(wait, time.Millisecond))); err != nil {
				return 0, err
			}
			continue
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
		if err := p.awaitChange(ctx); err != nil {
			return 0, err
		}
	}
}

// awaitChange unlocks mu and waits for the next change or for ctx.
// Callers hold mu.
func (p *pacer) awaitChange(ctx context.Context) error {
	ch := p.changed
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release ends a request of epoch, sent at sent, answered with res (nil
// when none). It returns the *DailyQuotaError that replaces a 429 refusing
// the request for the daily quota.
func (p *pacer) release(epoch int, sent time.Time, res *http.Response) *DailyQuotaError {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcast()
	// Read under mu: the token bucket needs its times in order.
	now := clockOr(p.l.Clock).Now()
	p.inflight--
	if res == nil {
		return nil
	}
	q, ok := p.l.quota(res.Header)
	if ok && q.HasDaily {
		// The day's quota bounds the window's.
		q.Remaining = min(q.Remaining, q.DailyRemaining)
	}
	switch {
	case ok && q.Bucket:
		p.unlimited = false
		p.follow(q, now)
	case ok:
		p.unlimited = false
		p.interval = q.Interval
		if q.Remaining == q.Limit-1 && res.StatusCode != http.StatusTooManyRequests {
			p.opened = opener{sent: sent, answered: now}
		}
		switch {
		case epoch != p.epoch:
		case p.fresh:
			p.room, p.fresh = q.Remaining-p.inflight, false
		default:
			p.room = min(p.room, q.Remaining-p.inflight)
		}
		if q.Remaining <= 0 {
			p.room = min(p.room, 0)
			p.pause(p.opened.windowEnd(sent, now, q.Interval))
		}
	case res.StatusCode >= 200 && res.StatusCode < 300 && p.bucket == nil:
		// A success without quota headers: no limits here. (Errors may
		// come from a proxy that does not send them.)
		p.unlimited = true
	}
	if ok && q.HasDaily && q.DailyRemaining <= 0 {
		p.dailyUntil = p.l.dailyReset(now)
		if res.StatusCode == http.StatusTooManyRequests {
			return &DailyQuotaError{Tenant: p.tenant, Reset: p.dailyUntil}
		}
	}
	if res.StatusCode == http.StatusTooManyRequests {
		p.unlimited, p.room = false, 0
		wait, ok := RetryAfter(res.Header, now)
		if !ok {
			wait = cmp.Or(p.interval, DefaultRateLimitedWait)
		}
		p.pause(now.Add(wait))
	}
	return nil
}

// follow counts an answered request in the bucket and sets the bucket
// from the answer: its size and rate, and a level no lower than the one
// the answer proves (other clients of the key count there). Callers hold
// mu.
func (p *pacer) follow(q Quota, now time.Time) {
	b := p.bucket
	if b == nil {
		b = &leaky{at: now}
		p.bucket = b
	}
	b.capacity, b.perSecond = q.Limit, float64(q.Limit)/q.Interval.Seconds()
	b.drain(now)
	// The answer's Remaining is rounded down: the server's level is more
	// than Limit-Remaining-1, which is what it proves.
	b.level = max(b.level+1, float64(q.Limit-q.Remaining-1))
}

// leaky mirrors a server's leaky bucket. A request enters it when its
// answer arrives, not when it is sent: it reached the server in between,
// so the server's bucket has drained at least as much as this one, and
// the mirror is never emptier than the real one. Until then the request
// counts as a full slot (pacer.inflight).
type leaky struct {
	capacity  int
	perSecond float64
	level     float64
	at        time.Time
}

func (b *leaky) drain(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.level = max(0, b.level-d.Seconds()*b.perSecond)
		b.at = now
	}
}

// pause stops the tenant's requests until t. Callers hold mu.
func (p *pacer) pause(t time.Time) {
	if t.After(p.pauseUntil) {
		p.pauseUntil = t
	}
}

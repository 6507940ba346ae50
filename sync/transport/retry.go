package transport

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// ErrOutcomeUnknown is wrapped by the *OutcomeUnknownError of a request that
// may have reached the server and is not safe to send again.
var ErrOutcomeUnknown = errors.New("transport: outcome unknown")

// OutcomeUnknownError names a request that was sent, may or may not have
// taken effect, and was not sent again because it is not idempotent. The
// caller resolves it by looking the record up.
type OutcomeUnknownError struct {
	Method, URL string
	// Status is the answer's status (a 5xx), 0 when there was none.
	Status int
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("transport: %s %s answered %d: outcome unknown, not sent again", e.Method, e.URL, e.Status)
	}
	return fmt.Sprintf("transport: %s %s: outcome unknown, not sent again: %v", e.Method, e.URL, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrOutcomeUnknown}
	}
	return []error{ErrOutcomeUnknown, e.Err}
}

// Defaults of Retry.
const (
	DefaultMaxAttempts = 5
	DefaultMaxWait     = 2 * time.Minute
	DefaultBackoffMin  = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// Retry sends a request again after a 429, a 5xx or a transport error,
// within a budget of attempts and of time waited, honouring Retry-After
// and waiting on Clock (which ends the wait when the request's context is
// done). What may have reached the server is sent again only when
// Idempotent says it is safe: otherwise the error is an
// *OutcomeUnknownError. A 429 and a request that provably never left (a
// dial error) are sent again whatever the method.
type Retry struct {
	Base  http.RoundTripper
	Clock Clock
	// MaxAttempts bounds the attempts of a request; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// MaxWait bounds the time a request waits between its attempts in all;
	// 0 means DefaultMaxWait.
	MaxWait time.Duration
	// Idempotent tells whether a request may be sent twice; nil means
	// IdempotentMethod. SpecIdempotent reads the spec's x-idempotent.
	Idempotent func(*http.Request) bool
	// Backoff is the wait before the attempt after the nth failed one;
	// nil means DefaultBackoff.
	Backoff func(n int, res *http.Response, now time.Time) time.Duration
}

// IdempotentMethod is true for GET, HEAD, OPTIONS, PUT and DELETE.
func IdempotentMethod(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// DefaultBackoff waits what the answer's Retry-After says; for a 429
// without it, the quota window (X-RateLimit-Interval-Milliseconds, else
// DefaultRateLimitedWait); otherwise an exponential backoff from
// DefaultBackoffMin to DefaultBackoffMax with full jitter.
func DefaultBackoff(n int, res *http.Response, now time.Time) time.Duration {
	if res != nil {
		if d, ok := RetryAfter(res.Header, now); ok {
			return d
		}
		if res.StatusCode == http.StatusTooManyRequests {
			if q, ok := HighLevelQuota(res.Header); ok {
				return q.Interval
			}
			return DefaultRateLimitedWait
		}
	}
	ceiling := DefaultBackoffMax
	if n < 30 {
		ceiling = min(DefaultBackoffMin<<(n-1), DefaultBackoffMax)
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// RoundTrip sends req until an answer that is final or the budget is spent.
func (t *Retry) RoundTrip(req *http.Request) (*http.Response, error) {
	clk := clockOr(t.Clock)
	attempts := cmp.Or(max(t.MaxAttempts, 0), DefaultMaxAttempts)
	budget := t.MaxWait
	if budget <= 0 {
		budget = DefaultMaxWait
	}
	idempotent := t.Idempotent
	if idempotent == nil {
		idempotent = IdempotentMethod
	}
	backoff := t.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var waited time.Duration
	for n := 1; ; n++ {
		out := req
		if n > 1 {
			out = req.Clone(req.Context())
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("transport: replay body of %s %s: %w", req.Method, RedactURL(req.URL), err)
				}
				out.Body = body
			}
		}
		res, err := baseOr(t.Base).RoundTrip(out)
		retry := false
		switch {
		case err != nil && req.Context().Err() != nil:
			return nil, err
		case err != nil && errors.Is(err, ErrDailyQuotaExhausted):
			return nil, err
		case err != nil && neverSent(err):
			retry = true
		case err != nil && !idempotent(req):
			return nil, &OutcomeUnknownError{Method: req.Method, URL: RedactURL(req.URL), Err: err}
		case err != nil:
			retry = true
		case res.StatusCode == http.StatusTooManyRequests:
			retry = true
		case res.StatusCode >= 500 && res.StatusCode != http.StatusNotImplemented && !idempotent(req):
			drain(res)
			return nil, &OutcomeUnknownError{Method: req.Method, URL: RedactURL(req.URL), Status: res.StatusCode}
		case res.StatusCode >= 500 && res.StatusCode != http.StatusNotImplemented:
			retry = true
		}
		if !retry || !replayable || n >= attempts {
			if err != nil {
				return nil, fmt.Errorf("transport: %s %s after %d attempts: %w", req.Method, RedactURL(req.URL), n, err)
			}
			return res, nil
		}
		wait := backoff(n, res, clk.Now())
		if waited+wait > budget {
			if err != nil {
				return nil, fmt.Errorf("transport: %s %s: retry budget of %s spent: %w", req.Method, RedactURL(req.URL), budget, err)
			}
			return res, nil
		}
		if res != nil {
			drain(res)
		}
		waited += wait
		if err := clk.SleepUntil(req.Context(), clk.Now().Add(wait)); err != nil {
			return nil, fmt.Errorf("transport: wait to retry %s %s: %w", req.Method, RedactURL(req.URL), err)
		}
	}
}

// neverSent tells whether err proves that the request did not leave: the
// connection was never made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// drain reads a little of an answer that is dropped, so that its
// connection can be used again, and closes it.
func drain(res *http.Response) {
	_, _ = io.CopyN(io.Discard, res.Body, 64<<10)
	res.Body.Close()
}

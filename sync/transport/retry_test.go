package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func newRequest(t *testing.T, method, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://api.test/contacts/?token=secret", r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Caller", "kept")
	return req
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	clk := newFakeClock()
	date := clk.Now().Add(7 * time.Second).Format(http.TimeFormat)
	answers := []*http.Response{
		response(429, http.Header{"Retry-After": {"3"}}, ""),
		response(503, http.Header{"Retry-After": {date}}, ""),
		response(201, nil, `{"ok":true}`),
	}
	var sent []time.Time
	var bodies []string
	rt := &Retry{Clock: clk, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, clk.Now())
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		res := answers[0]
		answers = answers[1:]
		return res, nil
	})}
	// An idempotent POST (an upsert): retried on 429 and 503.
	rt.Idempotent = func(*http.Request) bool { return true }
	req := newRequest(t, http.MethodPost, `{"email":"a@b.c"}`)
	res, err := rt.RoundTrip(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("RoundTrip = %v, %v", res, err)
	}
	if len(sent) != 3 || sent[1].Sub(sent[0]) != 3*time.Second || sent[2].Sub(sent[0]) != 7*time.Second {
		t.Errorf("attempts at %v, want at 0, 3 s and 7 s (the date)", sent)
	}
	for _, b := range bodies {
		if b != `{"email":"a@b.c"}` {
			t.Errorf("attempt sent body %q", b)
		}
	}
	if req.Header.Get("X-Caller") != "kept" || len(req.Header) != 1 {
		t.Errorf("the caller's request changed: %v", req.Header)
	}
}

func TestRetryNeverResendsAPostBlindly(t *testing.T) {
	for name, answer := range map[string]func() (*http.Response, error){
		"503": func() (*http.Response, error) { return response(503, nil, ""), nil },
		"reset": func() (*http.Response, error) {
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			rt := &Retry{Clock: newFakeClock(), Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
				n.Add(1)
				return answer()
			})}
			_, err := rt.RoundTrip(newRequest(t, http.MethodPost, `{}`))
			var oe *OutcomeUnknownError
			if !errors.As(err, &oe) || !errors.Is(err, ErrOutcomeUnknown) || oe.Method != http.MethodPost || !strings.Contains(oe.URL, "/contacts/") {
				t.Fatalf("err = %v, want an *OutcomeUnknownError naming the request", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the token of the query", err)
			}
			if n.Load() != 1 {
				t.Errorf("%d attempts, want 1", n.Load())
			}
		})
	}
}

func TestRetryDialErrorAndRateLimitAnyMethod(t *testing.T) {
	answers := []func() (*http.Response, error){
		func() (*http.Response, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		},
		func() (*http.Response, error) { return response(429, nil, ""), nil },
		func() (*http.Response, error) { return response(201, nil, ""), nil },
	}
	clk := newFakeClock()
	rt := &Retry{Clock: clk, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		a := answers[0]
		answers = answers[1:]
		return a()
	})}
	res, err := rt.RoundTrip(newRequest(t, http.MethodPost, `{}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("RoundTrip = %v, %v", res, err)
	}
	// The 429 without Retry-After waits DefaultRateLimitedWait.
	if s := clk.Sleeps(); len(s) != 2 || s[1] != DefaultRateLimitedWait {
		t.Errorf("sleeps %v", s)
	}
}

func TestRetryBudgets(t *testing.T) {
	var n atomic.Int32
	rt := &Retry{Clock: newFakeClock(), MaxAttempts: 3, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		n.Add(1)
		return response(502, nil, "bad gateway"), nil
	})}
	res, err := rt.RoundTrip(newRequest(t, http.MethodGet, ""))
	if err != nil || res.StatusCode != 502 || n.Load() != 3 {
		t.Fatalf("RoundTrip = %v, %v after %d attempts; want the last 502 after 3", res, err, n.Load())
	}
	n.Store(0)
	rt = &Retry{Clock: newFakeClock(), MaxWait: 5 * time.Second, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		n.Add(1)
		return response(429, http.Header{"Retry-After": {"4"}}, ""), nil
	})}
	if res, err := rt.RoundTrip(newRequest(t, http.MethodGet, "")); err != nil || res.StatusCode != 429 || n.Load() != 2 {
		t.Errorf("RoundTrip = %v, %v after %d attempts; want the 429 after 2 (4 s waited, 8 s over the budget)", res, err, n.Load())
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Retry{Clock: newFakeClock(), Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		cancel()
		return response(503, nil, ""), nil
	})}
	req := newRequest(t, http.MethodGet, "").WithContext(ctx)
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestDefaultBackoffGrowsWithJitter(t *testing.T) {
	for n := 1; n <= 8; n++ {
		ceiling := min(DefaultBackoffMin<<(n-1), DefaultBackoffMax)
		for range 50 {
			if d := DefaultBackoff(n, nil, time.Time{}); d <= 0 || d > ceiling {
				t.Fatalf("DefaultBackoff(%d) = %s, want in (0, %s]", n, d, ceiling)
			}
		}
	}
}

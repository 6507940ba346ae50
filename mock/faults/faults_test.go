package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/internal/lockedbuf"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
)

// twin is a pipeline built from pipelinetest.Spec with the injector
// outermost.
type twin struct {
	http.Handler
	calls atomic.Int64 // handler calls
}

// padding makes bodies long enough to cut in half.
var padding = strings.Repeat("x", 200)

func newTwin(t *testing.T, in *faults.Injector) *twin {
	t.Helper()
	tw := &twin{}
	h := func(status int) pipeline.HandlerFunc {
		return func(r *pipeline.Request) (pipeline.Response, error) {
			tw.calls.Add(1)
			return pipeline.JSON(status, map[string]any{"id": r.Path["contactId"], "padding": padding}), nil
		}
	}
	tw.Handler = pipelinetest.New(t, pipeline.Config{
		Handlers: map[string]pipeline.HandlerFunc{
			"create-contact": h(http.StatusCreated),
			"get-contact":    h(http.StatusOK),
			"delete-contact": h(http.StatusOK),
			"get-tasks":      h(http.StatusOK),
		},
		Outer: []pipeline.Middleware{in.Middleware()},
	})
	return tw
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve runs one request in process; aborted tells whether the handler
// aborted with http.ErrAbortHandler.
func serve(t *testing.T, h http.Handler, req *http.Request) (rec *httptest.ResponseRecorder, aborted bool) {
	t.Helper()
	rec = httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					t.Fatalf("%s %s: panic %v", req.Method, req.URL.Path, v)
				}
				aborted = true
			}
		}()
		h.ServeHTTP(rec, req)
	}()
	return rec, aborted
}

func get(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }

// fault is the status of the error rules the matching tests add.
const fault = http.StatusTeapot

func errorRule(m faults.Match) faults.Rule {
	return faults.Rule{Match: m, Effect: faults.Effect{Kind: faults.KindError, Status: fault}}
}

func mustAdd(t *testing.T, in *faults.Injector, r faults.Rule) faults.Rule {
	t.Helper()
	added, err := in.Add(r)
	if err != nil {
		t.Fatalf("Add(%+v): %v", r, err)
	}
	return added
}

func fromHeader(r *http.Request) string { return r.Header.Get("X-Location") }

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		match      faults.Match
		locationOf func(*http.Request) string
		method     string
		path       string
		location   string
		want       bool
	}{
		{"empty matches all", faults.Match{}, nil, "DELETE", "/contacts/c1", "", true},
		{"exact path", faults.Match{Path: "/contacts/c1"}, nil, "GET", "/contacts/c1", "", true},
		{"exact path other id", faults.Match{Path: "/contacts/c1"}, nil, "GET", "/contacts/c2", "", false},
		{"exact path is not a prefix", faults.Match{Path: "/contacts"}, nil, "GET", "/contacts/c1", "", false},
		{"star one segment", faults.Match{Path: "/contacts/*"}, nil, "GET", "/contacts/c1", "", true},
		{"star not two segments", faults.Match{Path: "/contacts/*"}, nil, "GET", "/contacts/c1/tasks", "", false},
		{"star not zero segments", faults.Match{Path: "/contacts/*"}, nil, "POST", "/contacts", "", false},
		{"star in the middle", faults.Match{Path: "/contacts/*/tasks"}, nil, "GET", "/contacts/c9/tasks", "", true},
		{"star in the middle other tail", faults.Match{Path: "/contacts/*/notes"}, nil, "GET", "/contacts/c9/tasks", "", false},
		{"double star none", faults.Match{Path: "/contacts/**"}, nil, "POST", "/contacts", "", true},
		{"double star one", faults.Match{Path: "/contacts/**"}, nil, "GET", "/contacts/c1", "", true},
		{"double star two", faults.Match{Path: "/contacts/**"}, nil, "GET", "/contacts/c1/tasks", "", true},
		{"double star root", faults.Match{Path: "/**"}, nil, "GET", "/contacts/c1/tasks", "", true},
		{"double star other prefix", faults.Match{Path: "/users/**"}, nil, "GET", "/contacts/c1", "", false},
		{"method", faults.Match{Method: "DELETE"}, nil, "DELETE", "/contacts/c1", "", true},
		{"method case-insensitive", faults.Match{Method: "delete"}, nil, "DELETE", "/contacts/c1", "", true},
		{"method other", faults.Match{Method: "DELETE"}, nil, "GET", "/contacts/c1", "", false},
		{"operation", faults.Match{Operation: "get-tasks"}, nil, "GET", "/contacts/c1/tasks", "", true},
		{"operation other", faults.Match{Operation: "get-tasks"}, nil, "GET", "/contacts/c1", "", false},
		{"operation same path other method", faults.Match{Operation: "delete-contact"}, nil, "GET", "/contacts/c1", "", false},
		{"location", faults.Match{Location: "L1"}, fromHeader, "GET", "/contacts/c1", "L1", true},
		{"location other", faults.Match{Location: "L1"}, fromHeader, "GET", "/contacts/c1", "L2", false},
		{"location none told", faults.Match{Location: "L1"}, fromHeader, "GET", "/contacts/c1", "", false},
		{"location without LocationOf", faults.Match{Location: "L1"}, nil, "GET", "/contacts/c1", "L1", false},
		{"all fields", faults.Match{Operation: "get-contact", Method: "get", Path: "/contacts/*", Location: "L1"}, fromHeader, "GET", "/contacts/c1", "L1", true},
		{"all fields but one", faults.Match{Operation: "get-contact", Method: "get", Path: "/contacts/c2", Location: "L1"}, fromHeader, "GET", "/contacts/c1", "L1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := faults.New(faults.Options{LocationOf: tt.locationOf, Logger: discard()})
			mustAdd(t, in, errorRule(tt.match))
			tw := newTwin(t, in)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.location != "" {
				req.Header.Set("X-Location", tt.location)
			}
			rec, _ := serve(t, tw, req)
			if got := rec.Code == fault; got != tt.want {
				t.Errorf("%s %s: fired = %v (status %d), want %v", tt.method, tt.path, got, rec.Code, tt.want)
			}
			if got, want := tw.calls.Load() == 0, tt.want; got != want {
				t.Errorf("handler called %d times, fired = %v", tw.calls.Load(), tt.want)
			}
		})
	}
}

// The middleware works outside a pipeline too, without operations.
func TestMatch_WithoutPipeline(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()})
	mustAdd(t, in, errorRule(faults.Match{Method: "GET", Path: "/a/*"}))
	mustAdd(t, in, errorRule(faults.Match{Operation: "get-contact"}))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := in.Middleware()(next)
	for path, want := range map[string]int{"/a/b": fault, "/a/b/c": http.StatusNoContent} {
		if rec, _ := serve(t, h, get(path)); rec.Code != want {
			t.Errorf("GET %s: status %d, want %d", path, rec.Code, want)
		}
	}
}

func TestRule_Validate(t *testing.T) {
	t.Parallel()
	lat := func(l faults.Latency) faults.Effect { return faults.Effect{Kind: faults.KindLatency, Latency: &l} }
	ms := func(n int) faults.Duration { return faults.Duration(time.Duration(n) * time.Millisecond) }
	errEffect := faults.Effect{Kind: faults.KindError, Status: 503}
	tests := []struct {
		name  string
		rule  faults.Rule
		field string // "" when valid
	}{
		{"error", faults.Rule{Effect: errEffect}, ""},
		{"error with body and headers", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 429, Body: json.RawMessage(`{"a":1}`), Headers: map[string]string{"Retry-After": "3"}}}, ""},
		{"reset", faults.Rule{Effect: faults.Effect{Kind: "reset"}, Probability: 1, Times: 2}, ""},
		{"hang", faults.Rule{Effect: faults.Effect{Kind: "hang"}, Probability: 0.01}, ""},
		{"truncate", faults.Rule{Effect: faults.Effect{Kind: "truncate"}, Match: faults.Match{Path: "/contacts/**"}}, ""},
		{"error after", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 502, After: true}}, ""},
		{"reset after", faults.Rule{Effect: faults.Effect{Kind: "reset", After: true}}, ""},
		{"hang after", faults.Rule{Effect: faults.Effect{Kind: "hang", After: true}}, ""},
		{"truncate after", faults.Rule{Effect: faults.Effect{Kind: "truncate", After: true}}, ""},
		{"fixed", faults.Rule{Effect: lat(faults.Latency{Distribution: "fixed", Fixed: ms(250)})}, ""},
		{"uniform", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Min: ms(10), Max: ms(20)})}, ""},
		{"uniform from zero", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Max: ms(20)})}, ""},
		{"uniform one point", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Min: ms(20), Max: ms(20)})}, ""},
		{"normal", faults.Rule{Effect: lat(faults.Latency{Distribution: "normal", Mean: ms(100), StdDev: ms(30)})}, ""},

		{"no kind", faults.Rule{}, "effect.kind"},
		{"unknown kind", faults.Rule{Effect: faults.Effect{Kind: "explode"}}, "effect.kind"},
		{"error without status", faults.Rule{Effect: faults.Effect{Kind: "error"}}, "effect.status"},
		{"error status 99", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 99}}, "effect.status"},
		{"error status 600", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 600}}, "effect.status"},
		{"204 with a body", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 204, Body: []byte(`{}`)}}, "effect.body"},
		{"content-length header", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 503, Headers: map[string]string{"content-length": "5"}}}, "effect.headers"},
		{"transfer-encoding header", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 503, Headers: map[string]string{"Transfer-Encoding": "chunked"}}}, "effect.headers"},
		{"error status negative", faults.Rule{Effect: faults.Effect{Kind: "error", Status: -500}}, "effect.status"},
		{"error status 1xx", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 103}}, "effect.status"},
		{"error body not JSON", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 500, Body: json.RawMessage(`{oops`)}}, "effect.body"},
		{"error bad header name", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 500, Headers: map[string]string{"Bad Name": "x"}}}, "effect.headers"},
		{"error header value newline", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 500, Headers: map[string]string{"X-A": "a\r\nX-B: b"}}}, "effect.headers"},
		{"status on reset", faults.Rule{Effect: faults.Effect{Kind: "reset", Status: 500}}, "effect.status"},
		{"latency after", faults.Rule{Effect: faults.Effect{Kind: "latency", After: true, Latency: &faults.Latency{Distribution: "fixed", Fixed: ms(1)}}}, "effect.after"},
		{"latency on error", faults.Rule{Effect: faults.Effect{Kind: "error", Status: 500, Latency: &faults.Latency{Distribution: "fixed", Fixed: ms(1)}}}, "effect.latency"},
		{"probability negative", faults.Rule{Effect: errEffect, Probability: -0.1}, "probability"},
		{"probability above 1", faults.Rule{Effect: errEffect, Probability: 1.5}, "probability"},
		{"times negative", faults.Rule{Effect: errEffect, Times: -1}, "times"},
		{"latency missing", faults.Rule{Effect: faults.Effect{Kind: "latency"}}, "effect.latency"},
		{"latency no distribution", faults.Rule{Effect: lat(faults.Latency{Fixed: ms(5)})}, "effect.latency.distribution"},
		{"latency unknown distribution", faults.Rule{Effect: lat(faults.Latency{Distribution: "poisson", Mean: ms(5)})}, "effect.latency.distribution"},
		{"fixed zero", faults.Rule{Effect: lat(faults.Latency{Distribution: "fixed"})}, "effect.latency.fixed"},
		{"fixed negative", faults.Rule{Effect: lat(faults.Latency{Distribution: "fixed", Fixed: ms(-5)})}, "effect.latency.fixed"},
		{"fixed with max", faults.Rule{Effect: lat(faults.Latency{Distribution: "fixed", Fixed: ms(5), Max: ms(9)})}, "effect.latency.max"},
		{"uniform max below min", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Min: ms(20), Max: ms(10)})}, "effect.latency.max"},
		{"uniform min negative", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Min: ms(-1), Max: ms(10)})}, "effect.latency.min"},
		{"uniform no max", faults.Rule{Effect: lat(faults.Latency{Distribution: "uniform", Min: ms(10)})}, "effect.latency.max"},
		{"normal negative stdDev", faults.Rule{Effect: lat(faults.Latency{Distribution: "normal", Mean: ms(10), StdDev: ms(-1)})}, "effect.latency.stdDev"},
		{"normal negative mean", faults.Rule{Effect: lat(faults.Latency{Distribution: "normal", Mean: ms(-10), StdDev: ms(1)})}, "effect.latency.mean"},
		{"normal all zero", faults.Rule{Effect: lat(faults.Latency{Distribution: "normal"})}, "effect.latency.mean"},
		{"normal with fixed", faults.Rule{Effect: lat(faults.Latency{Distribution: "normal", Mean: ms(10), Fixed: ms(3)})}, "effect.latency.fixed"},
		{"path without slash", faults.Rule{Effect: errEffect, Match: faults.Match{Path: "contacts"}}, "match.path"},
		{"path double star not last", faults.Rule{Effect: errEffect, Match: faults.Match{Path: "/**/tasks"}}, "match.path"},
		{"path partial star", faults.Rule{Effect: errEffect, Match: faults.Match{Path: "/contacts/c*"}}, "match.path"},
		{"method not a token", faults.Rule{Effect: errEffect, Match: faults.Match{Method: "GE T"}}, "match.method"},
		{"id with slash", faults.Rule{ID: "a/b", Effect: errEffect}, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.rule.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := faults.New(faults.Options{}).Add(tt.rule); err != nil {
					t.Fatalf("Add: %v", err)
				}
				return
			}
			if !errors.Is(err, faults.ErrInvalidRule) {
				t.Fatalf("Validate = %v, want ErrInvalidRule", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.field+": ") {
				t.Errorf("Validate = %q, want it to name %s", err, tt.field)
			}
			if _, err := faults.New(faults.Options{}).Add(tt.rule); !errors.Is(err, faults.ErrInvalidRule) {
				t.Errorf("Add = %v, want ErrInvalidRule", err)
			}
		})
	}
}

func TestTimes_Concurrent(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()})
	r := mustAdd(t, in, faults.Rule{Match: faults.Match{Operation: "get-contact"},
		Effect: faults.Effect{Kind: faults.KindError, Status: 503}, Times: 3})
	tw := newTwin(t, in)
	const n = 20
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range n {
		wg.Go(func() {
			rec := pipelinetest.Serve(tw, get("/contacts/c1"))
			if rec.Code == 503 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := failed.Load(); got != 3 {
		t.Errorf("%d requests failed, want 3", got)
	}
	if got := tw.calls.Load(); got != n-3 {
		t.Errorf("handler called %d times, want %d", got, n-3)
	}
	list := in.List()
	if len(list) != 1 || list[0].ID != r.ID || list[0].Applied != 3 || list[0].Times != 3 {
		t.Errorf("List = %+v, want the rule with Applied 3", list)
	}
	if rec, _ := serve(t, tw, get("/contacts/c1")); rec.Code != 200 {
		t.Errorf("after Times: status %d, want 200", rec.Code)
	}
	if got := in.List()[0].Applied; got != 3 {
		t.Errorf("after Times: Applied %d, want 3", got)
	}
}

// fired runs n requests and tells which were failed by the rule.
func firedSequence(t *testing.T, seed uint64, p float64, n int) []bool {
	t.Helper()
	in := faults.New(faults.Options{Seed: seed, Logger: discard()})
	mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindError, Status: 503}, Probability: p})
	tw := newTwin(t, in)
	out := make([]bool, n)
	for i := range out {
		rec, _ := serve(t, tw, get("/contacts/c1"))
		out[i] = rec.Code == 503
	}
	if got, want := in.List()[0].Applied, count(out); got != want {
		t.Errorf("Applied = %d, want %d", got, want)
	}
	return out
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestProbability_Seeded(t *testing.T) {
	t.Parallel()
	const n = 200
	a := firedSequence(t, 42, 0.3, n)
	b := firedSequence(t, 42, 0.3, n)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different decisions:\n%v\n%v", a, b)
	}
	if frac := float64(count(a)) / n; frac < 0.2 || frac > 0.4 {
		t.Errorf("probability 0.3 fired on %.2f of requests", frac)
	}
	if c := firedSequence(t, 43, 0.3, n); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same decisions")
	}
	if got := count(firedSequence(t, 42, 1, n)); got != n {
		t.Errorf("probability 1 fired %d times of %d", got, n)
	}
}

// Rules are tried in order; one whose dice fail lets the next one fire.
func TestOrder(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Seed: 1, Logger: discard()})
	first := mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindError, Status: 503}, Probability: 0.5})
	second := mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindError, Status: 502}})
	mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindError, Status: 501}})
	tw := newTwin(t, in)
	seen := map[int]int{}
	for range 50 {
		rec, _ := serve(t, tw, get("/contacts/c1"))
		seen[rec.Code]++
	}
	if seen[503] == 0 || seen[502] == 0 || seen[503]+seen[502] != 50 {
		t.Errorf("statuses %v, want 503 and 502 only", seen)
	}
	list := in.List()
	if list[0].ID != first.ID || list[0].Applied != seen[503] || list[1].ID != second.ID || list[1].Applied != seen[502] || list[2].Applied != 0 {
		t.Errorf("List = %+v for statuses %v", list, seen)
	}
}

// server serves h on a real listener and tells when a handler returns.
type server struct {
	*httptest.Server
	returned chan struct{}
	client   *http.Client
}

func newServer(t *testing.T, h http.Handler, timeout time.Duration) *server {
	t.Helper()
	s := &server{returned: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { s.returned <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	s.Config.ErrorLog = nil
	tr := &http.Transport{}
	s.client = &http.Client{Transport: tr, Timeout: timeout}
	t.Cleanup(s.Close)
	t.Cleanup(tr.CloseIdleConnections)
	return s
}

// waitReturned fails the test when the handler does not return.
func (s *server) waitReturned(t *testing.T) {
	t.Helper()
	select {
	case <-s.returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
	}
}

func TestEffect_Error(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		effect      faults.Effect
		wantStatus  int
		wantBody    string
		wantHeaders map[string]string
	}{
		{"default body", faults.Effect{Kind: "error", Status: 503}, 503,
			`{"statusCode":503,"message":"Injected fault","error":"Service Unavailable"}`,
			map[string]string{"Content-Type": "application/json"}},
		{"body and headers", faults.Effect{Kind: "error", Status: 429, Body: json.RawMessage(`{"statusCode":429,"message":"Too many"}`),
			Headers: map[string]string{"retry-after": "7", "X-RateLimit-Remaining": "0"}}, 429,
			`{"statusCode":429,"message":"Too many"}`,
			map[string]string{"Content-Type": "application/json", "Retry-After": "7", "X-Ratelimit-Remaining": "0"}},
		{"content type overridden", faults.Effect{Kind: "error", Status: 500, Body: json.RawMessage(`"plain"`),
			Headers: map[string]string{"Content-Type": "application/problem+json"}}, 500,
			`"plain"`, map[string]string{"Content-Type": "application/problem+json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := faults.New(faults.Options{Logger: discard()})
			mustAdd(t, in, faults.Rule{Match: faults.Match{Operation: "get-contact"}, Effect: tt.effect})
			tw := newTwin(t, in)
			srv := newServer(t, tw, 10*time.Second)
			resp, err := srv.client.Get(srv.URL + "/contacts/c1")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if n := tw.calls.Load(); n != 0 {
				t.Errorf("handler called %d times", n)
			}
		})
	}
}

// sleeper is a fake Sleep that records what it is asked to wait.
type sleeper struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return ctx.Err()
}

func (s *sleeper) slept() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ds)
}

func TestEffect_Latency(t *testing.T) {
	t.Parallel()
	ms := func(n int) faults.Duration { return faults.Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name    string
		latency faults.Latency
		check   func(d time.Duration) bool
		zeroes  bool // some draws are clamped at 0
	}{
		{"fixed", faults.Latency{Distribution: "fixed", Fixed: ms(250)},
			func(d time.Duration) bool { return d == 250*time.Millisecond }, false},
		{"uniform", faults.Latency{Distribution: "uniform", Min: ms(100), Max: ms(200)},
			func(d time.Duration) bool { return d >= 100*time.Millisecond && d <= 200*time.Millisecond }, false},
		{"normal clamped", faults.Latency{Distribution: "normal", Mean: ms(10), StdDev: ms(50)},
			func(d time.Duration) bool { return d >= 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &sleeper{}
			in := faults.New(faults.Options{Seed: 3, Sleep: s.Sleep, Logger: discard()})
			l := tt.latency
			mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindLatency, Latency: &l}})
			tw := newTwin(t, in)
			srv := newServer(t, tw, 10*time.Second)
			const n = 30
			for range n {
				resp, err := srv.client.Get(srv.URL + "/contacts/c1")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
			}
			slept := s.slept()
			if len(slept) != n || tw.calls.Load() != n {
				t.Fatalf("slept %d times, handler called %d times, want %d", len(slept), tw.calls.Load(), n)
			}
			distinct := map[time.Duration]bool{}
			for _, d := range slept {
				if !tt.check(d) {
					t.Errorf("slept %v", d)
				}
				distinct[d] = true
			}
			if tt.name != "fixed" && len(distinct) < 10 {
				t.Errorf("only %d distinct durations: %v", len(distinct), slept)
			}
			if tt.zeroes && !distinct[0] {
				t.Errorf("no draw clamped at 0: %v", slept)
			}
		})
	}
}

// A latency cut short by the client going away answers nothing, and the real
// Sleep stops on the context.
func TestEffect_LatencyCancelled(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()}) // the real Sleep
	mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindLatency,
		Latency: &faults.Latency{Distribution: "fixed", Fixed: faults.Duration(time.Hour)}}})
	tw := newTwin(t, in)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec, aborted := serve(t, tw, get("/contacts/c1").WithContext(ctx))
	if !aborted || rec.Body.Len() != 0 || tw.calls.Load() != 0 {
		t.Errorf("aborted %v, body %q, handler called %d times", aborted, rec.Body, tw.calls.Load())
	}
}

func TestEffect_Reset(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()})
	mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindReset}})
	tw := newTwin(t, in)
	srv := newServer(t, tw, 10*time.Second)
	resp, err := srv.client.Get(srv.URL + "/contacts/c1")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want an error", resp.StatusCode)
	}
	if msg := err.Error(); !strings.Contains(msg, "reset") && !strings.Contains(msg, "EOF") {
		t.Errorf("error %q, want a reset or EOF", msg)
	}
	srv.waitReturned(t)
	if n := tw.calls.Load(); n != 0 {
		t.Errorf("handler called %d times", n)
	}

	// In process, the writer cannot be hijacked: the handler aborts.
	rec, aborted := serve(t, tw, get("/contacts/c1"))
	if !aborted || rec.Body.Len() != 0 {
		t.Errorf("in process: aborted %v, body %q", aborted, rec.Body)
	}
}

func TestEffect_Hang(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()})
	mustAdd(t, in, faults.Rule{Effect: faults.Effect{Kind: faults.KindHang}})
	tw := newTwin(t, in)
	srv := newServer(t, tw, 300*time.Millisecond)
	resp, err := srv.client.Get(srv.URL + "/contacts/c1")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want a timeout", resp.StatusCode)
	}
	var nerr net.Error
	if !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("error %v, want a timeout", err)
	}
	// The client gave up: the handler returns without answering.
	srv.waitReturned(t)
	if n := tw.calls.Load(); n != 0 {
		t.Errorf("handler called %d times", n)
	}

	// In process, it returns once the context is done.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec, aborted := serve(t, tw, get("/contacts/c1").WithContext(ctx))
	if !aborted || rec.Body.Len() != 0 {
		t.Errorf("in process: aborted %v, body %q", aborted, rec.Body)
	}
}

func TestEffect_Truncate(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{Logger: discard()})
	mustAdd(t, in, faults.Rule{Match: faults.Match{Method: "GET"}, Effect: faults.Effect{Kind: faults.KindTruncate}})
	tw := newTwin(t, in)
	full, _ := json.Marshal(map[string]any{"id": "c1", "padding": padding})

	srv := newServer(t, tw, 10*time.Second)
	resp, err := srv.client.Get(srv.URL + "/contacts/c1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error %v, want unexpected EOF", err)
	}
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(full)) || resp.Header.Get("Content-Type") == "" {
		t.Errorf("status %d, Content-Length %d (want %d), Content-Type %q",
			resp.StatusCode, resp.ContentLength, len(full), resp.Header.Get("Content-Type"))
	}
	if want := full[:len(full)/2]; !bytes.Equal(body, want) {
		t.Errorf("body %q, want %q", body, want)
	}
	srv.waitReturned(t)
	if n := tw.calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}

	// In process: half the body, then an abort.
	rec, aborted := serve(t, tw, get("/contacts/c1"))
	if !aborted || rec.Body.Len() != len(full)/2 || rec.Header().Get("Content-Length") != jsonLen(full) {
		t.Errorf("in process: aborted %v, body %d bytes, Content-Length %q", aborted, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// TestEffect_After: error, reset and hang after the write let the handler
// run once and then fail the answer; the exchange names the rule and the
// status the handler answered.
func TestEffect_After(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		effect faults.Effect
		check  func(t *testing.T, resp *http.Response, err error)
	}{
		{"error", faults.Effect{Kind: faults.KindError, Status: http.StatusBadGateway, After: true},
			func(t *testing.T, resp *http.Response, err error) {
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "Injected fault") {
					t.Errorf("got %d %s, want the injected 502", resp.StatusCode, body)
				}
			}},
		{"reset", faults.Effect{Kind: faults.KindReset, After: true},
			func(t *testing.T, resp *http.Response, err error) {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %d, want an error", resp.StatusCode)
				}
			}},
		{"hang", faults.Effect{Kind: faults.KindHang, After: true},
			func(t *testing.T, resp *http.Response, err error) {
				var nerr net.Error
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got %d, want a timeout", resp.StatusCode)
				}
				if !errors.As(err, &nerr) || !nerr.Timeout() {
					t.Errorf("error %v, want a timeout", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := faults.New(faults.Options{Logger: discard()})
			mustAdd(t, in, faults.Rule{ID: "late", Match: faults.Match{Operation: "create-contact"}, Effect: tt.effect})
			seen := make(chan [2]any, 1)
			tw := &twin{}
			tw.Handler = pipelinetest.New(t, pipeline.Config{
				Handlers: map[string]pipeline.HandlerFunc{
					"create-contact": func(*pipeline.Request) (pipeline.Response, error) {
						tw.calls.Add(1)
						return pipeline.JSON(http.StatusCreated, map[string]any{"id": "new"}), nil
					},
				},
				Outer: []pipeline.Middleware{func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						defer func() {
							x := pipeline.ExchangeFrom(r.Context())
							seen <- [2]any{x.Fault, x.HandlerStatus}
						}()
						next.ServeHTTP(w, r)
					})
				}, in.Middleware()},
			})
			srv := newServer(t, tw, 300*time.Millisecond)
			resp, err := srv.client.Post(srv.URL+"/contacts", "application/json", strings.NewReader(`{"firstName":"A"}`))
			tt.check(t, resp, err)
			srv.waitReturned(t)
			if n := tw.calls.Load(); n != 1 {
				t.Errorf("handler called %d times, want 1", n)
			}
			if got := <-seen; got != [2]any{"late", http.StatusCreated} {
				t.Errorf("exchange fault and handler status %v, want [late 201]", got)
			}
		})
	}
}

func jsonLen(b []byte) string { n, _ := json.Marshal(len(b)); return string(n) }

func TestInjector_AddListDeleteClear(t *testing.T) {
	t.Parallel()
	in := faults.New(faults.Options{})
	errEffect := faults.Effect{Kind: faults.KindError, Status: 500, Headers: map[string]string{"X-A": "1"}}
	a := mustAdd(t, in, faults.Rule{Effect: errEffect, Applied: 99})
	b := mustAdd(t, in, faults.Rule{ID: "mine", Effect: errEffect})
	c := mustAdd(t, in, faults.Rule{Effect: errEffect})
	if a.ID != "fault-1" || b.ID != "mine" || c.ID != "fault-2" || a.Applied != 0 {
		t.Errorf("ids %q %q %q, Applied %d", a.ID, b.ID, c.ID, a.Applied)
	}
	if _, err := in.Add(faults.Rule{ID: "mine", Effect: errEffect}); !errors.Is(err, faults.ErrDuplicate) {
		t.Errorf("Add duplicate = %v, want ErrDuplicate", err)
	}
	if _, err := in.Add(faults.Rule{ID: "fault-3", Effect: errEffect}); err != nil {
		t.Fatal(err)
	}
	if d := mustAdd(t, in, faults.Rule{Effect: errEffect}); d.ID != "fault-4" {
		t.Errorf("assigned %q after a taken id, want fault-4", d.ID)
	}
	ids := func() []string {
		var out []string
		for _, r := range in.List() {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"fault-1", "mine", "fault-2", "fault-3", "fault-4"}) {
		t.Errorf("List ids %v", got)
	}
	// List returns copies.
	in.List()[0].Effect.Headers["X-A"] = "changed"
	if got := in.List()[0].Effect.Headers["X-A"]; got != "1" {
		t.Errorf("List aliases the stored rule: header %q", got)
	}
	if err := in.Delete("mine"); err != nil {
		t.Fatal(err)
	}
	if err := in.Delete("mine"); !errors.Is(err, faults.ErrNotFound) {
		t.Errorf("Delete twice = %v, want ErrNotFound", err)
	}
	if err := in.Delete("nope"); !errors.Is(err, faults.ErrNotFound) {
		t.Errorf("Delete unknown = %v, want ErrNotFound", err)
	}
	if got := ids(); !slices.Equal(got, []string{"fault-1", "fault-2", "fault-3", "fault-4"}) {
		t.Errorf("List ids after Delete %v", got)
	}
	in.Clear()
	if got := in.List(); len(got) != 0 {
		t.Errorf("List after Clear = %v", got)
	}
	if e := mustAdd(t, in, faults.Rule{Effect: errEffect}); e.ID != "fault-5" {
		t.Errorf("id after Clear %q, want fault-5", e.ID)
	}
}

func TestRule_JSONAndYAML(t *testing.T) {
	t.Parallel()
	const js = `{"id":"slow","match":{"operation":"get-contact","method":"GET","path":"/contacts/*","location":"L1"},` +
		`"effect":{"kind":"latency","latency":{"distribution":"uniform","min":"100ms","max":"1.5s"}},"probability":0.5,"times":3,"applied":0}`
	var r faults.Rule
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if r.Effect.Latency.Min.D() != 100*time.Millisecond || r.Effect.Latency.Max.D() != 1500*time.Millisecond || r.Match.Location != "L1" {
		t.Errorf("decoded %+v %+v", r, r.Effect.Latency)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != js {
		t.Errorf("JSON round trip:\n%s\nwant\n%s", out, js)
	}

	const ym = `id: teapot
match: {path: /contacts/**}
effect:
  kind: error
  status: 418
  body: {statusCode: 418, message: [short, stout]}
  headers: {Retry-After: "2"}
times: 1
`
	var y faults.Rule
	if err := yaml.Unmarshal([]byte(ym), &y); err != nil {
		t.Fatal(err)
	}
	if string(y.Effect.Body) != `{"message":["short","stout"],"statusCode":418}` || y.Effect.Status != 418 || y.Times != 1 || y.Match.Path != "/contacts/**" {
		t.Errorf("decoded %+v body %s", y, y.Effect.Body)
	}
	var late faults.Rule
	if err := yaml.Unmarshal([]byte("effect: {kind: reset, after: true}\n"), &late); err != nil || !late.Effect.After {
		t.Errorf("after: decoded %+v, %v", late.Effect, err)
	}
	if out, err := yaml.Marshal(late); err != nil || !strings.Contains(string(out), "after: true") {
		t.Errorf("after: YAML %s, %v", out, err)
	}
	if out, err := json.Marshal(late); err != nil || !strings.Contains(string(out), `"after":true`) {
		t.Errorf("after: JSON %s, %v", out, err)
	}
	yout, err := yaml.Marshal(faults.Rule{ID: "x", Effect: faults.Effect{Kind: "latency",
		Latency: &faults.Latency{Distribution: "fixed", Fixed: faults.Duration(250 * time.Millisecond)}}})
	if err != nil {
		t.Fatal(err)
	}
	var back faults.Rule
	if err := yaml.Unmarshal(yout, &back); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(yout), "fixed: 250ms") || back.Effect.Latency.Fixed.D() != 250*time.Millisecond {
		t.Errorf("YAML:\n%s", yout)
	}

	for _, bad := range []string{`{"effect":{"kind":"latency","latency":{"distribution":"fixed","fixed":250}}}`,
		`{"effect":{"kind":"latency","latency":{"distribution":"fixed","fixed":"soon"}}}`} {
		if err := json.Unmarshal([]byte(bad), &faults.Rule{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestLog(t *testing.T) {
	t.Parallel()
	var buf lockedbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in := faults.New(faults.Options{Logger: log})
	mustAdd(t, in, faults.Rule{ID: "boom", Effect: faults.Effect{Kind: faults.KindError, Status: 500}})
	tw := newTwin(t, in)
	req := get("/contacts/c1")
	req.Header.Set("Authorization", "Bearer s3cret")
	serve(t, tw, req)
	got := buf.String()
	for _, want := range []string{"level=DEBUG", "rule=boom", "operation=get-contact", "kind=error"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %s", got, want)
		}
	}
	if strings.Contains(got, "s3cret") {
		t.Errorf("log %q has a header", got)
	}
}

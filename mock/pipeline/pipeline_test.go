package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
)

type fixture struct {
	handlers map[string]pipeline.HandlerFunc
	strict   bool
}

// errGone is an error of the API's own, which its mapper words.
var errGone = errors.New("thing gone")

// mapGone is the API's error mapper: it knows errGone only.
func mapGone(err error) *pipeline.Error {
	if errors.Is(err, errGone) {
		return &pipeline.Error{Status: http.StatusGone, Messages: []string{"Thing gone"}, Err: err}
	}
	return nil
}

func (f fixture) build(t *testing.T) http.Handler {
	t.Helper()
	return pipelinetest.New(t, pipeline.Config{Handlers: f.handlers, Strict: f.strict, MapError: mapGone})
}

type result struct {
	status int
	body   map[string]any
}

func do(t *testing.T, h http.Handler, method, path, token, body string) result {
	t.Helper()
	rec := pipelinetest.Serve(h, pipelinetest.NewRequest(method, path, token, body))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return result{rec.Code, out}
}

func TestPipeline_Answers(t *testing.T) {
	t.Parallel()
	drift := func(*pipeline.Request) (pipeline.Response, error) {
		return pipeline.JSON(http.StatusOK, map[string]any{"name": 5}), nil
	}
	tests := []struct {
		name       string
		fx         fixture
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"ok", fixture{strict: true}, "GET", "/things/a", "good", "", 200, ""},
		{"unknown route", fixture{}, "GET", "/nope", "good", "", 404, "Cannot GET /nope"},
		{"no token", fixture{}, "GET", "/things/a", "", "", 401, "Invalid token: access token is invalid"},
		{"missing scope", fixture{}, "GET", "/things/a", "noscope", "", 401, "The token is not authorized for this scope."},
		{"body type", fixture{}, "POST", "/things", "", `{"name":1}`, 422, "name must be a string"},
		{"body maximum", fixture{}, "POST", "/things", "", `{"name":"x","size":11}`, 422, "size must be at most 10"},
		{"body missing field", fixture{}, "POST", "/things", "", `{}`, 422, "name should not be empty"},
		{"malformed json", fixture{}, "POST", "/things", "", `{`, 400, "Request body is not valid JSON"},
		{"the API's error, wrapped, in its words", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			return pipeline.Response{}, fmt.Errorf("get thing a: %w", errGone)
		}}}, "GET", "/things/a", "good", "", 410, "Thing gone"},
		{"drift passes when not strict", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": drift}}, "GET", "/things/a", "good", "", 200, ""},
		{"drift is a 500 when strict", fixture{strict: true, handlers: map[string]pipeline.HandlerFunc{"get-thing": drift}}, "GET", "/things/a", "good", "", 500, "strict mode: response does not match the spec"},
		{"panic is a 500", fixture{strict: true, handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			panic("boom")
		}}}, "GET", "/things/a", "good", "", 500, "Internal server error"},
		{"unknown error is a 500", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			return pipeline.Response{}, errors.New("disk on fire")
		}}}, "GET", "/things/a", "good", "", 500, "Internal server error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, tc.fx.build(t), tc.method, tc.path, tc.token, tc.body)
			if got.status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %v)", got.status, tc.wantStatus, got.body)
			}
			if tc.wantMsg == "" {
				return
			}
			msgs, _ := json.Marshal(got.body["messages"])
			if !strings.Contains(string(msgs), tc.wantMsg) {
				t.Fatalf("messages %s, want one containing %q", msgs, tc.wantMsg)
			}
			if strings.Contains(string(msgs), "disk on fire") {
				t.Fatalf("internal error text leaked to the client: %s", msgs)
			}
		})
	}
}

func TestPipeline_RefusesMissingOrExtraHandlers(t *testing.T) {
	t.Parallel()
	spec := pipelinetest.LoadSpec(t)
	ok := func(*pipeline.Request) (pipeline.Response, error) { return pipeline.Response{}, nil }
	all := map[string]pipeline.HandlerFunc{}
	for _, op := range spec.Operations() {
		all[op.ID] = ok
	}
	if _, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: all, RenderError: pipelinetest.Render}); err != nil {
		t.Fatalf("one handler per operation: %v", err)
	}
	missing := maps.Clone(all)
	delete(missing, "create-thing")
	extra := maps.Clone(all)
	extra["delete-thing"] = ok
	for name, handlers := range map[string]map[string]pipeline.HandlerFunc{
		"missing": missing,
		"extra":   extra,
	} {
		_, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: handlers, RenderError: pipelinetest.Render})
		if !errors.Is(err, pipeline.ErrMissingHandler) {
			t.Errorf("%s handler: err = %v, want ErrMissingHandler", name, err)
		}
	}
}

// TestPipeline_Streamed: a streamed operation's handler reads its body
// itself, past MaxBodyBytes and unvalidated, up to its own limit; other
// operations keep MaxBodyBytes.
func TestPipeline_Streamed(t *testing.T) {
	t.Parallel()
	var read int
	var readErr error
	h := pipelinetest.New(t, pipeline.Config{
		Handlers: map[string]pipeline.HandlerFunc{"create-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			var n int64
			n, readErr = io.Copy(io.Discard, r.HTTP.Body)
			read = int(n)
			if readErr != nil {
				return pipeline.Response{}, pipeline.BadRequest(readErr.Error())
			}
			return pipeline.JSON(http.StatusCreated, map[string]any{"read": n}), nil
		}},
		Streamed: map[string]int64{"create-thing": 3 << 20},
		Strict:   true,
	})
	// Not what the spec's body schema asks for, and twice MaxBodyBytes.
	body := `"` + strings.Repeat("x", 2*pipeline.MaxBodyBytes) + `"`
	if r := do(t, h, "POST", "/things", "", body); r.status != http.StatusCreated || read != len(body) {
		t.Fatalf("streamed: %d %v, read %d of %d bytes (%v)", r.status, r.body, read, len(body), readErr)
	}
	over := strings.Repeat("x", 3<<20+1)
	var tooLarge *http.MaxBytesError
	if r := do(t, h, "POST", "/things", "", over); r.status != http.StatusBadRequest || !errors.As(readErr, &tooLarge) || tooLarge.Limit != 3<<20 {
		t.Errorf("over the limit: %d, read error %v", r.status, readErr)
	}

	plain := pipelinetest.New(t, pipeline.Config{})
	if r := do(t, plain, "POST", "/things", "", body); r.status != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(r.body), fmt.Sprintf("larger than %d bytes", pipeline.MaxBodyBytes)) {
		t.Errorf("not streamed: %d %v", r.status, r.body)
	}
}

func TestPipeline_TakesABodyReadBeforeWithoutReadingAgain(t *testing.T) {
	t.Parallel()
	body := []byte(`{"name":"x"}`)
	var got []byte
	// An outer stage that read the body whole, as the journal does, over a
	// body that may not be read again.
	readFirst := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = pipeline.NewBody(body, io.NopCloser(errorReader{}))
			next.ServeHTTP(w, r)
		})
	}
	h := pipelinetest.New(t, pipeline.Config{Outer: []pipeline.Middleware{readFirst}, Handlers: map[string]pipeline.HandlerFunc{
		"create-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			got = r.Body
			return pipeline.JSON(http.StatusCreated, map[string]any{}), nil
		}}})
	rec := pipelinetest.Serve(h, pipelinetest.NewRequest("POST", "/things", "", `{"name":"ignored: the stage replaced it"}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if len(got) == 0 || &got[0] != &body[0] {
		t.Errorf("the handler's body %q is not the bytes the first stage read", got)
	}
	// The validator still sees it: a body that breaks the schema is refused.
	body = []byte(`{"name":1}`)
	if rec := pipelinetest.Serve(h, pipelinetest.NewRequest("POST", "/things", "", `{}`)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("invalid body read first: status %d %s", rec.Code, rec.Body)
	}
}

// TestPipeline_ReplaysABodyReadBefore: the handler reads the whole body
// from its start, and so does kin-openapi, whether the stage that read it
// first left its Body unread or read part of it.
func TestPipeline_ReplaysABodyReadBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		read       int // of the Body, by the first stage
		wantStatus int
	}{
		{"unread", `{"name":"x"}`, 0, http.StatusCreated},
		{"read in part", `{"name":"x"}`, 3, http.StatusCreated},
		{"unread, refused by kin-openapi", `{"name":1}`, 0, http.StatusUnprocessableEntity},
		{"read in part, refused by kin-openapi", `{"name":1}`, 3, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			readFirst := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b := pipeline.NewBody([]byte(tc.body), io.NopCloser(errorReader{}))
					if _, err := io.ReadFull(b, make([]byte, tc.read)); err != nil {
						t.Error(err)
					}
					r.Body = b
					next.ServeHTTP(w, r)
				})
			}
			var got string
			h := pipelinetest.New(t, pipeline.Config{Outer: []pipeline.Middleware{readFirst}, Handlers: map[string]pipeline.HandlerFunc{
				"create-thing": func(r *pipeline.Request) (pipeline.Response, error) {
					all, err := io.ReadAll(r.HTTP.Body)
					got = string(all)
					return pipeline.JSON(http.StatusCreated, map[string]any{}), err
				}}})
			rec := pipelinetest.Serve(h, pipelinetest.NewRequest("POST", "/things", "", tc.body))
			if rec.Code != tc.wantStatus || (tc.wantStatus == http.StatusCreated && got != tc.body) {
				t.Errorf("status %d %s, the handler read %q; want %d and %q", rec.Code, rec.Body, got, tc.wantStatus, tc.body)
			}
		})
	}
}

func TestBody_ReadsItsBytes(t *testing.T) {
	t.Parallel()
	closed := false
	b := pipeline.NewBody([]byte("hello"), closerFunc(func() error { closed = true; return nil }))
	part := make([]byte, 2)
	if n, err := b.Read(part); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	rest, err := io.ReadAll(b)
	if string(rest) != "llo" || err != nil {
		t.Errorf("rest = %q, %v", rest, err)
	}
	if string(b.Bytes()) != "hello" {
		t.Errorf("Bytes = %q after reading, want the whole body", b.Bytes())
	}
	if err := b.Close(); err != nil || !closed {
		t.Errorf("Close = %v, closed the original %v", err, closed)
	}
}

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("the body was read already") }

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// TestPipeline_WritesJSONPartsJoined: a JSONParts body is written as its
// parts joined, in strict mode too (a drifting one is refused), while many
// responses of different sizes share the pipeline's buffers.
func TestPipeline_WritesJSONPartsJoined(t *testing.T) {
	t.Parallel()
	h := fixture{strict: true, handlers: map[string]pipeline.HandlerFunc{"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
		if r.Path["id"] == "drift" {
			return pipeline.JSON(http.StatusOK, pipeline.JSONParts{[]byte(`{"name":`), []byte(`5}`)}), nil
		}
		return pipeline.JSON(http.StatusOK, pipeline.JSONParts{[]byte(`{"name":"`), []byte(r.Path["id"]), []byte(`"}`)}), nil
	}}}.build(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := strings.Repeat(string(rune('a'+g)), 1+(i*37)%300)
				rec := pipelinetest.Serve(h, pipelinetest.NewRequest("GET", "/things/"+id, "good", ""))
				if want := `{"name":"` + id + `"}`; rec.Code != http.StatusOK || rec.Body.String() != want {
					t.Errorf("GET /things/%s: %d %s, want 200 %s", id, rec.Code, rec.Body, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := do(t, h, "GET", "/things/drift", "good", ""); got.status != http.StatusInternalServerError {
		t.Errorf("drifting parts in strict mode: %d %v, want 500", got.status, got.body)
	}
}

func TestPipeline_CallsDoneOnceTheBodyIsWritten(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		var rec *httptest.ResponseRecorder
		var written []string // what the client had when Done was called
		h := pipelinetest.New(t, pipeline.Config{Strict: strict, Handlers: map[string]pipeline.HandlerFunc{
			"get-open": func(*pipeline.Request) (pipeline.Response, error) {
				return pipeline.Response{Status: http.StatusOK, Body: pipeline.JSONParts{[]byte(`{"a":`), []byte(`1}`)},
					Done: func() { written = append(written, rec.Body.String()) }}, nil
			},
		}})
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, pipelinetest.NewRequest("GET", "/open", "", ""))
		if rec.Code != http.StatusOK || len(written) != 1 || written[0] != `{"a":1}` {
			t.Errorf("strict %v: %d %s; Done called %d times, after %q", strict, rec.Code, rec.Body, len(written), written)
		}
	}
}

type parentKey struct{}

// TestPipeline_ContextCarriesTheExchange: a request's context inside the
// pipeline is its parent's, with the exchange: it keeps the parent's values
// and cancellation, and a context derived from it still holds the exchange
// and is cancelled with the parent, at once.
func TestPipeline_ContextCarriesTheExchange(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "parent's"))
	defer cancel()
	var problems []string
	h := fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
		ctx := r.HTTP.Context()
		derived, stop := context.WithCancel(context.WithValue(ctx, parentKey{}, "derived"))
		defer stop()
		x := pipeline.ExchangeFrom(ctx)
		if x == nil || x.OperationID() != "get-thing" || x.Principal != r.Principal {
			problems = append(problems, fmt.Sprintf("the request's exchange is %+v", x))
		}
		if got := pipeline.ExchangeFrom(derived); got != x {
			problems = append(problems, "a derived context holds another exchange")
		}
		if got := ctx.Value(parentKey{}); got != "parent's" {
			problems = append(problems, fmt.Sprintf("the parent's value is %v", got))
		}
		cancel()
		if ctx.Err() == nil || derived.Err() == nil {
			problems = append(problems, fmt.Sprintf("after the parent's cancel: %v and derived %v", ctx.Err(), derived.Err()))
		}
		return pipeline.JSON(http.StatusOK, map[string]any{"name": "a"}), nil
	}}}.build(t)
	rec := pipelinetest.Serve(h, pipelinetest.NewRequest("GET", "/things/a", "good", "").WithContext(parent))
	if rec.Code != http.StatusOK || len(problems) > 0 {
		t.Errorf("%d %s: %s", rec.Code, rec.Body, strings.Join(problems, "; "))
	}
}

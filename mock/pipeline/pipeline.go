// Package pipeline is the one middleware chain every twin runs, built from a
// spec: it routes a request to its operation, authenticates it against the
// operation's security, validates it, calls the operation's handler and
// writes (and, in strict mode, validates) the response.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/contactbridge/contactbridge/internal/jsonguard"
	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/openapi"
)

// MaxBodyBytes is the largest request body the twins read.
const MaxBodyBytes = 1 << 20

// Request is what a handler gets: the request, its matched operation, the
// path parameters, the raw body and the authenticated principal.
type Request struct {
	HTTP      *http.Request
	Operation *openapi.Operation
	Path      map[string]string
	Query     url.Values
	Body      []byte
	// Value is Body as the validator decoded it when it checked it against
	// the operation's schema (objects as map[string]any, numbers as
	// json.Number, the last of duplicate keys), or nil when kin-openapi's
	// own pass validated the body. A handler may build its input from it
	// instead of decoding Body again, keeping Decode's rules: a key that
	// names a field only in another case is refused.
	Value     any
	Principal *auth.Principal
}

// Context returns the request's context.
func (r *Request) Context() context.Context { return r.HTTP.Context() }

// Decode unmarshals the body into v, matching keys to v's fields by their
// exact case, as the spec's validator does: a key that names a field only in
// another case ("FirstName") is refused with a 422, never stored past the
// validator's limits for the field.
func (r *Request) Decode(v any) error {
	if err := jsonguard.Unmarshal(r.Body, v); err != nil {
		var keyErr *jsonguard.KeyError
		if errors.As(err, &keyErr) {
			return &Error{Status: http.StatusUnprocessableEntity, Messages: []string{keyErr.Error()},
				Meta: map[string]any{keyErr.Key: "is not a known property"}, Err: err}
		}
		return BadRequest(clip("Invalid JSON body: " + err.Error()))
	}
	return nil
}

// Body is a request body read whole, within MaxBodyBytes, by the stage that
// read it first (the journal): it replays the bytes to a reader, and the
// later stages take them with Bytes instead of reading and copying them
// again.
type Body struct {
	data []byte
	r    bytes.Reader
	c    io.Closer
}

// NewBody returns a Body of data, the whole of a body that closes with c.
func NewBody(data []byte, c io.Closer) *Body {
	b := &Body{data: data, c: c}
	b.r.Reset(data)
	return b
}

// Read reads the body.
func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// Close closes the body the bytes were read from.
func (b *Body) Close() error { return b.c.Close() }

// Bytes returns the whole body, whatever has been read of it; it must not be
// changed.
func (b *Body) Bytes() []byte { return b.data }

// Response is what a handler returns; the pipeline writes it.
type Response struct {
	Status int
	Header http.Header
	Body   any
	// Done, when set, is called once Body is written (or failed to be):
	// the memory Body is held in is the handler's to reuse from then on
	// (a JSONParts' slice, say; its parts never change).
	Done func()
}

// JSONContentType is the content type of the JSON the pipeline writes.
const JSONContentType = "application/json; charset=utf-8"

// RawJSON is a body already encoded as JSON, written as is. It must never
// change once handed over: a stage may keep it past the write (PartsOf).
type RawJSON []byte

// MarshalJSON returns j, so that a RawJSON body encodes as the JSON it holds
// wherever it is encoded.
func (j RawJSON) MarshalJSON() ([]byte, error) { return j, nil }

// JSONParts is a body already encoded as JSON in parts, written as their
// concatenation: a page of cached renderings with the JSON around them, say.
// The pipeline joins the parts in a buffer it reuses from one response to
// the next, so that a large body costs no allocation (and no clearing of
// one) on each request. The parts must never change once handed over: a
// stage may keep them past the write (PartsOf).
type JSONParts [][]byte

// Len is the length of the body the parts make.
func (p JSONParts) Len() int {
	n := 0
	for _, b := range p {
		n += len(b)
	}
	return n
}

// AppendTo appends the body the parts make to dst.
func (p JSONParts) AppendTo(dst []byte) []byte {
	for _, b := range p {
		dst = append(dst, b...)
	}
	return dst
}

// MarshalJSON returns the parts joined, so that a JSONParts body encodes as
// the JSON it holds wherever it is encoded.
func (p JSONParts) MarshalJSON() ([]byte, error) { return p.AppendTo(make([]byte, 0, p.Len())), nil }

// joinBuffers are the buffers Write joins JSONParts in; maxJoinBuffer is
// the largest kept for reuse (a larger one is left to the collector).
var joinBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxJoinBuffer = 1 << 20

// Raw is a body written as is, with its content type.
type Raw struct {
	ContentType string
	Data        []byte
}

// Stream is a body its handler writes as it comes (server-sent events): the
// pipeline writes the status and headers with ContentType, then calls Serve
// once, which returns when the stream ends. Strict mode checks the status and
// headers only.
type Stream struct {
	ContentType string
	Serve       func(w http.ResponseWriter)
}

// JSON is a response with a status and a body.
func JSON(status int, body any) Response { return Response{Status: status, Body: body} }

// HandlerFunc serves one operation.
type HandlerFunc func(r *Request) (Response, error)

// Authenticator returns the principal of an Authorization header value.
type Authenticator interface {
	Authenticate(header string) (*auth.Principal, error)
}

// Middleware wraps the rest of the chain. It reads the exchange with
// ExchangeFrom and answers errors with Exchange.Fail.
type Middleware func(http.Handler) http.Handler

// Config assembles a pipeline.
type Config struct {
	Spec *openapi.Spec
	// Handlers serve the operations, by operationId. Every operation of the
	// spec must have one.
	Handlers map[string]HandlerFunc
	Auth     Authenticator
	// RenderError writes the API's error envelope.
	RenderError ErrorRenderer
	// MapError words the errors of the API's packages (nil: none are
	// known). The pipeline maps an *Error and the auth package's errors
	// itself.
	MapError ErrorMapper
	// Strict validates every response against the spec and answers 500 when
	// one does not match.
	Strict bool
	// ScopeDeniedStatus answers a token without the operation's scope: 401
	// as the live HighLevel API does (also when 0), or 403 as RFC 6750 says.
	ScopeDeniedStatus int
	// Challenge, when set, is sent as WWW-Authenticate with every 401.
	Challenge string
	// Outer middlewares run first, before authentication (journal, faults).
	Outer []Middleware
	// Inner middlewares run after authentication, before the scope check
	// and validation (limits).
	Inner []Middleware
	// Streamed names, by operationId, the operations whose handlers read
	// their body as a stream (Request.HTTP.Body), and the most bytes each
	// may read: past it, reading fails with an *http.MaxBytesError. The
	// pipeline neither reads their body (MaxBodyBytes does not apply) nor
	// validates it against the spec; their handlers check what they decode.
	Streamed map[string]int64
	Logger   *slog.Logger
}

// Pipeline is an http.Handler that serves one spec.
type Pipeline struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	// validated are the routes kin-openapi validates requests on, by
	// operationId: the spec's, without security requirements, which the
	// pipeline checks itself (kin's check, with no authenticator, only
	// reads the body once more).
	validated map[string]*routers.Route
	// bodies are the JSON bodies the pipeline checks itself, by
	// operationId (see jsonBody).
	bodies map[string]*jsonBody
	// accepted are the bodiless requests kin-openapi has accepted.
	accepted *acceptedMemo
}

// ErrMissingHandler is returned by New when an operation has no handler or a
// handler has no operation.
var ErrMissingHandler = errors.New("pipeline: operations and handlers differ")

// New builds the pipeline for cfg.
func New(cfg Config) (*Pipeline, error) {
	for _, op := range cfg.Spec.Operations() {
		if cfg.Handlers[op.ID] == nil {
			return nil, fmt.Errorf("%w: operation %s (%s %s) has no handler", ErrMissingHandler, op.ID, op.Method, op.Path)
		}
	}
	for id := range cfg.Handlers {
		if _, ok := cfg.Spec.Operation(id); !ok {
			return nil, fmt.Errorf("%w: handler %s has no operation in %s", ErrMissingHandler, id, cfg.Spec.File)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger.With(logkey.Component, "pipeline", logkey.Spec, cfg.Spec.File),
		validated: map[string]*routers.Route{}, bodies: map[string]*jsonBody{}, accepted: newAcceptedMemo()}
	for _, op := range cfg.Spec.Operations() {
		p.accepted.prepare(op.ID, cfg.Spec.Doc.Paths.Value(op.Path), op.Spec)
		if b := prepareJSONBody(cfg.Spec.Doc, op.Spec); b != nil {
			p.bodies[op.ID] = b
		}
		unsecured := *op.Spec
		unsecured.Security = &openapi3.SecurityRequirements{}
		p.validated[op.ID] = &routers.Route{Spec: cfg.Spec.Doc, Path: op.Path, PathItem: cfg.Spec.Doc.Paths.Value(op.Path),
			Method: op.Method, Operation: &unsecured}
	}
	var h http.Handler = http.HandlerFunc(p.dispatch)
	h = p.validateRequest(h)
	h = p.authorize(h)
	for i := len(cfg.Inner) - 1; i >= 0; i-- {
		h = cfg.Inner[i](h)
	}
	routed := p.authenticate(h)
	// The outer middlewares (journal, faults) see every request, unknown
	// routes included.
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := ExchangeFrom(r.Context())
		if x.Route == nil {
			// As the vendor's NestJS servers answer an unknown route.
			x.Fail(w, r, &Error{Status: http.StatusNotFound, Messages: []string{fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)}, Err: x.routeErr})
			return
		}
		routed.ServeHTTP(w, r)
	})
	for i := len(cfg.Outer) - 1; i >= 0; i-- {
		h = cfg.Outer[i](h)
	}
	p.handler = h
	return p, nil
}

// Exchange is one request on its way through the pipeline.
type Exchange struct {
	// Route is the matched operation; nil for a request that matches none
	// (the outer middlewares see those too).
	Route     *openapi.Route
	Principal *auth.Principal
	Body      []byte
	// Status is the status written, once written.
	Status int
	// Fault is the id of the fault rule that fired on the exchange, if any.
	Fault string
	// HandlerStatus is, when a fault came after the handler (an effect
	// After the write, or a truncate), the status the handler answered.
	HandlerStatus int

	p        *Pipeline
	routeErr error
	// validate is made the first time kin-openapi validates the exchange,
	// which most requests never need (acceptedMemo, the bodies decoded
	// here): kept apart, its 120 bytes are not made with every exchange.
	validate *validation
	query    url.Values // the request's query, once validateRequest has parsed it
	value    any        // the body as validateRequest decoded and checked it (Request.Value)
	// parts and joined are, while Write writes a JSONParts body, the parts
	// and the buffer it joined them in (see PartsOf).
	parts  JSONParts
	joined []byte
}

// PartsOf returns the parts of the JSONParts body being written when p is
// the whole of what Write joined them in (or, for a RawJSON body, the body
// as its one part when p is all of it): a stage that keeps what it passes
// on may keep the parts, which do not change, instead of a copy of p, which
// Write may reuse once it returns. It returns false for any other p.
func (x *Exchange) PartsOf(p []byte) (JSONParts, bool) {
	if x == nil || len(p) == 0 || len(p) != len(x.joined) || &p[0] != &x.joined[0] {
		return nil, false
	}
	return x.parts, true
}

// OperationID names the matched operation, or "" for an unknown route.
func (x *Exchange) OperationID() string {
	if x.Route == nil {
		return ""
	}
	return x.Route.Operation.ID
}

// validation is an exchange's input to kin-openapi's request validation,
// made with its options rather than each on its own.
type validation struct {
	input   openapi3filter.RequestValidationInput
	options openapi3filter.Options
}

type exchangeKey struct{}

// exchangeContext is the context of a request inside the pipeline: its
// parent's, carrying the exchange. It is one allocation where an exchange
// and context.WithValue's context are two.
type exchangeContext struct {
	context.Context
	x Exchange
}

func (c *exchangeContext) Value(key any) any {
	if key == (exchangeKey{}) {
		return &c.x
	}
	return c.Context.Value(key)
}

// ExchangeFrom returns the exchange of a request inside the pipeline.
func ExchangeFrom(ctx context.Context) *Exchange {
	x, _ := ctx.Value(exchangeKey{}).(*Exchange)
	return x
}

// ServeHTTP routes the request and runs the chain.
func (p *Pipeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := &exchangeContext{Context: r.Context(), x: Exchange{p: p}}
	x := &ctx.x
	x.Route, x.routeErr = p.cfg.Spec.FindRoute(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			p.log.ErrorContext(r.Context(), "handler panicked", logkey.Operation, x.OperationID(),
				logkey.Panic, v, logkey.Stack, string(debug.Stack()))
			if x.Status == 0 {
				x.Fail(w, r, fmt.Errorf("panic in %s: %v", x.OperationID(), v))
			}
		}
	}()
	p.handler.ServeHTTP(w, r.WithContext(ctx))
}

func (p *Pipeline) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := ExchangeFrom(r.Context())
		op := x.Route.Operation
		if op.Authenticated {
			principal, err := p.cfg.Auth.Authenticate(r.Header.Get("Authorization"))
			if err != nil {
				x.Fail(w, r, err)
				return
			}
			x.Principal = principal
		}
		next.ServeHTTP(w, r)
	})
}

// authorize refuses a principal without the operation's scopes. It runs
// after the inner middlewares, so a refused request still counts against the
// rate limits and carries their headers, as every authenticated one does.
func (p *Pipeline) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := ExchangeFrom(r.Context())
		op := x.Route.Operation
		if x.Principal != nil && !x.Principal.HasScopes(op.Scopes) {
			err := fmt.Errorf("%s needs %v: %w", op.ID, op.Scopes, auth.ErrScope)
			if p.cfg.ScopeDeniedStatus == http.StatusForbidden {
				e := *p.toError(err)
				e.Status = http.StatusForbidden
				err = &e
			}
			x.Fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Pipeline) validateRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := ExchangeFrom(r.Context())
		// A query that does not decode is refused, not read in part: the
		// standard library's Query drops what it cannot decode.
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			x.Fail(w, r, &Error{Status: http.StatusBadRequest, Err: err,
				Messages: []string{clip("Invalid query string: " + err.Error())}})
			return
		}
		// Parsed once, for the validator and the handler.
		x.query = query
		limit, streamed := p.cfg.Streamed[x.Route.Operation.ID]
		switch {
		case r.Body == nil || r.Body == http.NoBody:
		case streamed:
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			// The validator must not read the body: it sees none.
			bare := r.WithContext(r.Context())
			bare.Body = http.NoBody
			in := x.validationInput(bare)
			in.Options.ExcludeRequestBody = true
		default:
			body, err := readBody(w, r)
			if err != nil {
				x.Fail(w, r, BadRequest(fmt.Sprintf("Request body unreadable or larger than %d bytes", MaxBodyBytes)))
				return
			}
			// Bound the validator's work before it decodes anything: its
			// cost (and its error's) grows with the body's nesting.
			if err := jsonguard.CheckDepth(body, jsonguard.MaxDepth); err != nil {
				x.Fail(w, r, &Error{Status: http.StatusBadRequest, Err: err, Messages: []string{
					fmt.Sprintf("Request body nests deeper than %d levels", jsonguard.MaxDepth)}})
				return
			}
			// Text that is not UTF-8 is refused, never stored as U+FFFD.
			if err := jsonguard.CheckUTF8(body); err != nil {
				x.Fail(w, r, &Error{Status: http.StatusUnprocessableEntity, Err: err,
					Messages: []string{"Request body holds text that is not valid UTF-8"}})
				return
			}
			x.Body = body
			// The later stages read the body again from its start: a Body
			// no stage has read yet (the journal's) replays it as it is.
			if b, ok := r.Body.(*Body); !ok || b.r.Len() < len(b.data) {
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			if jb := p.bodies[x.Route.Operation.ID]; jb != nil {
				// Parameters by kin-openapi (or as it accepted them
				// before), the body here; when either fails, kin-openapi's
				// whole pass below words the errors.
				if p.paramsAccepted(x, r) {
					var ok bool
					if x.value, ok = jb.decode(r, body); ok {
						next.ServeHTTP(w, r)
						return
					}
				}
			}
		}
		var room [keyRoom]byte
		key, memo := p.accepted.key(room[:0], x.Route.Operation.ID, r)
		if !memo || !p.accepted.accepted(key) {
			if err := openapi3filter.ValidateRequest(r.Context(), x.validationInput(r)); err != nil {
				x.Fail(w, r, requestError(err))
				return
			}
			if memo {
				p.accepted.accept(key)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// paramsAccepted tells whether kin-openapi accepts the parameters of x's
// request r, its body left out, remembering its yes (acceptedMemo).
func (p *Pipeline) paramsAccepted(x *Exchange, r *http.Request) bool {
	var room [keyRoom]byte
	key, memo := p.accepted.paramsKey(room[:0], x.Route.Operation.ID, r)
	if memo && p.accepted.accepted(key) {
		return true
	}
	in := x.validationInput(r)
	in.Options.ExcludeRequestBody = true
	err := openapi3filter.ValidateRequest(r.Context(), in)
	in.Options.ExcludeRequestBody = false
	if err != nil {
		return false
	}
	if memo {
		p.accepted.accept(key)
	}
	return true
}

// readBody returns r's body, up to MaxBodyBytes: the bytes of a Body an
// earlier stage read, or else the body read now.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if b, ok := r.Body.(*Body); ok {
		return b.Bytes(), nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

func (x *Exchange) validationInput(r *http.Request) *openapi3filter.RequestValidationInput {
	if x.validate == nil {
		v := &validation{options: openapi3filter.Options{MultiError: true, SkipSettingDefaults: true}}
		v.input = openapi3filter.RequestValidationInput{
			Request:     r,
			QueryParams: x.query,
			PathParams:  x.Route.PathParams,
			Route:       x.p.validated[x.Route.Operation.ID],
			Options:     &v.options,
		}
		x.validate = v
	}
	return &x.validate.input
}

func (p *Pipeline) dispatch(w http.ResponseWriter, r *http.Request) {
	x := ExchangeFrom(r.Context())
	req := &Request{
		HTTP:      r,
		Operation: x.Route.Operation,
		Path:      x.Route.PathParams,
		Query:     x.query,
		Body:      x.Body,
		Value:     x.value,
		Principal: x.Principal,
	}
	resp, err := p.cfg.Handlers[x.Route.Operation.ID](req)
	if err != nil {
		x.Fail(w, r, err)
		return
	}
	if resp.Done != nil {
		defer resp.Done()
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	x.Write(w, r, resp.Status, resp.Body)
}

// Fail answers err in the API's error envelope.
func (x *Exchange) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e := x.p.toError(err)
	for k, vs := range e.Header {
		w.Header()[k] = vs
	}
	if e.Status == http.StatusUnauthorized && x.p.cfg.Challenge != "" {
		w.Header().Set("WWW-Authenticate", x.p.cfg.Challenge)
	}
	if e.Status >= 500 {
		x.p.log.ErrorContext(r.Context(), "request failed", logkey.Method, r.Method, logkey.Path, r.URL.Path, logkey.Err, err)
	}
	x.Write(w, r, e.Status, x.p.cfg.RenderError(e))
}

// Write encodes body as JSON and writes it with status. In strict mode the
// response is first validated against the operation's spec; a response that
// does not match is logged and replaced by a 500.
func (x *Exchange) Write(w http.ResponseWriter, r *http.Request, status int, body any) {
	h := w.Header()
	var buf []byte
	switch b := body.(type) {
	case nil: // a redirect, say: headers only
	case Raw:
		buf = b.Data
		h.Set("Content-Type", b.ContentType)
	case RawJSON:
		buf = b
		if len(b) > 0 {
			x.parts, x.joined = JSONParts{b}, b
			defer func() { x.parts, x.joined = nil, nil }()
		}
		h.Set("Content-Type", JSONContentType)
	case JSONParts:
		// Every stage after this one (strict validation, the journal, the
		// connection) copies what it keeps of buf before Write returns, or
		// keeps the parts (PartsOf).
		pooled := joinBuffers.Get().(*[]byte)
		joined := b.AppendTo((*pooled)[:0])
		x.parts, x.joined = b, joined
		defer func() {
			x.parts, x.joined = nil, nil
			if cap(joined) <= maxJoinBuffer {
				*pooled = joined[:0]
				joinBuffers.Put(pooled)
			}
		}()
		buf = joined
		h.Set("Content-Type", JSONContentType)
	case Stream:
		h.Set("Content-Type", b.ContentType)
		if x.p.cfg.Strict && x.Route != nil {
			if verr := x.validateResponse(r, status, h, nil); verr != nil {
				x.p.log.ErrorContext(r.Context(), "response does not match the spec",
					logkey.Operation, x.Route.Operation.ID, logkey.Status, status, logkey.Err, verr)
				x.Fail(w, r, fmt.Errorf("strict mode: stream does not match the spec: %w", verr))
				return
			}
		}
		x.Status = status
		w.WriteHeader(status)
		b.Serve(w)
		return
	default:
		var err error
		if buf, err = json.Marshal(body); err != nil {
			x.p.log.ErrorContext(r.Context(), "encode response", logkey.Err, err)
			status, buf = http.StatusInternalServerError, []byte(`{"statusCode":500,"message":"Internal server error"}`)
		}
		h.Set("Content-Type", JSONContentType)
	}
	if x.Route != nil && x.Route.Operation.Warning != "" {
		h.Set("Warning", x.Route.Operation.Warning)
	}
	if x.p.cfg.Strict && x.Route != nil {
		if verr := x.validateResponse(r, status, h, buf); verr != nil {
			x.p.log.ErrorContext(r.Context(), "response does not match the spec",
				logkey.Operation, x.Route.Operation.ID, logkey.Status, status, logkey.Err, verr)
			status = http.StatusInternalServerError
			buf, _ = json.Marshal(x.p.cfg.RenderError(&Error{Status: status,
				Messages: []string{"strict mode: response does not match the spec: " + briefly(verr)}}))
			h.Del("Location")
			h.Set("Content-Type", JSONContentType)
		}
	}
	x.Status = status
	w.WriteHeader(status)
	if len(buf) == 0 {
		return
	}
	if _, err := w.Write(buf); err != nil {
		x.p.log.DebugContext(r.Context(), "write response", logkey.Err, err)
	}
}

func (x *Exchange) validateResponse(r *http.Request, status int, h http.Header, body []byte) error {
	return openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: x.validationInput(r),
		Status:                 status,
		Header:                 h,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// RequireContentLength answers 411 Length Required to a request that has a
// body of unknown length (chunked), as Marketing 360 asks every body to
// declare its Content-Length.
func RequireContentLength() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
				ExchangeFrom(r.Context()).Fail(w, r, &Error{Status: http.StatusLengthRequired,
					Messages: []string{"Content-Length is required on requests with a body"}})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

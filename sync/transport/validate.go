package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/openapi"
)

// ErrDrift is wrapped by the *DriftError of an exchange that the spec does
// not allow.
var ErrDrift = errors.New("transport: drift from the spec")

// DriftError names what of an exchange breaks the spec.
type DriftError struct {
	Method, URL string
	// Operation is the spec's operation id; "" when no route matched.
	Operation string
	// Response is set when the answer drifts, else the request does.
	Response bool
	Status   int
	// Field is the JSON path of the value at fault ("contacts.0.email"),
	// "" when the problem is not in a body.
	Field string
	Err   error
}

func (e *DriftError) Error() string {
	side := "request"
	if e.Response {
		side = fmt.Sprintf("%d answer", e.Status)
	}
	op := e.Operation
	if op == "" {
		op = "no operation"
	}
	if e.Field != "" {
		return fmt.Sprintf("transport: %s %s (%s): %s drifts from the spec at %s: %s", e.Method, e.URL, op, side, e.Field, reason(e.Err))
	}
	return fmt.Sprintf("transport: %s %s (%s): %s drifts from the spec: %s", e.Method, e.URL, op, side, reason(e.Err))
}

func (e *DriftError) Unwrap() []error { return []error{ErrDrift, e.Err} }

// maxValidatedBody bounds the bodies read for validation.
const maxValidatedBody = 32 << 20

// DefaultValidateEvery is the share of exchanges validated at run time:
// one in so many per operation. Validating a response costs about as much
// as the rest of the stack; a drift is systematic, so a sample finds it.
const DefaultValidateEvery = 10

// Validate checks requests and their final answers against the specs.
// Strict (in tests) checks every one and makes a drift the call's error, a
// *DriftError naming the field; otherwise (at run time) it checks one
// exchange in Every per operation, counts and logs a drift by operation,
// and the call goes on.
type Validate struct {
	Base http.RoundTripper
	// Specs are looked up in turn for the request's route.
	Specs  []*openapi.Spec
	Strict bool
	// Every is, when not Strict, how many exchanges of an operation make
	// one validated; 0 or 1 means all.
	Every int
	// Logger receives the drift warnings; nil means slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	drift   map[string]int
	checked map[string]int // exchanges seen by operation, for Every
}

// Drift returns the drifts seen by operation id ("" for requests no route
// matched).
func (v *Validate) Drift() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return maps.Clone(v.drift)
}

// RoundTrip validates req, sends it, and validates the answer.
func (v *Validate) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, maxValidatedBody))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("transport: read body of %s %s: %w", req.Method, RedactURL(req.URL), err)
		}
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	route, input, err := v.route(req, body)
	if err == nil && !v.sampled(route.Operation.ID) {
		return baseOr(v.Base).RoundTrip(out)
	}
	if err == nil {
		err = openapi3filter.ValidateRequest(req.Context(), input)
	}
	if err != nil {
		if derr := v.drifted(req, route, 0, err); derr != nil {
			return nil, derr
		}
	}
	res, err := baseOr(v.Base).RoundTrip(out)
	if err != nil || input == nil {
		return res, err
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxValidatedBody))
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("transport: read answer of %s %s: %w", req.Method, RedactURL(req.URL), err)
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(raw)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		if derr := v.drifted(req, route, res.StatusCode, err); derr != nil {
			return nil, derr
		}
	}
	return res, nil
}

// sampled tells whether this exchange of op is to be validated.
func (v *Validate) sampled(op string) bool {
	if v.Strict || v.Every <= 1 {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.checked == nil {
		v.checked = map[string]int{}
	}
	n := v.checked[op]
	v.checked[op] = n + 1
	return n%v.Every == 0
}

// route finds req's operation and builds the validation input, with its
// own copy of the body.
func (v *Validate) route(req *http.Request, body []byte) (*openapi.Route, *openapi3filter.RequestValidationInput, error) {
	for _, spec := range v.Specs {
		route, err := spec.FindRoute(req)
		if err != nil {
			continue
		}
		in := req.Clone(req.Context())
		in.Body = io.NopCloser(bytes.NewReader(body))
		return route, &openapi3filter.RequestValidationInput{
			Request: in, PathParams: route.PathParams, Route: route.Route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true},
		}, nil
	}
	return nil, nil, fmt.Errorf("no operation of the spec serves %s %s", req.Method, req.URL.Path)
}

// drifted counts and logs a drift, and returns it as the call's error when
// strict. status is 0 for the request.
func (v *Validate) drifted(req *http.Request, route *openapi.Route, status int, err error) error {
	d := &DriftError{Method: req.Method, URL: RedactURL(req.URL), Response: status != 0, Status: status, Err: err}
	if route != nil {
		d.Operation = route.Operation.ID
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		d.Field = strings.Join(se.JSONPointer(), ".")
	}
	v.mu.Lock()
	if v.drift == nil {
		v.drift = map[string]int{}
	}
	v.drift[d.Operation]++
	v.mu.Unlock()
	if v.Strict {
		return d
	}
	logger := v.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.WarnContext(req.Context(), "drift from the spec", logkey.Operation, d.Operation, logkey.Status, status, logkey.Err, d.Error())
	return nil
}

// reason is a validation error without the schema and value dumps
// kin-openapi appends.
func reason(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return se.Reason
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// Package openapi embeds the contactbridge API specifications, loads and validates
// them, and lists their operations. The specs are the single source of truth:
// the twins route, authorise and validate from them.
package openapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/contactbridge/contactbridge/openapi/internal/catalog"
)

//go:embed highlevel.yaml
var highLevelYAML []byte

//go:embed admin.yaml
var adminYAML []byte

//go:embed marketing360.yaml
var marketing360YAML []byte

// File names of the embedded specs.
const (
	HighLevelFile = "highlevel.yaml"
	AdminFile     = "admin.yaml"
	// Marketing360File is the Marketing 360 API spec.
	Marketing360File = "marketing360.yaml"
)

// HighLevel returns a copy of the embedded HighLevel Contacts API v2 spec.
func HighLevel() []byte { return slices.Clone(highLevelYAML) }

// Admin returns a copy of the embedded spec of the twins' admin API.
func Admin() []byte { return slices.Clone(adminYAML) }

// LoadAdmin loads the embedded admin API spec.
func LoadAdmin(ctx context.Context) (*Spec, error) {
	return loadEmbedded(ctx, AdminFile, adminYAML, adminDoc, adminWebhooks)
}

//go:generate go run ./internal/golit/gen

// loadEmbedded loads an embedded spec from doc, the function go generate
// made of its YAML (internal/golit), which builds the document the YAML
// parses to without parsing it: most of a load's time otherwise; webhooks
// builds its webhook catalog's items (catalog.Items) as doc does. The
// document is resolved and built as Load does it, but not validated again:
// it is the YAML's document, which a test validates (and finds unchanged by
// validation), and it cannot change after the build. Should resolving or
// building fail, Load reports the YAML's problem, with its line.
func loadEmbedded(ctx context.Context, file string, data []byte, doc func() *openapi3.T,
	webhooks func() map[string]*openapi3.PathItem) (*Spec, error) {
	d := doc()
	if err := openapi3.NewLoader().ResolveRefsIn(d, nil); err != nil {
		return Load(ctx, file, data)
	}
	spec, err := build(ctx, file, d, webhooks())
	if err != nil {
		return Load(ctx, file, data)
	}
	spec.source = data
	return spec, nil
}

// ErrInvalidSpec is wrapped by every error Load returns for a spec that does
// not parse or does not validate.
var ErrInvalidSpec = errors.New("openapi: invalid spec")

// SpecError reports a spec that failed to load, with the line it failed at
// when that can be told.
type SpecError struct {
	File string
	Line int // 0 when unknown
	Err  error
}

func (e *SpecError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("openapi: %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("openapi: %s: %v", e.File, e.Err)
}

func (e *SpecError) Unwrap() []error { return []error{ErrInvalidSpec, e.Err} }

// Operation is one operation of a spec.
type Operation struct {
	ID     string
	Method string
	Path   string
	// Scopes are the OAuth scopes (or, from x-permissions, the API-key
	// permissions) the operation requires, all of them; nil when it needs none.
	Scopes []string
	// Authenticated tells whether the operation has a security requirement.
	Authenticated bool
	// NotInLiveAPI marks the twin's extensions (x-not-in-live-api: true).
	NotInLiveAPI bool
	// Warning is the Warning header every response of the operation
	// carries (x-warning), as a twin-only route names its live one.
	Warning string
	// LiveHost names the live host when it is not the API's own
	// (x-live-host), as for the OAuth consent page.
	LiveHost string
	// Spec is the operation as the document declares it.
	Spec *openapi3.Operation
}

// Spec is a loaded, validated specification.
type Spec struct {
	File string
	Doc  *openapi3.T

	router routers.Router
	// table finds routes as router does, without its regular expressions;
	// routed is false when the spec has templates only router matches.
	table      routeTable
	routed     bool
	operations []*Operation
	byID       map[string]*Operation
	webhooks   []*Webhook // by name
	source     []byte     // the document as given
}

// Load parses and validates a spec. file names it in errors.
func Load(ctx context.Context, file string, data []byte) (*Spec, error) {
	// Recording where each element came from slows loading down; it is only
	// needed to name the line of an error, so a failed load is done again
	// with it.
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, &SpecError{File: file, Line: yamlErrorLine(err), Err: err}
	}
	if err := doc.Validate(ctx); err != nil {
		loader := openapi3.NewLoader()
		loader.IncludeOrigin = true
		line := 0
		if located, lerr := loader.LoadFromData(data); lerr == nil {
			if verr := located.Validate(ctx); verr != nil {
				line = locate(located, verr)
			}
		}
		return nil, &SpecError{File: file, Line: line, Err: err}
	}
	spec, err := buildParsed(ctx, file, doc)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) && se.Line == 0 {
			return loadLocated(ctx, file, data, err)
		}
		return nil, err
	}
	spec.source = data
	return spec, nil
}

// Source returns a copy of the document the spec was loaded from.
func (s *Spec) Source() []byte { return slices.Clone(s.source) }

// loadLocated loads data again recording origins, to name the line of a
// problem build found; it returns that problem.
func loadLocated(ctx context.Context, file string, data []byte, problem error) (*Spec, error) {
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, problem
	}
	if _, err := buildParsed(ctx, file, doc); err != nil {
		return nil, err
	}
	return nil, problem
}

// buildParsed builds a spec from a document the loader parsed, its webhook
// catalog read from it.
func buildParsed(ctx context.Context, file string, doc *openapi3.T) (*Spec, error) {
	items, err := catalog.Items(doc)
	if err != nil {
		return nil, &SpecError{File: file, Err: err}
	}
	return build(ctx, file, doc, items)
}

// LoadFile loads and validates the spec at path.
func LoadFile(ctx context.Context, path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("openapi: read spec: %w", err)
	}
	return Load(ctx, filepath.Base(path), data)
}

// LoadHighLevel loads the HighLevel spec: the embedded one, or the file at
// path when path is not empty.
func LoadHighLevel(ctx context.Context, path string) (*Spec, error) {
	if path != "" {
		return LoadFile(ctx, path)
	}
	return loadEmbedded(ctx, HighLevelFile, highLevelYAML, highLevelDoc, highLevelWebhooks)
}

// LoadMarketing360 loads the Marketing 360 spec: the embedded one, or the
// file at path when path is not empty.
func LoadMarketing360(ctx context.Context, path string) (*Spec, error) {
	if path != "" {
		return LoadFile(ctx, path)
	}
	return loadEmbedded(ctx, Marketing360File, marketing360YAML, marketing360Doc, marketing360Webhooks)
}

// build builds a spec from its resolved document and the items of its
// webhook catalog (nil for none).
func build(ctx context.Context, file string, doc *openapi3.T, webhooks map[string]*openapi3.PathItem) (*Spec, error) {
	// Route on paths alone: the twin answers on whatever host and port it is given.
	routed := *doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, &SpecError{File: file, Err: fmt.Errorf("build router: %w", err)}
	}
	s := &Spec{File: file, Doc: doc, router: router, byID: map[string]*Operation{}}
	s.table, s.routed = newRouteTable(&routed)
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, &SpecError{File: file, Line: originLine(op.Origin), Err: fmt.Errorf("%s %s has no operationId", method, path)}
			}
			if _, dup := s.byID[op.OperationID]; dup {
				return nil, &SpecError{File: file, Line: originLine(op.Origin), Err: fmt.Errorf("operationId %q is used twice", op.OperationID)}
			}
			o := &Operation{ID: op.OperationID, Method: method, Path: path, Spec: op}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			for _, req := range security {
				for _, scopes := range req {
					o.Authenticated = true
					o.Scopes = append(o.Scopes, scopes...)
				}
			}
			// Keys with permissions (HTTP Basic has no scopes) list them in
			// x-permissions; they are checked as scopes are.
			if perms, ok := op.Extensions["x-permissions"].([]any); ok {
				for _, p := range perms {
					if s, ok := p.(string); ok {
						o.Scopes = append(o.Scopes, s)
					}
				}
			}
			if v, ok := op.Extensions["x-not-in-live-api"].(bool); ok {
				o.NotInLiveAPI = v
			}
			if v, ok := op.Extensions["x-warning"].(string); ok {
				o.Warning = v
			}
			if o.NotInLiveAPI && o.Warning == "" {
				return nil, &SpecError{File: file, Line: originLine(op.Origin),
					Err: fmt.Errorf("operationId %q is x-not-in-live-api without the x-warning that names the live route", op.OperationID)}
			}
			if v, ok := op.Extensions["x-live-host"].(string); ok {
				o.LiveHost = v
			}
			s.operations = append(s.operations, o)
			s.byID[o.ID] = o
		}
	}
	slices.SortFunc(s.operations, func(a, b *Operation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	})
	if s.webhooks, err = loadWebhooks(ctx, file, doc, webhooks); err != nil {
		return nil, err
	}
	return s, nil
}

// Operations lists the spec's operations, sorted by path then method.
func (s *Spec) Operations() []*Operation { return slices.Clone(s.operations) }

// Operation returns the operation with the given operationId.
func (s *Spec) Operation(id string) (*Operation, bool) {
	o, ok := s.byID[id]
	return o, ok
}

// Route is a request matched to an operation.
type Route struct {
	Operation  *Operation
	Route      *routers.Route
	PathParams map[string]string
}

// Errors FindRoute returns.
var (
	ErrNoRoute          = errors.New("openapi: no such path")
	ErrMethodNotAllowed = errors.New("openapi: method not allowed")
)

// FindRoute matches a request to an operation, from a table built once from
// the spec; a path the table does not know is left to kin-openapi's
// gorilla/mux router, which decides the unknown routes.
func (s *Spec) FindRoute(r *http.Request) (*Route, error) {
	if s.routed {
		route, params, ok, err := s.table.find(r)
		switch {
		case err != nil:
			return nil, ErrMethodNotAllowed
		case ok:
			return &Route{Operation: s.byID[route.Operation.OperationID], Route: route, PathParams: params}, nil
		}
	}
	route, params, err := s.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, ErrMethodNotAllowed
	case err != nil:
		return nil, ErrNoRoute
	}
	return &Route{Operation: s.byID[route.Operation.OperationID], Route: route, PathParams: params}, nil
}

func originLine(o *openapi3.Origin) int {
	if o == nil || o.Key == nil {
		return 0
	}
	return o.Key.Line
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

var (
	schemaName  = regexp.MustCompile(`schema "([^"]+)"`)
	pathAndVerb = regexp.MustCompile(`invalid path (\S+): invalid operation (\w+)`)
	pathOnly    = regexp.MustCompile(`invalid path (\S+):`)
)

// locate finds the line of the element a validation error is about: an
// operation, a path, or a component schema. 0 when it cannot tell.
func locate(doc *openapi3.T, err error) int {
	msg := err.Error()
	if doc.Paths != nil {
		if m := pathAndVerb.FindStringSubmatch(msg); m != nil {
			if item := doc.Paths.Value(m[1]); item != nil {
				if op := item.GetOperation(strings.ToUpper(m[2])); op != nil {
					return originLine(op.Origin)
				}
			}
		}
		if m := pathOnly.FindStringSubmatch(msg); m != nil {
			if item := doc.Paths.Value(m[1]); item != nil {
				return originLine(item.Origin)
			}
		}
	}
	if m := schemaName.FindStringSubmatch(msg); m != nil && doc.Components != nil {
		if ref, ok := doc.Components.Schemas[m[1]]; ok && ref.Value != nil {
			return originLine(ref.Value.Origin)
		}
	}
	return 0
}

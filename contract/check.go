package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// CheckOptions say which API to check against which document.
type CheckOptions struct {
	// Doc is the OpenAPI document: ours or the vendor's.
	Doc *openapi3.T
	// Name names the document in the reports.
	Name string
	// BaseURL is where the API answers.
	BaseURL string
	// Authorization is the header value of a credential with every scope.
	Authorization string
	// Limited is the header value of a credential with only
	// LimitedScopes; "" leaves out the scope cases.
	Limited       string
	LimitedScopes []string
	// Values are known values of parameters and body fields, by name
	// (locationId, calendarId): what a document cannot say.
	Values map[string]any
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Wait waits out a 429's Retry-After before the request is sent again
	// (at most three times); nil means the real clock.
	Wait Wait
}

// Problem kinds: what a step found.
const (
	ProblemStatus       = "status"       // a status of the wrong class
	ProblemUndocumented = "undocumented" // a status the document does not list
	ProblemSchema       = "schema"       // a body that breaks the document's schema
	ProblemUnserved     = "unserved"     // the API has no route for the operation
	ProblemTransport    = "transport"    // no answer
)

// CheckReport is the outcome of a conformance check.
type CheckReport struct {
	Name string
	// Sequences is how many stateful sequences ran.
	Sequences int
	Steps     []Step
	// Operations are the document's operation ids, sorted.
	Operations []string
}

// Step is one request of a check.
type Step struct {
	Sequence  string
	Case      string // "call", or the negative case
	Operation string
	Method    string
	Path      string
	Status    int
	Problems  []Problem
}

// Problem is one difference a step found.
type Problem struct {
	Kind, Text string
}

// Negative tells whether the step is a negative case.
func (s Step) Negative() bool { return s.Case != caseCall }

const caseCall = "call"

// LoadDoc loads an OpenAPI document from a file, with its external
// references (the vendor's documents share a common file).
func LoadDoc(ctx context.Context, path string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("contract: spec %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("contract: spec: %w", err)
	}
	doc, err := loader.LoadFromFile(abs)
	if err != nil {
		return nil, fmt.Errorf("contract: spec %s: %w", path, err)
	}
	return doc, nil
}

type conformance struct {
	ctx    context.Context
	opts   CheckOptions
	router routers.Router
	gen    generator
	rep    *CheckReport
}

// Check runs the document's stateful sequences and negative cases against
// the API and validates every answer against the document. Each resource
// is created, read, listed, updated, given its sub-resources and other
// operations, deleted and read again (a 404 then); what it creates it
// deletes. An error is a document or option that cannot be checked; the
// API's differences are in the report.
func Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	if opts.Doc == nil || opts.BaseURL == "" {
		return nil, errors.New("contract: check needs a document and a base URL")
	}
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	opts.Wait = waitOr(opts.Wait)
	routed := *opts.Doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("contract: route %s: %w", opts.Name, err)
	}
	c := &conformance{ctx: ctx, opts: opts, router: router, gen: generator{known: values(opts.Values)},
		rep: &CheckReport{Name: opts.Name}}
	ops := operations(opts.Doc)
	for _, o := range ops {
		c.rep.Operations = append(c.rep.Operations, o.id)
	}
	sort.Strings(c.rep.Operations)
	top, global := resources(ops)
	for i, r := range top {
		// The operations that belong to no resource run inside the first
		// one, so that what they look up exists.
		var others []*operation
		if i == 0 {
			others = global
		}
		if err := c.run(r, others); err != nil {
			return c.rep, err
		}
	}
	if len(top) == 0 && len(global) > 0 {
		c.rep.Sequences++
		for _, o := range global {
			c.negatives(o.path, o, nil)
			c.call(o.path, caseCall, o, nil, nil, expect2xx)
		}
	}
	return c.rep, ctx.Err()
}

// run is the sequence of one resource.
func (c *conformance) run(r *resource, others []*operation) error {
	c.rep.Sequences++
	seq := r.collection
	created := false
	var id any
	switch {
	case r.create != nil:
		c.negatives(seq, r.create, nil)
		_, body, ok := c.call(seq, caseCall, r.create, nil, nil, expect2xx)
		if !ok {
			return c.ctx.Err()
		}
		if id = findID(body); id == nil {
			c.note(seq, r.create, "the answer has no id")
			return c.ctx.Err()
		}
		created = true
		for k, v := range c.sentStrings(r.create) {
			c.gen.known[k] = v
		}
	case r.list != nil:
		_, body, ok := c.call(seq, caseCall, r.list, nil, nil, expect2xx)
		if !ok {
			return c.ctx.Err()
		}
		if id = firstID(body); id == nil {
			c.note(seq, r.list, "the list is empty: its items cannot be checked")
			return c.ctx.Err()
		}
	}
	c.gen.known[r.idParam] = id
	defer delete(c.gen.known, r.idParam)
	if r.get != nil {
		c.negatives(seq, r.get, r)
		c.call(seq, caseCall, r.get, nil, nil, expect2xx)
	}
	if r.list != nil && created {
		c.negatives(seq, r.list, nil)
		c.call(seq, caseCall, r.list, nil, nil, expect2xx)
	}
	if r.update != nil {
		c.negatives(seq, r.update, r)
		c.call(seq, caseCall, r.update, nil, nil, expect2xx)
	}
	for _, child := range r.children {
		if err := c.run(child, nil); err != nil {
			return err
		}
	}
	for _, o := range append(append([]*operation{}, r.extra...), others...) {
		c.negatives(seq, o, r)
		c.call(seq, caseCall, o, nil, nil, expect2xx)
	}
	if r.del != nil && created {
		c.negatives(seq, r.del, r)
		c.call(seq, caseCall, r.del, nil, nil, expect2xx)
		if r.get != nil {
			c.call(seq, "read after delete", r.get, nil, nil, expect404)
		}
	}
	return c.ctx.Err()
}

// sentStrings are the string fields of what o's create sent, to find the
// record again (its email).
func (c *conformance) sentStrings(o *operation) map[string]any {
	out := map[string]any{}
	s := bodySchema(o)
	if s == nil {
		return out
	}
	for k, v := range c.gen.object(s, false) {
		if str, ok := v.(string); ok && strings.Contains(str, "@") {
			out[k] = str
		}
	}
	return out
}

const (
	expect2xx expectation = iota
	expect4xx
	expect404
	expectAny
)

// negatives runs o's negative cases: each required body field missing and
// of the wrong type, an unknown id of r, a credential without o's scopes.
func (c *conformance) negatives(seq string, o *operation, r *resource) {
	if s := bodySchema(o); s != nil && !formBody(o) {
		body := c.gen.object(s, false)
		for _, name := range flatten(s).Required {
			without := values(body)
			delete(without, name)
			c.call(seq, "missing "+name, o, nil, without, expect4xx)
			wrong := values(body)
			wrong[name] = wrongType(flatten(s).Properties[name].Value)
			c.call(seq, "wrong type of "+name, o, nil, wrong, expect4xx)
		}
	}
	if r != nil && o.inPath(r.idParam) {
		c.call(seq, "unknown "+r.idParam, o, map[string]any{r.idParam: unknownID(c.gen.known[r.idParam])}, nil, expect4xx)
	}
	if c.opts.Limited != "" && secured(o) && !covered(scopes(o), c.opts.LimitedScopes) {
		c.call(seq, "credential without "+strings.Join(scopes(o), " "), o, map[string]any{authKey: c.opts.Limited}, nil, expect4xx)
	}
}

// authKey overrides the Authorization of a step.
const authKey = "\x00authorization"

func (c *conformance) note(seq string, o *operation, text string) {
	c.rep.Steps = append(c.rep.Steps, Step{Sequence: seq, Case: caseCall, Operation: o.id, Method: o.method, Path: o.path,
		Problems: []Problem{{Kind: ProblemStatus, Text: text}}})
}

package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
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

// operation is one operation of the document.
type operation struct {
	id, method, path string
	op               *openapi3.Operation
	params           openapi3.Parameters
}

// resource is a collection the document lets a client create in (or,
// without create, read) and its items, with what runs inside it.
type resource struct {
	collection, item, idParam string
	create, list              *operation
	get, update, del          *operation
	children                  []*resource
	extra                     []*operation
	parent                    *resource
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

// operations lists the document's operations by path and method.
func operations(doc *openapi3.T) []*operation {
	var out []*operation
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			id := op.OperationID
			if id == "" {
				id = method + " " + path
			}
			out = append(out, &operation{id: id, method: method, path: path, op: op, params: params})
		}
	}
	return out
}

// resources finds the collections and their items, nests sub-resources
// and the resources that need another's id, and hands every other
// operation to the deepest resource it lives under or needs; what is left
// is global.
func resources(ops []*operation) (top []*resource, global []*operation) {
	byPath := map[string]map[string]*operation{}
	for _, o := range ops {
		if byPath[o.path] == nil {
			byPath[o.path] = map[string]*operation{}
		}
		byPath[o.path][o.method] = o
	}
	used := map[*operation]bool{}
	var all []*resource
	for _, path := range sortedKeys(byPath) {
		if strings.HasSuffix(path, "}") {
			continue
		}
		col := byPath[path]
		base := strings.TrimSuffix(path, "/")
		for _, ipath := range sortedKeys(byPath) {
			rest, ok := strings.CutPrefix(ipath, base+"/{")
			if !ok || !strings.HasSuffix(rest, "}") || strings.Contains(rest, "/") {
				continue
			}
			item := byPath[ipath]
			r := &resource{collection: path, item: ipath, idParam: strings.TrimSuffix(rest, "}"),
				create: col["POST"], list: col["GET"], get: item["GET"], update: item["PUT"], del: item["DELETE"]}
			if r.update == nil {
				r.update = item["PATCH"]
			}
			if r.create == nil && (r.list == nil || r.get == nil) {
				continue
			}
			for _, o := range []*operation{r.create, r.list, r.get, r.update, r.del} {
				if o != nil {
					used[o] = true
				}
			}
			all = append(all, r)
			break
		}
	}
	// The deepest resource whose item a path lies under.
	under := func(path string, skip *resource) *resource {
		var best *resource
		for _, r := range all {
			if r != skip && strings.HasPrefix(path, r.item+"/") && (best == nil || len(r.item) > len(best.item)) {
				best = r
			}
		}
		return best
	}
	// The deepest resource whose id an operation needs.
	needs := func(o *operation, skip *resource) *resource {
		var best *resource
		for _, r := range all {
			if r != skip && requires(o, r.idParam) && (best == nil || len(r.item) > len(best.item)) {
				best = r
			}
		}
		return best
	}
	for _, r := range all {
		r.parent = under(r.collection, r)
		if r.parent == nil {
			for _, o := range []*operation{r.create, r.list} {
				if o != nil && r.parent == nil {
					r.parent = needs(o, r)
				}
			}
		}
	}
	for _, o := range ops {
		if used[o] {
			continue
		}
		owner := under(o.path, nil)
		if owner == nil {
			owner = needs(o, nil)
		}
		if owner == nil {
			global = append(global, o)
			continue
		}
		owner.extra = append(owner.extra, o)
		// A read-only resource whose operations need another's id runs
		// inside that one.
		if owner.parent == nil && owner.create == nil {
			if p := needs(o, owner); p != nil && !descends(p, owner) {
				owner.parent = p
			}
		}
	}
	for _, r := range all {
		if r.parent != nil && descends(r.parent, r) {
			r.parent = nil
		}
		if r.parent != nil {
			r.parent.children = append(r.parent.children, r)
		} else {
			top = append(top, r)
		}
	}
	return top, global
}

// descends tells whether r is d or lies under it.
func descends(r, d *resource) bool {
	for ; r != nil; r = r.parent {
		if r == d {
			return true
		}
	}
	return false
}

// requires tells whether o needs name as a required parameter or
// required top-level body field.
func requires(o *operation, name string) bool {
	for _, p := range o.params {
		if p.Value != nil && p.Value.Name == name && p.Value.Required {
			return true
		}
	}
	if s := bodySchema(o); s != nil {
		for _, r := range flatten(s).Required {
			if r == name {
				return true
			}
		}
	}
	return false
}

func bodySchema(o *operation) *openapi3.Schema {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return nil
	}
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		if mt := o.op.RequestBody.Value.Content.Get(ct); mt != nil && mt.Schema != nil {
			return mt.Schema.Value
		}
	}
	return nil
}

func formBody(o *operation) bool {
	return o.op.RequestBody != nil && o.op.RequestBody.Value != nil &&
		o.op.RequestBody.Value.Content.Get("application/json") == nil &&
		o.op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded") != nil
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

// Expectations of a step.
type expectation int

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
	if r != nil && strings.Contains(o.path, "{"+r.idParam+"}") {
		c.call(seq, "unknown "+r.idParam, o, map[string]any{r.idParam: unknownID(c.gen.known[r.idParam])}, nil, expect4xx)
	}
	if c.opts.Limited != "" && secured(o) && !covered(scopes(o), c.opts.LimitedScopes) {
		c.call(seq, "credential without "+strings.Join(scopes(o), " "), o, map[string]any{authKey: c.opts.Limited}, nil, expect4xx)
	}
}

// authKey overrides the Authorization of a step.
const authKey = "\x00authorization"

func unknownID(like any) any {
	if _, ok := like.(int64); ok {
		return int64(999999999)
	}
	if s, ok := like.(string); ok && len(s) == 20 {
		return "ContractCheckUnknown"
	}
	return "contract-check-unknown"
}

func secured(o *operation) bool {
	return o.op.Security == nil || len(*o.op.Security) > 0
}

func scopes(o *operation) []string {
	var out []string
	if o.op.Security != nil {
		for _, req := range *o.op.Security {
			for _, s := range req {
				out = append(out, s...)
			}
		}
	}
	if perms, ok := o.op.Extensions["x-permissions"].([]any); ok {
		for _, p := range perms {
			if s, ok := p.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func covered(need, have []string) bool {
	for _, n := range need {
		found := false
		for _, h := range have {
			found = found || h == n
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *conformance) note(seq string, o *operation, text string) {
	c.rep.Steps = append(c.rep.Steps, Step{Sequence: seq, Case: caseCall, Operation: o.id, Method: o.method, Path: o.path,
		Problems: []Problem{{Kind: ProblemStatus, Text: text}}})
}

// call sends o with generated parameters (override replaces some) and
// body (nil: generated), checks the status against want and validates
// the answer; it returns the decoded answer and whether it was a 2xx.
func (c *conformance) call(seq, kase string, o *operation, override map[string]any, body map[string]any, want expectation) (int, any, bool) {
	step := Step{Sequence: seq, Case: kase, Operation: o.id, Method: o.method, Path: o.path}
	req, sent, err := c.request(o, override, body)
	if err != nil {
		step.Problems = append(step.Problems, Problem{ProblemTransport, err.Error()})
		c.rep.Steps = append(c.rep.Steps, step)
		return 0, nil, false
	}
	res, got, err := c.send(req, sent)
	if err != nil {
		step.Problems = append(step.Problems, Problem{ProblemTransport, err.Error()})
		c.rep.Steps = append(c.rep.Steps, step)
		return 0, nil, false
	}
	step.Status = res.StatusCode
	if want == expect2xx && !secured(o) {
		// Without credentials the document's examples fill what a real
		// client would bring: any documented answer will do.
		want = expectAny
	}
	step.Problems = append(step.Problems, c.judge(o, want, res, got)...)
	if !unserved(o, res, got) {
		step.Problems = append(step.Problems, c.validate(req, sent, res, got)...)
	}
	c.rep.Steps = append(c.rep.Steps, step)
	var decoded any
	_ = json.Unmarshal(got, &decoded)
	ok := res.StatusCode/100 == 2
	if ok && want != expect2xx && want != expectAny && o.method == "POST" {
		c.undo(o, decoded)
	}
	return res.StatusCode, decoded, ok
}

// undo deletes what a negative case created when the API accepted it.
func (c *conformance) undo(o *operation, body any) {
	id := findID(body)
	if id == nil {
		return
	}
	base := strings.TrimSuffix(o.path, "/")
	for _, path := range sortedKeys(c.opts.Doc.Paths.Map()) {
		rest, ok := strings.CutPrefix(path, base+"/{")
		if ok && strings.HasSuffix(rest, "}") && !strings.Contains(rest, "/") {
			if item := c.opts.Doc.Paths.Value(path); item.Delete != nil {
				del := &operation{id: item.Delete.OperationID, method: "DELETE", path: path, op: item.Delete,
					params: append(append(openapi3.Parameters{}, item.Parameters...), item.Delete.Parameters...)}
				c.call(base, "delete what a negative case made", del, map[string]any{strings.TrimSuffix(rest, "}"): id}, nil, expect2xx)
			}
			return
		}
	}
}

func (c *conformance) judge(o *operation, want expectation, res *http.Response, got []byte) []Problem {
	code := res.StatusCode
	if unserved(o, res, got) {
		return []Problem{{ProblemUnserved, fmt.Sprintf("%d: %s", code, snippet(got))}}
	}
	var bad bool
	switch want {
	case expect2xx:
		bad = code/100 != 2
	case expect4xx:
		bad = code/100 != 4
	case expect404:
		bad = code != http.StatusNotFound && code != http.StatusBadRequest && code != http.StatusUnprocessableEntity
	case expectAny:
		bad = code >= 500
	}
	var out []Problem
	if bad {
		out = append(out, Problem{ProblemStatus, fmt.Sprintf("%d, want %s: %s", code, want, snippet(got))})
	}
	if o.op.Responses.Status(code) == nil && o.op.Responses.Default() == nil && o.op.Responses.Value(strconv.Itoa(code/100)+"XX") == nil {
		out = append(out, Problem{ProblemUndocumented, fmt.Sprintf("status %d is not documented", code)})
	}
	return out
}

func (e expectation) String() string {
	return [...]string{"2xx", "4xx", "404", "a documented status"}[e]
}

// unserved tells whether the API has no route for o: a 404 or 405 that
// is not JSON, or that says "Cannot GET /path" (the vendor's framework).
func unserved(o *operation, res *http.Response, got []byte) bool {
	if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
		return false
	}
	return !strings.Contains(res.Header.Get("Content-Type"), "json") || bytes.Contains(got, []byte(`"Cannot `+o.method+` `))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// validate checks the answer against the document.
func (c *conformance) validate(req *http.Request, sent []byte, res *http.Response, got []byte) []Problem {
	vreq := req.Clone(c.ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(sent))
	vreq.URL.Host, vreq.URL.Scheme = "", ""
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		return []Problem{{ProblemSchema, "no route in the document: " + err.Error()}}
	}
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	err = openapi3filter.ValidateResponse(c.ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts},
		Status:                 res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(got)), Options: opts,
	})
	if err == nil {
		return nil
	}
	var out []Problem
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			out = append(out, Problem{ProblemSchema, describe(e)})
		}
		return out
	}
	return []Problem{{ProblemSchema, describe(err)}}
}

func describe(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("/%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Reason != "" {
		return re.Reason
	}
	return err.Error()
}

// request builds o's request.
func (c *conformance) request(o *operation, override, body map[string]any) (*http.Request, []byte, error) {
	get := func(name string, s *openapi3.Schema) any {
		if v, ok := override[name]; ok {
			return v
		}
		return c.gen.value(name, s)
	}
	path := o.path
	query := url.Values{}
	header := http.Header{}
	for _, p := range o.params {
		v := p.Value
		if v == nil {
			continue
		}
		var s *openapi3.Schema
		if v.Schema != nil {
			s = v.Schema.Value
		}
		_, known := c.gen.known[v.Name]
		if !v.Required && !known {
			continue
		}
		val := fmt.Sprint(get(v.Name, s))
		switch v.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+v.Name+"}", url.PathEscape(val))
		case openapi3.ParameterInQuery:
			query.Set(v.Name, val)
		case openapi3.ParameterInHeader:
			header.Set(v.Name, val)
		}
	}
	var sent []byte
	if s := bodySchema(o); s != nil {
		if body == nil {
			body = c.gen.object(s, false)
		}
		if formBody(o) {
			form := url.Values{}
			for k, v := range body {
				form.Set(k, fmt.Sprint(v))
			}
			sent = []byte(form.Encode())
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			raw, err := json.Marshal(body)
			if err != nil {
				return nil, nil, fmt.Errorf("contract: encode %s: %w", o.id, err)
			}
			sent = raw
			header.Set("Content-Type", "application/json")
		}
	}
	u := strings.TrimSuffix(c.opts.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(c.ctx, o.method, u, bytes.NewReader(sent))
	if err != nil {
		return nil, nil, fmt.Errorf("contract: request %s: %w", o.id, err)
	}
	req.Header = header
	if secured(o) {
		auth := c.opts.Authorization
		if a, ok := override[authKey].(string); ok {
			auth = a
		}
		req.Header.Set("Authorization", auth)
	}
	return req, sent, nil
}

// send sends req, again after the Retry-After of a 429 (three times at
// most), and reads the answer.
func (c *conformance) send(req *http.Request, sent []byte) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		r := req.Clone(c.ctx)
		r.Body = io.NopCloser(bytes.NewReader(sent))
		r.ContentLength = int64(len(sent))
		res, err := c.opts.HTTP.Do(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		secs, perr := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != http.StatusTooManyRequests || perr != nil || attempt == 3 {
			return res, got, nil
		}
		if err := c.opts.Wait(c.ctx, time.Duration(secs)*time.Second); err != nil {
			return nil, nil, err
		}
	}
}

// findID is the id of a created record: the answer's id, or that of the
// object it wraps ({"contact": {"id"}}, {"result": {"id"}}).
func findID(body any) any {
	m, ok := body.(map[string]any)
	if !ok {
		return nil
	}
	if id := idOf(m["id"]); id != nil {
		return id
	}
	for _, k := range sortedKeys(m) {
		if inner, ok := m[k].(map[string]any); ok {
			if id := idOf(inner["id"]); id != nil {
				return id
			}
		}
	}
	return nil
}

// firstID is the id of a list's first item.
func firstID(body any) any {
	m, ok := body.(map[string]any)
	if !ok {
		return nil
	}
	for _, k := range sortedKeys(m) {
		if list, ok := m[k].([]any); ok && len(list) > 0 {
			if item, ok := list[0].(map[string]any); ok {
				return idOf(item["id"])
			}
		}
	}
	return nil
}

func idOf(v any) any {
	switch x := v.(type) {
	case string:
		if x != "" {
			return x
		}
	case float64:
		return int64(x)
	}
	return nil
}

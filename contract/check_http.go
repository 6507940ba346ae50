package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Expectations of a step.
type expectation int

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
		key := o.key(v.Name)
		_, known := c.gen.known[key]
		if !v.Required && !known {
			continue
		}
		val := fmt.Sprint(get(key, s))
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

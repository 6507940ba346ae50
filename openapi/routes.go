package openapi

import (
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// routeTable finds a request's path template as the gorilla/mux router of
// kin-openapi does (the first template, in the spec's matching order, whose
// segments match the request's escaped path; a {name} segment matches any
// non-empty segment, its value left escaped) without a regular expression a
// route: it is built once, from the spec, and indexed by segment count.
// Templates it cannot hold (a variable inside a segment, a pattern) make the
// table empty, and the router decides alone.
type routeTable struct {
	bySegments map[int][]*template // in matching order
}

// template is a path of the spec, split at its slashes.
type template struct {
	segments []segment
	params   int
	// routes are the template's kin-openapi routes, by method; a method
	// without an operation has none.
	routes map[string]*routers.Route
}

// segment is a literal segment, or a variable's name when param is set.
type segment struct {
	text  string
	param bool
}

// newRouteTable builds the table of doc's paths; ok is false when a path has
// a template the table cannot match exactly as the router does.
func newRouteTable(doc *openapi3.T) (routeTable, bool) {
	t := routeTable{bySegments: map[int][]*template{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		tpl := &template{routes: map[string]*routers.Route{}}
		for _, s := range strings.Split(path, "/") {
			name, isParam := strings.CutPrefix(s, "{")
			if isParam {
				if name, isParam = strings.CutSuffix(name, "}"); !isParam || name == "" || strings.ContainsAny(name, "{}:") {
					return routeTable{}, false
				}
				tpl.params++
				tpl.segments = append(tpl.segments, segment{text: name, param: true})
				continue
			}
			if strings.ContainsAny(s, "{}") {
				return routeTable{}, false
			}
			tpl.segments = append(tpl.segments, segment{text: s})
		}
		for method, op := range item.Operations() {
			tpl.routes[method] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
		n := len(tpl.segments)
		t.bySegments[n] = append(t.bySegments[n], tpl)
	}
	return t, true
}

// find returns the route of r and its path parameters; ok is false when no
// template matches r's path. A template that matches without an operation
// for r's method gives routers.ErrMethodNotAllowed.
func (t routeTable) find(r *http.Request) (route *routers.Route, params map[string]string, ok bool, err error) {
	path := r.URL.EscapedPath()
	n := strings.Count(path, "/") + 1
	for _, tpl := range t.bySegments[n] {
		if !tpl.match(path) {
			continue
		}
		route = tpl.routes[r.Method]
		if route == nil {
			return nil, nil, true, routers.ErrMethodNotAllowed
		}
		params = make(map[string]string, tpl.params)
		rest := path
		for _, s := range tpl.segments {
			var v string
			v, rest, _ = strings.Cut(rest, "/")
			if s.param {
				params[s.text] = v
			}
		}
		return route, params, true, nil
	}
	return nil, nil, false, nil
}

// match tells whether path, of as many segments as tpl, matches tpl.
func (tpl *template) match(path string) bool {
	rest := path
	for _, s := range tpl.segments {
		var v string
		v, rest, _ = strings.Cut(rest, "/")
		if s.param && v == "" || !s.param && v != s.text {
			return false
		}
	}
	return true
}

package openapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers"
)

// TestRouteTable_AgreesWithTheRouter holds the route table to kin-openapi's
// gorilla/mux router on every spec: for each template filled in several
// ways, and each method, both find the same route and parameters, or the
// same error, or (the table only) nothing, which FindRoute leaves to the
// router.
func TestRouteTable_AgreesWithTheRouter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	specs := map[string][]byte{HighLevelFile: highLevelYAML, Marketing360File: marketing360YAML, AdminFile: adminYAML}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions}
	fills := []string{"x1", "a%2Fb", "a%20b", "%E2%82%AC", "search", "upsert", "removeAll", "completed"}
	for file, data := range specs {
		spec, err := Load(ctx, file, data)
		if err != nil {
			t.Fatal(err)
		}
		if !spec.routed {
			t.Fatalf("%s: the table does not route the spec", file)
		}
		var paths []string
		for _, tpl := range spec.Doc.Paths.InMatchingOrder() {
			for _, fill := range fills {
				p := tpl
				for strings.Contains(p, "{") {
					i, j := strings.Index(p, "{"), strings.Index(p, "}")
					p = p[:i] + fill + p[j+1:]
				}
				paths = append(paths, p, p+"/", strings.TrimSuffix(p, "/"), p+"/extra", "/v2"+p, strings.Replace(p, "/", "//", 1))
			}
			// An empty variable matches no template.
			paths = append(paths, strings.ReplaceAll(strings.ReplaceAll(tpl, "{", "/"), "}", ""))
		}
		paths = append(paths, "/", "", "/nowhere", "/contacts", "/contacts//tasks")
		checked := 0
		for _, p := range paths {
			for _, m := range methods {
				req := httptest.NewRequest(m, "http://twin.invalid/", nil)
				req.URL.Path, req.URL.RawPath = "", ""
				if err := setEscapedPath(req, p); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				wantRoute, wantParams, wantErr := spec.router.FindRoute(req)
				route, params, ok, err := spec.table.find(req)
				if !ok {
					// Left to the router: right only when the router
					// finds no path either.
					if wantErr == nil || errors.Is(wantErr, routers.ErrMethodNotAllowed) {
						t.Errorf("%s %s %q: table finds nothing, router %v %v", file, m, p, routeName(wantRoute), wantErr)
					}
					continue
				}
				checked++
				switch {
				case !errors.Is(err, wantErr) && (err != nil || wantErr != nil):
					t.Errorf("%s %s %q: table error %v, router %v", file, m, p, err, wantErr)
				case err == nil && (routeName(route) != routeName(wantRoute) || !maps.Equal(params, wantParams)):
					t.Errorf("%s %s %q: table %s %v, router %s %v", file, m, p, routeName(route), params, routeName(wantRoute), wantParams)
				case err == nil && route.Operation != wantRoute.Operation:
					t.Errorf("%s %s %q: table operation %p, router %p", file, m, p, route.Operation, wantRoute.Operation)
				}
			}
		}
		if checked == 0 {
			t.Errorf("%s: the table found no route", file)
		}
	}
}

func routeName(r *routers.Route) string {
	if r == nil {
		return "<none>"
	}
	return r.Method + " " + r.Path
}

// setEscapedPath sets req's path from its escaped form.
func setEscapedPath(req *http.Request, escaped string) error {
	u, err := req.URL.Parse(escaped)
	if err != nil {
		return err
	}
	req.URL.Path, req.URL.RawPath = u.Path, u.RawPath
	return nil
}

func TestRouteTable_TemplatesItCannotHoldLeaveTheRouter(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(string(highLevelYAML), "/contacts/{contactId}/tasks:", "/contacts/{contactId}.json/tasks:", 1)
	if doc == string(highLevelYAML) {
		t.Fatal("the spec has no /contacts/{contactId}/tasks path any more: pick another")
	}
	spec, err := Load(context.Background(), HighLevelFile, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if spec.routed {
		t.Fatal("a variable inside a segment: the table routes the spec")
	}
	route, err := spec.FindRoute(httptest.NewRequest(http.MethodGet, "/contacts/c1.json/tasks", nil))
	if err != nil || route.Operation.ID != "get-all-tasks" || route.PathParams["contactId"] != "c1" {
		t.Errorf("FindRoute = %+v, %v", route, err)
	}
}

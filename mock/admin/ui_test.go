package admin_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/admin"
)

func TestAPI_ServesTheDashboard(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &admin.API{})
	page := call(t, h, http.MethodGet, "/__admin/ui", "").want(t, http.StatusOK)
	if !strings.Contains(page.raw, `<html lang="en">`) {
		t.Fatalf("page: %.200s", page.raw)
	}
	// Every file the page names is served, with its type.
	types := map[string]string{".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
	refs := regexp.MustCompile(`(?:href|src)="(/__admin/ui/[^"]+)"`).FindAllStringSubmatch(page.raw, -1)
	if len(refs) != 3 {
		t.Fatalf("the page names %d files, want 3: %v", len(refs), refs)
	}
	for _, m := range refs {
		req := httptest.NewRequest(http.MethodGet, m[1], nil)
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		ext := m[1][strings.LastIndex(m[1], "."):]
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), types[ext]) || rec.Body.Len() == 0 {
			t.Errorf("%s: %d %s", m[1], rec.Code, rec.Header().Get("Content-Type"))
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", m[1], csp)
		}
	}
	for _, name := range []string{"index.html", "nope.js", "app.js.map", "..%2fui.go"} {
		call(t, h, http.MethodGet, "/__admin/ui/"+name, "").want(t, http.StatusNotFound)
	}
}

func TestAPI_DashboardIsGuarded(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &admin.API{})
	for name, mod := range map[string]func(*http.Request){
		"remote client":   func(r *http.Request) { r.RemoteAddr = "192.0.2.7:5000" },
		"rebinding host":  func(r *http.Request) { r.Host = "evil.example" },
		"cross-site page": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
	} {
		for _, target := range []string{"/__admin/ui", "/__admin/ui/app.js", "/__admin/requests/stream"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			mod(req)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", name, target, rec.Code)
			}
		}
	}
}

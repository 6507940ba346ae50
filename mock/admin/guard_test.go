package admin_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/openapi"
)

func TestGuard_Host(t *testing.T) {
	t.Parallel()
	spec, err := openapi.LoadAdmin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	handler := func(o admin.GuardOptions) http.Handler {
		api := &admin.API{Clock: clock.NewManual(t0)}
		p, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: api.Handlers(), Auth: admin.TokenAuth{},
			RenderError: admin.RenderError, MapError: admin.MapError, Outer: []pipeline.Middleware{admin.Guard(o)},
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	local := handler(admin.GuardOptions{Hosts: []string{"twin.internal"}})
	remote := handler(admin.GuardOptions{AllowRemote: true})
	for _, tc := range []struct {
		name string
		h    http.Handler
		host string
		want int
	}{
		{"IPv4 loopback", local, "127.0.0.1:8080", http.StatusOK},
		{"other loopback address", local, "127.3.4.5", http.StatusOK},
		{"IPv6 loopback", local, "[::1]:8080", http.StatusOK},
		{"localhost", local, "localhost:8080", http.StatusOK},
		{"localhost, trailing dot", local, "localhost.:8080", http.StatusOK},
		{"a .localhost name", local, "app.localhost", http.StatusOK},
		{"configured host", local, "TWIN.internal:9000", http.StatusOK},
		{"rebinding name", local, "attacker.example:8080", http.StatusForbidden},
		{"localhost as a prefix", local, "localhost.attacker.example", http.StatusForbidden},
		{"a public address", local, "192.0.2.1:8080", http.StatusForbidden},
		{"empty", local, "", http.StatusForbidden},
		{"remote allowed: any name", remote, "twin.example", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/__admin/clock", nil)
			req.Host, req.RemoteAddr = tc.host, "127.0.0.1:5000"
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("Host %q: %d, want %d: %s", tc.host, rec.Code, tc.want, rec.Body)
			}
		})
	}
}

package transport

import (
	"context"
	"net/http"
)

type tenantKey struct{}

// WithTenant returns ctx naming the tenant its requests spend the quota of:
// a HighLevel app and location, a Marketing 360 key. The auth layers set it
// on their requests; a caller may set it for a stack without one.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// Tenant returns the tenant of req: the one its context names, else its
// host.
func Tenant(req *http.Request) string {
	if t, ok := req.Context().Value(tenantKey{}).(string); ok && t != "" {
		return t
	}
	return req.URL.Host
}

// withTenant returns a clone of req for tenant, unless its context names
// one already (an outer layer's choice wins).
func withTenant(req *http.Request, tenant string) *http.Request {
	if t, ok := req.Context().Value(tenantKey{}).(string); ok && t != "" {
		return req.Clone(req.Context())
	}
	return req.Clone(WithTenant(req.Context(), tenant))
}

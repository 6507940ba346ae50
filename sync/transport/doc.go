// Package transport is the sync's HTTP client stack: small http.RoundTripper
// layers that each do one thing, composed by New.
//
//	UserAgent -> Log -> auth (OAuth, Bearer or Basic) -> Validate -> Retry -> Limiter -> Timeout -> base
//
// Auth sets the credentials and tells the layers below which tenant (a
// HighLevel location, a Marketing 360 key) a request spends the quota of.
// Validate checks what the caller sent and finally got against the spec.
// Retry sends again what is safe to send again; every attempt passes the
// Limiter, which paces requests from the quota headers of the answers so
// that a client at full demand uses its quota without a 429. No layer
// modifies the caller's request: each one that changes it clones it.
//
// Time is read from a Clock, so that tests move it instead of sleeping.
package transport

package transport

import "net/http"

// Pooled is a transport as http.DefaultTransport (its proxy, dial and
// TLS settings, HTTP/2) that keeps up to conns idle connections to each
// host, where http.DefaultTransport keeps 2: with more requests than that
// under way to one API (the sync's 32 workers), every one past the second
// opened a new connection (a TCP and TLS handshake) and closed it after.
// Size conns to the requests that can be under way at once; its owner
// closes the idle connections (CloseIdleConnections) when done with it.
func Pooled(conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(conns, 1)
	t.MaxIdleConns = max(t.MaxIdleConns, 2*t.MaxIdleConnsPerHost)
	return t
}

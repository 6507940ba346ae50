package m360api

import (
	"fmt"
	"net/http"
)

// DefaultServer is the live API's base URL (paths under /v1).
const DefaultServer = "https://api.marketing360.com"

// New returns a client of the API at server ("" means DefaultServer) that
// sends its requests through doer (nil means http.DefaultClient).
func New(server string, doer HttpRequestDoer, opts ...ClientOption) (*ClientWithResponses, error) {
	if server == "" {
		server = DefaultServer
	}
	if doer == nil {
		doer = http.DefaultClient
	}
	c, err := NewClientWithResponses(server, append([]ClientOption{WithHTTPClient(doer)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("m360api: new client: %w", err)
	}
	return c, nil
}

package highlevelapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/openapi"
)

// DefaultServer is the live API's base URL.
const DefaultServer = "https://services.leadconnectorhq.com"

// HeaderVersion is the header that names the API version a route expects.
const HeaderVersion = "Version"

// New returns a client of the API at server (the base URL; "" means
// DefaultServer) that sends its requests through doer (nil means
// http.DefaultClient) with the Version header of each route: see
// SetRouteVersion.
func New(server string, doer HttpRequestDoer, opts ...ClientOption) (*ClientWithResponses, error) {
	if server == "" {
		server = DefaultServer
	}
	if doer == nil {
		doer = http.DefaultClient
	}
	opts = append([]ClientOption{WithHTTPClient(doer), WithRequestEditorFn(SetRouteVersion)}, opts...)
	c, err := NewClientWithResponses(server, opts...)
	if err != nil {
		return nil, fmt.Errorf("highlevelapi: new client: %w", err)
	}
	return c, nil
}

// SetRouteVersion is a RequestEditorFn that sets, on a request without a
// Version header value, the version its route documents: the first value
// of the route's Version parameter in the spec (2021-07-28 on contacts,
// 2021-04-15 on calendars). Requests to routes the spec does not know are
// left alone.
func SetRouteVersion(_ context.Context, req *http.Request) error {
	if req.Header.Get(HeaderVersion) != "" {
		return nil
	}
	spec, err := loadSpec()
	if err != nil {
		return err
	}
	route, err := spec.FindRoute(req)
	if err != nil {
		return nil
	}
	if v := routeVersion(route.Operation.Spec); v != "" {
		req.Header.Set(HeaderVersion, v)
	}
	return nil
}

// RouteVersion returns the Version an operation of the spec documents, ""
// for an operation without one or an unknown operation id.
func RouteVersion(operationID string) string {
	spec, err := loadSpec()
	if err != nil {
		return ""
	}
	op, ok := spec.Operation(operationID)
	if !ok {
		return ""
	}
	return routeVersion(op.Spec)
}

func routeVersion(op *openapi3.Operation) string {
	for _, p := range op.Parameters {
		if p.Value == nil || p.Value.In != openapi3.ParameterInHeader || p.Value.Name != HeaderVersion {
			continue
		}
		if s := p.Value.Schema; s != nil && s.Value != nil && len(s.Value.Enum) > 0 {
			if v, ok := s.Value.Enum[0].(string); ok {
				return v
			}
		}
	}
	return ""
}

// loadSpec loads the embedded spec once.
var loadSpec = sync.OnceValues(func() (*openapi.Spec, error) {
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		return nil, fmt.Errorf("highlevelapi: load spec: %w", err)
	}
	return spec, nil
})

// Package catalog reads the webhook catalog of an OpenAPI 3.0 document:
// the extension (x-webhooks) that maps each event's name to a Path Item,
// as OpenAPI 3.1's webhooks do. Both the openapi package and the code it
// generates for its embedded specs (internal/golit) read it here.
package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Key is the extension that holds the catalog.
const Key = "x-webhooks"

// Items decodes doc's catalog into its events' path items, their
// references not resolved; nil when doc has none.
func Items(doc *openapi3.T) (map[string]*openapi3.PathItem, error) {
	ext, ok := doc.Extensions[Key]
	if !ok {
		return nil, nil
	}
	raw, err := json.Marshal(ext)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Key, err)
	}
	items := map[string]*openapi3.PathItem{}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: %w", Key, err)
	}
	return items, nil
}

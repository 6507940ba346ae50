package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/openapi/internal/catalog"
)

// WebhooksKey is the extension that holds a spec's webhook catalog: event
// name -> a Path Item whose post operation is the delivery (the shape of
// OpenAPI 3.1's webhooks, which 3.0 documents spell x-webhooks).
const WebhooksKey = catalog.Key

// ErrPayload is wrapped by every error Webhook.Validate returns for a body
// that does not match the event's schema.
var ErrPayload = errors.New("openapi: webhook payload does not match the spec")

// Webhook is an event of a spec's webhook catalog.
type Webhook struct {
	// Name is the event's name: "ContactCreate", "contact.created".
	Name string
	// Scopes (x-scopes) are what an app needs, all of them, to receive it.
	Scopes []string
	// Schema is the payload's, resolved.
	Schema *openapi3.Schema
	// Spec is the delivery as the document declares it.
	Spec *openapi3.Operation
}

// Webhooks lists the spec's webhook events by name.
func (s *Spec) Webhooks() []*Webhook { return slices.Clone(s.webhooks) }

// Webhook returns the event of the catalog with the given name.
func (s *Spec) Webhook(name string) (*Webhook, bool) {
	i, found := slices.BinarySearchFunc(s.webhooks, name, func(w *Webhook, name string) int {
		return strings.Compare(w.Name, name)
	})
	if !found {
		return nil, false
	}
	return s.webhooks[i], true
}

// Validate checks a payload against the event's schema; the error lists
// every problem with its JSON pointer.
func (w *Webhook) Validate(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%w: %s: not JSON: %v", ErrPayload, w.Name, err)
	}
	err := w.Schema.VisitJSON(v, openapi3.MultiErrors())
	if err == nil {
		return nil
	}
	var problems []string
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &multi):
			for _, e := range multi {
				walk(e)
			}
		case errors.As(err, &se):
			problems = append(problems, "/"+strings.Join(se.JSONPointer(), "/")+": "+se.Reason)
		default:
			problems = append(problems, err.Error())
		}
	}
	walk(err)
	return fmt.Errorf("%w: %s: %s", ErrPayload, w.Name, strings.Join(problems, "; "))
}

// loadWebhooks reads the catalog of doc from its items (nil when doc has
// none; catalog.Items): each event's post operation, its refs resolved
// against doc's components and validated as the document's own operations
// are.
func loadWebhooks(ctx context.Context, file string, doc *openapi3.T, items map[string]*openapi3.PathItem) ([]*Webhook, error) {
	if items == nil {
		return nil, nil
	}
	// The events, as paths of a document that shares doc's components, are
	// resolved by the library as any operation is.
	events := &openapi3.T{OpenAPI: doc.OpenAPI, Info: doc.Info, Paths: openapi3.NewPaths(), Components: doc.Components}
	for name, item := range items {
		events.Paths.Set("/"+name, item)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(events, nil); err != nil {
		return nil, &SpecError{File: file, Err: fmt.Errorf("%s: %w", WebhooksKey, err)}
	}
	out := make([]*Webhook, 0, len(items))
	for name, item := range items {
		if err := item.Validate(ctx); err != nil {
			return nil, &SpecError{File: file, Err: fmt.Errorf("%s: %s: %w", WebhooksKey, name, err)}
		}
		if item.Post == nil || item.Post.RequestBody == nil || item.Post.RequestBody.Value == nil {
			return nil, &SpecError{File: file, Err: fmt.Errorf("%s: %s has no post operation with a request body", WebhooksKey, name)}
		}
		media := item.Post.RequestBody.Value.Content.Get("application/json")
		if media == nil || media.Schema == nil || media.Schema.Value == nil {
			return nil, &SpecError{File: file, Err: fmt.Errorf("%s: %s has no application/json schema", WebhooksKey, name)}
		}
		w := &Webhook{Name: name, Schema: media.Schema.Value, Spec: item.Post}
		if scopes, ok := item.Post.Extensions["x-scopes"].([]any); ok {
			for _, sc := range scopes {
				if s, ok := sc.(string); ok {
					w.Scopes = append(w.Scopes, s)
				}
			}
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b *Webhook) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

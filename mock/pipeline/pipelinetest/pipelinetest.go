// Package pipelinetest provides a small spec and a pipeline built from it,
// for the tests of the pipeline and of the middlewares that run inside one
// (journal, limits, faults), and helpers for the tests of handlers.
package pipelinetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/openapi"
)

// Spec is a small OpenAPI document with one operation of each kind the
// tests need:
//
//   - get-thing, GET /things/{id}: needs scope things.read and the header
//     Version: 1, takes an optional query parameter q and answers an object
//     with a string name;
//   - create-thing, POST /things: no security, a required JSON body with a
//     string name and an integer size of at most 10;
//   - get-open, GET /open: no security, no parameters;
//   - get-token, POST /oauth/token: no security, a form-encoded body;
//   - create-contact, get-contact, delete-contact and get-tasks on
//     /contacts, /contacts/{contactId} and /contacts/{contactId}/tasks:
//     no security, nested paths for path matching.
//
// Errors are declared as {status, messages} (see Render) with the statuses
// the tests produce, so that strict mode passes them.
const Spec = `openapi: 3.0.3
info: {title: mini, version: '1'}
paths:
  /things/{id}:
    get:
      operationId: get-thing
      security: [{oauth: [things.read]}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
        - {name: Version, in: header, required: true, schema: {type: string, enum: ['1']}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [name]
                properties: {name: {type: string}}
        '400': {$ref: '#/components/responses/Err'}
        '401': {$ref: '#/components/responses/Err'}
        '404': {$ref: '#/components/responses/Err'}
        '429': {$ref: '#/components/responses/Err'}
        '500': {$ref: '#/components/responses/Err'}
  /things:
    post:
      operationId: create-thing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties: {name: {type: string}, size: {type: integer, maximum: 10}}
      responses:
        '201': {$ref: '#/components/responses/Object'}
        '400': {$ref: '#/components/responses/Err'}
        '422': {$ref: '#/components/responses/Err'}
        '500': {$ref: '#/components/responses/Err'}
  /open:
    get:
      operationId: get-open
      responses:
        '200': {$ref: '#/components/responses/Object'}
        '500': {$ref: '#/components/responses/Err'}
  /oauth/token:
    post:
      operationId: get-token
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                grant_type: {type: string}
                client_id: {type: string}
                client_secret: {type: string}
                code: {type: string}
      responses:
        '200': {$ref: '#/components/responses/Object'}
        '400': {$ref: '#/components/responses/Err'}
  /contacts:
    post:
      operationId: create-contact
      responses:
        '201': {$ref: '#/components/responses/Object'}
  /contacts/{contactId}:
    parameters:
      - {name: contactId, in: path, required: true, schema: {type: string}}
    get:
      operationId: get-contact
      responses:
        '200': {$ref: '#/components/responses/Object'}
    delete:
      operationId: delete-contact
      responses:
        '200': {$ref: '#/components/responses/Object'}
  /contacts/{contactId}/tasks:
    parameters:
      - {name: contactId, in: path, required: true, schema: {type: string}}
    get:
      operationId: get-tasks
      responses:
        '200': {$ref: '#/components/responses/Object'}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: 'https://example.test/token', scopes: {things.read: read}}}
  responses:
    Object:
      description: ok
      content: {application/json: {schema: {type: object}}}
    Err:
      description: error
      content:
        application/json:
          schema:
            type: object
            required: [status, messages]
            properties: {status: {type: integer}, messages: {type: array, items: {type: string}}}
`

// LoadSpec loads Spec as "mini.yaml".
func LoadSpec(tb testing.TB) *openapi.Spec {
	tb.Helper()
	spec, err := openapi.Load(context.Background(), "mini.yaml", []byte(Spec))
	if err != nil {
		tb.Fatal(err)
	}
	return spec
}

// Render is the error renderer of Spec: {"status": 404, "messages": [...]}.
func Render(e *pipeline.Error) any { return map[string]any{"status": e.Status, "messages": e.Messages} }

// New builds a pipeline from cfg, filling what it leaves unset:
//
//   - Spec: LoadSpec;
//   - Handlers: cfg.Handlers over defaults that answer every operation of
//     Spec with 200 (201 for the creates) and an object of its path
//     parameters, but get-thing's with {"name": id};
//   - Auth: a registry where token "good" has scope things.read at location
//     L, and token "noscope" no scope;
//   - RenderError: Render;
//   - Logger: one that discards.
func New(tb testing.TB, cfg pipeline.Config) http.Handler {
	tb.Helper()
	if cfg.Spec == nil {
		cfg.Spec = LoadSpec(tb)
	}
	handlers := defaultHandlers()
	for id, h := range cfg.Handlers {
		handlers[id] = h
	}
	cfg.Handlers = handlers
	if cfg.Auth == nil {
		tokens := auth.NewRegistry(clock.Real{})
		tokens.Add("good", auth.Principal{LocationID: "L", Scopes: []string{"things.read"}})
		tokens.Add("noscope", auth.Principal{LocationID: "L"})
		cfg.Auth = tokens
	}
	if cfg.RenderError == nil {
		cfg.RenderError = Render
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p, err := pipeline.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func defaultHandlers() map[string]pipeline.HandlerFunc {
	params := func(status int) pipeline.HandlerFunc {
		return func(r *pipeline.Request) (pipeline.Response, error) {
			body := map[string]any{}
			for k, v := range r.Path {
				body[k] = v
			}
			return pipeline.JSON(status, body), nil
		}
	}
	return map[string]pipeline.HandlerFunc{
		"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			return pipeline.JSON(http.StatusOK, map[string]any{"name": r.Path["id"]}), nil
		},
		"create-thing":   params(http.StatusCreated),
		"get-open":       params(http.StatusOK),
		"get-token":      params(http.StatusOK),
		"create-contact": params(http.StatusCreated),
		"get-contact":    params(http.StatusOK),
		"delete-contact": params(http.StatusOK),
		"get-tasks":      params(http.StatusOK),
	}
}

// NewRequest returns a request to target with the header Version: 1 that
// get-thing requires, with "Authorization: Bearer token" unless token is "",
// and with body as JSON unless body is "".
func NewRequest(method, target, token, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Version", "1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// Serve serves req with h and returns what h wrote.
func Serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Body returns the body of a handler's response as a client reads it: the
// JSON the pipeline would write, decoded into a map.
func Body(tb testing.TB, resp pipeline.Response) map[string]any {
	tb.Helper()
	raw, err := json.Marshal(resp.Body)
	if err != nil {
		tb.Fatalf("encode %T: %v", resp.Body, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("body %s is not a JSON object: %v", raw, err)
	}
	return out
}

package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

const miniSpec = `openapi: 3.0.3
info: {title: mini, version: '1'}
paths:
  /things/{id}:
    get:
      operationId: get-thing
      security: [{oauth: [things.read]}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
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
        '401': {$ref: '#/components/responses/Err'}
        '404': {$ref: '#/components/responses/Err'}
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
        '201': {description: created, content: {application/json: {schema: {type: object}}}}
        '400': {$ref: '#/components/responses/Err'}
        '422': {$ref: '#/components/responses/Err'}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: 'https://example.test/token', scopes: {things.read: read}}}
  responses:
    Err:
      description: error
      content:
        application/json:
          schema:
            type: object
            required: [status, messages]
            properties: {status: {type: integer}, messages: {type: array, items: {type: string}}}
`

type fixture struct {
	handlers map[string]pipeline.HandlerFunc
	strict   bool
}

func render(e *pipeline.Error) any { return map[string]any{"status": e.Status, "messages": e.Messages} }

func (f fixture) build(t *testing.T) http.Handler {
	t.Helper()
	spec, err := openapi.Load(context.Background(), "mini.yaml", []byte(miniSpec))
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewRegistry(clock.Real{})
	tokens.Add("good", auth.Principal{LocationID: "L", Scopes: []string{"things.read"}})
	tokens.Add("noscope", auth.Principal{LocationID: "L"})
	handlers := map[string]pipeline.HandlerFunc{
		"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			return pipeline.JSON(http.StatusOK, map[string]any{"name": r.Path["id"]}), nil
		},
		"create-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			return pipeline.JSON(http.StatusCreated, map[string]any{}), nil
		},
	}
	for id, h := range f.handlers {
		handlers[id] = h
	}
	p, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: handlers, Auth: tokens, RenderError: render,
		Strict: f.strict, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	status int
	body   map[string]any
}

func do(t *testing.T, h http.Handler, method, path, token, body string) result {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Version", "1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return result{rec.Code, out}
}

func TestPipeline_Answers(t *testing.T) {
	t.Parallel()
	drift := func(*pipeline.Request) (pipeline.Response, error) {
		return pipeline.JSON(http.StatusOK, map[string]any{"name": 5}), nil
	}
	tests := []struct {
		name       string
		fx         fixture
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"ok", fixture{strict: true}, "GET", "/things/a", "good", "", 200, ""},
		{"unknown route", fixture{}, "GET", "/nope", "good", "", 404, "Cannot GET /nope"},
		{"no token", fixture{}, "GET", "/things/a", "", "", 401, "Invalid token: access token is invalid"},
		{"missing scope", fixture{}, "GET", "/things/a", "noscope", "", 401, "The token is not authorized for this scope."},
		{"body type", fixture{}, "POST", "/things", "", `{"name":1}`, 422, "name must be a string"},
		{"body maximum", fixture{}, "POST", "/things", "", `{"name":"x","size":11}`, 422, "size must be at most 10"},
		{"body missing field", fixture{}, "POST", "/things", "", `{}`, 422, "name should not be empty"},
		{"malformed json", fixture{}, "POST", "/things", "", `{`, 400, "Request body is not valid JSON"},
		{"store not found", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			return pipeline.Response{}, &store.NotFoundError{Kind: "Thing", ID: "a"}
		}}}, "GET", "/things/a", "good", "", 404, "Thing not found"},
		{"drift passes when not strict", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": drift}}, "GET", "/things/a", "good", "", 200, ""},
		{"drift is a 500 when strict", fixture{strict: true, handlers: map[string]pipeline.HandlerFunc{"get-thing": drift}}, "GET", "/things/a", "good", "", 500, "strict mode: response does not match the spec"},
		{"panic is a 500", fixture{strict: true, handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			panic("boom")
		}}}, "GET", "/things/a", "good", "", 500, "Internal server error"},
		{"unknown error is a 500", fixture{handlers: map[string]pipeline.HandlerFunc{"get-thing": func(*pipeline.Request) (pipeline.Response, error) {
			return pipeline.Response{}, errors.New("disk on fire")
		}}}, "GET", "/things/a", "good", "", 500, "Internal server error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, tc.fx.build(t), tc.method, tc.path, tc.token, tc.body)
			if got.status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %v)", got.status, tc.wantStatus, got.body)
			}
			if tc.wantMsg == "" {
				return
			}
			msgs, _ := json.Marshal(got.body["messages"])
			if !strings.Contains(string(msgs), tc.wantMsg) {
				t.Fatalf("messages %s, want one containing %q", msgs, tc.wantMsg)
			}
			if strings.Contains(string(msgs), "disk on fire") {
				t.Fatalf("internal error text leaked to the client: %s", msgs)
			}
		})
	}
}

func TestPipeline_RefusesMissingOrExtraHandlers(t *testing.T) {
	t.Parallel()
	spec, err := openapi.Load(context.Background(), "mini.yaml", []byte(miniSpec))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(*pipeline.Request) (pipeline.Response, error) { return pipeline.Response{}, nil }
	for name, handlers := range map[string]map[string]pipeline.HandlerFunc{
		"missing": {"get-thing": ok},
		"extra":   {"get-thing": ok, "create-thing": ok, "delete-thing": ok},
	} {
		_, err := pipeline.New(pipeline.Config{Spec: spec, Handlers: handlers, RenderError: render})
		if !errors.Is(err, pipeline.ErrMissingHandler) {
			t.Errorf("%s handler: err = %v, want ErrMissingHandler", name, err)
		}
	}
}

package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
	"github.com/contactbridge/contactbridge/openapi"
)

// oneOperation is a pipeline on the spec named name (its YAML), whose
// operation op answers an empty object with status.
func oneOperation(t *testing.T, name, yaml, op string, status int) *pipeline.Pipeline {
	t.Helper()
	spec, err := openapi.Load(context.Background(), name, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	h, err := pipeline.New(pipeline.Config{Spec: spec, RenderError: pipelinetest.Render,
		Logger: slog.New(slog.DiscardHandler), Handlers: map[string]pipeline.HandlerFunc{
			op: func(*pipeline.Request) (pipeline.Response, error) {
				return pipeline.JSON(status, map[string]any{}), nil
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// itemsSpec has an operation whose every kind of parameter can be refused.
const itemsSpec = `openapi: 3.0.3
info: {title: items, version: '1'}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, maxLength: 3}}
    get:
      operationId: get-item
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 10}}
        - {name: Version, in: header, required: true, schema: {type: string, enum: ['1']}}
        - {name: session, in: cookie, schema: {type: string, maxLength: 2}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
`

func TestPipeline_RemembersOnlyTheRequestsItAccepted(t *testing.T) {
	t.Parallel()
	h := oneOperation(t, "items.yaml", itemsSpec, "get-item", http.StatusOK)
	get := func(target, version, cookie string) int {
		req := httptest.NewRequest("GET", target, nil) // no body, as net/http serves a GET
		req.Header.Set("Version", version)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		return pipelinetest.Serve(h, req).Code
	}
	// Each accepted request, then the same with one input that is refused,
	// twice: what was accepted before does not answer for it.
	for _, tc := range []struct{ name, target, version, cookie string }{
		{"path", "/items/abcd?limit=5", "1", ""},
		{"query", "/items/abc?limit=11", "1", ""},
		{"header", "/items/abc?limit=5", "2", ""},
		{"cookie", "/items/abc?limit=5", "1", "session=abc"},
	} {
		for range 2 {
			if got := get("/items/abc?limit=5", "1", "session=ab"); got != http.StatusOK {
				t.Fatalf("the valid request: %d", got)
			}
			if got := get("/items/abc?limit=5", "1", ""); got != http.StatusOK {
				t.Fatalf("the valid request without its cookie: %d", got)
			}
			if got := get(tc.target, tc.version, tc.cookie); got < 400 || got >= 500 {
				t.Errorf("%s refused: %d, want 4xx", tc.name, got)
			}
		}
	}
	// Past what it remembers, it validates as before.
	for i := range 5000 {
		if got := get(fmt.Sprintf("/items/%d?limit=%d", i%1000, i%11), "1", ""); got != http.StatusOK {
			t.Fatalf("request %d: %d", i, got)
		}
	}
	if got := get("/items/1?limit=11", "1", ""); got < 400 || got >= 500 {
		t.Errorf("after many: %d, want 4xx", got)
	}
}

// notesSpec has an operation with a body whose every kind of parameter can
// be refused.
const notesSpec = `openapi: 3.0.3
info: {title: notes, version: '1'}
paths:
  /notes/{id}:
    post:
      operationId: add-note
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, maxLength: 3}}
        - {name: draft, in: query, schema: {type: boolean}}
        - {name: Version, in: header, required: true, schema: {type: string, enum: ['1']}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [body]
              properties: {body: {type: string, maxLength: 5}}
      responses:
        '201': {description: ok, content: {application/json: {schema: {type: object}}}}
`

// The parameters of a request with a body that were accepted once are
// accepted again without kin-openapi, but its body is judged every time,
// and other parameters are judged as before.
func TestPipeline_RemembersOnlyTheParametersItAccepted(t *testing.T) {
	t.Parallel()
	h := oneOperation(t, "notes.yaml", notesSpec, "add-note", http.StatusCreated)
	post := func(target, version, body string) int {
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Version", version)
		return pipelinetest.Serve(h, req).Code
	}
	for _, tc := range []struct{ name, target, version, body string }{
		{"body", "/notes/abc?draft=true", "1", `{"body":"too long"}`},
		{"body missing a property", "/notes/abc?draft=true", "1", `{}`},
		{"path", "/notes/abcd?draft=true", "1", `{"body":"hi"}`},
		{"query", "/notes/abc?draft=maybe", "1", `{"body":"hi"}`},
		{"header", "/notes/abc?draft=true", "2", `{"body":"hi"}`},
	} {
		for i := range 2 {
			if got := post("/notes/abc?draft=true", "1", fmt.Sprintf(`{"body":"n%d"}`, i)); got != http.StatusCreated {
				t.Fatalf("the valid request: %d", got)
			}
			if got := post(tc.target, tc.version, tc.body); got < 400 || got >= 500 {
				t.Errorf("%s refused: %d, want 4xx", tc.name, got)
			}
		}
	}
}

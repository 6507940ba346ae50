package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/contactbridge/contactbridge/internal/jsonguard"
	"github.com/contactbridge/contactbridge/openapi"
)

// checkBodies are request bodies of every shape: valid and not, for the
// contacts' schemas (customFields' oneOf, dndSettings, tags) and others.
var checkBodies = []string{
	`{}`, `[]`, `"x"`, `null`, `1`, `{`, `{"a":1}{"b":2}`, `{"name":"x"}`,
	`{"locationId":"ve9EPM428h8vShlRW1KT"}`,
	`{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","phone":"+18832327657","tags":["vip","2024"],"source":"public api"}`,
	`{"locationId":"ve9EPM428h8vShlRW1KT","email":5}`,
	`{"locationId":"","firstName":"Ada"}`,
	`{"firstName":"Augusta","companyName":"Analytical Engines","tags":["perf","updated"],"source":"bench"}`,
	`{"firstName":null,"tags":null,"dnd":true}`,
	`{"tags":"vip"}`, `{"tags":[1,2]}`,
	`{"customFields":[{"id":"yXSAo1oE2Yw1I6LuLEU6","field_value":"x"},{"key":"contact.plan","value":["a","b"]}]}`,
	`{"customFields":[{"id":"a","value":{"url":"x"}}]}`, `{"customFields":[{"value":1}]}`, `{"customFields":{"id":"a"}}`,
	`{"dndSettings":{"Email":{"status":"active"}}}`, `{"dndSettings":{"Email":{"status":"sometimes"}}}`,
	`{"dateOfBirth":"1990/09/25"}`, `{"dateOfBirth":19900925}`, `{"unknownProperty":true}`,
	`{"title":"Call","dueDate":"2024-01-01T00:00:00.000Z","completed":false}`, `{"body":"a note","userId":"u"}`,
	`{"tags":["a"],"contacts":["x"]}`, `{"ids":["a"],"businessId":null}`,
	`{"calendarId":"c","locationId":"l","contactId":"x","startTime":"2024-01-01T10:00:00+00:00"}`,
	`{"firstName":"Ada","email":"ada@example.com","phone":"+18832327657","Email":"x"}`,
	`{"firstName":"` + strings.Repeat("a", 255) + `","lastName":"` + strings.Repeat("é", 256) + `"}`,
	`{"firstName":"` + strings.Repeat("🌵", 128) + `","companyName":"` + strings.Repeat("c", 1000) + `"}`,
	`{"email":"not an email"}`, `{"email":null,"phone":null,"dnd":null}`, `{"dnd":"true"}`, `{"dnd":1}`,
	`{"tags":[` + strings.Repeat(`"t",`, 200) + `"t"]}`, `{"tags":[null]}`, `{"tags":["` + strings.Repeat("t", 300) + `"]}`,
	`{"dndSettings":{"Email":{"status":"active","message":5}}}`, `{"dndSettings":{"SMS":{"status":"inactive","code":"x"}}}`,
	`{"dndSettings":null}`, `{"dndSettings":[]}`, `{"inboundDndSettings":{"all":{"status":"active"}}}`,
	`{"locationId":null}`, `{"locationId":1}`, `{"source":"` + strings.Repeat("s", 5000) + `"}`,
	`{"dueDate":"2024-13-01T00:00:00Z","title":"x"}`, `{"completed":"yes"}`, `{"startTime":"not a time"}`,
}

// TestJSONBody_AgreesWithKinOpenAPI: for every operation of the twins'
// specs whose body the pipeline checks itself, and every body and content
// type, its check accepts exactly what kin-openapi's own pass accepts, but
// for a body that is more than one JSON value: kin-openapi validates the
// first and ignores the rest, which the check leaves to it (and the
// handler's decoding refuses).
func TestJSONBody_AgreesWithKinOpenAPI(t *testing.T) {
	t.Parallel()
	admin := func(ctx context.Context, _ string) (*openapi.Spec, error) { return openapi.LoadAdmin(ctx) }
	for _, load := range []func(context.Context, string) (*openapi.Spec, error){openapi.LoadHighLevel, openapi.LoadMarketing360, admin} {
		spec, err := load(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		checked, flattened, compiled := 0, 0, 0
		for _, op := range spec.Operations() {
			jb := prepareJSONBody(spec.Doc, op.Spec)
			if jb == nil {
				continue
			}
			checked++
			if jb.schema != jb.media.Schema.Value {
				flattened++
			}
			route, err := spec.FindRoute(httptest.NewRequest(op.Method, "http://twin"+op.Path, nil))
			if err != nil {
				t.Fatalf("%s: %v", op.ID, err)
			}
			if jb.check != nil {
				compiled++
			}
			for _, contentType := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "text/plain", ""} {
				for _, body := range checkBodies {
					agreesWithKin(t, op, jb, route, contentType, []byte(body))
				}
			}
		}
		if checked == 0 || compiled == 0 {
			t.Errorf("%s: %d operations' bodies checked by the pipeline, %d by a compiled check, want some", spec.File, checked, compiled)
		}
		if spec.File == openapi.HighLevelFile && flattened < 3 {
			t.Errorf("%s: %d bodies checked on a flat allOf, want the create, update and upsert DTOs", spec.File, flattened)
		}
	}
}

// agreesWithKin fails t when the pipeline's check of body, sent to op with
// contentType, does not agree with kin-openapi's own pass (see
// TestJSONBody_AgreesWithKinOpenAPI).
func agreesWithKin(t testing.TB, op *openapi.Operation, jb *jsonBody, route *openapi.Route, contentType string, body []byte) {
	t.Helper()
	r := httptest.NewRequest(op.Method, "http://twin"+op.Path, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	_, got := jb.decode(r, body)
	r.Body = io.NopCloser(bytes.NewReader(body)) // as kin-openapi is given it
	kin := openapi3filter.ValidateRequestBody(context.Background(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: route.PathParams, Route: route.Route,
		Options: &openapi3filter.Options{MultiError: true, SkipSettingDefaults: true},
	}, op.Spec.RequestBody.Value)
	if got != (kin == nil) && (got || json.Valid(body)) {
		t.Errorf("%s, %q, %.200s: the pipeline's check says valid %v, kin-openapi says %v", op.ID, contentType, body, got, kin)
	}
}

// FuzzJSONBody holds the pipeline's check of a body to kin-openapi's pass,
// for every operation of the HighLevel spec whose body it checks.
func FuzzJSONBody(f *testing.F) {
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		f.Fatal(err)
	}
	type target struct {
		op    *openapi.Operation
		jb    *jsonBody
		route *openapi.Route
	}
	var targets []target
	for _, op := range spec.Operations() {
		if jb := prepareJSONBody(spec.Doc, op.Spec); jb != nil {
			route, err := spec.FindRoute(httptest.NewRequest(op.Method, "http://twin"+op.Path, nil))
			if err != nil {
				f.Fatalf("%s: %v", op.ID, err)
			}
			targets = append(targets, target{op, jb, route})
		}
	}
	for _, body := range checkBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) || jsonguard.CheckDepth(body, jsonguard.MaxDepth) != nil {
			return // refused before the check
		}
		for _, tg := range targets {
			agreesWithKin(t, tg.op, tg.jb, tg.route, "application/json", body)
		}
	})
}

// TestPrepareJSONBody_LeavesReadOnlyToKinOpenAPI: a body whose schema
// declares a readOnly property, at any depth, is validated by kin-openapi's
// request pass, which refuses the property.
func TestPrepareJSONBody_LeavesReadOnlyToKinOpenAPI(t *testing.T) {
	t.Parallel()
	const doc = `openapi: 3.0.3
info: {title: ro, version: '1'}
paths:
  /flat:
    post:
      operationId: flat
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {id: {type: string, readOnly: true}, name: {type: string}}}
      responses: {'200': {description: ok}}
  /deep:
    post:
      operationId: deep
      requestBody:
        content:
          application/json:
            schema:
              allOf:
                - type: object
                  properties:
                    items:
                      type: array
                      items: {oneOf: [{$ref: '#/components/schemas/Node'}, {type: string}]}
      responses: {'200': {description: ok}}
  /plain:
    post:
      operationId: plain
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Plain'}
      responses: {'200': {description: ok}}
components:
  schemas:
    Node:
      type: object
      properties:
        child: {$ref: '#/components/schemas/Node'}
        stamp: {type: string, readOnly: true}
    Plain:
      type: object
      properties:
        self: {$ref: '#/components/schemas/Plain'}
`
	spec, err := openapi.Load(context.Background(), "ro.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"flat": false, "deep": false, "plain": true} {
		op, ok := spec.Operation(id)
		if !ok {
			t.Fatalf("no operation %s", id)
		}
		if got := prepareJSONBody(spec.Doc, op.Spec) != nil; got != want {
			t.Errorf("%s: checked by the pipeline %v, want %v", id, got, want)
		}
	}
}

// TestFlatAllOf_AcceptsWhatTheAllOfAccepts: a property of two parts must
// match both, the required ones of every part stay required, nested allOfs
// flatten, and a part that says more than properties (here
// additionalProperties: false, which would refuse the other part's
// properties) leaves the allOf as it is.
func TestFlatAllOf_AcceptsWhatTheAllOfAccepts(t *testing.T) {
	t.Parallel()
	const doc = `openapi: 3.0.3
info: {title: flat, version: '1'}
paths: {}
components:
  schemas:
    A:
      type: object
      required: [a]
      properties:
        a: {type: string}
        x: {type: string, minLength: 2}
    B:
      allOf:
        - $ref: '#/components/schemas/A'
        - type: object
          required: [b]
          properties:
            b: {type: integer}
            x: {type: string, maxLength: 3}
    Flat:
      description: nested
      allOf:
        - $ref: '#/components/schemas/B'
        - type: object
          properties: {c: {type: boolean}}
    Closed:
      allOf:
        - $ref: '#/components/schemas/A'
        - type: object
          additionalProperties: false
          properties: {b: {type: integer}}
    Nullable:
      allOf:
        - $ref: '#/components/schemas/A'
        - type: object
          nullable: true
          properties: {b: {type: integer}}
`
	spec, err := openapi.Load(context.Background(), "flat.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	values := []string{`{"a":"x","b":1}`, `{"a":"x","b":1,"x":"ab"}`, `{"a":"x","b":1,"x":"a"}`, `{"a":"x","b":1,"x":"abcd"}`,
		`{"b":1}`, `{"a":"x"}`, `{"a":1,"b":1}`, `{"a":"x","b":"1"}`, `{"a":"x","b":1,"c":true}`, `{"a":"x","b":1,"c":"no"}`,
		`{"a":"x","b":1,"other":[1]}`, `null`, `[]`, `"x"`}
	for name, wantFlat := range map[string]bool{"Flat": true, "B": true, "Closed": false, "Nullable": false} {
		s := spec.Doc.Components.Schemas[name].Value
		flat := flatAllOf(s)
		if (flat != s) != wantFlat {
			t.Errorf("%s: flattened %v, want %v", name, flat != s, wantFlat)
		}
		for _, v := range values {
			var value any
			if err := json.Unmarshal([]byte(v), &value); err != nil {
				t.Fatal(err)
			}
			want, got := s.VisitJSON(value) == nil, flat.VisitJSON(value) == nil
			if got != want {
				t.Errorf("%s, %s: the flat schema says valid %v, the allOf %v", name, v, got, want)
			}
		}
	}
}

// BenchmarkJSONBody checks the create-contact body of the benchmarks
// against its schema as the spec has it (an allOf) and flattened, side by
// side, after kin-openapi's own pass (VisitAsRequest) on the same body.
func BenchmarkJSONBody(b *testing.B) {
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	op, _ := spec.Operation("create-contact")
	jb := prepareJSONBody(spec.Doc, op.Spec)
	body := []byte(`{"locationId":"ve9EPM428h8vShlRW1KT","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","phone":"+18832327657","companyName":"Analytical Engines","city":"London","country":"GB","source":"public api","tags":["vip","2024"]}`)
	route, err := spec.FindRoute(httptest.NewRequest("POST", "http://twin/contacts/", nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("kin", func(b *testing.B) {
		b.ReportAllocs()
		r := httptest.NewRequest("POST", "http://twin/contacts/", nil)
		r.Header.Set("Content-Type", "application/json")
		for b.Loop() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if err := openapi3filter.ValidateRequestBody(r.Context(), &openapi3filter.RequestValidationInput{Request: r, Route: route.Route,
				Options: &openapi3filter.Options{MultiError: true, SkipSettingDefaults: true}}, op.Spec.RequestBody.Value); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, side := range []struct {
		name   string
		schema *openapi3.Schema
		check  func(any) bool
	}{{"allOf", jb.media.Schema.Value, nil}, {"flat", jb.schema, nil}, {"compiled", jb.schema, jb.check}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			check := &jsonBody{body: jb.body, media: jb.media, schema: side.schema, check: side.check, names: jb.names}
			r := httptest.NewRequest("POST", "http://twin/contacts/", nil)
			r.Header.Set("Content-Type", "application/json")
			for b.Loop() {
				if _, ok := check.decode(r, body); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

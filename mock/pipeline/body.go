package pipeline

import (
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/mock/fastcheck"
)

// jsonBody is an operation's JSON request body that the pipeline checks
// against its schema itself, on the value it decodes once, as kin-openapi
// would but without its request pass (openapi3.VisitAsRequest). That pass
// exists for readOnly properties and defaults, and costs on every request:
// it deep-copies the value for each oneOf and anyOf alternative it tries,
// visits the matched one twice, and sorts the schema's property names on
// every object. A body whose schema declares nothing readOnly gains nothing
// from it (the pipeline sets no defaults), so the outcome is the same; an
// operation whose body does declare some is left to kin-openapi.
type jsonBody struct {
	body  *openapi3.RequestBody
	media *openapi3.MediaType
	// schema is the media type's schema, or one that accepts the same
	// values in fewer visits (see flatAllOf).
	schema *openapi3.Schema
	// check is schema's compiled check (fastcheck.Object), true only of a
	// value schema accepts; nil when it has none. Where it says false,
	// schema.VisitJSON judges.
	check func(any) bool
	// names are the schema's property names, which most of a body's keys
	// are (decodeValue).
	names map[string]string
}

// prepareJSONBody returns the jsonBody of op, or nil when kin-openapi must
// validate its body itself: no body, no application/json schema, a schema
// that declares a readOnly property, or an OpenAPI 3.1 document (validated
// by another engine).
func prepareJSONBody(doc *openapi3.T, op *openapi3.Operation) *jsonBody {
	if op.RequestBody == nil || op.RequestBody.Value == nil || doc.IsOpenAPI31OrLater() {
		return nil
	}
	body := op.RequestBody.Value
	media := body.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil || len(media.Encoding) > 0 {
		return nil
	}
	if s := media.Schema.Value; s.Type.Is(openapi3.TypeString) && s.Format == "binary" {
		return nil // kin-openapi reads it as a file
	}
	if declaresReadOnly(media.Schema, map[*openapi3.Schema]bool{}) {
		return nil
	}
	schema := flatAllOf(media.Schema.Value)
	names := make(map[string]string, len(schema.Properties))
	for name := range schema.Properties {
		names[name] = name
	}
	return &jsonBody{body: body, media: media, schema: schema, check: fastcheck.Object(schema), names: names}
}

// flatAllOf returns one object schema that accepts exactly the values s
// accepts when s is an allOf of object schemas that say nothing but their
// properties and required ones (or of such allOfs) and constrains nothing
// itself; otherwise s. kin-openapi visits an object once for s and once
// for each part, each time sorting its keys; the flat schema visits it
// once. A property of several parts must match each part's schema.
func flatAllOf(s *openapi3.Schema) *openapi3.Schema {
	if len(s.AllOf) == 0 || s.Discriminator != nil {
		return s
	}
	own := *s
	own.AllOf, own.Title, own.Description, own.Example, own.Extensions, own.Origin = nil, "", "", nil, nil, nil
	if !own.IsEmpty() {
		return s
	}
	flat := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Properties: openapi3.Schemas{}}
	for _, part := range s.AllOf {
		if part.Value == nil {
			return s
		}
		p := flatAllOf(part.Value)
		if !fastcheck.PlainObject(p) {
			return s
		}
		for name, ref := range p.Properties {
			if prev, ok := flat.Properties[name]; ok {
				ref = &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{prev, ref}}}
			}
			flat.Properties[name] = ref
		}
		for _, name := range p.Required {
			if !slices.Contains(flat.Required, name) {
				flat.Required = append(flat.Required, name)
			}
		}
	}
	return flat
}

// declaresReadOnly reports whether ref or any schema under it is readOnly.
func declaresReadOnly(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) bool {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return false
	}
	s := ref.Value
	seen[s] = true
	if s.ReadOnly {
		return true
	}
	refs := []*openapi3.SchemaRef{s.Items, s.Not, s.AdditionalProperties.Schema}
	refs = append(refs, s.AllOf...)
	refs = append(refs, s.OneOf...)
	refs = append(refs, s.AnyOf...)
	for _, p := range s.Properties {
		refs = append(refs, p)
	}
	for _, r := range refs {
		if declaresReadOnly(r, seen) {
			return true
		}
	}
	return false
}

// decode returns data, the body of r, decoded as kin-openapi decodes a JSON
// body (decodeValue), when its schema accepts it. false says only that
// kin-openapi's own pass must word the problem: a content type other than
// JSON, a body that is not one JSON value or does not match.
func (b *jsonBody) decode(r *http.Request, data []byte) (any, bool) {
	contentType := r.Header.Get("Content-Type")
	if len(data) == 0 || b.body.Content.Get(contentType) != b.media {
		return nil, false
	}
	// As kin-openapi picks the decoder: the media type, lower case,
	// without its parameters.
	mediaType, _, _ := strings.Cut(contentType, ";")
	if strings.ToLower(strings.TrimSpace(mediaType)) != "application/json" {
		return nil, false
	}
	value, err := decodeValue(data, b.names)
	if err != nil || !(b.check != nil && b.check(value)) && b.schema.VisitJSON(value) != nil {
		return nil, false
	}
	return value, true
}

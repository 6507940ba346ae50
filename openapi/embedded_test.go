package openapi

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/openapi/internal/catalog"
	"github.com/contactbridge/contactbridge/openapi/internal/golit"
)

// embeddedDocs are the embedded specs with the functions go:generate made
// from them.
var embeddedDocs = []struct {
	file     string
	yaml     []byte
	doc      func() *openapi3.T
	webhooks func() map[string]*openapi3.PathItem
}{
	{HighLevelFile, highLevelYAML, highLevelDoc, highLevelWebhooks},
	{Marketing360File, marketing360YAML, marketing360Doc, marketing360Webhooks},
	{AdminFile, adminYAML, adminDoc, adminWebhooks},
}

// The document each generated function builds is, once its references are
// resolved, the one kin-openapi's loader makes of the YAML, to the last
// unexported field; it validates, and validating it changes nothing, which
// is why loadEmbedded does not validate it again at every load. The webhook
// catalog's items are the ones catalog.Items reads from the YAML's document.
func TestEmbeddedDocIsTheYAMLs(t *testing.T) {
	for _, e := range embeddedDocs {
		want, err := openapi3.NewLoader().LoadFromData(e.yaml)
		if err != nil {
			t.Fatalf("%s: %v", e.file, err)
		}
		got := e.doc()
		if err := openapi3.NewLoader().ResolveRefsIn(got, nil); err != nil {
			t.Fatalf("%s: resolve: %v", e.file, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the generated document is not the YAML's (run go generate ./openapi/)", e.file)
		}
		if err := want.Validate(t.Context()); err != nil {
			t.Errorf("%s: %v", e.file, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: validating the document changed it", e.file)
		}
		items, err := catalog.Items(want)
		if err != nil {
			t.Fatalf("%s: %v", e.file, err)
		}
		if !reflect.DeepEqual(e.webhooks(), items) {
			t.Errorf("%s: the generated webhook catalog is not the YAML's (run go generate ./openapi/)", e.file)
		}
	}
}

// The generated files are what go generate makes of the YAML now.
func TestEmbeddedDocUpToDate(t *testing.T) {
	files, err := golit.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range golit.Specs {
		have, err := os.ReadFile(s.Out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, files[s.Out]) {
			t.Errorf("%s is not what go generate ./openapi/ makes of %s: run it", s.Out, s.YAML)
		}
	}
}

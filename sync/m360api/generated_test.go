package m360api

import (
	"testing"

	"github.com/contactbridge/contactbridge/sync/internal/gencheck"
)

// TestGeneratedIsCurrent fails when m360api.gen.go is not what go generate
// makes from the spec today.
func TestGeneratedIsCurrent(t *testing.T) {
	file, stale, err := gencheck.Stale("oapi-codegen.yaml", "../../openapi/marketing360.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Errorf("%s is stale: run go generate ./sync/... and commit it", file)
	}
}

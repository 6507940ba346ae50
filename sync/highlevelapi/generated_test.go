package highlevelapi

import (
	"testing"

	"github.com/contactbridge/contactbridge/sync/internal/gencheck"
)

// TestGeneratedIsCurrent fails when highlevelapi.gen.go is not what go generate
// makes from the spec today.
func TestGeneratedIsCurrent(t *testing.T) {
	file, stale, err := gencheck.Stale("oapi-codegen.yaml", "../../openapi/highlevel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Errorf("%s is stale: run go generate ./sync/... and commit it", file)
	}
}

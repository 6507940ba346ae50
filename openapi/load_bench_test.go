package openapi_test

import (
	"context"
	"testing"

	"github.com/contactbridge/contactbridge/openapi"
)

// BenchmarkLoadEmbedded loads the three embedded specs, one after the other,
// as a twin does at start (there concurrently).
func BenchmarkLoadEmbedded(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openapi.LoadHighLevel(ctx, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := openapi.LoadMarketing360(ctx, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := openapi.LoadAdmin(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

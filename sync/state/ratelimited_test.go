package state_test

import (
	"context"
	"testing"

	"github.com/contactbridge/contactbridge/sync/state"
)

// 429 counts add up per API, and Status shows them apart from the cursors.
func TestRateLimited_AddsUpPerAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	if err := db.SaveCursor(ctx, state.Cursor{Stream: "hl:contacts", Tenant: "loc", Value: "v1", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, add := range []struct {
		api string
		n   int64
	}{{"hl", 2}, {"m360", 3}, {"m360", 1}, {"hl", 0}, {"x", -1}} {
		if err := db.AddRateLimited(ctx, add.api, add.n, t0); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Status(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.RateLimited) != 2 || st.RateLimited["hl"] != 2 || st.RateLimited["m360"] != 4 {
		t.Errorf("429 counts %v; want hl 2, m360 4", st.RateLimited)
	}
	if len(st.Cursors) != 1 || st.Cursors[0].Stream != "hl:contacts" {
		t.Errorf("cursors %+v; want hl:contacts alone", st.Cursors)
	}
}

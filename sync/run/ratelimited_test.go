package run_test

import (
	"context"
	"testing"

	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
)

// TestSync_Records429sForStatus: the answers 429 of both APIs reach the
// state database while the sync runs, where another process (sync status)
// reads them, and are counted once across the stop.
func TestSync_Records429sForStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw := twintest.New(t, twintest.Options{Listen: true})
	tw.AddFault(`{"match":{"operation":"get-contact"},"effect":{"kind":"error","status":429,"headers":{"Retry-After":"1"}},"times":2}`)
	tw.AddFault(`{"match":{"operation":"m360-create-task"},"effect":{"kind":"error","status":429,"headers":{"Retry-After":"1"}},"times":1}`)
	cfg := syncConfig(t, tw)
	s, err := run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, tw, s)
	ids := createContacts(t, tw, 1)
	twintest.WaitFor(t, wait, func() bool {
		c := tw.Counterpart(ids[0])
		return c.Contacts == 1 && len(c.Tasks) == 3 && len(c.Notes) == 1
	})
	counts := func() map[string]int64 {
		db, err := state.Open(ctx, cfg.DB, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		st, err := db.Status(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return st.RateLimited
	}
	want := func(got map[string]int64) bool { return len(got) == 2 && got["hl"] == 2 && got["m360"] == 1 }
	var got map[string]int64
	twintest.WaitFor(t, wait, func() bool { got = counts(); return want(got) })
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got = counts(); !want(got) {
		t.Errorf("429s after the stop: %v; want hl 2, m360 1", got)
	}
}

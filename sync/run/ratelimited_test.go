package run_test

import (
	"context"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
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

// TestSync_DailyQuotaSnoozesTheJob: a converge job whose tenant is out of
// its day's quota (the answer says none is left) waits until the quota
// comes back, snoozed, instead of spending its attempts in retries and
// dropping the change with the last.
func TestSync_DailyQuotaSnoozesTheJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw := twintest.New(t, twintest.Options{Listen: true})
	tw.AddFault(`{"match":{"operation":"get-contact"},"effect":{"kind":"error","status":429,"headers":{
		"X-RateLimit-Max":"100","X-RateLimit-Remaining":"99","X-RateLimit-Interval-Milliseconds":"10000",
		"X-RateLimit-Limit-Daily":"200000","X-RateLimit-Daily-Remaining":"0"}}}`)
	cfg := syncConfig(t, tw)
	s, err := run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	subscribe(t, tw, s)
	ids := createContacts(t, tw, 1)
	var counts []engine.JobCount
	twintest.WaitFor(t, wait, func() bool {
		if counts, err = engine.JobCounts(ctx, s.DB()); err != nil {
			t.Fatal(err)
		}
		return slices.Contains(counts, engine.JobCount{Kind: engine.KindConverge, State: "scheduled", N: 1})
	})
	for _, c := range counts {
		if c.Kind == engine.KindConverge && c.State != "scheduled" {
			t.Errorf("%d converge jobs %s, want the one snoozed", c.N, c.State)
		}
	}
	var attempt, errs int
	if err := s.DB().SQL().QueryRowContext(ctx, `SELECT attempt, COALESCE(json_array_length(errors), 0) FROM river_job WHERE kind = ?`,
		engine.KindConverge).Scan(&attempt, &errs); err != nil {
		t.Fatal(err)
	}
	if errs != 0 {
		t.Errorf("the job has %d errors recorded (attempt %d): it was failed, not snoozed", errs, attempt)
	}
	if c := tw.Counterpart(ids[0]); c.Contacts != 0 {
		t.Errorf("counterpart %+v made out of quota", c)
	}
}

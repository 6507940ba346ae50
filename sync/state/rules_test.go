package state_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

// TestSeen_SavedAndReplaced: an entity's snapshot is stored once per
// entity, replaced by the next; an entity never seen is ErrNotFound.
func TestSeen_SavedAndReplaced(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	ctx := context.Background()
	if _, err := db.Seen(ctx, "hl", "contact", "loc", "c1"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("never seen: %v; want ErrNotFound", err)
	}
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	for i, s := range []state.Seen{
		{API: "hl", Kind: "contact", Tenant: "loc", ID: "c1", Version: "v1", Snapshot: []byte(`{"id":"c1"}`), UpdatedAt: t0},
		{API: "hl", Kind: "contact", Tenant: "loc", ID: "c1", Version: "gone", Gone: true, UpdatedAt: t0.Add(time.Second)},
	} {
		if err := db.SaveSeen(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := db.Seen(ctx, "hl", "contact", "loc", "c1")
		if err != nil || got.Version != s.Version || got.Gone != s.Gone || string(got.Snapshot) != string(s.Snapshot) || !got.UpdatedAt.Equal(s.UpdatedAt) {
			t.Errorf("save %d: got %+v, %v; want %+v", i, got, err, s)
		}
	}
	if _, err := db.Seen(ctx, "m360", "contact", "loc", "c1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("another API's entity of the same id: %v; want ErrNotFound", err)
	}
}

// TestRuleEffects_ParkReplayAndCount: a rule's actions counted done,
// parked (unknown) and pending; Park refuses a done action; ReplayRule
// puts the parked ones back to pending, once, their unknown outcome
// cleared, and OpenRuleEffects lists them by lane.
func TestRuleEffects_ParkReplayAndCount(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000).UTC()
	plan := func(key string) {
		t.Helper()
		if _, err := db.PlanEffect(ctx, state.Effect{Key: key, Flow: "rule:lead", Target: "m360", Tenant: "loc", Lane: "lane-1",
			Op: "m360-trigger-campaign", Request: []byte(`{}`)}, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"done", "refused", "unknown", "waiting"} {
		plan(k)
	}
	if err := db.StartEffect(ctx, "done", now); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteEffect(ctx, "done", "1", 201, now); err != nil {
		t.Fatal(err)
	}
	if err := db.Park(ctx, "refused", state.Failure{Status: 404, Err: "no campaign"}, now); err != nil {
		t.Fatal(err)
	}
	if err := db.Park(ctx, "unknown", state.Failure{Err: "lost", OutcomeUnknown: true}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.Park(ctx, "done", state.Failure{Err: "x"}, now); !errors.Is(err, state.ErrConflict) {
		t.Errorf("park a done action: %v; want ErrConflict", err)
	}
	counts, err := db.RuleCounts(ctx)
	want := state.RuleCount{Rule: "lead", Done: 1, Parked: 2, Unknown: 1, Pending: 1, LastError: "lost", LastParked: now.Add(time.Second)}
	if err != nil || len(counts) != 1 || counts[0] != want {
		t.Fatalf("counts %+v, %v; want %+v", counts, err, want)
	}
	open, err := db.OpenRuleEffects(ctx, "lane-1", 10)
	if err != nil || len(open) != 1 || open[0].Key != "waiting" {
		t.Fatalf("open %+v, %v; want the waiting one", open, err)
	}
	replayed, err := db.ReplayRule(ctx, "lead", now, 10)
	if err != nil || len(replayed) != 2 {
		t.Fatalf("replay %+v, %v; want the two parked", replayed, err)
	}
	if e, err := db.Effect(ctx, "unknown"); err != nil || e.State != state.EffectPending || e.OutcomeUnknown {
		t.Errorf("replayed %+v, %v; want pending, its outcome no longer unknown", e, err)
	}
	if again, err := db.ReplayRule(ctx, "lead", now, 10); err != nil || len(again) != 0 {
		t.Errorf("a second replay %+v, %v; want nothing", again, err)
	}
	if open, err := db.OpenRuleEffects(ctx, "lane-1", 10); err != nil || len(open) != 3 {
		t.Errorf("open after the replay %+v, %v; want 3", open, err)
	}
}

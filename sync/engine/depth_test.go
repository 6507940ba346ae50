package engine_test

import (
	"context"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// TestWaiting_CountsEveryUnfinishedStateAndNoFinishedOne: a converge job
// in each of River's states is waiting while available, pending,
// retryable, running or scheduled (Drain waits for a failed job's retry),
// and not once completed, cancelled or discarded.
func TestWaiting_CountsEveryUnfinishedStateAndNoFinishedOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustDB(t)
	q := mustRiver(t, db, engine.Config{})
	enqueue(t, db, q, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: "t", ID: "c1"})
	for jobState, want := range map[string]bool{
		"available": true, "pending": true, "retryable": true, "running": true, "scheduled": true,
		"completed": false, "cancelled": false, "discarded": false,
	} {
		if _, err := db.SQL().ExecContext(ctx, `UPDATE river_job SET state = ?, finalized_at = CASE WHEN ? THEN NULL ELSE datetime('now') END WHERE kind = ?`,
			jobState, want, engine.KindConverge); err != nil {
			t.Fatal(err)
		}
		if got, err := engine.Waiting(ctx, db, engine.KindConverge); err != nil || got != want {
			t.Errorf("Waiting with a %s converge job: %v, %v; want %v", jobState, got, err, want)
		}
		if got, err := engine.Waiting(ctx, db, "test-effect"); err != nil || got {
			t.Errorf("Waiting(test-effect) with only a %s converge job: %v, %v; want false", jobState, got, err)
		}
	}
}

package state_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

// intent is a plan of effect key.
func intent(key string) state.Effect {
	return state.Effect{Key: key, Flow: "f6", Target: state.OriginM360, Tenant: "loc", Lane: "l", Op: "create-task",
		Request: []byte{}, Marker: "cb:" + key}
}

// countEffects counts the effects in each state.
func countEffects(t *testing.T, db *state.DB) map[string]int {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT state, count(*) FROM effects GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEffects_BatchesOverTheCap: BatchRows+1 new intents are stored
// started in two statements (not one a row), and their completions
// recorded in two more, each effect once: none lost at the boundary, none
// doubled.
func TestEffects_BatchesOverTheCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	n := state.BatchRows + 1
	plans := make([]state.Effect, n)
	done := make([]state.Completion, n)
	for i := range plans {
		plans[i] = intent(fmt.Sprintf("k%04d", i))
		done[i] = state.Completion{Key: plans[i].Key, RemoteID: fmt.Sprintf("r%04d", i), Status: 201, At: t0.Add(time.Second)}
	}
	before := db.Statements()
	es, took, err := db.PlanAndTakeEffects(ctx, plans, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Statements() - before; got != 2 {
		t.Errorf("%d intents took %d statements, want 2", n, got)
	}
	for i, e := range es {
		if !took[i] || e.Key != plans[i].Key || e.State != state.EffectInflight || e.Attempts != 1 || e.ID == 0 {
			t.Fatalf("intent %d: %+v started %v; want %s started, inflight, 1 attempt", i, e, took[i], plans[i].Key)
		}
	}
	before = db.Statements()
	if err := db.CompleteEffects(ctx, done); err != nil {
		t.Fatal(err)
	}
	if got := db.Statements() - before; got != 2 {
		t.Errorf("%d completions took %d statements, want 2", n, got)
	}
	if got := countEffects(t, db); got[state.EffectDone] != n || len(got) != 1 {
		t.Errorf("effects by state %v, want %d done and no other", got, n)
	}
	for _, i := range []int{0, state.BatchRows - 1, state.BatchRows} {
		e, err := db.Effect(ctx, plans[i].Key)
		if err != nil || e.RemoteID != done[i].RemoteID || e.LastStatus != 201 || !e.DoneAt.Equal(done[i].At) {
			t.Errorf("effect %d: %+v %v; want done as %s at %s", i, e, err, done[i].RemoteID, done[i].At)
		}
	}
}

// TestPlanAndTakeEffects_DuplicatesAndKnownKeys: in one batch, a new key
// twice starts once (its second finds it inflight), a failed key is taken
// again, a done one is returned as it is, each in its place.
func TestPlanAndTakeEffects_DuplicatesAndKnownKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for _, k := range []string{"failed", "done"} {
		if _, _, err := db.PlanAndTakeEffect(ctx, intent(k), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.FailEffect(ctx, "failed", state.Failure{Err: "503", NextAt: t0}, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteEffect(ctx, "done", "r1", 201, t0); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	es, took, err := db.PlanAndTakeEffects(ctx, []state.Effect{intent("new"), intent("failed"), intent("new"), intent("done")}, at)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key, state string
		attempts   int
		took       bool
	}{{"new", state.EffectInflight, 1, true}, {"failed", state.EffectInflight, 2, true}, {"new", state.EffectInflight, 1, false},
		{"done", state.EffectDone, 1, false}}
	for i, w := range want {
		if e := es[i]; e.Key != w.key || e.State != w.state || e.Attempts != w.attempts || took[i] != w.took {
			t.Errorf("%d: %s %s after %d, started %v; want %s %s after %d, started %v", i, e.Key, e.State, e.Attempts, took[i],
				w.key, w.state, w.attempts, w.took)
		}
	}
	if got := countEffects(t, db); got[state.EffectInflight] != 2 || got[state.EffectDone] != 1 || len(got) != 2 {
		t.Errorf("effects by state %v, want 2 inflight (new once), 1 done", got)
	}
}

// TestCompleteEffects_OneNotInflightFailsTheBatch: a batch of completions
// with one not inflight in the middle (done already) fails with
// ErrConflict naming it, and its transaction leaves the others inflight;
// a key twice in a batch is refused before anything is written.
func TestCompleteEffects_OneNotInflightFailsTheBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	if _, _, err := db.PlanAndTakeEffects(ctx, []state.Effect{intent("a"), intent("b"), intent("c")}, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteEffect(ctx, "b", "rb", 201, t0); err != nil {
		t.Fatal(err)
	}
	batch := []state.Completion{{Key: "a", RemoteID: "ra", At: t0}, {Key: "b", RemoteID: "rb2", At: t0}, {Key: "c", RemoteID: "rc", At: t0}}
	err := db.Tx(ctx, func(tx *state.Tx) error { return tx.CompleteEffects(ctx, batch) })
	if !errors.Is(err, state.ErrConflict) || !errorsMention(err, "effect b") {
		t.Fatalf("a batch with b done already: %v; want ErrConflict about b", err)
	}
	if got := countEffects(t, db); got[state.EffectInflight] != 2 || got[state.EffectDone] != 1 {
		t.Errorf("after the failed batch: %v; want a and c inflight, b done", got)
	}
	if e, err := db.Effect(ctx, "b"); err != nil || e.RemoteID != "rb" {
		t.Errorf("b: %+v %v; want done as rb, not rewritten", e, err)
	}
	twice := []state.Completion{{Key: "a", RemoteID: "ra", At: t0}, {Key: "c", RemoteID: "rc", At: t0}, {Key: "a", RemoteID: "ra2", At: t0}}
	if err := db.CompleteEffects(ctx, twice); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("a batch with a twice: %v; want ErrConflict", err)
	}
	if got := countEffects(t, db); got[state.EffectInflight] != 2 {
		t.Errorf("after the batch refused: %v; want a and c still inflight", got)
	}
	if err := db.CompleteEffects(ctx, batch[:1]); err != nil {
		t.Fatal(err)
	}
	if e, err := db.Effect(ctx, "a"); err != nil || e.State != state.EffectDone || e.RemoteID != "ra" {
		t.Errorf("a: %+v %v; want done as ra", e, err)
	}
}

func errorsMention(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

// event is an inbox event of source and id.
func event(source, id string) state.InboxEvent {
	return state.InboxEvent{Source: source, EventID: id, Tenant: "loc", Type: "contact.changed", EntityKind: "contact",
		EntityID: id, ReceivedAt: t0, Body: []byte(`{}`), State: state.InboxNew}
}

// TestInsertInboxes_BatchOverTheCapWithDuplicates: BatchRows+1 events,
// one stored before, one twice (across the cap's boundary) and one of the
// same id from another source, are stored once each; inserted is true for
// the first of each new one only.
func TestInsertInboxes_BatchOverTheCapWithDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.InsertInbox(ctx, event("poll", "e0001")); err != nil {
		t.Fatal(err)
	}
	es := make([]state.InboxEvent, 0, state.BatchRows+3)
	for i := range state.BatchRows {
		es = append(es, event("poll", fmt.Sprintf("e%04d", i)))
	}
	es = append(es, event("poll", "e0002"), event("webhook", "e0002")) // e0002 again, across the boundary; another source's
	inserted, err := db.InsertInboxes(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range inserted {
		want := i != 1 && i != state.BatchRows // e0001 stored before; e0002's second
		if ok != want {
			t.Errorf("event %d (%s/%s): inserted %v, want %v", i, es[i].Source, es[i].EventID, ok, want)
		}
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM inbox`).Scan(&n); err != nil || n != state.BatchRows+1 {
		t.Errorf("inbox holds %d (%v), want %d: each event once", n, err, state.BatchRows+1)
	}
}

// TestMappingsByHighLevel_OverTheCap: the mappings of BatchRows+1 records
// are read whole, the last one past the cap included.
func TestMappingsByHighLevel_OverTheCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	records := make([]state.Record, state.BatchRows+1)
	for i := range records {
		records[i] = state.Record{Kind: "contact", ID: fmt.Sprintf("c%04d", i)}
	}
	for _, i := range []int{0, state.BatchRows - 1, state.BatchRows} {
		if _, err := db.CreateMapping(ctx, state.Mapping{Kind: "contact", Tenant: "loc", HLID: records[i].ID, M360ID: fmt.Sprint(i),
			Origin: state.OriginHighLevel, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.MappingsByHighLevel(ctx, "loc", records)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[records[state.BatchRows]].M360ID != fmt.Sprint(state.BatchRows) || got[records[0]].M360ID != "0" {
		t.Errorf("MappingsByHighLevel of %d records: %v; want the 3 mapped, the last one's included", len(records), got)
	}
}

// BenchmarkEffects_FiveIntentsAndCompletions is a new contact's ledger
// work (5 intents committed, then their 5 completions), as batches of
// one and as one batch, each in its transaction.
func BenchmarkEffects_FiveIntentsAndCompletions(b *testing.B) {
	for _, bc := range []struct {
		name     string
		plan     func(context.Context, *state.Tx, []state.Effect) error
		complete func(context.Context, *state.Tx, []state.Completion) error
	}{
		{name: "batch-of-one", plan: func(ctx context.Context, tx *state.Tx, es []state.Effect) error {
			for _, e := range es {
				if _, _, err := tx.PlanAndTakeEffect(ctx, e, t0); err != nil {
					return err
				}
			}
			return nil
		}, complete: func(ctx context.Context, tx *state.Tx, cs []state.Completion) error {
			for _, c := range cs {
				if err := tx.CompleteEffect(ctx, c.Key, c.RemoteID, c.Status, c.At); err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "batched", plan: func(ctx context.Context, tx *state.Tx, es []state.Effect) error {
			_, _, err := tx.PlanAndTakeEffects(ctx, es, t0)
			return err
		}, complete: func(ctx context.Context, tx *state.Tx, cs []state.Completion) error {
			return tx.CompleteEffects(ctx, cs)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			db := MustOpen(b)
			n := 0
			for b.Loop() {
				es, cs := make([]state.Effect, 5), make([]state.Completion, 5)
				for i := range es {
					n++
					es[i] = intent(fmt.Sprintf("k%08d", n))
					cs[i] = state.Completion{Key: es[i].Key, RemoteID: "r", Status: 201, At: t0}
				}
				if err := db.Tx(ctx, func(tx *state.Tx) error { return bc.plan(ctx, tx, es) }); err != nil {
					b.Fatal(err)
				}
				if err := db.Tx(ctx, func(tx *state.Tx) error { return bc.complete(ctx, tx, cs) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// TestRunEffects_BatchFailingMidwayKeepsWhatWasMade: in a batch a, b, c
// whose b fails, a is recorded as made; the retry makes b and c, each
// once, and not a again, whose id it returns.
func TestRunEffects_BatchFailingMidwayKeepsWhatWasMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	c := h.converger(t, nil, nil, 0)
	keys := []string{"batch:a", "batch:b", "batch:c"}
	made := map[string]int{}
	down := errors.New("connection reset")
	fail := "batch:b"
	create := func(key string) (string, error) {
		if key == fail {
			return "", down
		}
		made[key]++
		return "id-" + key, nil
	}
	if _, err := c.RunEffects(ctx, "t", keys, create); !errors.Is(err, down) {
		t.Fatalf("first run: %v, want %v", err, down)
	}
	if made["batch:a"] != 1 || made["batch:c"] != 0 {
		t.Fatalf("first run made %v, want a once and not c (never sent after b failed)", made)
	}
	fail = ""
	ids, err := c.RunEffects(ctx, "t", keys, create)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	for _, k := range keys {
		if made[k] != 1 {
			t.Errorf("%s made %d times, want once", k, made[k])
		}
	}
	for i, k := range keys {
		if ids[i] != "id-"+k {
			t.Errorf("retry's id of %s: %q, want %q", k, ids[i], "id-"+k)
		}
	}
}

// TestRunEffects_KeyTwiceInABatchMakesNothing: a batch a, b, a starts a
// once and finds its second inflight, busy: the job fails before any call
// and its intents roll back; the batch a, b then makes each once.
func TestRunEffects_KeyTwiceInABatchMakesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	c := h.converger(t, nil, nil, 0)
	made := map[string]int{}
	create := func(key string) (string, error) {
		made[key]++
		return "id-" + key, nil
	}
	if _, err := c.RunEffects(ctx, "t", []string{"twice:a", "twice:b", "twice:a"}, create); !errors.Is(err, engine.ErrEffectBusy) {
		t.Fatalf("a batch with a twice: %v, want %v", err, engine.ErrEffectBusy)
	}
	if len(made) != 0 {
		t.Fatalf("a batch with a twice made %v, want nothing", made)
	}
	if got, err := h.db.Effects(ctx, []string{"twice:a", "twice:b"}); err != nil || len(got) != 0 {
		t.Fatalf("intents after the failed batch: %v %v, want none (rolled back)", got, err)
	}
	if _, err := c.RunEffects(ctx, "t", []string{"twice:a", "twice:b"}, create); err != nil {
		t.Fatal(err)
	}
	if made["twice:a"] != 1 || made["twice:b"] != 1 {
		t.Errorf("made %v, want a and b once each", made)
	}
}

// TestRunEffects_BatchBeyondTheStatementCap: a batch of more effects than
// one statement of the ledger takes (state's batch of 500) makes each once
// and records each done, as its call made it.
func TestRunEffects_BatchBeyondTheStatementCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	c := h.converger(t, nil, nil, 0)
	keys := make([]string, 1001)
	for i := range keys {
		keys[i] = fmt.Sprintf("cap:%04d", i)
	}
	made := map[string]int{}
	ids, err := c.RunEffects(ctx, "t", keys, func(key string) (string, error) {
		made[key]++
		return "id-" + key, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := h.db.Effects(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if e := stored[k]; made[k] != 1 || ids[i] != "id-"+k || e.State != state.EffectDone || e.RemoteID != "id-"+k {
			t.Fatalf("%s: made %d times, id %q, stored %s as %q; want made once, done as id-%s", k, made[k], ids[i], e.State, e.RemoteID, k)
		}
	}
}

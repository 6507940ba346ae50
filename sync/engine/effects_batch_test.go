package engine_test

import (
	"context"
	"errors"
	"testing"
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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// TestSyncStatus_Shows429sPerAPI: the 429s the sync recorded are in the
// table and in --json, by API, an API without any shown as 0.
func TestSyncStatus_Shows429sPerAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "sync.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := engine.NewRiver(ctx, db, engine.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	if err := db.AddRateLimited(ctx, engine.SideHighLevel, 3, now); err != nil {
		t.Fatal(err)
	}
	st, err := statusOf(ctx, db, q, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		RateLimited map[string]int `json:"rateLimited"`
	}
	if err := json.Unmarshal(raw, &back); err != nil || len(back.RateLimited) != 2 || back.RateLimited["hl"] != 3 || back.RateLimited["m360"] != 0 {
		t.Errorf("--json rateLimited %v (%v); want hl 3, m360 0", back.RateLimited, err)
	}
	var out bytes.Buffer
	if err := printStatus(&out, st); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`(?m)^429s \(api\)\s+COUNT$`, `(?m)^hl\s+3$`, `(?m)^m360\s+0$`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("the table lacks %s:\n%s", re, out.String())
		}
	}
}

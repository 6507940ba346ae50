package run_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
)

// TestStart_StaleAfterCoversTheJobTimeout: a sync whose effects could be
// taken for crashed while their job may still be calling (StaleAfter
// shorter than the queue's JobTimeout, with either left to its default)
// does not start; one whose StaleAfter is the JobTimeout or longer does.
func TestStart_StaleAfterCoversTheJobTimeout(t *testing.T) {
	tw := twintest.New(t, twintest.Options{})
	for _, c := range []struct {
		name       string
		stale, job time.Duration
		invalid    bool
	}{
		{"job timeout over the default StaleAfter", 0, 2 * time.Minute, true},
		{"StaleAfter under the default job timeout", 30 * time.Second, 0, true},
		{"StaleAfter under the job timeout", time.Minute, 90 * time.Second, true},
		{"negative StaleAfter", -time.Second, 0, true},
		{"both defaults", 0, 0, false},
		{"StaleAfter the job timeout", 2 * time.Minute, 2 * time.Minute, false},
		{"StaleAfter over the default job timeout", 5 * time.Minute, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := syncConfig(t, tw)
			cfg.StaleAfter, cfg.Queue.JobTimeout, cfg.ReconcileEvery = c.stale, c.job, -1
			s, err := run.Start(context.Background(), cfg)
			if c.invalid {
				if !errors.Is(err, run.ErrInvalidConfig) {
					t.Fatalf("Start: %v; want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

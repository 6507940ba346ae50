package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// stopClock is a clock that refuses to wait: a backfill that would wait
// for the next day stops there, as a killed process would.
type stopClock struct{ transport.Clock }

var errStopped = errors.New("stopped instead of waiting")

func (stopClock) SleepUntil(context.Context, time.Time) error { return errStopped }

// TestBackfill_SpendsItsShareADayAndResumes: with a daily quota of 10 and
// a share of 0.5, each day's walk spends at most 5 requests (a search and
// the read of each contact enqueued); a backfill stopped when the day's
// share is spent goes on where it stopped, the next day, and each contact
// is enqueued once.
func TestBackfill_SpendsItsShareADayAndResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var want []string
	for i := range 7 {
		want = append(want, h.createContact(t, i))
	}
	slices.Sort(want)
	q := &fakeQueue{}
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
	var progress []engine.BackfillProgress
	cfg := engine.BackfillConfig{Share: 0.5, DailyQuota: 10, Clock: stopClock{h.tw.Clock()},
		Progress: func(p engine.BackfillProgress) { progress = append(progress, p) }}
	_, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
	if !errors.Is(err, errStopped) || len(q.jobs) != 4 {
		t.Fatalf("first day: %v, %d jobs; want 4 (a search and 4 reads) and a stop to wait", err, len(q.jobs))
	}
	if last := progress[len(progress)-1]; !last.Until.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) || last.Read != 4 {
		t.Fatalf("progress %+v; want a wait until the next midnight after 4 read", last)
	}

	// A new process: it waits for the next day and finishes.
	cfg.Clock = h.tw.Clock()
	stats, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
	if err != nil || !stats.End || stats.Enqueued != 3 {
		t.Fatalf("resumed: %+v, %v; want the 3 left", stats, err)
	}
	if got := q.ids(); !slices.Equal(got, want) {
		t.Fatalf("jobs %v; want each contact once: %v", got, want)
	}
	if sleeps := h.tw.Clock().Sleeps(); len(sleeps) != 1 || sleeps[0] != 24*time.Hour {
		t.Fatalf("sleeps %v; want one until the next day", sleeps)
	}
	// Done is done: a third run walks nothing.
	if stats, err := h.poller(t, q, s).Backfill(context.Background(), cfg); err != nil || stats.Pages != 0 {
		t.Fatalf("after the end: %+v, %v", stats, err)
	}
	runs, err := h.db.Runs(context.Background(), engine.RunBackfill, 10)
	if err != nil || len(runs) != 2 || runs[1].Error == "" || runs[0].Error != "" {
		t.Fatalf("runs %+v, %v; want the stopped one and the finished one", runs, err)
	}
}

package run_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
)

// BenchmarkBackfill backfills 10,000 HighLevel contacts with 2 tasks and
// 2 notes each (1,000 with -short) into an empty Marketing 360, the twins
// in process with their limits off, and reports the contacts synced a
// second: each gets its Marketing 360 contact, 3 tasks and a note (flows 1
// and 2), from the walk's start until no job is left.
func BenchmarkBackfill(b *testing.B) {
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	for range b.N {
		b.StopTimer()
		tw := twintest.New(b, twintest.Options{Loose: true})
		st := tw.Export()
		ds, err := fixtures.Generate(fixtures.Options{Seed: 1, Contacts: n, TasksPerContact: 2, NotesPerContact: 2,
			Location: &st.Locations[0], M360Account: &st.M360Accounts[0]})
		if err != nil {
			b.Fatal(err)
		}
		st.Contacts, st.Tasks, st.Notes = ds.State.Contacts, ds.State.Tasks, ds.State.Notes
		if status, body := tw.Admin(http.MethodPut, "/__admin/state", st); status != http.StatusOK {
			b.Fatalf("import: %d %.300s", status, body)
		}
		id, secret := tw.M360Key()
		s, err := run.Start(context.Background(), run.Config{DB: filepath.Join(b.TempDir(), "sync.db"), Listen: "127.0.0.1:0",
			HighLevel: run.HighLevel{BaseURL: tw.HighLevelURL(), Token: tw.PIT(), Location: tw.Location()},
			M360:      run.M360{BaseURL: tw.M360URL(), ClientID: id, ClientSecret: secret},
			Flows:     engine.DefaultFlows(), ReconcileEvery: -1,
			Queue: engine.Config{PollInterval: 10 * time.Millisecond, MaxWorkers: 8},
			Base:  tw.Base(), Clock: tw.Clock(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		stats, err := s.Poller().Backfill(context.Background(), engine.BackfillConfig{DailyQuota: 1 << 30, Clock: tw.Clock()})
		if err == nil {
			err = s.Drain(context.Background())
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		if got := len(tw.Export().M360Contacts); got != n || stats.Enqueued < n {
			b.Fatalf("Marketing 360 holds %d contacts, %d jobs enqueued; want %d", got, stats.Enqueued, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "contacts/s")
	}
}

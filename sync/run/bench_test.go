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
		b.ReportMetric(float64(n)/backfill(b, n, false).Seconds(), "contacts/s")
	}
}

// BenchmarkBackfillRules is BenchmarkBackfill's 1,000 contacts without
// rules (flows) and with a user rule that enters each new contact into a
// campaign (flows+rule: the rules' reads, snapshots and one action a
// contact), in the same run; it reports each one's contacts a second and
// the second's time over the first's.
func BenchmarkBackfillRules(b *testing.B) {
	const n = 1_000
	for range b.N {
		base := backfill(b, n, false)
		withRule := backfill(b, n, true)
		b.ReportMetric(float64(n)/base.Seconds(), "flows-contacts/s")
		b.ReportMetric(float64(n)/withRule.Seconds(), "rule-contacts/s")
		b.ReportMetric(withRule.Seconds()/base.Seconds(), "rule/flows-time")
	}
}

// backfill backfills n contacts as BenchmarkBackfill says (with
// newLeadRule on the twin's first active campaign when rule is true) and
// returns the time it took.
func backfill(b *testing.B, n int, rule bool) time.Duration {
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
	var rules engine.Rules
	for _, c := range st.M360Campaigns {
		if rule && c.Status == "active" && rules == nil {
			rules = newLeadRule{campaign: c.ID}
		}
	}
	id, secret := tw.M360Key()
	s, err := run.Start(context.Background(), run.Config{DB: filepath.Join(b.TempDir(), "sync.db"), Listen: "127.0.0.1:0",
		HighLevel: run.HighLevel{BaseURL: tw.HighLevelURL(), Token: tw.PIT(), Location: tw.Location()},
		M360:      run.M360{BaseURL: tw.M360URL(), ClientID: id, ClientSecret: secret},
		Flows:     engine.DefaultFlows(), Rules: rules, ReconcileEvery: -1,
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
	final := tw.Export()
	if got := len(final.M360Contacts); got != n || stats.Enqueued < n {
		b.Fatalf("Marketing 360 holds %d contacts, %d jobs enqueued; want %d", got, stats.Enqueued, n)
	}
	if rule && len(final.M360Triggers) != n {
		b.Fatalf("%d campaign entries, want one a contact (%d)", len(final.M360Triggers), n)
	}
	return elapsed
}

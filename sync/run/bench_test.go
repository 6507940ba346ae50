package run_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock/gctune"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// EnvBenchContacts sets the size of BenchmarkBackfill (default 1,000; the
// issue's goal is stated for 10,000: make bench BENCH_CONTACTS=10000).
const EnvBenchContacts = "CONTACTBRIDGE_BENCH_CONTACTS"

// benchContacts is the backfill's size: EnvBenchContacts, between 1 and
// 100,000, or 1,000.
func benchContacts(b *testing.B) int {
	v := os.Getenv(EnvBenchContacts)
	if v == "" {
		return 1_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100_000 {
		b.Fatalf("%s=%q: want a number of contacts from 1 to 100000", EnvBenchContacts, v)
	}
	return n
}

// seed imports n HighLevel contacts with 2 tasks and 2 notes each into
// tw, and an empty Marketing 360 account.
func seed(b *testing.B, tw *twintest.Twin, n int) {
	b.Helper()
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
}

// benchConfig is the sync's config on tw for a benchmark: its own
// database, no reconcile, no logs, the queue as given.
func benchConfig(b *testing.B, tw *twintest.Twin, queue engine.Config) run.Config {
	id, secret := tw.M360Key()
	return run.Config{DB: filepath.Join(b.TempDir(), "sync.db"), Listen: "127.0.0.1:0",
		HighLevel: run.HighLevel{BaseURL: tw.HighLevelURL(), Token: tw.PIT(), Location: tw.Location()},
		M360:      run.M360{BaseURL: tw.M360URL(), ClientID: id, ClientSecret: secret},
		Flows:     engine.DefaultFlows(), ReconcileEvery: -1, Queue: queue,
		Base: tw.Base(), Clock: tw.Clock(), Logger: slog.New(slog.DiscardHandler)}
}

// BenchmarkBackfill backfills HighLevel contacts with 2 tasks and 2 notes
// each (benchContacts of them) into an empty Marketing 360, the twins in
// process with their limits off, and reports the contacts synced a second
// and the CPU time (of the whole process: the twins' share included) a
// contact took: each gets its Marketing 360 contact, 3 tasks and a note
// (flows 1 and 2), from the walk's start until no job is left. The queue
// has its default settings.
func BenchmarkBackfill(b *testing.B) {
	n := benchContacts(b)
	for range b.N {
		elapsed, used := backfill(b, n, false)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "contacts/s")
		if used > 0 {
			b.ReportMetric(float64(used.Microseconds())/1000/float64(n), "cpu-ms/contact")
		}
	}
	// Of the last run: the converge jobs, the sync's transactions, the
	// SQLite transactions that committed them (groups) and the statements of the database (the queue's included) a contact took.
	for _, m := range []struct {
		unit string
		v    int
	}{{"jobs/contact", lastBackfill.jobs}, {"commits/contact", lastBackfill.commits}, {"groups/contact", lastBackfill.groups}, {"stmts/contact", lastBackfill.statements}} {
		b.ReportMetric(float64(m.v)/float64(n), m.unit)
	}
}

// observer notes, under the sync's transport, each Marketing 360 contact
// created (its answer's time) and each request to HighLevel, and counts
// the answers 429 of both.
type observer struct {
	base     http.RoundTripper
	hl, m360 string // hosts
	created  chan time.Time

	mu      sync.Mutex
	hlSent  []time.Time
	limited map[string]int
}

func newObserver(tw *twintest.Twin, created chan time.Time) *observer {
	host := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			panic(err)
		}
		return u.Host
	}
	return &observer{base: tw.Base(), hl: host(tw.HighLevelURL()), m360: host(tw.M360URL()), created: created, limited: map[string]int{}}
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == o.hl {
		o.mu.Lock()
		o.hlSent = append(o.hlSent, time.Now())
		o.mu.Unlock()
	}
	res, err := o.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	if res.StatusCode == http.StatusTooManyRequests {
		o.mu.Lock()
		o.limited[req.URL.Host]++
		o.mu.Unlock()
	}
	if o.created != nil && req.URL.Host == o.m360 && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/v1/contacts") &&
		res.StatusCode == http.StatusCreated {
		select {
		case o.created <- time.Now():
		default:
		}
	}
	return res, err
}

// BenchmarkWebhookLatency creates HighLevel contacts one after the other on
// the twins (on loopback, limits off, the sync's default queue settings)
// and measures, for each, the time from the create's request to the answer
// of the Marketing 360 create of its counterpart: the twin's webhook, the
// receiver, the queue and the converge job. It reports the median and the
// 99th percentile, with the queue's default PollInterval and with 10 ms.
func BenchmarkWebhookLatency(b *testing.B) {
	for _, poll := range []time.Duration{0, 10 * time.Millisecond} {
		name := "poll=default"
		if poll > 0 {
			name = "poll=" + poll.String()
		}
		b.Run(name, func(b *testing.B) { webhookLatency(b, poll) })
	}
}

// webhookLatency is BenchmarkWebhookLatency with the queue's PollInterval
// poll (0: the default).
func webhookLatency(b *testing.B, poll time.Duration) {
	const n = 100
	for range b.N {
		b.StopTimer()
		tw := twintest.New(b, twintest.Options{Listen: true, Loose: true})
		created := make(chan time.Time, 1)
		cfg := syncConfig(b, tw)
		cfg.Queue, cfg.ReconcileEvery = engine.Config{PollInterval: poll}, -1
		cfg.Base = newObserver(tw, created)
		s, err := run.Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		subscribe(b, tw, s)
		create := contactMaker(b, tw)
		lat := make([]time.Duration, 0, n)
		// The first contact warms up the twins and the clients (schemas
		// compiled at first use) and is not counted.
		for i := range n + 1 {
			sent := time.Now()
			create(i)
			select {
			case at := <-created:
				if i > 0 {
					lat = append(lat, at.Sub(sent))
				}
			case <-time.After(wait):
				b.Fatalf("contact %d: no Marketing 360 contact within %s", i, wait)
			}
			if i == 0 {
				b.StartTimer()
			}
		}
		b.StopTimer()
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkQuotaUtilisation backfills more contacts than HighLevel's
// limits, scaled to 50 requests per 1 s window (Marketing 360's bucket at
// 2,000 a second, so that HighLevel's is the one that binds), let through
// in the measured windows, with the sync's default queue settings, and
// reports the HighLevel requests sent in the first five windows ÷ the 250
// they allow, and the answers 429 of both APIs over the run (the goals: at
// least 0.95, and none). The window allows 50, not live's 100 scaled to a
// second: 100 contacts a second (600 requests) is more than this machine's
// two cores shared with other work sustained, and the figure would measure
// the CPU rather than the use of the quota.
func BenchmarkQuotaUtilisation(b *testing.B) {
	const burst, windows, contacts = 50, 5, 600
	interval := time.Second
	for range b.N {
		b.StopTimer()
		tw := twintest.New(b, twintest.Options{RealClock: true, Loose: true, Burst: burst, Interval: interval,
			M360PerSecond: 2000, M360Capacity: 2000})
		seed(b, tw, contacts)
		wire := newObserver(tw, nil)
		cfg := benchConfig(b, tw, engine.Config{})
		cfg.Base, cfg.Clock = wire, transport.SystemClock{}
		s, err := run.Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() {
			_, err := s.Poller().Backfill(ctx, engine.BackfillConfig{DailyQuota: 1 << 30})
			done <- err
		}()
		var first time.Time
		for deadline := time.Now().Add(wait); first.IsZero(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("no HighLevel request within %s", wait)
			}
			wire.mu.Lock()
			if len(wire.hlSent) > 0 {
				first = wire.hlSent[0]
			}
			wire.mu.Unlock()
		}
		end := first.Add(windows * interval)
		time.Sleep(time.Until(end) + interval/10)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			b.Fatal(err)
		}
		stop, cancelStop := context.WithTimeout(context.Background(), wait)
		err = s.Close(stop)
		cancelStop()
		if err != nil {
			b.Fatal(err)
		}
		wire.mu.Lock()
		used, after := 0, 0
		for _, t := range wire.hlSent {
			switch {
			case t.Before(end):
				used++
			default:
				after++
			}
		}
		limited := wire.limited[wire.hl] + wire.limited[wire.m360]
		wire.mu.Unlock()
		if after == 0 {
			b.Fatalf("no HighLevel request after the %d windows: the backlog of %d contacts did not outlast them", windows, contacts)
		}
		b.ReportMetric(float64(used)/float64(windows*burst), "utilisation")
		b.ReportMetric(float64(limited), "429s")
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
		base, _ := backfill(b, n, false)
		withRule, _ := backfill(b, n, true)
		b.ReportMetric(float64(n)/base.Seconds(), "flows-contacts/s")
		b.ReportMetric(float64(n)/withRule.Seconds(), "rule-contacts/s")
		b.ReportMetric(withRule.Seconds()/base.Seconds(), "rule/flows-time")
	}
}

// lastBackfill is what the last backfill's run counted: its converge
// jobs (counted in the queue's table, whatever their number), the sync's
// transactions, the SQLite transactions that committed them and the
// database's statements.
var lastBackfill struct{ jobs, commits, groups, statements int }

// backfill backfills n contacts as BenchmarkBackfill says (with
// newLeadRule on the twin's first active campaign when rule is true) and
// returns the time it took and the CPU time the process spent.
func backfill(b *testing.B, n int, rule bool) (elapsed, used time.Duration) {
	b.StopTimer()
	// The collector as `sync run` and `sync backfill` set it (and as the
	// twins' own processes do).
	defer gctune.Start(gctune.Default)()
	tw := twintest.New(b, twintest.Options{Loose: true})
	seed(b, tw, n)
	var rules engine.Rules
	for _, c := range tw.Export().M360Campaigns {
		if rule && c.Status == "active" && rules == nil {
			rules = newLeadRule{campaign: c.ID}
		}
	}
	cfg := benchConfig(b, tw, engine.Config{})
	cfg.Rules = rules
	s, err := run.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	commits, groups, statements := s.DB().Commits(), s.DB().Groups(), s.DB().Statements()
	start, cpu := time.Now(), cpuTime()
	stats, err := s.Poller().Backfill(context.Background(), engine.BackfillConfig{DailyQuota: 1 << 30, Clock: tw.Clock()})
	if err == nil {
		err = s.Drain(context.Background())
	}
	elapsed, used = time.Since(start), cpuTime()-cpu
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	lastBackfill.commits, lastBackfill.groups, lastBackfill.statements = int(s.DB().Commits()-commits), int(s.DB().Groups()-groups), int(s.DB().Statements()-statements)
	counts, err := engine.JobCounts(context.Background(), s.DB())
	if err != nil {
		b.Fatal(err)
	}
	lastBackfill.jobs = 0
	for _, c := range counts {
		if c.Kind == engine.KindConverge {
			lastBackfill.jobs += c.N
		}
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
	return elapsed, used
}

package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	"github.com/contactbridge/contactbridge/sync/state"
)

// PathMetrics is where the sync's listener serves its Prometheus metrics.
const PathMetrics = "/metrics"

// scrapeTimeout bounds the database reads of a scrape.
const scrapeTimeout = 5 * time.Second

// metrics are the sync's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg *prometheus.Registry
	// calls counts the API requests sent (each attempt) by api and status
	// code ("error" when no answer came); limited counts the 429s.
	calls, limited *prometheus.CounterVec
	// lag is the time from a converge job's enqueue (with its webhook or
	// poll) to its completion.
	lag prometheus.Histogram
	// rateLimited keeps the 429s for the state database.
	rateLimited *limitedLog
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "contactbridge_sync_api_requests_total",
			Help: "API requests sent by the sync (each attempt), by API (hl, m360) and status code (error: no answer)."}, []string{"api", "code"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "contactbridge_sync_api_rate_limited_total",
			Help: "API answers 429 Too Many Requests, by API."}, []string{"api"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "contactbridge_sync_lag_seconds",
			Help:    "Time from an entity's converge job being enqueued (with its webhook or poll) to its effects done.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		rateLimited: &limitedLog{pending: map[string]int64{}, wake: make(chan struct{}, 1)},
	}
	m.reg.MustRegister(m.calls, m.limited, m.lag)
	return m
}

// register adds the collectors of s's receiver (when it has one), inbox and
// queue.
func (m *metrics) register(s *Sync) {
	m.reg.MustRegister(&dbCollector{db: s.db, rcv: s.rcv,
		events: prometheus.NewDesc("contactbridge_sync_events_total",
			"Events stored in the inbox, by source (hl-webhook, m360-webhook, hl-poll, m360-poll, backfill), type and outcome (new: stored for its job, ignored: an unknown type).",
			[]string{"source", "type", "outcome"}, nil),
		inbox: prometheus.NewDesc("contactbridge_sync_inbox_events",
			"The inbox's events, by source and state (new: its job has not worked it yet; planned: worked; ignored).",
			[]string{"source", "state"}, nil),
		refusals: prometheus.NewDesc("contactbridge_sync_webhooks_refused_total",
			"Webhook deliveries refused, by reason (duplicate: an event stored already).", []string{"reason"}, nil),
		jobs: prometheus.NewDesc("contactbridge_sync_jobs", "The queue's jobs, by kind and state.", []string{"kind", "state"}, nil),
		ruleActions: prometheus.NewDesc("contactbridge_sync_rule_actions_total",
			"User rules' actions in the ledger, by rule and outcome (done; parked: refused, or no longer planned; unknown: parked, its outcome unknown; pending: not run yet, or to be tried again).",
			[]string{"rule", "outcome"}, nil)})
}

// dbCollector reads the inbox and the queue at each scrape.
type dbCollector struct {
	db                                         *state.DB
	rcv                                        *receiver.Receiver
	events, inbox, refusals, jobs, ruleActions *prometheus.Desc
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.inbox
	ch <- c.refusals
	ch <- c.jobs
	ch <- c.ruleActions
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	events, err := c.db.InboxCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
	}
	// The counter counts each event once, by what it was when stored: a
	// planned event was new (the gauge tells the states of now).
	type received struct{ source, typ, outcome string }
	counted := map[received]int64{}
	states := map[[2]string]int64{}
	for _, e := range events {
		outcome := "new"
		if e.State == state.InboxIgnored {
			outcome = "ignored"
		}
		counted[received{e.Source, e.Type, outcome}] += int64(e.N)
		states[[2]string{e.Source, e.State}] += int64(e.N)
	}
	for k, n := range counted {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(n), k.source, k.typ, k.outcome)
	}
	for k, n := range states {
		ch <- prometheus.MustNewConstMetric(c.inbox, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	if c.rcv != nil {
		rc := c.rcv.Counts()
		for reason, n := range map[string]int64{"bad-signature": rc.BadSignature, "stale": rc.Stale, "malformed": rc.Malformed,
			"too-large": rc.TooLarge, "store-failed": rc.StoreFailed, "wrong-method": rc.WrongMethod, "duplicate": rc.Duplicates} {
			ch <- prometheus.MustNewConstMetric(c.refusals, prometheus.CounterValue, float64(n), reason)
		}
	}
	jobs, err := engine.JobCounts(ctx, c.db)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
	}
	for _, j := range jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(j.N), j.Kind, j.State)
	}
	rules, err := c.db.RuleCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.ruleActions, err)
	}
	for _, r := range rules {
		for outcome, n := range map[string]int{"done": r.Done, "parked": r.Parked - r.Unknown, "unknown": r.Unknown, "pending": r.Pending} {
			ch <- prometheus.MustNewConstMetric(c.ruleActions, prometheus.CounterValue, float64(n), r.Rule, outcome)
		}
	}
}

// handler serves the registry. A collector that fails (a database read
// past scrapeTimeout on a busy machine) costs only its own metrics: the
// others are served, and the failure is logged to log.
func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: scrapeLog{log}})
}

// scrapeLog is promhttp's error log on slog.
type scrapeLog struct{ log *slog.Logger }

func (l scrapeLog) Println(v ...any) { l.log.Warn("metrics scrape", logkey.Err, fmt.Sprint(v...)) }

// timed is w with the lag of each job it completes observed.
func (m *metrics) timed(w engine.Worker) engine.Worker {
	work := w.Work
	w.Work = func(ctx context.Context, job *engine.Job) error {
		err := work(ctx, job)
		if err == nil {
			m.lag.Observe(time.Since(job.CreatedAt).Seconds())
		}
		return err
	}
	return w
}

// apiBase is cfg.Base (http.DefaultTransport when nil) with its requests
// counted as api's.
func (cfg Config) apiBase(api string) http.RoundTripper {
	return &counting{base: cmp.Or(cfg.Base, http.DefaultTransport), api: api, m: cfg.metrics}
}

// counting counts the requests it sends.
type counting struct {
	base http.RoundTripper
	api  string
	m    *metrics
}

func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(res.StatusCode)
		if res.StatusCode == http.StatusTooManyRequests {
			c.m.limited.WithLabelValues(c.api).Inc()
			c.m.rateLimited.add(c.api)
		}
	}
	c.m.calls.WithLabelValues(c.api, code).Inc()
	return res, err
}

// limitedLog records the 429s in the state database, where sync status
// (another process) reads them: the transport counts each in memory and
// wakes the writer, which adds what it finds in one transaction per API,
// off the request's path (a request may be sent while its caller holds the
// database's single connection).
type limitedLog struct {
	mu      sync.Mutex
	pending map[string]int64 // by API, not written yet
	wake    chan struct{}    // buffered 1: something is pending
}

func (l *limitedLog) add(api string) {
	l.mu.Lock()
	l.pending[api]++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// flush writes the pending counts; what fails to be written stays
// pending.
func (l *limitedLog) flush(ctx context.Context, db *state.DB, at time.Time) error {
	l.mu.Lock()
	pending := l.pending
	l.pending = map[string]int64{}
	l.mu.Unlock()
	var errs []error
	for api, n := range pending {
		if err := db.AddRateLimited(ctx, api, n, at); err != nil {
			errs = append(errs, err)
			l.mu.Lock()
			l.pending[api] += n
			l.mu.Unlock()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("run: record the 429s: %w", err)
	}
	return nil
}

// run writes the counts each time the transport wakes it, until ctx ends.
func (l *limitedLog) run(ctx context.Context, db *state.DB, now func() time.Time, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
			if err := l.flush(ctx, db, now()); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "the 429 counts were not recorded; tried again at the next 429 or at stop", logkey.Err, err)
			}
		}
	}
}

// Package perf is the performance harness of contactbridge: it measures the
// HighLevel twin (`contactbridge mock`) against a bare net/http baseline, both
// run as child processes of the contactbridge binary on loopback, under the
// same bounded closed-loop load, and reports throughput, latency, start-up
// time and resident memory. `contactbridge bench` runs it; `make bench` runs
// that.
package perf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// Options configure a Run. Zero fields take the defaults, except
// Contacts100k, whose zero skips the memory-at-scale step: start from
// DefaultOptions.
type Options struct {
	// Binary is the contactbridge executable that runs both servers.
	Binary string
	// Concurrency is the number of closed loops (and connections); 0 means 32.
	Concurrency int
	// Duration is the measured time of each run; 0 means 10s.
	Duration time.Duration
	// Warmup is the unmeasured load before each run's measurement; 0 means
	// 3s, negative none.
	Warmup time.Duration
	// Pairs is how many times each workload runs baseline then twin
	// (A B A B ...); 0 means 2.
	Pairs int
	// Workloads names the workloads to run, from AllWorkloads; nil means all.
	Workloads []string
	// Contacts100k is the number of contacts (2 tasks and 2 notes each) of the
	// memory-at-scale step; 0 skips it. DefaultOptions sets 100000.
	Contacts100k int
	// DataSet is the number of contacts of the default data set; 0 means 1000.
	DataSet int
	// Progress, when set, receives a line per step.
	Progress io.Writer
}

// Defaults.
const (
	DefaultConcurrency  = 32
	DefaultDuration     = 10 * time.Second
	DefaultWarmup       = 3 * time.Second
	DefaultPairs        = 2
	DefaultContacts100k = 100_000
	DefaultDataSet      = 1000
)

// Targets from the issue; reported, not asserted.
const (
	TargetStartupMs   = 150
	TargetIdleRSSMB   = 50
	TargetAtScaleRSSM = 400
)

// Seeds: the twin's (ids, token, frozen clock), the data set's and the load's.
const (
	twinSeed = 1
	dataSeed = 1
	loadSeed = 1
)

// Bounds of the steps that wait for a server.
const (
	readyTimeout        = 30 * time.Second
	atScaleReadyTimeout = 3 * time.Minute
	idleSettle          = 300 * time.Millisecond
)

// DefaultOptions returns the options of a full run, without Binary.
func DefaultOptions() Options {
	return Options{
		Concurrency:  DefaultConcurrency,
		Duration:     DefaultDuration,
		Warmup:       DefaultWarmup,
		Pairs:        DefaultPairs,
		Workloads:    slices.Clone(AllWorkloads),
		Contacts100k: DefaultContacts100k,
		DataSet:      DefaultDataSet,
	}
}

// SmokeOptions returns the options of the short smoke run, without Binary.
func SmokeOptions() Options {
	return Options{
		Concurrency:  4,
		Duration:     300 * time.Millisecond,
		Warmup:       100 * time.Millisecond,
		Pairs:        1,
		Workloads:    slices.Clone(AllWorkloads),
		Contacts100k: 2000,
		DataSet:      DefaultDataSet,
	}
}

func (o Options) withDefaults() (Options, error) {
	if o.Binary == "" {
		return o, errors.New("perf: Options.Binary is required")
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = DefaultWarmup
	case o.Warmup < 0:
		o.Warmup = 0
	}
	if o.Pairs == 0 {
		o.Pairs = DefaultPairs
	}
	if len(o.Workloads) == 0 {
		o.Workloads = slices.Clone(AllWorkloads)
	}
	if o.DataSet == 0 {
		o.DataSet = DefaultDataSet
	}
	switch {
	case o.Concurrency < 0, o.Concurrency > 10_000:
		return o, fmt.Errorf("perf: concurrency %d: want 1 to 10000", o.Concurrency)
	case o.Duration < 0, o.Duration > time.Hour:
		return o, fmt.Errorf("perf: duration %s: want up to 1h", o.Duration)
	case o.Warmup > time.Hour:
		return o, fmt.Errorf("perf: warm-up %s: want up to 1h", o.Warmup)
	case o.Pairs < 0, o.Pairs > 100:
		return o, fmt.Errorf("perf: pairs %d: want 1 to 100", o.Pairs)
	case o.Contacts100k < 0, o.Contacts100k > 10_000_000:
		return o, fmt.Errorf("perf: contacts %d: want 0 to 10000000", o.Contacts100k)
	case o.DataSet < 0, o.DataSet > 10_000_000:
		return o, fmt.Errorf("perf: data set %d: want 1 to 10000000", o.DataSet)
	}
	for _, w := range o.Workloads {
		if !slices.Contains(AllWorkloads, w) {
			return o, fmt.Errorf("perf: unknown workload %q (want %s)", w, strings.Join(AllWorkloads, ", "))
		}
	}
	return o, nil
}

// twinIdentity is what the twin makes at start with --seed 1: its default
// location and token. The harness needs them before the first twin starts,
// to write the data set and to poll it from the moment it is executed.
func twinIdentity() (store.Location, string, error) {
	srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: twinSeed, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return store.Location{}, "", fmt.Errorf("perf: twin identity: %w", err)
	}
	defer srv.Close()
	return srv.DefaultLocation(), srv.DefaultToken(), nil
}

// harness is one Run's state.
type harness struct {
	opts     Options
	dir      string
	location store.Location
	token    string
	ids      []string
	state    string
	seq      atomic.Uint64
	startups []float64
}

func (h *harness) logf(format string, args ...any) {
	if h.opts.Progress != nil {
		fmt.Fprintf(h.opts.Progress, "bench: "+format+"\n", args...)
	}
}

func (h *harness) authHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + h.token}, "Version": {"2021-07-28"}}
}

func (h *harness) listPath() string { return "/contacts/?locationId=" + h.location.ID + "&limit=100" }

// twinProc is the twin with the state file state.
func (h *harness) twinProc(state string) proc {
	return proc{name: "twin", bin: h.opts.Binary, dir: h.dir, args: []string{
		"mock", "--addr", "{addr}", "--m360-addr", "127.0.0.1:0", "--empty", "--seed", strconv.Itoa(twinSeed), "--no-limits", "--log-level", "error",
		"--state", state}}
}

func (h *harness) baselineProc() proc {
	return proc{name: "baseline", bin: h.opts.Binary, dir: h.dir, args: []string{"bench", "--serve-baseline", "{addr}"}}
}

// Run measures the twin against the baseline as opts say. It starts and stops
// its own processes and leaves none behind, whatever happens.
func Run(ctx context.Context, opts Options) (Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return Report{}, fmt.Errorf("perf: binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "contactbridge-bench-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	h := &harness{opts: opts, dir: dir}
	if h.location, h.token, err = twinIdentity(); err != nil {
		return Report{}, err
	}

	rep := Report{Schema: ReportSchema, Date: time.Now().UTC().Truncate(time.Second), Machine: machineFacts(),
		Settings: Settings{
			Generator: "go", Concurrency: opts.Concurrency, Duration: opts.Duration.String(), Warmup: opts.Warmup.String(),
			Pairs: opts.Pairs, DataSetContacts: opts.DataSet, AtScaleContacts: opts.Contacts100k,
			TwinArgs:      "mock --addr 127.0.0.1:<free port> --seed 1 --no-limits --log-level error --state <data set>",
			BaselineBytes: len(baselineBody()),
		}}

	h.state = filepath.Join(dir, "state.json")
	t0 := time.Now()
	ids, size, err := writeStateFile(h.state, h.location, opts.DataSet, dataSeed)
	if err != nil {
		return Report{}, err
	}
	h.ids = ids
	h.logf("data set: %d contacts, %.1f MB, written in %s", opts.DataSet, mb(size), time.Since(t0).Round(time.Millisecond))

	// Start-up and idle memory, on a twin that has served one request.
	startup, rss, err := h.measureTwin(ctx, h.state, readyTimeout)
	if err != nil {
		return Report{}, err
	}
	h.startups = append(h.startups, ms(startup))
	rep.Memory.IdleContacts, rep.Memory.IdleRSSMB = opts.DataSet, mb(rss)
	h.logf("twin start-up %.1f ms, idle RSS %.1f MB", ms(startup), mb(rss))

	for _, w := range opts.Workloads {
		wr, err := h.runWorkload(ctx, w)
		if err != nil {
			return Report{}, err
		}
		rep.Workloads = append(rep.Workloads, wr)
	}
	rep.Startup = StartupReport{TwinMs: median(h.startups), TwinSamplesMs: h.startups, TargetMs: TargetStartupMs}

	if n := opts.Contacts100k; n > 0 {
		path := filepath.Join(dir, "state-at-scale.json")
		t0 := time.Now()
		if _, size, err = writeStateFile(path, h.location, n, dataSeed); err != nil {
			return Report{}, err
		}
		h.logf("at-scale data set: %d contacts, %.1f MB, written in %s", n, mb(size), time.Since(t0).Round(time.Millisecond))
		startup, rss, err := h.measureTwin(ctx, path, atScaleReadyTimeout)
		if err != nil {
			return Report{}, err
		}
		_ = os.Remove(path)
		rep.Memory.AtScaleContacts, rep.Memory.AtScaleRSSMB = n, mb(rss)
		rep.Memory.AtScaleStartupMs, rep.Memory.AtScaleStateMB = ms(startup), mb(size)
		h.logf("at scale: start-up %.0f ms, RSS %.1f MB", ms(startup), mb(rss))
	}
	rep.Memory.TargetIdleMB, rep.Memory.TargetAtScaleMB = TargetIdleRSSMB, TargetAtScaleRSSM
	return rep, nil
}

// measureTwin starts a twin on state, waits for its first 200 on the list,
// lets it settle and reads its resident memory.
func (h *harness) measureTwin(ctx context.Context, state string, timeout time.Duration) (time.Duration, int64, error) {
	c, startup, err := startReady(ctx, h.twinProc(state), h.listPath(), h.authHeader(), timeout)
	if err != nil {
		return 0, 0, err
	}
	defer c.stop()
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(idleSettle):
	}
	rss, err := readRSS(c.pid())
	if errors.Is(err, errNoRSS) {
		h.logf("%v", err)
		err = nil
	}
	return startup, rss, err
}

// runWorkload runs the pairs of workload w: baseline then twin, each a fresh
// process, each under the same load.
func (h *harness) runWorkload(ctx context.Context, w string) (WorkloadReport, error) {
	wr := WorkloadReport{Name: w, Target: workloadTargets[w]}
	var ratios []float64
	for i := range h.opts.Pairs {
		var pair PairResult
		for _, twin := range []bool{false, true} {
			p, ready := h.baselineProc(), "/"
			if twin {
				p, ready = h.twinProc(h.state), h.listPath()
			}
			res, err := h.runOne(ctx, p, ready, w)
			if err != nil {
				return wr, fmt.Errorf("perf: %s, pair %d, %s: %w", w, i+1, p.name, err)
			}
			h.logf("%-5s pair %d %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d", w, i+1, p.name,
				res.RPS, res.P50Ms, res.P99Ms, res.Errors)
			if res.ErrorSample != "" {
				h.logf("  first error: %s", res.ErrorSample)
			}
			if twin {
				pair.Twin = res
				h.startups = append(h.startups, res.StartupMs)
			} else {
				pair.Baseline = res
			}
		}
		if pair.Baseline.RPS > 0 {
			pair.Ratio = pair.Twin.RPS / pair.Baseline.RPS
		}
		ratios = append(ratios, pair.Ratio)
		wr.Pairs = append(wr.Pairs, pair)
	}
	wr.Ratio = median(ratios)
	if wr.Target > 0 {
		met := wr.Ratio >= wr.Target
		wr.Met = &met
	}
	return wr, nil
}

// runOne starts p, loads it with workload w and stops it.
func (h *harness) runOne(ctx context.Context, p proc, ready, w string) (RunResult, error) {
	c, startup, err := startReady(ctx, p, ready, h.authHeader(), readyTimeout)
	if err != nil {
		return RunResult{}, err
	}
	defer c.stop()
	t := &target{baseURL: c.url(), token: h.token, locationID: h.location.ID, contactIDs: h.ids, seq: &h.seq}
	res, err := runLoad(ctx, t, loadSpec{workload: w, concurrency: h.opts.Concurrency,
		warmup: h.opts.Warmup, duration: h.opts.Duration, seed: loadSeed})
	if err != nil {
		return RunResult{}, err
	}
	if c.exited() {
		return RunResult{}, c.exitError()
	}
	res.StartupMs = ms(startup)
	return res, nil
}

func machineFacts() Machine {
	m := Machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

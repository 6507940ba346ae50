package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

func TestHistogram_Buckets(t *testing.T) {
	// Every value falls in a bucket whose bounds hold it, and buckets are
	// contiguous and at most 1/64 of their lower bound wide.
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 123456789, 1<<40 - 1} {
		i := histBucket(v)
		lo, w := histBounds(i)
		if v < lo || v >= lo+w {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lo, lo+w)
		}
		if lo >= histSub && w*histSub > lo {
			t.Errorf("bucket %d: width %d too wide for %d", i, w, lo)
		}
	}
	for i := 1; i < histBuckets; i++ {
		lo, _ := histBounds(i)
		plo, pw := histBounds(i - 1)
		if plo+pw != lo {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, plo+pw)
		}
	}
	if got := histBucket(1 << 50); got != histBuckets-1 {
		t.Errorf("huge value in bucket %d, want the last", got)
	}
}

func TestHistogram_Quantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Count() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram not zero")
	}
	// 1..10000 µs, in a shuffled order, split over two histograms merged.
	var a, b Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]int, 10000)
	for i := range vals {
		vals[i] = i + 1
	}
	rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for i, v := range vals {
		if i%2 == 0 {
			a.Record(time.Duration(v) * time.Microsecond)
		} else {
			b.Record(time.Duration(v) * time.Microsecond)
		}
	}
	h.Merge(&a)
	h.Merge(&b)
	if h.Count() != 10000 {
		t.Fatalf("count %d", h.Count())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.9, 9000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {0.001, 10 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if diff := float64(got-c.want) / float64(c.want); diff > 0.01 || diff < -0.01 {
			t.Errorf("q%.3f = %s, want %s within 1%%", c.q, got, c.want)
		}
	}
	if h.Quantile(0) != time.Microsecond || h.Quantile(1) != 10000*time.Microsecond {
		t.Errorf("q0 %s, q1 %s: want the min and the max", h.Quantile(0), h.Quantile(1))
	}
	if h.Min() != time.Microsecond || h.Max() != 10*time.Millisecond {
		t.Errorf("min %s max %s", h.Min(), h.Max())
	}
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Errorf("mean %s, want %s", got, want)
	}
	// A single value is every quantile, exactly.
	var one Histogram
	one.Record(1234567 * time.Nanosecond)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := one.Quantile(q); got != 1234567*time.Nanosecond {
			t.Errorf("single value: q%.2f = %s", q, got)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{4, 1}, 2.5}, {[]float64{5, 1, 3}, 3}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestDataSet_LoadsIntoTheTwin(t *testing.T) {
	id, err := twinIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ds, opts, err := id.workloadDataSet(300)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Scenario != dataSetScenario || opts.TasksPerContact != 2 || opts.NotesPerContact != 2 ||
		len(ds.State.M360Contacts) == 0 {
		t.Fatalf("data set %s: %d tasks and %d notes a contact, %d Marketing 360 contacts", ds.Scenario,
			opts.TasksPerContact, opts.NotesPerContact, len(ds.State.M360Contacts))
	}
	samples := samplesOf(&ds.State, id.location.ID)
	if len(samples) != 300 {
		t.Fatalf("%d contacts picked in the default location, want 300", len(samples))
	}

	// The twin loads it and has every contact picked.
	srv := twinWithState(t, &ds.State)
	if srv.Defaults().HighLevel.Location.ID != id.location.ID || srv.Defaults().M360.Account.ID != id.account.ID ||
		srv.Defaults().HighLevel.Token != id.token {
		t.Fatal("twin identity differs between two twins with the same seed")
	}
	loaded := map[string]string{}
	for _, c := range srv.Store().Snapshot().Contacts {
		loaded[c.ID] = c.LocationID
	}
	for _, s := range samples {
		if loaded[s.id] != id.location.ID {
			t.Fatalf("contact %s not loaded in the default location", s.id)
		}
	}
	// Every request shape of the workloads succeeds on it (strict: the
	// answers match the spec too).
	tg := &target{token: id.token, locationID: id.location.ID, contacts: samples, seq: new(atomicCounter)}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, w := range AllWorkloads {
		for range 20 {
			r := tg.next(w, rng)
			var body io.Reader
			if r.body != nil {
				body = bytes.NewReader(r.body)
			}
			req := httptest.NewRequest(r.method, srv.HighLevel.URL()+r.path, body)
			req.Header.Set("Authorization", "Bearer "+id.token)
			req.Header.Set("Version", "2021-07-28")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.HighLevel.Handler().ServeHTTP(rec, req)
			if rec.Code/100 != 2 {
				t.Fatalf("%s: %s %s: %d %s", w, r.method, r.path, rec.Code, rec.Body)
			}
		}
	}
}

func TestAtScaleDataSet(t *testing.T) {
	// The at-scale set is HighLevel contacts with 2 tasks and 2 notes each,
	// nothing else, and loads into the twin.
	id, err := twinIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ds, _, err := id.atScaleDataSet(200)
	if err != nil {
		t.Fatal(err)
	}
	st := ds.State
	if len(st.Contacts) != 200 || len(st.Tasks) != 400 || len(st.Notes) != 400 || len(st.Appointments) != 0 ||
		len(st.M360Contacts) != 0 || len(samplesOf(&st, id.location.ID)) != 200 {
		t.Fatalf("%d contacts, %d tasks, %d notes, %d appointments, %d Marketing 360 contacts", len(st.Contacts),
			len(st.Tasks), len(st.Notes), len(st.Appointments), len(st.M360Contacts))
	}
	twinWithState(t, &st)
}

// twinWithState writes st as the harness does and starts a strict
// in-process twin, seeded as the harness's, on it.
func twinWithState(t *testing.T, st *store.State) *mock.Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	if _, err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: twinSeed, StateFile: path, Strict: true,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("the twin refuses the data set: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func TestBaselineHandler(t *testing.T) {
	h := BaselineHandler(nil)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/contacts/x", strings.NewReader(`{"a":1}`)))
		want := http.StatusOK
		if m == http.MethodPost {
			want = http.StatusCreated
		}
		var v struct {
			Contact struct{ ID string } `json:"contact"`
		}
		if rec.Code != want || json.Unmarshal(rec.Body.Bytes(), &v) != nil || v.Contact.ID == "" {
			t.Errorf("%s: %d %s", m, rec.Code, rec.Body)
		}
		if n := rec.Body.Len(); n < 500 || n > 1000 {
			t.Errorf("%s: body of %d bytes, want about the twin's 800", m, n)
		}
	}
}

func TestBaselineHandler_AnswersTheListWithTheTwinsBytes(t *testing.T) {
	list := []byte(`{"contacts":[],"count":0,"meta":{}}`)
	h := BaselineHandler(list)
	for _, c := range []struct {
		method, target string
		list           bool
	}{
		{http.MethodGet, "/contacts/?locationId=L&limit=100", true},
		{http.MethodGet, "/contacts/abc", false},
		{http.MethodPost, "/contacts/", false},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		if got := bytes.Equal(rec.Body.Bytes(), list); got != c.list {
			t.Errorf("%s %s: answered the list %v, want %v", c.method, c.target, got, c.list)
		}
	}
}

func TestValidatorHandler_ValidatesThenAnswersAsTheBaseline(t *testing.T) {
	spec, err := openapi.LoadHighLevel(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	h := ValidatorHandler(spec, nil)
	for _, c := range []struct {
		name, method, target, body string
		want                       int
	}{
		{"valid read", http.MethodGet, "/contacts/abc", "", http.StatusOK},
		{"no Version header", http.MethodGet, "/contacts/abc", "", http.StatusBadRequest},
		{"valid create", http.MethodPost, "/contacts/", `{"locationId":"L","email":"a@example.com"}`, http.StatusCreated},
		{"email not a string", http.MethodPost, "/contacts/", `{"locationId":"L","email":5}`, http.StatusBadRequest},
		{"unknown route", http.MethodGet, "/nowhere", "", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer x")
			if c.name != "no Version header" {
				req.Header.Set("Version", "2021-07-28")
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
		})
	}
}

func TestReadCPU_OfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	// Spend CPU until the kernel's tick counts it: the loop is bounded by
	// the work done, not by time.
	pid := os.Getpid()
	var got time.Duration
	for i := 0; i < 1000 && got == 0; i++ {
		x := 0
		for j := range 1_000_000 {
			x ^= j
		}
		_ = x
		var err error
		if got, err = readCPU(pid); err != nil {
			t.Fatal(err)
		}
	}
	if got <= 0 {
		t.Errorf("CPU time %s", got)
	}
	if _, err := readCPU(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestRunLoad_GoGenerator(t *testing.T) {
	// A server that fails every tenth request: the generator counts them.
	var n atomicCounter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "nope", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	tg := &target{baseURL: srv.URL, token: "t", locationID: "L", seq: new(atomicCounter), contacts: []sample{
		newSample(&store.Contact{ID: "a", FirstName: "Ada", LastName: "Lovelace"}),
		newSample(&store.Contact{ID: "b", FirstName: "Alan", LastName: "Turing", CompanyName: "Bletchley", Tags: []string{"vip"}})}}
	start := time.Now()
	res, err := runLoad(context.Background(), tg, loadSpec{workload: WorkloadMixed, concurrency: 3,
		warmup: 50 * time.Millisecond, duration: 200 * time.Millisecond, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("run took %s", el)
	}
	if res.Requests == 0 || res.RPS <= 0 || res.P50Ms <= 0 || res.P99Ms < res.P50Ms {
		t.Fatalf("result %+v", res)
	}
	if frac := float64(res.Errors) / float64(res.Requests); frac < 0.05 || frac > 0.15 {
		t.Errorf("%d errors in %d requests, want about 10%%", res.Errors, res.Requests)
	}
	if !strings.Contains(res.ErrorSample, "500 nope") {
		t.Errorf("error sample %q", res.ErrorSample)
	}

	// A cancelled context stops the run early with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := runLoad(ctx, tg, loadSpec{workload: WorkloadGet, concurrency: 2, duration: time.Minute, seed: 1}); err == nil {
		t.Error("cancelled run: no error")
	}
}

func TestReport_MarkdownAndJSON(t *testing.T) {
	met := true
	rep := Report{Schema: ReportSchema, Machine: machineFacts(),
		Settings: Settings{Generator: "go", Concurrency: 4, Duration: "1s", Warmup: "0s", Pairs: 2, DataSetContacts: 1000,
			DataSet:        "1,000 HighLevel contacts (2 tasks and 2 notes each): fixtures scenario `default` (seed 42)",
			AtScaleDataSet: "100,000 HighLevel contacts (2 tasks and 2 notes each): fixtures scenario `large` (seed 100000)"},
		Workloads: []WorkloadReport{{Name: WorkloadGet, Target: 0.5, Met: &met, Ratio: 0.6, Pairs: []PairResult{
			{Baseline: RunResult{RPS: 20000, P50Ms: 1, P99Ms: 2, CPUUsPerReq: 30}, Validator: RunResult{RPS: 15000, CPUUsPerReq: 50},
				Twin: RunResult{RPS: 12000, P50Ms: 2, P99Ms: 4, CPUUsPerReq: 80}, Ratio: 0.6, ValidatorRatio: 0.8},
			{Baseline: RunResult{RPS: 10000, P50Ms: 1, P99Ms: 2}, Twin: RunResult{RPS: 6000, P50Ms: 2, P99Ms: 4, Errors: 3}, Ratio: 0.6},
		}}},
		Startup: StartupReport{TwinMs: 42, TwinSamplesMs: []float64{42}, TargetMs: TargetStartupMs},
		Memory: MemoryReport{IdleContacts: 1000, IdleRSSMB: 20, TargetIdleMB: 50, AtScaleContacts: 100000, AtScaleRSSMB: 500, TargetAtScaleMB: 400,
			AtScaleStartupMs: 2500, AtScaleStartupCPUMs: 3100, AtScaleStateMB: 153},
	}
	md := rep.Markdown()
	for _, want := range []string{"| get | 15,000 | 9,000 | 0.60× | ≥ 0.5× (met) |", "| get | 2 | 10,000 | 6,000 |",
		"0 / 3 |", "| 30 / 50 / 80 |", "| 15,000 | 0.80× |", "| 42.0 ms | < 100 ms (met) |",
		"| start-up to the first 200, 100,000 HighLevel contacts (153 MB state file) | 2,500 ms | < 2,000 ms (**missed**) |",
		"| CPU time of that start-up and of its release of the load's memory (every thread) | 3,100 ms | |", "| 500.0 MB | < 400 MB (**missed**) |", "100,000 HighLevel contacts",
		"with 1,000 HighLevel contacts (2 tasks and 2 notes each): fixtures scenario `default` (seed 42). Baseline",
		"| resident memory, 100,000 HighLevel contacts (2 tasks and 2 notes each): fixtures scenario `large`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil || back.Workloads[0].Pairs[1].Twin.Errors != 3 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

func TestOptions_Defaults(t *testing.T) {
	o, err := Options{Binary: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Concurrency != 32 || o.Duration != 10*time.Second || o.Warmup != 3*time.Second || o.Pairs != 2 ||
		!slices.Equal(o.Workloads, AllWorkloads) || o.Contacts100k != 0 {
		t.Errorf("defaults: %+v", o)
	}
	if o, _ := (Options{Binary: "x", Warmup: -1}).withDefaults(); o.Warmup != 0 {
		t.Errorf("negative warm-up: %s, want none", o.Warmup)
	}
	if _, err := (Options{Binary: "x", Workloads: []string{"delete"}}).withDefaults(); err == nil {
		t.Error("unknown workload accepted")
	}
	if _, err := (Options{}).withDefaults(); err == nil {
		t.Error("no binary accepted")
	}
}

// binDir holds the contactbridge binary the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds cmd/contactbridge once, without -race (only the
// harness is raced), and returns its path.
var buildBinary = sync.OnceValues(func() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("no caller")
	}
	dir, err := os.MkdirTemp("", "perf-test-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "contactbridge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/contactbridge")
	cmd.Dir = filepath.Dir(filepath.Dir(file)) // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestRun_Smoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs servers")
	}
	bin := binary(t)
	opts := SmokeOptions()
	opts.Binary = bin
	var progress bytes.Buffer
	opts.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, opts)
	t.Logf("Run took %s\n%s", time.Since(start).Round(time.Millisecond), progress.String())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range rep.Workloads {
		names = append(names, w.Name)
		if len(w.Pairs) != 1 {
			t.Errorf("%s: %d pairs, want 1", w.Name, len(w.Pairs))
		}
		for _, p := range w.Pairs {
			for side, r := range map[string]RunResult{"baseline": p.Baseline, "twin": p.Twin} {
				if r.RPS <= 0 || r.Requests <= 0 || r.Errors != 0 || r.P50Ms <= 0 || r.StartupMs <= 0 {
					t.Errorf("%s %s: %+v", w.Name, side, r)
				}
			}
			if p.Ratio <= 0 {
				t.Errorf("%s: ratio %v", w.Name, p.Ratio)
			}
		}
	}
	if !slices.Equal(names, AllWorkloads) {
		t.Errorf("workloads %v, want %v", names, AllWorkloads)
	}
	if rep.Startup.TwinMs <= 0 || len(rep.Startup.TwinSamplesMs) != 1+len(AllWorkloads) {
		t.Errorf("start-up %+v", rep.Startup)
	}
	if runtime.GOOS == "linux" && (rep.Memory.IdleRSSMB <= 0 || rep.Memory.AtScaleRSSMB <= 0 || rep.Memory.AtScaleLoadRSSMB <= 0) {
		t.Errorf("memory %+v", rep.Memory)
	}
	if rep.Memory.AtScaleLoadRequests <= 0 || rep.Memory.AtScaleLoadErrors != 0 {
		t.Errorf("at-scale load: %d requests, %d errors", rep.Memory.AtScaleLoadRequests, rep.Memory.AtScaleLoadErrors)
	}
	if rep.Memory.AtScaleContacts != 2000 {
		t.Errorf("at-scale contacts %d", rep.Memory.AtScaleContacts)
	}
	if md := rep.Markdown(); !strings.Contains(md, "| mixed |") || !strings.Contains(md, "under the mixed load") {
		t.Errorf("markdown:\n%s", md)
	}
	t.Logf("\n%s", rep.Markdown())
}

func TestRun_CancelStopsChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs servers")
	}
	bin := binary(t)
	opts := SmokeOptions()
	opts.Binary, opts.Duration, opts.Workloads, opts.Contacts100k = bin, time.Minute, []string{WorkloadGet}, 0
	var progress bytes.Buffer
	opts.Progress = &progress
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	start := time.Now()
	if _, err := Run(ctx, opts); err == nil {
		t.Fatal("cancelled run: no error")
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("cancelled run returned after %s", el)
	}
	// No child is left: none of the processes is a child of ours any more.
	if runtime.GOOS == "linux" {
		if kids := childrenOf(t, os.Getpid()); len(kids) > 0 {
			t.Errorf("children left: %v", kids)
		}
	}
}

// childrenOf lists the live (non-zombie) processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var kids []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 2 && f[1] == itoa(pid) && f[0] != "Z" && strings.Contains(s[:i], "contactbridge") {
			kids = append(kids, e.Name())
		}
	}
	return kids
}

type atomicCounter = atomic.Uint64

func itoa(i int) string { return strconv.Itoa(i) }

// waitIdle tells a process that sleeps idle, and one that spins until the
// wait's deadline not.
func TestWaitIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	t.Parallel()
	for _, c := range []struct {
		script string
		idle   bool
	}{{"sleep 30", true}, {"while :; do :; done", false}} {
		cmd := exec.Command("sh", "-c", c.script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		idle, err := waitIdle(context.Background(), cmd.Process.Pid)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil || idle != c.idle {
			t.Errorf("%q: idle %v, %v; want %v", c.script, idle, err, c.idle)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := waitIdle(ctx, os.Getpid()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

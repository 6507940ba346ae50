package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// The workloads.
const (
	WorkloadGet   = "get"   // GET /contacts/{id}, a random one of the data set
	WorkloadList  = "list"  // GET /contacts/?locationId=..&limit=100
	WorkloadPost  = "post"  // POST /contacts/ with a unique email, the rest borrowed from the data set
	WorkloadPut   = "put"   // PUT /contacts/{id}, a random one of the data set
	WorkloadMixed = "mixed" // 50% get, 20% list, 15% post, 15% put
)

// AllWorkloads lists the workloads in the order they run.
var AllWorkloads = []string{WorkloadGet, WorkloadList, WorkloadPost, WorkloadPut, WorkloadMixed}

// workloadTargets are the twin/baseline throughput ratios issue 19 aims at.
var workloadTargets = map[string]float64{WorkloadGet: 0.8, WorkloadPost: 0.6, WorkloadPut: 0.6, WorkloadList: 0.7, WorkloadMixed: 0.5}

// target is what a load run sends requests to.
type target struct {
	baseURL    string
	token      string
	locationID string
	// contacts are the data set's contacts the requests read, update and
	// borrow from.
	contacts []sample
	// seq numbers the created contacts so their emails are unique.
	seq *atomic.Uint64
}

// sample is a contact of the data set: its id, and the fields a created or
// updated contact borrows from it, as JSON object members.
type sample struct {
	id   string
	post string // firstName, lastName, companyName, city, state, country, tags
	put  string // firstName, companyName
}

func newSample(c *store.Contact) sample {
	members := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // strings always marshal
		}
		return string(b[1 : len(b)-1]) // without the braces
	}
	return sample{
		id: c.ID,
		post: members(struct {
			FirstName   string   `json:"firstName"`
			LastName    string   `json:"lastName"`
			CompanyName string   `json:"companyName,omitempty"`
			City        string   `json:"city,omitempty"`
			State       string   `json:"state,omitempty"`
			Country     string   `json:"country,omitempty"`
			Tags        []string `json:"tags"`
		}{c.FirstName, c.LastName, c.CompanyName, c.City, c.State, c.Country, append([]string{"perf"}, c.Tags...)}),
		put: members(struct {
			FirstName   string `json:"firstName"`
			CompanyName string `json:"companyName,omitempty"`
		}{c.FirstName, c.CompanyName}),
	}
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// loadSpec is one bounded closed-loop run.
type loadSpec struct {
	workload    string
	concurrency int
	warmup      time.Duration
	duration    time.Duration
	seed        uint64
	// cpu, when set, returns the CPU time the server has used so far; it is
	// read when the measurement starts and when it ends.
	cpu func() (time.Duration, error)
}

// RunResult is what one load run against one server measured.
type RunResult struct {
	Requests    int64   `json:"requests"`
	RPS         float64 `json:"rps"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	MeanMs      float64 `json:"meanMs"`
	MaxMs       float64 `json:"maxMs"`
	Errors      int64   `json:"errors"`
	ErrorSample string  `json:"errorSample,omitempty"`
	// CPUUsPerReq is the server's CPU time during the measurement divided
	// by the requests measured, in µs; 0 when not known.
	CPUUsPerReq float64 `json:"cpuUsPerReq,omitempty"`
	// StartupMs is the server's time from exec to its first 200.
	StartupMs float64 `json:"startupMs"`
}

type request struct {
	method string
	path   string
	body   []byte
}

// next draws the next request of workload w.
func (t *target) next(w string, rng *rand.Rand) request {
	if w == WorkloadMixed {
		switch r := rng.IntN(100); {
		case r < 50:
			w = WorkloadGet
		case r < 70:
			w = WorkloadList
		case r < 85:
			w = WorkloadPost
		default:
			w = WorkloadPut
		}
	}
	switch w {
	case WorkloadGet:
		return request{method: http.MethodGet, path: "/contacts/" + pick(rng, t.contacts).id}
	case WorkloadList:
		return request{method: http.MethodGet, path: "/contacts/?locationId=" + t.locationID + "&limit=100"}
	case WorkloadPost:
		n := t.seq.Add(1)
		body := `{"locationId":"` + t.locationID + `",` + pick(rng, t.contacts).post +
			`,"email":"load.` + strconv.FormatUint(n, 10) + `@bench.example.com","source":"perf harness"}`
		return request{method: http.MethodPost, path: "/contacts/", body: []byte(body)}
	default: // WorkloadPut
		body := `{` + pick(rng, t.contacts).put + `,"tags":["perf","updated"],"source":"perf harness"}`
		return request{method: http.MethodPut, path: "/contacts/" + pick(rng, t.contacts).id, body: []byte(body)}
	}
}

// worker is one closed loop's private tallies.
type worker struct {
	hist      Histogram
	errors    int64
	errSample string
}

// runLoad drives t with spec: spec.concurrency workers, each sending a
// request, reading the whole response and sending the next, from now until
// warmup+duration; requests that start after the warm-up and end within the
// duration are measured. Non-2xx answers and transport errors count as errors.
func runLoad(ctx context.Context, t *target, spec loadSpec) (RunResult, error) {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        spec.concurrency,
		MaxIdleConnsPerHost: spec.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	start := time.Now()
	measureFrom := start.Add(spec.warmup)
	end := measureFrom.Add(spec.duration)
	// Requests in flight at the end get a little time to finish; none is
	// left running when runLoad returns.
	ctx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second))
	defer cancel()

	hdr := http.Header{
		"Authorization": {"Bearer " + t.token},
		"Version":       {"2021-07-28"},
		"Accept":        {"application/json"},
	}
	hdrBody := hdr.Clone()
	hdrBody.Set("Content-Type", "application/json")

	workers := make([]worker, spec.concurrency)
	var wg sync.WaitGroup
	var cpu time.Duration
	var cpuErr error
	if spec.cpu != nil {
		wg.Go(func() { cpu, cpuErr = sampleCPU(ctx, spec.cpu, measureFrom, end) })
	}
	for i := range workers {
		w := &workers[i]
		rng := rand.New(rand.NewPCG(spec.seed, uint64(i)))
		wg.Go(func() {
			for ctx.Err() == nil {
				r := t.next(spec.workload, rng)
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				problem := do(ctx, client, t.baseURL, r, hdr, hdrBody)
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				w.hist.Record(t1.Sub(t0))
				if problem != "" {
					w.errors++
					if w.errSample == "" {
						w.errSample = r.method + " " + r.path + ": " + problem
					}
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && time.Now().Before(end) {
		return RunResult{}, err
	}

	var all Histogram
	res := RunResult{}
	for i := range workers {
		all.Merge(&workers[i].hist)
		res.Errors += workers[i].errors
		if res.ErrorSample == "" {
			res.ErrorSample = workers[i].errSample
		}
	}
	res.Requests = int64(all.Count())
	res.RPS = float64(res.Requests) / spec.duration.Seconds()
	res.P50Ms = ms(all.Quantile(0.50))
	res.P99Ms = ms(all.Quantile(0.99))
	res.MeanMs = ms(all.Mean())
	res.MaxMs = ms(all.Max())
	if cpuErr != nil {
		return RunResult{}, fmt.Errorf("perf: server CPU time: %w", cpuErr)
	}
	if cpu > 0 && res.Requests > 0 {
		res.CPUUsPerReq = float64(cpu) / float64(time.Microsecond) / float64(res.Requests)
	}
	return res, nil
}

// sampleCPU returns the CPU time cpu reports from measureFrom to end; 0 when
// ctx ends first.
func sampleCPU(ctx context.Context, cpu func() (time.Duration, error), measureFrom, end time.Time) (time.Duration, error) {
	var marks [2]time.Duration
	for i, at := range []time.Time{measureFrom, end} {
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil
		case <-t.C:
		}
		var err error
		if marks[i], err = cpu(); err != nil {
			return 0, err
		}
	}
	return marks[1] - marks[0], nil
}

// do sends one request and reads the whole answer; it returns "" on a 2xx,
// or what went wrong.
func do(ctx context.Context, client *http.Client, base string, r request, hdr, hdrBody http.Header) string {
	var body io.Reader = http.NoBody
	h := hdr
	if r.body != nil {
		body, h = bytes.NewReader(r.body), hdrBody
	}
	req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, body)
	if err != nil {
		return err.Error()
	}
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return "reading the body: " + err.Error()
		}
		return ""
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

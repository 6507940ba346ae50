package perf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReportSchema is the version of the Report's JSON; it changes when a field
// changes meaning, so later runs know what they compare with.
const ReportSchema = 1

// Report is the result of a Run. Memory is in MiB (2^20 bytes), times in
// milliseconds.
type Report struct {
	Schema    int              `json:"schema"`
	Date      time.Time        `json:"date"`
	Machine   Machine          `json:"machine"`
	Settings  Settings         `json:"settings"`
	Workloads []WorkloadReport `json:"workloads"`
	Startup   StartupReport    `json:"startup"`
	Memory    MemoryReport     `json:"memory"`
}

// Machine describes where the run happened.
type Machine struct {
	GoVersion  string `json:"goVersion"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	NumCPU     int    `json:"numCPU"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Settings are the run's options.
type Settings struct {
	Generator       string `json:"generator"`
	Concurrency     int    `json:"concurrency"`
	Duration        string `json:"duration"`
	Warmup          string `json:"warmup"`
	Pairs           int    `json:"pairs"`
	DataSetContacts int    `json:"dataSetContacts"`
	AtScaleContacts int    `json:"atScaleContacts"`
	// DataSet and AtScaleDataSet say what the workloads' and the
	// memory-at-scale step's data sets hold and which fixtures scenario
	// made them.
	DataSet        string `json:"dataSet"`
	AtScaleDataSet string `json:"atScaleDataSet,omitempty"`
	TwinArgs       string `json:"twinArgs"`
	BaselineBytes  int    `json:"baselineBytes"`
	// BaselineListBytes is the size of the twin's list answer, which the
	// reference servers answer the list with.
	BaselineListBytes int `json:"baselineListBytes,omitempty"`
}

// WorkloadReport is one workload's pairs of runs.
type WorkloadReport struct {
	Name  string       `json:"name"`
	Pairs []PairResult `json:"pairs"`
	// Ratio is the median over the pairs of twin req/s / baseline req/s.
	Ratio float64 `json:"ratio"`
	// ValidatorRatio is the median over the pairs of twin req/s / kin
	// req/s, the server that only validates.
	ValidatorRatio float64 `json:"validatorRatio,omitempty"`
	// Target is the ratio the issue aims at; 0 when it sets none.
	Target float64 `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

// PairResult is a baseline run, then a run of the server that only
// validates with kin-openapi, and the twin run that followed them.
type PairResult struct {
	Baseline       RunResult `json:"baseline"`
	Validator      RunResult `json:"validator"`
	Twin           RunResult `json:"twin"`
	Ratio          float64   `json:"ratio"`
	ValidatorRatio float64   `json:"validatorRatio"`
}

// StartupReport is the twin's time from exec to its first 200 on the contact
// list, with the default data set, over every twin the run started.
type StartupReport struct {
	TwinMs        float64   `json:"twinMs"`
	TwinSamplesMs []float64 `json:"twinSamplesMs"`
	TargetMs      float64   `json:"targetMs"`
}

// MemoryReport is the twin's resident memory (VmRSS) once idle after its
// first answer (it gives its start-up's garbage back to the OS once it
// serves).
type MemoryReport struct {
	IdleContacts     int     `json:"idleContacts"`
	IdleRSSMB        float64 `json:"idleRssMB"`
	TargetIdleMB     float64 `json:"targetIdleMB"`
	AtScaleContacts  int     `json:"atScaleContacts,omitempty"`
	AtScaleRSSMB     float64 `json:"atScaleRssMB,omitempty"`
	AtScaleStartupMs float64 `json:"atScaleStartupMs,omitempty"`
	// AtScaleStartupCPUMs is the CPU time (every thread) the at-scale twin
	// used up to its first 200 and the release of its start-up's garbage
	// that follows it: steadier than the wall time on a shared machine.
	AtScaleStartupCPUMs float64 `json:"atScaleStartupCpuMs,omitempty"`
	AtScaleStateMB      float64 `json:"atScaleStateMB,omitempty"`
	TargetAtScaleMB     float64 `json:"targetAtScaleMB"`
	// AtScaleLoadRSSMB is the most resident memory the at-scale twin held
	// under the mixed workload (read every 100 ms, warm-up included), with
	// the requests and errors of that load.
	AtScaleLoadRSSMB    float64 `json:"atScaleLoadRssMB,omitempty"`
	AtScaleLoadRequests int64   `json:"atScaleLoadRequests,omitempty"`
	AtScaleLoadErrors   int64   `json:"atScaleLoadErrors,omitempty"`
	TargetAtScaleLoadMB float64 `json:"targetAtScaleLoadMB"`
}

// median values of a workload's pairs, for the summary.
func (w WorkloadReport) medians() (base, kin, twin RunResult) {
	pick := func(f func(PairResult) float64) float64 {
		xs := make([]float64, len(w.Pairs))
		for i, p := range w.Pairs {
			xs[i] = f(p)
		}
		return median(xs)
	}
	base.RPS = pick(func(p PairResult) float64 { return p.Baseline.RPS })
	kin.RPS = pick(func(p PairResult) float64 { return p.Validator.RPS })
	base.CPUUsPerReq = pick(func(p PairResult) float64 { return p.Baseline.CPUUsPerReq })
	kin.CPUUsPerReq = pick(func(p PairResult) float64 { return p.Validator.CPUUsPerReq })
	twin.CPUUsPerReq = pick(func(p PairResult) float64 { return p.Twin.CPUUsPerReq })
	twin.RPS = pick(func(p PairResult) float64 { return p.Twin.RPS })
	base.P50Ms = pick(func(p PairResult) float64 { return p.Baseline.P50Ms })
	twin.P50Ms = pick(func(p PairResult) float64 { return p.Twin.P50Ms })
	base.P99Ms = pick(func(p PairResult) float64 { return p.Baseline.P99Ms })
	twin.P99Ms = pick(func(p PairResult) float64 { return p.Twin.P99Ms })
	for _, p := range w.Pairs {
		base.Errors += p.Baseline.Errors
		kin.Errors += p.Validator.Errors
		twin.Errors += p.Twin.Errors
	}
	return base, kin, twin
}

// Markdown renders the report as Markdown tables: a summary per workload
// (medians of the pairs), every pair, then start-up and memory.
func (r Report) Markdown() string {
	var b strings.Builder
	m, s := r.Machine, r.Settings
	fmt.Fprintf(&b, "### contactbridge bench, %s\n\n", r.Date.Format("2006-01-02 15:04 MST"))
	cpu := ""
	if m.CPU != "" {
		cpu = ", " + m.CPU
	}
	fmt.Fprintf(&b, "%s %s/%s, %d CPUs (GOMAXPROCS %d)%s. Closed loop (%s load generator): %d connections, "+
		"%s warm-up then %s measured per run, %s per workload (baseline, kin, then twin%s), "+
		"each run on a fresh process. Twin: `contactbridge %s` (auth, validation and journal on, rate limits off) "+
		"with %s. Baseline: bare net/http answering a fixed %d-byte contact on "+
		"every path but the list, which it answers with the twin's own list answer (%d bytes, 100 contacts). "+
		"kin: the same answers after kin-openapi has routed and validated the request, as the twin asks it to. "+
		"CPU is the server process's user and system time during the measurement per request.\n\n",
		m.GoVersion, m.OS, m.Arch, m.NumCPU, m.GOMAXPROCS, cpu, s.Generator, s.Concurrency, s.Warmup, s.Duration,
		plural(s.Pairs, "pair"), alternation(s.Pairs), s.TwinArgs, s.DataSet, s.BaselineBytes, s.BaselineListBytes)

	b.WriteString("| workload | baseline req/s | twin req/s | twin/baseline | target | kin req/s | twin/kin | " +
		"CPU µs/req (baseline / kin / twin) | baseline p50 / p99 ms | twin p50 / p99 ms | errors (baseline / kin / twin) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, w := range r.Workloads {
		base, kin, twin := w.medians()
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %s | %s | %.2f× | %s | %s | %s | %d / %d / %d |\n", w.Name, thousands(base.RPS),
			thousands(twin.RPS), w.Ratio, ratioTarget(w), thousands(kin.RPS), w.ValidatorRatio, cpuPerReq(base, kin, twin),
			latency(base), latency(twin), base.Errors, kin.Errors, twin.Errors)
	}
	if len(r.Workloads) > 0 && len(r.Workloads[0].Pairs) > 1 {
		b.WriteString("\nReq/s, CPU and latencies are medians of the pairs, the ratios the medians of the pairs' ratios, errors summed. Every pair:\n\n")
	} else {
		b.WriteString("\nEvery pair:\n\n")
	}
	b.WriteString("| workload | pair | baseline req/s | twin req/s | twin/baseline | kin req/s | twin/kin | " +
		"CPU µs/req (baseline / kin / twin) | baseline p50 / p99 ms | twin p50 / p99 ms | errors (baseline / kin / twin) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, w := range r.Workloads {
		for i, p := range w.Pairs {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %.2f× | %s | %.2f× | %s | %s | %s | %d / %d / %d |\n", w.Name, i+1,
				thousands(p.Baseline.RPS), thousands(p.Twin.RPS), p.Ratio, thousands(p.Validator.RPS), p.ValidatorRatio,
				cpuPerReq(p.Baseline, p.Validator, p.Twin), latency(p.Baseline), latency(p.Twin),
				p.Baseline.Errors, p.Validator.Errors, p.Twin.Errors)
		}
	}

	b.WriteString("\n| twin | value | target |\n| --- | ---: | --- |\n")
	fmt.Fprintf(&b, "| start-up to the first 200, %s HighLevel contacts (median of %d starts) | %.1f ms | < %.0f ms %s |\n",
		thousands(float64(s.DataSetContacts)), len(r.Startup.TwinSamplesMs), r.Startup.TwinMs, r.Startup.TargetMs,
		metMark(r.Startup.TwinMs < r.Startup.TargetMs))
	mem := r.Memory
	fmt.Fprintf(&b, "| resident memory idle, %s HighLevel contacts | %.1f MB | < %.0f MB %s |\n",
		thousands(float64(mem.IdleContacts)), mem.IdleRSSMB, mem.TargetIdleMB, metMark(mem.IdleRSSMB > 0 && mem.IdleRSSMB < mem.TargetIdleMB))
	if mem.AtScaleContacts > 0 {
		fmt.Fprintf(&b, "| resident memory, %s | %.1f MB | < %.0f MB %s |\n",
			s.AtScaleDataSet, mem.AtScaleRSSMB, mem.TargetAtScaleMB,
			metMark(mem.AtScaleRSSMB > 0 && mem.AtScaleRSSMB < mem.TargetAtScaleMB))
		fmt.Fprintf(&b, "| start-up to the first 200, %s HighLevel contacts (%.0f MB state file) | %s ms | < %s ms %s |\n",
			thousands(float64(mem.AtScaleContacts)), mem.AtScaleStateMB, thousands(mem.AtScaleStartupMs),
			thousands(TargetAtScaleStartupMs), metMark(mem.AtScaleStartupMs < TargetAtScaleStartupMs))
		if mem.AtScaleStartupCPUMs > 0 {
			fmt.Fprintf(&b, "| CPU time of that start-up and of its release of the load's memory (every thread) | %s ms | |\n", thousands(mem.AtScaleStartupCPUMs))
		}
		fmt.Fprintf(&b, "| resident memory under the mixed load, %s HighLevel contacts (most of readings every 100 ms; %s requests, %s errors) | %.1f MB | < %.0f MB %s |\n",
			thousands(float64(mem.AtScaleContacts)), thousands(float64(mem.AtScaleLoadRequests)), thousands(float64(mem.AtScaleLoadErrors)),
			mem.AtScaleLoadRSSMB, mem.TargetAtScaleLoadMB,
			metMark(mem.AtScaleLoadRSSMB > 0 && mem.AtScaleLoadRSSMB < mem.TargetAtScaleLoadMB && mem.AtScaleLoadErrors == 0))
	}
	b.WriteString("\nMB are MiB (VmRSS of the twin process once idle after its first answer).\n")
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// alternation spells how the runs alternate, for more than one pair.
func alternation(pairs int) string {
	if pairs < 2 {
		return ""
	}
	return ", alternating: A K B A K B…"
}

func ratioTarget(w WorkloadReport) string {
	if w.Target == 0 {
		return ""
	}
	return fmt.Sprintf("≥ %.1f× %s", w.Target, metMark(w.Met != nil && *w.Met))
}

func metMark(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(**missed**)"
}

func cpuPerReq(rs ...RunResult) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatFloat(r.CPUUsPerReq, 'f', 0, 64)
	}
	return strings.Join(parts, " / ")
}

func latency(r RunResult) string { return fmt.Sprintf("%.2f / %.2f", r.P50Ms, r.P99Ms) }

// thousands formats x rounded to an integer with thousands separators.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

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
}

// WorkloadReport is one workload's pairs of runs.
type WorkloadReport struct {
	Name  string       `json:"name"`
	Pairs []PairResult `json:"pairs"`
	// Ratio is the median over the pairs of twin req/s / baseline req/s.
	Ratio float64 `json:"ratio"`
	// Target is the ratio the issue aims at; 0 when it sets none.
	Target float64 `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

// PairResult is a baseline run and the twin run that followed it.
type PairResult struct {
	Baseline RunResult `json:"baseline"`
	Twin     RunResult `json:"twin"`
	Ratio    float64   `json:"ratio"`
}

// StartupReport is the twin's time from exec to its first 200 on the contact
// list, with the default data set, over every twin the run started.
type StartupReport struct {
	TwinMs        float64   `json:"twinMs"`
	TwinSamplesMs []float64 `json:"twinSamplesMs"`
	TargetMs      float64   `json:"targetMs"`
}

// MemoryReport is the twin's resident memory (VmRSS) after its first answer.
type MemoryReport struct {
	IdleContacts     int     `json:"idleContacts"`
	IdleRSSMB        float64 `json:"idleRssMB"`
	TargetIdleMB     float64 `json:"targetIdleMB"`
	AtScaleContacts  int     `json:"atScaleContacts,omitempty"`
	AtScaleRSSMB     float64 `json:"atScaleRssMB,omitempty"`
	AtScaleStartupMs float64 `json:"atScaleStartupMs,omitempty"`
	AtScaleStateMB   float64 `json:"atScaleStateMB,omitempty"`
	TargetAtScaleMB  float64 `json:"targetAtScaleMB"`
}

// median values of a workload's pairs, for the summary.
func (w WorkloadReport) medians() (base, twin RunResult) {
	pick := func(f func(PairResult) float64) float64 {
		xs := make([]float64, len(w.Pairs))
		for i, p := range w.Pairs {
			xs[i] = f(p)
		}
		return median(xs)
	}
	base.RPS = pick(func(p PairResult) float64 { return p.Baseline.RPS })
	twin.RPS = pick(func(p PairResult) float64 { return p.Twin.RPS })
	base.P50Ms = pick(func(p PairResult) float64 { return p.Baseline.P50Ms })
	twin.P50Ms = pick(func(p PairResult) float64 { return p.Twin.P50Ms })
	base.P99Ms = pick(func(p PairResult) float64 { return p.Baseline.P99Ms })
	twin.P99Ms = pick(func(p PairResult) float64 { return p.Twin.P99Ms })
	for _, p := range w.Pairs {
		base.Errors += p.Baseline.Errors
		twin.Errors += p.Twin.Errors
	}
	return base, twin
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
		"%s warm-up then %s measured per run, %s per workload (baseline then twin%s), "+
		"each run on a fresh process. Twin: `contactbridge %s` (auth, validation and journal on, rate limits off) "+
		"with %s. Baseline: bare net/http answering a fixed %d-byte contact on "+
		"every path (also for the list, whose twin answer is 100 contacts).\n\n",
		m.GoVersion, m.OS, m.Arch, m.NumCPU, m.GOMAXPROCS, cpu, s.Generator, s.Concurrency, s.Warmup, s.Duration,
		plural(s.Pairs, "pair"), alternation(s.Pairs), s.TwinArgs, s.DataSet, s.BaselineBytes)

	b.WriteString("| workload | baseline req/s | twin req/s | twin/baseline | target | baseline p50 / p99 ms | twin p50 / p99 ms | errors (baseline / twin) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n")
	for _, w := range r.Workloads {
		base, twin := w.medians()
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %s | %s | %s | %d / %d |\n", w.Name, thousands(base.RPS),
			thousands(twin.RPS), w.Ratio, ratioTarget(w), latency(base), latency(twin), base.Errors, twin.Errors)
	}
	if len(r.Workloads) > 0 && len(r.Workloads[0].Pairs) > 1 {
		b.WriteString("\nReq/s and latencies are medians of the pairs, the ratio the median of the pairs' ratios, errors summed. Every pair:\n\n")
	} else {
		b.WriteString("\nEvery pair:\n\n")
	}
	b.WriteString("| workload | pair | baseline req/s | twin req/s | twin/baseline | baseline p50 / p99 ms | twin p50 / p99 ms | errors (baseline / twin) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, w := range r.Workloads {
		for i, p := range w.Pairs {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %.2f× | %s | %s | %d / %d |\n", w.Name, i+1,
				thousands(p.Baseline.RPS), thousands(p.Twin.RPS), p.Ratio, latency(p.Baseline), latency(p.Twin),
				p.Baseline.Errors, p.Twin.Errors)
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
		fmt.Fprintf(&b, "| start-up to the first 200, %s HighLevel contacts (%.0f MB state file) | %s ms | |\n",
			thousands(float64(mem.AtScaleContacts)), mem.AtScaleStateMB, thousands(mem.AtScaleStartupMs))
	}
	b.WriteString("\nMB are MiB (VmRSS of the twin process after its first answer).\n")
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
	return ", alternating: A B A B…"
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

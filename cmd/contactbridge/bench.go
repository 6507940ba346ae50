package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/perf"
)

// defaultBenchOut is where bench writes its JSON results (ignored by git).
const defaultBenchOut = ".bench/results.json"

// defaultSmokeOut keeps a smoke run from overwriting the last full results.
const defaultSmokeOut = ".bench/smoke.json"

type benchFlags struct {
	duration      time.Duration
	warmup        time.Duration
	concurrency   int
	pairs         int
	workloads     []string
	contacts      int
	out           string
	smoke         bool
	serveBaseline string
	baselineList  string
	validate      bool
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	def := perf.DefaultOptions()
	f := benchFlags{duration: def.Duration, warmup: def.Warmup, concurrency: def.Concurrency, pairs: def.Pairs,
		workloads: def.Workloads, contacts: def.Contacts100k, out: defaultBenchOut}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the HighLevel twin against a bare net/http server",
		Long: `Runs the twin (contactbridge mock, rate limits off), a bare net/http baseline
(a fixed contact, and the twin's own answer to the list) and kin, the
baseline's answers after kin-openapi has validated the request, as child
processes on loopback; drives each with the same closed-loop load (baseline,
kin, twin, baseline... per workload), and reports requests/s, p50/p99
latency, each server's CPU per request, errors and the twin/baseline and
twin/kin ratios, the twin's start-up time and its resident memory idle and
with many contacts loaded.

Prints a Markdown table and writes the results as JSON (--out). A full run
takes about pairs x workloads x 3 x (warmup + duration), plus the at-scale step.
--smoke is a run of a few seconds.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, &f, stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", f.duration, "measured time of each run")
	fl.DurationVar(&f.warmup, "warmup", f.warmup, "unmeasured load before each run (0: none)")
	fl.IntVar(&f.concurrency, "concurrency", f.concurrency, "closed loops (connections) per run")
	fl.IntVar(&f.pairs, "pairs", f.pairs, "baseline+twin pairs per workload")
	fl.StringSliceVar(&f.workloads, "workloads", f.workloads, "workloads to run: "+strings.Join(perf.AllWorkloads, ", "))
	fl.IntVar(&f.contacts, "contacts", f.contacts, "HighLevel contacts (2 tasks, 2 notes each: the fixtures scenario large without its Marketing 360 side) of the memory-at-scale step (0: skip)")
	fl.StringVar(&f.out, "out", f.out, "JSON results file, its directory created ("+defaultSmokeOut+" with --smoke)")
	fl.BoolVar(&f.smoke, "smoke", false, "a short run: 300ms runs after 100ms warm-up, 4 loops, 1 pair, 2000 contacts at scale")
	fl.StringVar(&f.serveBaseline, "serve-baseline", "", "serve the baseline on this loopback address until stopped (used by the harness)")
	fl.StringVar(&f.baselineList, "baseline-list", "", "with --serve-baseline: the file whose bytes answer GET /contacts/ (used by the harness)")
	fl.BoolVar(&f.validate, "baseline-validate", false, "with --serve-baseline: validate each request with kin-openapi first (used by the harness)")
	_ = fl.MarkHidden("serve-baseline")
	_ = fl.MarkHidden("baseline-list")
	_ = fl.MarkHidden("baseline-validate")
	_ = cmd.RegisterFlagCompletionFunc("workloads", completeWorkloads)
	return cmd
}

// completeWorkloads completes the comma-separated --workloads list: the
// workloads not in it yet, after what was typed up to the last comma.
func completeWorkloads(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	typed, _ := cutLast(toComplete, ",")
	chosen := strings.Split(typed, ",")
	var out []cobra.Completion
	for _, w := range perf.AllWorkloads {
		if !slices.Contains(chosen, w) {
			if typed != "" {
				w = typed + "," + w
			}
			out = append(out, w)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// cutLast cuts s around the last sep: everything before it, and after.
func cutLast(s, sep string) (before, after string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+len(sep):]
}

// serveBaseline serves a reference server of the harness until stopped.
func serveBaseline(cmd *cobra.Command, f *benchFlags) error {
	ctx := cmd.Context()
	var list []byte
	if f.baselineList != "" {
		var err error
		if list, err = os.ReadFile(f.baselineList); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	h := perf.BaselineHandler(list)
	if f.validate {
		spec, err := openapi.LoadHighLevel(ctx, "")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		h = perf.ValidatorHandler(spec, list)
	}
	return perf.ServeBaseline(ctx, f.serveBaseline, h)
}

func runBench(cmd *cobra.Command, f *benchFlags, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	if f.serveBaseline != "" {
		return serveBaseline(cmd, f)
	}
	opts := perf.DefaultOptions()
	if f.smoke {
		opts = perf.SmokeOptions()
		if !cmd.Flags().Changed("out") {
			f.out = defaultSmokeOut
		}
	}
	fl := cmd.Flags()
	if fl.Changed("duration") || !f.smoke {
		opts.Duration = f.duration
	}
	if fl.Changed("warmup") || !f.smoke {
		opts.Warmup = f.warmup
		if opts.Warmup == 0 {
			opts.Warmup = -1 // perf: negative is none, zero the default
		}
	}
	if fl.Changed("concurrency") || !f.smoke {
		opts.Concurrency = f.concurrency
	}
	if fl.Changed("pairs") || !f.smoke {
		opts.Pairs = f.pairs
	}
	if fl.Changed("workloads") || !f.smoke {
		opts.Workloads = f.workloads
	}
	if fl.Changed("contacts") || !f.smoke {
		opts.Contacts100k = f.contacts
	}
	switch {
	case opts.Duration <= 0:
		return usageErrorf(cmd, "--duration %s: want more than 0", opts.Duration)
	case opts.Concurrency <= 0:
		return usageErrorf(cmd, "--concurrency %d: want more than 0", opts.Concurrency)
	case opts.Pairs <= 0:
		return usageErrorf(cmd, "--pairs %d: want more than 0", opts.Pairs)
	case opts.Contacts100k < 0:
		return usageErrorf(cmd, "--contacts %d: want 0 or more", opts.Contacts100k)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: finding the contactbridge binary: %w", err)
	}
	opts.Binary = bin
	opts.Progress = stderr

	rep, err := perf.Run(ctx, opts)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, rep.Markdown()); err != nil {
		return err
	}
	if f.out == "" {
		return nil
	}
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(f.out, data.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(stderr, "bench: results written to %s\n", f.out)
	return nil
}

package contract

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Passed counts the steps without a problem.
func (r *CheckReport) Passed() int {
	n := 0
	for _, s := range r.Steps {
		if len(s.Problems) == 0 {
			n++
		}
	}
	return n
}

// Negatives counts the negative cases.
func (r *CheckReport) Negatives() int {
	n := 0
	for _, s := range r.Steps {
		if s.Negative() {
			n++
		}
	}
	return n
}

// Unexercised lists the document's operations no step called.
func (r *CheckReport) Unexercised() []string {
	called := map[string]bool{}
	for _, s := range r.Steps {
		called[s.Operation] = true
	}
	var out []string
	for _, id := range r.Operations {
		if !called[id] {
			out = append(out, id)
		}
	}
	return out
}

// Differences groups the problems by kind and operation: each line once,
// with how many steps found it.
func (r *CheckReport) Differences() map[string][]string {
	count := map[string]map[string]int{}
	for _, s := range r.Steps {
		for _, p := range s.Problems {
			if count[p.Kind] == nil {
				count[p.Kind] = map[string]int{}
			}
			text := p.Text
			if p.Kind == ProblemUndocumented || p.Kind == ProblemUnserved {
				text = strings.SplitN(text, ":", 2)[0]
			}
			count[p.Kind][fmt.Sprintf("%s (%s %s): %s", s.Operation, s.Method, s.Path, text)]++
		}
	}
	out := map[string][]string{}
	for kind, lines := range count {
		for _, line := range sortedKeys(lines) {
			if n := lines[line]; n > 1 {
				line = fmt.Sprintf("%s (%d times)", line, n)
			}
			out[kind] = append(out[kind], line)
		}
	}
	return out
}

// Conformance is the share of steps without a problem, in percent.
func (r *CheckReport) Conformance() float64 {
	if len(r.Steps) == 0 {
		return 0
	}
	return 100 * float64(r.Passed()) / float64(len(r.Steps))
}

// WriteMarkdown writes the report: the figures, the differences by kind,
// then each operation's steps.
func (r *CheckReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance of %s\n\n", r.Name)
	exercised := len(r.Operations) - len(r.Unexercised())
	fmt.Fprintf(&b, "| sequences | steps | negative cases | passed | conformance | operations exercised |\n| --- | --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %.1f%% | %d of %d |\n\n", r.Sequences, len(r.Steps), r.Negatives(), r.Passed(),
		r.Conformance(), exercised, len(r.Operations))
	diffs := r.Differences()
	if len(diffs) == 0 {
		b.WriteString("No differences.\n\n")
	}
	kinds := sortedKeys(diffs)
	sort.SliceStable(kinds, func(i, j int) bool { return kindOrder(kinds[i]) < kindOrder(kinds[j]) })
	for _, kind := range kinds {
		fmt.Fprintf(&b, "## %s\n\n", kindTitle(kind))
		for _, line := range diffs[kind] {
			fmt.Fprintf(&b, "- %s\n", line)
		}
		b.WriteString("\n")
	}
	if un := r.Unexercised(); len(un) > 0 {
		fmt.Fprintf(&b, "## Not exercised\n\n- %s\n\n", strings.Join(un, "\n- "))
	}
	b.WriteString("## Steps by operation\n\n| operation | steps | negative | statuses | problems |\n| --- | --- | --- | --- | --- |\n")
	type row struct {
		steps, negative, problems int
		statuses                  map[int]bool
	}
	rows := map[string]*row{}
	for _, s := range r.Steps {
		rw := rows[s.Operation]
		if rw == nil {
			rw = &row{statuses: map[int]bool{}}
			rows[s.Operation] = rw
		}
		rw.steps++
		if s.Negative() {
			rw.negative++
		}
		rw.problems += len(s.Problems)
		rw.statuses[s.Status] = true
	}
	for _, op := range sortedKeys(rows) {
		rw := rows[op]
		var codes []string
		for c := range rw.statuses {
			codes = append(codes, fmt.Sprint(c))
		}
		sort.Strings(codes)
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d |\n", op, rw.steps, rw.negative, strings.Join(codes, " "), rw.problems)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kindOrder(k string) int {
	return map[string]int{ProblemSchema: 0, ProblemStatus: 1, ProblemUnserved: 2, ProblemUndocumented: 3, ProblemTransport: 4}[k]
}

func kindTitle(k string) string {
	return map[string]string{
		ProblemSchema:       "Answers that break the document's schemas",
		ProblemStatus:       "Statuses of the wrong class",
		ProblemUnserved:     "Operations the API does not serve",
		ProblemUndocumented: "Statuses the document does not list",
		ProblemTransport:    "Requests without an answer",
	}[k]
}

// WriteJUnit writes the report as JUnit XML: a test case per step, a
// suite per sequence.
func (r *CheckReport) WriteJUnit(w io.Writer) error {
	var cases []junitCase
	for _, s := range r.Steps {
		jc := junitCase{Class: r.Name + " " + s.Sequence, Name: fmt.Sprintf("%s %s (%s)", s.Operation, s.Case, s.Method+" "+s.Path)}
		if len(s.Problems) > 0 {
			var lines []string
			for _, p := range s.Problems {
				lines = append(lines, p.Kind+": "+p.Text)
			}
			jc.Failure = &junitFailure{Message: s.Problems[0].Kind, Text: strings.Join(lines, "\n")}
		}
		cases = append(cases, jc)
	}
	return writeJUnit(w, cases)
}

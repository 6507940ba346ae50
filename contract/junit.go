package contract

import (
	"encoding/xml"
	"fmt"
	"io"
)

// JUnit suites, as CI systems read them.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes cases as one suite per class (a pact, a spec), in the
// order they first appear.
func writeJUnit(w io.Writer, cases []junitCase) error {
	var out junitSuites
	index := map[string]int{}
	for _, c := range cases {
		i, ok := index[c.Class]
		if !ok {
			i = len(out.Suites)
			index[c.Class] = i
			out.Suites = append(out.Suites, junitSuite{Name: c.Class})
		}
		s := &out.Suites[i]
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("contract: junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("contract: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteJUnit writes the report as JUnit XML: a test case per interaction.
func (r *Report) WriteJUnit(w io.Writer) error {
	var cases []junitCase
	for _, c := range r.Cases {
		jc := junitCase{Class: c.Pact, Name: c.Description}
		if c.Failure != "" {
			jc.Failure = &junitFailure{Message: "does not match the pact", Text: c.Failure}
		}
		cases = append(cases, jc)
	}
	return writeJUnit(w, cases)
}

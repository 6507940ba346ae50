package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/contactbridge/contactbridge/fixtures"
)

// dataSetKeys are the members that open a data set file of fixtures
// generate: {scenario, seed, state}, or the header line of its NDJSON. A
// state as GET /__admin/state exports it opens with its tables.
var dataSetKeys = map[string]bool{"scenario": true, "seed": true, "state": true, "format": true}

// isDataSet tells whether the file at path is a data set rather than a
// state, from its first member; a file it cannot read is left to the
// twins to report.
func isDataSet(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 4<<10))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	key, err := dec.Token()
	name, ok := key.(string)
	return err == nil && ok && dataSetKeys[name]
}

// dataSetState reads the data set at path with the fixtures package's
// reader and writes its state into a state file of dir that the twins
// start from (and reset to), as if --state named a state. It returns the
// file and the data set's name.
func dataSetState(path, dir string) (string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("--state: %w", err)
	}
	defer f.Close()
	ds, err := fixtures.Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("--state %s: %w", path, err)
	}
	out, err := os.CreateTemp(dir, "contactbridge-state-*.json")
	if err != nil {
		return "", "", fmt.Errorf("--state %s: %w", path, err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	err = json.NewEncoder(w).Encode(ds.State)
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", "", fmt.Errorf("--state %s: write its state: %w", path, err)
	}
	return out.Name(), fmt.Sprintf("data set %s (%s, seed %d)", filepath.Base(path), ds.Scenario, ds.Seed), nil
}

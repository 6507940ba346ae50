package mock_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/gctune"
)

// BenchmarkNewServer is the twin's start-up as contactbridge bench measures
// it, short of the process and its listeners: the three specs, the state
// file of the workloads' data set (the fixtures scenario "default" at 1,000
// contacts) decoded and restored, the pipelines built.
//
//	go test -run '^$' -bench 'NewServer$' -benchtime 20x ./mock/
func BenchmarkNewServer(b *testing.B) {
	benchNewServer(b, "default", func(o *fixtures.Options) { o.Contacts, o.Seed = 1000, 42 })
}

// BenchmarkNewServer100k is the start-up at the bench's scale: the fixtures
// scenario "large" without its Marketing 360 side (100,000 contacts,
// 200,000 tasks, 200,000 notes; a 163 MB state file).
//
//	go test -run '^$' -bench 'NewServer100k' -benchtime 3x ./mock/
func BenchmarkNewServer100k(b *testing.B) {
	benchNewServer(b, "large", func(o *fixtures.Options) { o.LinkedShare, o.M360Contacts = 0, 0 })
}

// benchNewServer starts twins, one after the other, on a state file of the
// scenario, tuned by tune, with the collector tuned as contactbridge mock
// tunes it before its twin starts.
func benchNewServer(b *testing.B, scenario string, tune func(*fixtures.Options)) {
	o, err := fixtures.Scenario(scenario)
	if err != nil {
		b.Fatal(err)
	}
	tune(&o)
	ds, err := fixtures.Generate(o)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "state.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := json.NewEncoder(w).Encode(ds.State); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	ds = fixtures.Dataset{}
	b.ReportAllocs()
	runtime.GC() // the data set's garbage is not the start-ups' to collect
	cpu0 := processCPU(b)
	for b.Loop() {
		untune := gctune.Start(gctune.Default) // each start tuned as a process's
		srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1, StateFile: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
		untune()
	}
	// CPU time over all threads: steadier than the wall time on a loaded
	// machine (0 where the process's is not known).
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

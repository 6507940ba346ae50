package mock_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock"
)

// BenchmarkNewServer is the twin's start-up as contactbridge bench measures
// it, short of the process and its listeners: the three specs, the state
// file of the workloads' data set (the fixtures scenario "default" at 1,000
// contacts) decoded and restored, the pipelines built.
//
//	go test -run '^$' -bench NewServer -benchtime 20x ./mock/
func BenchmarkNewServer(b *testing.B) {
	o, err := fixtures.Scenario("default")
	if err != nil {
		b.Fatal(err)
	}
	o.Contacts, o.Seed = 1000, 42
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
	b.ReportAllocs()
	for b.Loop() {
		srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1, StateFile: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

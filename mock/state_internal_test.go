package mock

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/contactbridge/contactbridge/mock/gctune"
)

// A large state file turns the tuner's pace off while it loads, with a
// memory limit for its size, and the tuned ones come back once it has
// loaded; a small file, or none, leaves them.
func TestPaceLargeLoad(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	dir := t.TempDir()
	large, small := filepath.Join(dir, "large.json"), filepath.Join(dir, "small.json")
	for path, size := range map[string]int64{large: largeStateBytes + 1, small: 1 << 10} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil { // sparse: no data written
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	limit := func() int64 { return debug.SetMemoryLimit(-1) } // -1 reads it
	stop := gctune.Start(gctune.Default)
	defer stop()
	tuned := limit()
	if tuned == math.MaxInt64 {
		t.Fatal("no memory limit once tuned")
	}
	paceLargeLoad(small)()
	paceLargeLoad("")()
	if l := limit(); l == math.MaxInt64 {
		t.Fatal("a small state lifted the memory limit")
	}
	gogc := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	done := paceLargeLoad(large)
	if want := gctune.Default.Floor + 4*(largeStateBytes+1); limit() != want || gogc() != math.MaxUint64 {
		t.Fatalf("while a large state loads: limit %d, GOGC %d; want %d, off", limit(), gogc(), want)
	}
	done()
	if l := limit(); l == math.MaxInt64 || gogc() != uint64(gctune.Default.Percent) {
		t.Fatalf("after the large state loaded: limit %d, GOGC %d; want the tuned ones", l, gogc())
	}
}

// The twins answer while the start-up's release runs: it comes once their
// listeners serve.
func TestNewServer_ReleasesOnceServing(t *testing.T) {
	// Not parallel: it swaps releaseStartup.
	answered := errors.New("no release")
	prev := releaseStartup
	releaseStartup = func(s *Server, _ bool) {
		// A contact that does not exist: any answer is the twin's.
		resp, err := http.Get(s.HighLevel.URL() + "/contacts/none")
		if err == nil {
			err = resp.Body.Close()
		}
		answered = err
	}
	t.Cleanup(func() { releaseStartup = prev })
	srv, err := NewServer(Options{Seed: 1, Logger: slog.New(slog.DiscardHandler),
		HighLevel: HighLevelOptions{Addr: "127.0.0.1:0"}, M360: M360Options{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if answered != nil {
		t.Errorf("the twin did not answer during the start-up's release: %v", answered)
	}
}

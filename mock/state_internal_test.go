package mock

import (
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/gctune"
)

// A large state file lifts the tuner's memory limit while it loads, and the
// limit comes back once it has loaded; a small file, or none, leaves it.
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
	done := paceLargeLoad(large)
	if l := limit(); l != math.MaxInt64 {
		t.Fatalf("while a large state loads: limit %d, want none", l)
	}
	done()
	if l := limit(); l == math.MaxInt64 {
		t.Fatal("the memory limit stayed lifted after the large state loaded")
	}
}

// NewServer returns, and the twin serves, while the start-up's release is
// still under way; Close waits for it to end.
func TestNewServer_ReleasesOffTheStartupPath(t *testing.T) {
	// Not parallel: it swaps releaseStartup.
	entered, proceed := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	prev := releaseStartup
	releaseStartup = func(bool) {
		close(entered)
		<-proceed
		finished.Store(true)
	}
	t.Cleanup(func() { releaseStartup = prev })
	started := make(chan *Server, 1)
	go func() {
		srv, err := NewServer(Options{NoListener: true, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Error(err)
		}
		started <- srv
	}()
	<-entered
	var srv *Server
	select {
	case srv = <-started:
	case <-time.After(30 * time.Second): // a bound on failure, never waited on success
		close(proceed)
		t.Fatal("NewServer waits for the start-up's release")
	}
	if srv == nil {
		close(proceed)
		t.FailNow()
	}
	// It answers (here, that the contact does not exist) meanwhile.
	resp, err := srv.HighLevel.Client().Get(srv.HighLevel.URL() + "/contacts/none")
	if err != nil {
		close(proceed)
		t.Fatal(err)
	}
	resp.Body.Close()
	close(proceed)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Close returned before the start-up's release ended")
	}
}

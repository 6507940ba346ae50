package mock_test

import (
	"runtime/metrics"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/gctune"
)

// In a process tuned for serving, NewServer gives back to the OS what its
// start-up left before it serves: a collection runs, and no free heap is
// kept from the OS. Untuned (a test's twins), a small start collects
// nothing.
func TestNewServer_ReleasesStartupGarbage(t *testing.T) {
	// Not parallel: the figures are the process's.
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	samples := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}, {Name: "/memory/classes/heap/free:bytes"}}
	start := func(t *testing.T) (forced, free uint64) {
		t.Helper()
		metrics.Read(samples)
		before := samples[0].Value.Uint64()
		srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1})
		metrics.Read(samples)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return samples[0].Value.Uint64() - before, samples[1].Value.Uint64()
	}
	t.Run("tuned", func(t *testing.T) {
		stop := gctune.Start(gctune.Default)
		defer stop()
		forced, free := start(t)
		if forced == 0 {
			t.Error("no collection forced during NewServer")
		}
		if free > 1<<20 {
			t.Errorf("%d bytes of free heap kept from the OS after NewServer, want at most 1 MiB", free)
		}
	})
	t.Run("untuned", func(t *testing.T) {
		if forced, _ := start(t); forced != 0 {
			t.Errorf("%d collections forced during an untuned NewServer, want none", forced)
		}
	})
}

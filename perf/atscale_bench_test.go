package perf

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync/atomic"
	"testing"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/gctune"
)

var (
	atScaleHeapProfile = flag.String("atscale.heapprofile", "", "BenchmarkAtScaleMixed: write the heap profile of the twin at the end of its load to this file")
	atScaleContacts    = flag.Int("atscale.contacts", DefaultContacts100k, "BenchmarkAtScaleMixed: HighLevel contacts of the data set")
	atScaleDuration    = flag.Duration("atscale.duration", DefaultDuration, "BenchmarkAtScaleMixed: how long the mixed load runs")
)

// BenchmarkAtScaleMixed is the bench's at-scale step in one process: a twin
// on the at-scale data set (100,000 contacts, 2 tasks and 2 notes each),
// tuned as contactbridge mock tunes it, under the mixed load for the bench's
// default duration after its warm-up (-atscale.duration to change it). The
// load generator's own share of the heap is its samples of the data set's
// contacts (~25 MB). It reports the live heap after the
// load (a full collection), and before it, and the requests it made; with
// -atscale.heapprofile it writes the heap profile, to read with
// `go tool pprof -sample_index=inuse_space` (or inuse_objects).
//
//	go test -run '^$' -bench AtScaleMixed -benchtime 1x ./perf/ -atscale.heapprofile /tmp/heap.out
func BenchmarkAtScaleMixed(b *testing.B) {
	id, err := twinIdentity()
	if err != nil {
		b.Fatal(err)
	}
	ds, _, err := id.atScaleDataSet(*atScaleContacts)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "state.json")
	if _, err := writeState(path, &ds.State); err != nil {
		b.Fatal(err)
	}
	contacts := samplesOf(&ds.State, id.location.ID)
	ds = fixtures.Dataset{} // the twin's own copy is what the profile shows
	for b.Loop() {
		untune := gctune.Start(gctune.Default)
		srv, err := mock.NewServer(mock.Options{Seed: twinSeed, StateFile: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(liveMB(), "idle-live-MB")
		t := &target{baseURL: srv.HighLevel.URL(), token: id.token, locationID: id.location.ID, contacts: contacts, seq: new(atomic.Uint64)}
		res, err := runLoad(context.Background(), t, loadSpec{workload: WorkloadMixed, concurrency: DefaultConcurrency,
			warmup: DefaultWarmup, duration: *atScaleDuration, seed: loadSeed})
		if err != nil {
			b.Fatal(err)
		}
		if res.Errors > 0 {
			b.Fatalf("%d errors, as %s", res.Errors, res.ErrorSample)
		}
		b.ReportMetric(liveMB(), "live-MB")
		b.ReportMetric(float64(res.Requests), "requests")
		if *atScaleHeapProfile != "" {
			writeHeapProfile(b, *atScaleHeapProfile)
		}
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
		untune()
	}
}

// liveMB collects and returns the live heap, in MiB.
func liveMB() float64 {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	return float64(samples[0].Value.Uint64()) / (1 << 20)
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

package mock

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's pace.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// A large state file paces the collector while it loads, overlapping loads
// keep the pace until the last ends, and the pace before is put back; a
// small file, or GOGC set by the user, leaves the pace alone.
func TestPaceForLargeState(t *testing.T) {
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(150)
	t.Cleanup(func() { debug.SetGCPercent(before) })
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

	paceForLargeState(small)()
	paceForLargeState("")()
	if p := gcPercent(); p != 150 {
		t.Fatalf("after a small state: GOGC %d, want 150", p)
	}
	first := paceForLargeState(large)
	second := paceForLargeState(large)
	if p := gcPercent(); p != largeStateGCPercent {
		t.Fatalf("while a large state loads: GOGC %d, want %d", p, largeStateGCPercent)
	}
	first()
	if p := gcPercent(); p != largeStateGCPercent {
		t.Fatalf("while the second load goes on: GOGC %d, want %d", p, largeStateGCPercent)
	}
	second()
	if p := gcPercent(); p != 150 {
		t.Fatalf("after both loads: GOGC %d, want 150", p)
	}

	t.Setenv("GOGC", "100")
	restore := paceForLargeState(large)
	if p := gcPercent(); p != 150 {
		t.Fatalf("with GOGC set by the user: GOGC %d, want 150", p)
	}
	restore()
}

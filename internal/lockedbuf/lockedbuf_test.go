package lockedbuf

import (
	"strings"
	"sync"
	"testing"
)

// TestBuffer_ConcurrentWritesAllKept: writes from several goroutines, read
// meanwhile (the race detector watches), all end up in the buffer whole.
func TestBuffer_ConcurrentWritesAllKept(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if _, err := b.Write([]byte("line\n")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != 400 {
		t.Errorf("%d lines kept, want 400", got)
	}
}

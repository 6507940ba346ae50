package engine

import (
	"context"
	"errors"
	"testing"
)

// TestEntityLocks_OneHolderAKey: a second locker of a key waits for the
// holder's unlock; another key does not wait; a locker whose context ends
// gives up with its error.
func TestEntityLocks_OneHolderAKey(t *testing.T) {
	t.Parallel()
	waited := make(chan string, 4)
	l := &entityLocks{waiting: func(key string) { waited <- key }}
	ctx := context.Background()
	unlockA, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := l.lock(ctx, "b") // another key: at once
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	got := make(chan func(), 1)
	go func() {
		unlock, err := l.lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- unlock
	}()
	if key := <-waited; key != "a" {
		t.Fatalf("waited for %q", key)
	}
	select {
	case <-got:
		t.Fatal("a second holder of a")
	default:
	}
	unlockA()
	(<-got)()

	unlockA, err = l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := l.lock(cctx, "a"); done <- err }()
	<-waited
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v", err)
	}
}

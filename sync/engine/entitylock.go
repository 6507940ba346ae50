package engine

import (
	"context"
	"fmt"
	"sync"
)

// entityLocks serializes the jobs of one entity in this process. River
// keeps a job unique only while it waits: a notification that comes while
// the entity's job runs (its webhook, then a reconcile that finds the same
// change) makes a second job, which another worker could run beside the
// first, both reading the mapping before either writes it (two deletions
// of one counterpart, for one). Creates are safe without it (the ledger);
// the rest of a job's writes are not. Several processes on one database
// (Postgres, later) need a lock in the database instead.
type entityLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
	// waiting, when set (tests), is told of a lock waited for.
	waiting func(key string)
}

// lock takes key's lock, waiting for its holder to unlock it or for ctx to
// end; the returned function unlocks it.
func (l *entityLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		freed, busy := l.held[key]
		if !busy {
			mine := make(chan struct{})
			l.held[key] = mine
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(mine)
			}, nil
		}
		waiting := l.waiting
		l.mu.Unlock()
		if waiting != nil {
			waiting(key)
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("engine: wait for the job of %s: %w", key, ctx.Err())
		}
	}
}

// entityKey names the entity a's job converges.
func entityKey(a Converge) string {
	return a.Side + "\x00" + a.EntityKind + "\x00" + a.Tenant + "\x00" + a.ID
}

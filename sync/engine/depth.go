package engine

import (
	"context"
	"fmt"

	"github.com/contactbridge/contactbridge/sync/state"
)

// JobCount is how many of the queue's jobs of a kind are in a state.
type JobCount struct {
	Kind, State string
	N           int
}

// JobCounts counts the queue's jobs in db by kind and state, ordered by
// kind then state: the queue's depth. (It reads River's job table, the same
// on SQLite and Postgres.)
func JobCounts(ctx context.Context, db *state.DB) ([]JobCount, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("engine: count jobs: %w", err)
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Kind, &c.State, &c.N); err != nil {
			return nil, fmt.Errorf("engine: count jobs: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engine: count jobs: %w", err)
	}
	return out, nil
}

// waitingStates are the states of a job not finished: waiting to run,
// running, or waiting for its retry.
var waitingStates = []any{"available", "pending", "retryable", "running", "scheduled"}

// WaitingJobs counts the queue's jobs of kind not finished (available,
// pending, retryable, running, scheduled). It reads only those, through
// River's index on the state, where JobCounts reads every job the queue
// keeps (the finished ones too: a backfill's thousands). (The kind is
// picked from the counts, not in the query: with it there, SQLite reads
// the kind's index, every job of the kind.)
func WaitingJobs(ctx context.Context, db *state.DB, kind string) (int, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT kind, COUNT(*) FROM river_job WHERE state IN (?, ?, ?, ?, ?) GROUP BY kind`,
		waitingStates...)
	if err != nil {
		return 0, fmt.Errorf("engine: count %s jobs waiting: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return 0, fmt.Errorf("engine: count %s jobs waiting: %w", kind, err)
		}
		if k == kind {
			return n, nil
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("engine: count %s jobs waiting: %w", kind, err)
	}
	return 0, nil
}

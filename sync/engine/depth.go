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

// Waiting tells whether a job of kind is not finished (available, pending,
// retryable, running, scheduled). It is one EXISTS: SQLite reads the
// unfinished jobs through River's index on the state and stops at the first
// of kind (the first, when kind is most of them), where a count reads every
// one of them and JobCounts every job the queue keeps: a backfill's
// thousands. (The unary + keeps SQLite off the kind's index, which would
// read every job of the kind, finished or not.)
func Waiting(ctx context.Context, db *state.DB, kind string) (bool, error) {
	var waiting bool
	err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM river_job WHERE state IN (?, ?, ?, ?, ?) AND +kind = ?)`,
		append(waitingStates[:len(waitingStates):len(waitingStates)], kind)...).Scan(&waiting)
	if err != nil {
		return false, fmt.Errorf("engine: look for %s jobs waiting: %w", kind, err)
	}
	return waiting, nil
}

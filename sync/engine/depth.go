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

package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Cursor is where a poll or backfill stream stands (hl:contacts:dateUpdated,
// backfill:hl:contacts, ...). Save it in the transaction that records the
// work it covers, never ahead of it.
type Cursor struct {
	Stream    string
	Tenant    string
	Value     string
	Overlap   time.Duration // how far back the next poll re-reads
	UpdatedAt time.Time
}

// Cursor returns a stream's cursor.
func (q Queries) Cursor(ctx context.Context, stream string) (Cursor, error) {
	c := Cursor{Stream: stream}
	var overlap, at int64
	err := q.q.QueryRowContext(ctx, `SELECT tenant, value, overlap_ms, updated_at FROM cursors WHERE stream = ?`,
		stream).Scan(&c.Tenant, &c.Value, &overlap, &at)
	if err != nil {
		return Cursor{}, scanErr(err, "cursor "+stream)
	}
	c.Overlap, c.UpdatedAt = time.Duration(overlap)*time.Millisecond, fromMillis(at)
	return c, nil
}

// SaveCursor stores a stream's cursor, replacing the last one.
func (q Queries) SaveCursor(ctx context.Context, c Cursor) error {
	_, err := q.exec(ctx, "save cursor "+c.Stream, `INSERT INTO cursors (stream, tenant, value, overlap_ms, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (stream) DO UPDATE SET tenant = excluded.tenant, value = excluded.value,
		  overlap_ms = excluded.overlap_ms, updated_at = excluded.updated_at`,
		c.Stream, c.Tenant, c.Value, c.Overlap.Milliseconds(), millis(c.UpdatedAt))
	return err
}

// Run is one entry of the run log: a poll, reconcile or backfill.
type Run struct {
	ID         int64
	Kind       string
	Tenant     string
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs (or when it died)
	Stats      string    // JSON, the run's counts
	Error      string
}

// StartRun logs the start of a run and returns its id.
func (q Queries) StartRun(ctx context.Context, kind, tenant string, at time.Time) (int64, error) {
	var id int64
	err := q.q.QueryRowContext(ctx, `INSERT INTO runs (kind, tenant, started_at) VALUES (?, ?, ?) RETURNING id`,
		kind, tenant, millis(at)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("state: start %s run: %w", kind, err)
	}
	return id, nil
}

// FinishRun logs the end of a run, with its stats and error ("" for none).
func (q Queries) FinishRun(ctx context.Context, id int64, at time.Time, stats, runErr string) error {
	res, err := q.exec(ctx, "finish run", `UPDATE runs SET finished_at = ?, stats = ?, error = ? WHERE id = ?`,
		millis(at), stats, runErr, id)
	if err != nil {
		return err
	}
	return one(res, fmt.Sprintf("finish run %d", id))
}

// Runs returns the last limit runs of a kind ("" for all), the newest first.
func (q Queries) Runs(ctx context.Context, kind string, limit int) ([]Run, error) {
	return list(ctx, q, "list runs", func(s scanner) (Run, error) {
		var r Run
		var started int64
		var finished sql.NullInt64
		err := s.Scan(&r.ID, &r.Kind, &r.Tenant, &started, &finished, &r.Stats, &r.Error)
		r.StartedAt, r.FinishedAt = fromMillis(started), fromNullMillis(finished)
		return r, err
	}, `SELECT id, kind, tenant, started_at, finished_at, stats, error FROM runs
		WHERE (? = '' OR kind = ?) ORDER BY started_at DESC, id DESC LIMIT ?`, kind, kind, limit)
}

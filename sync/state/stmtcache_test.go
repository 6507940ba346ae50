package state_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/contactbridge/contactbridge/sync/state"
)

func TestOpen_FullSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "sync.db"), state.Options{FullSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sync int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d (%v), want 2 (FULL)", sync, err)
	}
}

// The connection's prepared statements give the same answers as fresh
// ones: a text run again, the same text while its first rows are still
// open, more distinct texts than the cache holds, a statement after the
// schema it was prepared on changed, and errors as SQLite gives them.
func TestStatementCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	q := db.SQL()
	if _, err := q.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const n = 300 // more than the cache holds
	for i := range n {
		if _, err := q.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The same text twice at once: the outer rows stay open on one
	// statement while the inner query runs on another.
	err := db.Tx(ctx, func(tx *state.Tx) error {
		rows, err := tx.SQL().QueryContext(ctx, `SELECT k, v FROM t WHERE k < ? ORDER BY k`, 3)
		if err != nil {
			return err
		}
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var k int
			var v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			var inner string
			if err := tx.SQL().QueryRowContext(ctx, `SELECT k, v FROM t WHERE k < ? ORDER BY k`, k+1).Scan(new(int), &inner); err != nil {
				return err
			}
			if v != fmt.Sprint("v", k) || inner != "v0" {
				return fmt.Errorf("row %d: %q, inner %q", k, v, inner)
			}
			seen++
		}
		if seen != 3 {
			return fmt.Errorf("%d rows, want 3", seen)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// Distinct texts beyond the cache's size, then the first ones again.
	for round := range 2 {
		for i := range n {
			var v string
			if err := q.QueryRowContext(ctx, fmt.Sprintf(`SELECT v FROM t WHERE k = %d`, i)).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
				t.Fatalf("round %d, k %d: %q, %v", round, i, v, err)
			}
		}
	}
	// A schema change under a cached statement.
	const sel = `SELECT * FROM t WHERE k = ?`
	cols := func() int {
		rows, err := q.QueryContext(ctx, sel, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	if got := cols(); got != 2 {
		t.Fatalf("%d columns, want 2", got)
	}
	if _, err := q.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT`); err != nil {
		t.Fatal(err)
	}
	if got := cols(); got != 3 {
		t.Fatalf("after ALTER TABLE: %d columns, want 3", got)
	}
	// A constraint error from a cached statement, and the statement still
	// works afterwards.
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	var se *sqlite.Error
	if _, err := q.ExecContext(ctx, ins, 1, "dup"); !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		t.Fatalf("duplicate key: %v, want a primary key violation", err)
	}
	if _, err := q.ExecContext(ctx, ins, n, "new"); err != nil {
		t.Fatalf("after the error: %v", err)
	}
	// A syntax error is not cached and stays an error.
	for range 2 {
		if _, err := q.ExecContext(ctx, `SELEC 1`); err == nil {
			t.Fatal("a syntax error ran")
		}
	}
}

// TestDB_Statements counts each statement run on the database: five
// queries move it by five (the WAL's checkpoints, every 100 ms on their own
// connection, are not counted).
func TestDB_Statements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	before := db.Statements()
	for range 5 {
		if _, err := db.Cursor(ctx, "none"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("cursor: %v, want not found", err)
		}
	}
	if n := db.Statements() - before; n != 5 {
		t.Errorf("%d statements counted for 5 queries", n)
	}
}

// Package state is the sync's durable state: one SQLite database (pure Go,
// WAL) holding the webhook inbox, the ID mappings, the effects ledger,
// cursors, tokens, quota and the run log, with migrations, typed repository
// methods and transactions. The work queue's tables live in the same
// database (see sync/engine), so that recording an event and enqueuing its
// job, or completing a job and recording its effect, is one transaction.
//
// The SQL is written to carry over to Postgres: portable statements
// (INSERT … ON CONFLICT, RETURNING), times as Unix milliseconds, and
// comments where a Postgres backend must differ (placeholders are "?" here,
// "$n" there).
package state

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers test for.
var (
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("state: not found")
	// ErrConflict: a unique key is taken, or a compare-and-swap found
	// another value than the one expected.
	ErrConflict = errors.New("state: conflict")
	// ErrClosed: Tx after Close.
	ErrClosed = errors.New("state: closed")
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune Open. The zero value is the default.
type Options struct {
	// BusyTimeout is how long a statement waits for another process's
	// lock before it fails (0: 5s).
	BusyTimeout time.Duration
	// FullSync makes every commit wait for the disk (synchronous=FULL):
	// durable across a power loss or an OS crash too. Without it
	// (synchronous=NORMAL, SQLite's advice for WAL) a commit is durable
	// across any crash or kill of the process, and a power loss may undo
	// the last commits before the WAL's next checkpoint, never corrupt the
	// database. It costs the sync about half its throughput.
	FullSync bool
	// Logger takes what the database says of itself while open: its WAL
	// checkpoints failing (nil: slog.Default()).
	Logger *slog.Logger
}

// DB is the sync's database. Its repository methods (those of Queries) run
// outside any transaction; Tx runs a group of them in one.
//
// The database has a single connection, as River's SQLite driver asks: a
// transaction holds it until it ends, so code inside a transaction must use
// the Tx, never the DB (it would wait for itself). A second connection
// only checkpoints the WAL, every 100 ms, off the first one's way, and
// restarts it once it is long (see restartFrames).
type DB struct {
	Queries
	db   *sql.DB
	conn *connector
	ckpt *checkpointer
	cm   *committer
}

// Open opens (creating it when missing) the database at path and migrates
// it to the latest version of the sync's tables. It sets WAL, synchronous
// writes as Options.FullSync says, foreign keys, a busy timeout and
// statement journals in memory, and takes write locks at BEGIN
// (IMMEDIATE), so two processes on one file never deadlock on a lock
// upgrade.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("state: open %q: a database path may not hold ? or #", path)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	if opts.FullSync {
		q.Add("_pragma", "synchronous(FULL)")
	} else {
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	q.Add("_pragma", "foreign_keys(ON)")
	// The checkpointer copies the WAL, off the connection the statements
	// share (see checkpointEvery).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	// Statement journals in memory: a multi-row write in a transaction
	// (the effects' intents of a contact, a page's inbox rows) journals the
	// pages it touches so that it can be undone alone, and past 64 KiB
	// SQLite spills that journal to a temporary file it opens, writes and
	// closes each time: 10% of a backfill's CPU went to those system calls.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	dsn := func(busy time.Duration) string {
		q := maps.Clone(q)
		q["_pragma"] = append(slices.Clone(q["_pragma"]), fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		return "file:" + path + "?" + q.Encode()
	}
	conn := &connector{dsn: dsn(opts.BusyTimeout), drv: &sqlite.Driver{}}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: %s: %w", path, err)
	}
	log := cmp.Or(opts.Logger, slog.Default())
	return &DB{Queries: Queries{q: db}, db: db, conn: conn, ckpt: startCheckpointer(&connector{dsn: dsn(checkpointBusy), drv: conn.drv}, log), cm: startCommitter(db, log)}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithTableName("sync_goose_version"))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SQL returns the database handle, for the work queue that shares it.
func (d *DB) SQL() *sql.DB { return d.db }

// Close stops the committer (once its group is done: a Tx that waits for
// the next fails with ErrClosed) and the checkpoints, and closes the
// database (the last connection to close checkpoints what is left of the
// WAL).
func (d *DB) Close() error {
	d.cm.close()
	if err := errors.Join(d.ckpt.close(), d.db.Close()); err != nil {
		return fmt.Errorf("state: close: %w", err)
	}
	return nil
}

// Tx is a transaction: the repository methods of Queries, committed or
// rolled back together.
type Tx struct {
	Queries
	tx *sql.Tx
}

// SQL returns the transaction, for the work queue's writes in it. Its
// statements must run on a context that cannot end
// (context.WithoutCancel): a statement interrupted by its context's end
// makes SQLite roll back the whole transaction, which may hold other
// callers' transactions (see DB.Tx).
func (t *Tx) SQL() *sql.Tx { return t.tx }

// Tx runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise (fn's error is returned as it is, at once). nil comes
// once the transaction committed.
//
// Transactions that arrive while one runs commit together, each in a
// savepoint of one SQLite transaction (at most 32): fn's error rolls back
// fn's writes only, and a failed commit fails each of them. fn runs in the
// caller's goroutine. It runs once it starts, its statements on ctx
// without its end (see Tx.SQL); a ctx that ends before fn starts is
// returned as the error, fn not run.
func (d *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	return d.cm.tx(ctx, fn)
}

// Commits is how many transactions Tx has committed (not the single
// statements of the DB's own methods, not the work queue's).
func (d *DB) Commits() uint64 { return d.cm.commits.Load() }

// Groups is how many SQLite transactions committed the transactions of
// Tx (at most Commits).
func (d *DB) Groups() uint64 { return d.cm.groups.Load() }

// Statements is how many SQL statements the database's connection has
// run: the sync's and the work queue's (not the WAL checkpoints', which run
// on a connection of their own, at their own pace).
func (d *DB) Statements() uint64 { return d.conn.statements.Load() }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries are the repository methods, on the database or in a transaction.
type Queries struct {
	q querier
}

// exec runs a statement; a unique violation is ErrConflict.
func (q Queries) exec(ctx context.Context, what, query string, args ...any) (sql.Result, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", what, classify(err))
	}
	return res, nil
}

// one checks that a statement changed a row; ErrNotFound when none.
func one(res sql.Result, what string) error {
	ok, err := changed(res, what)
	if err == nil && !ok {
		err = fmt.Errorf("state: %s: %w", what, ErrNotFound)
	}
	return err
}

// changed tells whether the statement of res changed a row.
func changed(res sql.Result, what string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state: %s: %w", what, err)
	}
	return n > 0, nil
}

// scanErr maps sql.ErrNoRows to ErrNotFound.
func scanErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("state: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("state: %s: %w", what, classify(err))
}

// classify wraps ErrConflict around a unique or primary key violation
// (Postgres: SQLSTATE 23505).
func classify(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
	}
	return err
}

// millis stores a time; the zero time is 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis reads a time stored by millis.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// nullMillis stores an optional time: NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: millis(t), Valid: !t.IsZero()}
}

func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// list runs a query and scans each row.
func list[T any](ctx context.Context, q Queries, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("state: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: %s: %w", what, err)
	}
	return out, nil
}

package state

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/contactbridge/contactbridge/internal/lockedbuf"
)

// TestCheckpointer_LogsAFailureStreakOnceAndReportsItAtClose: checkpoints
// that fail three ticks running log one warning when the first fails; one
// that succeeds logs the recovery; the next failure logs again, and Close
// returns it.
func TestCheckpointer_LogsAFailureStreakOnceAndReportsItAtClose(t *testing.T) {
	var logs lockedbuf.Buffer
	conn := sql.OpenDB(&connector{dsn: "file:" + filepath.Join(t.TempDir(), "unused.db"), drv: &sqlite.Driver{}})
	k := &checkpointer{conn: conn, log: slog.New(slog.NewTextHandler(&logs, nil)),
		stop: make(chan struct{}), done: make(chan struct{})}
	tick := make(chan time.Time)
	// results are the checkpoints' outcomes, one per tick; called tells
	// each call's end.
	failed := errors.New("disk I/O error")
	results := []error{failed, failed, failed, nil, failed}
	called := make(chan struct{})
	n := 0
	go k.run(tick, func() error {
		defer func() { called <- struct{}{} }()
		err := results[n]
		n++
		return err
	})
	step := func() {
		t.Helper()
		tick <- time.Time{}
		select {
		case <-called:
		case <-time.After(10 * time.Second):
			t.Fatal("checkpoint not called after a tick")
		}
	}
	for range 3 {
		step()
	}
	// The 4th tick is taken once the 3rd failure is handled: logged at
	// once, not at Close.
	step()
	if got := strings.Count(logs.String(), "WAL checkpoints failing"); got != 1 {
		t.Errorf("a streak of 3 failures logged %d warnings, want 1:\n%s", got, logs.String())
	}
	step()
	err := k.close()
	if !errors.Is(err, failed) {
		t.Errorf("close: %v, want the last checkpoint's failure %v", err, failed)
	}
	if got := strings.Count(logs.String(), "WAL checkpoints failing"); got != 2 {
		t.Errorf("two streaks logged %d warnings, want 2:\n%s", got, logs.String())
	}
	if got := strings.Count(logs.String(), "WAL checkpoints succeed again"); got != 1 {
		t.Errorf("the recovery logged %d times, want 1:\n%s", got, logs.String())
	}
}

// TestOpen_CheckpointerLogsToTheOptionsLogger: the checkpointer's failures
// go to the logger Open was given (the sync's, with its format and level),
// not to the process's default one.
func TestOpen_CheckpointerLogsToTheOptionsLogger(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "sync.db"), Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}()
	if db.ckpt.log != logger {
		t.Error("the checkpointer logs to another logger than Options.Logger")
	}
}

// TestCheckpointer_RestartsTheWAL: under a writer that never stops, the
// checkpoints restart the WAL, so its file stays near restartFrames' size:
// with PASSIVE checkpoints alone it grew by every frame written (past 1 GB
// in a backfill of 10,000 contacts; 66 MB here).
func TestCheckpointer_RestartsTheWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~24,000 pages")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	// 4,000 transactions of two pages and more each (a row's blob fills a
	// page; the rowids are new, so each transaction dirties new pages and
	// its table's interior ones): ~6 times restartFrames.
	blob := make([]byte, 3500)
	var most int64
	for i := range 4000 {
		err := db.Tx(ctx, func(tx *Tx) error {
			for range 2 {
				if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO pages (body) VALUES (?)`, blob); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if fi, err := os.Stat(path + "-wal"); err == nil {
				most = max(most, fi.Size())
			}
		}
	}
	// Written whole, the frames would take ~66 MB; restarted past
	// restartFrames (16 MiB), the file stays near that.
	t.Logf("the WAL's file at the most %d bytes", most)
	if most > 48<<20 {
		t.Errorf("the WAL's file reached %d bytes: it is not restarted", most)
	}

}

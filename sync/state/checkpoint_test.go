package state

import (
	"database/sql"
	"errors"
	"log/slog"
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

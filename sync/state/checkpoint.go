package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// checkpointEvery is how often a DB copies the WAL's pages into the
// database file (a PASSIVE checkpoint), on a connection of its own.
//
// SQLite checkpoints by itself in the commit that takes the WAL past 1,000
// pages, on the committing connection: with the single connection every
// statement shares, its writes and fsyncs stalled all of them (a profile of
// the backfill had the connection blocked in checkpoint fsyncs 13% of the
// time). Off that connection a checkpoint runs beside the writes; and a
// page written many times between two checkpoints is copied once.
const checkpointEvery = 100 * time.Millisecond

// checkpointer runs the PASSIVE checkpoints of a database on a connection
// of its own until stopped.
type checkpointer struct {
	conn     *sql.DB
	log      *slog.Logger
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// err is the last checkpoint's failure (nil once one succeeds), read
	// after done.
	err error
}

// startCheckpointer opens its connection with c and starts it, its
// failures logged to log.
func startCheckpointer(c *connector, log *slog.Logger) *checkpointer {
	conn := sql.OpenDB(c)
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	k := &checkpointer{conn: conn, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	tick := time.NewTicker(checkpointEvery)
	go func() {
		defer tick.Stop()
		k.run(tick.C, k.checkpoint)
	}()
	return k
}

// run calls checkpoint at each tick until stopped. The first failure of a
// streak is logged when it happens (the streak's next ones, every tick,
// are not), and the recovery that ends it.
func (k *checkpointer) run(tick <-chan time.Time, checkpoint func() error) {
	defer close(k.done)
	for {
		select {
		case <-k.stop:
			return
		case <-tick:
			err := checkpoint()
			switch {
			case err != nil && k.err == nil:
				k.log.Warn("state: WAL checkpoints failing", "err", err)
			case err == nil && k.err != nil:
				k.log.Info("state: WAL checkpoints succeed again")
			}
			k.err = err
		}
	}
}

// checkpoint copies what it can of the WAL; another process's checkpoint
// under way (SQLITE_BUSY) is not a failure.
func (k *checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	frames, err := k.run1(ctx, "PASSIVE")
	if err == nil && frames >= restartFrames {
		_, err = k.run1(ctx, "RESTART")
	}
	return err
}

// restartFrames is the WAL's length, in frames, past which a checkpoint
// makes the next write start the WAL again from its beginning (RESTART:
// it waits for the writer's transaction to end and holds the next one
// back while it copies the frames left). A PASSIVE checkpoint copies the
// frames but cannot restart the WAL, which the next writer does only when
// every frame is copied: under a steady load the writer is always ahead,
// and the WAL grew without end (past 1 GB in a backfill of 10,000
// contacts; TestCheckpointer_RestartsTheWAL), the file extended at each
// write. 4,096 frames are 16 MiB of 4 KiB pages; journal_size_limit cuts a
// longer file back to 64 MiB when the WAL restarts.
const restartFrames = 4096

// checkpointBusy is the checkpoints' busy timeout. A RESTART holds the
// writers back while it waits for the writer's transaction and the readers
// (another process's `sync status`, say) to end: it gives up after this
// long, to try again at a later tick, rather than keep the sync's writes
// waiting for the 5 s of theirs.
const checkpointBusy = 250 * time.Millisecond

// run1 runs one checkpoint of mode, returning the WAL's length in frames;
// another connection's lock held past the busy timeout (SQLITE_BUSY) is not
// a failure.
func (k *checkpointer) run1(ctx context.Context, mode string) (frames int, err error) {
	var busy, copied int
	err = k.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &copied)
	if se, ok := errors.AsType[*sqlite.Error](err); ok && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state: checkpoint (%s): %w", mode, err)
	}
	return frames, nil
}

// checkpointTimeout bounds one checkpoint.
const checkpointTimeout = 30 * time.Second

// close stops the checkpoints and closes their connection; it returns the
// last checkpoint's failure, if it failed. Closing again does nothing more.
func (k *checkpointer) close() error {
	k.stopOnce.Do(func() { close(k.stop) })
	<-k.done
	return errors.Join(k.err, k.conn.Close())
}

package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/contactbridge/contactbridge/internal/logkey"
)

// groupMembers bounds the transactions one SQLite transaction commits
// together.
const groupMembers = 32

// errPanicked is what a member's fn that panicked reports to the
// committer (the panic goes on in the member's goroutine).
var errPanicked = errors.New("state: the transaction's function panicked")

// committer commits the transactions of DB.Tx in groups: the ones that
// wait while a group runs make the next group, each in its own savepoint
// of one SQLite transaction, committed once. A commit costs SQLite its WAL
// frames and a lock round, the biggest cost of a backfill's transaction
// after its statements; a group pays it once.
//
// Each member's fn runs in its caller's goroutine, while the committer
// waits: its panics stay the caller's. No statement of a group runs on a
// context that can end, because modernc interrupts a statement whose
// context ends, and an interrupted write makes SQLite roll back the whole
// transaction: the later members' statements would run and commit one by
// one, outside the group. The BEGIN runs on the committer's context, the
// members' statements on theirs without its cancellation (see detached).
type committer struct {
	db  *sql.DB
	log *slog.Logger
	// queue takes the members (unbuffered: a member is the committer's
	// once received, its caller's until then).
	queue chan *member
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	// commits counts the members committed, groups the COMMITs.
	commits, groups atomic.Uint64
}

// member is one call of DB.Tx.
type member struct {
	ctx context.Context
	fn  func(*Tx) error
	// turn gives the member its transaction, or the error that kept the
	// group from beginning one.
	turn chan turn
	// ran takes fn's error, done the commit's.
	ran, done chan error
}

type turn struct {
	tx  *sql.Tx
	err error
}

func startCommitter(db *sql.DB, log *slog.Logger) *committer {
	c := &committer{db: db, log: log, queue: make(chan *member), stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// close stops the committer once its group is done; later Tx calls fail
// with ErrClosed.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		select {
		case m := <-c.queue:
			c.group(m, c.next)
		case <-c.stop:
			return
		}
	}
}

// tx runs fn as a member of a group (see DB.Tx).
func (c *committer) tx(ctx context.Context, fn func(*Tx) error) error {
	m := newMember(ctx, fn)
	select {
	case c.queue <- m:
	case <-ctx.Done():
		return fmt.Errorf("state: begin: %w", ctx.Err())
	case <-c.stop:
		return fmt.Errorf("state: begin: %w", ErrClosed)
	}
	return m.await()
}

func newMember(ctx context.Context, fn func(*Tx) error) *member {
	return &member{ctx: ctx, fn: fn, turn: make(chan turn), ran: make(chan error, 1), done: make(chan error, 1)}
}

// await runs fn when the committer gives m its turn, and waits for the
// commit when fn succeeded.
func (m *member) await() error {
	var t turn
	select {
	case t = <-m.turn:
	case <-m.ctx.Done():
		return fmt.Errorf("state: begin: %w", m.ctx.Err())
	}
	if t.err != nil {
		return t.err
	}
	if err := m.run(t.tx); err != nil {
		return err
	}
	return <-m.done
}

// run runs fn in tx and tells the committer how it ended.
func (m *member) run(tx *sql.Tx) (err error) {
	ended := false
	defer func() {
		if !ended {
			m.ran <- errPanicked
		}
	}()
	err = m.fn(&Tx{Queries: Queries{q: detached{tx}}, tx: tx})
	ended = true
	m.ran <- err
	return err
}

// start gives m its turn; false when m's context ended first (its caller
// has gone with the context's error).
func (m *member) start(t turn) bool {
	select {
	case m.turn <- t:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// next is a member waiting to join the group, nil when none waits or the
// group is full.
func (c *committer) next(n int) *member {
	if n >= groupMembers {
		return nil
	}
	select {
	case m := <-c.queue:
		return m
	default:
		return nil
	}
}

// group runs first and the members that join while it runs (next, given
// how many have) in one transaction. The first member to run in a
// transaction runs without a savepoint (its failure rolls the transaction
// back, there is nothing else in it yet): alone, as most are when the sync
// is idle, a member costs the statements it did before groups.
func (c *committer) group(first *member, next func(n int) *member) {
	var (
		tx  *sql.Tx
		ok  []*member
		err error
	)
	for m, n := first, 1; m != nil; m, n = next(n), n+1 {
		if tx == nil {
			// The committer's own context, which never ends: database/sql
			// rolls a transaction back when its BeginTx's context ends.
			if tx, err = c.db.BeginTx(context.Background(), nil); err != nil {
				m.start(turn{err: fmt.Errorf("state: begin: %w", err)})
				tx = nil
				continue
			}
		}
		if len(ok) > 0 {
			if _, err := tx.ExecContext(context.Background(), "SAVEPOINT member"); err != nil {
				err = fmt.Errorf("state: savepoint: %w", err)
				c.fail(tx, ok, err)
				m.start(turn{err: err})
				return
			}
		}
		if !m.start(turn{tx: tx}) {
			if len(ok) > 0 {
				if err := release(tx, false); err != nil {
					c.fail(tx, ok, err)
					return
				}
			}
			continue
		}
		failed := <-m.ran != nil
		switch {
		case len(ok) == 0 && failed:
			_ = tx.Rollback()
			tx = nil
		case len(ok) == 0:
			ok = append(ok, m)
		default:
			if err := release(tx, failed); err != nil {
				if !failed {
					ok = append(ok, m)
				}
				c.fail(tx, ok, err)
				return
			}
			if !failed {
				ok = append(ok, m)
			}
		}
	}
	switch {
	case tx == nil:
		return
	case len(ok) == 0: // the members' contexts ended before their turns
		_ = tx.Rollback()
		return
	}
	err = tx.Commit()
	if err != nil {
		// "cannot commit - no transaction is active" among them: the
		// transaction was lost, which no statement of a group may do.
		err = fmt.Errorf("state: commit: %w", err)
		c.log.Error("a group of transactions failed to commit", logkey.Count, len(ok), logkey.Err, err)
	} else {
		c.groups.Add(1)
		c.commits.Add(uint64(len(ok)))
	}
	for _, m := range ok {
		m.done <- err
	}
}

// release ends the savepoint of a member, rolled back to first when the
// member failed. An error says the transaction is lost (SQLite rolled it
// back: "no such savepoint").
func release(tx *sql.Tx, rollback bool) error {
	if rollback {
		if _, err := tx.ExecContext(context.Background(), "ROLLBACK TO member"); err != nil {
			return fmt.Errorf("state: roll back to a savepoint: %w", err)
		}
	}
	if _, err := tx.ExecContext(context.Background(), "RELEASE member"); err != nil {
		return fmt.Errorf("state: release a savepoint: %w", err)
	}
	return nil
}

// fail rolls the group's transaction back and fails its members that
// succeeded with err: their writes were not committed.
func (c *committer) fail(tx *sql.Tx, ok []*member, err error) {
	c.log.Error("a group of transactions lost its transaction; rolled back", logkey.Count, len(ok), logkey.Err, err)
	_ = tx.Rollback()
	for _, m := range ok {
		m.done <- err
	}
}

// detached runs the statements of a member on its context without the
// context's end (see committer).
type detached struct{ tx *sql.Tx }

func (d detached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.tx.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}

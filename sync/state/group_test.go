package state_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/contactbridge/contactbridge/sync/state"
)

// save is a member that saves the cursor of stream.
func save(stream string) func(*state.Tx) error {
	return func(tx *state.Tx) error {
		return tx.SaveCursor(context.Background(), state.Cursor{Stream: stream, Tenant: "loc", Value: stream, UpdatedAt: t0})
	}
}

// saved tells which of streams have a cursor.
func saved(t *testing.T, db *state.DB, streams ...string) []bool {
	t.Helper()
	out := make([]bool, len(streams))
	for i, s := range streams {
		_, err := db.Cursor(context.Background(), s)
		switch {
		case err == nil:
			out[i] = true
		case !errors.Is(err, state.ErrNotFound):
			t.Fatal(err)
		}
	}
	return out
}

func backgrounds(n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = context.Background()
	}
	return ctxs
}

// TestDB_GroupRollsBackOnlyTheMemberThatFailed: in one group, a member
// that fails after its writes loses them, and the members before and
// after it commit theirs, in one SQLite transaction.
func TestDB_GroupRollsBackOnlyTheMemberThatFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		failed int
	}{{"first", 0}, {"second", 1}, {"last", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := MustOpen(t)
			boom := errors.New("boom")
			streams := []string{"a", "b", "c"}
			fns := make([]func(*state.Tx) error, len(streams))
			for i, s := range streams {
				fns[i] = save(s)
				if i == tc.failed {
					fns[i] = func(tx *state.Tx) error {
						if err := save(s)(tx); err != nil {
							return err
						}
						return boom
					}
				}
			}
			commits, groups := db.Commits(), db.Groups()
			errs := db.Group(backgrounds(len(fns)), fns)
			for i, err := range errs {
				if i == tc.failed && err != boom || i != tc.failed && err != nil {
					t.Errorf("member %d: %v", i, err)
				}
			}
			want := []bool{true, true, true}
			want[tc.failed] = false
			if got := saved(t, db, streams...); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("saved %v, want %v", got, want)
			}
			if n, g := db.Commits()-commits, db.Groups()-groups; n != 2 || g != 1 {
				t.Errorf("%d commits in %d groups, want 2 in 1", n, g)
			}
		})
	}
}

// TestDB_GroupRunsAMemberWhoseContextEndsToItsEnd: a member whose context
// ends while it runs goes on (its statements are not interrupted, which
// would roll back the whole group's transaction), and commits with the
// others; a member whose context ended before its turn does not run.
func TestDB_GroupRunsAMemberWhoseContextEndsToItsEnd(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	ctxs := backgrounds(4)
	mid, cancelMid := context.WithCancel(context.Background())
	ctxs[1] = mid
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	ctxs[2] = gone
	ran := false
	fns := []func(*state.Tx) error{
		save("a"),
		func(tx *state.Tx) error {
			if err := tx.SaveCursor(mid, state.Cursor{Stream: "b", Tenant: "loc", Value: "1", UpdatedAt: t0}); err != nil {
				return err
			}
			cancelMid()
			return tx.SaveCursor(mid, state.Cursor{Stream: "b2", Tenant: "loc", Value: "2", UpdatedAt: t0})
		},
		func(tx *state.Tx) error {
			ran = true
			return save("c")(tx)
		},
		save("d"),
	}
	errs := db.Group(ctxs, fns)
	if errs[0] != nil || errs[1] != nil || errs[3] != nil || !errors.Is(errs[2], context.Canceled) {
		t.Errorf("errors %v, want nil, nil, context.Canceled, nil", errs)
	}
	if ran {
		t.Error("the member whose context ended before its turn ran")
	}
	if got := saved(t, db, "a", "b", "b2", "c", "d"); fmt.Sprint(got) != "[true true true false true]" {
		t.Errorf("saved %v, want a, b, b2 and d", got)
	}
	if n, g := db.Commits(), db.Groups(); n != 3 || g != 1 {
		t.Errorf("%d commits in %d groups, want 3 in 1", n, g)
	}
}

// TestDB_GroupFailsEveryMemberWhenItsCommitFails: a deferred foreign key
// that one member breaks fails the COMMIT, and with it every member:
// none of their writes is kept.
func TestDB_GroupFailsEveryMemberWhenItsCommitFails(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE test_parent (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE test_child (parent INTEGER REFERENCES test_parent (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	orphan := func(tx *state.Tx) error {
		_, err := tx.SQL().ExecContext(ctx, `INSERT INTO test_child (parent) VALUES (7)`)
		return err
	}
	errs := db.Group(backgrounds(3), []func(*state.Tx) error{save("a"), orphan, save("c")})
	for i, err := range errs {
		if err == nil {
			t.Errorf("member %d succeeded", i)
		}
	}
	if got := saved(t, db, "a", "c"); fmt.Sprint(got) != "[false false]" {
		t.Errorf("saved %v, want neither", got)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM test_child`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d orphans (%v), want none", n, err)
	}
	if c, g := db.Commits(), db.Groups(); c != 0 || g != 0 {
		t.Errorf("%d commits in %d groups, want none", c, g)
	}
}

// TestDB_TxFromManyGoroutines: transactions racing each other commit
// what succeeded and nothing of what failed, whatever their groups.
func TestDB_TxFromManyGoroutines(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	const n = 96
	boom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Tx(context.Background(), func(tx *state.Tx) error {
				if err := save(fmt.Sprint(i))(tx); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	streams := make([]string, n)
	for i := range streams {
		streams[i] = fmt.Sprint(i)
	}
	got := saved(t, db, streams...)
	for i, err := range errs {
		if fail := i%3 == 0; fail != (err == boom) || !fail && err != nil || got[i] == fail {
			t.Errorf("transaction %d: %v, saved %t", i, err, got[i])
		}
	}
	if c, g := db.Commits(), db.Groups(); c != n-n/3 || g == 0 || g > c {
		t.Errorf("%d commits in %d groups, want %d in 1 to %d", c, g, n-n/3, n-n/3)
	}
}

// TestDB_TxAfterClose fails with ErrClosed.
func TestDB_TxAfterClose(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(context.Background(), save("a")); !errors.Is(err, state.ErrClosed) {
		t.Errorf("Tx after Close: %v, want ErrClosed", err)
	}
}

// TestDB_GroupOfMembersThatAllLeftCommitsNothing: when every member's
// context ended before its turn, no member runs and no group is counted.
func TestDB_GroupOfMembersThatAllLeftCommitsNothing(t *testing.T) {
	t.Parallel()
	db := MustOpen(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	errs := db.Group([]context.Context{gone, gone}, []func(*state.Tx) error{save("a"), save("b")})
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("member %d: %v, want context.Canceled", i, err)
		}
	}
	if got := saved(t, db, "a", "b"); fmt.Sprint(got) != "[false false]" {
		t.Errorf("saved %v, want neither", got)
	}
	if c, g := db.Commits(), db.Groups(); c != 0 || g != 0 {
		t.Errorf("%d commits in %d groups, want none", c, g)
	}
}

package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// wait bounds every wait for the queue to do what it does at once; it is
// never reached when the code works.
// It is generous because a loaded machine (the race detector, parallel
// packages) runs the loop tests ten times slower than an idle one.
const wait = 2 * time.Minute

// effectArgs is a job that makes one effect.
type effectArgs struct {
	Key string `json:"key"`
}

func (effectArgs) Kind() string { return "test-effect" }
func (effectArgs) Unique() bool { return false }

// mustDB opens a new sync database.
func mustDB(tb testing.TB) (*state.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "sync.db")
	db, err := state.Open(context.Background(), path, state.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db, path
}

// mustRiver makes a queue on db; a started one is stopped at cleanup.
func mustRiver(tb testing.TB, db *state.DB, cfg engine.Config) *engine.River {
	tb.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	q, err := engine.NewRiver(context.Background(), db, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func startRiver(tb testing.TB, q *engine.River) {
	tb.Helper()
	if err := q.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stopRiver(tb, q) })
}

func stopRiver(tb testing.TB, q *engine.River) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
}

func enqueue(t *testing.T, db *state.DB, q engine.Queue, args engine.Args) engine.Enqueued {
	t.Helper()
	var got engine.Enqueued
	err := db.Tx(context.Background(), func(tx *state.Tx) error {
		var err error
		got, err = q.Enqueue(context.Background(), tx, args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func jobs(t *testing.T, q *engine.River, kind string) []engine.JobInfo {
	t.Helper()
	list, err := q.Jobs(context.Background(), []string{kind}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestRiver_EnqueueInRolledBackTxLeavesNothing(t *testing.T) {
	t.Parallel()
	db, _ := mustDB(t)
	q := mustRiver(t, db, engine.Config{})
	boom := errors.New("boom")
	err := db.Tx(context.Background(), func(tx *state.Tx) error {
		if _, err := q.Enqueue(context.Background(), tx, effectArgs{Key: "k"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("tx: %v", err)
	}
	if got := jobs(t, q, "test-effect"); len(got) != 0 {
		t.Errorf("jobs after rollback: %+v", got)
	}
	enqueue(t, db, q, effectArgs{Key: "k"})
	if got := jobs(t, q, "test-effect"); len(got) != 1 || string(got[0].Args) != `{"key":"k"}` || got[0].State != "available" {
		t.Errorf("jobs after commit: %+v", got)
	}
	if err := q.Start(context.Background()); !errors.Is(err, engine.ErrNoWorkers) {
		t.Errorf("start without workers: %v, want ErrNoWorkers", err)
	}
}

// holdingRiver is a queue on db with workers converge jobs that tell
// started of each job they start and return once release is closed (or
// their context ends).
func holdingRiver(t *testing.T, db *state.DB, workers int) (q *engine.River, started chan engine.Converge, release chan struct{}) {
	t.Helper()
	started, release = make(chan engine.Converge, 10), make(chan struct{})
	q = mustRiver(t, db, engine.Config{MaxWorkers: workers, Workers: []engine.Worker{{Kind: engine.KindConverge,
		Work: func(ctx context.Context, job *engine.Job) error {
			var c engine.Converge
			if err := job.Decode(&c); err != nil {
				return err
			}
			started <- c
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}}}})
	return q, started, release
}

func TestRiver_ConvergeCoalescesWhilePending(t *testing.T) {
	t.Parallel()
	db, _ := mustDB(t)
	// Two workers: both jobs run, and the one enqueued behind waits.
	q, started, release := holdingRiver(t, db, 2)
	a := engine.Converge{Side: "hl", EntityKind: "contact", Tenant: "loc", ID: "c1"}
	b := a
	b.ID = "c2"
	first := enqueue(t, db, q, a)
	if first.Duplicate {
		t.Fatalf("first enqueue is a duplicate: %+v", first)
	}
	for range 3 {
		if got := enqueue(t, db, q, a); !got.Duplicate || got.JobID != first.JobID {
			t.Errorf("equal converge while pending: %+v, want a duplicate of %d", got, first.JobID)
		}
	}
	if got := enqueue(t, db, q, b); got.Duplicate {
		t.Errorf("another entity's converge coalesced: %+v", got)
	}
	if n := len(jobs(t, q, engine.KindConverge)); n != 2 {
		t.Fatalf("%d converge jobs, want 2", n)
	}

	// Once the job for a runs, a change to a needs a job behind it, and
	// changes after that coalesce into that one.
	startRiver(t, q)
	running := map[string]bool{}
	for range 2 {
		select {
		case c := <-started:
			running[c.ID] = true
		case <-time.After(wait):
			t.Fatal("the jobs did not start")
		}
	}
	behind := enqueue(t, db, q, a)
	if behind.Duplicate || behind.JobID == first.JobID {
		t.Errorf("converge while the equal job runs: %+v, want a new job", behind)
	}
	if got := enqueue(t, db, q, a); !got.Duplicate || got.JobID != behind.JobID {
		t.Errorf("converge behind a running one: %+v, want a duplicate of %d", got, behind.JobID)
	}
	close(release)
	select {
	case c := <-started:
		if c != a {
			t.Errorf("the job behind is %+v, want %+v", c, a)
		}
	case <-time.After(wait):
		t.Fatal("the job behind the running one did not run")
	}
	stopRiver(t, q)
	for _, j := range jobs(t, q, engine.KindConverge) {
		if j.State != "completed" {
			t.Errorf("job %d is %s after stop", j.ID, j.State)
		}
	}
	if !running["c1"] || !running["c2"] {
		t.Errorf("ran %v", running)
	}
}

// TestRiver_EnqueueManyCoalescesAsEnqueueDoes: jobs enqueued together
// coalesce as Enqueue's do: equal ones among them are one job, one equal
// to a job that waits is that job, and one equal to a running job (a
// children job's with a '<' in its id, which the database keeps as it is
// and Go's JSON escapes) makes one job behind it, which the next equal one
// joins.
func TestRiver_EnqueueManyCoalescesAsEnqueueDoes(t *testing.T) {
	t.Parallel()
	db, _ := mustDB(t)
	q, started, release := holdingRiver(t, db, 3)
	many := func(args ...engine.Args) {
		t.Helper()
		if err := db.Tx(context.Background(), func(tx *state.Tx) error { return q.EnqueueMany(context.Background(), tx, args) }); err != nil {
			t.Fatal(err)
		}
	}
	count := func(want int) {
		t.Helper()
		if n := len(jobs(t, q, engine.KindConverge)); n != want {
			t.Fatalf("%d converge jobs, want %d", n, want)
		}
	}
	a := engine.Converge{Side: "hl", EntityKind: "contact", Tenant: "loc", ID: "c1"}
	b := engine.ConvergeChildren{Converge: engine.Converge{Side: "hl", EntityKind: engine.EntityChildren, Tenant: "loc", ID: "c<2>"},
		Children: []engine.Child{{Kind: "task", ID: "t1"}, {Kind: "note", ID: "n1"}}}
	c := a
	c.ID = "c3"
	many(a, b, a)
	count(2)
	many(a, c)
	count(3)
	startRiver(t, q)
	for range 3 {
		select {
		case <-started:
		case <-time.After(wait):
			t.Fatal("the jobs did not start")
		}
	}
	many(a, b)
	count(5)
	many(b, a)
	count(5)
	close(release)
	ran := map[string]int{}
	for range 2 {
		select {
		case c := <-started:
			ran[c.ID]++
		case <-time.After(wait):
			t.Fatal("the jobs behind the running ones did not run")
		}
	}
	if ran[a.ID] != 1 || ran[b.ID] != 1 {
		t.Errorf("the jobs behind ran %v, want one of %s and one of %s", ran, a.ID, b.ID)
	}
}

func TestRiver_CompletionCommitsWithTheWorkersWrites(t *testing.T) {
	t.Parallel()
	db, _ := mustDB(t)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE test_writes (key TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 5)
	rollback := errors.New("rolled back")
	q := mustRiver(t, db, engine.Config{Backoff: func(int) time.Duration { return 0 },
		Workers: []engine.Worker{{Kind: "test-effect", Work: func(ctx context.Context, job *engine.Job) error {
			var a effectArgs
			if err := job.Decode(&a); err != nil {
				return err
			}
			err := db.Tx(ctx, func(tx *state.Tx) error {
				if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO test_writes (key) VALUES (?)`, a.Key); err != nil {
					return err
				}
				if err := job.Complete(ctx, tx); err != nil {
					return err
				}
				if job.Attempt == 1 {
					return rollback // the write and the completion go together
				}
				return nil
			})
			done <- job.Attempt
			if err != nil {
				return err
			}
			// Committed: an error now does not undo the completion.
			return errors.New("failed after the commit")
		}}}})
	id := enqueue(t, db, q, effectArgs{Key: "k1"}).JobID
	startRiver(t, q)
	for want := 1; want <= 2; want++ {
		select {
		case got := <-done:
			if got != want {
				t.Fatalf("attempt %d, want %d", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("attempt %d did not come", want)
		}
	}
	stopRiver(t, q)
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM test_writes`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d writes (%v), want 1", n, err)
	}
	got := jobs(t, q, "test-effect")
	if len(got) != 1 || got[0].ID != id || got[0].State != "completed" || got[0].Attempt != 2 {
		t.Errorf("job: %+v, want completed at attempt 2", got)
	}
	select {
	case a := <-done:
		t.Errorf("attempt %d after the completion", a)
	default:
	}
}

func TestConfig_Refused(t *testing.T) {
	t.Parallel()
	db, _ := mustDB(t)
	work := func(context.Context, *engine.Job) error { return nil }
	for _, tc := range []struct {
		name string
		cfg  engine.Config
	}{
		{"infinite job timeout", engine.Config{JobTimeout: -1}},
		{"rescue before the timeout", engine.Config{JobTimeout: time.Minute, RescueAfter: time.Second}},
		{"rescue at the timeout", engine.Config{JobTimeout: time.Minute, RescueAfter: time.Minute}},
		{"worker twice", engine.Config{Workers: []engine.Worker{{Kind: "a", Work: work}, {Kind: "a", Work: work}}}},
		{"worker without func", engine.Config{Workers: []engine.Worker{{Kind: "a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := engine.NewRiver(context.Background(), db, tc.cfg, nil); !errors.Is(err, engine.ErrInvalidConfig) {
				t.Errorf("NewRiver: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestWaiting_TellsAKindWithAnUnfinishedJob: with test-effect jobs
// waiting (and JobCounts saying so) and a converge job completed, Waiting
// tells test-effect jobs waiting and no converge job; completed, none of
// either.
func TestWaiting_TellsAKindWithAnUnfinishedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustDB(t)
	q := mustRiver(t, db, engine.Config{})
	for i := range 3 {
		enqueue(t, db, q, effectArgs{Key: strconv.Itoa(i)})
	}
	enqueue(t, db, q, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: "t", ID: "c1"})
	complete := func(kind string) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, `UPDATE river_job SET state = 'completed', finalized_at = datetime('now') WHERE kind = ?`, kind); err != nil {
			t.Fatal(err)
		}
	}
	complete(engine.KindConverge)
	counts, err := engine.JobCounts(ctx, db)
	if err != nil || !slices.Contains(counts, engine.JobCount{Kind: "test-effect", State: "available", N: 3}) {
		t.Fatalf("JobCounts %+v, %v; want 3 test-effect jobs available", counts, err)
	}
	for kind, want := range map[string]bool{"test-effect": true, engine.KindConverge: false, "no-such-kind": false} {
		if got, err := engine.Waiting(ctx, db, kind); err != nil || got != want {
			t.Errorf("Waiting(%s): %v, %v; want %v", kind, got, err, want)
		}
	}
	complete("test-effect")
	if got, err := engine.Waiting(ctx, db, "test-effect"); err != nil || got {
		t.Errorf("Waiting(test-effect) once completed: %v, %v; want false", got, err)
	}
}

// TestRiver_EnqueueManyBehindRunningSlotsAsEnqueue: an entity whose jobs
// run in both unique slots gets one job more, without uniqueness, for
// each change, from EnqueueMany as from Enqueue (so that no change waits
// on a running job that read the entity before it); a job equal to the
// running one in the first slot takes the second slot, free.
func TestRiver_EnqueueManyBehindRunningSlotsAsEnqueue(t *testing.T) {
	t.Parallel()
	for _, viaMany := range []bool{false, true} {
		db, _ := mustDB(t)
		q, started, release := holdingRiver(t, db, 2)
		a := engine.Converge{Side: "hl", EntityKind: "contact", Tenant: "loc", ID: "c1"}
		add := func() {
			t.Helper()
			if !viaMany {
				enqueue(t, db, q, a)
				return
			}
			if err := db.Tx(context.Background(), func(tx *state.Tx) error { return q.EnqueueMany(context.Background(), tx, []engine.Args{a}) }); err != nil {
				t.Fatal(err)
			}
		}
		running := func() {
			t.Helper()
			select {
			case <-started:
			case <-time.After(wait):
				t.Fatal("the job did not start")
			}
		}
		count := func(want int) {
			t.Helper()
			if n := len(jobs(t, q, engine.KindConverge)); n != want {
				t.Fatalf("EnqueueMany %v: %d jobs, want %d", viaMany, n, want)
			}
		}
		add()
		startRiver(t, q)
		running()
		add() // the second slot, behind the first
		count(2)
		running()
		add() // both slots run: one more
		count(3)
		add() // and one more again: the one before is not unique
		count(4)
		close(release)
	}
}

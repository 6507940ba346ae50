package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// crashChildEnv, set to a database path, makes the test binary the child
// of TestRiver_SIGKILLMidJobIsRescued: it works the queue there until the
// parent kills it.
const crashChildEnv = "CONTACTBRIDGE_ENGINE_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild works test-effect jobs as the production worker would up to
// its call: it commits the intent (the effect inflight), says "working"
// on stdout and waits for the call that never ends. The parent kills it
// there. It returns only if its job ends first, which is a failure.
func crashChild(path string) error {
	ctx := context.Background()
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ended := make(chan error, 1)
	q, err := engine.NewRiver(ctx, db, engine.Config{PollInterval: 50 * time.Millisecond,
		Workers: []engine.Worker{{Kind: "test-effect", Work: func(ctx context.Context, job *engine.Job) error {
			var a effectArgs
			if err := job.Decode(&a); err != nil {
				return err
			}
			if err := db.StartEffect(ctx, a.Key, time.Now()); err != nil {
				return err
			}
			fmt.Printf("working %d %d\n", job.ID, job.Attempt)
			<-ctx.Done()
			ended <- ctx.Err()
			return ctx.Err()
		}}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := q.Start(ctx); err != nil {
		return err
	}
	err = <-ended
	return errors.Join(errors.New("the job ended before the kill"), err, q.Stop(ctx))
}

// TestRiver_SIGKILLMidJobIsRescued kills a process with SIGKILL while it
// works a job whose intent is committed, then restarts the queue on the
// same file: the job is rescued and completed, and the effect is written
// once. River rescues only after the dead leader's lease (about 15 s)
// and RescueAfter: the test takes about 20 s (make test-crash runs it).
func TestRiver_SIGKILLMidJobIsRescued(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s: River waits out the killed leader's lease (make test-crash)")
	}
	ctx := context.Background()
	db, path := mustDB(t)
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE test_writes (key TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const key = "test:welcome-note:c1"
	q := mustRiver(t, db, engine.Config{})
	var id int64
	err := db.Tx(ctx, func(tx *state.Tx) error {
		if _, err := tx.PlanEffect(ctx, state.Effect{Key: key, Flow: "test", Target: "m360", Tenant: "t", Lane: "c1",
			Op: "create-note", Request: []byte(`{}`)}, time.Now()); err != nil {
			return err
		}
		e, err := q.Enqueue(ctx, tx, effectArgs{Key: key})
		id = e.JobID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	killMidJob(t, path, id)

	db, err = state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if e, err := db.Effect(ctx, key); err != nil || e.State != state.EffectInflight || e.Attempts != 1 {
		t.Fatalf("effect after the kill: %+v %v, want inflight after 1 attempt", e, err)
	}
	done := make(chan int, 5)
	q = mustRiver(t, db, engine.Config{JobTimeout: time.Second, RescueAfter: 2 * time.Second,
		Backoff: func(int) time.Duration { return 0 },
		Workers: []engine.Worker{{Kind: "test-effect", Work: func(ctx context.Context, job *engine.Job) error {
			var a effectArgs
			if err := job.Decode(&a); err != nil {
				return err
			}
			err := db.Tx(ctx, func(tx *state.Tx) error {
				e, err := tx.Effect(ctx, a.Key)
				if err != nil {
					return err
				}
				now := time.Now()
				if e.State == state.EffectInflight {
					// Found inflight after a crash: the outcome is unknown;
					// the lookup by marker (here: test_writes) finds nothing.
					if err := tx.FailEffect(ctx, a.Key, state.Failure{Err: "found inflight", OutcomeUnknown: true}, now); err != nil {
						return err
					}
				}
				var n int
				if err := tx.SQL().QueryRowContext(ctx, `SELECT count(*) FROM test_writes WHERE key = ?`, a.Key).Scan(&n); err != nil {
					return err
				}
				if err := tx.StartEffect(ctx, a.Key, now); err != nil {
					return err
				}
				if n == 0 {
					if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO test_writes (key) VALUES (?)`, a.Key); err != nil {
						return err
					}
				}
				if err := tx.CompleteEffect(ctx, a.Key, "remote-1", 201, now); err != nil {
					return err
				}
				return job.Complete(ctx, tx)
			})
			done <- job.Attempt
			return err
		}}}})
	startRiver(t, q)
	select {
	case attempt := <-done:
		if attempt != 2 {
			t.Errorf("rescued on attempt %d, want 2", attempt)
		}
	case <-time.After(50 * time.Second):
		t.Fatal("the killed job was not rescued within 50 s")
	}
	stopRiver(t, q)
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM test_writes`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d writes (%v), want 1", n, err)
	}
	e, err := db.Effect(ctx, key)
	if err != nil || e.State != state.EffectDone || e.Attempts != 2 || !e.OutcomeUnknown || e.RemoteID != "remote-1" {
		t.Errorf("effect: %+v %v, want done after 2 attempts", e, err)
	}
	if got := jobs(t, q, "test-effect"); len(got) != 1 || got[0].State != "completed" || got[0].Attempt != 2 {
		t.Errorf("job: %+v, want completed at attempt 2", got)
	}
}

// killMidJob runs the test binary as a crash child on path, waits until
// it works job id, and kills it with SIGKILL.
func killMidJob(t *testing.T, path string, id int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	select {
	case line, ok := <-lines:
		if want := fmt.Sprintf("working %d 1", id); !ok || strings.TrimSpace(line) != want {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("child said %q (open %v), want %q", line, ok, want)
		}
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the child did not start the job")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range lines { // the reader ends with the child's stdout
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v, want killed", err)
	}
}

package engine

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/contactbridge/contactbridge/sync/state"
)

// uniqueSlots is how many equal unique jobs may exist at once: a new one
// coalesces with the first slot's job that waits to run, and takes a free
// slot when each taken one is running. When every slot is taken by a
// running job (a busy entity), the job is enqueued without uniqueness, so
// that no change is ever left unworked.
const uniqueSlots = 2

// uniqueStates are the states a unique job blocks an equal one in. River
// requires available, pending, running and scheduled; retryable is added
// (a job waiting for its retry still waits); completed is left out, so a
// change after a job ran makes a new one.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// fetchCooldown is the shortest time between two looks for jobs. River's
// default, 100 ms, let the backfill start at most MaxWorkers jobs per
// 100 ms: with 4 workers, the quota benchmark left 54% of HighLevel's
// windows unused.
const fetchCooldown = 10 * time.Millisecond

// River is the Queue on River, in the sync's database (riversqlite).
type River struct {
	client  *river.Client[*sql.Tx]
	log     *slog.Logger
	working bool // it has workers
}

var _ Queue = (*River)(nil)

// routine passes River's records on with its Info (migrations applied,
// the producer's periodic job counts) as Debug: the sync's own lines say
// what an operator needs at Info.
type routine struct{ slog.Handler }

func (r routine) Enabled(ctx context.Context, l slog.Level) bool {
	return r.Handler.Enabled(ctx, demote(l))
}

func (r routine) Handle(ctx context.Context, rec slog.Record) error {
	rec.Level = demote(rec.Level)
	return r.Handler.Handle(ctx, rec)
}

func (r routine) WithAttrs(attrs []slog.Attr) slog.Handler {
	return routine{r.Handler.WithAttrs(attrs)}
}
func (r routine) WithGroup(name string) slog.Handler { return routine{r.Handler.WithGroup(name)} }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

// NewRiver migrates River's tables in db (next to the sync's own) and
// makes a queue with cfg's workers. log nil means slog.Default().
func NewRiver(ctx context.Context, db *state.DB, cfg Config, log *slog.Logger) (*River, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(routine{log.Handler()}).With("component", "queue")
	driver := riversqlite.New(db.SQL())
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("engine: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("engine: river migrate: %w", err)
	}
	rc := &river.Config{
		ID:                   cfg.ID,
		Logger:               log,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, fetchCooldown),
		MaxAttempts:          cfg.MaxAttempts,
	}
	if cfg.Backoff != nil {
		rc.RetryPolicy = backoffPolicy(cfg.Backoff)
	}
	if len(cfg.Workers) > 0 {
		workers := river.NewWorkers()
		for _, w := range cfg.Workers {
			// AddWorkerArgs, not AddWorker: one args type serves every kind.
			if err := addWorker(workers, w); err != nil {
				return nil, fmt.Errorf("engine: worker %s: %w", w.Kind, err)
			}
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}}
	}
	for _, p := range cfg.Periodic {
		raw, err := json.Marshal(p.Args)
		if err != nil {
			return nil, fmt.Errorf("engine: periodic %s: %w", p.Args.Kind(), err)
		}
		args := jobArgs{kind: p.Args.Kind(), env: envelope{Args: raw}}
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(p.Every),
			func() (river.JobArgs, *river.InsertOpts) {
				return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
			}, &river.PeriodicJobOpts{RunOnStart: true}))
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("engine: river client: %w", err)
	}
	return &River{client: client, log: log, working: len(cfg.Workers) > 0}, nil
}

// addWorker registers w, turning River's panic on a bad registration into
// an error.
func addWorker(workers *river.Workers, w Worker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	river.AddWorkerArgs(workers, jobArgs{kind: w.Kind}, &riverWorker{work: w.Work})
	return nil
}

// backoffPolicy is a River retry policy from a Backoff function.
type backoffPolicy func(attempt int) time.Duration

func (b backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(b(job.Attempt))
}

// jobArgs are the River args of every kind: the engine's envelope around
// the caller's JSON.
type jobArgs struct {
	kind string
	env  envelope
}

// envelope is what River stores as a job's args. Slot tells equal unique
// jobs apart (see uniqueSlots); -1 for a job enqueued without uniqueness.
type envelope struct {
	Args json.RawMessage `json:"args"`
	Slot int             `json:"slot"`
}

func (a jobArgs) Kind() string                  { return a.kind }
func (a jobArgs) MarshalJSON() ([]byte, error)  { return json.Marshal(a.env) }
func (a *jobArgs) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &a.env) }

// riverWorker adapts a WorkFunc.
type riverWorker struct {
	river.WorkerDefaults[jobArgs]
	work WorkFunc
}

func (w *riverWorker) Work(ctx context.Context, rj *river.Job[jobArgs]) error {
	j := &Job{ID: rj.ID, Kind: rj.Kind, Attempt: rj.Attempt, Args: rj.Args.env.Args, CreatedAt: rj.CreatedAt,
		complete: func(ctx context.Context, tx *state.Tx) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](context.WithoutCancel(ctx), tx.SQL(), rj)
			return err
		}}
	err := w.work(ctx, j)
	if snooze, ok := errors.AsType[*SnoozeError](err); ok {
		return river.JobSnooze(max(snooze.For, 0))
	}
	return err
}

// Enqueue adds a job in tx; see Queue.
func (r *River) Enqueue(ctx context.Context, tx *state.Tx, args Args) (Enqueued, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return Enqueued{}, fmt.Errorf("engine: enqueue %s: %w", args.Kind(), err)
	}
	if !args.Unique() {
		res, err := r.insert(ctx, tx, args, raw, -1)
		if err != nil {
			return Enqueued{}, err
		}
		return Enqueued{JobID: res.Job.ID}, nil
	}
	return r.enqueueUnique(ctx, tx, args, raw, 0)
}

// insert inserts args (raw, their JSON) in slot: -1 without uniqueness.
func (r *River) insert(ctx context.Context, tx *state.Tx, args Args, raw json.RawMessage, slot int) (*rivertype.JobInsertResult, error) {
	p := insertParams(args, raw, slot)
	res, err := r.client.InsertTx(context.WithoutCancel(ctx), tx.SQL(), p.Args, p.InsertOpts)
	if err != nil {
		return nil, fmt.Errorf("engine: enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// enqueueUnique inserts unique args (raw, their JSON) in the slots from
// from on: it coalesces with the first one's job that waits, or takes the
// first free one; when each is taken by a running job, it is enqueued
// without uniqueness (see uniqueSlots).
func (r *River) enqueueUnique(ctx context.Context, tx *state.Tx, args Args, raw json.RawMessage, from int) (Enqueued, error) {
	for slot := from; slot < uniqueSlots; slot++ {
		res, err := r.insert(ctx, tx, args, raw, slot)
		if err != nil {
			return Enqueued{}, err
		}
		if !res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateRunning {
			return Enqueued{JobID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
		}
	}
	r.log.InfoContext(ctx, "every unique slot of a job is running; enqueued one more", "kind", args.Kind(), "args", string(raw))
	res, err := r.insert(ctx, tx, args, raw, -1)
	if err != nil {
		return Enqueued{}, err
	}
	return Enqueued{JobID: res.Job.ID}, nil
}

// insertParams are River's insert of args (raw, their JSON) in slot: -1
// without uniqueness.
func insertParams(args Args, raw json.RawMessage, slot int) river.InsertManyParams {
	p := river.InsertManyParams{Args: jobArgs{kind: args.Kind(), env: envelope{Args: raw, Slot: slot}}}
	if slot >= 0 {
		p.InsertOpts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
	}
	return p
}

// EnqueueMany adds jobs in tx as Enqueue adds each, in one insert (a
// backfill's page of jobs): a unique job coalesces with an equal one that
// waits (equal ones among jobs are one); one whose equal is running in
// the first slot goes on to the next slots as Enqueue does, behind it.
func (r *River) EnqueueMany(ctx context.Context, tx *state.Tx, jobs []Args) error {
	params := make([]river.InsertManyParams, 0, len(jobs))
	unique := map[string]int{} // unique jobs, by kind and JSON: their index in jobs
	raws := make([]json.RawMessage, len(jobs))
	for i, args := range jobs {
		raw, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("engine: enqueue %s: %w", args.Kind(), err)
		}
		raws[i] = raw
		slot := -1
		if args.Unique() {
			key := args.Kind() + "\x00" + string(raw)
			if _, ok := unique[key]; ok {
				continue
			}
			unique[key], slot = i, 0
		}
		params = append(params, insertParams(args, raw, slot))
	}
	if len(params) == 0 {
		return nil
	}
	res, err := r.client.InsertManyTx(context.WithoutCancel(ctx), tx.SQL(), params)
	if err != nil {
		return fmt.Errorf("engine: enqueue %d jobs: %w", len(params), err)
	}
	var stored map[string]int // unique jobs by kind and canonical JSON, made at the first running one
	for _, j := range res {
		if !j.UniqueSkippedAsDuplicate || j.Job.State != rivertype.JobStateRunning {
			continue
		}
		if stored == nil {
			stored = make(map[string]int, len(unique))
			for _, i := range unique {
				key, err := canonical(jobs[i].Kind(), raws[i])
				if err != nil {
					return fmt.Errorf("engine: enqueue %s: %w", jobs[i].Kind(), err)
				}
				stored[key] = i
			}
		}
		var env envelope
		if err := json.Unmarshal(j.Job.EncodedArgs, &env); err != nil {
			return fmt.Errorf("engine: job %d args: %w", j.Job.ID, err)
		}
		key, err := canonical(j.Job.Kind, env.Args)
		if err != nil {
			return fmt.Errorf("engine: job %d args: %w", j.Job.ID, err)
		}
		i, ok := stored[key]
		if !ok {
			return fmt.Errorf("engine: enqueue: job %d (%s) is none of those enqueued", j.Job.ID, j.Job.Kind)
		}
		if _, err := r.enqueueUnique(ctx, tx, jobs[i], raws[i], 1); err != nil {
			return err
		}
	}
	return nil
}

// canonical is kind and raw, a job's args' JSON, in one form for equal
// values: the database keeps its own text of the args, and Go's JSON
// escapes what it does not ('<', for one).
func canonical(kind string, raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return kind + "\x00" + string(out), nil
}

// Start starts working jobs; ErrNoWorkers for a queue that only enqueues.
func (r *River) Start(ctx context.Context) error {
	if !r.working {
		return ErrNoWorkers
	}
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("engine: start: %w", err)
	}
	return nil
}

// Stop waits for the running jobs to finish, until ctx ends; then it
// cancels them and waits for their workers to return (a worker that
// ignores its context is waited for up to 5 s).
func (r *River) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("engine: stop: %w", err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
	defer cancel()
	if err := r.client.StopAndCancel(cctx); err != nil {
		return fmt.Errorf("engine: stop and cancel: %w", err)
	}
	return nil
}

// cancelWait bounds how long Stop waits for cancelled workers.
const cancelWait = 5 * time.Second

// Jobs returns up to limit jobs (at most 10,000) of the given kinds and
// states (none: all), the oldest first: the queue's depth for status.
func (r *River) Jobs(ctx context.Context, kinds, states []string, limit int) ([]JobInfo, error) {
	p := river.NewJobListParams().First(min(max(limit, 1), 10000))
	if len(kinds) > 0 {
		p = p.Kinds(kinds...)
	}
	if len(states) > 0 {
		var sts []rivertype.JobState
		for _, s := range states {
			sts = append(sts, rivertype.JobState(s))
		}
		p = p.States(sts...)
	} else {
		p = p.States(rivertype.JobStates()...)
	}
	res, err := r.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("engine: list jobs: %w", err)
	}
	out := make([]JobInfo, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		var env envelope
		if err := json.Unmarshal(j.EncodedArgs, &env); err != nil {
			return nil, fmt.Errorf("engine: job %d args: %w", j.ID, err)
		}
		out = append(out, JobInfo{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, Args: env.Args,
			CreatedAt: j.CreatedAt})
	}
	slices.SortFunc(out, func(a, b JobInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

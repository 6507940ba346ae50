package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// fakeQueue records the jobs enqueued, in commit order; a rolled back
// transaction's are dropped by the caller's test (none here roll back).
type fakeQueue struct {
	EnqueueFunc func(args engine.Args) error
	jobs        []engine.Args
}

var _ engine.Enqueuer = (*fakeQueue)(nil)

func (q *fakeQueue) Enqueue(_ context.Context, _ *state.Tx, args engine.Args) (engine.Enqueued, error) {
	if q.EnqueueFunc != nil {
		if err := q.EnqueueFunc(args); err != nil {
			return engine.Enqueued{}, err
		}
	}
	q.jobs = append(q.jobs, args)
	return engine.Enqueued{JobID: int64(len(q.jobs))}, nil
}

// EnqueueMany is Enqueue of each of jobs.
func (q *fakeQueue) EnqueueMany(ctx context.Context, tx *state.Tx, jobs []engine.Args) error {
	for _, args := range jobs {
		if _, err := q.Enqueue(ctx, tx, args); err != nil {
			return err
		}
	}
	return nil
}

// ids are the entity ids of the Converge jobs enqueued, sorted.
func (q *fakeQueue) ids() []string { return q.list(func(c engine.Converge) string { return c.ID }) }

// list is what show says of each Converge job enqueued, sorted; a
// children job is each of its children as its own job would be.
func (q *fakeQueue) list(show func(engine.Converge) string) []string {
	var out []string
	for _, a := range q.jobs {
		switch c := a.(type) {
		case engine.Converge:
			out = append(out, show(c))
		case engine.ConvergeChildren:
			for _, k := range c.Children {
				out = append(out, show(engine.Converge{Side: c.Side, EntityKind: k.Kind, Tenant: c.Tenant, ID: k.ID, Parent: c.ID}))
			}
		}
	}
	slices.Sort(out)
	return out
}

// poller makes a poller of streams on the harness's database and clock.
func (h *harness) poller(t *testing.T, q engine.Enqueuer, streams ...engine.Stream) *engine.Poller {
	t.Helper()
	p, err := engine.NewPoller(engine.PollerConfig{DB: h.db, Queue: q, Streams: streams, Now: h.tw.Clock().Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPoll(t *testing.T, p *engine.Poller, stream string) engine.PollStats {
	t.Helper()
	stats, err := p.Poll(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// TestPoller_HighLevelChangesAreEnqueuedOnce: a poll enqueues a job per
// contact, which converges its children too; the next one re-reads its
// overlap and enqueues nothing; an update enqueues that contact again, and
// so does a contact a job without its children (a webhook's) converged at
// its version: its children were not.
func TestPoller_HighLevelChangesAreEnqueuedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	q := &fakeQueue{}
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
	p := h.poller(t, q, s)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 || !st.End {
		t.Fatalf("first poll of no contacts: %+v", st)
	}
	a, b := h.createContact(t, 1), h.createContact(t, 2)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 2 || !slices.Equal(q.ids(), sorted(a, b)) {
		t.Fatalf("poll after two creates: %+v, jobs %v; want %s and %s", st, q.ids(), a, b)
	}
	q.jobs = nil
	if st := mustPoll(t, p, s.Name); st.Enqueued != 0 || st.Seen < 2 {
		t.Fatalf("poll with nothing new: %+v; want the overlap re-read and nothing enqueued", st)
	}

	h.tw.AdvanceClock(time.Second)
	first := "Augusta"
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), a,
		&highlevelapi.UpdateContactParams{Version: highlevelapi.UpdateContactParamsVersionN20210728},
		highlevelapi.UpdateContactDto{FirstName: &first})); err != nil {
		t.Fatal(err)
	}
	// d converged at its version by its webhook's job, without its
	// children.
	d := h.createContact(t, 4)
	c := h.converger(t, nil, nil, 0)
	done := 0
	if err := converge(t, c, h.tw.Location(), d, &done); err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(time.Second)
	if st := mustPoll(t, p, s.Name); st.Enqueued != 2 || !slices.Equal(q.ids(), sorted(a, d)) {
		t.Fatalf("poll after an update: %+v, jobs %v; want %s and %s", st, q.ids(), a, d)
	}
	for _, j := range q.jobs {
		if c := j.(engine.Converge); !c.WithChildren || c.EntityKind != engine.EntityContact {
			t.Errorf("job %+v, want a contact's with its children", c)
		}
	}
	cur, err := h.db.Cursor(context.Background(), s.Name)
	if err != nil || cur.Tenant != h.tw.Location() {
		t.Fatalf("cursor %+v, %v", cur, err)
	}
}

// TestPoller_FromSkipsTheRecordsOfBefore: with From set, a stream without
// a cursor enqueues only what changed from then on (less the overlap), on
// both sides; a backfill still walks everything.
func TestPoller_FromSkipsTheRecordsOfBefore(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	old := h.createContact(t, 1)
	first := "Olga"
	if _, err := m360api.OK(h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &first})); err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(10 * time.Minute)
	acct, err := m360api.OK(h.m360.M360GetAccountWithResponse(ctx))
	if err != nil {
		t.Fatal(err)
	}
	hl := engine.HighLevelContacts(h.hl, h.tw.Location())
	m360 := engine.M360Streams(h.m360, strconv.FormatInt(acct.JSON200.Result.Id, 10))[0]
	q := &fakeQueue{}
	p, err := engine.NewPoller(engine.PollerConfig{DB: h.db, Queue: q, Streams: []engine.Stream{hl, m360}, Now: h.tw.Clock().Now,
		From: h.tw.Clock().Now(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.tw.AdvanceClock(time.Second)
	fresh := h.createContact(t, 2)
	second := "Nina"
	made, err := m360api.OK(h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &second}))
	if err != nil {
		t.Fatal(err)
	}
	if st := mustPoll(t, p, hl.Name); st.Enqueued != 1 || !slices.Equal(q.ids(), []string{fresh}) {
		t.Fatalf("HighLevel poll from now: %+v, jobs %v; want %s alone, not %s", st, q.ids(), fresh, old)
	}
	q.jobs = nil
	if st := mustPoll(t, p, m360.Name); st.Enqueued != 1 || !slices.Equal(q.ids(), []string{strconv.FormatInt(made.JSON201.Result.Id, 10)}) {
		t.Fatalf("Marketing 360 poll from now: %+v, jobs %v; want the new contact alone", st, q.ids())
	}
	q.jobs = nil
	if _, err := p.Backfill(ctx, engine.BackfillConfig{Clock: stopClock{h.tw.Clock()}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(q.ids(), old) {
		t.Errorf("backfill jobs %v; want %s among them", q.ids(), old)
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestPoller_M360Streams: each Marketing 360 stream enqueues its records'
// jobs, on the Marketing 360 side, once per version.
func TestPoller_M360Streams(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	first, email := "Mary", "mary.poll@example.com"
	ct, err := m360api.OK(h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &first, Email: &email}))
	if err != nil {
		t.Fatal(err)
	}
	id := ct.JSON201.Result.Id
	tk, err := m360api.OK(h.m360.M360CreateTaskWithResponse(ctx, id, m360api.TaskCreate{Title: "Call Mary"}))
	if err != nil {
		t.Fatal(err)
	}
	nt, err := m360api.OK(h.m360.M360CreateNoteWithResponse(ctx, id, m360api.NoteCreate{Body: "Met Mary"}))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := m360api.OK(h.m360.M360GetAccountWithResponse(ctx))
	if err != nil {
		t.Fatal(err)
	}
	account := strconv.FormatInt(acct.JSON200.Result.Id, 10)
	streams := engine.M360Streams(h.m360, account)
	q := &fakeQueue{}
	p := h.poller(t, q, streams...)
	want := map[string]string{engine.EntityContact: strconv.FormatInt(id, 10), engine.EntityTask: strconv.FormatInt(tk.JSON201.Result.Id, 10),
		engine.EntityNote: strconv.FormatInt(nt.JSON201.Result.Id, 10)}
	for _, s := range streams {
		q.jobs = nil
		mustPoll(t, p, s.Name)
		if w, ok := want[s.EntityKind]; ok && !slices.Contains(q.ids(), w) {
			t.Errorf("%s: jobs %v; want one for %s", s.Name, q.ids(), w)
		}
		for _, a := range q.jobs {
			c := a.(engine.Converge)
			if c.Side != engine.SideM360 || c.EntityKind != s.EntityKind || c.Tenant != account {
				t.Errorf("%s: job %s", s.Name, c)
			}
			// A task's or note's job names its contact, without which the
			// converger cannot read it.
			if wantParent := s.EntityKind != engine.EntityContact; wantParent != (c.Parent != "") ||
				(c.ID == want[s.EntityKind] && wantParent && c.Parent != strconv.FormatInt(id, 10)) {
				t.Errorf("%s: job %s has parent %q", s.Name, c, c.Parent)
			}
		}
		q.jobs = nil
		if st := mustPoll(t, p, s.Name); st.Enqueued != 0 {
			t.Errorf("%s again: %+v; want nothing new", s.Name, st)
		}
	}
}

// TestPoller_TenantsAreIsolated: on the queue, the reconcile job of a
// location whose token is refused fails and waits for its retry, while the
// other location's is done and its contacts are enqueued.
func TestPoller_TenantsAreIsolated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bad, err := highlevelapi.New(h.tw.HighLevelURL(), transport.New(transport.Config{
		Auth: &transport.Bearer{Token: "pit-revoked", Location: "loc-gone"}, Clock: h.tw.Clock(), Base: h.tw.Base()}).Client())
	if err != nil {
		t.Fatal(err)
	}
	h.createContact(t, 1)
	var converged []string
	conv := engine.Worker{Kind: engine.KindConverge, Work: func(ctx context.Context, job *engine.Job) error {
		var a engine.Converge
		if err := job.Decode(&a); err != nil {
			return err
		}
		return h.db.Tx(ctx, func(tx *state.Tx) error {
			converged = append(converged, a.ID)
			return job.Complete(ctx, tx)
		})
	}}
	// The poller enqueues through a queue of its own on the database (one
	// that only enqueues), so that it can be made before the working one.
	good := engine.HighLevelContacts(h.hl, h.tw.Location())
	gone := engine.HighLevelContacts(bad, "loc-gone")
	p := h.poller(t, mustRiver(t, h.db, engine.Config{}), gone, good)
	q := mustRiver(t, h.db, engine.Config{Workers: []engine.Worker{conv, p.Worker()}, MaxWorkers: 1,
		Backoff: func(int) time.Duration { return time.Hour }})
	for _, s := range p.Streams() {
		enqueue(t, h.db, q, engine.Reconcile{Stream: s})
	}
	startRiver(t, q)
	twintest.WaitFor(t, wait, func() bool {
		js := jobs(t, q, engine.KindReconcile)
		return len(js) == 2 && js[0].State == "retryable" && js[1].State == "completed" && len(jobs(t, q, engine.KindConverge)) > 0 &&
			allCompleted(jobs(t, q, engine.KindConverge))
	})
	runs, err := h.db.Runs(context.Background(), engine.RunReconcile, 10)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	for _, r := range runs {
		if failed := r.Tenant == "loc-gone"; failed != (r.Error != "") {
			t.Errorf("run of %s: error %q", r.Tenant, r.Error)
		}
	}
}

func allCompleted(js []engine.JobInfo) bool {
	for _, j := range js {
		if j.State != "completed" {
			return false
		}
	}
	return true
}

// TestPoller_GoesOnFromTheChildrenPollOfBefore: a database whose poll
// cursors a version of before wrote (the contacts polled apart from their
// children, hl:<location>:children): the first poll goes on from the
// earlier of the two cursors, the children's when it lagged (so the
// contacts changed since it get their jobs, with their children), the
// contacts' when that one did (so the contacts changed between the two
// get theirs); the next goes on from its own.
func TestPoller_GoesOnFromTheChildrenPollOfBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// contacts and children are the cursors at the lagging one (0),
		// between the two contacts changed after it (1) or at the end (2).
		contacts, children int
	}{{"the children's cursor lagging", 2, 0}, {"the contacts' cursor lagging", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := context.Background()
			h.createContact(t, 0)
			h.tw.AdvanceClock(time.Hour)
			at := []int64{h.tw.Clock().Now().UnixMilli()}
			b := h.createContact(t, 1)
			h.tw.AdvanceClock(30 * time.Minute)
			at = append(at, h.tw.Clock().Now().UnixMilli())
			c := h.createContact(t, 2)
			h.tw.AdvanceClock(30 * time.Minute)
			at = append(at, h.tw.Clock().Now().UnixMilli())
			s := engine.HighLevelContacts(h.hl, h.tw.Location())
			cursors := map[string]int64{s.Name: at[tc.contacts], "hl:" + h.tw.Location() + ":children": at[tc.children]}
			if err := h.db.Tx(ctx, func(tx *state.Tx) error {
				for name, ms := range cursors {
					if err := tx.SaveCursor(ctx, state.Cursor{Stream: name, Tenant: h.tw.Location(), Value: fmt.Sprintf(`{"after":[%d,""]}`, ms),
						UpdatedAt: h.tw.Clock().Now()}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			q := &fakeQueue{}
			p := h.poller(t, q, s)
			if st := mustPoll(t, p, s.Name); !slices.Equal(q.ids(), sorted(b, c)) {
				t.Fatalf("first poll: %+v, jobs %v; want %s's and %s's (changed after the earlier cursor)", st, q.ids(), b, c)
			}
			q.jobs = nil
			if st := mustPoll(t, p, s.Name); st.Enqueued != 0 || st.Seen != 1 {
				t.Fatalf("second poll: %+v, jobs %v; want the last contact read again (its own cursor's overlap), nothing enqueued", st, q.ids())
			}
		})
	}
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// harness is both twins (in process, frozen clock), a sync database and
// the clients of both APIs, strict against the specs.
type harness struct {
	tw   *twintest.Twin
	db   *state.DB
	path string
	hl   *highlevelapi.ClientWithResponses
	m360 *m360api.ClientWithResponses
	// hlHTTP and m360HTTP are the clients' transports, for rules' raw
	// requests.
	hlHTTP, m360HTTP engine.Requester
	// flows are the converger's (DefaultFlows); rules its user rules
	// (none when nil), their requests sent through hlHTTP and m360HTTP.
	flows engine.Flows
	rules engine.Rules
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	tw := twintest.New(t, twintest.Options{})
	db, path := mustDB(t)
	hlStack := transport.New(transport.Config{Auth: &transport.Bearer{Token: tw.PIT(), Location: tw.Location()},
		Specs: []*openapi.Spec{tw.HighLevelSpec()}, Strict: true, Clock: tw.Clock(), Base: tw.Base()})
	hl, err := highlevelapi.New(tw.HighLevelURL(), hlStack.Client())
	if err != nil {
		t.Fatal(err)
	}
	id, secret := tw.M360Key()
	mStack := transport.New(transport.Config{Auth: &transport.Basic{ClientID: id, ClientSecret: secret},
		Specs: []*openapi.Spec{tw.M360Spec()}, Strict: true, Clock: tw.Clock(), Base: tw.Base()})
	m, err := m360api.New(tw.M360URL(), mStack.Client())
	if err != nil {
		t.Fatal(err)
	}
	return &harness{tw: tw, db: db, path: path, hl: hl, m360: m, flows: engine.DefaultFlows(),
		hlHTTP:   engine.Requester{BaseURL: tw.HighLevelURL(), Client: hlStack.Client()},
		m360HTTP: engine.Requester{BaseURL: tw.M360URL(), Client: mStack.Client()}}
}

// converger makes a converger on db (the harness's when nil) with hook,
// on the twins' clock moved by skew, with the harness's flows and rules.
func (h *harness) converger(t *testing.T, db *state.DB, hook engine.Hook, skew time.Duration) *engine.Converger {
	t.Helper()
	if db == nil {
		db = h.db
	}
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: db, HighLevel: engine.HighLevelClient(h.hl),
		M360: engine.M360Client(h.m360), Location: h.tw.Location(), Flows: h.flows, Rules: h.rules,
		HighLevelHTTP: h.hlHTTP, M360HTTP: h.m360HTTP,
		Hook: hook, Now: func() time.Time { return h.tw.Clock().Now().Add(skew) }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createContact creates HighLevel contact Ada Lovelace number n and
// returns its id.
func (h *harness) createContact(t *testing.T, n int, tags ...string) string {
	t.Helper()
	first, last, city := "Ada", "Lovelace", "London"
	email, phone := fmt.Sprintf("ada%d@example.com", n), fmt.Sprintf("+1415555%04d", n)
	dto := highlevelapi.CreateContactDto{LocationId: h.tw.Location(), FirstName: &first, LastName: &last, Email: &email,
		Phone: &phone, City: &city}
	if len(tags) > 0 {
		dto.Tags = &tags
	}
	res, err := highlevelapi.OK(h.hl.CreateContactWithResponse(context.Background(),
		&highlevelapi.CreateContactParams{Version: highlevelapi.CreateContactParamsVersionN20210728},
		dto))
	if err != nil {
		t.Fatal(err)
	}
	return res.JSON201.Contact.Id
}

// converge works the contact's job once with c; the job's completion is
// counted in done.
func converge(t *testing.T, c *engine.Converger, tenant, id string, done *int) error {
	t.Helper()
	return c.Converge(context.Background(), engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact,
		Tenant: tenant, ID: id}, func(context.Context, *state.Tx) error { *done++; return nil })
}

// wantFlows checks that hlID's counterpart is exactly one contact with the
// follow-up task, the onboarding tasks and the welcome note of Ada.
func wantFlows(t *testing.T, got twintest.Counterpart) {
	t.Helper()
	want := []string{"Book the onboarding call with Ada Lovelace", "Follow up: Ada Lovelace", "Send the welcome pack to Ada Lovelace"}
	if got.Contacts != 1 || !slices.Equal(got.Tasks, want) || !slices.Equal(got.Notes, []string{"Welcome, Ada Lovelace!"}) {
		t.Errorf("Marketing 360 holds %d contacts, tasks %q, notes %q; want 1, %q, one welcome note", got.Contacts, got.Tasks, got.Notes, want)
	}
}

// TestConverger_HighLevelContactMakesItsCounterpartOnce: flows 1 and 2 make
// the Marketing 360 contact with the mapped fields, the follow-up task,
// the onboarding tasks and the welcome note; converging again (a
// duplicate or replayed event) writes nothing; a change updates the
// contact only.
func TestConverger_HighLevelContactMakesItsCounterpartOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.converger(t, nil, nil, 0)
	id := h.createContact(t, 0, "vip")
	done := 0
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
		t.Fatal(err)
	}
	got := h.tw.Counterpart(id)
	wantFlows(t, got)
	if got.Email != "ada0@example.com" || !slices.Equal(got.Tags, []string{"vip"}) || got.Fields["address"] != "London" || got.Fields["dnd"] != "false" {
		t.Errorf("mapped fields: email %q tags %q custom fields %v", got.Email, got.Tags, got.Fields)
	}
	m, err := h.db.MappingByHighLevel(context.Background(), engine.EntityContact, h.tw.Location(), id)
	if err != nil || m.M360ID != strconv.FormatInt(got.ID, 10) || m.M360Hash == "" {
		t.Errorf("mapping %+v, %v; want one to %d with a hash", m, err, got.ID)
	}

	creates := h.tw.Count("") // every request so far
	for range 3 {
		if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
			t.Fatal(err)
		}
	}
	// Each converge re-reads the HighLevel contact, and nothing else.
	if n := h.tw.Count("") - creates; n != 3 {
		t.Errorf("three converges of an unchanged contact made %d requests; want 3 (the reads)", n)
	}
	if done != 4 {
		t.Errorf("%d jobs completed; want 4", done)
	}

	tags := []string{"vip", "customer"}
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id,
		&highlevelapi.UpdateContactParams{Version: highlevelapi.UpdateContactParamsVersionN20210728},
		highlevelapi.UpdateContactDto{Tags: &tags})); err != nil {
		t.Fatal(err)
	}
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
		t.Fatal(err)
	}
	got = h.tw.Counterpart(id)
	wantFlows(t, got)
	if !slices.Equal(got.Tags, tags) {
		t.Errorf("tags after the update: %q; want %q", got.Tags, tags)
	}

	// A field cleared in HighLevel is cleared in Marketing 360, whose PUT
	// is partial: the sync sends it as "".
	none := ""
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id,
		&highlevelapi.UpdateContactParams{Version: highlevelapi.UpdateContactParamsVersionN20210728},
		highlevelapi.UpdateContactDto{Email: &none})); err != nil {
		t.Fatal(err)
	}
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
		t.Fatal(err)
	}
	if got = h.tw.Counterpart(id); got.Email != "" || got.Contacts != 1 || !slices.Equal(got.Tags, tags) {
		t.Errorf("after the email was cleared: %d contacts, email %q, tags %q; want 1, none, %q", got.Contacts, got.Email, got.Tags, tags)
	}
}

// TestConverger_CrashAtEachStepLosesAndDuplicatesNothing stops the
// worker abruptly at each step of each create (the intent committed, the
// call made but not recorded, the success recorded) and restarts it on the
// same database file, as a new process would: afterwards Marketing 360
// holds every record once.
func TestConverger_CrashAtEachStepLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	keys := func(hlID string) []string {
		return []string{"f1:m360-contact:" + hlID, "f1:follow-up:" + hlID, "f2:onboarding:" + hlID + ":1",
			"f2:onboarding:" + hlID + ":2", "f2:welcome-note:" + hlID}
	}
	for _, step := range []engine.Step{engine.StepBeforeCall, engine.StepAfterCall, engine.StepAfterCommit} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for i := range len(keys("")) {
				// A contact of its own for each create: crashed at that
				// create, after the earlier ones went through.
				id := h.createContact(t, i)
				h.crashAndRestart(t, step, keys(id)[i], engine.Converge{Side: engine.SideHighLevel,
					EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id})
				wantFlows(t, h.tw.Counterpart(id))
			}
		})
	}
}

// crashAndRestart works job a with a converger that crashes at step of
// effect key, then again on a new handle of the same database file after
// the stale time, as a new process would; it fails the test unless the
// crash happened there and the restarted run completed the job.
func (h *harness) crashAndRestart(t *testing.T, step engine.Step, key string, a engine.Converge) {
	t.Helper()
	h.crashAndRestartJob(t, step, key, func(c *engine.Converger, complete func(context.Context, *state.Tx) error) error {
		return c.Converge(context.Background(), a, complete)
	})
}

// crashAndRestartJob is crashAndRestart of the job work works with a
// converger.
func (h *harness) crashAndRestartJob(t *testing.T, step engine.Step, key string,
	work func(*engine.Converger, func(context.Context, *state.Tx) error) error) {
	t.Helper()
	crashed := false
	hook := func(s engine.Step, k string) error {
		if s == step && k == key {
			crashed = true
			return engine.ErrCrash
		}
		return nil
	}
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	err := work(h.converger(t, nil, hook, 0), complete)
	// The successes of a job's last effects commit with its completion: a
	// crash after that commit comes after the job completed (River would
	// not run it again; the run below is then one more job of the entity,
	// as a duplicate event makes).
	crashDone := done
	if !crashed || !errors.Is(err, engine.ErrCrash) || done > 1 || (done == 1 && step != engine.StepAfterCommit) {
		t.Fatalf("%s: crashed %v, err %v, done %d", key, crashed, err, done)
	}
	// An effect left inflight is looked up before any create.
	db, err := state.Open(context.Background(), h.path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = work(h.converger(t, db, nil, engine.DefaultStaleAfter+time.Second), complete)
	if cerr := db.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || done != crashDone+1 {
		t.Fatalf("%s: after the restart: %v, done %d", key, err, done)
	}
}

// TestConverger_NewContactCommitsTwice: a new contact's five effects (its
// Marketing 360 contact, then the follow-up task, the onboarding tasks and
// the welcome note) and its mapping take two transactions: the plans and
// intents of all five; their successes with the mapping and the job's
// completion. The contact just made from the mapped fields is not read
// back; converging again writes nothing but the completion.
func TestConverger_NewContactCommitsTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createContact(t, 0)
	c := h.converger(t, nil, nil, 0)
	done, before := 0, h.db.Commits()
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil || done != 1 {
		t.Fatalf("converge: %v, done %d", err, done)
	}
	if n := h.db.Commits() - before; n != 2 {
		t.Errorf("%d transactions for a new contact, want 2", n)
	}
	if n := h.tw.Count("m360-get-contact"); n != 0 {
		t.Errorf("%d reads of the Marketing 360 contact just made, want none", n)
	}
	wantFlows(t, h.tw.Counterpart(id))
	before = h.db.Commits()
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil || done != 2 {
		t.Fatalf("converge again: %v, done %d", err, done)
	}
	if n := h.db.Commits() - before; n != 1 {
		t.Errorf("%d transactions converging an unchanged contact, want 1 (the completion)", n)
	}
	wantFlows(t, h.tw.Counterpart(id))
}

// TestConverger_InflightEffectOfALiveWorkerIsNotRaced: an effect started a
// moment ago (another worker's call under way) makes the job try again
// later, creating nothing.
func TestConverger_InflightEffectOfALiveWorkerIsNotRaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createContact(t, 0)
	key := "f1:follow-up:" + id
	hook := func(s engine.Step, k string) error {
		if s == engine.StepBeforeCall && k == key {
			return engine.ErrCrash
		}
		return nil
	}
	done := 0
	if err := converge(t, h.converger(t, nil, hook, 0), h.tw.Location(), id, &done); !errors.Is(err, engine.ErrCrash) {
		t.Fatal(err)
	}
	err := converge(t, h.converger(t, nil, nil, time.Second), h.tw.Location(), id, &done)
	if !errors.Is(err, engine.ErrEffectBusy) || done != 0 {
		t.Fatalf("converge beside a live effect: %v, done %d; want ErrEffectBusy", err, done)
	}
	if got := h.tw.Counterpart(id); len(got.Tasks) != 0 {
		t.Errorf("tasks %q; want none yet", got.Tasks)
	}
}

// TestConverger_OnTheQueue: converge jobs enqueued for a contact (three
// times, as duplicate webhooks would) are worked by the queue and make
// its counterpart once, with the mapping committed with the completion.
func TestConverger_OnTheQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createContact(t, 0)
	w := h.converger(t, nil, nil, 0).Worker()
	finished := make(chan error, 10)
	work := w.Work
	w.Work = func(ctx context.Context, job *engine.Job) error {
		err := work(ctx, job)
		finished <- err
		return err
	}
	q := mustRiver(t, h.db, engine.Config{Workers: []engine.Worker{w}})
	args := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	for range 3 {
		if got := enqueue(t, h.db, q, args); got.JobID == 0 {
			t.Fatalf("enqueue: %+v", got)
		}
	}
	startRiver(t, q)
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("the job was not worked")
	}
	if list := jobs(t, q, engine.KindConverge); len(list) != 1 || list[0].State != "completed" {
		t.Errorf("jobs %+v; want one, completed (the three coalesced)", list)
	}
	wantFlows(t, h.tw.Counterpart(id))
	if _, err := h.db.MappingByHighLevel(context.Background(), engine.EntityContact, h.tw.Location(), id); err != nil {
		t.Errorf("mapping: %v", err)
	}
}

// TestConverger_UnknownOutcomeIsLookedUpBeforeACreate: Marketing 360
// creates the follow-up task and then answers 500 (the write happened);
// the retry finds the task by its marker and adopts it.
func TestConverger_UnknownOutcomeIsLookedUpBeforeACreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.tw.AddFault(`{"match":{"operation":"m360-create-task"},"effect":{"kind":"error","status":500,"after":true},"times":1}`)
	id := h.createContact(t, 0)
	c := h.converger(t, nil, nil, 0)
	done := 0
	if err := converge(t, c, h.tw.Location(), id, &done); !errors.Is(err, transport.ErrOutcomeUnknown) {
		t.Fatalf("converge through a 500 after the write: %v; want ErrOutcomeUnknown", err)
	}
	e, err := h.db.Effect(context.Background(), "f1:follow-up:"+id)
	if err != nil || e.State != state.EffectFailed || !e.OutcomeUnknown {
		t.Fatalf("effect %+v, %v; want failed with an unknown outcome", e, err)
	}
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil || done != 1 {
		t.Fatalf("retry: %v, done %d", err, done)
	}
	wantFlows(t, h.tw.Counterpart(id))
	if e, err := h.db.Effect(context.Background(), "f1:follow-up:"+id); err != nil || e.State != state.EffectDone || e.LastStatus != 0 {
		t.Errorf("effect %+v, %v; want done, adopted (status 0)", e, err)
	}
}

// TestConverger_AMadeEffectIsRecordedWhenTheJobsContextEnds: the job's
// context ends (its timeout, a stop) right after a call made its record;
// the job fails, but what it made is recorded done, not left inflight to
// be looked up (or, without a marker, parked as unknown).
func TestConverger_AMadeEffectIsRecordedWhenTheJobsContextEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createContact(t, 0)
	key := "f1:follow-up:" + id
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := h.converger(t, nil, func(step engine.Step, k string) error {
		if step == engine.StepAfterCall && k == key {
			cancel()
		}
		return nil
	}, 0)
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	if err := c.Converge(ctx, a, func(context.Context, *state.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("converge: %v; want the context's end", err)
	}
	e, err := h.db.Effect(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if e.State != state.EffectDone || e.RemoteID == "" {
		t.Fatalf("effect %s: %s (remote %q); want done with the task made", key, e.State, e.RemoteID)
	}
}

// TestConverger_NewContactCrashedAfterItsIntentsLosesAndDuplicatesNothing:
// a new contact's five creates start together (their intents in one
// transaction). Stopped abruptly just after it, before the first call,
// the database holds the five inflight and the contact unmapped, nothing
// made; after a restart each record exists once, and converging again
// creates nothing.
func TestConverger_NewContactCrashedAfterItsIntentsLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	id := h.createContact(t, 0)
	keys := []string{"f1:m360-contact:" + id, "f1:follow-up:" + id, "f2:onboarding:" + id + ":1", "f2:onboarding:" + id + ":2",
		"f2:welcome-note:" + id}
	hook := func(s engine.Step, k string) error {
		if s == engine.StepBeforeCall && k == keys[0] {
			return engine.ErrCrash
		}
		return nil
	}
	done, made := 0, h.createCounts(t)
	if err := converge(t, h.converger(t, nil, hook, 0), h.tw.Location(), id, &done); !errors.Is(err, engine.ErrCrash) || done != 0 {
		t.Fatalf("converge: %v, done %d; want the crash", err, done)
	}
	for _, k := range keys {
		if e, err := h.db.Effect(ctx, k); err != nil || e.State != state.EffectInflight {
			t.Errorf("effect %s after the crash: %+v, %v; want inflight", k, e, err)
		}
	}
	if n := h.createCounts(t); !maps.Equal(n, made) {
		t.Errorf("created before the first call: %v (before %v)", n, made)
	}
	restarted := h.converger(t, nil, nil, engine.DefaultStaleAfter+time.Second)
	if err := converge(t, restarted, h.tw.Location(), id, &done); err != nil || done != 1 {
		t.Fatalf("after the restart: %v, done %d", err, done)
	}
	wantFlows(t, h.tw.Counterpart(id))
	before := h.createCounts(t)
	if err := converge(t, restarted, h.tw.Location(), id, &done); err != nil || done != 2 {
		t.Fatalf("converge again: %v, done %d", err, done)
	}
	if after := h.createCounts(t); !maps.Equal(after, before) {
		t.Errorf("converging again created %v (before %v)", after, before)
	}
}

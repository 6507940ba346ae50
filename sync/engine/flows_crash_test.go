package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// synced is a HighLevel contact (Ada number n) converged once, so that it
// has its Marketing 360 counterpart: its id and the counterpart's.
func (h *harness) synced(t *testing.T, n int) (string, int64) {
	t.Helper()
	id := h.createContact(t, n)
	done := 0
	if err := converge(t, h.converger(t, nil, nil, 0), h.tw.Location(), id, &done); err != nil {
		t.Fatal(err)
	}
	return id, h.m360ContactOf(t, id)
}

// childCase is one create of flows 3, 4 and 6: make makes the source
// record and returns its converge job and the create's effect key; got
// reads the counterparts from the timeline.
type childCase struct {
	name string
	make func(t *testing.T, h *harness, hlID string, m360 int64) (engine.Converge, string)
	got  func(timeline) []string
	want []string
}

var childCases = []childCase{
	{name: "flow 3 task", make: func(t *testing.T, h *harness, _ string, m360 int64) (engine.Converge, string) {
		id := strconv.FormatInt(h.createM360Task(t, m360, "Quote"), 10)
		return engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: id,
			Parent: strconv.FormatInt(m360, 10)}, "f3:hl-task:" + id
	}, got: func(tl timeline) []string { return tl.HLTasks }, want: []string{"Quote"}},
	{name: "flow 4 note", make: func(t *testing.T, h *harness, hlID string, _ int64) (engine.Converge, string) {
		id := h.createHLNote(t, hlID, "Likes tea")
		return engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityNote, Tenant: h.tw.Location(), ID: id,
			Parent: hlID}, "f4:m360-note:" + id
	}, got: func(tl timeline) []string { return tl.M360Notes }, want: []string{"Likes tea", "Welcome, Ada Lovelace!"}},
	{name: "flow 4 event", make: func(t *testing.T, h *harness, hlID string, _ int64) (engine.Converge, string) {
		id := h.createAppointment(t, hlID, "Demo")
		return engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityAppointment, Tenant: h.tw.Location(), ID: id,
			Parent: hlID}, "f4:m360-event:" + id
	}, got: func(tl timeline) []string { return tl.M360Events }, want: []string{"Demo scheduled"}},
	{name: "flow 6 task", make: func(t *testing.T, h *harness, hlID string, _ int64) (engine.Converge, string) {
		id := h.createHLTask(t, hlID, "Call")
		return engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: h.tw.Location(), ID: id,
			Parent: hlID}, "f6:m360-task:" + id
	}, got: func(tl timeline) []string {
		return slices.DeleteFunc(tl.M360Tasks, func(s string) bool { return s != "Call" })
	},
		want: []string{"Call"}},
}

// TestConverger_CrashInFlows3To6LosesAndDuplicatesNothing stops the
// worker abruptly at each step of each create of flows 3, 4 and 6 (the
// intent committed, the call made but not recorded, the success recorded)
// and restarts it on the same database file, as a new process would:
// afterwards each counterpart exists once, and converging again writes
// nothing.
func TestConverger_CrashInFlows3To6LosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	for _, step := range []engine.Step{engine.StepBeforeCall, engine.StepAfterCall, engine.StepAfterCommit} {
		t.Run(string(step), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for i, tc := range childCases {
				hlID, m360 := h.synced(t, i)
				a, key := tc.make(t, h, hlID, m360)
				h.crashAndRestart(t, step, key, a)
				// And once more: nothing new.
				if err := h.converger(t, nil, nil, 0).Converge(context.Background(), a,
					func(context.Context, *state.Tx) error { return nil }); err != nil {
					t.Fatalf("%s: converge again: %v", tc.name, err)
				}
				if got := tc.got(h.timeline(t, hlID)); !slices.Equal(got, tc.want) {
					t.Errorf("%s: counterparts %q, want %q", tc.name, got, tc.want)
				}
			}
		})
	}
}

// flakyHighLevel makes HighLevel's task creates succeed and then lose
// their answer, fails times times (a fault injected through the
// converger's interface).
type flakyHighLevel struct {
	engine.HighLevel
	times int
}

func (f *flakyHighLevel) CreateTask(ctx context.Context, contactID string, in highlevelapi.CreateTaskBody) (highlevelapi.Task, error) {
	got, err := f.HighLevel.CreateTask(ctx, contactID, in)
	if err == nil && f.times > 0 {
		f.times--
		return highlevelapi.Task{}, fmt.Errorf("create task: %w", transport.ErrOutcomeUnknown)
	}
	return got, err
}

// TestConverger_LostAnswerOfAHighLevelTaskIsLookedUp: flow 3's HighLevel
// task is made but its answer is lost; the retry finds it by the marker in
// its body and adopts it.
func TestConverger_LostAnswerOfAHighLevelTaskIsLookedUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hlID, m360 := h.synced(t, 0)
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: &flakyHighLevel{HighLevel: engine.HighLevelClient(h.hl), times: 1},
		M360: engine.M360Client(h.m360), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a, key := childCases[0].make(t, h, hlID, m360)
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	if err := c.Converge(context.Background(), a, complete); !errors.Is(err, transport.ErrOutcomeUnknown) {
		t.Fatalf("converge through a lost answer: %v; want ErrOutcomeUnknown", err)
	}
	if err := c.Converge(context.Background(), a, complete); err != nil || done != 1 {
		t.Fatalf("retry: %v, done %d", err, done)
	}
	if got := h.timeline(t, hlID).HLTasks; !slices.Equal(got, []string{"Quote"}) {
		t.Errorf("HighLevel tasks %q, want one Quote", got)
	}
	if e, err := h.db.Effect(context.Background(), key); err != nil || e.State != state.EffectDone || e.LastStatus != 0 || e.Attempts != 2 {
		t.Errorf("effect %+v, %v; want done by adoption (status 0) at the second attempt", e, err)
	}
}

// TestConverger_CampaignRulesFireOncePerTransition: flow 5's rules (a new
// lead, a tag added, a field changed to a value) trigger their campaigns
// once each, through the ledger, however often the contact converges.
func TestConverger_CampaignRulesFireOncePerTransition(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	active := h.activeCampaigns(t)
	// The twin enters a contact in a campaign once: the third rule has a
	// campaign of its own only in the ledger's keys and the call count.
	lead, vip, referral := active[0], active[1], active[0]
	h.flows.CampaignRules = []engine.CampaignRule{
		{Name: "new-lead", Campaign: lead, On: engine.RuleNewLead},
		{Name: "vip", Campaign: vip, On: engine.RuleTagAdded, Tag: "vip"},
		{Name: "referral", Campaign: referral, On: engine.RuleFieldChanged, Field: "source", Value: "Referral"},
	}
	c := h.converger(t, nil, nil, 0)
	id := h.createContact(t, 0)
	done := 0
	for range 2 {
		if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.timeline(t, id).Triggers; !slices.Equal(got, []int64{lead}) {
		t.Errorf("after the create: triggers %v, want the new lead's %d", got, lead)
	}
	tags, source := []string{"vip"}, "Referral"
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id, nil,
		highlevelapi.UpdateContactDto{Tags: &tags, Source: &source})); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
			t.Fatal(err)
		}
	}
	want := []int64{lead, vip}
	slices.Sort(want)
	if got := h.timeline(t, id).Triggers; !slices.Equal(got, want) {
		t.Errorf("after the tag and the source: triggers %v, want %v", got, want)
	}
	if n := h.tw.Count("m360-trigger-campaign"); n != 3 {
		t.Errorf("%d trigger calls, want 3 (one per transition)", n)
	}
	for _, key := range []string{"f5:new-lead:" + id + ":new", "f5:vip:" + id + ":tag:vip", "f5:referral:" + id + ":value:Referral"} {
		if e, err := h.db.Effect(context.Background(), key); err != nil || e.State != state.EffectDone {
			t.Errorf("effect %s: %+v %v; want done", key, e, err)
		}
	}
}

// downHighLevel fails every read of the contacts of a location that is
// down (a 503 there), and passes the others on.
type downHighLevel struct {
	engine.HighLevel
	down map[string]bool
}

func (d downHighLevel) Contact(ctx context.Context, id string) (highlevelapi.Contact, error) {
	if d.down[id] {
		return highlevelapi.Contact{}, &highlevelapi.Error{StatusCode: 503, Message: []string{"location down"}}
	}
	return d.HighLevel.Contact(ctx, id)
}

// TestQueue_AFailingLocationDoesNotStallTheOthers: the jobs of a location
// whose API fails, enqueued first, on a single worker, back off in the
// queue; the job of another location's contact runs meanwhile.
func TestQueue_AFailingLocationDoesNotStallTheOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	down := map[string]bool{}
	var args []engine.Converge
	for i := range 5 {
		id := fmt.Sprintf("down-%d", i)
		down[id] = true
		args = append(args, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: "location-down", ID: id})
	}
	id := h.createContact(t, 0)
	args = append(args, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id})
	c, err := engine.NewConverger(engine.ConvergerConfig{DB: h.db, HighLevel: downHighLevel{HighLevel: engine.HighLevelClient(h.hl), down: down},
		M360: engine.M360Client(h.m360), Flows: h.flows, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	q := mustRiver(t, h.db, engine.Config{Workers: []engine.Worker{c.Worker()}, MaxWorkers: 1, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Hour }})
	for _, a := range args {
		enqueue(t, h.db, q, a)
	}
	startRiver(t, q)
	twintest.WaitFor(t, wait, func() bool { c := h.tw.Counterpart(id); return len(c.Tasks) == 3 && len(c.Notes) == 1 })
	twintest.WaitFor(t, wait, func() bool {
		list, err := q.Jobs(context.Background(), []string{engine.KindConverge}, []string{"retryable"}, 100)
		return err == nil && len(list) == len(down)
	})
	wantFlows(t, h.tw.Counterpart(id))
}

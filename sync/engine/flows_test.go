package engine_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
)

// creates are the operations that make records on either twin (a trigger
// makes one).
var creates = []string{"create-task", "create-note", "m360-create-contact", "m360-create-task", "m360-create-note",
	"m360-create-event", "m360-trigger-campaign"}

// taskWrites are the operations that edit or delete tasks on either twin.
var taskWrites = []string{"update-task", "update-task-completed", "delete-task", "m360-update-task", "m360-delete-task"}

func (h *harness) createCounts(t *testing.T) map[string]int {
	t.Helper()
	return h.counts(t, slices.Concat(creates, taskWrites))
}

// counts are how many requests of each operation the twins served.
func (h *harness) counts(t *testing.T, ops []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, op := range ops {
		out[op] = h.tw.Count(op)
	}
	return out
}

func wantTimeline(t *testing.T, step string, got, want timeline) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want []string
	}{
		{"HighLevel tasks", got.HLTasks, want.HLTasks}, {"HighLevel notes", got.HLNotes, want.HLNotes},
		{"Marketing 360 tasks", got.M360Tasks, want.M360Tasks}, {"Marketing 360 notes", got.M360Notes, want.M360Notes},
		{"Marketing 360 events", got.M360Events, want.M360Events},
	} {
		if !slices.Equal(f.got, f.want) {
			t.Errorf("%s: %s\n\tgot  %q\n\twant %q", step, f.name, f.got, f.want)
		}
	}
	if !slices.Equal(got.Triggers, want.Triggers) {
		t.Errorf("%s: campaign triggers %v, want %v", step, got.Triggers, want.Triggers)
	}
}

// TestLoop_BothDirectionsUntilQuiescentWithoutEchoes runs flows 1 to 6
// (a new-lead campaign rule for flow 5) with the webhooks of both twins on (each delivered twice, every
// ContactCreate followed by a ContactUpdate) until nothing moves: tasks
// made on either side appear once on the other and never come back,
// completions cross both ways, a note's edit and deletion and an
// appointment's deletion are mirrored once. Then every delivery is sent
// again and every entity converged again in reverse order: nothing more
// is written.
func TestLoop_BothDirectionsUntilQuiescentWithoutEchoes(t *testing.T) {
	t.Parallel()
	var campaign int64
	l := newLoop(t, func(h *harness) engine.Flows {
		f := engine.DefaultFlows()
		campaign = h.activeCampaigns(t)[0]
		f.CampaignRules = []engine.CampaignRule{{Name: "welcome", Campaign: campaign, On: engine.RuleNewLead}}
		return f
	})
	id := l.createContact(t, 0)
	twintest.WaitFor(t, wait, func() bool { c := l.tw.Counterpart(id); return len(c.Tasks) == 3 && len(c.Notes) == 1 })
	m360 := l.m360ContactOf(t, id)

	l.createHLTask(t, id, "Call")
	visit := l.createHLTask(t, id, "Visit")
	tea := l.createHLNote(t, id, "Likes tea")
	temp := l.createHLNote(t, id, "Temporary")
	demo := l.createAppointment(t, id, "Demo")
	quote := l.createM360Task(t, m360, "Quote")
	brochure := l.createM360Task(t, m360, "Brochure")
	l.settle(t)
	onboarding := []string{"Book the onboarding call with Ada Lovelace", "Follow up: Ada Lovelace", "Send the welcome pack to Ada Lovelace"}
	tasks := func(extra ...string) []string {
		out := append(slices.Clone(onboarding), extra...)
		slices.Sort(out)
		return out
	}
	wantTimeline(t, "created", l.timeline(t, id), timeline{
		HLTasks: []string{"Brochure", "Call", "Quote", "Visit"}, HLNotes: []string{"Likes tea", "Temporary"},
		M360Tasks: tasks("Brochure", "Call", "Quote", "Visit"), M360Notes: []string{"Likes tea", "Temporary", "Welcome, Ada Lovelace!"},
		M360Events: []string{"Demo scheduled"}, Triggers: []int64{campaign}})
	for _, x := range l.tw.Export().Tasks {
		if x.Title == "Quote" && !hasMarker(x.Body) {
			t.Errorf("flow 3's HighLevel task carries no marker: %q", x.Body)
		}
	}

	l.completeM360Task(t, m360, quote)
	l.completeHLTask(t, id, l.hlTaskID(t, id, "Call"))
	l.updateHLNote(t, id, tea, "Likes green tea")
	l.deleteHLNote(t, id, temp)
	l.deleteAppointment(t, demo)
	l.settle(t)
	want := timeline{HLTasks: []string{"Brochure", "Call (done)", "Quote (done)", "Visit"}, HLNotes: []string{"Likes green tea"},
		M360Tasks: tasks("Brochure", "Call (done)", "Quote (done)", "Visit"), M360Notes: []string{"Likes green tea", "Welcome, Ada Lovelace!"},
		Triggers: []int64{campaign}}
	wantTimeline(t, "changed", l.timeline(t, id), want)

	// Edits and deletions, each side's own: a HighLevel task's edit (which
	// no webhook tells: reconcile finds it) and deletion (flow 6), a
	// Marketing 360 task's edit and deletion (flow 3). Each is one write
	// on the other side, and none comes back.
	before := l.counts(t, taskWrites)
	l.updateHLTask(t, id, visit, "Visit on Monday")
	l.deleteHLTask(t, id, l.hlTaskID(t, id, "Call"))
	l.updateM360Task(t, m360, brochure, "Brochure in print")
	l.deleteM360Task(t, m360, quote)
	l.reconcile(t)
	l.settle(t)
	l.reconcile(t)
	l.settle(t)
	want = timeline{HLTasks: []string{"Brochure in print", "Visit on Monday"}, HLNotes: []string{"Likes green tea"},
		M360Tasks: tasks("Brochure in print", "Visit on Monday"), M360Notes: []string{"Likes green tea", "Welcome, Ada Lovelace!"},
		Triggers: []int64{campaign}}
	wantTimeline(t, "edited and deleted", l.timeline(t, id), want)
	// A person's write and the sync's, per operation; no completion.
	wantWrites := map[string]int{"update-task": 2, "update-task-completed": 0, "delete-task": 2, "m360-update-task": 2, "m360-delete-task": 2}
	after := l.counts(t, taskWrites)
	for op, n := range wantWrites {
		if got := after[op] - before[op]; got != n {
			t.Errorf("%s: %d requests for the edits and deletions, want %d (the person's and the sync's)", op, got, n)
		}
	}
	if d := l.deliveries(t); d.Failed != 0 {
		t.Errorf("%d deliveries failed", d.Failed)
	}

	made := l.createCounts(t)
	if status, body := l.tw.Admin(http.MethodPost, "/__admin/webhooks/deliveries/redeliver", map[string]any{}); status != http.StatusAccepted {
		t.Fatalf("redeliver: %d %s", status, body)
	}
	st := l.tw.Export()
	var again []engine.Converge
	loc := l.tw.Location()
	again = append(again, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: loc, ID: id})
	for _, x := range st.Tasks {
		again = append(again, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: x.ID, Parent: x.ContactID})
	}
	for _, n := range []string{tea, temp} {
		again = append(again, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityNote, Tenant: loc, ID: n, Parent: id})
	}
	again = append(again, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityAppointment, Tenant: loc, ID: demo, Parent: id})
	for _, x := range st.M360Tasks {
		again = append(again, engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: strconv.FormatInt(x.AccountID, 10),
			ID: strconv.FormatInt(x.ID, 10), Parent: strconv.FormatInt(x.ContactID, 10)})
	}
	slices.Reverse(again)
	for _, a := range again {
		enqueue(t, l.db, l.q, a)
	}
	l.settle(t)
	wantTimeline(t, "replayed", l.timeline(t, id), want)
	if got := l.createCounts(t); !maps.Equal(got, made) {
		t.Errorf("creates after the replays %v, want %v (none more)", got, made)
	}
	if list, err := l.q.Jobs(context.Background(), []string{engine.KindConverge}, []string{"discarded", "cancelled"}, 100); err != nil || len(list) != 0 {
		t.Errorf("jobs given up on: %+v %v", list, err)
	}
}

// TestConverger_M360TaskOfAnUnmappedContactWaits: a Marketing 360 task
// whose contact has no HighLevel counterpart yet fails its job with
// ErrNoCounterpart (tried again later, never dropped); once the contact is
// mapped, the task is made in HighLevel once.
func TestConverger_M360TaskOfAnUnmappedContactWaits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.converger(t, nil, nil, 0)
	ctx := context.Background()
	// A person makes the contact in Marketing 360 first, with a task.
	email, first := "ada0@example.com", "Ada"
	res, err := h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &first, Email: &email})
	if err != nil || res.JSON201 == nil {
		t.Fatalf("create: %v %s", err, res.Body)
	}
	m360 := res.JSON201.Result.Id
	task := h.createM360Task(t, m360, "Quote")
	a := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(task, 10),
		Parent: strconv.FormatInt(m360, 10)}
	done := 0
	complete := func(context.Context, *state.Tx) error { done++; return nil }
	if err := c.Converge(ctx, a, complete); !errors.Is(err, engine.ErrNoCounterpart) || done != 0 {
		t.Fatalf("converge of a task of an unmapped contact: %v, done %d; want ErrNoCounterpart", err, done)
	}
	// The HighLevel contact of the same email: flow 1 adopts the Marketing
	// 360 one and maps it.
	id := h.createContact(t, 0)
	if err := converge(t, c, h.tw.Location(), id, &done); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.Converge(ctx, a, complete); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.timeline(t, id); !slices.Equal(got.HLTasks, []string{"Quote"}) {
		t.Errorf("HighLevel tasks %q, want the one Quote", got.HLTasks)
	}
	if done != 3 {
		t.Errorf("%d jobs completed, want 3", done)
	}
}

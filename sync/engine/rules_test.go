package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// testRule is a user rule as sync/rules makes one from a rule file, in
// code: on its trigger, when its condition holds, it plans one action
// built from the change.
type testRule struct {
	name, trigger string
	// perEntity keys the action by entity only (once ever); else by
	// entity and version (once per change).
	perEntity bool
	when      func(in engine.RuleInput) bool
	// request builds the action's API, operation, method, path and body.
	request func(in engine.RuleInput) (api, op, method, path string, body any)
}

// testRules implement engine.Rules over testRules, which a test may swap
// (a rule fixed) between jobs.
type testRules struct {
	mu    sync.Mutex
	rules []testRule
}

func (r *testRules) set(rules ...testRule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = rules
}

func (r *testRules) Plan(in engine.RuleInput) ([]engine.RuleAction, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []engine.RuleAction
	for _, rule := range r.rules {
		if rule.trigger != in.Trigger || rule.when != nil && !rule.when(in) {
			continue
		}
		api, op, method, path, body := rule.request(in)
		raw, ok := body.([]byte)
		if !ok {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				return nil, err
			}
		}
		key := "rule:" + rule.name + ":1:" + in.ID
		if !rule.perEntity {
			key += ":" + in.Version
		}
		out = append(out, engine.RuleAction{Rule: rule.name, Action: "1", Key: key, API: api, Operation: op,
			Method: method, Path: path, Body: raw})
	}
	return out, nil
}

// newRuleHarness is a harness whose convergers run the rules of the
// testRules it returns (none until the test sets them).
func newRuleHarness(t *testing.T) (*harness, *testRules) {
	t.Helper()
	h := newHarness(t)
	rules := &testRules{}
	h.rules = rules
	return h, rules
}

// mapped tells whether the change's contact has its counterpart.
func mapped(in engine.RuleInput) bool { return in.MappedContact != nil }

// hasTag tells whether the change's contact carries tag.
func hasTag(tag string) func(in engine.RuleInput) bool {
	return func(in engine.RuleInput) bool {
		tags, _ := in.Contact["tags"].([]any)
		return slices.Contains(tags, any(tag)) && in.MappedContact != nil
	}
}

// triggerCampaign is the request that enters the change's Marketing 360
// contact into campaign.
func triggerCampaign(campaign int64) func(in engine.RuleInput) (string, string, string, string, any) {
	return func(in engine.RuleInput) (string, string, string, string, any) {
		return engine.SideM360, "m360-trigger-campaign", http.MethodPost, fmt.Sprintf("/v1/campaigns/%d/triggers", campaign),
			map[string]any{"contactId": in.MappedContact["id"]}
	}
}

// ruleCount is rule's line of the ledger's counts (zero when it has none).
func ruleCount(t *testing.T, db *state.DB, rule string) state.RuleCount {
	t.Helper()
	counts, err := db.RuleCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Rule == rule {
			return c
		}
	}
	return state.RuleCount{Rule: rule}
}

// convergeJob works job a once with c and fails the test on an error.
func convergeJob(t *testing.T, c *engine.Converger, a engine.Converge) {
	t.Helper()
	if err := c.Converge(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); err != nil {
		t.Fatalf("converge %s: %v", a, err)
	}
}

// TestRules_TagAddedTriggersACampaignOncePerChange: a rule on
// ContactTagUpdate (the contact carries "vip") enters the contact into a
// campaign once: the same change converged again (a webhook delivered
// twice, a replay, a reconcile poll: each is one more job of the entity)
// triggers nothing more. Another change runs the per-change rule again,
// never the per-entity one.
func TestRules_TagAddedTriggersACampaignOncePerChange(t *testing.T) {
	t.Parallel()
	h, rules := newRuleHarness(t)
	active := h.activeCampaigns(t)
	rules.set(testRule{name: "vip-each", trigger: "highlevel.ContactTagUpdate", when: hasTag("vip"), request: triggerCampaign(active[0])},
		testRule{name: "vip-once", trigger: "highlevel.ContactTagUpdate", perEntity: true, when: hasTag("vip"),
			request: triggerCampaign(active[1])})
	c := h.converger(t, nil, nil, 0)
	id := h.createContact(t, 0, "vip")
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	for range 3 {
		convergeJob(t, c, a)
	}
	wantFlows(t, h.tw.Counterpart(id))
	if got, want := h.timeline(t, id).Triggers, sorted2(active[0], active[1]); !slices.Equal(got, want) {
		t.Errorf("triggers %v, want %v", got, want)
	}
	if n := h.tw.Count("m360-trigger-campaign"); n != 2 {
		t.Errorf("%d trigger calls after one change converged three times, want 2", n)
	}
	// Another change: another tag.
	tags := []string{"vip", "gold"}
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id, nil,
		highlevelapi.UpdateContactDto{Tags: &tags})); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		convergeJob(t, c, a)
	}
	if n := h.tw.Count("m360-trigger-campaign"); n != 3 {
		t.Errorf("%d trigger calls after the second change, want 3", n)
	}
	if each, once := ruleCount(t, h.db, "vip-each"), ruleCount(t, h.db, "vip-once"); each.Done != 2 || once.Done != 1 ||
		each.Parked+once.Parked+each.Pending+once.Pending != 0 {
		t.Errorf("ledger: vip-each %+v, vip-once %+v; want 2 and 1 done", each, once)
	}
}

func sorted2(a, b int64) []int64 {
	out := []int64{a, b}
	slices.Sort(out)
	return out
}

// doneNote is the rule "a Marketing 360 task completed makes a note on
// its HighLevel contact".
var doneNote = testRule{name: "done-note", trigger: "m360.task.completed",
	when: mapped,
	request: func(in engine.RuleInput) (string, string, string, string, any) {
		return engine.APIHighLevel, "create-note", http.MethodPost, "/contacts/" + fmt.Sprint(in.MappedContact["id"]) + "/notes",
			map[string]any{"body": "Done: " + fmt.Sprint(in.Record["title"])}
	}}

// doneNotes are the HighLevel notes of contact hlID the rule made.
func (h *harness) doneNotes(hlID string) []string {
	var out []string
	for _, n := range h.tw.Export().Notes {
		if n.ContactID == hlID && strings.HasPrefix(n.Body, "Done: ") {
			out = append(out, n.Body)
		}
	}
	return out
}

// closerContact is the rule "a Marketing 360 task completed makes a
// Marketing 360 contact": a create whose record cannot carry a marker.
var closerContact = testRule{name: "closer", trigger: "m360.task.completed",
	request: func(in engine.RuleInput) (string, string, string, string, any) {
		return engine.SideM360, "m360-create-contact", http.MethodPost, "/v1/contacts",
			map[string]any{"firstName": "Closer", "lastName": fmt.Sprint(in.Record["title"])}
	}}

// m360Named counts the Marketing 360 contacts of first name first (the
// rules' creates name theirs).
func (h *harness) m360Named(first string) int {
	n := 0
	for _, x := range h.tw.Export().M360Contacts {
		if x.FirstName == first {
			n++
		}
	}
	return n
}

// TestRules_CrashAtEachStepOfARuleCreateLosesAndDoublesNothing: rules
// make a HighLevel note (a POST that carries a marker in its body) and a
// Marketing 360 contact (a POST with nothing to carry one) when a
// Marketing 360 task is completed; the worker is stopped abruptly at each
// step of each create (the intent committed, the call made but not
// recorded, the success recorded) and restarted on the same database
// file. The note exists once (found by its marker after the lost answer);
// the contact exists once and its action is done, or its action is parked
// as unknown (the crash came after the intent, before the outcome): never
// twice. Converging again makes nothing more.
func TestRules_CrashAtEachStepOfARuleCreateLosesAndDoublesNothing(t *testing.T) {
	t.Parallel()
	for _, step := range []engine.Step{engine.StepBeforeCall, engine.StepAfterCall, engine.StepAfterCommit} {
		for _, rule := range []testRule{doneNote, closerContact} {
			t.Run(string(step)+"/"+rule.name, func(t *testing.T) {
				t.Parallel()
				h, rules := newRuleHarness(t)
				rules.set(rule)
				hlID, m360 := h.synced(t, 0)
				task := h.createM360Task(t, m360, "Quote")
				a := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(task, 10),
					Parent: strconv.FormatInt(m360, 10)}
				convergeJob(t, h.converger(t, nil, nil, 0), a)
				h.completeM360Task(t, m360, task)
				crashed := false
				hook := func(s engine.Step, key string) error {
					if s == step && strings.HasPrefix(key, "rule:"+rule.name+":") {
						crashed = true
						return engine.ErrCrash
					}
					return nil
				}
				err := h.converger(t, nil, hook, 0).Converge(context.Background(), a,
					func(context.Context, *state.Tx) error { return nil })
				if !crashed || !errors.Is(err, engine.ErrCrash) {
					t.Fatalf("crashed %v, err %v", crashed, err)
				}
				db, err := state.Open(context.Background(), h.path, state.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				restarted := h.converger(t, db, nil, engine.DefaultStaleAfter+time.Second)
				for range 2 {
					convergeJob(t, restarted, a)
				}
				c := ruleCount(t, db, rule.name)
				switch rule.name {
				case doneNote.name:
					got := h.doneNotes(hlID)
					if len(got) != 1 || !strings.HasPrefix(got[0], "Done: Quote\n\n[cb:") {
						t.Errorf("notes %q, want one Done: Quote with its marker", got)
					}
					if c.Done != 1 || c.Parked != 0 || c.Pending != 0 {
						t.Errorf("ledger %+v, want 1 done", c)
					}
				default:
					n := h.m360Named("Closer")
					if n > 1 || c.Pending != 0 || !(n == 1 && c.Done == 1 || c.Parked == 1 && c.Unknown == 1) {
						t.Errorf("%d contacts made, ledger %+v; want 1 and done, or at most 1 and parked as unknown", n, c)
					}
				}
				if tl := h.timeline(t, hlID); !slices.Equal(tl.HLTasks, []string{"Quote (done)"}) {
					t.Errorf("HighLevel tasks %q, want flow 3's Quote, done", tl.HLTasks)
				}
			})
		}
	}
}

// TestRules_RefusedActionIsParkedAndReplayedAfterTheFix: an action the API
// refuses (a campaign that does not exist: 404) is parked with its status
// and error body and does not hold the job; after the rule is fixed,
// ReplayRule (sync replay --rule) re-queues the entity's job, which
// re-plans the action on the fixed rule and runs it once (replayed while
// the rule is off, it is parked again, as no longer planned).
func TestRules_RefusedActionIsParkedAndReplayedAfterTheFix(t *testing.T) {
	t.Parallel()
	h, rules := newRuleHarness(t)
	active := h.activeCampaigns(t)
	lead := func(campaign int64) testRule {
		return testRule{name: "lead", trigger: "highlevel.ContactCreate", perEntity: true,
			when: mapped, request: triggerCampaign(campaign)}
	}
	rules.set(lead(999_999))
	c := h.converger(t, nil, nil, 0)
	id := h.createContact(t, 0)
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	convergeJob(t, c, a)
	got := ruleCount(t, h.db, "lead")
	if got.Parked != 1 || got.Unknown != 0 || got.LastStatus != http.StatusNotFound || !strings.Contains(got.LastError, "404") {
		t.Fatalf("ledger %+v; want one parked with its 404", got)
	}
	q := &fakeQueue{}
	ctx := context.Background()
	// Replayed while the rule is switched off: parked again, for that.
	rules.set()
	if n, err := engine.ReplayRule(ctx, h.db, q, "lead", h.tw.Clock().Now(), 100); err != nil || n != 1 {
		t.Fatalf("replay: %d, %v; want 1", n, err)
	}
	convergeJob(t, c, a)
	if got := ruleCount(t, h.db, "lead"); got.Parked != 1 || !strings.Contains(got.LastError, "no longer plans") {
		t.Fatalf("ledger after a replay without the rule %+v; want parked as no longer planned", got)
	}
	q.jobs = nil
	rules.set(lead(active[0]))
	if n, err := engine.ReplayRule(ctx, h.db, q, "lead", h.tw.Clock().Now(), 100); err != nil || n != 1 {
		t.Fatalf("replay: %d, %v; want 1", n, err)
	}
	if !slices.Equal(q.jobs, []engine.Args{a}) {
		t.Fatalf("replay enqueued %+v, want the contact's job", q.jobs)
	}
	for range 2 {
		convergeJob(t, c, a)
	}
	if got := h.timeline(t, id).Triggers; !slices.Equal(got, []int64{active[0]}) {
		t.Errorf("triggers %v, want the fixed rule's %d once", got, active[0])
	}
	if got := ruleCount(t, h.db, "lead"); got.Done != 1 || got.Parked != 0 {
		t.Errorf("ledger after the replay %+v; want 1 done", got)
	}
	if n, err := engine.ReplayRule(ctx, h.db, q, "lead", h.tw.Clock().Now(), 100); err != nil || n != 0 {
		t.Errorf("a second replay: %d, %v; want nothing to replay", n, err)
	}
}

// TestRules_AnActionThatCannotBeSentIsParked: a body that is not JSON,
// an unknown API: each action is parked at once with why, sends nothing
// and does not hold the job.
func TestRules_AnActionThatCannotBeSentIsParked(t *testing.T) {
	t.Parallel()
	h, rules := newRuleHarness(t)
	rules.set(testRule{name: "broken-body", trigger: "highlevel.ContactCreate",
		request: func(engine.RuleInput) (string, string, string, string, any) {
			return engine.SideM360, "m360-create-note", http.MethodPost, "/v1/contacts/1/notes", []byte(`{"body":`)
		}}, testRule{name: "no-api", trigger: "highlevel.ContactCreate",
		request: func(engine.RuleInput) (string, string, string, string, any) {
			return "salesforce", "create", http.MethodPost, "/contacts", map[string]any{}
		}})
	id := h.createContact(t, 0)
	convergeJob(t, h.converger(t, nil, nil, 0),
		engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id})
	for rule, why := range map[string]string{"broken-body": "not JSON", "no-api": `API "salesforce"`} {
		if got := ruleCount(t, h.db, rule); got.Parked != 1 || !strings.Contains(got.LastError, why) {
			t.Errorf("%s: ledger %+v; want parked for %s", rule, got, why)
		}
	}
	if n := h.tw.Count("m360-create-note"); n != 1 {
		t.Errorf("%d note creates, want the welcome note's only", n)
	}
}

// TestRules_UnknownOutcomeOfAnUnmarkedCreateIsParked: a rule's create that
// no marker can find again (a Marketing 360 contact without externalIds)
// answered 500 after its write: it is parked as unknown, not sent again.
func TestRules_UnknownOutcomeOfAnUnmarkedCreateIsParked(t *testing.T) {
	t.Parallel()
	h, rules := newRuleHarness(t)
	rules.set(testRule{name: "referrer", trigger: "highlevel.ContactTagUpdate", when: hasTag("referred"),
		request: func(in engine.RuleInput) (string, string, string, string, any) {
			return engine.SideM360, "m360-create-contact", http.MethodPost, "/v1/contacts",
				map[string]any{"firstName": "Referrer", "lastName": "of " + fmt.Sprint(in.Contact["firstName"])}
		}})
	id, _ := h.synced(t, 0)
	h.tw.AddFault(`{"match":{"operation":"m360-create-contact"},"effect":{"kind":"error","status":500,"after":true},"times":1}`)
	tags := []string{"referred"}
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id, nil,
		highlevelapi.UpdateContactDto{Tags: &tags})); err != nil {
		t.Fatal(err)
	}
	c := h.converger(t, nil, nil, 0)
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	if err := c.Converge(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); !errors.Is(err, transport.ErrOutcomeUnknown) {
		t.Fatalf("converge through a 500 after the write: %v; want ErrOutcomeUnknown", err)
	}
	for range 2 {
		convergeJob(t, c, a)
	}
	if n := h.m360Named("Referrer"); n != 1 {
		t.Errorf("%d referrer contacts in Marketing 360, want the one the lost answer made", n)
	}
	if got := ruleCount(t, h.db, "referrer"); got.Parked != 1 || got.Unknown != 1 || got.Done != 0 {
		t.Errorf("ledger %+v; want one parked as unknown", got)
	}
}

// TestRules_DeletionTriggersWithTheLastSnapshot: a HighLevel note deleted
// names NoteDelete, its rule sees the note as last seen (the API has it no
// more), and its action (a Marketing 360 note, marked) runs once, beside
// flow 4's deletion of the note's counterpart.
func TestRules_DeletionTriggersWithTheLastSnapshot(t *testing.T) {
	t.Parallel()
	h, rules := newRuleHarness(t)
	rules.set(testRule{name: "note-gone", trigger: "highlevel.NoteDelete",
		when: mapped,
		request: func(in engine.RuleInput) (string, string, string, string, any) {
			return engine.SideM360, "m360-create-note", http.MethodPost, "/v1/contacts/" + fmt.Sprint(in.MappedContact["id"]) + "/notes",
				map[string]any{"body": "Deleted: " + fmt.Sprint(in.Record["body"])}
		}})
	hlID, _ := h.synced(t, 0)
	note := h.createHLNote(t, hlID, "Likes tea")
	c := h.converger(t, nil, nil, 0)
	a := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityNote, Tenant: h.tw.Location(), ID: note, Parent: hlID}
	convergeJob(t, c, a)
	if got := h.timeline(t, hlID).M360Notes; !slices.Equal(got, []string{"Likes tea", "Welcome, Ada Lovelace!"}) {
		t.Fatalf("Marketing 360 notes %q before the deletion", got)
	}
	h.deleteHLNote(t, hlID, note)
	for range 2 {
		convergeJob(t, c, a)
	}
	if got := h.timeline(t, hlID).M360Notes; !slices.Equal(got, []string{"Deleted: Likes tea", "Welcome, Ada Lovelace!"}) {
		t.Errorf("Marketing 360 notes %q, want the rule's once and the mirrored note deleted", got)
	}
	if got := ruleCount(t, h.db, "note-gone"); got.Done != 1 || got.Parked+got.Pending != 0 {
		t.Errorf("ledger %+v, want 1 done", got)
	}
}

// withoutMarker is a text without the sync's marker line.
func withoutMarker(s string) string {
	if i := strings.Index(s, "\n\n[cb:"); i >= 0 {
		return s[:i]
	}
	return s
}

// TestLoop_RulesOfBothDirectionsDoNotLoop runs the flows and two rules
// (a Marketing 360 note -> a HighLevel note; a HighLevel note -> a
// Marketing 360 task) with both twins' webhooks on (each delivered twice)
// until nothing moves: each record the rules make exists once, and the
// records the sync made (flows' and rules' alike, marked) trigger no rule.
// Every delivery sent again changes nothing.
func TestLoop_RulesOfBothDirectionsDoNotLoop(t *testing.T) {
	t.Parallel()
	rules := &testRules{}
	rules.set(testRule{name: "m360-note-to-hl", trigger: "m360.note.created",
		when: mapped,
		request: func(in engine.RuleInput) (string, string, string, string, any) {
			return engine.APIHighLevel, "create-note", http.MethodPost, "/contacts/" + fmt.Sprint(in.MappedContact["id"]) + "/notes",
				map[string]any{"body": "From Marketing 360: " + fmt.Sprint(in.Record["body"])}
		}}, testRule{name: "hl-note-to-task", trigger: "highlevel.NoteCreate",
		when: mapped,
		request: func(in engine.RuleInput) (string, string, string, string, any) {
			return engine.SideM360, "m360-create-task", http.MethodPost, "/v1/contacts/" + fmt.Sprint(in.MappedContact["id"]) + "/tasks",
				map[string]any{"title": "Read: " + fmt.Sprint(in.Record["body"])}
		}})
	l := newLoop(t, func(h *harness) engine.Flows { h.rules = rules; return engine.DefaultFlows() })
	id := l.createContact(t, 0)
	twintest.WaitFor(t, wait, func() bool { c := l.tw.Counterpart(id); return len(c.Tasks) == 3 && len(c.Notes) == 1 })
	m360 := l.m360ContactOf(t, id)
	l.createHLNote(t, id, "Likes tea")
	if _, err := m360api.OK(l.m360.M360CreateNoteWithResponse(context.Background(), m360, m360api.NoteCreate{Body: "Hi"})); err != nil {
		t.Fatal(err)
	}
	l.settle(t)
	want := timeline{HLNotes: []string{"From Marketing 360: Hi", "Likes tea"},
		M360Tasks: []string{"Book the onboarding call with Ada Lovelace", "Follow up: Ada Lovelace", "Read: Likes tea",
			"Send the welcome pack to Ada Lovelace"},
		M360Notes: []string{"From Marketing 360: Hi", "Hi", "Likes tea", "Welcome, Ada Lovelace!"}}
	check := func(step string) {
		t.Helper()
		got := l.timeline(t, id)
		for _, list := range [][]string{got.HLNotes, got.M360Notes} {
			for i := range list {
				list[i] = withoutMarker(list[i])
			}
			slices.Sort(list)
		}
		wantTimeline(t, step, got, want)
		for rule, n := range map[string]int{"m360-note-to-hl": 1, "hl-note-to-task": 1} {
			if c := ruleCount(t, l.db, rule); c.Done != n || c.Parked+c.Pending != 0 {
				t.Errorf("%s: %s ledger %+v, want %d done", step, rule, c, n)
			}
		}
	}
	check("settled")
	made := l.createCounts(t)
	if status, body := l.tw.Admin(http.MethodPost, "/__admin/webhooks/deliveries/redeliver", map[string]any{}); status != http.StatusAccepted {
		t.Fatalf("redeliver: %d %s", status, body)
	}
	l.settle(t)
	check("redelivered")
	if got := l.createCounts(t); !maps.Equal(got, made) {
		t.Errorf("creates after the redeliveries %v, want %v (none more)", got, made)
	}
}

package engine_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/rules"
)

// TestRules_TheIssuesExamplesRunThroughTheConverger: the rule file of the
// three examples (sync/rules/testdata/examples.yaml, as a user writes it),
// loaded by sync/rules and run by the converger against both twins: a tag
// added enters the contact into the campaign, a Marketing 360 task
// completed makes one HighLevel note, a custom field value sets the mapped
// field; converging each entity again does nothing more.
func TestRules_TheIssuesExamplesRunThroughTheConverger(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	campaign := h.activeCampaigns(t)[0]
	file, err := os.ReadFile("../rules/testdata/examples.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file = []byte(strings.Replace(string(file), `campaignId: "42"`, `campaignId: "`+strconv.FormatInt(campaign, 10)+`"`, 1))
	cat, err := rules.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(rules.Options{Catalog: cat}, rules.Source{Name: "examples.yaml", Data: file})
	if err != nil {
		t.Fatal(err)
	}
	h.rules = set
	c := h.converger(t, nil, nil, 0)
	id := h.createContact(t, 0)
	contact := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact, Tenant: h.tw.Location(), ID: id}
	convergeJob(t, c, contact)

	// 1. Tagged vip, from a webinar: the campaign, once.
	source, tags := "webinar", []string{"vip"}
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithResponse(context.Background(), id, nil,
		highlevelapi.UpdateContactDto{Source: &source, Tags: &tags})); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		convergeJob(t, c, contact)
	}
	if got := h.timeline(t, id).Triggers; len(got) != 1 || got[0] != campaign {
		t.Errorf("campaign triggers %v, want [%d] once", got, campaign)
	}

	// 2. A Marketing 360 task completed: one HighLevel note.
	m360 := h.m360ContactOf(t, id)
	task := h.createM360Task(t, m360, "Quote")
	job := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(task, 10),
		Parent: strconv.FormatInt(m360, 10)}
	convergeJob(t, c, job)
	h.completeM360Task(t, m360, task)
	for range 2 {
		convergeJob(t, c, job)
	}
	notes := 0
	for _, n := range h.tw.Export().Notes {
		if n.ContactID == id && strings.HasPrefix(n.Body, "Done in Marketing 360: Quote") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("%d HighLevel notes of the completed task, want 1", notes)
	}

	// 3. pipelineStage won: the mapped custom field.
	if _, err := highlevelapi.OK(h.hl.UpdateContactWithBodyWithResponse(context.Background(), id, nil, "application/json",
		strings.NewReader(`{"customFields":[{"id":"pipelineStage","field_value":"won"}]}`))); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		convergeJob(t, c, contact)
	}
	if got := h.tw.Counterpart(id); got.Fields["stage"] != "won" || got.Contacts != 1 {
		t.Errorf("the Marketing 360 contact has custom fields %v (%d contacts), want stage won on one", got.Fields, got.Contacts)
	}
	for _, rule := range []string{"vip-webinar-campaign", "m360-task-done-note", "won-stage"} {
		if n := ruleCount(t, h.db, rule); n.Done != 1 || n.Parked+n.Pending != 0 {
			t.Errorf("rule %s: %+v, want done once", rule, n)
		}
	}
}

package run_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
)

// newLeadRule enters each new HighLevel contact's Marketing 360
// counterpart into a campaign, once per contact.
type newLeadRule struct{ campaign int64 }

func (r newLeadRule) Plan(in engine.RuleInput) ([]engine.RuleAction, error) {
	if in.Trigger != "highlevel.ContactCreate" || in.MappedContact == nil {
		return nil, nil
	}
	return []engine.RuleAction{{Rule: "new-lead", Action: "trigger", Key: "rule:new-lead:trigger:" + in.ID,
		API: engine.SideM360, Operation: "m360-trigger-campaign", Method: http.MethodPost,
		Path: fmt.Sprintf("/v1/campaigns/%d/triggers", r.campaign), Body: fmt.Appendf(nil, `{"contactId":%v}`, in.MappedContact["id"])}}, nil
}

// TestSync_RuleActsOnWebhooksOnceAndIsCountedByRule: a running sync with
// a user rule, the twin delivering every webhook twice (and a
// ContactUpdate after each ContactCreate): each new contact is entered
// into the campaign once, also after a replay of every contact's job and a
// reconcile poll, and /metrics counts the rule's actions done.
func TestSync_RuleActsOnWebhooksOnceAndIsCountedByRule(t *testing.T) {
	t.Parallel()
	tw := twintest.New(t, twintest.Options{Listen: true})
	var campaign int64
	for _, c := range tw.Export().M360Campaigns {
		if c.Status == "active" {
			campaign = c.ID
			break
		}
	}
	cfg := syncConfig(t, tw)
	cfg.Rules = newLeadRule{campaign: campaign}
	s := startSync(t, tw, cfg, map[string]any{"duplicates": 1, "updateAfterCreate": true})
	ids := createContacts(t, tw, 2)
	want := `contactbridge_sync_rule_actions_total{outcome="done",rule="new-lead"} 2`
	var scraped string
	twintest.WaitFor(t, wait, func() bool {
		scraped = scrape(t, s.URL()+run.PathMetrics)
		return strings.Contains(scraped, want)
	})
	ctx := context.Background()
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// A replay of every contact's job and a reconcile poll of every
	// stream: nothing more is triggered.
	if err := s.DB().Tx(ctx, func(tx *state.Tx) error {
		for _, id := range ids {
			if _, err := s.Queue().Enqueue(ctx, tx, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact,
				Tenant: tw.Location(), ID: id}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, stream := range s.Poller().Streams() {
		if _, err := s.Poller().Poll(ctx, stream); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		c := tw.Counterpart(id)
		n := 0
		for _, tr := range tw.Export().M360Triggers {
			if tr.ContactID == c.ID && tr.CampaignID == campaign {
				n++
			}
		}
		if n != 1 {
			t.Errorf("contact %s: %d campaign entries, want 1", id, n)
		}
	}
	if n := tw.Count("m360-trigger-campaign"); n != len(ids) {
		t.Errorf("%d trigger calls for %d new contacts delivered twice, want one each", n, len(ids))
	}
	if !strings.Contains(scraped, `contactbridge_sync_rule_actions_total{outcome="parked",rule="new-lead"} 0`) {
		t.Errorf("/metrics lacks the rule's parked count:\n%s", scraped)
	}
}

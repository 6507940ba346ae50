package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// campaignPlans are flow 5's triggers for HighLevel contact hl as it is
// now (first: the sync sees it for the first time), keyed
// f5:<rule>:<hlContactId>:<transition>, so that each fires once ever.
func (f Flows) campaignPlans(hl highlevelapi.Contact, first bool) []plan {
	var out []plan
	add := func(r CampaignRule, transition string) {
		out = append(out, plan{key: fmt.Sprintf("f5:%s:%s:%s", r.Name, hl.Id, transition), flow: flowCampaigns,
			op: opTrigger, campaign: r.Campaign})
	}
	for _, r := range f.CampaignRules {
		switch r.On {
		case RuleNewLead:
			if first {
				add(r, "new")
			}
		case RuleTagAdded:
			for _, tag := range hl.Tags {
				if r.Tag == "" || r.Tag == tag {
					add(r, "tag:"+tag)
				}
			}
		case RuleFieldChanged:
			if v := fieldValue(hl, r.Field); v != "" && (r.Value == "" || r.Value == v) {
				add(r, "value:"+v)
			}
		}
	}
	return out
}

// fieldValue is a contact's value of a rule's field: type, source, or a
// custom field by id (a string as is, a value of another JSON type, such as
// a number or a multi-select's array, as its JSON text).
func fieldValue(hl highlevelapi.Contact, field string) string {
	switch field {
	case "type":
		return deref(hl.Type)
	case "source":
		return deref(hl.Source)
	}
	for _, cf := range hl.CustomFields {
		if cf.Id == field {
			if s, ok := cf.Value.(string); ok {
				return s
			}
			b, err := json.Marshal(cf.Value)
			if err != nil {
				return ""
			}
			return string(b)
		}
	}
	return ""
}

// triggerCall enters the Marketing 360 contact into a campaign. A trigger
// is idempotent there (the same contact twice is one entry), so an unknown
// outcome is just tried again: it has no find.
func (c *Converger) triggerCall(m360Contact, campaign int64) effectCall {
	return effectCall{create: func(ctx context.Context) (string, int, error) {
		if err := c.m360.TriggerCampaign(ctx, campaign, m360Contact); err != nil {
			return "", 0, err
		}
		return fmt.Sprintf("%d:%d", campaign, m360Contact), http.StatusOK, nil
	}}
}

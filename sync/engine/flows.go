package engine

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// Defaults of Flows.
const (
	DefaultFollowUp    = "Follow up: {contact}"
	DefaultWelcomeNote = "Welcome, {contact}!"
)

// DefaultOnboardingTasks are the onboarding tasks of flow 2 by default.
var DefaultOnboardingTasks = []string{"Send the welcome pack to {contact}", "Book the onboarding call with {contact}"}

// Flows are the converger's rules, each of which can be switched off
// (DefaultFlows has every one on). In the texts, {contact} stands for the
// contact's name.
type Flows struct {
	// Contacts is flow 1: a HighLevel contact, created or updated, makes or
	// updates its Marketing 360 contact and a follow-up task there.
	Contacts bool
	// FollowUp is the follow-up task's title ("" means DefaultFollowUp).
	FollowUp string
	// Onboarding is flow 2 (with Contacts): once per contact ever, the
	// OnboardingTasks (nil means DefaultOnboardingTasks) and the
	// WelcomeNote ("" means DefaultWelcomeNote) in Marketing 360.
	Onboarding      bool
	OnboardingTasks []string
	WelcomeNote     string
	// M360Tasks is flow 3: a Marketing 360 task made there (not by the
	// sync) makes a HighLevel task under the contact's counterpart, its
	// body marked; its completion completes that task.
	M360Tasks bool
	// Notes is flow 4 (and the notes of flow 6): a HighLevel note makes a
	// Marketing 360 note; its edits and its deletion are mirrored.
	Notes bool
	// Appointments is flow 4: a HighLevel appointment makes a Marketing 360
	// calendar event; its changes and its deletion are mirrored.
	Appointments bool
	// Tasks is flow 6: a HighLevel task made there (not by flow 3) makes a
	// Marketing 360 task; its completion completes it.
	Tasks bool
	// Campaigns is flow 5: the CampaignRules (none by default) trigger
	// Marketing 360 campaigns on HighLevel contact events (with Contacts).
	Campaigns     bool
	CampaignRules []CampaignRule
}

// CampaignRule triggers a Marketing 360 campaign for a contact when a
// condition becomes true, once per (contact, rule, transition): the
// transition is the contact's first sight for RuleNewLead, the tag for
// RuleTagAdded, the field's new value for RuleFieldChanged. A tag removed
// and added again, or a field set back to a value it had, does not fire
// again (the ledger keeps every key ever fired).
type CampaignRule struct {
	// Name names the rule in the ledger's keys: renaming it makes it fire
	// again for every contact.
	Name string
	// Campaign is the Marketing 360 campaign's id.
	Campaign int64
	// On is RuleNewLead, RuleTagAdded or RuleFieldChanged.
	On string
	// Tag is RuleTagAdded's tag ("" means any tag).
	Tag string
	// Field is RuleFieldChanged's field: "type" (the contact's status:
	// lead, customer), "source", or a custom field's id (a pipeline field).
	Field string
	// Value is the value RuleFieldChanged waits for ("" means any value but
	// empty).
	Value string
}

// Conditions of a CampaignRule.
const (
	RuleNewLead      = "new-lead"      // the contact is seen for the first time (ContactCreate)
	RuleTagAdded     = "tag-added"     // the contact carries the tag
	RuleFieldChanged = "field-changed" // the field holds the value
)

// DefaultFlows are every flow on with the default texts and no campaign
// rule.
func DefaultFlows() Flows {
	return Flows{Contacts: true, Onboarding: true, M360Tasks: true, Notes: true, Appointments: true, Tasks: true, Campaigns: true}
}

func (f Flows) withDefaults() (Flows, error) {
	if f.FollowUp == "" {
		f.FollowUp = DefaultFollowUp
	}
	if f.WelcomeNote == "" {
		f.WelcomeNote = DefaultWelcomeNote
	}
	if f.OnboardingTasks == nil {
		f.OnboardingTasks = DefaultOnboardingTasks
	}
	for i, t := range f.OnboardingTasks {
		if strings.TrimSpace(t) == "" {
			return f, fmt.Errorf("%w: onboarding task %d has no title", ErrInvalidConfig, i+1)
		}
	}
	names := map[string]bool{}
	for i, r := range f.CampaignRules {
		switch {
		case strings.TrimSpace(r.Name) == "" || names[r.Name]:
			return f, fmt.Errorf("%w: campaign rule %d needs a name of its own", ErrInvalidConfig, i+1)
		case r.Campaign <= 0:
			return f, fmt.Errorf("%w: campaign rule %q has no campaign id", ErrInvalidConfig, r.Name)
		case r.On != RuleNewLead && r.On != RuleTagAdded && r.On != RuleFieldChanged:
			return f, fmt.Errorf("%w: campaign rule %q: on %q is none of %s, %s, %s", ErrInvalidConfig, r.Name, r.On,
				RuleNewLead, RuleTagAdded, RuleFieldChanged)
		case r.On == RuleFieldChanged && r.Field == "":
			return f, fmt.Errorf("%w: campaign rule %q names no field", ErrInvalidConfig, r.Name)
		}
		names[r.Name] = true
	}
	return f, nil
}

// Effect operations.
const (
	opCreateContact = "create-contact"
	opCreateTask    = "create-task"
	opCreateNote    = "create-note"
	opCreateEvent   = "create-event"
	opTrigger       = "trigger"
)

// Flow names, as the ledger records them.
const (
	flowContacts   = "f1"
	flowOnboarding = "f2"
	flowM360Tasks  = "f3"
	flowTimeline   = "f4"
	flowCampaigns  = "f5"
	flowTasks      = "f6"
)

// contactPlans are the effects a HighLevel contact asks for: its Marketing
// 360 contact's creation, then the effects on that contact. Keys are from
// business identity (the HighLevel contact's id): once planned, never again.
func (f Flows) contactPlans(hlID, name string) (contact plan, children []plan) {
	fill := func(s string) string { return strings.ReplaceAll(s, "{contact}", name) }
	contact = plan{key: "f1:m360-contact:" + hlID, flow: flowContacts, op: opCreateContact}
	children = append(children, plan{key: "f1:follow-up:" + hlID, flow: flowContacts, op: opCreateTask, text: fill(f.FollowUp)})
	if f.Onboarding {
		for i, t := range f.OnboardingTasks {
			children = append(children, plan{key: fmt.Sprintf("f2:onboarding:%s:%d", hlID, i+1), flow: flowOnboarding,
				op: opCreateTask, text: fill(t)})
		}
		children = append(children, plan{key: "f2:welcome-note:" + hlID, flow: flowOnboarding, op: opCreateNote,
			text: fill(f.WelcomeNote)})
	}
	return contact, children
}

// Custom fields of the Marketing 360 contact that carry what it has no
// field for.
const (
	fieldAddress = "address"
	fieldDND     = "dnd"
	fieldSource  = "source"
)

// desiredContact is the Marketing 360 contact's mapped fields for a
// HighLevel contact: name, email, phone and tags as they are; the address
// (one line), DND and source in custom fields (the Marketing 360 contact has
// no address or DND, and its source is a reference to one of the account's
// sources, not a text); externalIds.ghl is the HighLevel id.
func desiredContact(hl highlevelapi.Contact) m360api.ContactInput {
	var addr []string
	for _, p := range []*string{hl.Address1, hl.City, hl.State, hl.PostalCode, hl.Country} {
		if p != nil && strings.TrimSpace(*p) != "" {
			addr = append(addr, strings.TrimSpace(*p))
		}
	}
	fields := map[string]string{fieldAddress: strings.Join(addr, ", "), fieldDND: strconv.FormatBool(hl.Dnd != nil && *hl.Dnd),
		fieldSource: deref(hl.Source)}
	tags := append([]string{}, hl.Tags...)
	id := hl.Id
	return m360api.ContactInput{FirstName: hl.FirstName, LastName: hl.LastName, Email: hl.Email, Phone: hl.Phone,
		Tags: &tags, CustomFields: &fields, ExternalIds: &m360api.ExternalIdsInput{Ghl: &id}}
}

// contactName is how the texts name a contact.
func contactName(hl highlevelapi.Contact) string {
	name := strings.TrimSpace(deref(hl.FirstName) + " " + deref(hl.LastName))
	switch {
	case name != "":
		return name
	case deref(hl.Name) != "":
		return deref(hl.Name)
	case deref(hl.Email) != "":
		return deref(hl.Email)
	}
	return hl.Id
}

// mergeContact is the Marketing 360 contact cur with the mapped fields of
// want: what the PUT sends, keeping what the sync does not map (company,
// types, source, other custom fields). The PUT is a partial update, so a
// mapped string HighLevel lacks is sent as "", which clears it. It also
// tells whether anything mapped differs.
func mergeContact(cur m360api.Contact, want m360api.ContactInput) (m360api.ContactInput, bool) {
	fields := maps.Clone(cur.CustomFields)
	if fields == nil {
		fields = map[string]string{}
	}
	changed := false
	for k, v := range *want.CustomFields {
		if fields[k] != v {
			fields[k], changed = v, true
		}
	}
	changed = changed || deref(cur.FirstName) != deref(want.FirstName) || deref(cur.LastName) != deref(want.LastName) ||
		deref(cur.Email) != deref(want.Email) || deref(cur.Phone) != deref(want.Phone) ||
		strings.Join(cur.Tags, "\x00") != strings.Join(*want.Tags, "\x00") || deref(cur.ExternalIds.Ghl) != deref(want.ExternalIds.Ghl)
	out := want
	for _, f := range []**string{&out.FirstName, &out.LastName, &out.Email, &out.Phone} {
		if *f == nil {
			*f = new(string)
		}
	}
	out.CustomFields = &fields
	out.Company = cur.Company
	if len(cur.Types) > 0 {
		types := make([]m360api.RefInput, len(cur.Types))
		for i, t := range cur.Types {
			types[i] = m360api.RefInput{Id: t.Id, Name: &t.Name}
		}
		out.Types = &types
	}
	if cur.Source != nil {
		out.Source = &struct {
			Id   int64   `json:"id"`
			Name *string `json:"name,omitempty"`
		}{Id: cur.Source.Id, Name: &cur.Source.Name}
	}
	return out, changed
}

// parseM360ID reads a Marketing 360 id as the ledger stores it.
func parseM360ID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("engine: Marketing 360 id %q: %w", s, err)
	}
	return id, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

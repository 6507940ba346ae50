package engine

import "net/url"

// Rules are user rules (package sync/rules makes them from rule files): for
// each change the converger sees, they say which actions to take. The
// converger runs each planned action at most once, through the effects
// ledger, under the action's Key.
type Rules interface {
	// Plan evaluates the rules whose trigger is in.Trigger on the change
	// and returns the actions of those whose condition holds, their
	// requests built from the templates. It calls nothing.
	Plan(in RuleInput) ([]RuleAction, error)
}

// RuleInput is a change as the rules see it: the trigger it is, the entity
// as re-read through its API (not the webhook's partial payload) and its
// counterpart on the other side.
type RuleInput struct {
	// Trigger is the change's trigger as `sync catalog` names it, with its
	// API: "highlevel.ContactCreate", "highlevel.ContactTagUpdate",
	// "m360.task.completed", ...
	Trigger string
	// Location is the HighLevel location (or the paired location of the
	// Marketing 360 account).
	Location string
	// Entity is the entity's kind (EntityContact, EntityTask, ...), ID
	// its id on its own API and Version what tells this change from the
	// entity's others (its dateUpdated, or a hash of its content).
	Entity  string
	ID      string
	Version string
	// Record is the entity as its API answers it (its JSON, decoded).
	Record map[string]any
	// Mapped is its counterpart on the other side as that API answers it
	// (nil when there is none yet); Contact is the contact the entity
	// belongs to (the entity itself for a contact) and MappedContact that
	// contact's counterpart.
	Mapped        map[string]any
	Contact       map[string]any
	MappedContact map[string]any
}

// RuleAction is one planned action of a rule: one request to one operation
// of one API.
type RuleAction struct {
	// Rule and Action name it (Action is the action's name in its rule, or
	// its 1-based index).
	Rule   string
	Action string
	// Key is the effect's key in the ledger: "rule:<rule>:<action>:<entity
	// id>:<version>", or without the version for an action that runs once
	// per entity ever.
	Key string
	// API is "highlevel" or "m360"; Operation the operationId.
	API       string
	Operation string
	// Method and Path (parameters filled, escaped) with Query and Body
	// (JSON; nil for none) are the request to send.
	Method string
	Path   string
	Query  url.Values
	Body   []byte
}

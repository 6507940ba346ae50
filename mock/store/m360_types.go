package store

import (
	"maps"
	"slices"
)

// The Marketing 360 tables. Every record carries the account it belongs to,
// has an integer id from its table's own sequence (starting at
// M360FirstID, so runs are deterministic) and epoch-second timestamps from
// the store's clock. They share the store's lock, snapshot and reset with the
// HighLevel tables.

// M360FirstID is the first id of every Marketing 360 table.
const M360FirstID int64 = 1001

// M360Account is a Marketing 360 account: the unit an API key belongs to.
type M360Account struct {
	ID       int64  `json:"id" yaml:"id"`
	Name     string `json:"name" yaml:"name"`
	Timezone string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	Created  int64  `json:"created" yaml:"created"`
}

// M360Ref is a reference to a named record (a contact's source or type).
type M360Ref struct {
	ID   int64  `json:"id" yaml:"id"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
}

// M360ExternalIDs holds a record's ids in other systems.
type M360ExternalIDs struct {
	GHL string `json:"ghl,omitempty" yaml:"ghl,omitempty"`
}

// M360Contact is a CRM contact of an account. Empty strings are unset.
type M360Contact struct {
	ID           int64             `json:"id" yaml:"id"`
	AccountID    int64             `json:"accountId" yaml:"accountId"`
	FirstName    string            `json:"firstName,omitempty" yaml:"firstName,omitempty"`
	LastName     string            `json:"lastName,omitempty" yaml:"lastName,omitempty"`
	Email        string            `json:"email,omitempty" yaml:"email,omitempty"`
	Phone        string            `json:"phone,omitempty" yaml:"phone,omitempty"`
	Company      string            `json:"company,omitempty" yaml:"company,omitempty"`
	Tags         []string          `json:"tags,omitempty" yaml:"tags,omitempty"`
	Source       *M360Ref          `json:"source,omitempty" yaml:"source,omitempty"`
	Types        []M360Ref         `json:"types,omitempty" yaml:"types,omitempty"`
	CustomFields map[string]string `json:"customFields,omitempty" yaml:"customFields,omitempty"`
	ExternalIDs  M360ExternalIDs   `json:"externalIds" yaml:"externalIds"`
	// NextContact is when the contact is next to be contacted, in epoch
	// seconds (nil for never); Assignees the user the contact is assigned
	// to (the public Contacts Index names the object so).
	NextContact *int64        `json:"nextContact,omitempty" yaml:"nextContact,omitempty"`
	Assignees   *M360Assignee `json:"assignees,omitempty" yaml:"assignees,omitempty"`
	Created     int64         `json:"created" yaml:"created"`
	Updated     int64         `json:"updated" yaml:"updated"`
}

// M360Assignee is the user a contact is assigned to.
type M360Assignee struct {
	Username string `json:"username" yaml:"username"`
	FullName string `json:"fullName,omitempty" yaml:"fullName,omitempty"`
	Email    string `json:"email,omitempty" yaml:"email,omitempty"`
}

// M360Task is a task on a contact. Assignee is a username ("" for none).
type M360Task struct {
	ID          int64  `json:"id" yaml:"id"`
	AccountID   int64  `json:"accountId" yaml:"accountId"`
	ContactID   int64  `json:"contactId" yaml:"contactId"`
	Title       string `json:"title" yaml:"title"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	DueAt       *int64 `json:"dueAt,omitempty" yaml:"dueAt,omitempty"`
	Completed   bool   `json:"completed" yaml:"completed"`
	// CompletedAt is set by the store when Completed becomes true and
	// cleared when it becomes false.
	CompletedAt *int64 `json:"completedAt,omitempty" yaml:"completedAt,omitempty"`
	Assignee    string `json:"assignee,omitempty" yaml:"assignee,omitempty"`
	// ExternalIDs are the task's ids in other systems: what made it can
	// find it again (M360TaskFilter.ExternalID).
	ExternalIDs M360ExternalIDs `json:"externalIds,omitzero" yaml:"externalIds,omitempty"`
	Created     int64           `json:"created" yaml:"created"`
	Updated     int64           `json:"updated" yaml:"updated"`
}

// M360Note is a note on a contact. Author is a username ("" for none).
type M360Note struct {
	ID        int64  `json:"id" yaml:"id"`
	AccountID int64  `json:"accountId" yaml:"accountId"`
	ContactID int64  `json:"contactId" yaml:"contactId"`
	Body      string `json:"body" yaml:"body"`
	Author    string `json:"author,omitempty" yaml:"author,omitempty"`
	// ExternalIDs are the note's ids in other systems (M360NoteFilter.ExternalID).
	ExternalIDs M360ExternalIDs `json:"externalIds,omitzero" yaml:"externalIds,omitempty"`
	Created     int64           `json:"created" yaml:"created"`
	Updated     int64           `json:"updated" yaml:"updated"`
}

// Statuses of a calendar event.
const (
	M360EventScheduled = "scheduled"
	M360EventCancelled = "cancelled"
	M360EventCompleted = "completed"
)

// M360Event is a calendar event with a contact; Start and End are epoch
// seconds, End after Start.
type M360Event struct {
	ID          int64           `json:"id" yaml:"id"`
	AccountID   int64           `json:"accountId" yaml:"accountId"`
	ContactID   int64           `json:"contactId" yaml:"contactId"`
	Title       string          `json:"title,omitempty" yaml:"title,omitempty"`
	Start       int64           `json:"start" yaml:"start"`
	End         int64           `json:"end" yaml:"end"`
	Location    string          `json:"location,omitempty" yaml:"location,omitempty"`
	Status      string          `json:"status" yaml:"status"`
	ExternalIDs M360ExternalIDs `json:"externalIds" yaml:"externalIds"`
	Created     int64           `json:"created" yaml:"created"`
	Updated     int64           `json:"updated" yaml:"updated"`
}

// Statuses of a campaign.
const (
	M360CampaignActive = "active"
	M360CampaignPaused = "paused"
)

// M360Campaign is an automated campaign of an account. Campaigns are seeded
// (PutM360Campaign), not created through the API.
type M360Campaign struct {
	ID        int64  `json:"id" yaml:"id"`
	AccountID int64  `json:"accountId" yaml:"accountId"`
	Name      string `json:"name" yaml:"name"`
	Status    string `json:"status" yaml:"status"`
}

// M360Trigger records that a contact was entered into a campaign; there is at
// most one per campaign and contact.
type M360Trigger struct {
	ID         int64 `json:"id" yaml:"id"`
	AccountID  int64 `json:"accountId" yaml:"accountId"`
	CampaignID int64 `json:"campaignId" yaml:"campaignId"`
	ContactID  int64 `json:"contactId" yaml:"contactId"`
	Created    int64 `json:"created" yaml:"created"`
}

// M360Webhook is a webhook subscription of an account.
type M360Webhook struct {
	ID        int64    `json:"id" yaml:"id"`
	AccountID int64    `json:"accountId" yaml:"accountId"`
	URL       string   `json:"url" yaml:"url"`
	Events    []string `json:"events" yaml:"events"`
	Secret    string   `json:"secret" yaml:"secret"`
	Created   int64    `json:"created" yaml:"created"`
}

// M360Paging selects a page of a list: Page from 1 (0 counts as 1),
// PageSize items per page (0: no items, only the total).
type M360Paging struct {
	Page, PageSize int
}

// M360ContactFilter selects an account's contacts, by id or, with
// UpdatedSince, by (Updated, ID). Zero fields select all.
type M360ContactFilter struct {
	M360Paging
	M360Changes
	Email string // exact, case-insensitive
}

// M360Changes selects records by what changed and who made them. Zero
// fields select all.
type M360Changes struct {
	// UpdatedSince, when not nil, keeps records with Updated >= it and
	// orders them by (Updated, ID).
	UpdatedSince *int64
	ExternalID   string // exact match of ExternalIDs.GHL
}

// keeps tells whether a record updated at updated with ids is selected.
func (c M360Changes) keeps(updated int64, ids M360ExternalIDs) bool {
	return (c.UpdatedSince == nil || updated >= *c.UpdatedSince) && (c.ExternalID == "" || ids.GHL == c.ExternalID)
}

// M360TaskFilter selects an account's tasks, by id or, with UpdatedSince,
// by (Updated, ID). Zero fields select all.
type M360TaskFilter struct {
	M360Paging
	M360Changes
	ContactID int64 // 0: every contact's
	Completed *bool
}

// M360NoteFilter selects an account's notes, by id or, with UpdatedSince,
// by (Updated, ID). Zero fields select all.
type M360NoteFilter struct {
	M360Paging
	M360Changes
	ContactID int64 // 0: every contact's
}

// M360EventFilter selects an account's calendar events, ordered by (Start,
// ID) or, with UpdatedSince, by (Updated, ID).
type M360EventFilter struct {
	M360Paging
	M360Changes
	ContactID int64  // 0: every contact's
	From      *int64 // Start >= From
	To        *int64 // Start < To
}

// --- what the tables need of the records ---

// m360Row is what a table needs of its record type.
type m360Row[T any] interface {
	*T
	key() (id, account int64)
	setID(id int64)
	clone() T
}

func (c M360Contact) key() (int64, int64)  { return c.ID, c.AccountID }
func (t M360Task) key() (int64, int64)     { return t.ID, t.AccountID }
func (n M360Note) key() (int64, int64)     { return n.ID, n.AccountID }
func (e M360Event) key() (int64, int64)    { return e.ID, e.AccountID }
func (c M360Campaign) key() (int64, int64) { return c.ID, c.AccountID }
func (t M360Trigger) key() (int64, int64)  { return t.ID, t.AccountID }
func (w M360Webhook) key() (int64, int64)  { return w.ID, w.AccountID }

func (c *M360Contact) setID(id int64)  { c.ID = id }
func (t *M360Task) setID(id int64)     { t.ID = id }
func (n *M360Note) setID(id int64)     { n.ID = id }
func (e *M360Event) setID(id int64)    { e.ID = id }
func (c *M360Campaign) setID(id int64) { c.ID = id }
func (t *M360Trigger) setID(id int64)  { t.ID = id }
func (w *M360Webhook) setID(id int64)  { w.ID = id }

func (c M360Contact) clone() M360Contact {
	c.Tags = slices.Clone(c.Tags)
	c.Types = slices.Clone(c.Types)
	c.CustomFields = maps.Clone(c.CustomFields)
	if c.Source != nil {
		src := *c.Source
		c.Source = &src
	}
	c.NextContact = cloneInt(c.NextContact)
	if c.Assignees != nil {
		a := *c.Assignees
		c.Assignees = &a
	}
	return c
}

func (t M360Task) clone() M360Task {
	t.DueAt = cloneInt(t.DueAt)
	t.CompletedAt = cloneInt(t.CompletedAt)
	return t
}

func (n M360Note) clone() M360Note         { return n }
func (e M360Event) clone() M360Event       { return e }
func (c M360Campaign) clone() M360Campaign { return c }
func (t M360Trigger) clone() M360Trigger   { return t }
func (w M360Webhook) clone() M360Webhook {
	w.Events = slices.Clone(w.Events)
	return w
}

func cloneInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// --- tasks, notes and calendar events ---

// m360Record is what the generic operations need of a record with the
// store's timestamps: a task, a note or a calendar event.
type m360Record[T any] interface {
	m360Row[T]
	// contact is the contact the record is with.
	contact() int64
	// stampCreated stamps a new record made at at.
	stampCreated(at int64)
	// keep puts back what an update may not change: the id, account and
	// created time, and the contact of a record that belongs to one.
	keep(old T)
	// stampUpdated stamps an update of old made at at.
	stampUpdated(old T, at int64)
}

func (t M360Task) contact() int64  { return t.ContactID }
func (n M360Note) contact() int64  { return n.ContactID }
func (e M360Event) contact() int64 { return e.ContactID }

// A task created completed is completed at its creation.
func (t *M360Task) stampCreated(at int64) {
	t.Created, t.Updated, t.CompletedAt = at, at, nil
	if t.Completed {
		t.CompletedAt = &t.Created
	}
}
func (n *M360Note) stampCreated(at int64)  { n.Created, n.Updated = at, at }
func (e *M360Event) stampCreated(at int64) { e.Created, e.Updated = at, at }

func (t *M360Task) keep(old M360Task) {
	t.ID, t.AccountID, t.ContactID, t.Created = old.ID, old.AccountID, old.ContactID, old.Created
}
func (n *M360Note) keep(old M360Note) {
	n.ID, n.AccountID, n.ContactID, n.Created = old.ID, old.AccountID, old.ContactID, old.Created
}

// An update may move an event to another contact of the account.
func (e *M360Event) keep(old M360Event) {
	e.ID, e.AccountID, e.Created = old.ID, old.AccountID, old.Created
}

// CompletedAt is the store's: set to the update's time when Completed
// becomes true, cleared when it becomes false.
func (t *M360Task) stampUpdated(old M360Task, at int64) {
	t.Updated = at
	switch {
	case t.Completed && !old.Completed:
		t.CompletedAt = &t.Updated
	case !t.Completed:
		t.CompletedAt = nil
	default:
		t.CompletedAt = cloneInt(old.CompletedAt)
	}
}
func (n *M360Note) stampUpdated(_ M360Note, at int64)   { n.Updated = at }
func (e *M360Event) stampUpdated(_ M360Event, at int64) { e.Updated = at }

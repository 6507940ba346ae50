package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	Created      int64             `json:"created" yaml:"created"`
	Updated      int64             `json:"updated" yaml:"updated"`
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
	Created     int64  `json:"created" yaml:"created"`
	Updated     int64  `json:"updated" yaml:"updated"`
}

// M360Note is a note on a contact. Author is a username ("" for none).
type M360Note struct {
	ID        int64  `json:"id" yaml:"id"`
	AccountID int64  `json:"accountId" yaml:"accountId"`
	ContactID int64  `json:"contactId" yaml:"contactId"`
	Body      string `json:"body" yaml:"body"`
	Author    string `json:"author,omitempty" yaml:"author,omitempty"`
	Created   int64  `json:"created" yaml:"created"`
	Updated   int64  `json:"updated" yaml:"updated"`
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

// M360ContactFilter selects an account's contacts. Zero fields select all.
type M360ContactFilter struct {
	M360Paging
	// UpdatedSince, when not nil, keeps contacts with Updated >= it and
	// orders them by (Updated, ID); otherwise the order is by ID.
	UpdatedSince *int64
	Email        string // exact, case-insensitive
	ExternalID   string // exact match of ExternalIDs.GHL
}

// M360TaskFilter selects an account's tasks. Zero fields select all.
type M360TaskFilter struct {
	M360Paging
	ContactID    int64 // 0: every contact's
	UpdatedSince *int64
	Completed    *bool
}

// M360EventFilter selects an account's calendar events, ordered by (Start, ID).
type M360EventFilter struct {
	M360Paging
	ContactID int64  // 0: every contact's
	From      *int64 // Start >= From
	To        *int64 // Start < To
}

// --- tables ---

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

// m360Table holds one kind of record by id and by account. Its callers hold
// the store's lock; it stores and returns values as given, the store clones.
type m360Table[T any, P m360Row[T]] struct {
	rows      map[int64]T
	byAccount map[int64][]int64 // ids ascending
	next      int64
}

func newM360Table[T any, P m360Row[T]]() m360Table[T, P] {
	return m360Table[T, P]{rows: map[int64]T{}, byAccount: map[int64][]int64{}, next: M360FirstID}
}

// add stores v under the table's next id and returns it.
func (t *m360Table[T, P]) add(v T) T {
	P(&v).setID(t.next)
	t.put(v)
	return v
}

// put stores v under its own id, which must be new, moving the sequence past it.
func (t *m360Table[T, P]) put(v T) {
	id, account := P(&v).key()
	t.rows[id] = v
	ids := t.byAccount[account]
	i, _ := slices.BinarySearch(ids, id)
	t.byAccount[account] = slices.Insert(ids, i, id)
	t.next = max(t.next, id+1)
}

// get returns the record id of account.
func (t *m360Table[T, P]) get(account, id int64) (T, bool) {
	v, ok := t.rows[id]
	if !ok {
		return v, false
	}
	if _, acc := P(&v).key(); acc != account {
		var zero T
		return zero, false
	}
	return v, true
}

// set replaces a stored record (same id and account).
func (t *m360Table[T, P]) set(v T) {
	id, _ := P(&v).key()
	t.rows[id] = v
}

func (t *m360Table[T, P]) remove(id int64) {
	v, ok := t.rows[id]
	if !ok {
		return
	}
	_, account := P(&v).key()
	delete(t.rows, id)
	ids := t.byAccount[account]
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(t.byAccount, account)
	} else {
		t.byAccount[account] = ids
	}
}

// removeWhere removes the records of account for which drop is true.
func (t *m360Table[T, P]) removeWhere(account int64, drop func(T) bool) {
	for _, id := range slices.Clone(t.byAccount[account]) {
		if drop(t.rows[id]) {
			t.remove(id)
		}
	}
}

// scan calls fn with each record of account in id order.
func (t *m360Table[T, P]) scan(account int64, fn func(T)) {
	for _, id := range t.byAccount[account] {
		fn(t.rows[id])
	}
}

// all returns clones of every record, by id.
func (t *m360Table[T, P]) all() []T {
	ids := slices.Sorted(maps.Keys(t.rows))
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		v := t.rows[id]
		out = append(out, P(&v).clone())
	}
	return out
}

// m360State is the Marketing 360 part of the store. Callers hold mu.
type m360State struct {
	accounts  map[int64]M360Account
	nextAcct  int64
	contacts  m360Table[M360Contact, *M360Contact]
	emails    map[int64]map[string]int64 // account -> lower-case email -> contact
	tasks     m360Table[M360Task, *M360Task]
	notes     m360Table[M360Note, *M360Note]
	events    m360Table[M360Event, *M360Event]
	campaigns m360Table[M360Campaign, *M360Campaign]
	triggers  m360Table[M360Trigger, *M360Trigger]
	triggerOf map[[2]int64]int64 // (campaign, contact) -> trigger
	webhooks  m360Table[M360Webhook, *M360Webhook]
	// last is the latest second written or restored: writes never go back
	// in time, even on a clock set back.
	last int64
}

func newM360State() m360State {
	return m360State{
		accounts:  map[int64]M360Account{},
		nextAcct:  M360FirstID,
		contacts:  newM360Table[M360Contact](),
		emails:    map[int64]map[string]int64{},
		tasks:     newM360Table[M360Task](),
		notes:     newM360Table[M360Note](),
		events:    newM360Table[M360Event](),
		campaigns: newM360Table[M360Campaign](),
		triggers:  newM360Table[M360Trigger](),
		triggerOf: map[[2]int64]int64{},
		webhooks:  newM360Table[M360Webhook](),
	}
}

// m360Now is the time of a write in epoch seconds, never before an earlier
// write; records of the same second order by id. It leaves the HighLevel
// stamps alone. Callers hold mu.
func (s *Store) m360Now() int64 {
	s.m360.last = max(s.m360.last, s.clock.Now().Unix())
	return s.m360.last
}

func m360NotFound(kind string, id int64) error {
	return &NotFoundError{Kind: kind, ID: strconv.FormatInt(id, 10)}
}

// m360Page returns the page p of list, cloned, and the list's length.
func m360Page[T any, P m360Row[T]](list []T, p M360Paging) ([]T, int) {
	total := len(list)
	page := max(p.Page, 1)
	out := []T{}
	if p.PageSize <= 0 || page-1 > total/p.PageSize {
		return out, total
	}
	start := (page - 1) * p.PageSize
	end := min(start+p.PageSize, total)
	for i := start; i < end; i++ {
		out = append(out, P(&list[i]).clone())
	}
	return out, total
}

// byUpdated orders records by (updated, id): list is in id order, and the
// sort is stable.
func byUpdated[T any](list []T, updated func(T) int64) {
	slices.SortStableFunc(list, func(a, b T) int {
		ua, ub := updated(a), updated(b)
		switch {
		case ua < ub:
			return -1
		case ua > ub:
			return 1
		}
		return 0
	})
}

// --- accounts ---

// PutM360Account adds an account or replaces the one with the same id. An
// account without an id gets the next one; one without Created gets now.
func (s *Store) PutM360Account(a M360Account) M360Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ID == 0 {
		a.ID = s.m360.nextAcct
	}
	if a.Created == 0 {
		if old, ok := s.m360.accounts[a.ID]; ok {
			a.Created = old.Created
		} else {
			a.Created = s.m360Now()
		}
	}
	s.m360.accounts[a.ID] = a
	s.m360.nextAcct = max(s.m360.nextAcct, a.ID+1)
	return a
}

// M360Account returns an account.
func (s *Store) M360Account(id int64) (M360Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.m360.accounts[id]
	if !ok {
		return M360Account{}, m360NotFound("Account", id)
	}
	return a, nil
}

// M360Accounts lists the accounts by id.
func (s *Store) M360Accounts() []M360Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := slices.Collect(maps.Values(s.m360.accounts))
	slices.SortFunc(out, func(a, b M360Account) int { return cmpInt(a.ID, b.ID) })
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Store) m360Account(id int64) error {
	if _, ok := s.m360.accounts[id]; !ok {
		return m360NotFound("Account", id)
	}
	return nil
}

// --- contacts ---

// CreateM360Contact adds a contact to c.AccountID, giving it an id and
// timestamps. A taken email (case-insensitive) is a *ConflictError.
func (s *Store) CreateM360Contact(c M360Contact) (M360Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.m360Account(c.AccountID); err != nil {
		return M360Contact{}, err
	}
	if err := s.m360EmailFree(c.AccountID, c.Email, 0); err != nil {
		return M360Contact{}, err
	}
	c = c.clone()
	c.Created = s.m360Now()
	c.Updated = c.Created
	c = s.m360.contacts.add(c)
	s.m360IndexEmail(c)
	if s.observed() {
		s.tell(Created, "", nil, c.clone())
	}
	return c.clone(), nil
}

// m360EmailFree fails with a *ConflictError when email belongs to a contact
// of account other than self. Callers hold mu.
func (s *Store) m360EmailFree(account int64, email string, self int64) error {
	key := strings.ToLower(strings.TrimSpace(email))
	if key == "" {
		return nil
	}
	if id, ok := s.m360.emails[account][key]; ok && id != self {
		return &ConflictError{Field: "email", Reason: fmt.Sprintf("is already used by contact %d", id)}
	}
	return nil
}

func (s *Store) m360IndexEmail(c M360Contact) {
	key := strings.ToLower(strings.TrimSpace(c.Email))
	if key == "" {
		return
	}
	if s.m360.emails[c.AccountID] == nil {
		s.m360.emails[c.AccountID] = map[string]int64{}
	}
	s.m360.emails[c.AccountID][key] = c.ID
}

func (s *Store) m360UnindexEmail(c M360Contact) {
	key := strings.ToLower(strings.TrimSpace(c.Email))
	if m := s.m360.emails[c.AccountID]; m != nil && m[key] == c.ID {
		delete(m, key)
		if len(m) == 0 {
			delete(s.m360.emails, c.AccountID)
		}
	}
}

// M360Contact returns a contact of account.
func (s *Store) M360Contact(account, id int64) (M360Contact, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m360.contacts.get(account, id)
	if !ok {
		return M360Contact{}, m360NotFound("Contact", id)
	}
	return c.clone(), nil
}

// UpdateM360Contact applies fn to a copy of a contact of account and stores
// the result, keeping the email unique. An error from fn is returned as is
// and nothing changes. The id, account and created time are the store's.
func (s *Store) UpdateM360Contact(account, id int64, fn func(*M360Contact) error) (M360Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m360.contacts.get(account, id)
	if !ok {
		return M360Contact{}, m360NotFound("Contact", id)
	}
	next := old.clone()
	if err := fn(&next); err != nil {
		return M360Contact{}, err
	}
	next.ID, next.AccountID, next.Created = old.ID, old.AccountID, old.Created
	if err := s.m360EmailFree(account, next.Email, id); err != nil {
		return M360Contact{}, err
	}
	next = next.clone()
	next.Updated = s.m360Now()
	s.m360UnindexEmail(old)
	s.m360.contacts.set(next)
	s.m360IndexEmail(next)
	if s.observed() {
		s.tell(Updated, "", old.clone(), next.clone())
	}
	return next.clone(), nil
}

// DeleteM360Contact removes a contact of account with its tasks, notes,
// calendar events and campaign triggers.
func (s *Store) DeleteM360Contact(account, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m360.contacts.get(account, id)
	if !ok {
		return m360NotFound("Contact", id)
	}
	s.m360UnindexEmail(c)
	s.m360.contacts.remove(id)
	s.m360.tasks.removeWhere(account, func(t M360Task) bool { return t.ContactID == id })
	s.m360.notes.removeWhere(account, func(n M360Note) bool { return n.ContactID == id })
	s.m360.events.removeWhere(account, func(e M360Event) bool { return e.ContactID == id })
	s.m360.triggers.removeWhere(account, func(t M360Trigger) bool {
		if t.ContactID == id {
			delete(s.m360.triggerOf, [2]int64{t.CampaignID, t.ContactID})
			return true
		}
		return false
	})
	if s.observed() {
		s.tell(Deleted, "", c.clone(), nil)
	}
	return nil
}

// M360Contacts returns the page of account's contacts that f selects and how
// many it selects in all.
func (s *Store) M360Contacts(account int64, f M360ContactFilter) ([]M360Contact, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360Account(account); err != nil {
		return nil, 0, err
	}
	var list []M360Contact
	if email := strings.ToLower(strings.TrimSpace(f.Email)); email != "" {
		if id, ok := s.m360.emails[account][email]; ok {
			list = append(list, s.m360.contacts.rows[id])
		}
	} else {
		list = make([]M360Contact, 0, len(s.m360.contacts.byAccount[account]))
		s.m360.contacts.scan(account, func(c M360Contact) { list = append(list, c) })
	}
	list = slices.DeleteFunc(list, func(c M360Contact) bool {
		return (f.UpdatedSince != nil && c.Updated < *f.UpdatedSince) ||
			(f.ExternalID != "" && c.ExternalIDs.GHL != f.ExternalID)
	})
	if f.UpdatedSince != nil {
		byUpdated(list, func(c M360Contact) int64 { return c.Updated })
	}
	page, total := m360Page(list, f.M360Paging)
	return page, total, nil
}

// m360Contact fails unless contact is a contact of account. Callers hold mu.
func (s *Store) m360Contact(account, contact int64) error {
	if _, ok := s.m360.contacts.get(account, contact); !ok {
		return m360NotFound("Contact", contact)
	}
	return nil
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

// m360Key names a record of an account, and of a contact when nested (tasks
// and notes): then a missing contact is the contact's NotFoundError, and a
// record of another contact is missing.
type m360Key struct {
	account, contact, id int64
	nested               bool
}

func m360InAccount(account, id int64) m360Key { return m360Key{account: account, id: id} }

func m360InContact(account, contact, id int64) m360Key {
	return m360Key{account: account, contact: contact, id: id, nested: true}
}

// m360Lookup returns the record k names. Callers hold mu.
func m360Lookup[T any, P m360Record[T]](s *Store, tbl *m360Table[T, P], kind string, k m360Key) (T, error) {
	var zero T
	if k.nested {
		if err := s.m360Contact(k.account, k.contact); err != nil {
			return zero, err
		}
	}
	v, ok := tbl.get(k.account, k.id)
	if !ok || (k.nested && P(&v).contact() != k.contact) {
		return zero, m360NotFound(kind, k.id)
	}
	return v, nil
}

// m360HasContact fails unless a record names a contact of its account.
// Callers hold mu.
func m360HasContact[T any, P m360Record[T]](s *Store, v *T) error {
	_, account := P(v).key()
	return s.m360Contact(account, P(v).contact())
}

// m360Create adds v to tbl under the next id, stamped now, once check (which
// may complete v) passes.
func m360Create[T any, P m360Record[T]](s *Store, tbl *m360Table[T, P], v T, check func(*Store, *T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := check(s, &v); err != nil {
		var zero T
		return zero, err
	}
	v = P(&v).clone()
	P(&v).stampCreated(s.m360Now())
	v = tbl.add(v)
	if s.observed() {
		s.tell(Created, "", nil, P(&v).clone())
	}
	return P(&v).clone(), nil
}

func m360Get[T any, P m360Record[T]](s *Store, tbl *m360Table[T, P], kind string, k m360Key) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := m360Lookup(s, tbl, kind, k)
	return P(&v).clone(), err
}

// m360Update applies fn to a copy of the record k names and stores it. An
// error from fn is returned as is and nothing changes; check, when not nil,
// vets the result as on create.
func m360Update[T any, P m360Record[T]](s *Store, tbl *m360Table[T, P], kind string, k m360Key,
	fn func(*T) error, check func(*Store, *T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	old, err := m360Lookup(s, tbl, kind, k)
	if err != nil {
		return zero, err
	}
	next := P(&old).clone()
	if err := fn(&next); err != nil {
		return zero, err
	}
	next = P(&next).clone()
	P(&next).keep(old)
	if check != nil {
		if err := check(s, &next); err != nil {
			return zero, err
		}
	}
	P(&next).stampUpdated(old, s.m360Now())
	tbl.set(next)
	if s.observed() {
		s.tell(Updated, "", P(&old).clone(), P(&next).clone())
	}
	return P(&next).clone(), nil
}

func m360Delete[T any, P m360Record[T]](s *Store, tbl *m360Table[T, P], kind string, k m360Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := m360Lookup(s, tbl, kind, k)
	if err != nil {
		return err
	}
	tbl.remove(k.id)
	if s.observed() {
		s.tell(Deleted, "", P(&v).clone(), nil)
	}
	return nil
}

// m360All selects every record.
func m360All[T any](T) bool { return true }

// m360Select returns account's records that keep selects, in id order.
// Callers hold mu.
func m360Select[T any, P m360Row[T]](tbl *m360Table[T, P], account int64, keep func(T) bool) []T {
	var list []T
	tbl.scan(account, func(v T) {
		if keep(v) {
			list = append(list, v)
		}
	})
	return list
}

// m360ListOf starts a list of account's records, of contact when it is not
// 0: it fails when account, or a named contact, is missing. Callers hold mu.
func (s *Store) m360ListOf(account, contact int64) error {
	if err := s.m360Account(account); err != nil {
		return err
	}
	if contact != 0 {
		return s.m360Contact(account, contact)
	}
	return nil
}

// --- tasks ---

// CreateM360Task adds a task to contact t.ContactID of t.AccountID. A task
// created completed is completed at its creation.
func (s *Store) CreateM360Task(t M360Task) (M360Task, error) {
	return m360Create(s, &s.m360.tasks, t, m360HasContact[M360Task])
}

// M360Task returns a task of a contact of account.
func (s *Store) M360Task(account, contact, id int64) (M360Task, error) {
	return m360Get(s, &s.m360.tasks, "Task", m360InContact(account, contact, id))
}

// UpdateM360Task applies fn to a copy of a task and stores it. CompletedAt is
// the store's: set to now when Completed becomes true, cleared when it
// becomes false.
func (s *Store) UpdateM360Task(account, contact, id int64, fn func(*M360Task) error) (M360Task, error) {
	return m360Update(s, &s.m360.tasks, "Task", m360InContact(account, contact, id), fn, nil)
}

// DeleteM360Task removes a task of a contact of account.
func (s *Store) DeleteM360Task(account, contact, id int64) error {
	return m360Delete(s, &s.m360.tasks, "Task", m360InContact(account, contact, id))
}

// M360Tasks returns the page of account's tasks that f selects and how many
// it selects in all: by (Updated, ID) when f.UpdatedSince is set, else by ID.
// A named contact that account does not have is a NotFoundError.
func (s *Store) M360Tasks(account int64, f M360TaskFilter) ([]M360Task, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360ListOf(account, f.ContactID); err != nil {
		return nil, 0, err
	}
	list := m360Select(&s.m360.tasks, account, func(t M360Task) bool {
		return (f.ContactID == 0 || t.ContactID == f.ContactID) &&
			(f.UpdatedSince == nil || t.Updated >= *f.UpdatedSince) &&
			(f.Completed == nil || t.Completed == *f.Completed)
	})
	if f.UpdatedSince != nil {
		byUpdated(list, func(t M360Task) int64 { return t.Updated })
	}
	page, total := m360Page(list, f.M360Paging)
	return page, total, nil
}

// --- notes ---

// CreateM360Note adds a note to contact n.ContactID of n.AccountID.
func (s *Store) CreateM360Note(n M360Note) (M360Note, error) {
	return m360Create(s, &s.m360.notes, n, m360HasContact[M360Note])
}

// M360Note returns a note of a contact of account.
func (s *Store) M360Note(account, contact, id int64) (M360Note, error) {
	return m360Get(s, &s.m360.notes, "Note", m360InContact(account, contact, id))
}

// UpdateM360Note applies fn to a copy of a note and stores it.
func (s *Store) UpdateM360Note(account, contact, id int64, fn func(*M360Note) error) (M360Note, error) {
	return m360Update(s, &s.m360.notes, "Note", m360InContact(account, contact, id), fn, nil)
}

// DeleteM360Note removes a note of a contact of account.
func (s *Store) DeleteM360Note(account, contact, id int64) error {
	return m360Delete(s, &s.m360.notes, "Note", m360InContact(account, contact, id))
}

// M360Notes returns a page of a contact's notes, by id, and how many it has.
func (s *Store) M360Notes(account, contact int64, p M360Paging) ([]M360Note, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360Contact(account, contact); err != nil {
		return nil, 0, err
	}
	list := m360Select(&s.m360.notes, account, func(n M360Note) bool { return n.ContactID == contact })
	page, total := m360Page(list, p)
	return page, total, nil
}

// --- calendar events ---

// checkM360Event validates an event about to be stored. Callers hold mu.
func (s *Store) checkM360Event(e *M360Event) error {
	if err := s.m360Contact(e.AccountID, e.ContactID); err != nil {
		return err
	}
	if e.End <= e.Start {
		return &InvalidError{Field: "end", Reason: "must be after start"}
	}
	switch e.Status {
	case "":
		e.Status = M360EventScheduled
	case M360EventScheduled, M360EventCancelled, M360EventCompleted:
	default:
		return &InvalidError{Field: "status", Reason: "must be one of scheduled, cancelled, completed"}
	}
	return nil
}

// CreateM360Event adds a calendar event with contact e.ContactID of
// e.AccountID. End must be after Start; an empty Status is scheduled.
func (s *Store) CreateM360Event(e M360Event) (M360Event, error) {
	return m360Create(s, &s.m360.events, e, (*Store).checkM360Event)
}

// M360Event returns a calendar event of account.
func (s *Store) M360Event(account, id int64) (M360Event, error) {
	return m360Get(s, &s.m360.events, "Event", m360InAccount(account, id))
}

// UpdateM360Event applies fn to a copy of an event of account and stores it,
// checking it as CreateM360Event does (fn may move it to another contact of
// the account).
func (s *Store) UpdateM360Event(account, id int64, fn func(*M360Event) error) (M360Event, error) {
	return m360Update(s, &s.m360.events, "Event", m360InAccount(account, id), fn, (*Store).checkM360Event)
}

// DeleteM360Event removes a calendar event of account.
func (s *Store) DeleteM360Event(account, id int64) error {
	return m360Delete(s, &s.m360.events, "Event", m360InAccount(account, id))
}

// M360Events returns the page of account's events that f selects, by
// (Start, ID), and how many it selects in all. A named contact that account
// does not have is a NotFoundError.
func (s *Store) M360Events(account int64, f M360EventFilter) ([]M360Event, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360ListOf(account, f.ContactID); err != nil {
		return nil, 0, err
	}
	list := m360Select(&s.m360.events, account, func(e M360Event) bool {
		return (f.ContactID == 0 || e.ContactID == f.ContactID) &&
			(f.From == nil || e.Start >= *f.From) && (f.To == nil || e.Start < *f.To)
	})
	slices.SortStableFunc(list, func(a, b M360Event) int { return cmpInt(a.Start, b.Start) })
	page, total := m360Page(list, f.M360Paging)
	return page, total, nil
}

// --- campaigns and triggers ---

// PutM360Campaign adds a campaign to c.AccountID or replaces the one with the
// same id; one without an id gets the next. An empty Status is active.
func (s *Store) PutM360Campaign(c M360Campaign) (M360Campaign, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.m360Account(c.AccountID); err != nil {
		return M360Campaign{}, err
	}
	switch c.Status {
	case "":
		c.Status = M360CampaignActive
	case M360CampaignActive, M360CampaignPaused:
	default:
		return M360Campaign{}, &InvalidError{Field: "status", Reason: "must be active or paused"}
	}
	if c.ID == 0 {
		return s.m360.campaigns.add(c), nil
	}
	if old, ok := s.m360.campaigns.rows[c.ID]; ok {
		if old.AccountID != c.AccountID {
			return M360Campaign{}, &ConflictError{Field: "id", Reason: fmt.Sprintf("is a campaign of account %d", old.AccountID)}
		}
		s.m360.campaigns.set(c)
		return c, nil
	}
	s.m360.campaigns.put(c)
	return c, nil
}

// M360Campaign returns a campaign of account.
func (s *Store) M360Campaign(account, id int64) (M360Campaign, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m360.campaigns.get(account, id)
	if !ok {
		return M360Campaign{}, m360NotFound("Campaign", id)
	}
	return c, nil
}

// M360Campaigns returns a page of account's campaigns, by id, and how many
// it has.
func (s *Store) M360Campaigns(account int64, p M360Paging) ([]M360Campaign, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360Account(account); err != nil {
		return nil, 0, err
	}
	page, total := m360Page(m360Select(&s.m360.campaigns, account, m360All[M360Campaign]), p)
	return page, total, nil
}

// TriggerM360Campaign enters contact into campaign, both of account, and
// reports whether the trigger is new. Triggering the same contact again
// returns the same trigger, created false, even if the campaign was paused
// since. A paused campaign refuses new triggers with a *ConflictError.
func (s *Store) TriggerM360Campaign(account, campaign, contact int64) (M360Trigger, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m360.campaigns.get(account, campaign)
	if !ok {
		return M360Trigger{}, false, m360NotFound("Campaign", campaign)
	}
	if err := s.m360Contact(account, contact); err != nil {
		return M360Trigger{}, false, err
	}
	if id, ok := s.m360.triggerOf[[2]int64{campaign, contact}]; ok {
		return s.m360.triggers.rows[id], false, nil
	}
	if c.Status == M360CampaignPaused {
		return M360Trigger{}, false, &ConflictError{Field: "campaignId", Reason: "names a paused campaign"}
	}
	t := s.m360.triggers.add(M360Trigger{AccountID: account, CampaignID: campaign, ContactID: contact, Created: s.m360Now()})
	s.m360.triggerOf[[2]int64{campaign, contact}] = t.ID
	return t, true, nil
}

// M360Triggers returns a page of a campaign's triggers, by id, and how many
// it has.
func (s *Store) M360Triggers(account, campaign int64, p M360Paging) ([]M360Trigger, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.m360.campaigns.get(account, campaign); !ok {
		return nil, 0, m360NotFound("Campaign", campaign)
	}
	list := m360Select(&s.m360.triggers, account, func(t M360Trigger) bool { return t.CampaignID == campaign })
	page, total := m360Page(list, p)
	return page, total, nil
}

// --- webhooks ---

// CreateM360Webhook adds a webhook subscription to w.AccountID.
func (s *Store) CreateM360Webhook(w M360Webhook) (M360Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.m360Account(w.AccountID); err != nil {
		return M360Webhook{}, err
	}
	w = w.clone()
	w.Created = s.m360Now()
	w = s.m360.webhooks.add(w)
	return w.clone(), nil
}

// M360Webhook returns a webhook subscription of account.
func (s *Store) M360Webhook(account, id int64) (M360Webhook, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w, ok := s.m360.webhooks.get(account, id)
	if !ok {
		return M360Webhook{}, m360NotFound("Webhook", id)
	}
	return w.clone(), nil
}

// M360Webhooks returns a page of account's webhook subscriptions, by id, and
// how many it has.
func (s *Store) M360Webhooks(account int64, p M360Paging) ([]M360Webhook, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360Account(account); err != nil {
		return nil, 0, err
	}
	page, total := m360Page(m360Select(&s.m360.webhooks, account, m360All[M360Webhook]), p)
	return page, total, nil
}

// AllM360Webhooks returns every account's webhook subscriptions, by id.
func (s *Store) AllM360Webhooks() []M360Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m360.webhooks.all()
}

// M360Subscribers returns account's webhook subscriptions to event, by id,
// with their secrets.
func (s *Store) M360Subscribers(account int64, event string) []M360Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return m360Select(&s.m360.webhooks, account, func(w M360Webhook) bool { return slices.Contains(w.Events, event) })
}

// DeleteM360Webhook removes a webhook subscription of account.
func (s *Store) DeleteM360Webhook(account, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m360.webhooks.get(account, id); !ok {
		return m360NotFound("Webhook", id)
	}
	s.m360.webhooks.remove(id)
	return nil
}

// --- snapshot and restore ---

// snapshotM360 adds the Marketing 360 tables to st. Callers hold mu.
func (s *Store) snapshotM360(st *State) {
	m := &s.m360
	if len(m.accounts) > 0 {
		st.M360Accounts = slices.Collect(maps.Values(m.accounts))
		slices.SortFunc(st.M360Accounts, func(a, b M360Account) int { return cmpInt(a.ID, b.ID) })
	}
	st.M360Contacts = nilIfEmpty(m.contacts.all())
	st.M360Tasks = nilIfEmpty(m.tasks.all())
	st.M360Notes = nilIfEmpty(m.notes.all())
	st.M360Events = nilIfEmpty(m.events.all())
	st.M360Campaigns = nilIfEmpty(m.campaigns.all())
	st.M360Triggers = nilIfEmpty(m.triggers.all())
	st.M360Webhooks = nilIfEmpty(m.webhooks.all())
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// restoreM360 loads the Marketing 360 tables of st into a reset store,
// failing when a record's id is not positive or is used twice in its table,
// when a reference names no record of the record's account, or when an email
// or a (campaign, contact) trigger is there twice. Callers hold mu.
func (s *Store) restoreM360(st State) error {
	m := &s.m360
	bad := func(table string, id int64, field, reason string) error {
		return &InvalidError{Field: fmt.Sprintf("%s[%d].%s", table, id, field), Reason: reason}
	}
	for _, a := range st.M360Accounts {
		if _, dup := m.accounts[a.ID]; dup || a.ID <= 0 {
			return bad("m360Accounts", a.ID, "id", "is not positive or is used twice")
		}
		m.accounts[a.ID] = a
		m.nextAcct = max(m.nextAcct, a.ID+1)
		s.m360Seen(a.Created)
	}
	// check checks a record's id and account and, when contact is not nil,
	// that it names a contact of the account.
	check := func(table string, used map[int64]bool, id, account int64, contact *int64) error {
		if used[id] || id <= 0 {
			return bad(table, id, "id", "is not positive or is used twice")
		}
		used[id] = true
		if _, ok := m.accounts[account]; !ok {
			return bad(table, id, "accountId", "names no account of the state")
		}
		if contact != nil {
			if _, ok := m.contacts.get(account, *contact); !ok {
				return bad(table, id, "contactId", "names no contact of the account")
			}
		}
		return nil
	}
	used := map[int64]bool{}
	for _, c := range st.M360Contacts {
		if err := check("m360Contacts", used, c.ID, c.AccountID, nil); err != nil {
			return err
		}
		var conflict *ConflictError
		if errors.As(s.m360EmailFree(c.AccountID, c.Email, c.ID), &conflict) {
			return bad("m360Contacts", c.ID, "email", conflict.Reason)
		}
		m.contacts.put(c.clone())
		s.m360IndexEmail(c)
		s.m360Seen(c.Created, c.Updated)
	}
	used = map[int64]bool{}
	for _, t := range st.M360Tasks {
		if err := check("m360Tasks", used, t.ID, t.AccountID, &t.ContactID); err != nil {
			return err
		}
		m.tasks.put(t.clone())
		s.m360Seen(t.Created, t.Updated)
	}
	used = map[int64]bool{}
	for _, n := range st.M360Notes {
		if err := check("m360Notes", used, n.ID, n.AccountID, &n.ContactID); err != nil {
			return err
		}
		m.notes.put(n)
		s.m360Seen(n.Created, n.Updated)
	}
	used = map[int64]bool{}
	for _, e := range st.M360Events {
		if err := check("m360Events", used, e.ID, e.AccountID, &e.ContactID); err != nil {
			return err
		}
		var invalid *InvalidError
		if errors.As(s.checkM360Event(&e), &invalid) {
			return bad("m360Events", e.ID, invalid.Field, invalid.Reason)
		}
		m.events.put(e)
		s.m360Seen(e.Created, e.Updated)
	}
	used = map[int64]bool{}
	for _, c := range st.M360Campaigns {
		if err := check("m360Campaigns", used, c.ID, c.AccountID, nil); err != nil {
			return err
		}
		if c.Status != M360CampaignActive && c.Status != M360CampaignPaused {
			return bad("m360Campaigns", c.ID, "status", "must be active or paused")
		}
		m.campaigns.put(c)
	}
	used = map[int64]bool{}
	for _, t := range st.M360Triggers {
		if err := check("m360Triggers", used, t.ID, t.AccountID, &t.ContactID); err != nil {
			return err
		}
		if _, ok := m.campaigns.get(t.AccountID, t.CampaignID); !ok {
			return bad("m360Triggers", t.ID, "campaignId", "names no campaign of the account")
		}
		key := [2]int64{t.CampaignID, t.ContactID}
		if _, dup := m.triggerOf[key]; dup {
			return bad("m360Triggers", t.ID, "contactId", "is triggered twice for the campaign")
		}
		m.triggers.put(t)
		m.triggerOf[key] = t.ID
		s.m360Seen(t.Created)
	}
	used = map[int64]bool{}
	for _, w := range st.M360Webhooks {
		if err := check("m360Webhooks", used, w.ID, w.AccountID, nil); err != nil {
			return err
		}
		m.webhooks.put(w.clone())
		s.m360Seen(w.Created)
	}
	return nil
}

// m360Seen moves the last second up to restored epoch seconds, so later
// writes are never stamped before them. Callers hold mu.
func (s *Store) m360Seen(secs ...int64) {
	for _, sec := range secs {
		s.m360.last = max(s.m360.last, sec)
	}
}

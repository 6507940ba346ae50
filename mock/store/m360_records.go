package store

import (
	"cmp"
	"fmt"
	"slices"
)

// The Marketing 360 records: tasks, notes and calendar events of contacts,
// campaigns and their triggers, webhook subscriptions.

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
	list := s.m360.tasks.selectIn(account, func(t M360Task) bool {
		return (f.ContactID == 0 || t.ContactID == f.ContactID) && f.keeps(t.Updated, t.ExternalIDs) &&
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

// M360Notes returns the page of account's notes that f selects and how many
// it selects in all: by (Updated, ID) when f.UpdatedSince is set, else by ID.
// A named contact that account does not have is a NotFoundError.
func (s *Store) M360Notes(account int64, f M360NoteFilter) ([]M360Note, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360ListOf(account, f.ContactID); err != nil {
		return nil, 0, err
	}
	list := s.m360.notes.selectIn(account, func(n M360Note) bool {
		return (f.ContactID == 0 || n.ContactID == f.ContactID) && f.keeps(n.Updated, n.ExternalIDs)
	})
	if f.UpdatedSince != nil {
		byUpdated(list, func(n M360Note) int64 { return n.Updated })
	}
	page, total := m360Page(list, f.M360Paging)
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
// (Start, ID) or, when f.UpdatedSince is set, by (Updated, ID), and how many
// it selects in all. A named contact that account
// does not have is a NotFoundError.
func (s *Store) M360Events(account int64, f M360EventFilter) ([]M360Event, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.m360ListOf(account, f.ContactID); err != nil {
		return nil, 0, err
	}
	list := s.m360.events.selectIn(account, func(e M360Event) bool {
		return (f.ContactID == 0 || e.ContactID == f.ContactID) && f.keeps(e.Updated, e.ExternalIDs) &&
			(f.From == nil || e.Start >= *f.From) && (f.To == nil || e.Start < *f.To)
	})
	if f.UpdatedSince != nil {
		byUpdated(list, func(e M360Event) int64 { return e.Updated })
	} else {
		slices.SortStableFunc(list, func(a, b M360Event) int { return cmp.Compare(a.Start, b.Start) })
	}
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
	if old, ok := s.m360.campaigns.byID(c.ID); ok {
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
	page, total := m360Page(s.m360.campaigns.selectIn(account, nil), p)
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
		t, _ := s.m360.triggers.byID(id)
		return t, false, nil
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
	list := s.m360.triggers.selectIn(account, func(t M360Trigger) bool { return t.CampaignID == campaign })
	page, total := m360Page(list, p)
	return page, total, nil
}

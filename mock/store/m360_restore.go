package store

import (
	"errors"
	"fmt"
)

// Snapshot and restore of the Marketing 360 tables.

// snapshotM360 adds the Marketing 360 tables to st. Callers hold mu.
func (s *Store) snapshotM360(st *State) {
	m := &s.m360
	st.M360Accounts = nilIfEmpty(s.accountsByID())
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

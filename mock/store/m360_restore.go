package store

import "errors"

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
// adding to p a record whose id is not positive or is used twice in its
// table, whose reference names no record of the record's account, or whose
// email or (campaign, contact) trigger is there twice. A record with a
// problem is left out. Callers hold mu.
func (s *Store) restoreM360(st State, p *problems) {
	m := &s.m360
	for i, a := range st.M360Accounts {
		if _, dup := m.accounts[a.ID]; dup || a.ID <= 0 {
			p.add("m360Accounts", i, m360ID(a.ID), "id", "is not positive or is used twice")
			continue
		}
		m.accounts[a.ID] = a
		m.nextAcct = max(m.nextAcct, a.ID+1)
		s.m360Seen(a.Created)
	}
	// check checks record i's id and account and, when contact is not nil,
	// that it names a contact of the account; false when p has a problem.
	check := func(table string, i int, used map[int64]bool, id, account int64, contact *int64) bool {
		bad := func(field, reason string) bool { p.add(table, i, m360ID(id), field, reason); return false }
		if used[id] || id <= 0 {
			return bad("id", "is not positive or is used twice")
		}
		used[id] = true
		if _, ok := m.accounts[account]; !ok {
			return bad("accountId", "names no account of the state")
		}
		if contact != nil {
			if _, ok := m.contacts.get(account, *contact); !ok {
				return bad("contactId", "names no contact of the account")
			}
		}
		return true
	}
	used := map[int64]bool{}
	for i, c := range st.M360Contacts {
		if !check("m360Contacts", i, used, c.ID, c.AccountID, nil) {
			continue
		}
		var conflict *ConflictError
		var invalid *InvalidError
		switch err := s.m360EmailFree(c.AccountID, c.Email, c.ID); {
		case errors.As(err, &conflict):
			p.add("m360Contacts", i, m360ID(c.ID), "email", conflict.Reason)
			continue
		case errors.As(err, &invalid):
			p.add("m360Contacts", i, m360ID(c.ID), invalid.Field, invalid.Reason)
			continue
		}
		m.contacts.put(c.clone())
		s.m360IndexEmail(c)
		s.m360Seen(c.Created, c.Updated)
	}
	used = map[int64]bool{}
	for i, t := range st.M360Tasks {
		if check("m360Tasks", i, used, t.ID, t.AccountID, &t.ContactID) {
			m.tasks.put(t.clone())
			s.m360Seen(t.Created, t.Updated)
		}
	}
	used = map[int64]bool{}
	for i, n := range st.M360Notes {
		if check("m360Notes", i, used, n.ID, n.AccountID, &n.ContactID) {
			m.notes.put(n)
			s.m360Seen(n.Created, n.Updated)
		}
	}
	used = map[int64]bool{}
	for i, e := range st.M360Events {
		if !check("m360Events", i, used, e.ID, e.AccountID, &e.ContactID) {
			continue
		}
		var invalid *InvalidError
		if errors.As(s.checkM360Event(&e), &invalid) {
			p.add("m360Events", i, m360ID(e.ID), invalid.Field, invalid.Reason)
			continue
		}
		m.events.put(e)
		s.m360Seen(e.Created, e.Updated)
	}
	used = map[int64]bool{}
	for i, c := range st.M360Campaigns {
		switch {
		case !check("m360Campaigns", i, used, c.ID, c.AccountID, nil):
		case c.Status != M360CampaignActive && c.Status != M360CampaignPaused:
			p.add("m360Campaigns", i, m360ID(c.ID), "status", "must be active or paused")
		default:
			m.campaigns.put(c)
		}
	}
	used = map[int64]bool{}
	for i, t := range st.M360Triggers {
		if !check("m360Triggers", i, used, t.ID, t.AccountID, &t.ContactID) {
			continue
		}
		if _, ok := m.campaigns.get(t.AccountID, t.CampaignID); !ok {
			p.add("m360Triggers", i, m360ID(t.ID), "campaignId", "names no campaign of the account")
			continue
		}
		key := [2]int64{t.CampaignID, t.ContactID}
		if _, dup := m.triggerOf[key]; dup {
			p.add("m360Triggers", i, m360ID(t.ID), "contactId", "is triggered twice for the campaign")
			continue
		}
		m.triggers.put(t)
		m.triggerOf[key] = t.ID
		s.m360Seen(t.Created)
	}
	used = map[int64]bool{}
	for i, w := range st.M360Webhooks {
		if check("m360Webhooks", i, used, w.ID, w.AccountID, nil) {
			m.webhooks.put(w.clone())
			s.m360Seen(w.Created)
		}
	}
}

// m360Seen moves the last second up to restored epoch seconds, so later
// writes are never stamped before them. Callers hold mu.
func (s *Store) m360Seen(secs ...int64) {
	for _, sec := range secs {
		s.m360.last = max(s.m360.last, sec)
	}
}

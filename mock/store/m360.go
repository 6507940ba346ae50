package store

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// m360Table is a table of the engine holding one kind of Marketing 360
// record, grouped by account in id order, with ids from its own sequence.
// Its callers hold the store's lock; it stores and returns values as given,
// the store clones.
type m360Table[T any, P m360Row[T]] struct {
	t table[int64, int64, T]
}

func newM360Table[T any, P m360Row[T]]() m360Table[T, P] {
	return m360Table[T, P]{t: newTable[int64](M360FirstID, nil, func(v *T) int64 { _, account := P(v).key(); return account })}
}

// add stores v under the table's next id and returns it.
func (t *m360Table[T, P]) add(v T) T {
	P(&v).setID(t.t.next)
	t.put(v)
	return v
}

// put stores v under its own id, which must be new, moving the sequence past it.
func (t *m360Table[T, P]) put(v T) {
	id, account := P(&v).key()
	t.t.insert(id, account, id, v)
}

// get returns the record id of account.
func (t *m360Table[T, P]) get(account, id int64) (T, bool) { return t.t.in(account, id) }

// byID returns the record id, whatever its account.
func (t *m360Table[T, P]) byID(id int64) (T, bool) {
	v, _, ok := t.t.get(id)
	return v, ok
}

// set replaces a stored record (same id and account).
func (t *m360Table[T, P]) set(v T) {
	id, _ := P(&v).key()
	t.t.set(id, v)
}

func (t *m360Table[T, P]) remove(id int64) { t.t.remove(id) }

// removeWhere removes the records of account for which drop is true.
func (t *m360Table[T, P]) removeWhere(account int64, drop func(T) bool) {
	t.t.removeWhere(account, drop)
}

// selectIn returns account's records that keep selects (all when it is
// nil), in id order.
func (t *m360Table[T, P]) selectIn(account int64, keep func(T) bool) []T {
	return t.t.selectIn(account, keep)
}

// all returns clones of every record, by id.
func (t *m360Table[T, P]) all() []T { return t.t.all(func(v T) T { return P(&v).clone() }) }

// m360Tables is the Marketing 360 part of the store. Callers hold mu.
type m360Tables struct {
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

func newM360Tables() m360Tables {
	return m360Tables{
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
	slices.SortStableFunc(list, func(a, b T) int { return cmp.Compare(updated(a), updated(b)) })
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
	return s.accountsByID()
}

// accountsByID lists the accounts by id. Callers hold mu.
func (s *Store) accountsByID() []M360Account { return byKey(s.m360.accounts, asIs) }

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

// m360EmailFree fails with an *InvalidError when email is not in NFC, and
// with a *ConflictError when it belongs to a contact of account other than
// self. Callers hold mu.
func (s *Store) m360EmailFree(account int64, email string, self int64) error {
	if err := checkEmailForm(email); err != nil {
		return err
	}
	key := EmailKey(strings.TrimSpace(email))
	if key == "" {
		return nil
	}
	if id, ok := s.m360.emails[account][key]; ok && id != self {
		return &ConflictError{Field: "email", Reason: fmt.Sprintf("is already used by contact %d", id)}
	}
	return nil
}

func (s *Store) m360IndexEmail(c M360Contact) {
	key := EmailKey(strings.TrimSpace(c.Email))
	if key == "" {
		return
	}
	if s.m360.emails[c.AccountID] == nil {
		s.m360.emails[c.AccountID] = map[string]int64{}
	}
	s.m360.emails[c.AccountID][key] = c.ID
}

func (s *Store) m360UnindexEmail(c M360Contact) {
	key := EmailKey(strings.TrimSpace(c.Email))
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
	if email := EmailKey(strings.TrimSpace(f.Email)); email != "" {
		if id, ok := s.m360.emails[account][email]; ok {
			c, _ := s.m360.contacts.byID(id)
			list = append(list, c)
		}
	} else {
		list = s.m360.contacts.selectIn(account, nil)
	}
	list = slices.DeleteFunc(list, func(c M360Contact) bool { return !f.keeps(c.Updated, c.ExternalIDs) })
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

package m360

import "github.com/contactbridge/contactbridge/mock/store"

// FakeStore is a Store whose methods call its function fields; a test sets
// those it expects to be called (calling another one panics).
type FakeStore struct {
	M360AccountFn func(id int64) (store.M360Account, error)

	CreateM360ContactFn func(c store.M360Contact) (store.M360Contact, error)
	M360ContactFn       func(account, id int64) (store.M360Contact, error)
	UpdateM360ContactFn func(account, id int64, fn func(*store.M360Contact) error) (store.M360Contact, error)
	DeleteM360ContactFn func(account, id int64) error
	M360ContactsFn      func(account int64, f store.M360ContactFilter) ([]store.M360Contact, int, error)

	CreateM360TaskFn func(t store.M360Task) (store.M360Task, error)
	M360TaskFn       func(account, contact, id int64) (store.M360Task, error)
	UpdateM360TaskFn func(account, contact, id int64, fn func(*store.M360Task) error) (store.M360Task, error)
	DeleteM360TaskFn func(account, contact, id int64) error
	M360TasksFn      func(account int64, f store.M360TaskFilter) ([]store.M360Task, int, error)

	CreateM360NoteFn func(n store.M360Note) (store.M360Note, error)
	M360NoteFn       func(account, contact, id int64) (store.M360Note, error)
	UpdateM360NoteFn func(account, contact, id int64, fn func(*store.M360Note) error) (store.M360Note, error)
	DeleteM360NoteFn func(account, contact, id int64) error
	M360NotesFn      func(account int64, f store.M360NoteFilter) ([]store.M360Note, int, error)

	CreateM360EventFn func(e store.M360Event) (store.M360Event, error)
	M360EventFn       func(account, id int64) (store.M360Event, error)
	UpdateM360EventFn func(account, id int64, fn func(*store.M360Event) error) (store.M360Event, error)
	DeleteM360EventFn func(account, id int64) error
	M360EventsFn      func(account int64, f store.M360EventFilter) ([]store.M360Event, int, error)

	M360CampaignFn        func(account, id int64) (store.M360Campaign, error)
	M360CampaignsFn       func(account int64, p store.M360Paging) ([]store.M360Campaign, int, error)
	TriggerM360CampaignFn func(account, campaign, contact int64) (store.M360Trigger, bool, error)
	M360TriggersFn        func(account, campaign int64, p store.M360Paging) ([]store.M360Trigger, int, error)

	CreateM360WebhookFn func(w store.M360Webhook) (store.M360Webhook, error)
	M360WebhooksFn      func(account int64, p store.M360Paging) ([]store.M360Webhook, int, error)
	DeleteM360WebhookFn func(account, id int64) error
}

var _ Store = (*FakeStore)(nil)

func (fs *FakeStore) M360Account(id int64) (store.M360Account, error) {
	return fs.M360AccountFn(id)
}

func (fs *FakeStore) CreateM360Contact(c store.M360Contact) (store.M360Contact, error) {
	return fs.CreateM360ContactFn(c)
}

func (fs *FakeStore) M360Contact(account, id int64) (store.M360Contact, error) {
	return fs.M360ContactFn(account, id)
}

func (fs *FakeStore) UpdateM360Contact(account, id int64, fn func(*store.M360Contact) error) (store.M360Contact, error) {
	return fs.UpdateM360ContactFn(account, id, fn)
}

func (fs *FakeStore) DeleteM360Contact(account, id int64) error {
	return fs.DeleteM360ContactFn(account, id)
}

func (fs *FakeStore) M360Contacts(account int64, f store.M360ContactFilter) ([]store.M360Contact, int, error) {
	return fs.M360ContactsFn(account, f)
}

func (fs *FakeStore) CreateM360Task(t store.M360Task) (store.M360Task, error) {
	return fs.CreateM360TaskFn(t)
}

func (fs *FakeStore) M360Task(account, contact, id int64) (store.M360Task, error) {
	return fs.M360TaskFn(account, contact, id)
}

func (fs *FakeStore) UpdateM360Task(account, contact, id int64, fn func(*store.M360Task) error) (store.M360Task, error) {
	return fs.UpdateM360TaskFn(account, contact, id, fn)
}

func (fs *FakeStore) DeleteM360Task(account, contact, id int64) error {
	return fs.DeleteM360TaskFn(account, contact, id)
}

func (fs *FakeStore) M360Tasks(account int64, f store.M360TaskFilter) ([]store.M360Task, int, error) {
	return fs.M360TasksFn(account, f)
}

func (fs *FakeStore) CreateM360Note(n store.M360Note) (store.M360Note, error) {
	return fs.CreateM360NoteFn(n)
}

func (fs *FakeStore) M360Note(account, contact, id int64) (store.M360Note, error) {
	return fs.M360NoteFn(account, contact, id)
}

func (fs *FakeStore) UpdateM360Note(account, contact, id int64, fn func(*store.M360Note) error) (store.M360Note, error) {
	return fs.UpdateM360NoteFn(account, contact, id, fn)
}

func (fs *FakeStore) DeleteM360Note(account, contact, id int64) error {
	return fs.DeleteM360NoteFn(account, contact, id)
}

func (fs *FakeStore) M360Notes(account int64, f store.M360NoteFilter) ([]store.M360Note, int, error) {
	return fs.M360NotesFn(account, f)
}

func (fs *FakeStore) CreateM360Event(e store.M360Event) (store.M360Event, error) {
	return fs.CreateM360EventFn(e)
}

func (fs *FakeStore) M360Event(account, id int64) (store.M360Event, error) {
	return fs.M360EventFn(account, id)
}

func (fs *FakeStore) UpdateM360Event(account, id int64, fn func(*store.M360Event) error) (store.M360Event, error) {
	return fs.UpdateM360EventFn(account, id, fn)
}

func (fs *FakeStore) DeleteM360Event(account, id int64) error {
	return fs.DeleteM360EventFn(account, id)
}

func (fs *FakeStore) M360Events(account int64, f store.M360EventFilter) ([]store.M360Event, int, error) {
	return fs.M360EventsFn(account, f)
}

func (fs *FakeStore) M360Campaign(account, id int64) (store.M360Campaign, error) {
	return fs.M360CampaignFn(account, id)
}

func (fs *FakeStore) M360Campaigns(account int64, p store.M360Paging) ([]store.M360Campaign, int, error) {
	return fs.M360CampaignsFn(account, p)
}

func (fs *FakeStore) TriggerM360Campaign(account, campaign, contact int64) (store.M360Trigger, bool, error) {
	return fs.TriggerM360CampaignFn(account, campaign, contact)
}

func (fs *FakeStore) M360Triggers(account, campaign int64, p store.M360Paging) ([]store.M360Trigger, int, error) {
	return fs.M360TriggersFn(account, campaign, p)
}

func (fs *FakeStore) CreateM360Webhook(w store.M360Webhook) (store.M360Webhook, error) {
	return fs.CreateM360WebhookFn(w)
}

func (fs *FakeStore) M360Webhooks(account int64, p store.M360Paging) ([]store.M360Webhook, int, error) {
	return fs.M360WebhooksFn(account, p)
}

func (fs *FakeStore) DeleteM360Webhook(account, id int64) error {
	return fs.DeleteM360WebhookFn(account, id)
}

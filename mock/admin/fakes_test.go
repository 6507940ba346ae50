package admin_test

import (
	"time"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// The fakes of the interfaces mock/admin declares: each method calls its
// function field, and a test sets the fields its requests reach (an unset
// one panics, which fails the request with a 500).

var (
	_ admin.Store        = (*FakeStore)(nil)
	_ admin.Tokens       = (*FakeTokens)(nil)
	_ admin.Limiter      = (*FakeLimiter)(nil)
	_ admin.Faults       = (*FakeFaults)(nil)
	_ admin.Journal      = (*FakeJournal)(nil)
	_ admin.Webhooks     = (*FakeWebhooks)(nil)
	_ admin.KeyRing      = (*FakeKeyRing)(nil)
	_ admin.LeakyLimiter = (*FakeLeakyLimiter)(nil)
	_ admin.Records      = (*store.Store)(nil)
)

type FakeStore struct {
	SnapshotFn        func() store.State
	RestoreFn         func(store.State) error
	ImportFn          func(store.State) error
	LocationFn        func(id string) (store.Location, error)
	StatsFn           func() store.Stats
	WebhookFn         func(clientID string) (store.Webhook, bool)
	WebhooksFn        func() []store.Webhook
	SetWebhookFn      func(store.Webhook)
	AllM360WebhooksFn func() []store.M360Webhook
}

func (f *FakeStore) Snapshot() store.State                      { return f.SnapshotFn() }
func (f *FakeStore) Restore(s store.State) error                { return f.RestoreFn(s) }
func (f *FakeStore) Import(s store.State) error                 { return f.ImportFn(s) }
func (f *FakeStore) Location(id string) (store.Location, error) { return f.LocationFn(id) }
func (f *FakeStore) Stats() store.Stats                         { return f.StatsFn() }
func (f *FakeStore) Webhook(id string) (store.Webhook, bool)    { return f.WebhookFn(id) }
func (f *FakeStore) Webhooks() []store.Webhook                  { return f.WebhooksFn() }
func (f *FakeStore) SetWebhook(w store.Webhook)                 { f.SetWebhookFn(w) }
func (f *FakeStore) AllM360Webhooks() []store.M360Webhook       { return f.AllM360WebhooksFn() }

type FakeTokens struct {
	MintFn      func(location string, scopes []string, ttl time.Duration, pit bool) (string, auth.Principal)
	PutAppFn    func(auth.App)
	AppFn       func(clientID string) (auth.App, bool)
	AppsFn      func() []auth.App
	LocationsFn func(clientID string) []string
	UninstallFn func(clientID, location string) (int, bool)
}

func (f *FakeTokens) Mint(location string, scopes []string, ttl time.Duration, pit bool) (string, auth.Principal) {
	return f.MintFn(location, scopes, ttl, pit)
}
func (f *FakeTokens) PutApp(a auth.App)                    { f.PutAppFn(a) }
func (f *FakeTokens) App(clientID string) (auth.App, bool) { return f.AppFn(clientID) }
func (f *FakeTokens) Apps() []auth.App                     { return f.AppsFn() }
func (f *FakeTokens) Locations(clientID string) []string   { return f.LocationsFn(clientID) }
func (f *FakeTokens) Uninstall(clientID, location string) (int, bool) {
	return f.UninstallFn(clientID, location)
}

type FakeLimiter struct {
	ConfigFn    func() limits.Config
	SetConfigFn func(limits.Config) error
	StatusFn    func() []limits.BucketStatus
}

func (f *FakeLimiter) Config() limits.Config           { return f.ConfigFn() }
func (f *FakeLimiter) SetConfig(c limits.Config) error { return f.SetConfigFn(c) }
func (f *FakeLimiter) Status() []limits.BucketStatus   { return f.StatusFn() }

type FakeFaults struct {
	AddFn    func(faults.Rule) (faults.Rule, error)
	ListFn   func() []faults.Rule
	DeleteFn func(id string) error
	ClearFn  func()
}

func (f *FakeFaults) Add(r faults.Rule) (faults.Rule, error) { return f.AddFn(r) }
func (f *FakeFaults) List() []faults.Rule                    { return f.ListFn() }
func (f *FakeFaults) Delete(id string) error                 { return f.DeleteFn(id) }
func (f *FakeFaults) Clear()                                 { f.ClearFn() }

type FakeJournal struct {
	EntriesFn   func(journal.Filter) []journal.Entry
	CountFn     func(journal.Filter) int
	ClearFn     func()
	LenFn       func() int
	EntryFn     func(id int64) (journal.Entry, bool)
	LastIDFn    func() int64
	SubscribeFn func() (<-chan struct{}, func(), error)
}

func (f *FakeJournal) Entry(id int64) (journal.Entry, bool)        { return f.EntryFn(id) }
func (f *FakeJournal) LastID() int64                               { return f.LastIDFn() }
func (f *FakeJournal) Subscribe() (<-chan struct{}, func(), error) { return f.SubscribeFn() }

func (f *FakeJournal) Entries(fl journal.Filter) []journal.Entry { return f.EntriesFn(fl) }
func (f *FakeJournal) Count(fl journal.Filter) int               { return f.CountFn(fl) }
func (f *FakeJournal) Clear()                                    { f.ClearFn() }
func (f *FakeJournal) Len() int                                  { return f.LenFn() }

type FakeWebhooks struct {
	KeysFn        func() *webhooks.Keys
	SettingsFn    func() webhooks.Settings
	SetSettingsFn func(webhooks.Settings) error
	DeliveriesFn  func(webhooks.Filter) ([]webhooks.Delivery, int)
	DeliveryFn    func(id string) (webhooks.Delivery, error)
	RedeliverFn   func(id string) (webhooks.Delivery, error)
	MatchingFn    func(webhooks.Filter) ([]webhooks.Delivery, error)
	StatsFn       func() webhooks.Stats
}

func (f *FakeWebhooks) Keys() *webhooks.Keys                  { return f.KeysFn() }
func (f *FakeWebhooks) Settings() webhooks.Settings           { return f.SettingsFn() }
func (f *FakeWebhooks) SetSettings(s webhooks.Settings) error { return f.SetSettingsFn(s) }
func (f *FakeWebhooks) Deliveries(fl webhooks.Filter) ([]webhooks.Delivery, int) {
	return f.DeliveriesFn(fl)
}
func (f *FakeWebhooks) Delivery(id string) (webhooks.Delivery, error)  { return f.DeliveryFn(id) }
func (f *FakeWebhooks) Redeliver(id string) (webhooks.Delivery, error) { return f.RedeliverFn(id) }
func (f *FakeWebhooks) RedeliverMatching(fl webhooks.Filter) ([]webhooks.Delivery, error) {
	return f.MatchingFn(fl)
}
func (f *FakeWebhooks) Stats() webhooks.Stats { return f.StatsFn() }

type FakeEvents struct {
	EventOptionsFn    func() highlevel.EventOptions
	SetEventOptionsFn func(highlevel.EventOptions)
	AppUninstalledFn  func(app auth.App, location string, at time.Time)
}

func (f *FakeEvents) EventOptions() highlevel.EventOptions     { return f.EventOptionsFn() }
func (f *FakeEvents) SetEventOptions(o highlevel.EventOptions) { f.SetEventOptionsFn(o) }
func (f *FakeEvents) AppUninstalled(app auth.App, location string, at time.Time) {
	f.AppUninstalledFn(app, location, at)
}

type FakeKeyRing struct {
	AddFn func(clientID, secret string, p auth.Principal)
}

func (f *FakeKeyRing) Add(clientID, secret string, p auth.Principal) { f.AddFn(clientID, secret, p) }

type FakeLeakyLimiter struct {
	ConfigFn    func() limits.LeakyConfig
	SetConfigFn func(limits.LeakyConfig) error
	StatusFn    func() []limits.LeakyStatus
}

func (f *FakeLeakyLimiter) Config() limits.LeakyConfig           { return f.ConfigFn() }
func (f *FakeLeakyLimiter) SetConfig(c limits.LeakyConfig) error { return f.SetConfigFn(c) }
func (f *FakeLeakyLimiter) Status() []limits.LeakyStatus         { return f.StatusFn() }

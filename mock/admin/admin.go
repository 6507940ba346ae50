// Package admin serves the twins' admin API under /__admin, described by
// openapi/admin.yaml and run through the same pipeline as the twins.
package admin

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/admin/ui"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// Store is what the admin API needs of the state.
type Store interface {
	Snapshot() store.State
	Restore(store.State) error
	Import(store.State) error
	Location(id string) (store.Location, error)
	Stats() store.Stats
	// The webhook subscriptions: the HighLevel apps' and Marketing 360's.
	Webhook(clientID string) (store.Webhook, bool)
	Webhooks() []store.Webhook
	SetWebhook(store.Webhook)
	AllM360Webhooks() []store.M360Webhook
}

// Tokens is what the admin API needs of the token registry.
type Tokens interface {
	Mint(location string, scopes []string, ttl time.Duration, pit bool) (string, auth.Principal)
	PutApp(auth.App)
	App(clientID string) (auth.App, bool)
	Apps() []auth.App
	Locations(clientID string) []string
	Uninstall(clientID, location string) (int, bool)
}

// Limiter is what the admin API needs of the rate limiter.
type Limiter interface {
	Config() limits.Config
	SetConfig(limits.Config) error
	Status() []limits.BucketStatus
}

// Faults is what the admin API needs of the fault injector.
type Faults interface {
	Add(faults.Rule) (faults.Rule, error)
	List() []faults.Rule
	Delete(id string) error
	Clear()
}

// Journal is what the admin API needs of the request journal.
type Journal interface {
	Entries(journal.Filter) []journal.Entry
	Count(journal.Filter) int
	Clear()
	Len() int
	Entry(id int64) (journal.Entry, bool)
	LastID() int64
	Subscribe() (<-chan struct{}, func(), error)
}

// WebhookSettings are what /__admin/webhooks/settings shows and changes:
// how deliveries are made, and the toggles that shape HighLevel's payloads.
type WebhookSettings struct {
	webhooks.Settings
	highlevel.EventOptions
}

// HighLevelEvents is what the admin API needs of the HighLevel events.
type HighLevelEvents interface {
	EventOptions() highlevel.EventOptions
	SetEventOptions(highlevel.EventOptions)
	AppUninstalled(app auth.App, location string, at time.Time)
}

// Webhooks is what the admin API needs of the webhook dispatcher.
type Webhooks interface {
	Keys() *webhooks.Keys
	Settings() webhooks.Settings
	SetSettings(webhooks.Settings) error
	Deliveries(webhooks.Filter) ([]webhooks.Delivery, int)
	Delivery(id string) (webhooks.Delivery, error)
	Redeliver(id string) (webhooks.Delivery, error)
	RedeliverMatching(webhooks.Filter) ([]webhooks.Delivery, error)
	Stats() webhooks.Stats
}

// KeyRing is what the admin API needs of the Marketing 360 API keys.
type KeyRing interface {
	Add(clientID, secret string, p auth.Principal)
}

// LeakyLimiter is what the admin API needs of the Marketing 360 limiter.
type LeakyLimiter interface {
	Config() limits.LeakyConfig
	SetConfig(limits.LeakyConfig) error
	Status() []limits.LeakyStatus
}

// API serves the admin operations.
type API struct {
	Store   Store
	Tokens  Tokens
	Limits  Limiter
	Faults  Faults
	Journal Journal
	Clock   clock.Clock
	// Webhooks are both twins' deliveries, Events the toggles of HighLevel's
	// payloads; CheckApp refuses an app whose webhook URL or events cannot
	// work.
	Webhooks Webhooks
	Events   HighLevelEvents
	CheckApp func(auth.App) error
	// Reset brings the twin back to its start-up state.
	Reset func() error
	// DefaultLocation and DefaultM360Account name the defaults the printed
	// credentials belong to, for tools that load data into a running twin.
	DefaultLocation    string
	DefaultM360Account int64
	// Spec is the admin API's own OpenAPI document, served as is.
	Spec []byte

	// Marketing 360: its API keys, its limiter, whether an account exists,
	// and a maker of secrets for new keys.
	M360Keys          KeyRing
	M360Limits        LeakyLimiter
	M360AccountExists func(id int64) bool
	Secret            func(n int) string

	// MaxImportBytes is the largest state PUT /__admin/state takes; 0
	// means DefaultMaxImportBytes. The APIs' own limit
	// (pipeline.MaxBodyBytes) does not apply to it.
	MaxImportBytes int64

	// CheckRecord checks each record of an imported state as it decodes
	// (nil: only what the store checks): against the spec of its API.
	CheckRecord store.RecordCheck

	// Records are the state the dashboard browses.
	Records Records

	syncMu   sync.RWMutex
	syncView SyncView // see AttachSync

	doneOnce  sync.Once
	closeOnce sync.Once
	doneCh    chan struct{} // closed by Close
}

// done is closed by Close.
func (a *API) done() <-chan struct{} {
	a.doneOnce.Do(func() { a.doneCh = make(chan struct{}) })
	return a.doneCh
}

// Close ends the request streams (GET /__admin/requests/stream), which an
// http.Server's Shutdown would otherwise wait for.
func (a *API) Close() {
	a.done()
	a.closeOnce.Do(func() { close(a.doneCh) })
}

// DefaultMaxImportBytes is the default limit of a state import: 1 GiB.
const DefaultMaxImportBytes int64 = 1 << 30

// Streamed names the operations whose bodies the pipeline must hand over
// unread, with their limits (pipeline.Config.Streamed): the state import.
func (a *API) Streamed() map[string]int64 {
	limit := a.MaxImportBytes
	if limit <= 0 {
		limit = DefaultMaxImportBytes
	}
	return map[string]int64{"admin-import-state": limit}
}

// Handlers returns the handler of every admin operation, by operationId.
func (a *API) Handlers() map[string]pipeline.HandlerFunc {
	return map[string]pipeline.HandlerFunc{
		"admin-health":          a.health,
		"admin-openapi":         a.openapi,
		"admin-reset":           a.reset,
		"admin-export-state":    a.exportState,
		"admin-import-state":    a.importState,
		"admin-mint-token":      a.mintToken,
		"admin-list-apps":       a.listApps,
		"admin-put-app":         a.createApp,
		"admin-get-limits":      a.getLimits,
		"admin-put-limits":      a.putLimits,
		"admin-list-faults":     a.listFaults,
		"admin-add-fault":       a.addFault,
		"admin-clear-faults":    a.clearFaults,
		"admin-delete-fault":    a.deleteFault,
		"admin-list-requests":   a.listRequests,
		"admin-clear-requests":  a.clearRequests,
		"admin-count-requests":  a.countRequests,
		"admin-get-clock":       a.getClock,
		"admin-move-clock":      a.moveClock,
		"admin-mint-m360-key":   a.mintM360Key,
		"admin-get-m360-limits": a.getM360Limits,
		"admin-put-m360-limits": a.putM360Limits,

		"admin-get-webhooks":                  a.getWebhooks,
		"admin-webhook-keys":                  a.webhookKeys,
		"admin-webhook-key-ed25519":           a.webhookKeyPEM(func(k webhooks.PublicKeys) string { return k.Ed25519 }),
		"admin-webhook-key-rsa":               a.webhookKeyPEM(func(k webhooks.PublicKeys) string { return k.RSA }),
		"admin-get-webhook-settings":          a.getWebhookSettings,
		"admin-put-webhook-settings":          a.putWebhookSettings,
		"admin-put-highlevel-subscription":    a.putHighLevelSubscription,
		"admin-delete-highlevel-subscription": a.deleteHighLevelSubscription,
		"admin-list-deliveries":               a.listDeliveries,
		"admin-get-delivery":                  a.getDelivery,
		"admin-redeliver":                     a.redeliver,
		"admin-redeliver-matching":            a.redeliverMatching,
		"admin-uninstall-app":                 a.uninstallApp,

		"admin-stream-requests":      a.streamRequests,
		"admin-get-request":          a.getRequest,
		"admin-limits-chart":         a.limitsChart,
		"admin-state-overview":       a.stateOverview,
		"admin-browse-contacts":      a.browseContacts,
		"admin-browse-contact":       a.browseContact,
		"admin-browse-m360-contacts": a.browseM360Contacts,
		"admin-browse-m360-contact":  a.browseM360Contact,
		"admin-sync-status":          a.syncStatus,
		"admin-sync-differences":     a.syncDifferences,
		"admin-ui":                   ui.Page,
		"admin-ui-asset":             ui.Asset,
	}
}

type errorBody struct {
	StatusCode int             `json:"statusCode"`
	Message    string          `json:"message"`
	Error      string          `json:"error"`
	Problems   []store.Problem `json:"problems,omitempty"`
	More       int             `json:"moreProblems,omitempty"`
}

// RenderError writes admin errors as {statusCode, message, error}, and a
// refused state import with what is wrong with it (problems, and how many
// more there are past the list).
func RenderError(e *pipeline.Error) any {
	body := errorBody{StatusCode: e.Status, Message: strings.Join(e.Messages, "; "), Error: http.StatusText(e.Status)}
	var imp *store.ImportError
	if errors.As(e.Err, &imp) {
		body.Problems, body.More = imp.Problems, imp.More
	}
	return body
}

// TokenAuth checks the admin token; with none configured, every request passes.
type TokenAuth struct{ Token string }

// Authenticate implements pipeline.Authenticator.
func (t TokenAuth) Authenticate(header string) (*auth.Principal, error) {
	if t.Token == "" {
		return &auth.Principal{AppID: "admin"}, nil
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), []byte(t.Token)) != 1 {
		return nil, auth.ErrInvalidToken
	}
	return &auth.Principal{AppID: "admin"}, nil
}

func ok(body any) (pipeline.Response, error) { return pipeline.JSON(http.StatusOK, body), nil }

func (a *API) health(*pipeline.Request) (pipeline.Response, error) {
	return ok(map[string]any{"status": "ok", "time": a.Clock.Now().Format(time.RFC3339Nano),
		"contacts": a.Store.Stats().Contacts, "journal": a.Journal.Len(), "faults": len(a.Faults.List()),
		"locationId": a.DefaultLocation, "m360AccountId": a.DefaultM360Account})
}

func (a *API) openapi(*pipeline.Request) (pipeline.Response, error) {
	return ok(pipeline.Raw{ContentType: "application/yaml", Data: a.Spec})
}

func (a *API) reset(*pipeline.Request) (pipeline.Response, error) {
	if err := a.Reset(); err != nil {
		return pipeline.Response{}, err
	}
	return ok(map[string]bool{"reset": true})
}

func (a *API) exportState(*pipeline.Request) (pipeline.Response, error) {
	return ok(a.Store.Snapshot())
}

// importState decodes the body as a stream, one record at a time (the
// pipeline hands it over unread: see pipeline.Config.Streamed), so a large
// state never sits in memory twice; each record is checked as it decodes
// (CheckRecord), and the state as a whole when it replaces the old one,
// with its changes told (Import) unless events=false or the state has no
// subscription to send them to (Restore).
func (a *API) importState(r *pipeline.Request) (pipeline.Response, error) {
	st, err := store.DecodeState(bufio.NewReaderSize(r.HTTP.Body, 1<<20), a.CheckRecord)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.Is(err, store.ErrInvalid):
		return pipeline.Response{}, fmt.Errorf("import state: %w", err)
	case err != nil:
		return pipeline.Response{}, pipeline.BadRequest("Invalid JSON body: " + err.Error())
	}
	// The import's changes go to the imported state's subscriptions: with
	// none, no event can go anywhere, and working the changes out (a
	// hundred thousand contacts' and their records', a second of CPU) is
	// skipped.
	replace := a.Store.Import
	if r.Query.Get("events") == "false" || (len(st.Webhooks) == 0 && len(st.M360Webhooks) == 0) {
		replace = a.Store.Restore
	}
	if err := replace(st); err != nil {
		return pipeline.Response{}, fmt.Errorf("import state: %w", err)
	}
	s := a.Store.Stats()
	return ok(map[string]int{"locations": s.Locations, "contacts": s.Contacts, "tasks": s.Tasks,
		"notes": s.Notes, "appointments": s.Appointments})
}

type mintInput struct {
	LocationID string   `json:"locationId"`
	Scopes     []string `json:"scopes"`
	Type       string   `json:"type"`
	ExpiresIn  int      `json:"expiresIn"`
}

func (a *API) mintToken(r *pipeline.Request) (pipeline.Response, error) {
	var in mintInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	if _, err := a.Store.Location(in.LocationID); err != nil {
		return pipeline.Response{}, err
	}
	ttl := time.Duration(in.ExpiresIn) * time.Second
	pit := in.Type == "private-integration"
	token, p := a.Tokens.Mint(in.LocationID, in.Scopes, ttl, pit)
	kind := "oauth"
	if pit {
		kind = "private-integration"
	}
	var expires *string
	if !p.ExpiresAt.IsZero() {
		s := p.ExpiresAt.Format(time.RFC3339Nano)
		expires = &s
	}
	return pipeline.JSON(http.StatusCreated, map[string]any{"token": token, "type": kind,
		"locationId": p.LocationID, "scopes": p.Scopes, "expiresAt": expires}), nil
}

func (a *API) listApps(*pipeline.Request) (pipeline.Response, error) {
	apps := a.Tokens.Apps()
	for i, app := range apps {
		if w, found := a.Store.Webhook(app.ClientID); found {
			apps[i].WebhookURL, apps[i].WebhookEvents = journal.RedactURLPasswords(w.URL), w.Events
		}
	}
	return ok(map[string]any{"apps": apps})
}

// putApp registers app, and makes its webhook subscription what it
// declares, unless its webhook URL or events cannot work.
func (a *API) putApp(app auth.App) error {
	if err := a.CheckApp(app); err != nil {
		return pipeline.Unprocessable(err.Error())
	}
	a.Store.SetWebhook(store.Webhook{ClientID: app.ClientID, URL: app.WebhookURL, Events: app.WebhookEvents})
	a.Tokens.PutApp(app)
	return nil
}

func (a *API) createApp(r *pipeline.Request) (pipeline.Response, error) {
	var app auth.App
	if err := r.Decode(&app); err != nil {
		return pipeline.Response{}, err
	}
	if app.Scopes == nil {
		app.Scopes = []string{}
	}
	if err := a.putApp(app); err != nil {
		return pipeline.Response{}, err
	}
	app.WebhookURL = journal.RedactURLPasswords(app.WebhookURL)
	return pipeline.JSON(http.StatusCreated, app), nil
}

func (a *API) limitsView() map[string]any {
	buckets := a.Limits.Status()
	if buckets == nil {
		buckets = []limits.BucketStatus{}
	}
	return map[string]any{"config": a.Limits.Config(), "buckets": buckets}
}

func (a *API) getLimits(*pipeline.Request) (pipeline.Response, error) { return ok(a.limitsView()) }

func (a *API) putLimits(r *pipeline.Request) (pipeline.Response, error) {
	var cfg limits.Config
	if err := r.Decode(&cfg); err != nil {
		return pipeline.Response{}, err
	}
	if err := a.Limits.SetConfig(cfg); err != nil {
		return pipeline.Response{}, pipeline.Unprocessable(err.Error())
	}
	return ok(a.limitsView())
}

func (a *API) listFaults(*pipeline.Request) (pipeline.Response, error) {
	rules := a.Faults.List()
	if rules == nil {
		rules = []faults.Rule{}
	}
	return ok(map[string]any{"faults": rules})
}

func (a *API) addFault(r *pipeline.Request) (pipeline.Response, error) {
	var rule faults.Rule
	if err := r.Decode(&rule); err != nil {
		return pipeline.Response{}, err
	}
	added, err := a.Faults.Add(rule)
	if err != nil {
		return pipeline.Response{}, pipeline.Unprocessable(err.Error())
	}
	return pipeline.JSON(http.StatusCreated, added), nil
}

func (a *API) clearFaults(*pipeline.Request) (pipeline.Response, error) {
	n := len(a.Faults.List())
	a.Faults.Clear()
	return ok(map[string]int{"deleted": n})
}

func (a *API) deleteFault(r *pipeline.Request) (pipeline.Response, error) {
	if err := a.Faults.Delete(r.Path["id"]); err != nil {
		if errors.Is(err, faults.ErrNotFound) {
			return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{"no fault rule " + r.Path["id"]}}
		}
		return pipeline.Response{}, err
	}
	return ok(map[string]int{"deleted": 1})
}

// requestFilter is a journal filter as the API spells it.
type requestFilter struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Operation string `json:"operation"`
	Status    int    `json:"status"`
	Since     string `json:"since"`
}

func (f requestFilter) filter() (journal.Filter, error) {
	out := journal.Filter{Method: f.Method, Path: f.Path, Operation: f.Operation, Status: f.Status}
	if f.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, f.Since)
		if err != nil {
			return out, pipeline.Unprocessable("since must be an RFC 3339 date-time")
		}
		out.Since = t
	}
	return out, nil
}

func (a *API) listRequests(r *pipeline.Request) (pipeline.Response, error) {
	q := r.Query
	status, _ := strconv.Atoi(q.Get("status")) // validated by the spec
	f, err := requestFilter{Method: q.Get("method"), Path: q.Get("path"), Operation: q.Get("operation"),
		Status: status, Since: q.Get("since")}.filter()
	if err != nil {
		return pipeline.Response{}, err
	}
	total := a.Journal.Count(f)
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	entries := a.Journal.Entries(f)
	if entries == nil {
		entries = []journal.Entry{}
	}
	return ok(map[string]any{"requests": entries, "total": total})
}

func (a *API) clearRequests(*pipeline.Request) (pipeline.Response, error) {
	n := a.Journal.Len()
	a.Journal.Clear()
	return ok(map[string]int{"cleared": n})
}

func (a *API) countRequests(r *pipeline.Request) (pipeline.Response, error) {
	var in requestFilter
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	f, err := in.filter()
	if err != nil {
		return pipeline.Response{}, err
	}
	return ok(map[string]int{"count": a.Journal.Count(f)})
}

func (a *API) clockView() map[string]any {
	_, frozen := a.Clock.(*clock.Manual)
	return map[string]any{"now": a.Clock.Now().Format(time.RFC3339Nano), "frozen": frozen}
}

func (a *API) getClock(*pipeline.Request) (pipeline.Response, error) { return ok(a.clockView()) }

// maxClock is the latest time the clock may show: dates are written as RFC
// 3339, whose years have four digits, and a later one fails every response
// (and the state export) that shows a date.
var maxClock = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func (a *API) moveClock(r *pipeline.Request) (pipeline.Response, error) {
	var in struct {
		Advance string `json:"advance"`
		Set     string `json:"set"`
	}
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	manual, frozen := a.Clock.(*clock.Manual)
	if !frozen {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusConflict,
			Messages: []string{"the clock is real: start the twin with --clock frozen (or --seed) to move it"}}
	}
	switch {
	case in.Set != "":
		t, err := time.Parse(time.RFC3339Nano, in.Set)
		if err != nil {
			return pipeline.Response{}, pipeline.Unprocessable("set must be an RFC 3339 date-time")
		}
		if t.Before(manual.Now()) {
			return pipeline.Response{}, pipeline.Unprocessable("set must not move the clock back")
		}
		if t.After(maxClock) {
			return pipeline.Response{}, pipeline.Unprocessable("set must not move the clock past " + maxClock.Format(time.RFC3339))
		}
		manual.Set(t)
	case in.Advance != "":
		d, err := time.ParseDuration(in.Advance)
		if err != nil || d < 0 {
			return pipeline.Response{}, pipeline.Unprocessable("advance must be a positive duration such as 10s")
		}
		if manual.Now().Add(d).After(maxClock) {
			return pipeline.Response{}, pipeline.Unprocessable("advance must not move the clock past " + maxClock.Format(time.RFC3339))
		}
		manual.Advance(d)
	default:
		return pipeline.Response{}, pipeline.Unprocessable("give advance or set")
	}
	return ok(a.clockView())
}

type m360KeyInput struct {
	AccountID    int64    `json:"accountId"`
	Permissions  []string `json:"permissions"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
}

func (a *API) mintM360Key(r *pipeline.Request) (pipeline.Response, error) {
	var in m360KeyInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	if !a.M360AccountExists(in.AccountID) {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound,
			Messages: []string{fmt.Sprintf("no Marketing 360 account %d", in.AccountID)}}
	}
	if in.ClientID == "" {
		in.ClientID = "m360_" + a.Secret(16)
	}
	if in.ClientSecret == "" {
		in.ClientSecret = a.Secret(32)
	}
	a.M360Keys.Add(in.ClientID, in.ClientSecret, auth.Principal{LocationID: strconv.FormatInt(in.AccountID, 10), Scopes: in.Permissions})
	return pipeline.JSON(http.StatusCreated, in), nil
}

func (a *API) leakyView() map[string]any {
	buckets := a.M360Limits.Status()
	if buckets == nil {
		buckets = []limits.LeakyStatus{}
	}
	return map[string]any{"config": a.M360Limits.Config(), "buckets": buckets}
}

func (a *API) getM360Limits(*pipeline.Request) (pipeline.Response, error) { return ok(a.leakyView()) }

func (a *API) putM360Limits(r *pipeline.Request) (pipeline.Response, error) {
	var cfg limits.LeakyConfig
	if err := r.Decode(&cfg); err != nil {
		return pipeline.Response{}, err
	}
	if err := a.M360Limits.SetConfig(cfg); err != nil {
		return pipeline.Response{}, pipeline.Unprocessable(err.Error())
	}
	return ok(a.leakyView())
}

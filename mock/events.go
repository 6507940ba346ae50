package mock

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/internal/uuid"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/m360"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/openapi"
)

// The twins as webhook messages name them (the delivery log's twin filter).
const (
	twinHighLevel = "highlevel"
	twinM360      = "m360"
)

// headerM360Signature carries a Marketing 360 delivery's HMAC signature.
const headerM360Signature = "X-M360-Signature"

// emitter turns the store's changes into webhook deliveries, to the
// subscriptions the store holds: HighLevel events for the apps installed on
// the change's location, Marketing 360 events for the account's. The store tells it each change
// under its lock; it queues the change and returns, and its goroutine does
// the rest, so a request never waits on a webhook.
type emitter struct {
	dispatcher *webhooks.Dispatcher
	keys       webhooks.Signer // signs HighLevel deliveries
	apps       *auth.Registry
	store      *store.Store
	hl         *openapi.Spec
	ids        *store.IDs // webhook and event ids, apart from the store's
	log        *slog.Logger

	opts atomic.Pointer[highlevel.EventOptions] // set before start

	done    chan struct{} // closed by close
	stopped chan struct{} // closed when run returns
	wake    chan struct{} // holds one wake-up

	routeMu sync.Mutex // held while changes are routed, so reset waits for them
	mu      sync.Mutex // guards queue and spare
	queue   []store.Change
	spare   []store.Change // the queue flush last routed, emptied, for the next
}

// maxSpareQueue is the most changes a spare queue may hold room for: one
// that grew past it in a burst is left to the collector.
const maxSpareQueue = 1024

// start has the store tell e its changes, and starts routing them; close
// stops it.
func (e *emitter) start() {
	e.done, e.stopped, e.wake = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	e.store.ObserveSubscribed(e.observe)
	go e.run()
}

// observe queues a change; it runs under the store's lock.
func (e *emitter) observe(c store.Change) {
	e.mu.Lock()
	e.queue = append(e.queue, c)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *emitter) run() {
	defer close(e.stopped)
	for {
		select {
		case <-e.wake:
			e.flush()
		case <-e.done:
			e.flush()
			return
		}
	}
}

// flush routes the queued changes, in order.
func (e *emitter) flush() {
	e.routeMu.Lock()
	defer e.routeMu.Unlock()
	e.mu.Lock()
	queue := e.queue
	e.queue, e.spare = e.spare, nil
	e.mu.Unlock()
	for _, c := range queue {
		e.route(c)
	}
	if cap(queue) <= maxSpareQueue {
		clear(queue) // keeps no record alive
		e.mu.Lock()
		e.spare = queue[:0]
		e.mu.Unlock()
	}
}

// route sends a change's events to their subscribers.
func (e *emitter) route(c store.Change) {
	// The events are made only for subscribers: making them (comparing
	// the record with its former version) is most of the cost of a change.
	var events []highlevel.Event
	var company string
	subs := e.store.Webhooks()
	if len(subs) > 0 {
		events, company = highlevel.Events(c, e.EventOptions()), e.apps.Company()
	}
	for _, ev := range events {
		hook, ok := e.hl.Webhook(ev.Type)
		if !ok {
			continue // a spec given with --spec may have no catalog
		}
		for _, sub := range subs {
			app, ok := e.apps.App(sub.ClientID)
			if !ok || !sub.Receives(ev.Type) || !app.Allows(hook.Scopes) || !e.apps.Installed(sub.ClientID, ev.LocationID) {
				continue
			}
			e.sendHighLevel(app, sub, ev, company, "contact/"+ev.ContactID, c.At)
		}
	}
	for _, ev := range m360.Events(c) {
		for _, sub := range e.store.M360Subscribers(ev.AccountID, ev.Type) {
			id := "evt_" + e.ids.Token(24)
			body, err := ev.Body(id, c.At)
			e.send(err, webhooks.Message{Twin: twinM360, Event: ev.Type, EventID: id,
				Subscription: strconv.FormatInt(sub.ID, 10), Target: sub.URL,
				Resource: "contact/" + strconv.FormatInt(ev.ContactID, 10), At: c.At, Body: body,
				Header: map[string]string{"X-M360-Event": ev.Type, "X-M360-Delivery": id},
				Signer: webhooks.HMAC{Header: headerM360Signature, Secret: sub.Secret}})
		}
	}
}

// sendHighLevel addresses a HighLevel event to one app's subscription.
func (e *emitter) sendHighLevel(app auth.App, sub store.Webhook, ev highlevel.Event, company, resource string, at time.Time) {
	id := uuid.Format(e.ids.Token(32))
	body, err := ev.Body(highlevel.Recipient{AppID: app.AppID(), VersionID: app.AppID(), CompanyID: company}, id, at)
	e.send(err, webhooks.Message{Twin: twinHighLevel, Event: ev.Type, EventID: id, Subscription: app.ClientID,
		Target: sub.URL, Resource: resource, At: at, Body: body, Signer: e.keys})
}

// AppUninstalled sends AppUninstall to the app removed from location, when
// it has a webhook URL that receives the event (the app is no longer
// installed there, so the check of the others does not apply).
func (e *emitter) AppUninstalled(app auth.App, location string, at time.Time) {
	e.routeMu.Lock()
	defer e.routeMu.Unlock()
	sub, ok := e.store.Webhook(app.ClientID)
	if _, inCatalog := e.hl.Webhook(highlevel.AppUninstall); !ok || sub.URL == "" || !sub.Receives(highlevel.AppUninstall) || !inCatalog {
		return
	}
	e.sendHighLevel(app, sub, highlevel.UninstallEvent(location), e.apps.Company(), "app/"+app.ClientID, at)
}

func (e *emitter) send(encodeErr error, m webhooks.Message) {
	if encodeErr != nil {
		e.log.Error("webhook payload does not encode", logkey.Event, m.Event, logkey.Err, encodeErr)
		return
	}
	if _, err := e.dispatcher.Send(m); err != nil {
		e.log.Error("webhook not queued", logkey.Event, m.Event, logkey.EventID, m.EventID, logkey.Err, err)
	}
}

// EventOptions returns the toggles HighLevel's payloads are made with.
func (e *emitter) EventOptions() highlevel.EventOptions { return *e.opts.Load() }

// SetEventOptions changes them, for the changes routed from now on.
func (e *emitter) SetEventOptions(o highlevel.EventOptions) { e.opts.Store(&o) }

// reset drops the changes not yet routed and every pending delivery.
func (e *emitter) reset() {
	e.routeMu.Lock()
	defer e.routeMu.Unlock()
	e.mu.Lock()
	e.queue = nil
	e.mu.Unlock()
	e.dispatcher.Reset()
}

// close stops observing the store and routes what is queued.
func (e *emitter) close() {
	e.store.Observe(nil)
	close(e.done)
	<-e.stopped
}

// validator checks a message against its twin's webhook catalog, for
// strict mode.
func validator(hl, m *openapi.Spec) func(webhooks.Message) error {
	return func(msg webhooks.Message) error {
		spec := hl
		if msg.Twin == twinM360 {
			spec = m
		}
		hook, ok := spec.Webhook(msg.Event)
		if !ok {
			return fmt.Errorf("event %s is not in %s's webhook catalog", msg.Event, spec.File)
		}
		return hook.Validate(msg.Body)
	}
}

// checkWebhookApp refuses an app whose webhook URL or events cannot work.
func checkWebhookApp(a auth.App, spec *openapi.Spec, self *webhooks.Self) error {
	if a.WebhookURL != "" {
		if err := self.Check(a.WebhookURL); err != nil {
			return fmt.Errorf("app %s: webhookUrl %q: %w", a.ClientID, a.WebhookURL, err)
		}
	}
	for _, ev := range a.WebhookEvents {
		if _, ok := spec.Webhook(ev); !ok {
			return fmt.Errorf("app %s: webhookEvents: %q is not an event of %s", a.ClientID, ev, spec.File)
		}
	}
	return nil
}

// Package webhooks delivers the twins' signed webhooks as production does:
// asynchronously, at least once, in order per resource, retried with
// backoff, with a bounded delivery log, redelivery on demand, realism
// toggles (delay, duplicates) and a shutdown that drains or spools what is
// pending. It knows nothing of the payloads: the twins build them.
package webhooks

import (
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// Delivery statuses.
const (
	StatusPending   = "pending"   // waiting for an attempt, or retrying
	StatusDelivered = "delivered" // a 2xx came back
	StatusFailed    = "failed"    // every attempt failed
	StatusInvalid   = "invalid"   // the payload broke the spec (strict mode); never sent
	// StatusDropped: lost on purpose, never to be tried again: by the live
	// retry policy after an answer it does not retry, or by the seeded loss
	// (drop, dropEvents) before any attempt. Error says why.
	StatusDropped = "dropped"
)

// Errors of the dispatcher.
var (
	ErrNotFound = errors.New("webhooks: no such delivery")
	ErrClosed   = errors.New("webhooks: dispatcher closed")
	// ErrInvalidPayload refuses to redeliver what strict mode never sent.
	ErrInvalidPayload = errors.New("webhooks: payload does not match the spec")
)

// CheckURL refuses a target that is not an absolute http or https URL.
func CheckURL(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// Message is one event addressed to one subscriber.
type Message struct {
	// Twin names the message's sender, for the log and its filter.
	Twin  string `json:"twin"`
	Event string `json:"event"`
	// EventID identifies the event for the receiver (HighLevel's webhookId,
	// Marketing 360's id); redeliveries and duplicates repeat it.
	EventID string `json:"eventId"`
	// Subscription names the subscriber: the HighLevel app's client id, the
	// Marketing 360 subscription's id.
	Subscription string `json:"subscription"`
	Target       string `json:"target"`
	// Resource is what deliveries are ordered by, per subscription: one
	// resource's deliveries go one at a time, in the order they were sent.
	Resource string `json:"resource"`
	// At is when the event happened (the delivery is scheduled from the
	// dispatcher's clock, not from this).
	At   time.Time       `json:"at"`
	Body json.RawMessage `json:"body"`
	// Header holds headers sent with every attempt, besides the signature.
	Header map[string]string `json:"header,omitempty"`
	// Signer signs each attempt; nil sends it unsigned. Never shown.
	Signer Signer `json:"-"`
}

// Attempt is one try of a delivery.
type Attempt struct {
	At time.Time `json:"at"`
	// Status is the receiver's HTTP status; 0 when none came back.
	Status    int     `json:"status"`
	LatencyMs float64 `json:"latencyMs"`
	// Error tells why an attempt without a 2xx failed.
	Error string `json:"error,omitempty"`
	// Response is the start of the receiver's answer.
	Response string `json:"response,omitempty"`
}

// Delivery is a message and what became of it.
type Delivery struct {
	ID string `json:"id"`
	Message
	Status       string     `json:"status"`
	Attempts     []Attempt  `json:"attempts"`
	CreatedAt    time.Time  `json:"createdAt"`
	NextAttempt  *time.Time `json:"nextAttemptAt"`
	DeliveredAt  *time.Time `json:"deliveredAt"`
	LatencyMs    *float64   `json:"latencyMs"`
	Error        string     `json:"error,omitempty"`
	Duplicate    bool       `json:"duplicate"`
	RedeliveryOf string     `json:"redeliveryOf,omitempty"`
}

// Filter selects deliveries; zero fields select all.
type Filter struct {
	Twin, Event, Status, Subscription, Resource, EventID string
	// Since selects the deliveries created at or after it (zero: all).
	Since time.Time
	// Limit caps how many are returned, newest first (0 or less: all).
	Limit int
}

func (f Filter) match(d *Delivery) bool {
	return (f.Twin == "" || d.Twin == f.Twin) && (f.Event == "" || d.Event == f.Event) &&
		(f.Status == "" || d.Status == f.Status) && (f.Subscription == "" || d.Subscription == f.Subscription) &&
		(f.Resource == "" || d.Resource == f.Resource) && (f.EventID == "" || d.EventID == f.EventID) &&
		!d.CreatedAt.Before(f.Since)
}

// Stats counts deliveries by status, among those the log holds.
type Stats struct {
	Pending   int `json:"pending"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Invalid   int `json:"invalid"`
	Dropped   int `json:"dropped"`
}

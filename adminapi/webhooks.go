package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhooks: keys, settings, subscriptions and the delivery log.

// WebhookKeys are the PEM public keys that verify HighLevel deliveries.
type WebhookKeys struct {
	Ed25519 string `json:"ed25519"` // x-ghl-signature
	RSA     string `json:"rsa"`     // x-wh-signature; "" when the twin does not sign with RSA
}

// WebhookKeys returns the public keys that verify HighLevel deliveries.
func (c *Client) WebhookKeys(ctx context.Context) (WebhookKeys, error) {
	return call[WebhookKeys](ctx, c, http.MethodGet, "/__admin/webhooks/keys", nil, nil)
}

// WebhookSettings are the retry policy and the realism toggles; durations
// as Go spells them (250ms). In a change, zero retry fields take their
// defaults.
type WebhookSettings struct {
	// RetryPolicy is "twin" (the default) or "live" (only a 429 is retried;
	// anything else drops the event).
	RetryPolicy string  `json:"retryPolicy,omitempty"`
	Attempts    int     `json:"attempts,omitempty"`
	Timeout     string  `json:"timeout,omitempty"`
	Backoff     string  `json:"backoff,omitempty"`
	MaxBackoff  string  `json:"maxBackoff,omitempty"`
	Delay       string  `json:"delay,omitempty"`
	DelayJitter string  `json:"delayJitter,omitempty"`
	Duplicates  float64 `json:"duplicates,omitempty"`
	// Drop is the probability that an event is lost; DropEvents the event
	// types always lost; Reorder the window deliveries may go out of
	// order within.
	Drop              float64  `json:"drop,omitempty"`
	DropEvents        []string `json:"dropEvents,omitempty"`
	Reorder           string   `json:"reorder,omitempty"`
	UpdateAfterCreate bool     `json:"updateAfterCreate,omitempty"`
	UpdateOnTagChange bool     `json:"updateOnTagChange,omitempty"`
	MissingFields     bool     `json:"missingFields,omitempty"`
}

// WebhookSettings returns the webhook settings in force.
func (c *Client) WebhookSettings(ctx context.Context) (WebhookSettings, error) {
	return call[WebhookSettings](ctx, c, http.MethodGet, "/__admin/webhooks/settings", nil, nil)
}

// SetWebhookSettings replaces the webhook settings and returns those now in
// force.
func (c *Client) SetWebhookSettings(ctx context.Context, s WebhookSettings) (WebhookSettings, error) {
	return call[WebhookSettings](ctx, c, http.MethodPut, "/__admin/webhooks/settings", nil, s)
}

// Subscription is a HighLevel app's webhook subscription.
type Subscription struct {
	ClientID  string   `json:"clientId"`
	AppID     string   `json:"appId"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`    // all when empty
	Locations []string `json:"locations"` // the locations it receives events of
}

// SubscribeHighLevel sets the webhook URL of the app with clientID, for
// events (all when empty).
func (c *Client) SubscribeHighLevel(ctx context.Context, clientID, target string, events []string) (Subscription, error) {
	in := struct {
		URL    string   `json:"url"`
		Events []string `json:"events,omitempty"`
	}{target, events}
	return call[Subscription](ctx, c, http.MethodPut, "/__admin/webhooks/highlevel/"+url.PathEscape(clientID), nil, in)
}

// UnsubscribeHighLevel stops sending the app webhooks; deliveries already
// queued still go.
func (c *Client) UnsubscribeHighLevel(ctx context.Context, clientID string) error {
	return c.do(ctx, http.MethodDelete, "/__admin/webhooks/highlevel/"+url.PathEscape(clientID), nil, nil, nil)
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryInvalid   = "invalid"
	DeliveryDropped   = "dropped"
)

// Delivery is one webhook message and what became of it.
type Delivery struct {
	ID           string            `json:"id"`
	Twin         string            `json:"twin"`
	Event        string            `json:"event"`
	EventID      string            `json:"eventId"`
	Subscription string            `json:"subscription"`
	Target       string            `json:"target"`
	Resource     string            `json:"resource"`
	At           time.Time         `json:"at"`
	Header       map[string]string `json:"header"`
	Status       string            `json:"status"`
	Attempts     []DeliveryAttempt `json:"attempts"`
	CreatedAt    time.Time         `json:"createdAt"`
	NextAttempt  *time.Time        `json:"nextAttemptAt"`
	DeliveredAt  *time.Time        `json:"deliveredAt"`
	LatencyMs    *float64          `json:"latencyMs"`
	Error        string            `json:"error"`
	Duplicate    bool              `json:"duplicate"`
	RedeliveryOf string            `json:"redeliveryOf"`
	Body         json.RawMessage   `json:"body"`
}

// DeliveryAttempt is one try of a delivery; Status is 0 when no answer
// came back.
type DeliveryAttempt struct {
	At        time.Time `json:"at"`
	Status    int       `json:"status"`
	LatencyMs float64   `json:"latencyMs"`
	Error     string    `json:"error"`
	Response  string    `json:"response"`
}

// DeliveryFilter selects deliveries; zero fields select all. Resource is
// contact/<id>.
type DeliveryFilter struct {
	Twin, Event, Status, Subscription, Resource, EventID string
	// Since selects the deliveries created at or after it.
	Since time.Time
}

// Deliveries returns the deliveries f selects, newest first, at most limit
// of them (0: all), and how many matched before the limit.
func (c *Client) Deliveries(ctx context.Context, f DeliveryFilter, limit int) ([]Delivery, int, error) {
	q := url.Values{}
	for k, v := range map[string]string{"twin": f.Twin, "event": f.Event, "status": f.Status,
		"subscription": f.Subscription, "resource": f.Resource, "eventId": f.EventID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
		Total      int        `json:"total"`
	}
	err := c.do(ctx, http.MethodGet, "/__admin/webhooks/deliveries", q, nil, &out)
	return out.Deliveries, out.Total, err
}

// Delivery returns one delivery.
func (c *Client) Delivery(ctx context.Context, id string) (Delivery, error) {
	return call[Delivery](ctx, c, http.MethodGet, "/__admin/webhooks/deliveries/"+url.PathEscape(id), nil, nil)
}

// Redeliver queues a new delivery of the same body and event id, due at
// once, and returns it.
func (c *Client) Redeliver(ctx context.Context, id string) (Delivery, error) {
	return call[Delivery](ctx, c, http.MethodPost, "/__admin/webhooks/deliveries/"+url.PathEscape(id)+"/redeliver", nil, nil)
}

// RedeliverMatching queues a new delivery of every logged delivery f
// selects, finished ones too, and returns them, oldest first.
func (c *Client) RedeliverMatching(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	in := struct {
		Since        *time.Time `json:"since,omitempty"`
		Twin         string     `json:"twin,omitempty"`
		Event        string     `json:"event,omitempty"`
		Resource     string     `json:"resource,omitempty"`
		Status       string     `json:"status,omitempty"`
		Subscription string     `json:"subscription,omitempty"`
		EventID      string     `json:"eventId,omitempty"`
	}{Twin: f.Twin, Event: f.Event, Resource: f.Resource, Status: f.Status, Subscription: f.Subscription, EventID: f.EventID}
	if !f.Since.IsZero() {
		in.Since = &f.Since
	}
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	err := c.do(ctx, http.MethodPost, "/__admin/webhooks/deliveries/redeliver", nil, in, &out)
	return out.Deliveries, err
}

// Uninstall is what an app's uninstall from a location did.
type Uninstall struct {
	ClientID      string `json:"clientId"`
	LocationID    string `json:"locationId"`
	RevokedTokens int    `json:"revokedTokens"` // access and refresh tokens
}

// UninstallApp removes the app with clientID from location: its tokens
// there stop working (a refresh answers invalid_grant) and it is sent
// AppUninstall.
func (c *Client) UninstallApp(ctx context.Context, clientID, location string) (Uninstall, error) {
	in := struct {
		LocationID string `json:"locationId"`
	}{location}
	return call[Uninstall](ctx, c, http.MethodPost, "/__admin/apps/"+url.PathEscape(clientID)+"/uninstall", nil, in)
}

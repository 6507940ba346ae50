// Package adminapi is a client of the twins' admin API (openapi/admin.yaml),
// served under /__admin on each twin's listener: every operation but the
// webhooks overview (GET /__admin/webhooks) and the keys as PEM files, which
// WebhookKeys returns. It imports nothing of the twin: the state, whose
// shape is the twin's own, travels as whatever value the caller encodes and
// decodes.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one twin's admin API. Its zero value is not usable: set
// BaseURL.
type Client struct {
	// BaseURL is the twin's base URL (http://127.0.0.1:4010), without
	// /__admin.
	BaseURL string
	// Token is sent as a bearer token; "" sends none (a twin without an
	// admin token does not check it).
	Token string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Error is an answer outside 2xx: its status and the admin API's message.
type Error struct {
	Method, Path string
	StatusCode   int
	Message      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("adminapi: %s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// do sends one request with in as its JSON body (nil for none) and decodes
// a 2xx answer into out (nil to drop it).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	res, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("adminapi: %s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// call sends one request and decodes its 2xx answer into a T.
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (T, error) {
	var out T
	err := c.do(ctx, method, path, query, in, &out)
	return out, err
}

// send sends one request and returns a 2xx answer, whose body the caller
// closes; any other status is an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("adminapi: %s %s: encode the body: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("adminapi: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("adminapi: %s %s: %w", method, path, err)
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	return nil, &Error{Method: method, Path: path, StatusCode: res.StatusCode, Message: errorMessage(raw)}
}

// errorMessage is the message of an admin error body, or the body itself
// when it is not one.
func errorMessage(raw []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		return e.Message
	}
	return strings.TrimSpace(string(raw))
}

// Health is the twin's summary.
type Health struct {
	Status        string    `json:"status"`
	Time          time.Time `json:"time"`
	LocationID    string    `json:"locationId"`
	M360AccountID int64     `json:"m360AccountId"`
	Contacts      int       `json:"contacts"`
	Journal       int       `json:"journal"`
	Faults        int       `json:"faults"`
}

// Health reports whether the twin is up, its clock and its defaults: the
// location and Marketing 360 account its printed credentials belong to.
func (c *Client) Health(ctx context.Context) (Health, error) {
	return call[Health](ctx, c, http.MethodGet, "/__admin/health", nil, nil)
}

// OpenAPI returns the admin API's own OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	const path = "/__admin/openapi.yaml"
	res, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("adminapi: GET %s: %w", path, err)
	}
	return raw, nil
}

// Reset brings the twin back to its start-up state.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/__admin/reset", nil, nil, nil)
}

// ExportState decodes the twin's whole state into state (a pointer to the
// twin's state type, or to any value its JSON fits).
func (c *Client) ExportState(ctx context.Context, state any) error {
	return c.do(ctx, http.MethodGet, "/__admin/state", nil, nil, state)
}

// StateCounts are what the state holds after an import.
type StateCounts struct {
	Locations    int `json:"locations"`
	Contacts     int `json:"contacts"`
	Tasks        int `json:"tasks"`
	Notes        int `json:"notes"`
	Appointments int `json:"appointments"`
}

// ImportState replaces the twin's state with state, encoded as JSON. Every
// record the import adds, changes or drops sends its webhook events.
func (c *Client) ImportState(ctx context.Context, state any) (StateCounts, error) {
	return c.importState(ctx, state, nil)
}

// ImportStateQuietly is ImportState without webhook events.
func (c *Client) ImportStateQuietly(ctx context.Context, state any) (StateCounts, error) {
	return c.importState(ctx, state, url.Values{"events": {"false"}})
}

func (c *Client) importState(ctx context.Context, state any, q url.Values) (StateCounts, error) {
	return call[StateCounts](ctx, c, http.MethodPut, "/__admin/state", q, state)
}

// Token kinds MintToken takes.
const (
	TokenOAuth              = "oauth"
	TokenPrivateIntegration = "private-integration"
)

// TokenRequest asks for a HighLevel token.
type TokenRequest struct {
	LocationID string   `json:"locationId"`
	Scopes     []string `json:"scopes"`
	// Type is TokenOAuth (also when "") or TokenPrivateIntegration.
	Type string `json:"type,omitempty"`
	// ExpiresIn is in seconds: 0 the access-token lifetime, -1 never.
	ExpiresIn int `json:"expiresIn,omitempty"`
}

// Token is a minted HighLevel token.
type Token struct {
	Token      string     `json:"token"`
	Type       string     `json:"type"`
	LocationID string     `json:"locationId"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expiresAt"` // nil: never
}

// MintToken makes a HighLevel token for a location.
func (c *Client) MintToken(ctx context.Context, r TokenRequest) (Token, error) {
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	return call[Token](ctx, c, http.MethodPost, "/__admin/tokens", nil, r)
}

// App is a HighLevel OAuth app.
type App struct {
	ClientID      string   `json:"clientId"`
	ClientSecret  string   `json:"clientSecret"`
	Name          string   `json:"name,omitempty"`
	RedirectURIs  []string `json:"redirectUris"`
	Scopes        []string `json:"scopes"`
	Location      string   `json:"location,omitempty"`
	WebhookURL    string   `json:"webhookUrl,omitempty"`
	WebhookEvents []string `json:"webhookEvents,omitempty"`
}

// Apps lists the OAuth apps by client id.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	return out.Apps, c.do(ctx, http.MethodGet, "/__admin/apps", nil, nil, &out)
}

// PutApp registers an app, or replaces the one with its client id.
func (c *Client) PutApp(ctx context.Context, app App) (App, error) {
	if app.Scopes == nil {
		app.Scopes = []string{}
	}
	return call[App](ctx, c, http.MethodPost, "/__admin/apps", nil, app)
}

// FaultRule is a fault injected into the requests it matches.
type FaultRule struct {
	ID          string      `json:"id,omitempty"`
	Match       FaultMatch  `json:"match"`
	Effect      FaultEffect `json:"effect"`
	Probability float64     `json:"probability,omitempty"`
	Times       int         `json:"times,omitempty"`
	Applied     int         `json:"applied,omitempty"` // read only
}

// FaultMatch selects requests; empty fields match any. Path is a pattern:
// * is one segment, ** any rest.
type FaultMatch struct {
	Operation string `json:"operation,omitempty"`
	Method    string `json:"method,omitempty"`
	Path      string `json:"path,omitempty"`
	Location  string `json:"location,omitempty"`
}

// Fault effect kinds.
const (
	FaultLatency  = "latency"
	FaultError    = "error"
	FaultReset    = "reset"
	FaultHang     = "hang"
	FaultTruncate = "truncate"
)

// FaultEffect is what a matched request gets.
type FaultEffect struct {
	Kind    string            `json:"kind"`
	Latency *Latency          `json:"latency,omitempty"`
	Status  int               `json:"status,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// After makes an error, reset or hang come after the handler committed
	// its change (not for a latency; a truncate always does).
	After bool `json:"after,omitempty"`
}

// Latency is a delay's distribution: fixed, uniform (Min, Max) or normal
// (Mean, StdDev); durations as Go spells them (250ms).
type Latency struct {
	Distribution string `json:"distribution"`
	Fixed        string `json:"fixed,omitempty"`
	Min          string `json:"min,omitempty"`
	Max          string `json:"max,omitempty"`
	Mean         string `json:"mean,omitempty"`
	StdDev       string `json:"stdDev,omitempty"`
}

// Faults lists the fault rules in the order they are tried.
func (c *Client) Faults(ctx context.Context) ([]FaultRule, error) {
	var out struct {
		Faults []FaultRule `json:"faults"`
	}
	return out.Faults, c.do(ctx, http.MethodGet, "/__admin/faults", nil, nil, &out)
}

// AddFault installs a rule and returns it with its id.
func (c *Client) AddFault(ctx context.Context, r FaultRule) (FaultRule, error) {
	return call[FaultRule](ctx, c, http.MethodPost, "/__admin/faults", nil, r)
}

// DeleteFault removes the rule with id.
func (c *Client) DeleteFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/__admin/faults/"+url.PathEscape(id), nil, nil, nil)
}

// ClearFaults removes every rule and returns how many there were.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	var out struct {
		Deleted int `json:"deleted"`
	}
	return out.Deleted, c.do(ctx, http.MethodDelete, "/__admin/faults", nil, nil, &out)
}

// RequestFilter selects journal entries; zero fields match any. Path is
// exact, or a prefix ending with *.
type RequestFilter struct {
	Method    string    `json:"method,omitempty"`
	Path      string    `json:"path,omitempty"`
	Operation string    `json:"operation,omitempty"`
	Status    int       `json:"status,omitempty"`
	Since     time.Time `json:"-"`
}

// MarshalJSON spells Since as the API does, and leaves it out when zero.
func (f RequestFilter) MarshalJSON() ([]byte, error) {
	type plain RequestFilter
	v := struct {
		plain
		Since string `json:"since,omitempty"`
	}{plain: plain(f)}
	if !f.Since.IsZero() {
		v.Since = f.Since.Format(time.RFC3339Nano)
	}
	return json.Marshal(v)
}

func (f RequestFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"method": f.Method, "path": f.Path, "operation": f.Operation} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	return q
}

// JournalEntry is one request the twin served, with its answer; secrets
// are redacted.
type JournalEntry struct {
	ID              int64       `json:"id"`
	Time            time.Time   `json:"time"`
	DurationMs      float64     `json:"durationMs"`
	Method          string      `json:"method"`
	Path            string      `json:"path"`
	Query           string      `json:"query"`
	Operation       string      `json:"operation"`
	Location        string      `json:"location"`
	Status          int         `json:"status"`
	RequestHeaders  http.Header `json:"requestHeaders"`
	RequestBody     string      `json:"requestBody"`
	ResponseHeaders http.Header `json:"responseHeaders"`
	ResponseBody    string      `json:"responseBody"`
	Truncated       bool        `json:"truncated"`
	// Fault is the id of the fault rule that fired on the request.
	Fault string `json:"fault"`
	// HandlerStatus is, after a fault that came after the handler, the
	// status the handler committed while the client saw Status.
	HandlerStatus int `json:"handlerStatus"`
}

// Requests returns the journal entries f matches, newest first, at most
// limit of them (0: all), and how many matched before the limit.
func (c *Client) Requests(ctx context.Context, f RequestFilter, limit int) ([]JournalEntry, int, error) {
	q := f.query()
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Requests []JournalEntry `json:"requests"`
		Total    int            `json:"total"`
	}
	err := c.do(ctx, http.MethodGet, "/__admin/requests", q, nil, &out)
	return out.Requests, out.Total, err
}

// CountRequests counts the journal entries f matches.
func (c *Client) CountRequests(ctx context.Context, f RequestFilter) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	return out.Count, c.do(ctx, http.MethodPost, "/__admin/requests/count", nil, f, &out)
}

// ClearRequests empties the journal and returns how many entries it held.
func (c *Client) ClearRequests(ctx context.Context) (int, error) {
	var out struct {
		Cleared int `json:"cleared"`
	}
	return out.Cleared, c.do(ctx, http.MethodDelete, "/__admin/requests", nil, nil, &out)
}

// Clock is the twin's time.
type Clock struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

// Clock returns the twin's time.
func (c *Client) Clock(ctx context.Context) (Clock, error) {
	return call[Clock](ctx, c, http.MethodGet, "/__admin/clock", nil, nil)
}

// AdvanceClock moves a frozen clock forward by d.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (Clock, error) {
	return call[Clock](ctx, c, http.MethodPost, "/__admin/clock", nil, map[string]string{"advance": d.String()})
}

// SetClock moves a frozen clock forward to t.
func (c *Client) SetClock(ctx context.Context, t time.Time) (Clock, error) {
	return call[Clock](ctx, c, http.MethodPost, "/__admin/clock", nil, map[string]string{"set": t.Format(time.RFC3339Nano)})
}

// M360Key is a Marketing 360 API key; ClientID and ClientSecret, when
// empty in a request, are made by the twin.
type M360Key struct {
	AccountID    int64    `json:"accountId"`
	Permissions  []string `json:"permissions"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientSecret string   `json:"clientSecret,omitempty"`
}

// MintM360Key makes a Marketing 360 API key with chosen permissions.
func (c *Client) MintM360Key(ctx context.Context, k M360Key) (M360Key, error) {
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	return call[M360Key](ctx, c, http.MethodPost, "/__admin/m360/keys", nil, k)
}

// Limit is a HighLevel rate limit: Burst requests per Interval (a Go
// duration such as 10s) and Daily a day.
type Limit struct {
	Enabled  bool   `json:"enabled"`
	Burst    int    `json:"burst"`
	Interval string `json:"interval"`
	Daily    int    `json:"daily"`
}

// LimitsConfig is the HighLevel twin's rate limits: Limit for every
// location but those of Locations.
type LimitsConfig struct {
	Limit
	DailyReset string           `json:"dailyReset,omitempty"` // utc (also when "") or rolling
	RetryAfter bool             `json:"retryAfter"`
	Locations  map[string]Limit `json:"locations,omitempty"`
}

// Bucket is the live count of one app at one location.
type Bucket struct {
	AppID          string    `json:"appId"`
	LocationID     string    `json:"locationId"`
	Max            int       `json:"max"`
	Remaining      int       `json:"remaining"`
	WindowResetsAt time.Time `json:"windowResetsAt"`
	Daily          int       `json:"daily"`
	DailyRemaining int       `json:"dailyRemaining"`
	DailyResetsAt  time.Time `json:"dailyResetsAt"`
}

// Limits are the HighLevel twin's settings and live buckets.
type Limits struct {
	Config  LimitsConfig `json:"config"`
	Buckets []Bucket     `json:"buckets"`
}

// Limits returns the HighLevel rate-limit settings and live buckets.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	return call[Limits](ctx, c, http.MethodGet, "/__admin/limits", nil, nil)
}

// SetLimits changes the HighLevel rate limits at once; buckets keep their
// counts.
func (c *Client) SetLimits(ctx context.Context, cfg LimitsConfig) (Limits, error) {
	return call[Limits](ctx, c, http.MethodPut, "/__admin/limits", nil, cfg)
}

// LeakyConfig is the Marketing 360 twin's leaky bucket per API key.
type LeakyConfig struct {
	Enabled    bool    `json:"enabled"`
	PerSecond  float64 `json:"perSecond"`
	Capacity   int     `json:"capacity"`
	RetryAfter bool    `json:"retryAfter"`
}

// LeakyBucket is one API key's bucket.
type LeakyBucket struct {
	Key       string    `json:"key"`
	Limit     int       `json:"limit"`
	Remaining int       `json:"remaining"`
	Reset     time.Time `json:"reset"`
}

// M360Limits are the Marketing 360 bucket's settings and the buckets that
// are not empty.
type M360Limits struct {
	Config  LeakyConfig   `json:"config"`
	Buckets []LeakyBucket `json:"buckets"`
}

// M360Limits returns the Marketing 360 limiter's settings and levels.
func (c *Client) M360Limits(ctx context.Context) (M360Limits, error) {
	return call[M360Limits](ctx, c, http.MethodGet, "/__admin/m360/limits", nil, nil)
}

// SetM360Limits changes the Marketing 360 leaky bucket.
func (c *Client) SetM360Limits(ctx context.Context, cfg LeakyConfig) (M360Limits, error) {
	return call[M360Limits](ctx, c, http.MethodPut, "/__admin/m360/limits", nil, cfg)
}

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
	Attempts          int     `json:"attempts,omitempty"`
	Timeout           string  `json:"timeout,omitempty"`
	Backoff           string  `json:"backoff,omitempty"`
	MaxBackoff        string  `json:"maxBackoff,omitempty"`
	Delay             string  `json:"delay,omitempty"`
	DelayJitter       string  `json:"delayJitter,omitempty"`
	Duplicates        float64 `json:"duplicates,omitempty"`
	UpdateAfterCreate bool    `json:"updateAfterCreate,omitempty"`
	MissingFields     bool    `json:"missingFields,omitempty"`
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

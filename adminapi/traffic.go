package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// What the twins do to requests and see of them: faults, the request
// journal, the clock and the rate limits.

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

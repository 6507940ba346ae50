// Package twintest starts the twins (package mock) for the sync's tests and
// benchmarks. It is the one place where they use mock's Go API: everything
// else goes through the twins' HTTP and admin APIs.
package twintest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/limits"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// Options choose the twins' settings.
type Options struct {
	// Listen serves on loopback; else the twins answer in process.
	Listen bool
	// RealClock runs the twins on the real time; else on a frozen clock
	// that Clock moves.
	RealClock bool
	// Burst requests per Interval and Daily per day, per app and location,
	// on HighLevel; Burst 0 means no limits.
	Burst    int
	Interval time.Duration
	Daily    int
	// M360PerSecond and M360Capacity are Marketing 360's leaky bucket per
	// key; 0 means none.
	M360PerSecond float64
	M360Capacity  int
	// RetryAfterOff drops Retry-After from the 429 answers.
	RetryAfterOff bool
	// RefreshGrace is how long a rotated refresh token still works.
	RefreshGrace time.Duration
	// Loose spares the twins checking their own answers against the spec
	// (benchmarks: the client is measured, not the twin).
	Loose bool
	// Locations are more HighLevel locations, each with a Private
	// Integration Token "pit-<id>" with every scope.
	Locations []string
}

// Twin is a running pair of twins.
type Twin struct {
	tb    testing.TB // nil when made by Start
	srv   *mock.Server
	base  http.RoundTripper
	idle  func() // closes the idle connections of base; nil in process
	clock *Clock
}

// New starts the twins and stops them when the test ends.
func New(tb testing.TB, opts Options) *Twin {
	tb.Helper()
	w, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	w.tb = tb
	tb.Cleanup(func() {
		if err := w.Close(); err != nil {
			tb.Error(err)
		}
	})
	return w
}

// Start starts the twins for an example or a program; Close stops them.
// The helpers that fail a test (Admin and those built on it) need New.
func Start(opts Options) (*Twin, error) {
	mo := mock.Options{Seed: 1, Strict: !opts.Loose, NoListener: !opts.Listen}
	if opts.Listen {
		mo.M360.Addr = "127.0.0.1:0"
	}
	w := &Twin{}
	if !opts.RealClock {
		manual := clock.NewManual(mock.SeededStart)
		mo.Clock = manual
		w.clock = &Clock{manual: manual}
	} else {
		mo.ClockMode = "real"
	}
	if opts.Burst > 0 {
		cfg := limits.DefaultConfig()
		cfg.Burst, cfg.Interval, cfg.RetryAfter = opts.Burst, clock.Duration(opts.Interval), !opts.RetryAfterOff
		if opts.Daily > 0 {
			cfg.Daily = opts.Daily
		}
		mo.HighLevel.Limits = &cfg
	}
	if opts.M360PerSecond > 0 {
		mo.M360.Limits = &limits.LeakyConfig{Enabled: true, PerSecond: opts.M360PerSecond,
			Capacity: opts.M360Capacity, RetryAfter: !opts.RetryAfterOff}
	}
	mo.HighLevel.Auth.RefreshGrace = clock.Duration(opts.RefreshGrace)
	if len(opts.Locations) > 0 {
		spec, err := openapi.LoadHighLevel(context.Background(), "")
		if err != nil {
			return nil, err
		}
		for _, id := range opts.Locations {
			mo.HighLevel.Locations = append(mo.HighLevel.Locations, store.Location{ID: id, Name: id})
			mo.HighLevel.Tokens = append(mo.HighLevel.Tokens, mock.TokenOptions{Token: "pit-" + id, LocationID: id, Scopes: mock.SpecScopes(spec)})
		}
	}
	srv, err := mock.NewServer(mo)
	if err != nil {
		return nil, err
	}
	w.srv = srv
	if opts.Listen {
		t := &http.Transport{MaxIdleConnsPerHost: 64}
		w.base, w.idle = t, t.CloseIdleConnections
	} else {
		w.base = srv.HighLevel.Client().Transport
	}
	return w, nil
}

// Close stops the twins.
func (w *Twin) Close() error {
	if w.idle != nil {
		w.idle()
	}
	return w.srv.Close()
}

// Base is the transport that reaches the twins, under any stack.
func (w *Twin) Base() http.RoundTripper { return w.base }

// HighLevelURL and M360URL are the twins' base URLs.
func (w *Twin) HighLevelURL() string { return w.srv.HighLevel.URL() }

// M360URL is the Marketing 360 twin's base URL (paths under /v1).
func (w *Twin) M360URL() string { return w.srv.M360.URL() }

// HighLevelSpec and M360Spec are the specs the twins serve.
func (w *Twin) HighLevelSpec() *openapi.Spec { return w.srv.HighLevel.Spec() }

// M360Spec is the Marketing 360 spec the twin serves.
func (w *Twin) M360Spec() *openapi.Spec { return w.srv.M360.Spec() }

// Location is the default HighLevel location's id.
func (w *Twin) Location() string { return w.srv.Defaults().HighLevel.Location.ID }

// Calendar is a calendar id of the default location.
func (w *Twin) Calendar() string {
	cals := w.srv.Defaults().HighLevel.Location.Calendars
	if len(cals) == 0 {
		w.tb.Fatal("twintest: the default location has no calendar")
	}
	return cals[0].ID
}

// PIT is a Private Integration Token of the default location with every
// scope.
func (w *Twin) PIT() string { return w.srv.Defaults().HighLevel.Token }

// App is the default OAuth app.
type App struct {
	ClientID, ClientSecret, RedirectURI string
	Scopes                              []string
}

// App returns the default OAuth app, installed on the default location.
func (w *Twin) App() App {
	a := w.srv.Defaults().HighLevel.App
	return App{ClientID: a.ClientID, ClientSecret: a.ClientSecret, RedirectURI: a.RedirectURIs[0], Scopes: a.Scopes}
}

// M360Key returns the default Marketing 360 key, with every permission.
func (w *Twin) M360Key() (clientID, clientSecret string) {
	k := w.srv.Defaults().M360.Key
	return k.ClientID, k.ClientSecret
}

// Clock is the twins' frozen clock as a transport.Clock; nil with
// RealClock.
func (w *Twin) Clock() *Clock { return w.clock }

// Admin calls the admin API of the HighLevel twin and returns the status and
// body; body is encoded as JSON unless it is a string.
func (w *Twin) Admin(method, path string, body any) (int, []byte) {
	w.tb.Helper()
	return w.call(method, w.HighLevelURL()+path, body)
}

func (w *Twin) call(method, u string, body any) (int, []byte) {
	w.tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			w.tb.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, r)
	if err != nil {
		w.tb.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := w.base.RoundTrip(req)
	if err != nil {
		w.tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		w.tb.Fatal(err)
	}
	return res.StatusCode, raw
}

// AdvanceClock moves the twins' frozen clock by d through the admin API
// (POST /__admin/clock), as a person would.
func (w *Twin) AdvanceClock(d time.Duration) {
	w.tb.Helper()
	if status, body := w.Admin(http.MethodPost, "/__admin/clock", map[string]string{"advance": d.String()}); status != http.StatusOK {
		w.tb.Fatalf("twintest: move the clock: %d %s", status, body)
	}
}

// AddFault adds a fault rule (the admin API's JSON).
func (w *Twin) AddFault(rule string) {
	w.tb.Helper()
	if status, body := w.Admin(http.MethodPost, "/__admin/faults", rule); status/100 != 2 {
		w.tb.Fatalf("twintest: add fault: %d %s", status, body)
	}
}

// Count is the number of journaled requests to an operation (all with "").
func (w *Twin) Count(operation string) int {
	w.tb.Helper()
	status, body := w.Admin(http.MethodPost, "/__admin/requests/count", map[string]string{"operation": operation})
	var out struct{ Count int }
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		w.tb.Fatalf("twintest: count requests: %d %s", status, body)
	}
	return out.Count
}

// Authorize runs the consent step of the OAuth flow for the default app
// and returns the code the twin redirects with.
func (w *Twin) Authorize(state string) string {
	w.tb.Helper()
	app := w.App()
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {app.RedirectURI}, "state": {state}}
	req, err := http.NewRequest(http.MethodGet, w.HighLevelURL()+"/oauth/chooselocation?"+q.Encode(), nil)
	if err != nil {
		w.tb.Fatal(err)
	}
	res, err := w.base.RoundTrip(req)
	if err != nil {
		w.tb.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		w.tb.Fatalf("twintest: authorize: %d Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// Clock is a frozen clock for the client side that is the twins' clock:
// SleepUntil moves it (and so the twins' time) to the end of the sleep at
// once, unless it is there already.
type Clock struct {
	manual *clock.Manual

	mu     sync.Mutex
	sleeps []time.Duration
}

// NewClock returns a frozen Clock of its own, starting at start, for tests
// without twins.
func NewClock(start time.Time) *Clock { return &Clock{manual: clock.NewManual(start)} }

// Now is the twins' time.
func (c *Clock) Now() time.Time { return c.manual.Now() }

// SleepUntil moves the clock to t, unless it is there already, and records
// the sleep.
func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := t.Sub(c.manual.Now()); d > 0 {
		c.sleeps = append(c.sleeps, d)
		c.manual.Set(t)
	}
	return nil
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) { c.manual.Advance(d) }

// Sleeps returns the sleeps asked for so far.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Export is the twins' whole state, read through the admin API (GET
// /__admin/state) as a person would.
func (w *Twin) Export() store.State {
	w.tb.Helper()
	status, body := w.Admin(http.MethodGet, "/__admin/state", nil)
	var st store.State
	if status != http.StatusOK {
		w.tb.Fatalf("twintest: export: %d %.200s", status, body)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		w.tb.Fatalf("twintest: export: %v", err)
	}
	return st
}

// Counterpart is what Marketing 360 holds for a HighLevel contact: the
// contacts whose externalIds.ghl is its id, and the last one's fields,
// tasks' titles (sorted) and notes' bodies.
type Counterpart struct {
	Contacts     int
	ID           int64
	Email        string
	Tags         []string
	Fields       map[string]string
	Tasks, Notes []string
}

// Counterpart returns what Marketing 360 holds for HighLevel contact hlID,
// from the export.
func (w *Twin) Counterpart(hlID string) Counterpart {
	w.tb.Helper()
	st := w.Export()
	var out Counterpart
	for _, c := range st.M360Contacts {
		if c.ExternalIDs.GHL == hlID {
			out.Contacts++
			out.ID, out.Email, out.Tags, out.Fields = c.ID, c.Email, c.Tags, c.CustomFields
		}
	}
	if out.ID == 0 {
		return out
	}
	for _, t := range st.M360Tasks {
		if t.ContactID == out.ID {
			out.Tasks = append(out.Tasks, t.Title)
		}
	}
	for _, n := range st.M360Notes {
		if n.ContactID == out.ID {
			out.Notes = append(out.Notes, n.Body)
		}
	}
	slices.Sort(out.Tasks)
	return out
}

// WaitFor checks cond every 20 ms until it holds, failing the test after
// within: for what the sync does on its own (a queue, a poll), which a
// working sync does well before.
func WaitFor(tb testing.TB, within time.Duration, cond func() bool) {
	tb.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(within)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			tb.Fatal("the condition did not hold in time")
		}
	}
}

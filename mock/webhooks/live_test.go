package webhooks_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

func liveSettings() webhooks.Settings {
	s := webhooks.DefaultSettings()
	s.RetryPolicy = webhooks.PolicyLive
	return s
}

func TestDispatcher_LivePolicyDropsAnEventOnA500(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, http.StatusInternalServerError)
	e := newEnv(t, webhooks.Options{Settings: liveSettings()})
	sent, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	rcv.next(t)
	d := e.attempted(t)
	if d.Status != webhooks.StatusDropped || d.NextAttempt != nil || len(d.Attempts) != 1 ||
		!strings.Contains(d.Error, "500") || !strings.Contains(d.Error, "not retried") {
		t.Fatalf("after a 500 under the live policy: %s, next %v, error %q", d.Status, d.NextAttempt, d.Error)
	}
	logged, err := e.d.Delivery(sent.ID)
	if err != nil || logged.Status != webhooks.StatusDropped {
		t.Errorf("delivery log: %+v %v", logged, err)
	}
	if got := e.d.Stats(); got.Dropped != 1 || got.Pending != 0 {
		t.Errorf("stats %+v", got)
	}
	if !strings.Contains(e.logText(), "webhook dropped by the live retry policy") {
		t.Errorf("the log does not say the event was dropped:\n%s", e.logText())
	}
	// The next event about the contact is not held behind the lost one.
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	if got := rcv.next(t); !strings.Contains(string(got.body), `"n":2`) {
		t.Errorf("then %s", got.body)
	}
}

func TestDispatcher_LivePolicyRetriesA429SixTimesTenMinutesApart(t *testing.T) {
	t.Parallel()
	statuses := slices.Repeat([]int{http.StatusTooManyRequests}, 7)
	rcv := newReceiver(t, statuses...)
	e := newEnv(t, webhooks.Options{Settings: liveSettings()})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	var waits []time.Duration
	for i := range 7 {
		rcv.next(t)
		d := e.attempted(t)
		if len(d.Attempts) != i+1 {
			t.Fatalf("attempt %d recorded as %d", i+1, len(d.Attempts))
		}
		if i == 6 {
			if d.Status != webhooks.StatusDropped || !strings.Contains(d.Error, "after 6 retries") {
				t.Fatalf("after the seventh 429: %s %q", d.Status, d.Error)
			}
			break
		}
		if d.Status != webhooks.StatusPending || d.NextAttempt == nil {
			t.Fatalf("after 429 number %d: %s, next %v", i+1, d.Status, d.NextAttempt)
		}
		wait := d.NextAttempt.Sub(e.clk.Now())
		if wait < 10*time.Minute || wait >= 11*time.Minute {
			t.Errorf("retry %d waits %v, want 10m plus under 1m of jitter", i+1, wait)
		}
		waits = append(waits, wait)
		e.clk.Advance(wait - time.Second)
		if got, _ := e.d.Delivery(d.ID); len(got.Attempts) != i+1 {
			t.Fatalf("retry %d made before its time", i+1)
		}
		e.clk.Advance(time.Second)
	}
	if slices.Min(waits) == slices.Max(waits) {
		t.Errorf("the retries have no jitter: %v", waits)
	}
}

func TestDispatcher_LivePolicyDeliversAfterA429(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, http.StatusTooManyRequests)
	e := newEnv(t, webhooks.Options{Settings: liveSettings()})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	rcv.next(t)
	d := e.attempted(t)
	e.clk.Advance(d.NextAttempt.Sub(e.clk.Now()))
	rcv.next(t)
	if d = e.attempted(t); d.Status != webhooks.StatusDelivered || len(d.Attempts) != 2 {
		t.Errorf("after a 429 then a 200: %s with %d attempts", d.Status, len(d.Attempts))
	}
}

func TestDispatcher_LivePolicyDropsOnARefusedConnectionOrATimeout(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there now
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); slow.Close() })
	s := liveSettings()
	s.Timeout = clock.Duration(20 * time.Millisecond)
	e := newEnv(t, webhooks.Options{Settings: s})
	e.d.Send(msg(closed.URL, "contact/a", "ContactCreate", 1))
	e.d.Send(msg(slow.URL, "contact/b", "ContactCreate", 2))
	for range 2 {
		d := e.attempted(t)
		if d.Status != webhooks.StatusDropped || d.Attempts[0].Status != 0 || !strings.Contains(d.Error, "not retried") {
			t.Errorf("%s: %s %q, want dropped", d.Resource, d.Status, d.Error)
		}
	}
}

func TestDispatcher_DropRulesLoseEveryEventOfTheirType(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := webhooks.DefaultSettings()
	s.DropEvents = []string{"ContactDndUpdate"}
	e := newEnv(t, webhooks.Options{Settings: s})
	lost, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactDndUpdate", 1))
	if lost.Status != webhooks.StatusDropped || !strings.Contains(lost.Error, "ContactDndUpdate") || len(lost.Attempts) != 0 {
		t.Fatalf("a ContactDndUpdate under its drop rule: %+v", lost)
	}
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	if got := rcv.next(t); !strings.Contains(string(got.body), `"n":2`) {
		t.Errorf("received %s", got.body)
	}
	if !strings.Contains(e.logText(), "webhook dropped before its first attempt") {
		t.Errorf("the log does not name the loss:\n%s", e.logText())
	}
}

func TestDispatcher_DropIsReproducibleFromTheSeed(t *testing.T) {
	t.Parallel()
	lost := func(seed uint64) []string {
		s := webhooks.DefaultSettings()
		s.Drop = 0.5
		s.Delay = clock.Duration(time.Hour) // nothing is attempted
		e := newEnv(t, webhooks.Options{Settings: s, Seed: seed})
		var ids []string
		for n := range 40 {
			d, _ := e.d.Send(msg("http://127.0.0.1:1/", "contact/"+strconv.Itoa(n), "ContactCreate", n))
			if d.Status == webhooks.StatusDropped {
				ids = append(ids, d.EventID)
			}
		}
		e.d.Reset()
		return ids
	}
	a, b, other := lost(7), lost(7), lost(8)
	if !slices.Equal(a, b) || len(a) == 0 || len(a) == 40 {
		t.Errorf("lost of 40 at p=0.5 with one seed: %v then %v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 lose the same events: %v", a)
	}
}

func TestDispatcher_ReorderIsReproducibleFromTheSeed(t *testing.T) {
	t.Parallel()
	order := func(seed uint64) []int {
		rcv := newReceiver(t)
		s := webhooks.DefaultSettings()
		s.Reorder = clock.Duration(time.Minute)
		e := newEnv(t, webhooks.Options{Settings: s, Seed: seed, Workers: 1})
		for n := range 20 {
			d, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", n))
			if d.NextAttempt == nil || d.NextAttempt.Before(t0) || !d.NextAttempt.Before(t0.Add(time.Minute)) {
				t.Fatalf("due %v, want within the window", d.NextAttempt)
			}
		}
		e.clk.Advance(time.Minute)
		var got []int
		for range 20 {
			body := string(rcv.next(t).body)
			n, _ := strconv.Atoi(body[strings.Index(body, `"n":`)+4 : strings.Index(body, `,"resource"`)])
			got = append(got, n)
		}
		return got
	}
	a, b, other := order(7), order(7), order(8)
	if !slices.Equal(a, b) {
		t.Errorf("one seed, two orders: %v and %v", a, b)
	}
	if slices.IsSorted(a) || slices.Equal(a, other) {
		t.Errorf("orders %v (seed 7) and %v (seed 8): want out of order, and different", a, other)
	}
}

func TestDispatcher_RedeliverMatchingResendsExactlyWhatTheFilterNames(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, http.StatusInternalServerError)
	s := liveSettings()
	e := newEnv(t, webhooks.Options{Settings: s})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1)) // dropped: the 500
	e.attempted(t)
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	e.d.Send(msg(rcv.srv.URL, "contact/b", "ContactCreate", 3))
	for range 2 {
		e.attempted(t)
	}
	for range 3 {
		rcv.next(t)
	}
	e.clk.Advance(time.Minute)
	e.d.Send(msg(rcv.srv.URL, "contact/c", "ContactCreate", 4))
	e.attempted(t)
	rcv.next(t)

	cases := []struct {
		name   string
		filter webhooks.Filter
		want   []string // event ids, oldest first
	}{
		// First: the redeliveries below are created after since.
		{"since", webhooks.Filter{Since: t0.Add(time.Minute)}, []string{"evt-contact/c-4"}},
		{"event and resource", webhooks.Filter{Event: "ContactCreate", Resource: "contact/a"}, []string{"evt-contact/a-1"}},
		{"dropped ones", webhooks.Filter{Status: webhooks.StatusDropped}, []string{"evt-contact/a-1"}},
		{"nothing", webhooks.Filter{Twin: "m360"}, []string{}},
	}
	for _, c := range cases {
		before, _ := e.d.Deliveries(webhooks.Filter{})
		got, err := e.d.RedeliverMatching(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, d := range got {
			ids = append(ids, d.EventID)
			if d.RedeliveryOf == "" || d.Status != webhooks.StatusPending {
				t.Errorf("%s: %+v is not a redelivery", c.name, d)
			}
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s: redelivered %v, want %v", c.name, ids, c.want)
		}
		for range got {
			body := string(rcv.next(t).body)
			if !slices.ContainsFunc(c.want, func(id string) bool {
				return strings.Contains(body, `"resource":"`+id[4:strings.LastIndex(id, "-")]+`"`)
			}) {
				t.Errorf("%s: received %s", c.name, body)
			}
			e.attempted(t)
		}
		after, _ := e.d.Deliveries(webhooks.Filter{})
		if len(after) != len(before)+len(c.want) {
			t.Errorf("%s: the log grew from %d to %d deliveries", c.name, len(before), len(after))
		}
	}
}

package webhooks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// TestSelf_RefusesTheTwinsOwnListeners: every spelling of a loopback host
// with one of the twin's ports, the hosts it binds and its in-process names
// are refused; other ports and hosts pass (issue 12, class 9).
func TestSelf_RefusesTheTwinsOwnListeners(t *testing.T) {
	t.Parallel()
	var self webhooks.Self
	self.Listen("http://127.0.0.1:4010")
	self.Listen("http://192.0.2.7:4011")
	self.Listen("http://highlevel.twin")
	for _, tc := range []struct {
		url  string
		self bool
	}{
		{"http://127.0.0.1:4010/__admin/reset", true},
		{"http://localhost:4010/x", true},
		{"http://LOCALHOST.:4010/x", true},
		{"http://twin.localhost:4011/x", true},
		{"http://127.0.0.2:4011/x", true},
		{"http://[::1]:4010/x", true},
		{"http://[::ffff:127.0.0.1]:4010/x", true},
		{"http://0.0.0.0:4010/x", true},
		{"http://user:pw@127.0.0.1:4010/x", true},
		{"http://192.0.2.7:4010/x", true},
		{"http://HighLevel.Twin/__admin/reset", true},
		{"http://highlevel.twin:8080/x", true},
		{"http://127.0.0.1:9000/hooks", false},
		{"http://192.0.2.8:4010/x", false},
		{"https://hooks.example.com:4010/x", false},
		{"http://localhost/x", false},
	} {
		err := self.Check(tc.url)
		if got := errors.Is(err, webhooks.ErrSelfTarget); got != tc.self {
			t.Errorf("%s: %v, want self %v", tc.url, err, tc.self)
		}
	}
	if err := self.Check("ftp://example.com/x"); err == nil || errors.Is(err, webhooks.ErrSelfTarget) {
		t.Errorf("not http: %v", err)
	}
	var none *webhooks.Self
	if err := none.Check("http://127.0.0.1:4010/x"); err != nil {
		t.Errorf("a nil Self checks the form only: %v", err)
	}
}

// TestDispatcher_NeverConnectsToItsOwnListeners: whatever put a target of
// the twin's own in a message (a state file, a spool), the dispatcher
// refuses to connect to it: the check sits at the dial, on the address a
// name resolves to. The receiver gets nothing, and the attempt says why.
func TestDispatcher_NeverConnectsToItsOwnListeners(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	self := &webhooks.Self{}
	self.Listen(rcv.srv.URL) // the receiver plays the twin
	e := newEnv(t, webhooks.Options{Self: self, Settings: webhooks.Settings{Attempts: 1}})
	e.d.Send(msg(rcv.srv.URL+"/__admin/reset", "contact/a", "ContactCreate", 1))
	d := e.attempted(t)
	if len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Error, "points at the twin itself") {
		t.Fatalf("attempt %+v: want it refused as the twin itself", d.Attempts)
	}
	select {
	case got := <-rcv.got:
		t.Fatalf("the twin's listener was called: %s", got.body)
	default:
	}
}

// TestDispatcher_StormKeepsEverySubscriptionsLog: one subscription's storm
// of deliveries fills its own share of the log, never another's: a quiet
// subscription's failure and delivery stay, and the log stays bounded.
// Within the noisy subscription its failures outlast its successes.
func TestDispatcher_StormKeepsEverySubscriptionsLog(t *testing.T) {
	t.Parallel()
	ok, failing := newReceiver(t), newReceiver(t, 500, 500)
	const size = 10
	e := newEnv(t, webhooks.Options{LogSize: size, Settings: webhooks.Settings{Attempts: 1}})
	quiet := func(target string, n int) webhooks.Message {
		m := msg(target, "contact/q", "ContactCreate", n)
		m.Subscription = "quiet-1"
		return m
	}
	e.d.Send(quiet(failing.srv.URL, 1))
	e.attempted(t)
	failing.next(t)
	e.d.Send(quiet(ok.srv.URL, 2))
	e.attempted(t)
	ok.next(t)
	e.d.Send(msg(failing.srv.URL, "contact/n", "ContactCreate", 0)) // the noisy one's failure
	e.attempted(t)
	failing.next(t)
	for n := 1; n <= 200; n++ {
		e.d.Send(msg(ok.srv.URL, "contact/n", "ContactUpdate", n))
		e.attempted(t)
		ok.next(t)
	}
	all, total := e.d.Deliveries(webhooks.Filter{})
	if total > size+size/4 {
		t.Errorf("the log holds %d deliveries, want at most %d", total, size+size/4)
	}
	kept, n := e.d.Deliveries(webhooks.Filter{Subscription: "quiet-1"})
	if n != 2 || kept[0].Status != webhooks.StatusDelivered || kept[1].Status != webhooks.StatusFailed {
		t.Errorf("the quiet subscription's log after the storm: %d deliveries %+v, want its failure and its delivery", n, kept)
	}
	if failed, n := e.d.Deliveries(webhooks.Filter{Subscription: "app-1", Status: webhooks.StatusFailed}); n != 1 || failed[0].Resource != "contact/n" {
		t.Errorf("the noisy subscription's failure: %d kept", n)
	}
	if !strings.Contains(string(all[0].Body), `"n":200`) {
		t.Errorf("newest first: %s", all[0].Body)
	}
}

package receiver_test

// Every use of the twins' Go API (package mock and its subpackages) in this
// package's tests is in this file, so that a change of that API is adapted
// here alone.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/sync/receiver"
)

// signM360 signs a Marketing 360 body as the twin does.
func signM360(secret string, body []byte, at time.Time) string {
	return webhooks.SignHMAC(secret, body, at)
}

// twinStart is where the twins' clock starts.
var twinStart = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// twin is both twins in process, on a manual clock, sending their webhooks
// over loopback with the realism toggles on: every event delivered twice
// (same id), every ContactCreate followed by a ContactUpdate.
type twin struct {
	srv       *mock.Server
	clk       *clock.Manual
	client    *http.Client
	delivered chan delivery // each delivery with a 2xx answer
}

// delivery is a webhook as the twin logged it.
type delivery struct {
	Twin      string // "highlevel" or "m360"
	EventID   string
	Event     string
	Duplicate bool
	Status    int // of the last attempt
}

func startTwin(t *testing.T, hlURL string) *twin {
	t.Helper()
	clk := clock.NewManual(twinStart)
	tw := &twin{clk: clk, delivered: make(chan delivery, 1000)}
	opts := mock.Options{Seed: 7, NoListener: true, Strict: true, Clock: clk,
		Logger: slog.New(slog.DiscardHandler)}
	opts.Webhooks.URL = hlURL
	opts.Webhooks.Duplicates = 1
	opts.Webhooks.UpdateAfterCreate = true
	opts.Webhooks.Observe = func(d webhooks.Delivery) {
		if n := len(d.Attempts); n > 0 && d.Status == webhooks.StatusDelivered {
			tw.delivered <- delivery{Twin: d.Twin, EventID: d.EventID, Event: d.Event, Duplicate: d.Duplicate,
				Status: d.Attempts[n-1].Status}
		}
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatalf("twin: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("twin close: %v", err)
		}
	})
	tw.srv, tw.client = srv, srv.HighLevel.Client()
	return tw
}

// now is the twins' time.
func (tw *twin) now() time.Time { return tw.clk.Now() }

// highLevelKey is the key the twin signs HighLevel webhooks with.
func (tw *twin) highLevelKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	key, err := receiver.ParsePublicKey(tw.srv.Webhooks().Keys().Public().Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return key.(ed25519.PublicKey)
}

// location is the HighLevel location the events are of.
func (tw *twin) location() string { return tw.srv.Defaults().HighLevel.Location.ID }

// m360Account is the Marketing 360 account the events are of.
func (tw *twin) m360Account() string { return fmt.Sprint(tw.srv.Defaults().M360.Account.ID) }

func (tw *twin) call(t *testing.T, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := tw.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, resp.StatusCode, body, want)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, body)
	}
}

func jsonRequest(t *testing.T, method, url string, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// createHighLevelContact creates a contact through the HighLevel API and
// returns its id.
func (tw *twin) createHighLevelContact(t *testing.T, first, email string) string {
	t.Helper()
	req := jsonRequest(t, "POST", tw.srv.HighLevel.URL()+"/contacts/", map[string]any{"locationId": tw.location(),
		"firstName": first, "email": email})
	req.Header.Set("Authorization", "Bearer "+tw.srv.Defaults().HighLevel.Token)
	req.Header.Set("Version", "2021-07-28")
	var out struct {
		Contact struct {
			ID string `json:"id"`
		} `json:"contact"`
	}
	tw.call(t, req, http.StatusCreated, &out)
	return out.Contact.ID
}

func (tw *twin) m360Request(t *testing.T, method, path string, body any) *http.Request {
	t.Helper()
	req := jsonRequest(t, method, tw.srv.M360.URL()+path, body)
	key := tw.srv.Defaults().M360.Key
	req.SetBasicAuth(key.ClientID, key.ClientSecret)
	return req
}

// subscribeM360 subscribes url to Marketing 360 events and returns the
// subscription's secret.
func (tw *twin) subscribeM360(t *testing.T, url string, events ...string) string {
	t.Helper()
	var out struct {
		Result struct {
			Secret string `json:"secret"`
		} `json:"result"`
	}
	tw.call(t, tw.m360Request(t, "POST", "/v1/webhooks", map[string]any{"url": url, "events": events}), http.StatusCreated, &out)
	return out.Result.Secret
}

// createM360Contact creates a contact through the Marketing 360 API and
// returns its id.
func (tw *twin) createM360Contact(t *testing.T, first, email string) string {
	t.Helper()
	var out struct {
		Result struct {
			ID int64 `json:"id"`
		} `json:"result"`
	}
	tw.call(t, tw.m360Request(t, "POST", "/v1/contacts", map[string]any{"firstName": first, "email": email}),
		http.StatusCreated, &out)
	return fmt.Sprint(out.Result.ID)
}

// waitDelivered returns the next n deliveries answered 2xx.
func (tw *twin) waitDelivered(t *testing.T, n int) []delivery {
	t.Helper()
	out := make([]delivery, 0, n)
	for len(out) < n {
		select {
		case d := <-tw.delivered:
			out = append(out, d)
		case <-time.After(wait):
			t.Fatalf("the twin delivered %d webhooks, want %d", len(out), n)
		}
	}
	return out
}

// failedDeliveries is how many deliveries the twin gave up on.
func (tw *twin) failedDeliveries() int { return tw.srv.Webhooks().Stats().Failed }

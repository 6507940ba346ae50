package webhooks_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// failSafe bounds every wait for something the dispatcher does at once; it
// is never reached when the code works.
const failSafe = 10 * time.Second

// received is a request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint: it answers with the statuses it is given,
// in turn, then 200, and hands every request to the test.
type receiver struct {
	srv *httptest.Server
	got chan received

	mu       sync.Mutex // guards statuses
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{got: make(chan received, 100), statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		r.got <- received{header: req.Header.Clone(), body: body}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answered %d", status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next returns the next request the receiver got.
func (r *receiver) next(t *testing.T) received {
	t.Helper()
	return receive(t, r.got, "no delivery arrived")
}

// receive returns the next value of ch, failing the test with missing when
// none comes within the fail-safe.
func receive[T any](t *testing.T, ch <-chan T, missing string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failSafe):
		t.Fatal(missing)
		var zero T
		return zero
	}
}

// env is a dispatcher on a manual clock whose attempts the test can wait for.
type env struct {
	d        *webhooks.Dispatcher
	closed   bool // by the test: the cleanup leaves it
	clk      *clock.Manual
	attempts chan webhooks.Delivery
	logs     *bytes.Buffer
	logsMu   *sync.Mutex
}

func newEnv(t *testing.T, opts webhooks.Options) *env {
	t.Helper()
	e := &env{clk: clock.NewManual(t0), attempts: make(chan webhooks.Delivery, 100), logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	opts.Clock = e.clk
	if opts.Seed == 0 {
		opts.Seed = 3
	}
	opts.Logger = slog.New(slog.NewTextHandler(lockedWriter{e.logsMu, e.logs}, nil))
	opts.Observe = func(d webhooks.Delivery) {
		if len(d.Attempts) > 0 || d.Status == webhooks.StatusInvalid {
			e.attempts <- d
		}
	}
	d, err := webhooks.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	t.Cleanup(func() {
		if !e.closed {
			e.close(t)
		}
	})
	return e
}

// close closes the dispatcher, giving the drain up to the fail-safe.
func (e *env) close(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failSafe)
	defer cancel()
	if err := e.d.Close(ctx); err != nil {
		t.Error(err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) logText() string {
	e.logsMu.Lock()
	defer e.logsMu.Unlock()
	return e.logs.String()
}

// attempted waits until the dispatcher has recorded an attempt, and returns
// the delivery as it was then.
func (e *env) attempted(t *testing.T) webhooks.Delivery {
	t.Helper()
	return receive(t, e.attempts, "no attempt was recorded")
}

func msg(target, resource, event string, n int) webhooks.Message {
	return webhooks.Message{Twin: "highlevel", Event: event, EventID: fmt.Sprintf("evt-%s-%d", resource, n),
		Subscription: "app-1", Target: target, Resource: resource, At: t0,
		Body: []byte(fmt.Sprintf(`{"type":%q,"n":%d,"resource":%q}`, event, n, resource))}
}

func TestDispatcher_DeliversSignedInOrderPerResource(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e := newEnv(t, webhooks.Options{})
	for n := range 5 {
		m := msg(rcv.srv.URL, "contact/a", "ContactUpdate", n)
		m.Signer = e.d.Keys()
		if _, err := e.d.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	pub := e.d.Keys().Public()
	block, _ := pem.Decode([]byte(pub.Ed25519))
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("public key PEM: %v", err)
	}
	for n := range 5 {
		got := rcv.next(t)
		if want := fmt.Sprintf(`"n":%d`, n); !strings.Contains(string(got.body), want) {
			t.Fatalf("delivery %d out of order: %s", n, got.body)
		}
		sig, err := base64.StdEncoding.DecodeString(got.header.Get("x-ghl-signature"))
		if err != nil || !ed25519.Verify(key.(ed25519.PublicKey), got.body, sig) {
			t.Errorf("delivery %d: x-ghl-signature %q does not verify", n, got.header.Get("x-ghl-signature"))
		}
		if got.header.Get("Content-Type") != "application/json" || got.header.Get("x-wh-signature") != "" {
			t.Errorf("headers %v", got.header)
		}
		tampered := bytes.Clone(got.body)
		tampered[len(tampered)/2] ^= 1
		if ed25519.Verify(key.(ed25519.PublicKey), tampered, sig) {
			t.Error("a changed body still verifies")
		}
	}
	for range 5 {
		if d := e.attempted(t); d.Status != webhooks.StatusDelivered || d.DeliveredAt == nil || d.LatencyMs == nil {
			t.Errorf("delivery %s: %s, delivered %v", d.ID, d.Status, d.DeliveredAt)
		}
	}
}

func TestDispatcher_RetriesWithBackoffOnTheClock(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 503, 200)
	e := newEnv(t, webhooks.Options{})
	sent, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	first := rcv.next(t)
	d := e.attempted(t)
	if d.Status != webhooks.StatusPending || d.NextAttempt == nil || !d.NextAttempt.Equal(t0.Add(time.Second)) {
		t.Fatalf("after a 500: %s, next attempt %v, want pending at +1s", d.Status, d.NextAttempt)
	}
	if d.Attempts[0].Status != 500 || d.Attempts[0].Error == "" || d.Attempts[0].Response != "answered 500" {
		t.Errorf("first attempt %+v", d.Attempts[0])
	}
	e.clk.Advance(time.Second)
	second := rcv.next(t)
	d = e.attempted(t)
	if d.NextAttempt == nil || !d.NextAttempt.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("after a 503: next attempt %v, want +3s (1s, then 2s)", d.NextAttempt)
	}
	e.clk.Advance(2 * time.Second)
	third := rcv.next(t)
	d = e.attempted(t)
	statuses := []int{d.Attempts[0].Status, d.Attempts[1].Status, d.Attempts[2].Status}
	if d.Status != webhooks.StatusDelivered || !slices.Equal(statuses, []int{500, 503, 200}) || d.NextAttempt != nil {
		t.Errorf("after the third attempt: %s %v next %v", d.Status, statuses, d.NextAttempt)
	}
	if !bytes.Equal(first.body, third.body) || first.header.Get("x-ghl-signature") != second.header.Get("x-ghl-signature") {
		t.Error("a retry is not the same bytes with the same signature")
	}
	logged, err := e.d.Delivery(sent.ID)
	if err != nil || logged.Status != webhooks.StatusDelivered || len(logged.Attempts) != 3 {
		t.Errorf("log: %+v %v", logged, err)
	}
}

func TestDispatcher_FailsAfterItsAttemptsAndTheLaneMovesOn(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 500, 500)
	s := webhooks.DefaultSettings()
	s.Attempts = 3
	e := newEnv(t, webhooks.Options{Settings: s})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	for i := range 3 {
		if got := rcv.next(t); !strings.Contains(string(got.body), `"n":1`) {
			t.Fatalf("attempt %d sent %s before the first event was done", i+1, got.body)
		}
		e.attempted(t)
		e.clk.Advance(time.Hour)
	}
	if got := rcv.next(t); !strings.Contains(string(got.body), `"n":2`) {
		t.Fatalf("then %s", got.body)
	}
	e.attempted(t)
	failed, total := e.d.Deliveries(webhooks.Filter{Status: webhooks.StatusFailed})
	if total != 1 || failed[0].Error != "answered 500 Internal Server Error" || len(failed[0].Attempts) != 3 {
		t.Errorf("failed deliveries: %+v", failed)
	}
}

func TestDispatcher_OneResourceWaitingHoldsNoOther(t *testing.T) {
	t.Parallel()
	slow := newReceiver(t, 500)
	e := newEnv(t, webhooks.Options{})
	e.d.Send(msg(slow.srv.URL, "contact/a", "ContactCreate", 1))
	slow.next(t)
	e.attempted(t) // contact/a now waits for its retry
	e.d.Send(msg(slow.srv.URL, "contact/a", "ContactUpdate", 2))
	e.d.Send(msg(slow.srv.URL, "contact/b", "ContactCreate", 3))
	if got := slow.next(t); !strings.Contains(string(got.body), `"resource":"contact/b"`) {
		t.Fatalf("while contact/a waits, got %s", got.body)
	}
	e.attempted(t)
	e.clk.Advance(time.Second)
	for _, want := range []string{`"n":1`, `"n":2`} {
		if got := slow.next(t); !strings.Contains(string(got.body), want) {
			t.Fatalf("contact/a: got %s, want %s", got.body, want)
		}
	}
}

func TestDispatcher_NoAnswerInTimeIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	s := webhooks.DefaultSettings()
	s.Timeout = clock.Duration(20 * time.Millisecond)
	e := newEnv(t, webhooks.Options{Settings: s})
	e.d.Send(msg(hang.URL, "contact/a", "ContactCreate", 1))
	d := e.attempted(t)
	if d.Status != webhooks.StatusPending || d.Attempts[0].Status != 0 || d.Attempts[0].Error != "no answer within 20ms" {
		t.Errorf("timed out attempt: %s %+v", d.Status, d.Attempts[0])
	}
}

func TestDispatcher_RedeliverSendsTheSameEventAgain(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e := newEnv(t, webhooks.Options{})
	first, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	a := rcv.next(t)
	e.attempted(t)
	again, err := e.d.Redeliver(first.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := rcv.next(t)
	if again.RedeliveryOf != first.ID || again.EventID != first.EventID || !bytes.Equal(a.body, b.body) {
		t.Errorf("redelivery %+v of %s: %s then %s", again, first.ID, a.body, b.body)
	}
	if _, err := e.d.Redeliver("wh_404"); err == nil {
		t.Error("redelivery of an unknown delivery succeeded")
	}
}

func TestDispatcher_DuplicatesFollowTheirEventWithItsID(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := webhooks.DefaultSettings()
	s.Duplicates = 1
	e := newEnv(t, webhooks.Options{Settings: s})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	var got []string
	for range 4 {
		got = append(got, string(rcv.next(t).body))
	}
	if got[0] != got[1] || got[2] != got[3] || got[0] == got[2] || !strings.Contains(got[0], `"n":1`) {
		t.Errorf("with duplicates: %q", got)
	}
	dups, _ := e.d.Deliveries(webhooks.Filter{EventID: "evt-contact/a-1"})
	if len(dups) != 2 || dups[0].Duplicate == dups[1].Duplicate {
		t.Errorf("the event's deliveries: %+v", dups)
	}
}

func TestDispatcher_DuplicateDiceDependOnTheSeedOnly(t *testing.T) {
	t.Parallel()
	count := func(seed uint64) int {
		rcv := newReceiver(t)
		s := webhooks.DefaultSettings()
		s.Duplicates = 0.5
		e := newEnv(t, webhooks.Options{Settings: s, Seed: seed})
		for n := range 40 {
			e.d.Send(msg(rcv.srv.URL, fmt.Sprintf("contact/%d", n), "ContactCreate", n))
		}
		// A duplicate is queued before its original is told delivered.
		for originals := 0; originals < 40; {
			if !e.attempted(t).Duplicate {
				originals++
			}
		}
		all, _ := e.d.Deliveries(webhooks.Filter{})
		dups := 0
		for _, d := range all {
			if d.Duplicate {
				dups++
			}
		}
		return dups
	}
	a, b := count(7), count(7)
	if a != b || a == 0 || a == 40 {
		t.Errorf("duplicates of 40 at p=0.5 with one seed: %d then %d", a, b)
	}
}

func TestDispatcher_DelayHoldsDeliveriesUntilTheClockMoves(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	s := webhooks.DefaultSettings()
	s.Delay = clock.Duration(2 * time.Second)
	e := newEnv(t, webhooks.Options{Settings: s})
	d, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	if d.NextAttempt == nil || !d.NextAttempt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("delayed delivery due %v, want +2s", d.NextAttempt)
	}
	e.clk.Advance(time.Second)
	if got, _ := e.d.Delivery(d.ID); len(got.Attempts) != 0 {
		t.Fatal("attempted before its delay")
	}
	e.clk.Advance(time.Second)
	rcv.next(t)
}

func TestDispatcher_InvalidMessagesAreLoggedNotSent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e := newEnv(t, webhooks.Options{Validate: func(m webhooks.Message) error {
		if m.Event == "Bad" {
			return fmt.Errorf("bad payload")
		}
		return nil
	}})
	bad, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "Bad", 1))
	e.d.Send(msg(rcv.srv.URL, "contact/a", "Good", 2))
	if got := rcv.next(t); !strings.Contains(string(got.body), "Good") {
		t.Fatalf("got %s", got.body)
	}
	if bad.Status != webhooks.StatusInvalid || bad.Error != "bad payload" || !strings.Contains(e.logText(), "does not match the spec") {
		t.Errorf("invalid delivery %+v", bad)
	}
}

func TestDispatcher_SignsHMACWithTheAttemptsTime(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 200)
	e := newEnv(t, webhooks.Options{})
	m := msg(rcv.srv.URL, "contact/7", "contact.created", 1)
	m.Twin, m.Header = "m360", map[string]string{"X-M360-Event": "contact.created"}
	m.Signer = webhooks.HMAC{Header: "X-M360-Signature", Secret: "whsec_test"}
	e.d.Send(m)
	first := rcv.next(t)
	e.attempted(t)
	e.clk.Advance(time.Second)
	second := rcv.next(t)
	for i, got := range []received{first, second} {
		at := t0.Add(time.Duration(i) * time.Second)
		if sig := got.header.Get("X-M360-Signature"); sig != webhooks.SignHMAC("whsec_test", got.body, at) {
			t.Errorf("attempt %d: signature %q, want the attempt's own time %v", i+1, sig, at)
		}
		if got.header.Get("X-M360-Event") != "contact.created" || got.header.Get("x-ghl-signature") != "" {
			t.Errorf("attempt %d headers %v", i+1, got.header)
		}
	}
	logged, _ := e.d.Deliveries(webhooks.Filter{})
	if shown, _ := json.Marshal(logged); strings.Contains(string(shown), "whsec_test") {
		t.Errorf("the delivery log shows the secret: %s", shown)
	}
}

func TestDispatcher_LogKeepsPendingAndTheLatestFinished(t *testing.T) {
	t.Parallel()
	ok, failing := newReceiver(t), newReceiver(t, 500)
	e := newEnv(t, webhooks.Options{LogSize: 4})
	e.d.Send(msg(failing.srv.URL, "contact/x", "ContactCreate", 0))
	e.attempted(t)
	for n := 1; n <= 20; n++ {
		e.d.Send(msg(ok.srv.URL, "contact/a", "ContactUpdate", n))
		e.attempted(t)
	}
	all, total := e.d.Deliveries(webhooks.Filter{})
	if total > 4+1+4/4 || len(all) != total {
		t.Errorf("log holds %d deliveries, want at most 4 finished and the pending one", total)
	}
	if !strings.Contains(string(all[0].Body), `"n":20`) {
		t.Errorf("newest first: %s", all[0].Body)
	}
	if pending, n := e.d.Deliveries(webhooks.Filter{Status: webhooks.StatusPending}); n != 1 || pending[0].Resource != "contact/x" {
		t.Errorf("pending: %+v", pending)
	}
	if limited, n := e.d.Deliveries(webhooks.Filter{Limit: 2}); len(limited) != 2 || n != total {
		t.Errorf("limit 2: %d of %d", len(limited), n)
	}
	if st := e.d.Stats(); st.Pending != 1 || st.Delivered+st.Pending != total {
		t.Errorf("stats %+v of %d", st, total)
	}
}

func TestDispatcher_ResetCancelsWhatIsPending(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500)
	e := newEnv(t, webhooks.Options{})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	rcv.next(t)
	e.attempted(t)
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	if n := e.d.Reset(); n != 2 {
		t.Errorf("reset cancelled %d, want 2", n)
	}
	if _, total := e.d.Deliveries(webhooks.Filter{}); total != 0 {
		t.Errorf("log after reset: %d deliveries", total)
	}
	e.clk.Advance(time.Hour)
	e.d.Send(msg(rcv.srv.URL, "contact/b", "ContactCreate", 3))
	if got := rcv.next(t); !strings.Contains(string(got.body), `"n":3`) {
		t.Errorf("after reset, got %s", got.body)
	}
}

func TestDispatcher_CloseSpoolsWhatItCannotDeliver(t *testing.T) {
	t.Parallel()
	spool := filepath.Join(t.TempDir(), "pending.ndjson")
	rcv := newReceiver(t, 500, 500) // down for the first attempt and the last one at close
	keys, err := webhooks.GenerateKeys(2, false)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, webhooks.Options{Spool: spool, Keys: keys})
	first, second := msg(rcv.srv.URL, "contact/a", "ContactCreate", 1), msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2)
	first.Signer, second.Signer = keys, webhooks.HMAC{Header: "X-Sig", Secret: "s3cret"}
	e.d.Send(first)
	e.d.Send(second)
	rcv.next(t)
	e.attempted(t)
	e.close(t)
	if got := rcv.next(t); !strings.Contains(string(got.body), `"n":1`) {
		t.Fatalf("last attempt at close: %s", got.body) // the event behind it waits, in order
	}
	if _, err := e.d.Send(msg(rcv.srv.URL, "contact/b", "ContactCreate", 3)); err == nil {
		t.Error("Send after Close succeeded")
	}
	data, err := os.ReadFile(spool)
	if err != nil || bytes.Count(data, []byte("\n")) != 2 || !bytes.Contains(data, []byte(`"eventId":"evt-contact/a-1"`)) {
		t.Fatalf("spool: %v\n%s", err, data)
	}

	// The next start delivers them, in order, keeping their history; its
	// close finds nothing pending and removes the spool.
	again := newEnv(t, webhooks.Options{Spool: spool, Keys: keys})
	for i, want := range []string{`"n":1`, `"n":2`} {
		got := rcv.next(t)
		if !strings.Contains(string(got.body), want) {
			t.Fatalf("after restart: %s, want %s", got.body, want)
		}
		// Each keeps its signer across the restart.
		if i == 0 && got.header.Get(webhooks.HeaderGHL) == "" {
			t.Errorf("spooled delivery %d lost its keys' signature: %v", i+1, got.header)
		}
		if i == 1 && !strings.HasPrefix(got.header.Get("X-Sig"), "t=") {
			t.Errorf("spooled delivery %d lost its HMAC signature: %v", i+1, got.header)
		}
	}
	if d := again.attempted(t); len(d.Attempts) != 3 || d.Status != webhooks.StatusDelivered {
		t.Errorf("spooled delivery: %s after %d attempts, want delivered at the third", d.Status, len(d.Attempts))
	}
	again.attempted(t)
	again.close(t)
	if _, err := os.Stat(spool); !os.IsNotExist(err) {
		t.Errorf("spool still there after a close with nothing pending: %v", err)
	}
}

func TestDispatcher_CloseWithoutSpoolNamesWhatIsLeft(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 500)
	e := newEnv(t, webhooks.Options{})
	e.d.Send(msg(rcv.srv.URL+"/hook?token=s3cret", "contact/a", "ContactCreate", 1))
	rcv.next(t)
	e.attempted(t)
	e.close(t)
	logs := e.logText()
	if !strings.Contains(logs, "still pending at shutdown") || !strings.Contains(logs, "eventId=evt-contact/a-1") ||
		!strings.Contains(logs, "/hook?…") || strings.Contains(logs, "s3cret") {
		t.Errorf("close logged:\n%s", logs)
	}
}

func TestDispatcher_CloseEndsAttemptsAtItsDeadline(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // so the server notices the client hanging up
		entered <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	spool := filepath.Join(t.TempDir(), "pending.ndjson")
	e := newEnv(t, webhooks.Options{Spool: spool})
	e.d.Send(msg(hang.URL, "contact/a", "ContactCreate", 1))
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time left: the attempt in flight is cut and its delivery kept
	if err := e.d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Close(context.Background()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	// Shutdown ended the attempt, not the receiver: it does not count.
	if data, err := os.ReadFile(spool); err != nil || !bytes.Contains(data, []byte("evt-contact/a-1")) ||
		!bytes.Contains(data, []byte(`"attempts":[]`)) {
		t.Errorf("spool after a cut close: %v %s", err, data)
	}
}

func TestDispatcher_RedirectsAndRefusedConnectionsAreRetried(t *testing.T) {
	t.Parallel()
	redirect := newReceiver(t, http.StatusFound)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there now
	e := newEnv(t, webhooks.Options{})
	e.d.Send(msg(redirect.srv.URL, "contact/a", "ContactCreate", 1))
	e.d.Send(msg(closed.URL, "contact/b", "ContactCreate", 2))
	for range 2 {
		d := e.attempted(t)
		a := d.Attempts[0]
		if d.Status != webhooks.StatusPending || d.NextAttempt == nil || a.Error == "" ||
			(d.Resource == "contact/a" && a.Status != http.StatusFound) || (d.Resource == "contact/b" && a.Status != 0) {
			t.Errorf("%s: %s after %+v, want a retry pending", d.Resource, d.Status, a)
		}
	}
}

func TestDispatcher_TheLastAttemptOfADrainCountsAndIsLogged(t *testing.T) {
	t.Parallel()
	spool := filepath.Join(t.TempDir(), "pending.ndjson")
	rcv := newReceiver(t, 500, 500)
	s := webhooks.DefaultSettings()
	s.Attempts = 2
	e := newEnv(t, webhooks.Options{Settings: s, Spool: spool})
	sent, _ := e.d.Send(msg(rcv.srv.URL+"/hook?token=s3cret", "contact/a", "ContactCreate", 1))
	e.attempted(t)
	e.close(t) // the drain's attempt is the second and last
	if d, _ := e.d.Delivery(sent.ID); d.Status != webhooks.StatusFailed || len(d.Attempts) != 2 {
		t.Errorf("after the drain: %s with %d attempts, want failed with 2", d.Status, len(d.Attempts))
	}
	if _, err := os.Stat(spool); !os.IsNotExist(err) {
		t.Errorf("a failed delivery was spooled: %v", err)
	}
	if logs := e.logText(); !strings.Contains(logs, "failed after its last attempt") || strings.Contains(logs, "s3cret") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestDispatcher_SpoolKeepsEachResourcesOrderAndTheNumbering(t *testing.T) {
	t.Parallel()
	spool := filepath.Join(t.TempDir(), "pending.ndjson")
	rcv := newReceiver(t, 200, 500, 500) // the event, then its duplicate fails twice
	s := webhooks.DefaultSettings()
	s.Duplicates = 1
	e := newEnv(t, webhooks.Options{Settings: s, Spool: spool})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactUpdate", 2))
	e.attempted(t) // delivered
	e.attempted(t) // its duplicate failed, ahead of event 2
	e.close(t)     // the duplicate's last attempt fails too
	rcv.next(t)
	rcv.next(t)
	rcv.next(t)
	data, err := os.ReadFile(spool)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"duplicate":true`) || !strings.Contains(lines[1], `"eventId":"evt-contact/a-2"`) {
		t.Fatalf("spool, in lane order:\n%s", data)
	}
	again := newEnv(t, webhooks.Options{Spool: spool})
	for _, want := range []string{`"n":1`, `"n":2`} {
		if got := rcv.next(t); !strings.Contains(string(got.body), want) {
			t.Fatalf("after restart got %s, want %s", got.body, want)
		}
	}
	if d, _ := again.d.Send(msg(rcv.srv.URL, "contact/b", "ContactCreate", 3)); d.ID != "wh_4" {
		t.Errorf("a delivery after the restart is %s, want wh_4 (the first run made wh_1 to wh_3)", d.ID)
	}
}

func TestDispatcher_StrictRefusalsAreNotRedelivered(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e := newEnv(t, webhooks.Options{Validate: func(webhooks.Message) error { return fmt.Errorf("broken") }})
	bad, _ := e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	if _, err := e.d.Redeliver(bad.ID); !errors.Is(err, webhooks.ErrInvalidPayload) {
		t.Errorf("redelivery of an invalid payload: %v", err)
	}
}

func TestDispatcher_SpoolThatCannotBeWrittenNamesWhatIsLeft(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 500)
	e := newEnv(t, webhooks.Options{Spool: filepath.Join(t.TempDir(), "missing-dir", "pending.ndjson")})
	e.d.Send(msg(rcv.srv.URL, "contact/a", "ContactCreate", 1))
	e.attempted(t)
	ctx, cancel := context.WithTimeout(context.Background(), failSafe)
	defer cancel()
	e.closed = true
	if err := e.d.Close(ctx); err == nil {
		t.Error("Close hid that the spool could not be written")
	}
	if logs := e.logText(); !strings.Contains(logs, "could not be spooled") || !strings.Contains(logs, "eventId=evt-contact/a-1") ||
		!strings.Contains(logs, " "+logkey.Err+"=") || strings.Contains(logs, " error=") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestDispatcher_DelayJitterIsSeeded(t *testing.T) {
	t.Parallel()
	s := webhooks.DefaultSettings()
	s.Delay, s.DelayJitter = clock.Duration(time.Second), clock.Duration(time.Minute)
	due := func(seed uint64) []time.Time {
		e := newEnv(t, webhooks.Options{Settings: s, Seed: seed})
		var out []time.Time
		for n := range 5 {
			d, _ := e.d.Send(msg("http://127.0.0.1:1/", fmt.Sprint("contact/", n), "ContactCreate", n))
			if d.NextAttempt.Before(t0.Add(time.Second)) || !d.NextAttempt.Before(t0.Add(61*time.Second)) {
				t.Errorf("due %v, want within [+1s, +61s)", d.NextAttempt)
			}
			out = append(out, *d.NextAttempt)
		}
		return out
	}
	a, b := due(9), due(9)
	if !slices.Equal(a, b) || a[0].Equal(a[1]) {
		t.Errorf("jittered dues %v then %v", a, b)
	}
}

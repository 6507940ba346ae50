package receiver_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	"github.com/contactbridge/contactbridge/sync/state"
)

// wait bounds every wait for something that happens at once; it is never
// reached when the code works.
const wait = 20 * time.Second

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// env is a receiver on a fresh database, with an enqueue-only queue.
type env struct {
	db    *state.DB
	queue *engine.River
	rcv   *receiver.Receiver
	srv   *httptest.Server
	edKey ed25519.PrivateKey
}

const m360Secret = "whsec_test"

// mustQueue opens a fresh sync database with an enqueue-only queue.
func mustQueue(t testing.TB) (*state.DB, *engine.River) {
	t.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "sync.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	q, err := engine.NewRiver(ctx, db, engine.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return db, q
}

// newEnv makes a receiver; edit changes its config first.
func newEnv(t testing.TB, edit func(*receiver.Config)) *env {
	t.Helper()
	db, q := mustQueue(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := receiver.Config{DB: db, Queue: q, HighLevelKey: pub, M360Secrets: []string{"other", m360Secret},
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	rcv, err := receiver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv.Handler())
	t.Cleanup(srv.Close)
	return &env{db: db, queue: q, rcv: rcv, srv: srv, edKey: priv}
}

// post sends a body with headers to path and returns the status and body.
func (e *env) post(t *testing.T, path string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

func (e *env) signHL(body []byte) map[string]string {
	return map[string]string{receiver.HeaderGHL: base64.StdEncoding.EncodeToString(ed25519.Sign(e.edKey, body))}
}

func m360Header(body []byte, at time.Time) map[string]string {
	return map[string]string{receiver.HeaderM360: signM360(m360Secret, body, at)}
}

func hlBody(typ, webhookID, id string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "locationId": "loc1", "webhookId": webhookID,
		"timestamp": now.Add(-time.Minute).Format("2006-01-02T15:04:05.000Z"), "id": id, "firstName": "Ada"})
	return b
}

func m360Body(typ, id string, entity int64) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "type": typ, "occurred": now.Unix(), "accountId": 42,
		"data": map[string]any{"id": entity, "updated": now.Unix()}})
	return b
}

func (e *env) inbox(t *testing.T) []state.InboxEvent {
	t.Helper()
	rows, err := e.db.InboxEvents(context.Background(), state.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (e *env) converges(t *testing.T) []engine.Converge {
	t.Helper()
	jobs, err := e.queue.Jobs(context.Background(), []string{engine.KindConverge}, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []engine.Converge
	for _, j := range jobs {
		var c engine.Converge
		if err := json.Unmarshal(j.Args, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestHighLevel_StoresASignedEventOnceWithItsJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := hlBody("ContactCreate", "wh-1", "c1")
	for i, want := range []string{`{"result":"stored"}`, `{"result":"duplicate"}`} {
		if code, got := e.post(t, receiver.PathHighLevel, body, e.signHL(body)); code != 200 || got != want {
			t.Errorf("delivery %d: %d %s, want 200 %s", i, code, got, want)
		}
	}
	// Another event about the same contact coalesces into the waiting job.
	update := hlBody("ContactUpdate", "wh-2", "c1")
	if code, _ := e.post(t, receiver.PathHighLevel, update, e.signHL(update)); code != 200 {
		t.Fatalf("update: %d", code)
	}
	rows := e.inbox(t)
	if len(rows) != 2 || !bytes.Equal(rows[0].Body, body) || rows[0].EventID != "wh-1" || rows[0].Tenant != "loc1" ||
		rows[0].EntityKind != "contact" || rows[0].EntityID != "c1" || rows[0].State != state.InboxNew ||
		!rows[0].ReceivedAt.Equal(now) || rows[0].Source != state.SourceHighLevelWebhook {
		t.Errorf("inbox: %+v", rows)
	}
	want := engine.Converge{Side: "hl", EntityKind: "contact", Tenant: "loc1", ID: "c1"}
	if jobs := e.converges(t); len(jobs) != 1 || jobs[0] != want {
		t.Errorf("jobs %+v, want one %+v", jobs, want)
	}
	c := e.rcv.Counts()
	if c.Received != 2 || c.Duplicates != 1 || c.JobsEnqueued != 1 || c.JobsCoalesced != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestHighLevel_Refusals(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSign := func(body []byte) string {
		sum := sha256.Sum256(body)
		sig, err := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	body := hlBody("ContactCreate", "wh-1", "c1")
	stale := []byte(strings.Replace(string(body), now.Add(-time.Minute).Format("2006-01-02T15:04"),
		now.Add(-3*time.Hour).Format("2006-01-02T15:04"), 1))
	for _, tc := range []struct {
		name    string
		withRSA bool
		body    []byte
		header  func(e *env) map[string]string
		want    int
		count   func(receiver.Counts) int64
	}{
		{"no signature", false, body, func(*env) map[string]string { return nil }, 401,
			func(c receiver.Counts) int64 { return c.BadSignature }},
		{"tampered body", false, body, func(e *env) map[string]string { return e.signHL(hlBody("ContactCreate", "wh-1", "c2")) }, 401,
			func(c receiver.Counts) int64 { return c.BadSignature }},
		{"not base64", false, body, func(*env) map[string]string { return map[string]string{receiver.HeaderGHL: "%%%"} }, 401,
			func(c receiver.Counts) int64 { return c.BadSignature }},
		{"rsa without an rsa key", false, body, func(*env) map[string]string { return map[string]string{receiver.HeaderWH: rsaSign(body)} }, 401,
			func(c receiver.Counts) int64 { return c.BadSignature }},
		{"rsa of another body", true, body, func(*env) map[string]string {
			return map[string]string{receiver.HeaderWH: rsaSign(hlBody("ContactCreate", "wh-9", "c1"))}
		}, 401, func(c receiver.Counts) int64 { return c.BadSignature }},
		{"stale timestamp", false, stale, func(e *env) map[string]string { return e.signHL(stale) }, 401,
			func(c receiver.Counts) int64 { return c.Stale }},
		{"signed but not JSON", false, []byte(`{"type":`), func(e *env) map[string]string { return e.signHL([]byte(`{"type":`)) }, 400,
			func(c receiver.Counts) int64 { return c.Malformed }},
		{"known type without id", false, []byte(`{"type":"TaskCreate","locationId":"l","webhookId":"w"}`), func(e *env) map[string]string {
			return e.signHL([]byte(`{"type":"TaskCreate","locationId":"l","webhookId":"w"}`))
		}, 400, func(c receiver.Counts) int64 { return c.Malformed }},
		{"oversized", false, bytes.Repeat([]byte("x"), 2048), func(e *env) map[string]string { return nil }, 413,
			func(c receiver.Counts) int64 { return c.TooLarge }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *receiver.Config) {
				c.MaxBody = 1024
				if tc.withRSA {
					c.HighLevelRSA = &rsaKey.PublicKey
				}
			})
			if code, got := e.post(t, receiver.PathHighLevel, tc.body, tc.header(e)); code != tc.want {
				t.Errorf("status %d %s, want %d", code, got, tc.want)
			}
			if rows := e.inbox(t); len(rows) != 0 {
				t.Errorf("stored %+v", rows)
			}
			if jobs := e.converges(t); len(jobs) != 0 {
				t.Errorf("enqueued %+v", jobs)
			}
			if n := tc.count(e.rcv.Counts()); n != 1 {
				t.Errorf("counter %d, want 1 (%+v)", n, e.rcv.Counts())
			}
		})
	}
	t.Run("rsa accepted when configured", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *receiver.Config) { c.HighLevelRSA = &rsaKey.PublicKey })
		if code, got := e.post(t, receiver.PathHighLevel, body, map[string]string{receiver.HeaderWH: rsaSign(body)}); code != 200 {
			t.Errorf("status %d %s, want 200", code, got)
		}
	})
	t.Run("not a POST", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		resp, err := http.Get(e.srv.URL + receiver.PathHighLevel)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || e.rcv.Counts().WrongMethod != 1 {
			t.Errorf("GET: %d, counts %+v", resp.StatusCode, e.rcv.Counts())
		}
	})
}

func TestHighLevel_UnknownEventIsStoredIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := []byte(`{"type":"OpportunityCreate","locationId":"loc1","webhookId":"wh-7","id":"o1"}`)
	if code, got := e.post(t, receiver.PathHighLevel, body, e.signHL(body)); code != 200 || got != `{"result":"ignored"}` {
		t.Fatalf("unknown event: %d %s", code, got)
	}
	rows := e.inbox(t)
	if len(rows) != 1 || rows[0].State != state.InboxIgnored || rows[0].Type != "OpportunityCreate" || rows[0].EntityKind != "" {
		t.Errorf("inbox %+v", rows)
	}
	if jobs := e.converges(t); len(jobs) != 0 {
		t.Errorf("enqueued %+v", jobs)
	}
	if c := e.rcv.Counts(); c.Unknown != 1 || c.Received != 1 || c.JobsEnqueued != 0 {
		t.Errorf("counts %+v", c)
	}
}

// fakeQueue is an Enqueuer of function fields.
type fakeQueue struct {
	enqueue func(context.Context, *state.Tx, engine.Args) (engine.Enqueued, error)
}

func (f fakeQueue) Enqueue(ctx context.Context, tx *state.Tx, a engine.Args) (engine.Enqueued, error) {
	return f.enqueue(ctx, tx, a)
}

var _ receiver.Enqueuer = fakeQueue{}

func TestReceiver_StoreFailureAsksForARetryAndStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *receiver.Config) {
		c.Queue = fakeQueue{enqueue: func(context.Context, *state.Tx, engine.Args) (engine.Enqueued, error) {
			return engine.Enqueued{}, errors.New("queue down")
		}}
	})
	hl := hlBody("ContactCreate", "wh-1", "c1")
	if code, _ := e.post(t, receiver.PathHighLevel, hl, e.signHL(hl)); code != http.StatusTooManyRequests {
		t.Errorf("HighLevel: %d, want 429 (the only status HighLevel retries)", code)
	}
	m := m360Body("contact.created", "evt_1", 5)
	if code, _ := e.post(t, receiver.PathM360, m, m360Header(m, now)); code != http.StatusServiceUnavailable {
		t.Errorf("Marketing 360: %d, want 503", code)
	}
	if rows := e.inbox(t); len(rows) != 0 {
		t.Errorf("inbox row without its job: %+v", rows)
	}
	if c := e.rcv.Counts(); c.StoreFailed != 2 || c.Received != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestM360_SignatureTimestampAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := m360Body("task.created", "evt_1", 9)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
		result string
	}{
		{"signed now", m360Header(body, now), 200, `{"result":"stored"}`},
		{"same delivery again, re-signed", m360Header(body, now.Add(time.Minute)), 200, `{"result":"duplicate"}`},
		{"within tolerance", m360Header(body, now.Add(-4*time.Minute)), 200, `{"result":"duplicate"}`},
		{"replayed after the tolerance", m360Header(body, now.Add(-6*time.Minute)), 401, ""},
		{"from the future", m360Header(body, now.Add(6*time.Minute)), 401, ""},
		{"wrong secret", map[string]string{receiver.HeaderM360: signM360("nope", body, now)}, 401, ""},
		{"no signature", nil, 401, ""},
		{"garbage", map[string]string{receiver.HeaderM360: "t=1,v1=zz"}, 401, ""},
		{"second v1 verifies", map[string]string{receiver.HeaderM360: strings.Replace(signM360(m360Secret, body, now),
			",v1=", ",v1="+strings.Repeat("0", 64)+",v1=", 1)}, 200, `{"result":"duplicate"}`},
	} {
		code, got := e.post(t, receiver.PathM360, body, tc.header)
		if code != tc.want || (tc.result != "" && got != tc.result) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, got, tc.want, tc.result)
		}
	}
	rows := e.inbox(t)
	if len(rows) != 1 || rows[0].Source != state.SourceM360Webhook || rows[0].EntityKind != "task" ||
		rows[0].EntityID != "9" || rows[0].Tenant != "42" || rows[0].EntityVersion != "1772443800" {
		t.Errorf("inbox %+v", rows)
	}
	want := engine.Converge{Side: "m360", EntityKind: "task", Tenant: "42", ID: "9"}
	if jobs := e.converges(t); len(jobs) != 1 || jobs[0] != want {
		t.Errorf("jobs %+v, want %+v", jobs, want)
	}
	if c := e.rcv.Counts(); c.BadSignature != 5 || c.Duplicates != 3 || c.Received != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestNew_RefusesConfigs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		cfg  receiver.Config
	}{
		{"no db", receiver.Config{Queue: e.queue, M360Secrets: []string{"s"}}},
		{"no keys", receiver.Config{DB: e.db, Queue: e.queue}},
		{"short key", receiver.Config{DB: e.db, Queue: e.queue, HighLevelKey: ed25519.PublicKey{1, 2}}},
		{"empty secret", receiver.Config{DB: e.db, Queue: e.queue, M360Secrets: []string{""}}},
	} {
		if _, err := receiver.New(tc.cfg); !errors.Is(err, receiver.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", tc.name, err)
		}
	}
}

// TestReceiver_ChildEventsNameTheirContact: the job of a task, note or
// appointment carries its contact's id (reading the record needs it); a
// contact's job has none; a TaskCreate without contactId (as some live
// payloads) still makes a job, without it.
func TestReceiver_ChildEventsNameTheirContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	hl := func(webhookID string, fields map[string]any) []byte {
		b := map[string]any{"locationId": "loc1", "webhookId": webhookID, "timestamp": now.Add(-time.Minute).Format(time.RFC3339)}
		maps.Copy(b, fields)
		raw, _ := json.Marshal(b)
		return raw
	}
	for _, body := range [][]byte{
		hl("wh-1", map[string]any{"type": "TaskCreate", "id": "t1", "contactId": "c1"}),
		hl("wh-2", map[string]any{"type": "TaskCreate", "id": "t2"}),
		hl("wh-3", map[string]any{"type": "NoteUpdate", "id": "n1", "contactId": "c1"}),
		hl("wh-4", map[string]any{"type": "AppointmentCreate", "appointment": map[string]any{"id": "a1", "contactId": "c1"}}),
		hl("wh-5", map[string]any{"type": "ContactUpdate", "id": "c1", "contactId": "other"}),
	} {
		if code, got := e.post(t, receiver.PathHighLevel, body, e.signHL(body)); code != 200 {
			t.Fatalf("%s: %d %s", body, code, got)
		}
	}
	m, _ := json.Marshal(map[string]any{"id": "evt_1", "type": "task.completed", "occurred": now.Unix(), "accountId": 42,
		"data": map[string]any{"id": 9, "contactId": 1001, "updated": now.Unix()}})
	if code, got := e.post(t, receiver.PathM360, m, m360Header(m, now)); code != 200 {
		t.Fatalf("m360: %d %s", code, got)
	}
	want := []engine.Converge{
		{Side: "hl", EntityKind: "task", Tenant: "loc1", ID: "t1", Parent: "c1"},
		{Side: "hl", EntityKind: "task", Tenant: "loc1", ID: "t2"},
		{Side: "hl", EntityKind: "note", Tenant: "loc1", ID: "n1", Parent: "c1"},
		{Side: "hl", EntityKind: "appointment", Tenant: "loc1", ID: "a1", Parent: "c1"},
		{Side: "hl", EntityKind: "contact", Tenant: "loc1", ID: "c1"},
		{Side: "m360", EntityKind: "task", Tenant: "42", ID: "9", Parent: "1001"},
	}
	if got := e.converges(t); !slices.Equal(got, want) {
		t.Errorf("jobs\n\tgot  %+v\n\twant %+v", got, want)
	}
}

package receiver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	"github.com/contactbridge/contactbridge/sync/state"
)

// recorder serves the receiver once it is set, and keeps each request's
// headers, body and time to answer.
type recorder struct {
	h atomic.Pointer[http.Handler]

	mu   sync.Mutex // guards reqs
	reqs []recorded
}

type recorded struct {
	path   string
	header http.Header
	body   []byte
	status int
	took   time.Duration
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := rc.h.Load()
	if h == nil {
		http.Error(w, "receiver not ready", http.StatusServiceUnavailable)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	(*h).ServeHTTP(sw, r)
	took := time.Since(start)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{path: r.URL.Path, header: r.Header.Clone(), body: body, status: sw.status, took: took})
	rc.mu.Unlock()
}

func (rc *recorder) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// TestReceiver_EndToEndWithTheTwins: both twins send their real webhooks,
// each delivered twice and ContactCreate followed by ContactUpdate; every
// event is stored once, one converge job waits per entity, and tampered
// or replayed deliveries store nothing more.
func TestReceiver_EndToEndWithTheTwins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := &recorder{}
	hook := httptest.NewServer(rec)
	t.Cleanup(hook.Close)
	tw := startTwin(t, hook.URL+receiver.PathHighLevel)
	secret := tw.subscribeM360(t, hook.URL+receiver.PathM360, "contact.created", "contact.updated")

	db, queue := mustQueue(t)
	rcv, err := receiver.New(receiver.Config{DB: db, Queue: queue, HighLevelKey: tw.highLevelKey(t),
		M360Secrets: []string{secret}, Now: tw.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := rcv.Handler()
	rec.h.Store(&h)

	const hlContacts, m360Contacts = 5, 3
	var hlIDs, m360IDs []string
	for i := range hlContacts {
		hlIDs = append(hlIDs, tw.createHighLevelContact(t, fmt.Sprint("Ada", i), fmt.Sprintf("ada%d@example.com", i)))
	}
	for i := range m360Contacts {
		m360IDs = append(m360IDs, tw.createM360Contact(t, fmt.Sprint("Bob", i), fmt.Sprintf("bob%d@example.com", i)))
	}
	// HighLevel: ContactCreate and ContactUpdate per contact; Marketing
	// 360: contact.created; each delivered twice.
	events := 2*hlContacts + m360Contacts
	got := tw.waitDelivered(t, 2*events)
	if n := tw.failedDeliveries(); n != 0 {
		t.Errorf("%d deliveries failed", n)
	}
	ids := map[string]int{}
	dups := 0
	for _, d := range got {
		ids[d.EventID]++
		if d.Duplicate {
			dups++
		}
	}
	if len(ids) != events || dups != events {
		t.Errorf("the twin sent %d events, %d duplicates; want %d of each", len(ids), dups, events)
	}

	rows, err := db.InboxEvents(ctx, state.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != events {
		t.Errorf("%d inbox rows, want %d (one per event)", len(rows), events)
	}
	for _, r := range rows {
		if ids[r.EventID] != 2 || r.State != state.InboxNew || r.EntityKind != receiver.KindContact {
			t.Errorf("inbox row %s %s %s %s: not one of the twin's events, delivered twice", r.Source, r.EventID, r.Type, r.State)
		}
	}
	jobs, err := queue.Jobs(ctx, []string{engine.KindConverge}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var converged []string
	for _, j := range jobs {
		converged = append(converged, string(j.Args))
	}
	var want []string
	for _, id := range hlIDs {
		want = append(want, fmt.Sprintf(`{"side":"hl","kind":"contact","tenant":%q,"id":%q}`, tw.location(), id))
	}
	for _, id := range m360IDs {
		want = append(want, fmt.Sprintf(`{"side":"m360","kind":"contact","tenant":%q,"id":%q}`, tw.m360Account(), id))
	}
	slices.Sort(converged)
	slices.Sort(want)
	if !slices.Equal(converged, want) {
		t.Errorf("converge jobs\n\tgot  %v\n\twant %v", converged, want)
	}
	c := rcv.Counts()
	if c.Received != int64(events) || c.Duplicates != int64(events) || c.JobsEnqueued != hlContacts+m360Contacts ||
		c.JobsCoalesced != hlContacts || c.BadSignature != 0 {
		t.Errorf("counts %+v", c)
	}

	reqs := rec.requests()
	var slowest time.Duration
	for _, r := range reqs {
		slowest = max(slowest, r.took)
		if r.status != http.StatusOK {
			t.Errorf("%s answered %d", r.path, r.status)
		}
	}
	t.Logf("%d deliveries, the slowest answered in %s", len(reqs), slowest)

	// Replays of the twin's own deliveries: the same bytes are stored once
	// more never; a byte changed is refused.
	var firsts []recorded
	for _, path := range []string{receiver.PathHighLevel, receiver.PathM360} {
		i := slices.IndexFunc(reqs, func(r recorded) bool { return r.path == path })
		if i < 0 {
			t.Fatalf("no delivery to %s", path)
		}
		firsts = append(firsts, reqs[i])
	}
	for _, r := range firsts {
		for _, tc := range []struct {
			name string
			body []byte
			want int
		}{
			{"replayed", r.body, http.StatusOK},
			{"tampered", bytes.Replace(r.body, []byte(`"id":"`), []byte(`"id":"x`), 1), http.StatusUnauthorized},
		} {
			req, _ := http.NewRequest("POST", hook.URL+r.path, bytes.NewReader(tc.body))
			req.Header = r.header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.name, r.path, resp.StatusCode, tc.want)
			}
		}
	}
	if rows, _ := db.InboxEvents(ctx, state.InboxFilter{}); len(rows) != events {
		t.Errorf("%d inbox rows after replays, want %d", len(rows), events)
	}
	if c := rcv.Counts(); c.BadSignature != 2 {
		t.Errorf("bad signatures %d, want 2", c.BadSignature)
	}
}

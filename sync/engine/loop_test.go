package engine_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/receiver"
)

// loop is the whole sync in process on a harness: the twins deliver their
// webhooks (each twice, every ContactCreate followed by a ContactUpdate)
// to the receiver, which enqueues converge jobs that the queue's workers
// run on the converger.
type loop struct {
	*harness
	q *engine.River
}

// activeStates are the states of a job not finished yet.
var activeStates = []string{"available", "pending", "running", "retryable", "scheduled"}

// newLoop starts the sync on a new harness, with the flows that flows
// returns for it.
func newLoop(t *testing.T, flows func(h *harness) engine.Flows) *loop {
	t.Helper()
	ctx := context.Background()
	h := newHarness(t)
	h.flows = flows(h)
	w := h.converger(t, nil, nil, 0).Worker()
	work := w.Work
	w.Work = func(ctx context.Context, job *engine.Job) error {
		err := work(ctx, job)
		if err != nil {
			t.Logf("job %d %s attempt %d: %v", job.ID, job.Args, job.Attempt, err)
		}
		return err
	}
	q := mustRiver(t, h.db, engine.Config{Workers: []engine.Worker{w}, PollInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 20 * time.Millisecond }})

	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := handler.Load(); p != nil {
			(*p).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	status, pem := h.tw.Admin(http.MethodGet, "/__admin/webhooks/keys/ed25519.pem", nil)
	if status != http.StatusOK {
		t.Fatalf("webhook key: %d %s", status, pem)
	}
	key, err := receiver.ParsePublicKey(string(pem))
	if err != nil {
		t.Fatal(err)
	}
	events := []m360api.WebhookEvent{"contact.created", "contact.updated", "task.created", "task.updated", "task.completed", "task.deleted",
		"note.created", "event.created"}
	sub, err := m360api.OK(h.m360.M360CreateWebhookWithResponse(ctx, m360api.WebhookInput{Url: srv.URL + receiver.PathM360, Events: events}))
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := receiver.New(receiver.Config{DB: h.db, Queue: q, HighLevelKey: key.(ed25519.PublicKey),
		M360Secrets: []string{sub.JSON201.Result.Secret}, Now: h.tw.Clock().Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rh := rcv.Handler()
	handler.Store(&rh)
	if status, body := h.tw.Admin(http.MethodPut, "/__admin/webhooks/highlevel/"+h.tw.App().ClientID,
		map[string]string{"url": srv.URL + receiver.PathHighLevel}); status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", status, body)
	}
	if status, body := h.tw.Admin(http.MethodPut, "/__admin/webhooks/settings",
		map[string]any{"duplicates": 1, "updateAfterCreate": true}); status != http.StatusOK {
		t.Fatalf("webhook settings: %d %s", status, body)
	}
	startRiver(t, q)
	return &loop{harness: h, q: q}
}

// settle waits until the sync is quiescent: no delivery pending, no job
// unfinished, and nothing delivered or enqueued between two looks.
func (l *loop) settle(t *testing.T) {
	t.Helper()
	type look struct{ delivered, jobs int }
	var last look
	stable := 0
	twintest.WaitFor(t, wait, func() bool {
		active, err := l.q.Jobs(context.Background(), []string{engine.KindConverge}, activeStates, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all, err := l.q.Jobs(context.Background(), []string{engine.KindConverge}, nil, 10000)
		if err != nil {
			t.Fatal(err)
		}
		d := l.deliveries(t)
		now := look{delivered: d.Delivered, jobs: len(all)}
		if len(active) > 0 || d.Pending > 0 || now != last {
			last, stable = now, 0
			return false
		}
		stable++
		return stable >= 2
	})
}

// deliveries are the twins' delivery counts.
func (l *loop) deliveries(t *testing.T) struct{ Pending, Delivered, Failed int } {
	t.Helper()
	status, body := l.tw.Admin(http.MethodGet, "/__admin/webhooks", nil)
	var out struct {
		Deliveries struct{ Pending, Delivered, Failed int }
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("webhooks: %d %s", status, body)
	}
	return out.Deliveries
}

// timeline is what both twins hold for one contact pair, from the export:
// titles (" (done)" when completed), note bodies, event titles, sorted.
type timeline struct {
	HLTasks, HLNotes, M360Tasks, M360Notes, M360Events []string
	Triggers                                           []int64
}

func (h *harness) timeline(t *testing.T, hlID string) timeline {
	t.Helper()
	st := h.tw.Export()
	var m360ID int64
	for _, c := range st.M360Contacts {
		if c.ExternalIDs.GHL == hlID {
			m360ID = c.ID
		}
	}
	done := func(title string, completed bool) string {
		if completed {
			return title + " (done)"
		}
		return title
	}
	var out timeline
	for _, x := range st.Tasks {
		if x.ContactID == hlID {
			out.HLTasks = append(out.HLTasks, done(x.Title, x.Completed))
		}
	}
	for _, x := range st.Notes {
		if x.ContactID == hlID {
			out.HLNotes = append(out.HLNotes, x.Body)
		}
	}
	for _, x := range st.M360Tasks {
		if x.ContactID == m360ID && m360ID != 0 {
			out.M360Tasks = append(out.M360Tasks, done(x.Title, x.Completed))
		}
	}
	for _, x := range st.M360Notes {
		if x.ContactID == m360ID && m360ID != 0 {
			out.M360Notes = append(out.M360Notes, x.Body)
		}
	}
	for _, x := range st.M360Events {
		if x.ContactID == m360ID && m360ID != 0 {
			out.M360Events = append(out.M360Events, x.Title+" "+x.Status)
		}
	}
	for _, x := range st.M360Triggers {
		if x.ContactID == m360ID && m360ID != 0 {
			out.Triggers = append(out.Triggers, x.CampaignID)
		}
	}
	for _, l := range [][]string{out.HLTasks, out.HLNotes, out.M360Tasks, out.M360Notes, out.M360Events} {
		slices.Sort(l)
	}
	slices.Sort(out.Triggers)
	return out
}

// activeCampaigns are the ids of the Marketing 360 twin's active
// campaigns.
func (h *harness) activeCampaigns(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for _, c := range h.tw.Export().M360Campaigns {
		if c.Status == "active" {
			out = append(out, c.ID)
		}
	}
	if len(out) < 2 {
		t.Fatalf("the twin has %d active campaigns, want 2", len(out))
	}
	return out
}

// m360ContactOf is the id of HighLevel contact hlID's Marketing 360
// counterpart.
func (h *harness) m360ContactOf(t *testing.T, hlID string) int64 {
	t.Helper()
	got := h.tw.Counterpart(hlID)
	if got.Contacts != 1 {
		t.Fatalf("HighLevel contact %s has %d counterparts", hlID, got.Contacts)
	}
	return got.ID
}

// hlTaskID is the id of the HighLevel task titled title on contact hlID.
func (h *harness) hlTaskID(t *testing.T, hlID, title string) string {
	t.Helper()
	for _, x := range h.tw.Export().Tasks {
		if x.ContactID == hlID && x.Title == title {
			return x.ID
		}
	}
	t.Fatalf("no HighLevel task %q on %s", title, hlID)
	return ""
}

// m360Task is the Marketing 360 task titled title on contact id.
func (h *harness) m360Task(t *testing.T, id int64, title string) store.M360Task {
	t.Helper()
	for _, x := range h.tw.Export().M360Tasks {
		if x.ContactID == id && x.Title == title {
			return x
		}
	}
	t.Fatalf("no Marketing 360 task %q on %d", title, id)
	return store.M360Task{}
}

// Writes through the APIs, as a person would.

func (h *harness) createHLTask(t *testing.T, hlID, title string) string {
	t.Helper()
	body := "Ask about " + title
	res, err := highlevelapi.OK(h.hl.CreateTaskWithResponse(context.Background(), hlID, nil,
		highlevelapi.CreateTaskBody{Title: title, Body: &body, DueDate: h.tw.Clock().Now().Add(48 * time.Hour)}))
	if err != nil {
		t.Fatal(err)
	}
	return res.JSON201.Task.Id
}

func (h *harness) completeHLTask(t *testing.T, hlID, taskID string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.UpdateTaskCompletedWithResponse(context.Background(), hlID, taskID, nil,
		highlevelapi.UpdateTaskCompletedJSONRequestBody{Completed: true})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) createHLNote(t *testing.T, hlID, body string) string {
	t.Helper()
	res, err := highlevelapi.OK(h.hl.CreateNoteWithResponse(context.Background(), hlID, nil, highlevelapi.NotesDTO{Body: body}))
	if err != nil {
		t.Fatal(err)
	}
	return res.JSON201.Note.Id
}

func (h *harness) updateHLNote(t *testing.T, hlID, noteID, body string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.UpdateNoteWithResponse(context.Background(), hlID, noteID, nil,
		highlevelapi.UpdateNoteDTO{Body: &body})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) deleteHLNote(t *testing.T, hlID, noteID string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.DeleteNoteWithResponse(context.Background(), hlID, noteID, nil)); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) createAppointment(t *testing.T, hlID, title string) string {
	t.Helper()
	start := h.tw.Clock().Now().Add(24 * time.Hour).Truncate(time.Hour)
	end := start.Add(30 * time.Minute)
	res, err := highlevelapi.OK(h.hl.CreateContactAppointmentWithResponse(context.Background(), hlID, nil,
		highlevelapi.ContactAppointmentCreateSchema{CalendarId: h.tw.Calendar(), StartTime: start, EndTime: &end, Title: &title}))
	if err != nil {
		t.Fatal(err)
	}
	return res.JSON201.Id
}

func (h *harness) deleteAppointment(t *testing.T, id string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.DeleteEventWithResponse(context.Background(), id, nil, highlevelapi.DeleteEventJSONRequestBody{})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) createM360Task(t *testing.T, contact int64, title string) int64 {
	t.Helper()
	desc := "Quote for " + title
	due := h.tw.Clock().Now().Add(72 * time.Hour).Unix()
	res, err := m360api.OK(h.m360.M360CreateTaskWithResponse(context.Background(), contact,
		m360api.TaskCreate{Title: title, Description: &desc, DueAt: &due}))
	if err != nil {
		t.Fatal(err)
	}
	return res.JSON201.Result.Id
}

func (h *harness) completeM360Task(t *testing.T, contact, id int64) {
	t.Helper()
	done := true
	if _, err := m360api.OK(h.m360.M360UpdateTaskWithResponse(context.Background(), contact, id,
		m360api.TaskUpdate{Completed: &done})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) updateHLTask(t *testing.T, hlID, taskID, title string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.UpdateTaskWithResponse(context.Background(), hlID, taskID, nil,
		highlevelapi.UpdateTaskBody{Title: &title})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) deleteHLTask(t *testing.T, hlID, taskID string) {
	t.Helper()
	if _, err := highlevelapi.OK(h.hl.DeleteTaskWithResponse(context.Background(), hlID, taskID, nil)); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) updateM360Task(t *testing.T, contact, id int64, title string) {
	t.Helper()
	if _, err := m360api.OK(h.m360.M360UpdateTaskWithResponse(context.Background(), contact, id,
		m360api.TaskUpdate{Title: &title})); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) deleteM360Task(t *testing.T, contact, id int64) {
	t.Helper()
	if _, err := m360api.OK(h.m360.M360DeleteTaskWithResponse(context.Background(), contact, id)); err != nil {
		t.Fatal(err)
	}
}

// reconcile polls the location's contacts with their tasks and notes once, as the periodic
// reconcile does, enqueuing on the loop's queue.
func (l *loop) reconcile(t *testing.T) {
	t.Helper()
	s := engine.HighLevelContacts(l.hl, l.tw.Location())
	mustPoll(t, l.poller(t, l.q, s), s.Name)
}

// hasMarker tells whether a HighLevel text carries the sync's marker.
func hasMarker(s string) bool { return strings.Contains(s, "[cb:") }

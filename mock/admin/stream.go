package admin

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// defaultBacklog is how many entries a request stream starts with.
const defaultBacklog = 100

// summary is a journal entry as a request stream sends it: without headers
// and bodies, which GET /__admin/requests/{id} gives.
type summary struct {
	ID         int64   `json:"id"`
	Time       string  `json:"time"`
	DurationMs float64 `json:"durationMs"`
	Twin       string  `json:"twin"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Query      string  `json:"query,omitempty"`
	Operation  string  `json:"operation,omitempty"`
	Location   string  `json:"location,omitempty"`
	Status     int     `json:"status"`
	Fault      string  `json:"fault,omitempty"`
	Hint       string  `json:"hint,omitempty"`
}

func summarize(e *journal.Entry) summary {
	return summary{ID: e.ID, Time: e.Time.Format(time.RFC3339Nano), DurationMs: e.DurationMs,
		Twin: journal.TwinOf(e.Path), Method: e.Method, Path: e.Path, Query: e.Query, Operation: e.Operation,
		Location: e.Location, Status: e.Status, Fault: e.Fault, Hint: nearMiss(e)}
}

// nearMiss says, for a 4xx answer, what refused the request: the message of
// the error the twin answered, in either twin's envelope (HighLevel's
// {"message"} as a string or a list, Marketing 360's {"error": {"message",
// "fields"}}).
func nearMiss(e *journal.Entry) string {
	if e.Status < 400 || e.Status >= 500 || e.ResponseBody == "" {
		return ""
	}
	var body struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(e.ResponseBody), &body) != nil {
		return ""
	}
	var msg string
	var msgs []string
	var m360 struct {
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	}
	switch {
	case json.Unmarshal(body.Message, &msg) == nil && msg != "":
		return msg
	case json.Unmarshal(body.Message, &msgs) == nil && len(msgs) > 0:
		return strings.Join(msgs, "; ")
	case json.Unmarshal(body.Error, &m360) == nil && m360.Message != "":
		for _, k := range slices.Sorted(maps.Keys(m360.Fields)) {
			m360.Message += "; " + k + ": " + m360.Fields[k]
		}
		return m360.Message
	}
	return ""
}

func (a *API) getRequest(r *pipeline.Request) (pipeline.Response, error) {
	id, _ := strconv.ParseInt(r.Path["id"], 10, 64) // validated by the spec
	e, found := a.Journal.Entry(id)
	if !found {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound,
			Messages: []string{fmt.Sprintf("no journal entry %d (the journal keeps the newest only)", id)}}
	}
	return ok(struct {
		journal.Entry
		Twin string `json:"twin"`
		Hint string `json:"hint,omitempty"`
	}{e, journal.TwinOf(e.Path), nearMiss(&e)})
}

// streamRequests serves the journal as server-sent events: the backlog,
// then each new entry the filter selects, until the client goes or the API
// is closed (Close).
func (a *API) streamRequests(r *pipeline.Request) (pipeline.Response, error) {
	q := r.Query
	status, _ := strconv.Atoi(q.Get("status")) // validated by the spec
	f := journal.Filter{Twin: q.Get("twin"), Method: q.Get("method"), Path: q.Get("path"),
		Operation: q.Get("operation"), Status: status, Brief: true}
	backlog := defaultBacklog
	if l := q.Get("limit"); l != "" {
		backlog, _ = strconv.Atoi(l)
	}
	after := q.Get("after")
	if after == "" {
		after = r.HTTP.Header.Get("Last-Event-ID")
	}
	f.After, _ = strconv.ParseInt(after, 10, 64)
	ctx := r.Context()
	return pipeline.Response{Status: http.StatusOK,
		Header: http.Header{"Cache-Control": {"no-store"}, "X-Accel-Buffering": {"no"}},
		Body: pipeline.Stream{ContentType: "text/event-stream", Serve: func(w http.ResponseWriter) {
			notify, stop, err := a.Journal.Subscribe()
			if err != nil {
				_ = writeEvent(w, "error", 0, map[string]string{"message": err.Error()})
				return
			}
			defer stop()
			// Subscribed first: an entry added meanwhile signals, and is
			// read once since f.After moves past each entry sent.
			f.Limit = backlog
			if backlog == 0 && f.After == 0 {
				f.After = a.Journal.LastID()
			}
			for {
				if err := a.sendEntries(w, &f); err != nil {
					return
				}
				f.Limit = 0
				select {
				case <-ctx.Done():
					return
				case <-a.done():
					return
				case <-notify:
				}
			}
		}}}, nil
}

// sendEntries sends the entries f selects, oldest first, flushes them, and
// moves f.After past the newest entry of the journal.
func (a *API) sendEntries(w http.ResponseWriter, f *journal.Filter) error {
	newest := a.Journal.LastID()
	entries := a.Journal.Entries(*f)
	for i := len(entries) - 1; i >= 0; i-- {
		e := &entries[i]
		if err := writeEvent(w, "request", e.ID, summarize(e)); err != nil {
			return err
		}
		newest = max(newest, e.ID)
	}
	f.After = max(f.After, newest)
	return http.NewResponseController(w).Flush()
}

// writeEvent writes one server-sent event; an id of 0 is left out.
func writeEvent(w http.ResponseWriter, event string, id int64, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("write event %s: %w", event, err)
	}
	var sb strings.Builder
	sb.WriteString("event: " + event + "\n")
	if id != 0 {
		sb.WriteString("id: " + strconv.FormatInt(id, 10) + "\n")
	}
	sb.WriteString("data: ")
	sb.Write(b)
	sb.WriteString("\n\n")
	if _, err := w.Write([]byte(sb.String())); err != nil {
		return fmt.Errorf("write event %s: %w", event, err)
	}
	return nil
}

package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/journal"
)

// event is one server-sent event.
type event struct {
	name, id string
	data     map[string]any
}

// events reads a text/event-stream into a channel until it ends.
func events(t *testing.T, body *bufio.Reader) <-chan event {
	t.Helper()
	out := make(chan event, 64)
	go func() {
		defer close(out)
		var ev event
		for {
			line, err := body.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				out <- ev
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
					panic(fmt.Sprintf("event data %q: %v", line, err))
				}
			}
		}
	}()
	return out
}

// openStream starts GET /__admin/requests/stream?query and returns its
// events and a function that disconnects the client.
func openStream(t *testing.T, srv *httptest.Server, query string) (<-chan event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/__admin/requests/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { res.Body.Close() })
	return events(t, bufio.NewReader(res.Body)), cancel
}

func next(t *testing.T, c <-chan event) event {
	t.Helper()
	ev, ok := <-c
	if !ok {
		t.Fatal("the stream ended")
	}
	return ev
}

func TestAPI_StreamRequests(t *testing.T) {
	t.Parallel()
	j := journal.New(100, nil)
	api := &admin.API{Journal: j}
	srv := httptest.NewServer(newHandler(t, api))
	defer srv.Close()
	defer api.Close()
	for _, p := range []string{"/contacts/a", "/v1/contacts", "/contacts/b"} {
		j.Record(journal.Entry{Method: "GET", Path: p, Status: 200})
	}

	// The backlog's newest two, oldest first, then what comes.
	all, _ := openStream(t, srv, "limit=2")
	m360, _ := openStream(t, srv, "twin=m360&limit=0")
	for _, want := range []string{"2", "3"} {
		if ev := next(t, all); ev.name != "request" || ev.id != want {
			t.Fatalf("backlog event %+v, want id %s", ev, want)
		}
	}
	j.Record(journal.Entry{Method: "POST", Path: "/v1/contacts", Status: 422,
		ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}},
		ResponseBody:    `{"error":{"code":"validation","message":"Invalid body","fields":{"email":"must be an email"}}}`})
	for name, c := range map[string]<-chan event{"all": all, "m360": m360} {
		ev := next(t, c)
		if ev.id != "4" || ev.data["twin"] != "m360" || ev.data["status"] != 422.0 ||
			ev.data["hint"] != "Invalid body; email: must be an email" {
			t.Errorf("%s: live event %+v", name, ev)
		}
		if _, leaked := ev.data["responseBody"]; leaked {
			t.Errorf("%s: the summary carries the body", name)
		}
	}
	// A HighLevel entry reaches the first stream only; the m360 stream's
	// next event is the next Marketing 360 entry.
	j.Record(journal.Entry{Method: "GET", Path: "/contacts/c", Status: 200})
	j.Record(journal.Entry{Method: "GET", Path: "/v1/account", Status: 200})
	if ev := next(t, all); ev.id != "5" {
		t.Errorf("all: %+v, want id 5", ev)
	}
	if ev := next(t, m360); ev.id != "6" {
		t.Errorf("m360: %+v, want id 6", ev)
	}

	// Resuming after an id sends what came after it.
	resumed, _ := openStream(t, srv, "after=4&limit=0")
	if ev := next(t, resumed); ev.id != "5" {
		t.Errorf("resumed: %+v, want id 5", ev)
	}

	// Close ends every stream.
	api.Close()
	for name, c := range map[string]<-chan event{"all": all, "m360": m360, "resumed": resumed} {
		for ev := range c {
			if ev.id != "6" {
				t.Errorf("%s: after Close: %+v", name, ev)
			}
		}
	}
}

func TestAPI_StreamRequestsEndsOnDisconnectAndIsBounded(t *testing.T) {
	t.Parallel()
	j := journal.New(10, nil)
	api := &admin.API{Journal: j}
	srv := httptest.NewServer(newHandler(t, api))
	defer api.Close()
	var cancels []context.CancelFunc
	for range journal.MaxSubscribers {
		_, cancel := openStream(t, srv, "")
		cancels = append(cancels, cancel)
	}
	// Each handler subscribes once it runs: a record reaches them all once
	// they do. The one past the bound is told so and ended.
	over, _ := openStream(t, srv, "")
	ev := next(t, over)
	if ev.name != "error" || !strings.Contains(ev.data["message"].(string), "too many") {
		t.Fatalf("stream past the bound: %+v", ev)
	}
	if _, open := <-over; open {
		t.Fatal("the stream past the bound goes on")
	}
	// Disconnected clients release their subscriptions: the server's Close
	// waits for their handlers, which return on the disconnect alone.
	for _, cancel := range cancels {
		cancel()
	}
	srv.Close()
	for range journal.MaxSubscribers {
		if _, _, err := j.Subscribe(); err != nil {
			t.Fatalf("after the clients left: %v", err)
		}
	}
}

func TestAPI_GetRequest(t *testing.T) {
	t.Parallel()
	j := journal.New(10, nil)
	j.Record(journal.Entry{Method: "POST", Path: "/contacts/", Status: 422,
		RequestHeaders:  map[string][]string{"Authorization": {"Bearer s3cret"}},
		ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}},
		ResponseBody:    `{"statusCode":422,"message":["email must be an email","phone is invalid"]}`})
	j.Record(journal.Entry{Method: "GET", Path: "/v1/x", Status: 404,
		ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}},
		ResponseBody:    `{"statusCode":404,"message":"Cannot GET /v1/x"}`})
	h := newHandler(t, &admin.API{Journal: j})
	a := call(t, h, http.MethodGet, "/__admin/requests/1", "").want(t, http.StatusOK)
	if a.body["hint"] != "email must be an email; phone is invalid" || a.body["twin"] != "highlevel" {
		t.Errorf("entry 1: %s", a.raw)
	}
	if strings.Contains(a.raw, "s3cret") {
		t.Errorf("entry 1 shows the token: %s", a.raw)
	}
	a = call(t, h, http.MethodGet, "/__admin/requests/2", "").want(t, http.StatusOK)
	if a.body["hint"] != "Cannot GET /v1/x" || a.body["twin"] != "m360" {
		t.Errorf("entry 2: %s", a.raw)
	}
	call(t, h, http.MethodGet, "/__admin/requests/3", "").want(t, http.StatusNotFound)
	call(t, h, http.MethodGet, "/__admin/requests/nope", "").want(t, http.StatusBadRequest)
}

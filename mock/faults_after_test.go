package mock_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/store"
)

// listeningTwin is a strict, seeded twin on loopback listeners (a reset
// needs a real connection) and a manual clock.
func listeningTwin(t *testing.T) *mock.Server {
	t.Helper()
	return newListening(t, mock.Options{Seed: 5, Strict: true, Clock: clock.NewManual(clockStart)})
}

// send sends a JSON request with header h to url on a client that gives up
// after timeout; it returns the status and body, or the client's error.
func send(t *testing.T, timeout time.Duration, method, url string, h http.Header, body any) (int, []byte, error) {
	t.Helper()
	rd, ok := requestBody(t, body)
	if !ok {
		t.FailNow()
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// mustSend is send for a request that must answer want.
func mustSend(t *testing.T, method, url string, h http.Header, body any, want int) []byte {
	t.Helper()
	status, raw, err := send(t, 10*time.Second, method, url, h, body)
	if err != nil || status != want {
		t.Fatalf("%s %s: %d %s %v, want %d", method, url, status, raw, err, want)
	}
	return raw
}

// addFault adds a fault rule through the admin API and returns its id.
func addFault(t *testing.T, srv *mock.Server, rule map[string]any) string {
	t.Helper()
	var got struct{ ID string }
	if err := json.Unmarshal(mustSend(t, "POST", srv.HighLevel.URL()+"/__admin/faults", nil, rule, 201), &got); err != nil {
		t.Fatal(err)
	}
	return got.ID
}

func exportState(t *testing.T, srv *mock.Server) store.State {
	t.Helper()
	var st store.State
	if err := json.Unmarshal(mustSend(t, "GET", srv.HighLevel.URL()+"/__admin/state", nil, nil, 200), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFaults_AfterTheWrite: under an error, reset or hang fault with after,
// the create is committed although the client saw a 502, a reset or no
// answer; the journal names the rule, what the client got and the handler's
// status.
func TestFaults_AfterTheWrite(t *testing.T) {
	t.Parallel()
	srv := listeningTwin(t)
	hl := srv.HighLevel.URL()
	loc := srv.Defaults().HighLevel.Location.ID
	auth := http.Header{"Authorization": {"Bearer " + srv.Defaults().HighLevel.Token}, "Version": {versionContacts}}

	tests := []struct {
		name       string
		effect     map[string]any
		wantStatus int // what the client and the journal see; 0: no answer
		check      func(t *testing.T, status int, err error)
	}{
		{"error", map[string]any{"kind": "error", "status": 502, "after": true}, 502,
			func(t *testing.T, status int, err error) {
				if err != nil || status != 502 {
					t.Fatalf("client saw %d %v, want 502", status, err)
				}
			}},
		{"reset", map[string]any{"kind": "reset", "after": true}, 0,
			func(t *testing.T, status int, err error) {
				if err == nil {
					t.Fatalf("client saw %d, want a reset", status)
				}
			}},
		{"hang", map[string]any{"kind": "hang", "after": true}, 0,
			func(t *testing.T, status int, err error) {
				var nerr net.Error
				if !errors.As(err, &nerr) || !nerr.Timeout() {
					t.Fatalf("client saw %d %v, want a timeout", status, err)
				}
			}},
	}
	// One after the other: each rule fires once, on the next create.
	for _, tt := range tests {
		email := tt.name + "-after@example.com"
		id := addFault(t, srv, map[string]any{"match": map[string]any{"operation": "create-contact"}, "effect": tt.effect, "times": 1})
		status, _, err := send(t, 300*time.Millisecond, "POST", hl+"/contacts/", auth, map[string]any{"locationId": loc, "email": email})
		tt.check(t, status, err)
		// The twin journals the exchange when its handler returns, which,
		// for a client that gave up (reset, hang), is once the twin sees the
		// connection gone: it may come after the client's error.
		awaitJournaled(t, hl, id)

		// The handler's change is in the state: the export and the API show it.
		var created *store.Contact
		st := exportState(t, srv)
		for i := range st.Contacts {
			if st.Contacts[i].Email == email {
				created = &st.Contacts[i]
			}
		}
		if created == nil {
			t.Fatalf("%s: the contact is not in the exported state", tt.name)
		}
		mustSend(t, "GET", hl+"/contacts/"+created.ID, auth, nil, 200)
		// A retry of the create finds the duplicate, as live.
		mustSend(t, "POST", hl+"/contacts/", auth, map[string]any{"locationId": loc, "email": email}, 400)

		// The newest create is the retry; the faulted one is just before it.
		var got struct{ Requests []journal.Entry }
		raw := mustSend(t, "GET", hl+"/__admin/requests?limit=2&operation=create-contact", nil, nil, 200)
		if err := json.Unmarshal(raw, &got); err != nil || len(got.Requests) != 2 {
			t.Fatalf("journal: %s %v", raw, err)
		}
		if r := got.Requests[0]; r.Fault != "" || r.Status != 400 || r.HandlerStatus != 0 {
			t.Errorf("%s: retry journaled as %d fault %q handlerStatus %d", tt.name, r.Status, r.Fault, r.HandlerStatus)
		}
		f := got.Requests[1]
		if f.Fault != id || f.Status != tt.wantStatus || f.HandlerStatus != 201 {
			t.Errorf("%s: journal: fault %q status %d handlerStatus %d, want %q %d 201",
				tt.name, f.Fault, f.Status, f.HandlerStatus, id, tt.wantStatus)
		}
	}

	// Marketing 360 too: the contact exists although the client saw a 502.
	key := srv.Defaults().M360.Key
	m360 := http.Header{"Authorization": {basic(key.ClientID, key.ClientSecret)}}
	addFault(t, srv, map[string]any{"match": map[string]any{"operation": "m360-create-contact"},
		"effect": map[string]any{"kind": "error", "status": 502, "after": true}, "times": 1})
	status, _, err := send(t, 10*time.Second, "POST", srv.M360.URL()+"/v1/contacts", m360, map[string]any{"email": "m360-after@example.com", "firstName": "Late"})
	if err != nil || status != 502 {
		t.Fatalf("Marketing 360 create: %d %v, want 502", status, err)
	}
	var list struct {
		Result []struct{ ID int64 } `json:"result"`
	}
	raw := mustSend(t, "GET", srv.M360.URL()+"/v1/contacts?email="+url.QueryEscape("m360-after@example.com"), m360, nil, 200)
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Result) != 1 {
		t.Fatalf("Marketing 360 lookup: %s %v", raw, err)
	}
}

// awaitJournaled waits, for up to 10 s, until the journal of the twin at
// base holds the create-contact exchange that fault rule id fired on,
// reading the journal's stream (its newest entry, then each new one).
func awaitJournaled(t *testing.T, base, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/__admin/requests/stream?operation=create-contact&limit=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("journal stream: %v", err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var e journal.Entry
		if err := json.Unmarshal([]byte(data), &e); err == nil && e.Fault == id {
			return
		}
	}
	t.Fatalf("the exchange of fault rule %s was not journaled within 10 s: %v", id, lines.Err())
}

// TestFaults_AfterRefused: after is refused on a latency and when not a
// boolean (422), and kept on the others; an unknown rule is 404.
func TestFaults_AfterRefused(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	e.want(t, e.do(t, "POST", "/__admin/faults", "", map[string]any{"match": map[string]any{},
		"effect": map[string]any{"kind": "latency", "after": true, "latency": map[string]any{"distribution": "fixed", "fixed": "1ms"}}}), 422)
	e.want(t, e.do(t, "POST", "/__admin/faults", "", map[string]any{"match": map[string]any{}, "effect": map[string]any{"kind": "reset", "after": "yes"}}), 422)
	r := e.do(t, "POST", "/__admin/faults", "", map[string]any{"match": map[string]any{}, "effect": map[string]any{"kind": "hang", "after": true}})
	e.want(t, r, 201)
	if r.body["effect"].(map[string]any)["after"] != true {
		t.Errorf("rule as stored: %v", r.body)
	}
	list := e.do(t, "GET", "/__admin/faults", "", nil)
	if f := list.body["faults"].([]any)[0].(map[string]any); f["effect"].(map[string]any)["after"] != true {
		t.Errorf("rule as listed: %v", f)
	}
	e.want(t, e.do(t, "DELETE", "/__admin/faults/no-such-rule", "", nil), 404)
}

package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// twins are both twins with a client of each through the sync's transport
// (auth, and every request validated against its spec, strictly).
type twins struct {
	tw      *twintest.Twin
	clients map[string]*http.Client
	bases   map[string]string
}

func newTwins(t *testing.T) *twins {
	t.Helper()
	tw := twintest.New(t, twintest.Options{})
	id, secret := tw.M360Key()
	hl := transport.New(transport.Config{Auth: &transport.Bearer{Token: tw.PIT(), Location: tw.Location()},
		Specs: []*openapi.Spec{tw.HighLevelSpec()}, Strict: true, Clock: tw.Clock(), Base: tw.Base()})
	m := transport.New(transport.Config{Auth: &transport.Basic{ClientID: id, ClientSecret: secret},
		Specs: []*openapi.Spec{tw.M360Spec()}, Strict: true, Clock: tw.Clock(), Base: tw.Base()})
	return &twins{tw: tw, clients: map[string]*http.Client{APIHighLevel: hl.Client(), APIM360: m.Client()},
		bases: map[string]string{APIHighLevel: tw.HighLevelURL(), APIM360: tw.M360URL()}}
}

// call sends a request to an API and decodes its JSON answer into out,
// failing the test on an answer that is not 2xx.
func (w *twins) call(t *testing.T, api, method, path string, body any, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	w.send(t, api, method, path, r, out)
}

func (w *twins) send(t *testing.T, api, method, path string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, w.bases[api]+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if api == APIHighLevel {
		req.Header.Set("Version", "2021-07-28")
	}
	resp, err := w.clients[api].Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// do sends a planned action as the engine would.
func (w *twins) do(t *testing.T, a engine.RuleAction) {
	t.Helper()
	path := a.Path
	if len(a.Query) > 0 {
		path += "?" + a.Query.Encode()
	}
	var body io.Reader
	if a.Body != nil {
		body = bytes.NewReader(a.Body)
	}
	w.send(t, a.API, a.Method, path, body, nil)
}

// TestExamplesAgainstTheTwins: the three examples, on records the
// twins answer, plan requests the twins take (through the sync's
// transport, which validates each against its spec), with the effect the
// rule means.
func TestExamplesAgainstTheTwins(t *testing.T) {
	w := newTwins(t)
	var hl struct {
		Contact map[string]any `json:"contact"`
	}
	w.call(t, APIHighLevel, "POST", "/contacts/", map[string]any{"locationId": w.tw.Location(), "firstName": "Grace",
		"lastName": "Hopper", "email": "grace@example.com", "source": "webinar", "tags": []string{"lead", "vip"}}, &hl)
	hlID := hl.Contact["id"].(string)
	w.call(t, APIHighLevel, "GET", "/contacts/"+hlID, nil, &hl)
	var m struct {
		Result map[string]any `json:"result"`
	}
	w.call(t, APIM360, "POST", "/v1/contacts", map[string]any{"firstName": "Grace", "lastName": "Hopper",
		"email": "grace@example.com", "externalIds": map[string]any{"ghl": hlID}}, &m)
	m360ID := fmt.Sprint(m.Result["id"])
	var campaigns struct {
		Result []map[string]any `json:"result"`
	}
	w.call(t, APIM360, "GET", "/v1/campaigns", nil, &campaigns)
	if len(campaigns.Result) == 0 {
		t.Fatal("the twin has no campaign")
	}
	campaign := fmt.Sprint(campaigns.Result[0]["id"])

	examples, err := readFile("testdata/examples.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples = strings.Replace(examples, `campaignId: "42"`, `campaignId: "`+campaign+`"`, 1)
	s, err := load(t, Source{Name: "examples.yaml", Data: []byte(examples)})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(in engine.RuleInput, rule string) engine.RuleAction {
		t.Helper()
		actions, err := s.Plan(in)
		if err != nil || len(actions) != 1 || actions[0].Rule != rule {
			t.Fatalf("Plan = %+v, %v; want one action of %s", actions, err, rule)
		}
		return actions[0]
	}

	// A tag added -> the campaign triggered for the mapped contact.
	w.do(t, plan(engine.RuleInput{Trigger: "highlevel.ContactTagUpdate", Entity: engine.EntityContact, ID: hlID,
		Version: fmt.Sprint(hl.Contact["dateUpdated"]), Record: hl.Contact, Contact: hl.Contact, MappedContact: m.Result},
		"vip-webinar-campaign"))
	var triggers struct {
		Result []map[string]any `json:"result"`
	}
	w.call(t, APIM360, "GET", "/v1/campaigns/"+campaign+"/triggers", nil, &triggers)
	if len(triggers.Result) != 1 || fmt.Sprint(triggers.Result[0]["contactId"]) != m360ID {
		t.Errorf("campaign %s triggers: %+v, want contact %s", campaign, triggers.Result, m360ID)
	}

	// A task completed in Marketing 360 -> a note on the HighLevel contact.
	var task struct {
		Result map[string]any `json:"result"`
	}
	w.call(t, APIM360, "POST", "/v1/contacts/"+m360ID+"/tasks", map[string]any{"title": "Send the quote"}, &task)
	taskID := fmt.Sprint(task.Result["id"])
	w.call(t, APIM360, "PUT", "/v1/contacts/"+m360ID+"/tasks/"+taskID, map[string]any{"completed": true}, &task)
	w.do(t, plan(engine.RuleInput{Trigger: "m360.task.completed", Entity: engine.EntityTask, ID: taskID,
		Version: fmt.Sprint(task.Result["updated"]), Record: task.Result, Contact: m.Result, MappedContact: hl.Contact},
		"m360-task-done-note"))
	var notes struct {
		Notes []map[string]any `json:"notes"`
	}
	w.call(t, APIHighLevel, "GET", "/contacts/"+hlID+"/notes", nil, &notes)
	if len(notes.Notes) != 1 || notes.Notes[0]["body"] != "Done in Marketing 360: Send the quote" {
		t.Errorf("notes of %s: %+v", hlID, notes.Notes)
	}

	// A custom field's value -> the Marketing 360 contact with a mapped
	// field (the HighLevel contact as it reads with the field set).
	hl.Contact["customFields"] = []any{map[string]any{"id": "pipelineStage", "value": "won"}}
	w.do(t, plan(engine.RuleInput{Trigger: "highlevel.ContactUpdate", Entity: engine.EntityContact, ID: hlID,
		Version: "2", Record: hl.Contact, Contact: hl.Contact, MappedContact: m.Result}, "won-stage"))
	w.call(t, APIM360, "GET", "/v1/contacts/"+m360ID, nil, &m)
	if fields, _ := m.Result["customFields"].(map[string]any); fields["stage"] != "won" || fields["ghl"] != hlID ||
		m.Result["email"] != "grace@example.com" {
		t.Errorf("Marketing 360 contact: %+v", m.Result)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

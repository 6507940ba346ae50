package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
)

var (
	catOnce sync.Once
	cat     *Catalog
	catErr  error
)

func catalog(t testing.TB) *Catalog {
	t.Helper()
	catOnce.Do(func() { cat, catErr = DefaultCatalog() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

func load(t testing.TB, files ...Source) (*Set, error) {
	t.Helper()
	return Load(Options{Catalog: catalog(t)}, files...)
}

// loadExamples loads testdata/examples.yaml, the three example rules.
func loadExamples(t testing.TB) *Set {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "examples.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := load(t, Source{Name: "examples.yaml", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readJSON(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func event(t testing.TB, name string) engine.RuleInput {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := catalog(t).Event(b)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestDefaultSetIsTheFlows(t *testing.T) {
	s, err := load(t)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Flows()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, engine.DefaultFlows()) {
		t.Errorf("Flows() = %+v, want DefaultFlows()", f)
	}
	if sum := s.Summary(); sum.Rules != 7 || sum.Default != 7 || sum.Enabled != 7 {
		t.Errorf("summary %+v, want the 7 default rules", sum)
	}
	// The default file, given as a rule file, overrides each default rule
	// with its own texts: the engine's defaults.
	s, err = load(t, Source{Name: "mine.yaml", Data: Default()})
	if err != nil {
		t.Fatal(err)
	}
	f, _ = s.Flows()
	want := engine.DefaultFlows()
	want.FollowUp, want.WelcomeNote, want.OnboardingTasks = engine.DefaultFollowUp, engine.DefaultWelcomeNote, engine.DefaultOnboardingTasks
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Flows() = %+v, want %+v", f, want)
	}
	// No default rule is planned: the engine runs them.
	if actions, err := s.Plan(event(t, "highlevel-ContactTagUpdate.json")); err != nil || len(actions) != 0 {
		t.Errorf("Plan of the default set = %v, %v", actions, err)
	}
}

func TestTriggersAreTheWebhooksWithAnEntity(t *testing.T) {
	triggers := catalog(t).Triggers()
	if len(triggers) != 23 || !slices.Contains(triggers, "m360.task.deleted") || !slices.Contains(triggers, "highlevel.ContactTagUpdate") ||
		!slices.Contains(triggers, "m360.task.completed") || slices.Contains(triggers, "highlevel.AppUninstall") {
		t.Errorf("triggers: %v", triggers)
	}
}

func TestOverrideDefaultRules(t *testing.T) {
	base := engine.DefaultFlows()
	base.FollowUp = "From the config: {contact}"
	file := `rules:
  - name: notes
    enabled: false
  - name: onboarding
    do:
      - builtin: onboarding
        tasks: ["Call {{ .contact.name }} today"]
`
	s, err := Load(Options{Catalog: catalog(t), Flows: &base}, Source{Name: "mine.yaml", Data: []byte(file)})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := s.Flows()
	want := base
	want.Notes, want.OnboardingTasks = false, []string{"Call {contact} today"}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Flows() = %+v, want %+v", f, want)
	}
	// A rule file of the default file's name is a rule file all the same.
	s, err = Load(Options{Catalog: catalog(t), Flows: &base}, Source{Name: DefaultFile, Data: []byte(file)})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ = s.Flows(); !reflect.DeepEqual(f, want) {
		t.Errorf("Flows() of %s = %+v, want %+v", DefaultFile, f, want)
	}
}

func TestExamplesPlanTheirRequests(t *testing.T) {
	s := loadExamples(t)
	hl, m := readJSON(t, "highlevel-contact.json"), readJSON(t, "m360-contact.json")

	tag := event(t, "highlevel-ContactTagUpdate.json")
	tag.MappedContact = m
	task := event(t, "m360-task.completed.json")
	task.Contact, task.MappedContact = m, hl
	update := event(t, "highlevel-ContactUpdate.json")
	update.Record, update.Contact, update.MappedContact = hl, hl, m
	for _, tc := range []struct {
		name string
		in   engine.RuleInput
		want []engine.RuleAction
	}{
		{"tag added -> campaign", tag, []engine.RuleAction{{Rule: "vip-webinar-campaign", Action: "trigger",
			Key: "rule:vip-webinar-campaign:trigger:hlC0ntact000000000001:" + tag.Version, API: "m360",
			Operation: "m360-trigger-campaign", Method: "POST", Path: "/v1/campaigns/42/triggers", Body: []byte(`{"contactId":1001}`)}}},
		{"m360 task completed -> note", task, []engine.RuleAction{{Rule: "m360-task-done-note", Action: "note",
			Key: "rule:m360-task-done-note:note:5001:1793700000", API: "highlevel", Operation: "create-note", Method: "POST",
			Path: "/contacts/hlC0ntact000000000001/notes", Body: []byte(`{"body":"Done in Marketing 360: Send the quote"}`)}}},
		{"custom field -> mapped field", update, []engine.RuleAction{{Rule: "won-stage", Action: "mark-won",
			Key: "rule:won-stage:mark-won:hlC0ntact000000000001:2026-11-03T10:05:00.000Z", API: "m360",
			Operation: "m360-replace-contact", Method: "PUT", Path: "/v1/contacts/1001",
			Body: []byte(`{"customFields":{"ghl":"hlC0ntact000000000001","stage":"won"},"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","tags":["lead","vip"]}`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Plan(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan:\n got %+v\nwant %+v", got, tc.want)
				for _, a := range got {
					t.Logf("body %s", a.Body)
				}
			}
			for _, a := range got {
				checkAgainstSpec(t, a)
			}
		})
	}
	// The condition is false without the tag; the rules of other triggers
	// do not run.
	tag.Record = map[string]any{"id": "x", "tags": []any{"lead"}, "source": "webinar"}
	tag.Contact = tag.Record
	if got, err := s.Plan(tag); err != nil || len(got) != 0 {
		t.Errorf("Plan without the tag = %v, %v", got, err)
	}
}

func TestBrokenFilesNameTheirLine(t *testing.T) {
	rule := func(body string) string {
		return "rules:\n  - name: r\n" + body
	}
	for _, tc := range []struct {
		name, file string
		want       string // the problem's line:col: field: message, in part
	}{
		{"unknown event", rule("    on: [highlevel.ContactCreated]\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:3:10: rules[1](r).on: unknown event "highlevel.ContactCreated" (the triggers are ` + "`contactbridge sync catalog`'s" +
				`, prefixed by their API: highlevel.ContactCreate, m360.task.completed); did you mean highlevel.ContactCreate?`},
		{"unknown operation", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger\n"),
			`f.yaml:5:20: rules[1](r).do[1].operation: unknown operation "m360-trigger"`},
		{"unknown operation, close", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campain\n"),
			`f.yaml:5:20: rules[1](r).do[1].operation: unknown operation "m360-trigger-campain" (the actions are ` + "`contactbridge sync catalog`'s); did you mean m360-trigger-campaign?"},
		{"unknown field in condition", rule("    on: highlevel.ContactCreate\n    if: '\"vip\" in contact.tag'\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:4:26: rules[1](r).if: undefined field 'tag'`},
		{"condition not a bool", rule("    on: highlevel.ContactCreate\n    if: contact.email\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:4:9: rules[1](r).if: the condition is a string, not a bool`},
		{"condition type error", rule("    on: highlevel.ContactCreate\n    if: contact.tags == 3\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:4:22: rules[1](r).if: found no matching overload for '_==_'`},
		{"unknown field in template", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-create-contact\n        body: {email: \"{{ .contact.mail }}\"}\n"),
			`f.yaml:6:35: rules[1](r).do[1].body.email: unknown field mail in .contact (highlevel.Contact)`},
		{"unknown field of mapped contact", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campaign\n        params: {campaignId: \"1\"}\n        body: {contactId: \"{{ .m360.contact.uid }}\"}\n"),
			`f.yaml:7:36: rules[1](r).do[1].body.contactId: unknown field uid in .m360.contact (m360.Contact)`},
		{"missing required body field", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campaign\n        params: {campaignId: \"1\"}\n        body: {}\n"),
			`f.yaml:7:15: rules[1](r).do[1].body.contactId: required field contactId is not set`},
		{"missing body", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campaign\n        params: {campaignId: \"1\"}\n"),
			`f.yaml:5:9: rules[1](r).do[1].body: m360-trigger-campaign needs a body (required: contactId)`},
		{"unknown body field", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campaign\n        params: {campaignId: \"1\"}\n        body: {contactId: 1, campaign: 2}\n"),
			`f.yaml:7:30: rules[1](r).do[1].body.campaign: unknown field campaign of m360.TriggerInput`},
		{"missing path param", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: m360-trigger-campaign\n        body: {contactId: 1}\n"),
			`f.yaml:5:9: rules[1](r).do[1].params.campaignId: m360-trigger-campaign needs the path parameter campaignId`},
		{"unknown param", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: get-contact\n        params: {contactId: x, id: y}\n"),
			`f.yaml:6:32: rules[1](r).do[1].params.id: get-contact has no parameter "id"`},
		{"bad once", rule("    on: highlevel.ContactCreate\n    once: always\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:4:11: rules[1](r).once: "always" is neither per-change nor per-entity`},
		{"duplicate name", rule("    on: highlevel.ContactCreate\n    do: [{operation: get-contact, params: {contactId: x}}]\n  - name: r\n    on: highlevel.ContactCreate\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:5:11: rules[2](r).name: rule "r" is defined twice (first at f.yaml:2)`},
		{"YAML syntax", "rules:\n  - name: r\n    if: \"abc\n",
			`f.yaml:3:1: YAML: line 3: found unexpected end of stream`},
		{"bad name", "rules:\n  - name: My Rule\n    on: highlevel.ContactCreate\n", `f.yaml:2:11: rules[1].name: "My Rule" is not a name`},
		{"unknown rule field", rule("    on: highlevel.ContactCreate\n    when: x\n    do: [{operation: get-contact, params: {contactId: x}}]\n"),
			`f.yaml:4:5: rules[1].when: unknown field`},
		{"template syntax", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: get-contact\n        params: {contactId: \"{{ .contact.id \"}\n"),
			`f.yaml:6:29: rules[1](r).do[1].params.contactId: template: unclosed action`},
		{"template define", rule("    on: highlevel.ContactCreate\n    do:\n      - operation: get-contact\n        params: {contactId: '{{define \"x\"}}{{end}}'}\n"),
			`f.yaml:6:29: rules[1](r).do[1].params.contactId: template: {{ define }} is not supported`},
		{"builtin in a user rule", rule("    on: highlevel.ContactCreate\n    do: [{builtin: mirror-contact}]\n"),
			`f.yaml:4:20: rules[1](r).do[1].builtin: built-in steps belong to the default rules`},
		{"default rule's trigger", "rules:\n  - name: contacts\n    on: [highlevel.ContactDelete]\n",
			`f.yaml:3:5: rules[1](contacts).on: the on of a default rule is the engine's`},
		{"default rule's text", "rules:\n  - name: contacts\n    do:\n      - builtin: mirror-contact\n      - builtin: follow-up-task\n        title: \"Call {{ .contact.email }}\"\n",
			`f.yaml:6:16: rules[1](contacts).do[2].title: a built-in step's text can use {{ .contact.name }} only`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, Source{Name: "f.yaml", Data: []byte(tc.file)})
			var ps Problems
			if !errors.As(err, &ps) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want Problems", err)
			}
			for _, p := range ps {
				if strings.HasPrefix(p.String(), tc.want) {
					return
				}
			}
			t.Errorf("problems:\n%v\nwant one starting %q", err, tc.want)
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{"rules:\n  - name: r\n    on: highlevel.ContactCreate\n    if: contact.email != \"\"\n    do:\n      - operation: m360-create-contact\n        body: {email: \"{{ .contact.email }}\"}\n",
		"rules: [{name: contacts, enabled: false}]", "rules:\n  - name: x\n    on: [m360.task.completed]\n    do: [{operation: create-note, params: {contactId: \"{{ .highlevel.contact.id }}\"}, body: {body: \"{{ range .contact.tags }}{{ . }}{{ end }}\"}}]\n",
		"rules: &a [*a]", "rules:\n\t- x", ""} {
		f.Add([]byte(s))
	}
	f.Add(Default())
	c := catalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Load(Options{Catalog: c}, Source{Name: "f.yaml", Data: data})
		if err == nil {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("err = %v, want Problems", err)
		}
		for _, p := range ps {
			if p.File != "f.yaml" && p.File != DefaultFile || p.Line < 1 || p.Column < 1 {
				t.Fatalf("problem without a line: %+v", p)
			}
		}
	})
}

// checkAgainstSpec checks a planned request against its operation in the
// spec: the path matches the operation's route and the body its request
// schema.
func checkAgainstSpec(t *testing.T, a engine.RuleAction) {
	t.Helper()
	api, op, ok := catalog(t).operation(a.Operation)
	if !ok || api != a.API || op.Method != a.Method {
		t.Fatalf("%s: not an operation of %s", a.Operation, a.API)
	}
	req := httptest.NewRequest(a.Method, "http://127.0.0.1"+a.Path, nil)
	route, err := catalog(t).specs[api].FindRoute(req)
	if err != nil || route.Operation.ID != a.Operation {
		t.Errorf("%s %s routes to %v, %v; want %s", a.Method, a.Path, route, err, a.Operation)
	}
	var body any
	if err := json.Unmarshal(a.Body, &body); err != nil {
		t.Fatalf("body %s: %v", a.Body, err)
	}
	schema := op.Spec.RequestBody.Value.Content.Get("application/json").Schema.Value
	if err := schema.VisitJSON(body); err != nil {
		t.Errorf("body %s does not match %s's request schema: %v", a.Body, a.Operation, err)
	}
}

// planned is what a test checks of a planned action (its rule and action
// are in its key; its API and method follow from its operation).
type planned struct{ key, operation, path, body string }

// TestPlanOfOneRule: a rule file of one rule, planned for one change: the
// actions it plans and, for those it cannot, an ErrPlan that says why.
func TestPlanOfOneRule(t *testing.T) {
	tags := make([]any, 100)
	for i := range tags {
		tags[i] = fmt.Sprint("t", i)
	}
	c1 := map[string]any{"id": "c1"}
	many := map[string]any{"id": "c1", "tags": tags}
	m360 := map[string]any{"id": float64(12345678), "tags": []any{"a"}}
	blue := map[string]any{"id": float64(1001), "customFields": map[string]any{"favorite_color": "blue", "dnd": "true"}}
	for _, tc := range []struct {
		name, rule string
		in         engine.RuleInput
		want       []planned
		err        string // in the ErrPlan; "" for none
	}{
		{"a missing field fails its action only", `  - name: mail
    on: highlevel.ContactCreate
    do:
      - operation: m360-create-contact
        body: {email: "{{ .contact.email }}"}
      - operation: m360-create-contact
        body: {email: "fixed@example.com"}
`, engine.RuleInput{Trigger: "highlevel.ContactCreate", ID: "c1", Version: "v1", Record: c1, Contact: c1},
			[]planned{{"rule:mail:2:c1:v1", "m360-create-contact", "/v1/contacts", `{"email":"fixed@example.com"}`}},
			".contact.email is not set"},
		// additionalProperties maps take any key; lists of objects are
		// typed in comprehensions; has() tells a field the record lacks.
		{"custom fields and maps", `  - name: mapped-field
    on: m360.contact.updated
    if: 'contact.customFields["favorite_color"] == "blue" && !has(contact.email) && contact.id > 1000'
    do:
      - operation: update-contact
        params: {contactId: "{{ .highlevel.contact.id }}"}
        body: {source: "{{ .contact.customFields.favorite_color }}", dnd: "{{ .contact.customFields.dnd }}"}
`, engine.RuleInput{Trigger: "m360.contact.updated", ID: "1001", Version: "7", Record: blue, Contact: blue,
			MappedContact: map[string]any{"id": "hl/1"}},
			[]planned{{"rule:mapped-field:1:1001:7", "update-contact", "/contacts/hl%2F1", `{"dnd":true,"source":"blue"}`}}, ""},
		{"a condition's cost is bounded", `  - name: costly
    on: highlevel.ContactUpdate
    if: 'contact.tags.all(a, contact.tags.all(b, contact.tags.all(c, a + b + c != "")))'
    do:
      - operation: get-contact
        params: {contactId: "{{ .contact.id }}"}
`, engine.RuleInput{Trigger: "highlevel.ContactUpdate", ID: "c1", Version: "1", Record: many, Contact: many},
			nil, "cost limit"},
		{"templates print ids as integers", `  - name: note
    on: highlevel.ContactUpdate
    do:
      - operation: create-note
        params: {contactId: "{{ .contact.id }}"}
        body: {body: "Marketing 360 contact {{ .m360.contact.id }}, tags {{ json .m360.contact.tags }}"}
`, engine.RuleInput{Trigger: "highlevel.ContactUpdate", ID: "c1", Version: "1", Record: c1, Contact: c1, MappedContact: m360},
			[]planned{{"rule:note:1:c1:1", "create-note", "/contacts/c1/notes", `{"body":"Marketing 360 contact 12345678, tags [\"a\"]"}`}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := load(t, Source{Name: "r.yaml", Data: []byte("rules:\n" + tc.rule)})
			if err != nil {
				t.Fatal(err)
			}
			actions, err := s.Plan(tc.in)
			if tc.err == "" && err != nil || tc.err != "" && (!errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
			var got []planned
			for _, a := range actions {
				got = append(got, planned{a.Key, a.Operation, a.Path, string(a.Body)})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Plan:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	if _, ok := m360["id"].(float64); !ok {
		t.Error("Plan changed the caller's record")
	}
}

func TestPlanIsSafeForConcurrentUse(t *testing.T) {
	s := loadExamples(t)
	in := event(t, "highlevel-ContactTagUpdate.json")
	in.MappedContact = readJSON(t, "m360-contact.json")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if actions, err := s.Plan(in); err != nil || len(actions) != 1 {
					errs <- fmt.Errorf("Plan = %v, %v", actions, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

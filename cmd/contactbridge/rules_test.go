package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

const rulesTestdata = "../../sync/rules/testdata"

// readme is the project's README, whose examples the tests hold to.
const readme = "../../README.md"

// readmeRule is the README's first rule (Your first rule, step 1), as
// TestReadme_FirstRuleIsReadmeRule keeps it.
const readmeRule = "testdata/vip.yaml"

// runCode runs a command line and returns its exit status and output.
func runCode(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs strings.Builder
	code := Main(context.Background(), args, &out, &errs)
	return code, out.String(), errs.String()
}

func writeTestFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesCheck_ValidSetPrintsItsSummary(t *testing.T) {
	out := mustRun(t, "rules", "check", "--config", emptyConfig(t),
		filepath.Join(rulesTestdata, "examples.yaml"))
	for _, want := range []string{"vip-webinar-campaign  on", "m360-task-done-note", "won-stage",
		"ok: 10 rules (7 default, 3 yours; 10 on), 14 triggers, 11 actions"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestReadme_FirstRuleIsReadmeRule: the README's first rule is the text of
// readmeRule, which the tests run, indented as the list item has it.
func TestReadme_FirstRuleIsReadmeRule(t *testing.T) {
	var want strings.Builder
	want.WriteString("   ```yaml\n")
	for line := range strings.Lines(readString(t, readmeRule)) {
		if line != "\n" {
			want.WriteString("   ")
		}
		want.WriteString(line)
	}
	want.WriteString("   ```\n")
	if !strings.Contains(readString(t, readme), want.String()) {
		t.Errorf("README.md lacks %s as its first rule:\n%s", readmeRule, want.String())
	}
}

// TestRulesCheck_ReadmeFirstRulePrintsTheReadmeSummary: with the README's
// first rule in rules/ of the directory it runs from, rules check ends
// with the summary line the README shows.
func TestRulesCheck_ReadmeFirstRulePrintsTheReadmeSummary(t *testing.T) {
	rule, text := readString(t, readmeRule), readString(t, readme)
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules", "vip.yaml"), rule)
	t.Chdir(dir)
	out := strings.TrimSpace(mustRun(t, "rules", "check"))
	summary := out[strings.LastIndexByte(out, '\n')+1:]
	if !strings.HasPrefix(summary, "ok: ") || !strings.Contains(summary, "1 yours") {
		t.Fatalf("rules check ends with %q, want the summary of the default rules and the README's:\n%s", summary, out)
	}
	if !strings.Contains(text, "`"+summary+"`") {
		t.Errorf("README.md does not show rules check's summary `%s`", summary)
	}
}

func TestRulesCheck_ProblemsNameTheirLineAndExit1(t *testing.T) {
	bad := writeTestFile(t, filepath.Join(t.TempDir(), "bad.yaml"), `rules:
  - name: vip
    on: highlevel.ContactTagUpdate
    if: '"vip" in contact.tagz'
    do:
      - operation: m360-trigger-campaign
        params: {campaignId: "42"}
        body: {contact: "{{ .m360.contact.id }}"}
`)
	code, out, errs := runCode(t, "rules", "check", bad)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFailed, out, errs)
	}
	want := []string{
		bad + ":4:26: rules[1](vip).if: undefined field 'tagz'",
		bad + ":8:16: rules[1](vip).do[1].body.contact: unknown field contact of m360.TriggerInput (it has contactId)",
		bad + ":8:15: rules[1](vip).do[1].body.contactId: required field contactId is not set",
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if !strings.Contains(errs, "rules check: 3 problems") {
		t.Errorf("stderr: %s", errs)
	}
}

func TestRulesCheck_ConfiguredRules(t *testing.T) {
	dir := t.TempDir()
	config := writeTestFile(t, filepath.Join(dir, "contactbridge.yaml"), `sync:
  flows:
    followUp: "Call {contact}"
  rules:
    - name: notes
      enabled: false
    - name: welcome-campaign
      on: highlevel.ContactCreate
      do:
        - operation: m360-trigger-campaign
          params: {campaignId: "7"}
          body: {contactId: "{{ .m360.contact.id }}"}
`)
	writeTestFile(t, filepath.Join(dir, "rules", "tags.yaml"), `rules:
  - name: tag-note
    on: highlevel.ContactTagUpdate
    if: size(contact.tags) > 2
    do:
      - operation: create-note
        params: {contactId: "{{ .contact.id }}"}
        body: {body: "Tags: {{ json .contact.tags }}"}
`)
	out := mustRun(t, "rules", "check", "--config", config)
	if !strings.Contains(out, "\nnotes             off ") {
		t.Errorf("notes is not off:\n%s", out)
	}
	for _, want := range []string{"welcome-campaign", config + ":7", "tag-note",
		filepath.Join(dir, "rules", "tags.yaml") + ":2", "ok: 9 rules (7 default, 2 yours; 8 on)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// A mistake in the config's rules names the config file's line.
	bad := strings.Replace(readString(t, config), "m360-trigger-campaign", "m360-trigger-campain", 1)
	writeTestFile(t, config, bad)
	code, out, _ := runCode(t, "rules", "check", "--config", config)
	if code != exitFailed || !strings.Contains(out, config+`:10:22: rules[2](welcome-campaign).do[1].operation: unknown operation "m360-trigger-campain"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// sync run refuses to start on it, before it dials anything.
	code, out, errs := runCode(t, "sync", "run", "--config", config, "--db", filepath.Join(dir, "sync.db"),
		"--hl-location", "loc", "--hl-token", "tok", "--m360-client-id", "id", "--m360-client-secret", "secret")
	if code != exitFailed || !strings.Contains(errs, "the rules have problems") || !strings.Contains(errs, "m360-trigger-campain") {
		t.Errorf("sync run: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "sync.db")); err == nil {
		t.Error("sync run made its database before refusing the rules")
	}
}

// emptyConfig is a config file with no settings, so that a test does not
// read ./contactbridge.yaml.
func emptyConfig(t *testing.T) string {
	t.Helper()
	return writeTestFile(t, filepath.Join(t.TempDir(), "contactbridge.yaml"), "{}\n")
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRulesTest_ShowsMatchesAndRequests(t *testing.T) {
	out := mustRun(t, "rules", "test", "--config", emptyConfig(t),
		"--rules", filepath.Join(rulesTestdata, "examples.yaml"),
		"--event", filepath.Join(rulesTestdata, "highlevel-ContactTagUpdate.json"),
		"--mapped", filepath.Join(rulesTestdata, "m360-contact.json"))
	for _, want := range []string{
		"event highlevel.ContactTagUpdate on contact hlC0ntact000000000001",
		"+ contacts: a default rule: the engine runs its steps (mirror-contact, follow-up-task)",
		"- onboarding: not matched: its triggers are highlevel.ContactCreate, not highlevel.ContactTagUpdate",
		"+ vip-webinar-campaign: matched\n" +
			`    if "vip" in contact.tags && contact.source == "webinar"  =>  true` + "\n" +
			"    action trigger: Marketing 360 POST /v1/campaigns/42/triggers (m360-trigger-campaign)\n" +
			`      {"contactId":1001}` + "\n" +
			"      effect key rule:vip-webinar-campaign:trigger:hlC0ntact000000000001:2026-11-03T10:00:00.000Z\n",
		"3 of 10 rules match; nothing was sent",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRulesTest_ReplayFromTheInbox(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sync.db")
	ctx := context.Background()
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := readString(t, filepath.Join(rulesTestdata, "m360-task.completed.json"))
	if _, err := db.InsertInbox(ctx, state.InboxEvent{Source: state.SourceM360Webhook, EventID: "wh-m360-1", Tenant: "900",
		Type: "task.completed", EntityKind: "task", EntityID: "5001", ReceivedAt: time.Unix(1793700000, 0), Body: []byte(body),
		State: state.InboxPlanned}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateMapping(ctx, state.Mapping{Kind: "contact", Tenant: "loc0000000000000000001", HLID: "hlC0ntact000000000001", M360ID: "1001",
		Origin: "hl", UpdatedAt: time.Unix(1793700000, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	config := writeTestFile(t, filepath.Join(dir, "contactbridge.yaml"), "sync:\n  highlevel: {location: loc0000000000000000001}\n")
	out := mustRun(t, "rules", "test", "--config", config, "--db", path, "--replay", "wh-m360-1",
		"--rules", filepath.Join(rulesTestdata, "examples.yaml"), "--json")
	var got struct {
		Trigger string `json:"trigger"`
		Rules   []struct {
			Rule    string `json:"rule"`
			Matched bool   `json:"matched"`
			Actions []struct {
				Path string          `json:"path"`
				Body json.RawMessage `json:"body"`
			} `json:"actions"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, r := range got.Rules {
		if r.Rule != "m360-task-done-note" {
			continue
		}
		var body bytes.Buffer
		if len(r.Actions) == 1 {
			_ = json.Compact(&body, r.Actions[0].Body)
		}
		if !r.Matched || len(r.Actions) != 1 || r.Actions[0].Path != "/contacts/hlC0ntact000000000001/notes" ||
			body.String() != `{"body":"Done in Marketing 360: Send the quote"}` {
			t.Errorf("m360-task-done-note: %+v\n%s", r, out)
		}
		return
	}
	t.Errorf("no m360-task-done-note in:\n%s", out)
}

func TestRulesTest_Usage(t *testing.T) {
	if code, _, errs := runCode(t, "rules", "test"); code != exitUsage || !strings.Contains(errs, "--event FILE or --replay") {
		t.Errorf("exit %d: %s", code, errs)
	}
	notHook := writeTestFile(t, filepath.Join(t.TempDir(), "x.json"), `{"hello":"world"}`)
	if code, _, errs := runCode(t, "rules", "test", "--event", notHook); code != exitUsage || !strings.Contains(errs, "the body has no type") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// TestUp_RefusesInvalidRules: up checks ./rules before it starts the twins.
func TestUp_RefusesInvalidRules(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules", "bad.yaml"), "rules:\n  - name: x\n    on: highlevel.Nothing\n    do: [{operation: get-contact, params: {contactId: a}}]\n")
	t.Chdir(dir)
	code, out, errs := runCode(t, "up", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0")
	want := filepath.Join("rules", "bad.yaml") + `:3:9: rules[1](x).on: unknown event "highlevel.Nothing"`
	if code != exitFailed || !strings.Contains(errs, want) || strings.Contains(out, "http://") {
		t.Errorf("up: exit %d, want %d and %q\n%s%s", code, exitFailed, want, out, errs)
	}
}

// TestRunnableRules_RuleFileOverFlowsOverDefaults: what sync run runs is a
// rule file's change of a default rule, else sync.flows, else the default.
func TestRunnableRules_RuleFileOverFlowsOverDefaults(t *testing.T) {
	dir := t.TempDir()
	config := writeTestFile(t, filepath.Join(dir, "contactbridge.yaml"), `sync:
  flows:
    followUp: "From the config: {contact}"
    welcomeNote: "Hello {contact}"
    onboarding: false
  rulesDir: mine
`)
	writeTestFile(t, filepath.Join(dir, "mine", "flows.yaml"), `rules:
  - name: contacts
    do:
      - builtin: mirror-contact
      - builtin: follow-up-task
        title: "From the rules: {{ .contact.name }}"
  - name: m360-tasks
    enabled: false
`)
	cfg, err := loadSyncConfig(newSyncRunCmd(io.Discard, io.Discard).Flags(), config, func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	f, userRules, err := runnableRules(context.Background(), cfg, config)
	if err != nil {
		t.Fatal(err)
	}
	if userRules != nil {
		t.Errorf("rules %v for a file that only changes default rules, want none (the flows alone)", userRules)
	}
	if f.FollowUp != "From the rules: {contact}" || f.WelcomeNote != "Hello {contact}" || f.Onboarding || f.M360Tasks ||
		!f.Contacts || !f.Notes || !f.Tasks {
		t.Errorf("flows %+v", f)
	}
}

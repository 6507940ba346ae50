package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
)

// childArgsEnv, when set, makes the test binary run its command line (one
// argument a line) as contactbridge does, instead of the tests: the
// process the SIGKILL test kills.
const childArgsEnv = "CONTACTBRIDGE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		os.Exit(Main(context.Background(), strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncTwins are twins (mock, in process, empty, real clock, no limits)
// for the sync's commands.
type syncTwins struct {
	hlURL, m360URL, location, token, m360ID, m360Secret string
}

func startSyncTwins(t *testing.T) syncTwins {
	t.Helper()
	banner := startMock(t, "--seed", "1", "--empty", "--clock", "real", "--no-limits", "--log-level", "error")
	field := func(re string) string { return bannerField(t, banner, re)[0] }
	urls := bannerField(t, banner, `base URL +(http://\S+)`)
	return syncTwins{hlURL: urls[0], m360URL: strings.TrimSuffix(urls[1], "/v1"), location: field(`location +(\S+)`),
		token: field(`token +(pit-\S+)`), m360ID: field(`client id (m360_\S+)`), m360Secret: field(`client secret (\S+)`)}
}

// flags are the sync's flags for the twins, its database db and config
// file config.
func (w syncTwins) flags(db, config string) []string {
	return []string{"--config", config, "--db", db, "--hl-base-url", w.hlURL, "--hl-location", w.location, "--hl-token", w.token,
		"--m360-base-url", w.m360URL, "--m360-client-id", w.m360ID, "--m360-client-secret", w.m360Secret, "--log-level", "error"}
}

// syncFile writes a config file of the sync's queue settings: short
// timeouts, so that a job whose process died is rescued in seconds.
func syncFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contactbridge.yaml")
	if err := os.WriteFile(path, []byte("sync:\n  reconcileEvery: -1s\n  queue: {jobTimeout: 10s, rescueAfter: 12s, staleAfter: 12s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// createContacts creates n HighLevel contacts and returns their ids.
func (w syncTwins) createContacts(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		body := fmt.Sprintf(`{"locationId":%q,"firstName":"Ada%d","lastName":"Lovelace","email":"ada%d@example.com"}`, w.location, i, i)
		req, err := http.NewRequest(http.MethodPost, w.hlURL+"/contacts/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+w.token)
		req.Header.Set("Version", "2021-07-28")
		req.Header.Set("Content-Type", "application/json")
		var out struct{ Contact struct{ ID string } }
		if status := doJSON(t, req, &out); status != http.StatusCreated {
			t.Fatalf("create contact: %d", status)
		}
		ids = append(ids, out.Contact.ID)
	}
	return ids
}

func doJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: %d: %v", req.Method, req.URL, res.StatusCode, err)
	}
	return res.StatusCode
}

// counterparts counts, for each HighLevel contact, the Marketing 360
// contacts carrying its id, and their tasks and notes, from the twins'
// state: "contacts tasks notes" ("1 3 1" when synced once).
func (w syncTwins) counterparts(t *testing.T, ids []string) map[string]string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.hlURL+"/__admin/state", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st store.State
	if status := doJSON(t, req, &st); status != http.StatusOK {
		t.Fatalf("export: %d", status)
	}
	contacts, tasks, notes := map[string]int{}, map[int64]int{}, map[int64]int{}
	owner := map[string]int64{}
	for _, c := range st.M360Contacts {
		contacts[c.ExternalIDs.GHL]++
		owner[c.ExternalIDs.GHL] = c.ID
	}
	for _, tk := range st.M360Tasks {
		tasks[tk.ContactID]++
	}
	for _, n := range st.M360Notes {
		notes[n.ContactID]++
	}
	out := map[string]string{}
	for _, id := range ids {
		out[id] = fmt.Sprint(contacts[id], tasks[owner[id]], notes[owner[id]])
	}
	return out
}

// mustRun runs a command line and returns its stdout, failing the test on
// an exit status other than 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs strings.Builder
	if code := Main(context.Background(), args, &out, &errs); code != exitOK {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errs.String())
	}
	return out.String()
}

// TestReadme_SyncConfigExampleLoads: the README's example of the sync:
// section is a config file sync run takes (a key it does not know would
// be an error), and the flows it shows are the defaults.
func TestReadme_SyncConfigExampleLoads(t *testing.T) {
	t.Parallel()
	_, rest, found := strings.Cut(readString(t, readme), "```yaml\nsync:\n")
	example, _, closed := strings.Cut(rest, "```")
	if !found || !closed {
		t.Fatal("README.md has no example of the sync: section")
	}
	path := writeTestFile(t, filepath.Join(t.TempDir(), "contactbridge.yaml"), "sync:\n"+example)
	cfg, err := loadSyncConfig(newSyncRunCmd(io.Discard, io.Discard).Flags(), path, func() []string { return nil })
	if err != nil {
		t.Fatalf("the README's sync: example: %v\n%s", err, example)
	}
	got, want := cfg.Flows, defaultSyncConfig().Flows
	if len(got.CampaignRules) == 0 && len(want.CampaignRules) == 0 { // [] in the file, none by default
		got.CampaignRules, want.CampaignRules = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the README's flows %+v, want the defaults %+v", got, want)
	}
	if !slices.Equal(cfg.HighLevel.Calendars, []string{"CAL"}) || cfg.Queue.Workers != 32 {
		t.Errorf("the README's example read as %+v", cfg)
	}
}

// TestSyncConfig_FlagsBeatEnvironmentBeatFileBeatDefaults: the sync:
// section's precedence, as mock's; mock takes a file with a sync: section
// and the sync commands refuse a setting that does not exist.
func TestSyncConfig_FlagsBeatEnvironmentBeatFileBeatDefaults(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "contactbridge.yaml")
	file := "seed: 3\nsync:\n  db: file.db\n  listen: 127.0.0.1:9790\n  reconcileEvery: 2m\n  highlevel: {location: loc-file, token: pit-file}\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newSyncRunCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags([]string{"--db", "flag.db"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadSyncConfig(cmd.Flags(), path, func() []string {
		return []string{"CONTACTBRIDGE_SYNC__HIGHLEVEL__LOCATION=loc-env", "CONTACTBRIDGE_SYNC__BACKFILL__SHARE=0.25", "CONTACTBRIDGE_SEED=9"}
	})
	switch {
	case err != nil:
		t.Fatal(err)
	case cfg.DB != "flag.db":
		t.Errorf("db %q: the flag must beat the file", cfg.DB)
	case cfg.HighLevel.Location != "loc-env" || cfg.Backfill.Share != 0.25:
		t.Errorf("location %q, share %v: the environment must beat the file and the defaults", cfg.HighLevel.Location, cfg.Backfill.Share)
	case cfg.HighLevel.Token != "pit-file" || cfg.Listen != "127.0.0.1:9790" || cfg.ReconcileEvery.Std() != 2*time.Minute:
		t.Errorf("the file's settings lost: %+v", cfg)
	case cfg.Flows.FollowUp != "Follow up: {contact}" || !cfg.Flows.Onboarding || cfg.Credentials != defaultCredentials:
		t.Errorf("defaults lost: %+v", cfg)
	}
	if m, err := mockConfigOf(t, file, nil); err != nil || m.Seed != 3 {
		t.Errorf("mock with a sync: section: seed %d, %v", m.Seed, err)
	}
	printed := mustRun(t, "sync", "run", "--config", path, "--print-config", "--follow-up", "Call {contact}")
	for _, want := range []string{"sync:", "db: file.db", "followUp: Call {contact}", "reconcileEvery: 2m0s"} {
		if !strings.Contains(printed, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, printed)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("sync:\n  bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var errs strings.Builder
	if code := Main(context.Background(), []string{"sync", "status", "--config", bad}, io.Discard, &errs); code != exitUsage ||
		!strings.Contains(errs.String(), `"bogus"`) {
		t.Errorf("a bad setting: exit %d, %s", code, errs.String())
	}
	if code := Main(context.Background(), []string{"sync", "replay", "--config", path}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("replay of nothing: exit %d; want %d", code, exitUsage)
	}
}

// TestSyncConfig_FlowsAndCampaignRulesReachTheEngine: every flow is on by
// default, as engine.DefaultFlows has them; the file switches one off and
// defines a campaign rule, and the running sync's config has both; the
// calendars the reconcile polls come from the file, or the flags.
func TestSyncConfig_FlowsAndCampaignRulesReachTheEngine(t *testing.T) {
	t.Parallel()
	cfg, err := loadSyncConfig(newSyncRunCmd(io.Discard, io.Discard).Flags(), "", func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfg.runConfig()
	if err != nil {
		t.Fatal(err)
	}
	def := engine.DefaultFlows()
	if got := rc.Flows; got.Contacts != def.Contacts || got.Onboarding != def.Onboarding || got.M360Tasks != def.M360Tasks ||
		got.Notes != def.Notes || got.Appointments != def.Appointments || got.Tasks != def.Tasks || got.Campaigns != def.Campaigns {
		t.Errorf("default flows %+v; want engine.DefaultFlows %+v", got, def)
	}
	path := filepath.Join(t.TempDir(), "contactbridge.yaml")
	file := "sync:\n  highlevel: {calendars: [cal-file]}\n  flows:\n    m360Tasks: false\n    campaignRules:\n      - {name: vip, campaign: 7, on: tag-added, tag: vip}\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newSyncRunCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags([]string{"--flow-notes=false"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = loadSyncConfig(cmd.Flags(), path, func() []string { return nil }); err != nil {
		t.Fatal(err)
	}
	if rc, err = cfg.runConfig(); err != nil {
		t.Fatal(err)
	}
	want := []engine.CampaignRule{{Name: "vip", Campaign: 7, On: engine.RuleTagAdded, Tag: "vip"}}
	if f := rc.Flows; f.M360Tasks || f.Notes || !f.Tasks || !f.Campaigns || !slices.Equal(f.CampaignRules, want) {
		t.Errorf("flows from the file and flags: %+v", f)
	}
	if !slices.Equal(rc.HighLevel.Calendars, []string{"cal-file"}) {
		t.Errorf("calendars from the file: %q", rc.HighLevel.Calendars)
	}
	cmd = newSyncRunCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags([]string{"--hl-calendar", "cal-a", "--hl-calendar", "cal-b"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err = loadSyncConfig(cmd.Flags(), path, func() []string { return nil }); err != nil {
		t.Fatal(err)
	}
	if rc, err = cfg.runConfig(); err != nil || !slices.Equal(rc.HighLevel.Calendars, []string{"cal-a", "cal-b"}) {
		t.Errorf("calendars from the flags: %q, %v", rc.HighLevel.Calendars, err)
	}
}

// TestSyncCommands_ReconcileStatusBackfillReplayCatalog: reconcile
// --dry-run lists the contacts Marketing 360 lacks and enqueues nothing;
// reconcile enqueues their repairs, which status shows; backfill works them
// and exits; afterwards there is no difference, and replay enqueues the
// stored events' jobs again without making anything twice.
func TestSyncCommands_ReconcileStatusBackfillReplayCatalog(t *testing.T) {
	t.Parallel()
	w := startSyncTwins(t)
	ids := w.createContacts(t, 3)
	flags := w.flags(filepath.Join(t.TempDir(), "sync.db"), syncFile(t))
	cmd := func(args ...string) []string { return append(args, flags...) }

	out := mustRun(t, cmd("sync", "reconcile", "--dry-run")...)
	if strings.Count(out, "missing in Marketing 360") != 3 || !strings.Contains(out, "3 differences (dry run") {
		t.Fatalf("reconcile --dry-run:\n%s", out)
	}
	if out := mustRun(t, cmd("sync", "reconcile")...); !strings.Contains(out, "3 repairs enqueued") {
		t.Fatalf("reconcile:\n%s", out)
	}
	var st syncStatus
	if err := json.Unmarshal([]byte(mustRun(t, cmd("sync", "status", "--json")...)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Queue["converge/available"] != 3 || st.Drift == nil || st.Drift.Differences != 3 || st.Drift.Repairs != 3 || st.LagSeconds <= 0 {
		t.Fatalf("status: %+v", st)
	}
	if out := mustRun(t, cmd("sync", "backfill", "--listen", "127.0.0.1:0")...); !strings.Contains(out, "backfill done: ") {
		t.Fatalf("backfill:\n%s", out)
	}
	for id, got := range w.counterparts(t, ids) {
		if got != "1 3 1" {
			t.Errorf("contact %s: Marketing 360 contacts, tasks, notes %s; want 1 3 1", id, got)
		}
	}
	if out := mustRun(t, cmd("sync", "reconcile", "--dry-run")...); !strings.Contains(out, "0 differences") {
		t.Errorf("after the backfill:\n%s", out)
	}
	out = mustRun(t, cmd("sync", "replay", "--since", "1h")...)
	m := regexp.MustCompile(`replayed (\d+) events: (\d+) jobs enqueued`).FindStringSubmatch(out)
	if n, err := strconv.Atoi(m[min(len(m)-1, 1)]); m == nil || m[1] != m[2] || err != nil || n < 3 {
		t.Errorf("replay: %s; want every stored event's job, at least the 3 contacts'", out)
	}
	if out := mustRun(t, cmd("sync", "status")...); !strings.Contains(out, "converge/available") || !strings.Contains(out, "backfill:hl:") {
		t.Errorf("status:\n%s", out)
	}

	want := 0
	for _, load := range []func(context.Context, string) (*openapi.Spec, error){openapi.LoadHighLevel, openapi.LoadMarketing360} {
		spec, err := load(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		want += len(spec.Operations())
	}
	if out := mustRun(t, "sync", "catalog"); !strings.Contains(out, fmt.Sprintf("In all: %d actions and ", want)) || !strings.Contains(out, "ContactCreate") {
		t.Errorf("catalog:\n%s", out)
	}
}

// child starts the test binary as `contactbridge args...`.
func child(t *testing.T, stdout, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\n"))
	c.Stdout, c.Stderr = stdout, stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// createChildren gives each HighLevel contact of ids a task and a note.
func (w syncTwins) createChildren(t *testing.T, ids []string) {
	t.Helper()
	for _, id := range ids {
		for _, c := range []struct{ path, body string }{
			{"/tasks", `{"title":"Call","body":"About the quote","dueDate":"2027-01-04T09:00:00Z","completed":false}`},
			{"/notes", `{"body":"Likes tea"}`},
		} {
			req, err := http.NewRequest(http.MethodPost, w.hlURL+"/contacts/"+id+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+w.token)
			req.Header.Set("Version", "2021-07-28")
			req.Header.Set("Content-Type", "application/json")
			var out map[string]any
			if status := doJSON(t, req, &out); status != http.StatusCreated {
				t.Fatalf("create %s of %s: %d %v", c.path, id, status, out)
			}
		}
	}
}

// TestSyncBackfill_SIGKILLMidBackfillLosesAndDuplicatesNothing runs `sync
// backfill` as a process on contacts with a task and a note each, kills it
// with SIGKILL once some contacts are synced with their task and note (the
// walk of the children's stream done or under way, their jobs partly
// worked), and runs it again on the same database: afterwards each
// HighLevel contact has one Marketing 360 contact with its flows' 3 tasks
// and note, its task and its note. (About 30 s: River rescues the killed
// process's jobs after the rescue delay, and a new leader is elected once
// the dead one's lease ends.)
func TestSyncBackfill_SIGKILLMidBackfillLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s: a process killed and its jobs rescued")
	}
	t.Parallel()
	w := startSyncTwins(t)
	const n = 40
	ids := w.createContacts(t, n)
	w.createChildren(t, ids)
	const whole = "1 4 2"
	wholes := func() int {
		k := 0
		for _, c := range w.counterparts(t, ids) {
			if c == whole {
				k++
			}
		}
		return k
	}
	args := append([]string{"sync", "backfill", "--listen", "127.0.0.1:0"}, w.flags(filepath.Join(t.TempDir(), "sync.db"), syncFile(t))...)

	var out1, err1 bytes.Buffer
	first := child(t, &out1, &err1, args...)
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	synced := 0
	for synced < 3 {
		select {
		case <-tick.C:
			synced = wholes()
		case err := <-exited:
			t.Fatalf("the backfill exited (%v) before it was killed:\n%s%s", err, out1.String(), err1.String())
		case <-deadline:
			t.Fatalf("nothing synced in time:\n%s", err1.String())
		}
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if synced >= n {
		t.Fatalf("all %d synced before the kill; the test needs more contacts", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out2, err2 bytes.Buffer
	second := child(t, &out2, &err2, args...)
	go func() {
		<-ctx.Done()
		_ = second.Process.Kill()
	}()
	if err := second.Wait(); err != nil || !strings.Contains(out2.String(), "backfill done") {
		t.Fatalf("the second backfill: %v\n%s%s", err, out2.String(), err2.String())
	}
	got := w.counterparts(t, ids)
	lost, dup := 0, 0
	for _, id := range ids {
		var contacts, tasks, notes int
		if _, err := fmt.Sscan(got[id], &contacts, &tasks, &notes); err != nil {
			t.Fatal(err)
		}
		switch {
		case got[id] == whole:
		case contacts == 0 || contacts == 1 && tasks <= 4 && notes <= 2:
			lost++
			t.Errorf("contact %s: Marketing 360 contacts, tasks, notes %s: lost", id, got[id])
		default:
			dup++
			t.Errorf("contact %s: Marketing 360 contacts, tasks, notes %s: duplicated", id, got[id])
		}
	}
	t.Logf("killed after %d of %d synced; lost %d, duplicated %d", synced, n, lost, dup)
}

package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

// parkedRuleDB is a sync database whose ledger holds, for rule "lead", one
// action done and one parked by a 404, as a running sync leaves them.
func parkedRuleDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sync.db")
	ctx := context.Background()
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for _, id := range []string{"c1", "c2"} {
		job := `{"rule":"lead","action":"1","trigger":"highlevel.ContactCreate","api":"m360","operation":"m360-trigger-campaign",` +
			`"method":"POST","path":"/v1/campaigns/9/triggers","job":{"side":"hl","kind":"contact","tenant":"loc","id":"` + id + `"}}`
		key := "rule:lead:1:" + id
		if _, err := db.PlanEffect(ctx, state.Effect{Key: key, Flow: "rule:lead", Target: "m360", Tenant: "loc",
			Lane: "rule:hl:contact:loc:" + id, Op: "m360-trigger-campaign", Request: []byte(job)}, now); err != nil {
			t.Fatal(err)
		}
		if err := db.StartEffect(ctx, key, now); err != nil {
			t.Fatal(err)
		}
		if id == "c1" {
			err = db.CompleteEffect(ctx, key, "9:1", 201, now)
		} else {
			err = db.FailEffect(ctx, key, state.Failure{Status: 404, Err: `engine: m360 answered 404: {"error":"no such campaign"}`, Dead: true}, now)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestSyncStatusAndReplayByRule: sync status shows each rule's actions
// done, parked (with the last error) and pending, as a table and as JSON;
// sync replay --rule puts the parked ones back to pending and enqueues
// their entities' jobs, once.
func TestSyncStatusAndReplayByRule(t *testing.T) {
	t.Parallel()
	w := syncTwins{hlURL: "http://127.0.0.1:1", m360URL: "http://127.0.0.1:1", location: "loc", token: "pit-x", m360ID: "m360_x", m360Secret: "s"}
	flags := w.flags(parkedRuleDB(t), syncFile(t))
	cmd := func(args ...string) []string { return append(args, flags...) }
	status := func() statusRule {
		t.Helper()
		var st syncStatus
		if err := json.Unmarshal([]byte(mustRun(t, cmd("sync", "status", "--json")...)), &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Rules) != 1 {
			t.Fatalf("status rules %+v, want lead's", st.Rules)
		}
		return st.Rules[0]
	}
	if r := status(); r.Rule != "lead" || r.Done != 1 || r.Parked != 1 || r.Pending != 0 || r.LastStatus != 404 ||
		!strings.Contains(r.LastError, "no such campaign") {
		t.Errorf("status of lead %+v; want 1 done, 1 parked by its 404", r)
	}
	if out := mustRun(t, cmd("sync", "status")...); !strings.Contains(out, "RULE") || !strings.Contains(out, "no such campaign") {
		t.Errorf("status:\n%s", out)
	}
	if out := mustRun(t, cmd("sync", "replay", "--rule", "lead")...); !strings.Contains(out, "replayed 1 parked actions of rule \"lead\"") {
		t.Errorf("replay --rule:\n%s", out)
	}
	var st syncStatus
	if err := json.Unmarshal([]byte(mustRun(t, cmd("sync", "status", "--json")...)), &st); err != nil {
		t.Fatal(err)
	}
	if r := st.Rules[0]; r.Parked != 0 || r.Pending != 1 || st.Queue["converge/available"] != 1 {
		t.Errorf("after the replay: rule %+v, queue %v; want 1 pending and its job", r, st.Queue)
	}
	if out := mustRun(t, cmd("sync", "replay", "--rule", "lead")...); !strings.Contains(out, "no parked actions") {
		t.Errorf("a second replay --rule:\n%s", out)
	}
	var out, errs strings.Builder
	if code := Main(context.Background(), cmd("sync", "replay", "--rule", "lead", "--since", "1h"), &out, &errs); code == exitOK ||
		!strings.Contains(errs.String(), "one of them") {
		t.Errorf("replay with --rule and --since: exit %d\n%s", code, errs.String())
	}
}

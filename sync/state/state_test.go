package state_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/state"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// MustOpen opens a new database in a temporary directory.
func MustOpen(tb testing.TB) *state.DB {
	tb.Helper()
	db, err := state.Open(context.Background(), filepath.Join(tb.TempDir(), "sync.db"), state.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpen_MigratesOnceAndKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCursor(ctx, state.Cursor{Stream: "hl:contacts", Tenant: "loc", Value: "v1", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	var sync, fk int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous %d (%v), want 1 (NORMAL)", sync, err)
	}
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d (%v), want 1", fk, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer db.Close()
	c, err := db.Cursor(ctx, "hl:contacts")
	if err != nil || c.Value != "v1" || !c.UpdatedAt.Equal(t0) {
		t.Errorf("cursor after reopen: %+v, %v", c, err)
	}
}

func TestOpen_RefusesAPathThatIsNotAFile(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"a?mode=memory", "b#c"} {
		if db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), p), state.Options{}); err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) opened", p)
		}
	}
}

// TestPlanInbox: the events still new of one entity, received up to the
// time given, are planned; later ones, other entities' (another kind, id or
// tenant) and events in another state are left as they are.
func TestPlanInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	rows := []struct {
		id, tenant, kind, entity, state string
		at                              time.Duration
		planned                         bool
	}{
		{"a", "loc", "contact", "c1", state.InboxNew, 0, true},
		{"b", "loc", "contact", "c1", state.InboxNew, 2 * time.Second, true},
		{"c", "loc", "contact", "c1", state.InboxNew, 2*time.Second + time.Millisecond, false},
		{"d", "loc", "contact", "c2", state.InboxNew, 0, false},
		{"e", "loc", "task", "c1", state.InboxNew, 0, false},
		{"f", "other", "contact", "c1", state.InboxNew, 0, false},
		{"g", "loc", "contact", "c1", state.InboxIgnored, 0, false},
	}
	for _, r := range rows {
		if _, err := db.InsertInbox(ctx, state.InboxEvent{Source: state.SourceHighLevelWebhook, EventID: r.id, Tenant: r.tenant,
			Type: "ContactUpdate", EntityKind: r.kind, EntityID: r.entity, ReceivedAt: t0.Add(r.at), Body: []byte(`{}`), State: r.state}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.PlanInbox(ctx, "contact", "loc", "c1", t0.Add(2*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("PlanInbox = %d, %v; want 2", n, err)
	}
	for _, r := range rows {
		got, err := db.InboxEvent(ctx, state.SourceHighLevelWebhook, r.id)
		want := r.state
		if r.planned {
			want = state.InboxPlanned
		}
		if err != nil || got.State != want {
			t.Errorf("event %s: %q (%v), want %q", r.id, got.State, err, want)
		}
	}
}

func TestInbox_StoresOnceAndLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	ev := state.InboxEvent{Source: state.SourceHighLevelWebhook, EventID: "wh-1", Tenant: "loc", Type: "ContactCreate",
		EntityKind: "contact", EntityID: "c1", ReceivedAt: t0, Body: []byte(`{"a":1}`), State: state.InboxNew}
	for i, want := range []bool{true, false} {
		ev.Body = append([]byte(nil), ev.Body...)
		got, err := db.InsertInbox(ctx, ev)
		if err != nil || got != want {
			t.Fatalf("insert %d: inserted %v (%v), want %v", i, got, err, want)
		}
		ev.Type = "changed" // a duplicate leaves the stored row alone
	}
	other := ev
	other.Source, other.Type = state.SourceM360Webhook, "contact.created"
	if ok, err := db.InsertInbox(ctx, other); err != nil || !ok {
		t.Fatalf("same id from another source: %v %v", ok, err)
	}
	got, err := db.InboxEvent(ctx, state.SourceHighLevelWebhook, "wh-1")
	if err != nil || got.Type != "ContactCreate" || string(got.Body) != `{"a":1}` || !got.ReceivedAt.Equal(t0) {
		t.Errorf("stored %+v, %v", got, err)
	}
	if err := db.SetInboxState(ctx, state.SourceHighLevelWebhook, "wh-1", state.InboxPlanned); err != nil {
		t.Fatal(err)
	}
	if err := db.SetInboxState(ctx, state.SourceHighLevelWebhook, "nope", state.InboxPlanned); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("set state of a missing event: %v, want ErrNotFound", err)
	}
	if _, err := db.InboxEvent(ctx, "x", "y"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("missing event: %v", err)
	}
	list, err := db.InboxEvents(ctx, state.InboxFilter{State: state.InboxPlanned})
	if err != nil || len(list) != 1 || list[0].EventID != "wh-1" {
		t.Errorf("planned events: %+v, %v", list, err)
	}
	list, err = db.InboxEvents(ctx, state.InboxFilter{EntityID: "c1"})
	if err != nil || len(list) != 2 {
		t.Errorf("events of c1: %d, %v", len(list), err)
	}
}

func TestTx_RollsBackEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *state.Tx) error {
		if _, err := tx.InsertInbox(ctx, state.InboxEvent{Source: "s", EventID: "e", Body: []byte{}, State: state.InboxNew}); err != nil {
			return err
		}
		if _, err := tx.PlanEffect(ctx, state.Effect{Key: "k", Request: []byte{}}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	if _, err := db.InboxEvent(ctx, "s", "e"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("inbox row after rollback: %v", err)
	}
	if _, err := db.Effect(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("effect after rollback: %v", err)
	}
}

func TestMappings_UniquePerSide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	m := state.Mapping{Kind: "contact", Tenant: "t", HLID: "hl1", Origin: state.OriginHighLevel, HLHash: "h1", UpdatedAt: t0}
	id, err := db.CreateMapping(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// A second unmapped Marketing 360 side is no conflict (NULLs differ).
	if _, err := db.CreateMapping(ctx, state.Mapping{Kind: "contact", Tenant: "t", HLID: "hl2", Origin: state.OriginHighLevel}); err != nil {
		t.Fatalf("second mapping without an m360 id: %v", err)
	}
	for _, tc := range []struct {
		name string
		m    state.Mapping
	}{
		{"same hl id", state.Mapping{Kind: "contact", Tenant: "t", HLID: "hl1", M360ID: "9", Origin: state.OriginM360}},
		{"same m360 id", state.Mapping{Kind: "contact", Tenant: "t", HLID: "hl3", M360ID: "7", Origin: state.OriginM360}},
	} {
		if tc.name == "same m360 id" {
			if _, err := db.CreateMapping(ctx, state.Mapping{Kind: "contact", Tenant: "t", M360ID: "7", Origin: state.OriginM360}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.CreateMapping(ctx, tc.m); !errors.Is(err, state.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", tc.name, err)
		}
	}
	if _, err := db.CreateMapping(ctx, state.Mapping{Kind: "task", Tenant: "t", HLID: "hl1", Origin: state.OriginHighLevel}); err != nil {
		t.Errorf("same id, another kind: %v", err)
	}
	was := m
	was.ID = id
	m.ID, m.M360ID, m.M360Hash, m.M360Version = id, "42", "h2", "1767258000"
	if err := db.UpdateMapping(ctx, was, m); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateMapping(ctx, was, m); !errors.Is(err, state.ErrConflict) {
		t.Errorf("update of a mapping changed since it was read: %v, want ErrConflict", err)
	}
	got, err := db.MappingByM360(ctx, "contact", "t", "42")
	if err != nil || got.HLID != "hl1" || got.HLHash != "h1" || got.M360Hash != "h2" || got.ID != id || !got.UpdatedAt.Equal(t0) {
		t.Errorf("by m360 id: %+v, %v", got, err)
	}
	if got, err := db.MappingByHighLevel(ctx, "contact", "t", "hl1"); err != nil || got.M360ID != "42" {
		t.Errorf("by hl id: %+v, %v", got, err)
	}
	if _, err := db.MappingByHighLevel(ctx, "contact", "other", "hl1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("another tenant: %v", err)
	}
	m.ID = 999
	if err := db.UpdateMapping(ctx, m, m); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
}

func TestEffects_Lifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	e := state.Effect{Key: "f2:welcome-note:c1", Flow: "f2", Target: "m360", Tenant: "t", Lane: "contact:c1",
		Op: "create-note", Request: []byte(`{"body":"hi [cb:x]"}`), Marker: "[cb:x]"}
	for i, want := range []bool{true, false} {
		planned, err := db.PlanEffect(ctx, e, t0)
		if err != nil || planned != want {
			t.Fatalf("plan %d: %v %v, want %v", i, planned, err, want)
		}
	}
	if err := db.CompleteEffect(ctx, e.Key, "n1", 201, t0); !errors.Is(err, state.ErrConflict) {
		t.Errorf("complete a pending effect: %v, want ErrConflict", err)
	}
	ready, err := db.ReadyEffects(ctx, t0, 10)
	if err != nil || len(ready) != 1 || ready[0].Key != e.Key {
		t.Fatalf("ready: %+v %v", ready, err)
	}
	if err := db.StartEffect(ctx, e.Key, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.StartEffect(ctx, e.Key, t0); !errors.Is(err, state.ErrConflict) {
		t.Errorf("start an inflight effect: %v, want ErrConflict", err)
	}
	if stale, err := db.StaleEffects(ctx, t0.Add(time.Minute), 10); err != nil || len(stale) != 1 {
		t.Errorf("stale: %d %v", len(stale), err)
	}
	retry := t0.Add(time.Minute)
	if err := db.FailEffect(ctx, e.Key, state.Failure{Status: 504, Err: "timeout", NextAt: retry, OutcomeUnknown: true}, t0); err != nil {
		t.Fatal(err)
	}
	if ready, _ := db.ReadyEffects(ctx, t0, 10); len(ready) != 0 {
		t.Errorf("a failed effect is ready before its next try: %+v", ready)
	}
	if err := db.StartEffect(ctx, e.Key, retry); err != nil {
		t.Fatal(err)
	}
	// A later failure that knows nothing was written keeps outcome_unknown.
	if err := db.FailEffect(ctx, e.Key, state.Failure{Status: 429, NextAt: retry}, retry); err != nil {
		t.Fatal(err)
	}
	if err := db.StartEffect(ctx, e.Key, retry); err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteEffect(ctx, e.Key, "n1", 201, retry); err != nil {
		t.Fatal(err)
	}
	got, err := db.Effect(ctx, e.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != state.EffectDone || got.Attempts != 3 || got.RemoteID != "n1" || !got.OutcomeUnknown ||
		got.LastStatus != 201 || !got.DoneAt.Equal(retry) || !got.InflightSince.Equal(retry) || got.Marker != "[cb:x]" {
		t.Errorf("done effect: %+v", got)
	}
	if planned, err := db.PlanEffect(ctx, e, retry); err != nil || planned {
		t.Errorf("a done key is planned again: %v %v", planned, err)
	}
	if err := db.StartEffect(ctx, "missing", t0); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("start missing: %v", err)
	}
	if _, err := db.PlanEffect(ctx, state.Effect{Key: "dead", Request: []byte{}}, t0); err != nil {
		t.Fatal(err)
	}
	_ = db.StartEffect(ctx, "dead", t0)
	if err := db.FailEffect(ctx, "dead", state.Failure{Status: 422, Err: "invalid", Dead: true}, t0); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.Effect(ctx, "dead"); d.State != state.EffectDead || d.OutcomeUnknown {
		t.Errorf("dead effect: %+v", d)
	}
}

func TestSaveTokens_CompareAndSwap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	tok := state.Tokens{Access: "a1", Refresh: "r1", Expiry: t0.Add(time.Hour), UpdatedAt: t0}
	if err := db.SaveTokens(ctx, "loc", tok, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveTokens(ctx, "loc", tok, 0); !errors.Is(err, state.ErrConflict) {
		t.Errorf("a second first save: %v, want ErrConflict", err)
	}
	// Two refreshers read generation 1; one wins, the other must re-read.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			errs[i] = db.SaveTokens(ctx, "loc", state.Tokens{Access: "a2", Refresh: "r2", Expiry: t0.Add(2 * time.Hour)}, 1)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, state.ErrConflict):
			t.Errorf("losing save: %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d saves of generation 1 won, want 1", wins)
	}
	got, err := db.Tokens(ctx, "loc")
	if err != nil || got.Generation != 2 || got.Refresh != "r2" || !got.Expiry.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("tokens: %+v %v", got, err)
	}
	if err := db.SaveTokens(ctx, "other", tok, 3); !errors.Is(err, state.ErrConflict) {
		t.Errorf("CAS on a tenant without tokens: %v, want ErrConflict", err)
	}
	if _, err := db.Tokens(ctx, "other"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("tokens of other: %v", err)
	}
}

func TestQuotaCursorsRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for _, rem := range []int{90, 80} {
		if err := db.SaveQuota(ctx, state.Quota{Tenant: "loc", API: "hl", WindowRemaining: rem,
			WindowResetAt: t0.Add(10 * time.Second), DailyRemaining: 199000, ObservedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if q, err := db.Quota(ctx, "loc", "hl"); err != nil || q.WindowRemaining != 80 || q.DailyRemaining != 199000 {
		t.Errorf("quota: %+v %v", q, err)
	}
	if _, err := db.Quota(ctx, "loc", "m360"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("missing quota: %v", err)
	}
	c := state.Cursor{Stream: "m360:contacts", Tenant: "1", Value: "100", Overlap: 5 * time.Second, UpdatedAt: t0}
	_ = db.SaveCursor(ctx, c)
	c.Value = "200"
	if err := db.SaveCursor(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Cursor(ctx, c.Stream); err != nil || got != c {
		t.Errorf("cursor %+v %v, want %+v", got, err, c)
	}
	if _, err := db.Cursor(ctx, "nope"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("missing cursor: %v", err)
	}
	id1, _ := db.StartRun(ctx, "reconcile", "loc", t0)
	id2, err := db.StartRun(ctx, "backfill", "loc", t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, id1, t0.Add(time.Minute), `{"contacts":3}`, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, 12345, t0, "", ""); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("finish missing run: %v", err)
	}
	runs, err := db.Runs(ctx, "", 10)
	if err != nil || len(runs) != 2 || runs[0].ID != id2 || !runs[0].FinishedAt.IsZero() || runs[1].Stats != `{"contacts":3}` {
		t.Errorf("runs: %+v %v", runs, err)
	}
	if runs, _ := db.Runs(ctx, "reconcile", 10); len(runs) != 1 {
		t.Errorf("reconcile runs: %+v", runs)
	}
}

func TestRecentEffects_TheLatestOfEachFlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for i, e := range []struct{ key, flow string }{
		{"a1", "welcome"}, {"b1", "tasks"}, {"a2", "welcome"}, {"a3", "welcome"}, {"b2", "tasks"},
	} {
		if _, err := db.PlanEffect(ctx, state.Effect{Key: e.key, Flow: e.flow, Request: []byte{}}, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.RecentEffects(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Flow+"/"+e.Key)
	}
	if want := []string{"tasks/b2", "tasks/b1", "welcome/a3", "welcome/a2"}; !slices.Equal(keys, want) {
		t.Errorf("recent effects %v; want %v", keys, want)
	}
}

// TestDB_CheckpointsTheWALOnAConnectionOfItsOwn: the statements'
// connection never checkpoints (wal_autocheckpoint 0), and what it commits
// still reaches the database file, past the WAL, within moments; Close
// leaves no WAL behind, and closing again does nothing.
func TestDB_CheckpointsTheWALOnAConnectionOfItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.SQL().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil || pages != 0 {
		t.Fatalf("wal_autocheckpoint %d (%v), want 0 on the statements' connection", pages, err)
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	const blob = 1 << 20 // 256 pages, more than the schema's
	err = db.Tx(ctx, func(tx *state.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, `CREATE TABLE test_blobs (b BLOB NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.SQL().ExecContext(ctx, `INSERT INTO test_blobs (b) VALUES (randomblob(?))`, blob)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const wait = 10 * time.Second
	for deadline := time.Now().Add(wait); size(path) < blob; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d bytes %s after the commit, want the %d committed: no checkpoint", size(path), wait, blob)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := size(path + "-wal"); n != 0 {
		t.Errorf("a WAL of %d bytes after Close, want none", n)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
}

// TestTakeEffect_StartsOnlyAPendingOrFailedEffect: a pending effect is
// taken (inflight, one attempt); an inflight one is not, and is returned
// as it is; a failed one whose outcome is unknown is taken with the flag;
// a done one is returned with its record; a missing one is ErrNotFound.
func TestTakeEffect_StartsOnlyAPendingOrFailedEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	const key = "f1:follow-up:c1"
	if _, err := db.PlanEffect(ctx, state.Effect{Key: key, Flow: "f1", Target: "m360", Tenant: "t", Lane: "hl-contact:c1",
		Op: "create-task", Request: []byte{}}, t0); err != nil {
		t.Fatal(err)
	}
	e, took, err := db.TakeEffect(ctx, key, t0)
	if err != nil || !took || e.State != state.EffectInflight || e.Attempts != 1 || !e.InflightSince.Equal(t0) || e.OutcomeUnknown {
		t.Fatalf("take a pending effect: %+v %v %v; want taken, inflight, 1 attempt", e, took, err)
	}
	if e, took, err = db.TakeEffect(ctx, key, t0.Add(time.Second)); err != nil || took || e.State != state.EffectInflight ||
		e.Attempts != 1 || !e.InflightSince.Equal(t0) {
		t.Fatalf("take an inflight effect: %+v %v %v; want it as it was, not taken", e, took, err)
	}
	if err := db.FailEffect(ctx, key, state.Failure{Status: 504, Err: "timeout", NextAt: t0, OutcomeUnknown: true}, t0); err != nil {
		t.Fatal(err)
	}
	if e, took, err = db.TakeEffect(ctx, key, t0.Add(time.Minute)); err != nil || !took || e.Attempts != 2 || !e.OutcomeUnknown ||
		e.LastStatus != 504 {
		t.Fatalf("take a failed effect: %+v %v %v; want taken at attempt 2, its outcome unknown, its last status kept", e, took, err)
	}
	if err := db.CompleteEffect(ctx, key, "task-1", 201, t0); err != nil {
		t.Fatal(err)
	}
	if e, took, err = db.TakeEffect(ctx, key, t0.Add(2*time.Minute)); err != nil || took || e.State != state.EffectDone || e.RemoteID != "task-1" {
		t.Fatalf("take a done effect: %+v %v %v; want it done, not taken", e, took, err)
	}
	if _, took, err := db.TakeEffect(ctx, "f1:follow-up:nobody", t0); !errors.Is(err, state.ErrNotFound) || took {
		t.Errorf("take a missing effect: %v %v; want ErrNotFound", took, err)
	}
}

// TestPlanAndTakeEffect_StoresANewEffectStarted: a new key is stored
// inflight after one attempt, as it is returned, with its plan's fields; a
// key planned already is taken or not as TakeEffect says, its plan left as
// it was.
func TestPlanAndTakeEffect_StoresANewEffectStarted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	plan := state.Effect{Key: "f2:welcome-note:c1", Flow: "f2", Target: "m360", Tenant: "t", Lane: "hl-contact:c1",
		Op: "create-note", Request: []byte{}, Marker: "cb:0123456789abcdef"}
	got, took, err := db.PlanAndTakeEffect(ctx, plan, t0)
	if err != nil || !took {
		t.Fatalf("plan and take a new effect: %v %v; want taken", took, err)
	}
	stored, err := db.Effect(ctx, plan.Key)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != state.EffectInflight || stored.Attempts != 1 || !stored.InflightSince.Equal(t0) || stored.Lane != plan.Lane ||
		stored.Marker != plan.Marker || stored.ID == 0 {
		t.Errorf("stored %+v; want inflight after 1 attempt since %s, with the plan's lane and marker", stored, t0)
	}
	got.Request, stored.Request = nil, nil // empty either way
	if !reflect.DeepEqual(got, stored) {
		t.Errorf("returned %+v\nstored   %+v", got, stored)
	}
	other := plan
	other.Lane = "elsewhere"
	if e, took, err := db.PlanAndTakeEffect(ctx, other, t0.Add(time.Second)); err != nil || took || e.Attempts != 1 || e.Lane != plan.Lane {
		t.Errorf("plan and take an inflight effect: %+v %v %v; want it as it was, not taken", e, took, err)
	}
	if err := db.FailEffect(ctx, plan.Key, state.Failure{Err: "boom", NextAt: t0}, t0); err != nil {
		t.Fatal(err)
	}
	if e, took, err := db.PlanAndTakeEffect(ctx, other, t0.Add(time.Minute)); err != nil || !took || e.Attempts != 2 || e.Lane != plan.Lane {
		t.Errorf("plan and take a failed effect: %+v %v %v; want taken at attempt 2, its plan as it was", e, took, err)
	}
}

// TestEffects_ReadsThePlannedOnesOfKeys: of three keys, the two planned
// come back by key, the other is absent; no key reads nothing.
func TestEffects_ReadsThePlannedOnesOfKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for _, k := range []string{"a", "b"} {
		if _, err := db.PlanEffect(ctx, state.Effect{Key: k, Flow: "f1", Target: "m360", Tenant: "t", Lane: "l", Op: "create-task",
			Request: []byte{}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Effects(ctx, []string{"a", "missing", "b"})
	if err != nil || len(got) != 2 || got["a"].Key != "a" || got["b"].State != state.EffectPending {
		t.Fatalf("Effects: %+v, %v; want a and b, pending", got, err)
	}
	if got, err := db.Effects(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("Effects of no key: %+v, %v; want none", got, err)
	}
}

// TestEffects_ReleaseGivesBackAStartNotSent: an effect planned and started
// at once, then released, is gone, as if never planned; one started again
// after a failed try is failed again, its outcome known; one renewed by
// another worker since, or not inflight, is left as it is.
func TestEffects_ReleaseGivesBackAStartNotSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	plan := func(key string) state.Effect {
		return state.Effect{Key: key, Flow: "f6", Target: state.OriginM360, Tenant: "loc", Lane: "l", Op: "create-task",
			Request: []byte{}, Marker: "cb:" + key}
	}
	notSent := state.Failure{Err: "not sent", NextAt: t0}
	started, took, err := db.PlanAndTakeEffect(ctx, plan("new"), t0)
	if err != nil || !took {
		t.Fatalf("plan and take: %v, %v", took, err)
	}
	if released, err := db.ReleaseEffect(ctx, started, notSent, t0); err != nil || !released {
		t.Fatalf("release: %v, %v", released, err)
	}
	if e, err := db.Effect(ctx, "new"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("released effect planned by its start: %+v, %v; want none", e, err)
	}
	if _, _, err := db.PlanAndTakeEffect(ctx, plan("tried"), t0); err != nil {
		t.Fatal(err)
	}
	if err := db.FailEffect(ctx, "tried", state.Failure{Err: "503", NextAt: t0}, t0); err != nil {
		t.Fatal(err)
	}
	again, took, err := db.TakeEffect(ctx, "tried", t0.Add(time.Second))
	if err != nil || !took {
		t.Fatalf("take again: %v, %v", took, err)
	}
	// A start another worker has since renewed is its, not the caller's.
	if _, ok, err := db.RenewEffect(ctx, "tried", again.InflightSince, again.Attempts, t0.Add(2*time.Second)); err != nil || !ok {
		t.Fatalf("renew: %v, %v", ok, err)
	}
	if released, err := db.ReleaseEffect(ctx, again, notSent, t0.Add(3*time.Second)); err != nil || released {
		t.Errorf("release of a start renewed since: %v, %v; want left as it is", released, err)
	}
	if e, err := db.Effect(ctx, "tried"); err != nil || e.State != state.EffectInflight {
		t.Errorf("effect renewed by another: %+v, %v; want still inflight", e, err)
	}
	again, err = db.Effect(ctx, "tried")
	if err != nil {
		t.Fatal(err)
	}
	if released, err := db.ReleaseEffect(ctx, again, notSent, t0.Add(time.Second)); err != nil || !released {
		t.Fatalf("release: %v, %v", released, err)
	}
	if e, err := db.Effect(ctx, "tried"); err != nil || e.State != state.EffectFailed || e.OutcomeUnknown || e.LastError != "not sent" {
		t.Errorf("released effect tried before: %+v, %v; want failed, not sent", e, err)
	}
	if released, err := db.ReleaseEffect(ctx, again, notSent, t0); err != nil || released {
		t.Errorf("release of an effect not inflight: %v, %v; want left as it is", released, err)
	}
}

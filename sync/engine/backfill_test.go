package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// stopClock is a clock that refuses to wait: a backfill that would wait
// for the next day stops there, as a killed process would.
type stopClock struct{ transport.Clock }

var errStopped = errors.New("stopped instead of waiting")

func (stopClock) SleepUntil(context.Context, time.Time) error { return errStopped }

// TestBackfill_SpendsItsShareADayAndResumes: with a daily quota of 30 and
// a share of 0.5, each day's walk spends at most 15 requests (a search and
// the reads of each contact enqueued: its own and its lists of tasks and
// notes); a backfill stopped when the day's
// share is spent goes on where it stopped, the next day, and each contact
// is enqueued once.
func TestBackfill_SpendsItsShareADayAndResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var want []string
	for i := range 7 {
		want = append(want, h.createContact(t, i))
	}
	slices.Sort(want)
	q := &fakeQueue{}
	s := engine.HighLevelContacts(h.hl, h.tw.Location())
	var progress []engine.BackfillProgress
	cfg := engine.BackfillConfig{Share: 0.5, DailyQuota: 30, Clock: stopClock{h.tw.Clock()},
		Progress: func(p engine.BackfillProgress) { progress = append(progress, p) }}
	_, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
	if !errors.Is(err, errStopped) || len(q.jobs) != 4 {
		t.Fatalf("first day: %v, %d jobs; want 4 (a search and 4 times 3 reads) and a stop to wait", err, len(q.jobs))
	}
	if last := progress[len(progress)-1]; !last.Until.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) || last.Read != 4 {
		t.Fatalf("progress %+v; want a wait until the next midnight after 4 read", last)
	}

	// A new process: it waits for the next day and finishes.
	cfg.Clock = h.tw.Clock()
	stats, err := h.poller(t, q, s).Backfill(context.Background(), cfg)
	if err != nil || !stats.End || stats.Enqueued != 3 {
		t.Fatalf("resumed: %+v, %v; want the 3 left", stats, err)
	}
	if got := q.ids(); !slices.Equal(got, want) {
		t.Fatalf("jobs %v; want each contact once: %v", got, want)
	}
	if sleeps := h.tw.Clock().Sleeps(); len(sleeps) != 1 || sleeps[0] != 24*time.Hour {
		t.Fatalf("sleeps %v; want one until the next day", sleeps)
	}
	// Done is done: a third run walks nothing.
	if stats, err := h.poller(t, q, s).Backfill(context.Background(), cfg); err != nil || stats.Pages != 0 {
		t.Fatalf("after the end: %+v, %v", stats, err)
	}
	runs, err := h.db.Runs(context.Background(), engine.RunBackfill, 10)
	if err != nil || len(runs) != 2 || runs[1].Error == "" || runs[0].Error != "" {
		t.Fatalf("runs %+v, %v; want the stopped one and the finished one", runs, err)
	}
}

// TestBackfill_WalksMarketing360BeforeTheSyncWritesThere: the Marketing 360
// streams are walked before the HighLevel ones, whatever their order, so
// the records the backfill's own jobs make there meanwhile (each HighLevel
// contact's job makes a Marketing 360 contact; here the queue makes one as
// the job is enqueued) are not walked as more jobs: the only Marketing 360
// job is the contact that was there before.
func TestBackfill_WalksMarketing360BeforeTheSyncWritesThere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	first, email := "Mary", "mary.before@example.com"
	ct, err := m360api.OK(h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &first, Email: &email}))
	if err != nil {
		t.Fatal(err)
	}
	before := strconv.FormatInt(ct.JSON201.Result.Id, 10)
	for i := range 3 {
		h.createContact(t, i)
	}
	acct, err := m360api.OK(h.m360.M360GetAccountWithResponse(ctx))
	if err != nil {
		t.Fatal(err)
	}
	made := 0
	q := &fakeQueue{EnqueueFunc: func(args engine.Args) error {
		if c, ok := args.(engine.Converge); !ok || c.Side != engine.SideHighLevel {
			return nil
		}
		made++
		name, email := "Made", fmt.Sprintf("made%d@example.com", made)
		_, err := m360api.OK(h.m360.M360CreateContactWithResponse(ctx, m360api.ContactInput{FirstName: &name, Email: &email}))
		return err
	}}
	streams := append([]engine.Stream{engine.HighLevelContacts(h.hl, h.tw.Location())},
		engine.M360Streams(h.m360, strconv.FormatInt(acct.JSON200.Result.Id, 10))...)
	if _, err := h.poller(t, q, streams...).Backfill(ctx, engine.BackfillConfig{Clock: h.tw.Clock()}); err != nil {
		t.Fatal(err)
	}
	var m360Jobs []string
	for i, a := range q.jobs {
		c := a.(engine.Converge)
		if c.Side == engine.SideM360 {
			m360Jobs = append(m360Jobs, c.ID)
			if i >= len(m360Jobs) {
				t.Errorf("job %d (%s) is Marketing 360's after a HighLevel one", i, c)
			}
		}
	}
	if made != 3 || !slices.Equal(m360Jobs, []string{before}) {
		t.Fatalf("%d contacts made meanwhile; Marketing 360 jobs %v, want only the one there before (%s)", made, m360Jobs, before)
	}
}

// TestBackfill_GoesOnFromTheChildrenWalkOfBefore: a database whose
// backfill cursors a version of before wrote (the contacts walked apart
// from their children, as hl:<location>:children): a backfill goes on
// from where the children's walk stood (the contacts before it had their
// children's jobs), walks nothing when that walk ended, and walks every
// contact when it never began (the contacts walked had none).
func TestBackfill_GoesOnFromTheChildrenWalkOfBefore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		children string // the children walk's cursor ("": none)
		want     []int  // the contacts enqueued
	}{
		{name: "children walk ended", children: `{"done":true}`},
		{name: "children walk mid-way", children: `{"after":[%d,""]}`, want: []int{2, 3}},
		{name: "children walk never began", want: []int{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := context.Background()
			ids := []string{h.createContact(t, 0), h.createContact(t, 1)}
			h.tw.AdvanceClock(time.Minute)
			mid := h.tw.Clock().Now().UnixMilli() - 1
			ids = append(ids, h.createContact(t, 2), h.createContact(t, 3))
			s := engine.HighLevelContacts(h.hl, h.tw.Location())
			cursors := map[string]string{"backfill:" + s.Name: fmt.Sprintf(`{"after":[%d,""],"done":true}`, mid+time.Minute.Milliseconds())}
			if tc.children != "" {
				cursors["backfill:hl:"+h.tw.Location()+":children"] = strings.ReplaceAll(tc.children, "%d", strconv.FormatInt(mid, 10))
			}
			if err := h.db.Tx(ctx, func(tx *state.Tx) error {
				for name, v := range cursors {
					if err := tx.SaveCursor(ctx, state.Cursor{Stream: name, Tenant: h.tw.Location(), Value: v, UpdatedAt: h.tw.Clock().Now()}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			q := &fakeQueue{}
			if _, err := h.poller(t, q, s).Backfill(ctx, engine.BackfillConfig{Clock: h.tw.Clock()}); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, ids[i])
			}
			slices.Sort(want)
			if got := q.ids(); !slices.Equal(got, want) {
				t.Errorf("jobs %v; want %v", got, want)
			}
			// Its own cursor, once written, is its own: the next backfill
			// walks nothing more.
			q.jobs = nil
			if stats, err := h.poller(t, q, s).Backfill(ctx, engine.BackfillConfig{Clock: h.tw.Clock()}); err != nil || stats.Pages != 0 {
				t.Errorf("a second backfill: %+v, %v, jobs %v; want nothing walked", stats, err, q.ids())
			}
		})
	}
}

package engine_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// work converges a once with c, failing the test on an error.
func work(t *testing.T, c *engine.Converger, a engine.Converge) {
	t.Helper()
	if err := c.Converge(context.Background(), a, func(context.Context, *state.Tx) error { return nil }); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
}

// TestConverger_TaskCopiesDeletedByAPersonAreNotMadeAgain: a task's copy
// deleted by a person on the other side is not made again, whatever its
// original does next, and the original stays: flow 3's HighLevel copy
// deleted leaves the Marketing 360 task, which is then edited; flow 6's
// Marketing 360 copy deleted leaves the HighLevel task, which is then
// edited. Neither edit writes anything.
func TestConverger_TaskCopiesDeletedByAPersonAreNotMadeAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, m360 := h.synced(t, 0)
	c := h.converger(t, nil, nil, 0)
	loc := h.tw.Location()

	quote := h.createM360Task(t, m360, "Quote")
	fromM360 := engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(quote, 10),
		Parent: strconv.FormatInt(m360, 10)}
	work(t, c, fromM360)
	copyOfQuote := h.hlTaskID(t, id, "Quote")
	call := h.createHLTask(t, id, "Call")
	fromHL := engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: call, Parent: id}
	work(t, c, fromHL)
	copyOfCall := h.m360Task(t, m360, "Call").ID

	h.deleteHLTask(t, id, copyOfQuote)
	work(t, c, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityTask, Tenant: loc, ID: copyOfQuote, Parent: id})
	h.deleteM360Task(t, m360, copyOfCall)
	work(t, c, engine.Converge{Side: engine.SideM360, EntityKind: engine.EntityTask, Tenant: "m360", ID: strconv.FormatInt(copyOfCall, 10),
		Parent: strconv.FormatInt(m360, 10)})
	made := h.createCounts(t)
	h.updateM360Task(t, m360, quote, "Quote, revised")
	h.updateHLTask(t, id, call, "Call, later")
	for range 2 {
		work(t, c, fromM360)
		work(t, c, fromHL)
	}
	got := h.timeline(t, id)
	if !slices.Contains(got.M360Tasks, "Quote, revised") || slices.Contains(got.M360Tasks, "Call, later") || slices.Contains(got.M360Tasks, "Call") {
		t.Errorf("Marketing 360 tasks %q: want the revised quote, no call", got.M360Tasks)
	}
	if !slices.Equal(got.HLTasks, []string{"Call, later"}) {
		t.Errorf("HighLevel tasks %q: want the later call alone", got.HLTasks)
	}
	after := h.createCounts(t)
	want := maps.Clone(made)
	want["update-task"]++      // the person's
	want["m360-update-task"]++ // the person's
	if !maps.Equal(after, want) {
		t.Errorf("requests after the copies were deleted %v, want %v (the people's edits alone)", after, want)
	}
}

package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// TestConverger_AnEffectStartedAheadIsNotTakenOverBeforeItsCall: a new
// contact's children's intents commit with the contact's own (started
// ahead), so when the contact's create takes long (61 s here: a limiter's
// wait, a slow answer; StaleAfter is 60 s) the children's starts are older
// than StaleAfter before their calls are sent. Another worker of the same
// contact (a second process on the database: entity locks are per process)
// that runs then must not take them for ones a crash left, look them up,
// find nothing yet and create them: the job renews its starts before its
// calls, and every record is made once.
func TestConverger_AnEffectStartedAheadIsNotTakenOverBeforeItsCall(t *testing.T) {
	h := newHarness(t)
	id := h.createContact(t, 0)
	contactKey, followKey := "f1:m360-contact:"+id, "f1:follow-up:"+id
	var second error
	ran := false
	hook := func(s engine.Step, k string) error {
		switch {
		case s == engine.StepAfterCall && k == contactKey:
			h.tw.Clock().Advance(61 * time.Second)
		case s == engine.StepBeforeCall && k == followKey && !ran:
			ran = true
			done := 0
			second = converge(t, h.converger(t, nil, nil, 0), h.tw.Location(), id, &done)
		}
		return nil
	}
	done := 0
	if err := converge(t, h.converger(t, nil, hook, 0), h.tw.Location(), id, &done); err != nil {
		t.Fatalf("first job: %v", err)
	}
	if !ran {
		t.Fatal("the second worker never ran")
	}
	t.Logf("second worker: %v", second)
	got := h.tw.Counterpart(id)
	if got.Contacts != 1 {
		t.Errorf("Marketing 360 contacts: %d, want 1", got.Contacts)
	}
	tasks := slices.Clone(got.Tasks)
	slices.Sort(tasks)
	if len(tasks) != 3 || len(slices.Compact(tasks)) != 3 {
		t.Errorf("tasks %q, want the flows' three, once each", got.Tasks)
	}
	if len(got.Notes) != 1 {
		t.Errorf("notes %q, want the welcome note once", got.Notes)
	}
}

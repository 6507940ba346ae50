package engine

import (
	"slices"
	"testing"
)

// TestTriggersOf: a table from snapshot pairs (the last one seen, the one
// re-read) to the triggers they name.
func TestTriggersOf(t *testing.T) {
	t.Parallel()
	contact := func(kv ...any) map[string]any {
		rec := map[string]any{"id": "c1", "firstName": "Ada", "tags": []any{}, "dnd": false, "dateUpdated": "t1"}
		for i := 0; i+1 < len(kv); i += 2 {
			rec[kv[i].(string)] = kv[i+1]
		}
		return rec
	}
	task := func(completed bool, title string) map[string]any {
		return map[string]any{"id": "t1", "title": title, "completed": completed}
	}
	for _, tc := range []struct {
		name       string
		side, kind string
		prev, cur  map[string]any
		want       []string
	}{
		{"contact first sight", SideHighLevel, EntityContact, nil, contact(), []string{"highlevel.ContactCreate"}},
		{"contact first sight with tags and DND", SideHighLevel, EntityContact, nil, contact("tags", []any{"vip"}, "dnd", true),
			[]string{"highlevel.ContactCreate", "highlevel.ContactTagUpdate", "highlevel.ContactDndUpdate"}},
		{"contact unchanged", SideHighLevel, EntityContact, contact(), contact(), nil},
		{"contact only its dateUpdated moved", SideHighLevel, EntityContact, contact(), contact("dateUpdated", "t2"), nil},
		{"contact renamed", SideHighLevel, EntityContact, contact(), contact("firstName", "Augusta"), []string{"highlevel.ContactUpdate"}},
		{"contact tag added", SideHighLevel, EntityContact, contact(), contact("tags", []any{"vip"}),
			[]string{"highlevel.ContactUpdate", "highlevel.ContactTagUpdate"}},
		{"contact tags from none to empty", SideHighLevel, EntityContact, contact("tags", nil), contact(), []string{"highlevel.ContactUpdate"}},
		{"contact DND on", SideHighLevel, EntityContact, contact(), contact("dnd", true),
			[]string{"highlevel.ContactUpdate", "highlevel.ContactDndUpdate"}},
		{"contact gone", SideHighLevel, EntityContact, contact(), nil, []string{"highlevel.ContactDelete"}},
		{"contact never seen and gone", SideHighLevel, EntityContact, nil, nil, nil},
		{"HighLevel task created", SideHighLevel, EntityTask, nil, task(false, "Call"), []string{"highlevel.TaskCreate"}},
		{"HighLevel task created completed", SideHighLevel, EntityTask, nil, task(true, "Call"),
			[]string{"highlevel.TaskCreate", "highlevel.TaskComplete"}},
		{"HighLevel task completed", SideHighLevel, EntityTask, task(false, "Call"), task(true, "Call"), []string{"highlevel.TaskComplete"}},
		{"HighLevel task edited (no catalog event)", SideHighLevel, EntityTask, task(false, "Call"), task(false, "Call back"), nil},
		{"HighLevel task reopened", SideHighLevel, EntityTask, task(true, "Call"), task(false, "Call"), nil},
		{"HighLevel task gone", SideHighLevel, EntityTask, task(false, "Call"), nil, []string{"highlevel.TaskDelete"}},
		{"HighLevel note edited", SideHighLevel, EntityNote, map[string]any{"body": "a"}, map[string]any{"body": "b"},
			[]string{"highlevel.NoteUpdate"}},
		{"HighLevel appointment gone", SideHighLevel, EntityAppointment, map[string]any{"id": "a"}, nil,
			[]string{"highlevel.AppointmentDelete"}},
		{"Marketing 360 task created", SideM360, EntityTask, nil, task(false, "Quote"), []string{"m360.task.created"}},
		{"Marketing 360 task completed", SideM360, EntityTask, task(false, "Quote"), task(true, "Quote"), []string{"m360.task.completed"}},
		{"Marketing 360 task completed twice", SideM360, EntityTask, task(true, "Quote"), task(true, "Quote"), nil},
		{"Marketing 360 contact updated", SideM360, EntityContact, map[string]any{"email": "a@x", "updated": 1},
			map[string]any{"email": "b@x", "updated": 2}, []string{"m360.contact.updated"}},
		{"Marketing 360 contact deleted", SideM360, EntityContact, map[string]any{"id": 1}, nil, []string{"m360.contact.deleted"}},
		{"Marketing 360 task edited", SideM360, EntityTask, map[string]any{"title": "a"}, map[string]any{"title": "b"},
			[]string{"m360.task.updated"}},
		{"Marketing 360 task deleted", SideM360, EntityTask, map[string]any{"title": "a"}, nil, []string{"m360.task.deleted"}},
		{"Marketing 360 note created", SideM360, EntityNote, nil, map[string]any{"body": "x"}, []string{"m360.note.created"}},
		{"Marketing 360 note edited (no catalog event)", SideM360, EntityNote, map[string]any{"body": "x"}, map[string]any{"body": "y"}, nil},
		{"Marketing 360 event created", SideM360, EntityEvent, nil, map[string]any{"id": 1}, []string{"m360.event.created"}},
		{"an unknown kind", SideM360, "campaign", nil, map[string]any{"id": 1}, nil},
	} {
		if got := triggersOf(tc.side, tc.kind, tc.prev, tc.cur); !slices.Equal(got, tc.want) {
			t.Errorf("%s: triggers %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionOf: a version changes with the content or the timestamp,
// not with the map's order; gone is its own.
func TestVersionOf(t *testing.T) {
	t.Parallel()
	v := func(rec map[string]any) string {
		t.Helper()
		s, err := versionOf(rec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := v(map[string]any{"a": 1, "b": "x", "dateUpdated": "t1"})
	if b := v(map[string]any{"b": "x", "a": 1, "dateUpdated": "t1"}); a != b {
		t.Errorf("same record, versions %q and %q", a, b)
	}
	if b := v(map[string]any{"a": 2, "b": "x", "dateUpdated": "t1"}); a == b {
		t.Errorf("another content, same version %q", a)
	}
	if b := v(map[string]any{"a": 1, "b": "x", "dateUpdated": "t2"}); a == b {
		t.Errorf("another timestamp, same version %q", a)
	}
	if g := v(nil); g != versionGone {
		t.Errorf("gone: %q", g)
	}
}

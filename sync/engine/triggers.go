package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
)

// Trigger names, as `sync catalog` lists them, by the change the converger
// sees between an entity's last snapshot and its re-read (not by the
// webhook that told of it: a lost webhook, a polled change or a backfill
// name the same triggers, and a duplicate or reordered one names none).
//
//	HighLevel contact      first sight ContactCreate (and ContactTagUpdate when it has tags,
//	                       ContactDndUpdate when DND is on); content changed ContactUpdate;
//	                       tags changed ContactTagUpdate; dnd or dndSettings changed
//	                       ContactDndUpdate; gone or deleted ContactDelete
//	HighLevel task         TaskCreate (and TaskComplete when created completed); completed
//	                       turned true TaskComplete; gone TaskDelete
//	HighLevel note         NoteCreate; body changed NoteUpdate; gone NoteDelete
//	HighLevel appointment  AppointmentCreate; changed AppointmentUpdate; gone AppointmentDelete
//	Marketing 360 contact  contact.created; changed contact.updated; gone contact.deleted
//	Marketing 360 task     task.created (and task.completed when created completed);
//	                       changed task.updated, or task.completed alone when
//	                       completed turned true;
//	                       gone task.deleted
//	Marketing 360 note     note.created
//	Marketing 360 event    event.created
//
// An entity gone and seen again is created again. Each is prefixed with
// its API: "highlevel.ContactTagUpdate", "m360.task.completed".
type triggerNames struct {
	create, update, remove, tags, dnd, complete string
}

// Trigger prefixes by side.
const (
	triggerHighLevel = "highlevel."
	triggerM360      = "m360."
)

var triggerCatalog = map[string]triggerNames{
	SideHighLevel + "." + EntityContact: {create: "ContactCreate", update: "ContactUpdate", remove: "ContactDelete",
		tags: "ContactTagUpdate", dnd: "ContactDndUpdate"},
	SideHighLevel + "." + EntityTask:        {create: "TaskCreate", remove: "TaskDelete", complete: "TaskComplete"},
	SideHighLevel + "." + EntityNote:        {create: "NoteCreate", update: "NoteUpdate", remove: "NoteDelete"},
	SideHighLevel + "." + EntityAppointment: {create: "AppointmentCreate", update: "AppointmentUpdate", remove: "AppointmentDelete"},
	SideM360 + "." + EntityContact:          {create: "contact.created", update: "contact.updated", remove: "contact.deleted"},
	SideM360 + "." + EntityTask:             {create: "task.created", update: "task.updated", remove: "task.deleted", complete: "task.completed"},
	SideM360 + "." + EntityNote:             {create: "note.created"},
	SideM360 + "." + EntityEvent:            {create: "event.created"},
}

// volatileFields change without the entity's content changing: left out
// of the comparison of two snapshots.
var volatileFields = []string{"dateUpdated", "updated", "updatedAt", "lastActivity"}

// triggersOf names the triggers of the change from prev (the last
// snapshot; nil when the entity was never seen or was gone) to cur (the re-read; nil when the entity is gone), for an entity
// of kind on side. None for a pair that did not change, or a kind with no
// triggers.
func triggersOf(side, kind string, prev, cur map[string]any) []string {
	names, ok := triggerCatalog[side+"."+kind]
	if !ok {
		return nil
	}
	prefix := triggerHighLevel
	if side == SideM360 {
		prefix = triggerM360
	}
	var out []string
	add := func(name string, when bool) {
		if name != "" && when {
			out = append(out, prefix+name)
		}
	}
	switch {
	case prev == nil && cur == nil:
	case cur == nil:
		add(names.remove, true)
	case prev == nil:
		add(names.create, true)
		add(names.tags, !empty(cur["tags"]))
		add(names.dnd, cur["dnd"] == true)
		add(names.complete, cur["completed"] == true)
	default:
		// An edit that completes a task is its completion, not an update
		// (as the Marketing 360 twin sends it).
		completes := prev["completed"] != true && cur["completed"] == true
		add(names.update, !completes && !reflect.DeepEqual(content(prev), content(cur)))
		add(names.tags, !reflect.DeepEqual(prev["tags"], cur["tags"]) && !(empty(prev["tags"]) && empty(cur["tags"])))
		add(names.dnd, !reflect.DeepEqual(prev["dnd"], cur["dnd"]) || !reflect.DeepEqual(prev["dndSettings"], cur["dndSettings"]))
		add(names.complete, completes)
	}
	return out
}

// empty tells a missing, null or empty list.
func empty(v any) bool {
	l, ok := v.([]any)
	return v == nil || ok && len(l) == 0
}

// content is a record without its volatile fields.
func content(rec map[string]any) map[string]any {
	out := maps.Clone(rec)
	for _, k := range volatileFields {
		delete(out, k)
	}
	return out
}

// versionGone is the version of an entity that is gone.
const versionGone = "gone"

// versionOf tells a record's change from its others: its dateUpdated (or
// updated) and a hash of its content (so that two changes within one
// timestamp differ too); versionGone for nil.
func versionOf(rec map[string]any) (string, error) {
	if rec == nil {
		return versionGone, nil
	}
	raw, err := json.Marshal(content(rec))
	if err != nil {
		return "", fmt.Errorf("engine: version: %w", err)
	}
	sum := sha256.Sum256(raw)
	stamp := rec["dateUpdated"]
	if stamp == nil {
		stamp = rec["updated"]
	}
	if stamp == nil {
		stamp = ""
	}
	return fmt.Sprintf("%v/%s", stamp, hex.EncodeToString(sum[:6])), nil
}

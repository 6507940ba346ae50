package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
)

// hashDeleted is the hash a mapping records for a record deleted (and its
// counterpart deleted, or left alone as its flow says), not for a content.
const hashDeleted = "deleted"

// markerInText finds a marker written into a HighLevel text (a task's
// body), which has no external id to carry it.
var markerInText = regexp.MustCompile(`\[cb:[0-9a-f]{16}\]`)

// markText is text with the effect key's marker on a line of its own.
func markText(text, key string) string {
	return strings.TrimSpace(text + "\n\n[" + Marker(key) + "]")
}

// taskContent is what the mirroring of a task compares and writes, the same
// on both sides: a HighLevel task's body is a Marketing 360 task's
// description, its dueDate the dueAt (seconds; 0 for none).
type taskContent struct {
	Title     string `json:"title"`
	Body      string `json:"body"`
	Due       int64  `json:"due"`
	Completed bool   `json:"completed"`
}

func hlTaskContent(t highlevelapi.Task) taskContent {
	out := taskContent{Title: t.Title, Body: deref(t.Body), Completed: t.Completed}
	if due, err := time.Parse(time.RFC3339Nano, t.DueDate); err == nil {
		out.Due = due.Unix()
	}
	return out
}

func m360TaskContent(t m360api.Task) taskContent {
	out := taskContent{Title: t.Title, Body: deref(t.Description), Completed: t.Completed}
	if t.DueAt != nil {
		out.Due = *t.DueAt
	}
	return out
}

// m360Task is flow 3: a Marketing 360 task made there becomes a HighLevel
// task under its contact's counterpart (once, through the ledger); its
// edits (title, description, due date) rewrite that task, its completion
// completes it and its deletion deletes it. A task the sync made from
// HighLevel (externalIds.ghl set: flows 1, 2 and 6) is never mirrored back;
// only its completion is. A task whose content hashes as last written or
// seen (M360Hash) needs no write: the sync's own writes do not echo.
func (c *Converger) m360Task(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	contact, err := parseM360ID(a.Parent)
	if err != nil {
		log.WarnContext(ctx, "a Marketing 360 task event without its contact: the task cannot be read; reconcile finds it", logkey.Err, err)
		return c.done(ctx, l, complete)
	}
	id, err := parseM360ID(a.ID)
	if err != nil {
		return err
	}
	t, err := c.m360.Task(ctx, contact, id)
	switch {
	case m360api.IsNotFound(err):
		return c.m360TaskGone(ctx, log, l, a, complete)
	case err != nil:
		return err
	}
	fromHL := deref(t.ExternalIds.Ghl) != ""
	if fromHL && c.location != "" {
		// Most such tasks are flows 1 and 2's, never mapped: known without
		// reading the contacts.
		m, err := c.mapping(ctx, EntityTask, c.location, "", a.ID)
		if err != nil {
			return err
		}
		if m.HLID == "" {
			log.DebugContext(ctx, "a task the sync made from HighLevel; not mirrored back")
			return c.done(ctx, l, complete)
		}
	}
	hlContact, tenant, err := c.highLevelContactOf(ctx, contact)
	switch {
	case highlevelapi.IsNotFound(err):
		log.WarnContext(ctx, "the task's HighLevel contact is deleted; the task is not mirrored", logkey.Err, err)
		return c.done(ctx, l, complete)
	case err != nil:
		return err
	}
	m, err := c.mapping(ctx, EntityTask, tenant, "", a.ID)
	if err != nil {
		return err
	}
	if fromHL && m.HLID == "" {
		log.DebugContext(ctx, "a task the sync made from HighLevel; not mirrored back")
		return c.done(ctx, l, complete)
	}
	have := m360TaskContent(t)
	hash, err := hashOf(have)
	if err != nil {
		return err
	}
	if m.HLID != "" && (m.M360Hash == hash || m.HLHash == hashDeleted) {
		log.DebugContext(ctx, "the task is as last written or seen, or its HighLevel task is deleted; nothing to do")
		return c.done(ctx, l, complete)
	}
	key := "f3:hl-task:" + a.ID
	next := m
	switch {
	case m.HLID == "":
		p := plan{key: key, flow: flowM360Tasks, op: opCreateTask, text: t.Title, target: state.OriginHighLevel}
		hlTask, ok, err := c.create(ctx, l, effectRun{key: key, call: c.highLevelTaskCall(hlContact, key, t),
			plan: c.planned(tenant, "m360-task:"+a.ID, p)}, complete)
		if !ok {
			return err
		}
		next = state.Mapping{Kind: EntityTask, Tenant: tenant, HLID: hlTask, M360ID: a.ID, Origin: state.OriginM360}
	case m.Origin == state.OriginM360:
		want := have
		want.Body = markText(have.Body, key)
		if next.HLHash, err = c.updateHighLevelTask(ctx, log, hlContact, m.HLID, to(want)); err != nil {
			return err
		}
	default:
		// Flow 6's counterpart: HighLevel has the content; a completion
		// made here crosses over.
		if t.Completed {
			if next.HLHash, err = c.updateHighLevelTask(ctx, log, hlContact, m.HLID, completed); err != nil {
				return err
			}
		}
	}
	next.M360Hash = hash
	return c.saveMapping(ctx, l, m, next, complete)
}

// m360TaskGone is flow 3 for a Marketing 360 task that is gone: the
// HighLevel task made from it is deleted, once. The mapping is looked up
// under the converger's Location (the task's contact cannot be read).
func (c *Converger) m360TaskGone(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	m, err := c.mapping(ctx, EntityTask, c.location, "", a.ID)
	if err != nil {
		return err
	}
	if m.HLID == "" || m.HLHash == hashDeleted || m.M360Hash == hashDeleted {
		log.InfoContext(ctx, "Marketing 360 task is gone; nothing to sync")
		return c.done(ctx, l, complete)
	}
	next := m
	next.M360Hash = hashDeleted
	if m.Origin == state.OriginM360 {
		contact, err := c.mapping(ctx, EntityContact, c.location, "", a.Parent)
		if err != nil {
			return err
		}
		if contact.HLID == "" {
			return fmt.Errorf("engine: Marketing 360 contact %s: %w", a.Parent, ErrNoCounterpart)
		}
		if err := c.hl.DeleteTask(ctx, contact.HLID, m.HLID); err != nil && !highlevelapi.IsNotFound(err) {
			return err
		}
		log.InfoContext(ctx, "Marketing 360 task is gone; its HighLevel task is deleted", logkey.Entity, m.HLID)
		next.HLHash = hashDeleted
	}
	return c.saveMapping(ctx, l, m, next, complete)
}

// taskChange is how a task's content moves: from what it is to what a
// flow wants of it.
type taskChange func(have taskContent) taskContent

// to is the change to want (a want without a due date keeps the task's).
func to(want taskContent) taskChange {
	return func(have taskContent) taskContent {
		if want.Due == 0 {
			want.Due = have.Due
		}
		return want
	}
}

// completed is the change that completes a task.
func completed(have taskContent) taskContent {
	have.Completed = true
	return have
}

// taskDiff are the fields of want that differ from have (nil: the same).
type taskDiff struct {
	title, body *string
	due         *int64
	completed   *bool
}

func diffTasks(have, want taskContent) (d taskDiff, changed bool) {
	if have.Title != want.Title {
		d.title = &want.Title
	}
	if have.Body != want.Body {
		d.body = &want.Body
	}
	if have.Due != want.Due {
		d.due = &want.Due
	}
	if have.Completed != want.Completed {
		d.completed = &want.Completed
	}
	return d, d != taskDiff{}
}

// updateHighLevelTask moves HighLevel task id by change, writing only what
// differs (its title, body and due date; a completion through PUT
// …/completed; HighLevel tasks are not uncompleted), and returns the hash
// of the task as it then is: hashDeleted when it is gone.
func (c *Converger) updateHighLevelTask(ctx context.Context, log *slog.Logger, contact, id string, change taskChange) (string, error) {
	cur, err := c.hl.Task(ctx, contact, id)
	switch {
	case highlevelapi.IsNotFound(err):
		log.WarnContext(ctx, "the HighLevel task was deleted there; not made again", logkey.Entity, id)
		return hashDeleted, nil
	case err != nil:
		return "", err
	}
	d, _ := diffTasks(hlTaskContent(cur), change(hlTaskContent(cur)))
	in := highlevelapi.UpdateTaskBody{Title: d.title, Body: d.body}
	if d.due != nil {
		due := time.Unix(*d.due, 0).UTC()
		in.DueDate = &due
	}
	if in != (highlevelapi.UpdateTaskBody{}) {
		if cur, err = c.hl.UpdateTask(ctx, contact, id, in); err != nil {
			return "", err
		}
	}
	if d.completed != nil && *d.completed {
		if err := c.hl.CompleteTask(ctx, contact, id); err != nil {
			return "", err
		}
		cur.Completed = true
	}
	return hashOf(hlTaskContent(cur))
}

// highLevelTaskCall creates the HighLevel task of Marketing 360 task t
// under hlContact, its body marked, and finds it by that marker among the
// contact's tasks.
func (c *Converger) highLevelTaskCall(hlContact, key string, t m360api.Task) effectCall {
	body := markText(deref(t.Description), key)
	due := time.Unix(t.Created, 0).UTC()
	if t.DueAt != nil {
		due = time.Unix(*t.DueAt, 0).UTC()
	}
	in := highlevelapi.CreateTaskBody{Title: t.Title, Body: &body, DueDate: due, Completed: t.Completed}
	marker := "[" + Marker(key) + "]"
	return effectCall{
		create: func(ctx context.Context) (string, int, error) {
			got, err := c.hl.CreateTask(ctx, hlContact, in)
			if err != nil {
				return "", 0, err
			}
			return got.Id, http.StatusCreated, nil
		},
		find: func(ctx context.Context) (string, error) {
			list, err := c.hl.Tasks(ctx, hlContact)
			if err != nil {
				return "", err
			}
			for _, t := range list {
				if strings.Contains(deref(t.Body), marker) {
					return t.Id, nil
				}
			}
			return "", nil
		},
	}
}

// highLevelTask is flow 6: a HighLevel task made there becomes a Marketing
// 360 task on its contact's counterpart (once, through the ledger); its
// edits (title, body, due date) and its completion rewrite that task, and
// its deletion deletes it. A task flow 3 made (its body marked) is never
// mirrored back; only its completion is. A task whose content hashes as
// last written or seen (HLHash) needs no write: the sync's own writes do
// not echo.
func (c *Converger) highLevelTask(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	if a.Parent == "" {
		log.WarnContext(ctx, "a HighLevel task event without its contactId (live payloads may lack it): the task cannot be read; reconcile finds it")
		return c.done(ctx, l, complete)
	}
	m, err := c.kinMapping(ctx, l, EntityTask, a.Tenant, a.ID)
	if err != nil {
		return err
	}
	t, err := c.kinTask(ctx, l, m, a.Parent, a.ID)
	switch {
	case highlevelapi.IsNotFound(err):
		return c.highLevelTaskGone(ctx, log, l, a, m, complete)
	case err != nil:
		return err
	}
	if markerInText.MatchString(deref(t.Body)) && m.M360ID == "" {
		log.DebugContext(ctx, "a task the sync made from Marketing 360; not mirrored back")
		return c.done(ctx, l, complete)
	}
	have := hlTaskContent(t)
	hash, err := hashOf(have)
	if err != nil {
		return err
	}
	if m.M360ID != "" && (m.HLHash == hash || m.M360Hash == hashDeleted) {
		log.DebugContext(ctx, "the task is as last written or seen, or its Marketing 360 task is deleted; nothing to do")
		return c.done(ctx, l, complete)
	}
	contact, err := c.kinContact(ctx, l, a.Tenant, t.ContactId)
	if err != nil {
		return err
	}
	next := m
	switch {
	case m.M360ID == "":
		p, _ := childPlan(EntityTask, a.ID)
		key := p.key
		in := m360api.TaskCreate{Title: t.Title, Description: t.Body, Completed: &t.Completed}
		if have.Due != 0 {
			in.DueAt = &have.Due
		}
		task, ok, err := c.create(ctx, l, effectRun{key: key, call: c.m360TaskCall(contact, key, in),
			plan: c.planned(a.Tenant, contactLane(t.ContactId), p)}, complete)
		if !ok {
			return err
		}
		next = state.Mapping{Kind: EntityTask, Tenant: a.Tenant, HLID: a.ID, M360ID: task, Origin: state.OriginHighLevel, M360Hash: hash}
	case m.Origin == state.OriginHighLevel:
		if next.M360Hash, err = c.updateM360Task(ctx, log, contact, m.M360ID, to(have)); err != nil {
			return err
		}
	default:
		// Flow 3's task: Marketing 360 has the content; a completion made
		// here crosses over.
		if t.Completed {
			if next.M360Hash, err = c.updateM360Task(ctx, log, contact, m.M360ID, completed); err != nil {
				return err
			}
		}
	}
	next.HLHash = hash
	return c.saveMapping(ctx, l, m, next, complete)
}

// highLevelTaskGone is flow 6 for a HighLevel task that is gone: its
// Marketing 360 task is deleted, once. Flow 3's task deleted in HighLevel
// leaves its Marketing 360 task, the original, alone.
func (c *Converger) highLevelTaskGone(ctx context.Context, log *slog.Logger, l *ledger, a Converge, m state.Mapping,
	complete func(context.Context, *state.Tx) error) error {
	if m.Origin != state.OriginHighLevel {
		if m.M360ID == "" || m.HLHash == hashDeleted {
			log.InfoContext(ctx, "HighLevel task is gone; nothing to sync")
			return c.done(ctx, l, complete)
		}
		next := m
		next.HLHash = hashDeleted
		log.InfoContext(ctx, "HighLevel task made from Marketing 360 is gone; the Marketing 360 task stays", logkey.Entity, m.M360ID)
		return c.saveMapping(ctx, l, m, next, complete)
	}
	return c.deleteCounterpart(ctx, log, l, m, func(ctx context.Context, id int64) error {
		contact, err := c.kinContact(ctx, l, a.Tenant, a.Parent)
		if err != nil {
			return err
		}
		return c.m360.DeleteTask(ctx, contact, id)
	}, complete)
}

// updateM360Task moves Marketing 360 task taskID by change, writing only
// what differs (title, description, due date, completion), and returns the
// hash of the task as it then is: hashDeleted when it is gone.
func (c *Converger) updateM360Task(ctx context.Context, log *slog.Logger, contact int64, taskID string, change taskChange) (string, error) {
	id, err := parseM360ID(taskID)
	if err != nil {
		return "", err
	}
	cur, err := c.m360.Task(ctx, contact, id)
	switch {
	case m360api.IsNotFound(err):
		log.WarnContext(ctx, "the Marketing 360 task was deleted there; not made again", logkey.Entity, taskID)
		return hashDeleted, nil
	case err != nil:
		return "", err
	}
	have := m360TaskContent(cur)
	want := change(have)
	if d, changed := diffTasks(have, want); changed {
		in := m360api.TaskUpdate{Title: d.title, Description: d.body, DueAt: d.due, Completed: d.completed}
		if err := c.m360.UpdateTask(ctx, contact, id, in); err != nil {
			return "", err
		}
		have = want
	}
	return hashOf(have)
}

// mapping returns the mapping of a record by its HighLevel id (when hlID
// is set) or its Marketing 360 id; the zero Mapping when there is none.
func (c *Converger) mapping(ctx context.Context, kind, tenant, hlID, m360ID string) (state.Mapping, error) {
	var m state.Mapping
	var err error
	if hlID != "" {
		m, err = c.db.MappingByHighLevel(ctx, kind, tenant, hlID)
	} else {
		m, err = c.db.MappingByM360(ctx, kind, tenant, m360ID)
	}
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return state.Mapping{}, fmt.Errorf("engine: %s mapping: %w", kind, err)
	}
	return m, nil
}

// saveMapping stores next (a new mapping when old has no ID, else old
// rewritten), unless it equals old, and completes the job in the same
// transaction, through l (see ledger.close). A mapping another job of the
// same entity stored meanwhile (a second job runs beside a running one) is
// rewritten, not duplicated: the new mapping is inserted first, and read
// only when the insert conflicts, which is rare (one statement, not two,
// for a new record). A mapping is rewritten only as old was read: one
// another job changed since (a job of the other side's record, whose lock
// is another) fails the job with state.ErrConflict, and its retry reads
// it anew, so that what that job stored is not undone.
func (c *Converger) saveMapping(ctx context.Context, l *ledger, old, next state.Mapping, complete func(context.Context, *state.Tx) error) error {
	next.ID, next.UpdatedAt = old.ID, old.UpdatedAt
	changed := next != old
	next.UpdatedAt = c.now()
	return l.close(ctx, func(ctx context.Context, tx *state.Tx) error {
		was := old
		if old.ID == 0 {
			_, err := tx.CreateMapping(ctx, next)
			switch {
			case err == nil:
				return complete(ctx, tx)
			case !errors.Is(err, state.ErrConflict):
				return fmt.Errorf("engine: %s %s: %w", next.Kind, next.HLID, err)
			}
			cur, rerr := tx.MappingByHighLevel(ctx, next.Kind, next.Tenant, next.HLID)
			if next.HLID == "" {
				cur, rerr = tx.MappingByM360(ctx, next.Kind, next.Tenant, next.M360ID)
			}
			switch {
			case errors.Is(rerr, state.ErrNotFound):
				// The other side's id is mapped elsewhere.
				return fmt.Errorf("engine: %s %s: %w", next.Kind, next.HLID, err)
			case rerr != nil:
				return fmt.Errorf("engine: %s %s: %w", next.Kind, next.HLID, rerr)
			}
			next.ID, was = cur.ID, cur
		}
		if changed {
			if err := tx.UpdateMapping(ctx, was, next); err != nil {
				return fmt.Errorf("engine: %s %s: %w", next.Kind, next.HLID, err)
			}
		}
		return complete(ctx, tx)
	})
}

// create runs r, the create of a record not mapped yet, and returns the
// record's id, its success owed to l (paid with the mapping the caller
// saves). ok is false when the job goes no further: r failed (err), or it
// was given up on (runEffect logged it) and the job is completed.
func (c *Converger) create(ctx context.Context, l *ledger, r effectRun, complete func(context.Context, *state.Tx) error) (id string, ok bool, err error) {
	made, err := c.runEffect(ctx, l, r)
	switch {
	case err != nil:
		return "", false, err
	case made.id == "":
		return "", false, c.done(ctx, l, complete)
	}
	return made.id, true, nil
}

// m360ContactOf is the Marketing 360 counterpart of HighLevel contact
// hlID; ErrNoCounterpart while it has none.
func (c *Converger) m360ContactOf(ctx context.Context, tenant, hlID string) (int64, error) {
	m, err := c.mapping(ctx, EntityContact, tenant, hlID, "")
	if err != nil {
		return 0, err
	}
	if m.M360ID == "" {
		return 0, fmt.Errorf("engine: HighLevel contact %s: %w", hlID, ErrNoCounterpart)
	}
	return parseM360ID(m.M360ID)
}

// kinMapping is mapping of a HighLevel record, read once in a children
// job's statement of its children's mappings (l.kin) when it is one of
// them and its flow has not read it yet.
func (c *Converger) kinMapping(ctx context.Context, l *ledger, kind, tenant, hlID string) (state.Mapping, error) {
	r := state.Record{Kind: kind, ID: hlID}
	if k := l.kin; k != nil && k.tenant == tenant && k.unread[r] {
		delete(k.unread, r)
		return k.mapped[r], nil
	}
	return c.mapping(ctx, kind, tenant, hlID, "")
}

// kinRead is HighLevel contact id as its job read it (l.kin), else read.
func (c *Converger) kinRead(ctx context.Context, l *ledger, id string) (highlevelapi.Contact, error) {
	if k := l.kin; k != nil && k.read != nil && k.read.Id == id {
		return *k.read, nil
	}
	return c.hl.Contact(ctx, id)
}

// kinTask is HighLevel task id of contact as its contact's list holds it,
// when the job listed them (l.kin): the list is a current read of each.
// One the list does not hold, or not listed, is read (the list is a
// moment old: one found gone is read again before its counterpart is
// deleted); so is one whose mapping m (read under its lock) was written
// since the list was read: another job converged a later version, which
// the list's would undo.
func (c *Converger) kinTask(ctx context.Context, l *ledger, m state.Mapping, contact, id string) (highlevelapi.Task, error) {
	if k := l.kin; k != nil && k.contact == contact && m.UpdatedAt.Before(k.listedAt) {
		if t, ok := k.tasks[id]; ok {
			return t, nil
		}
	}
	return c.hl.Task(ctx, contact, id)
}

// kinNote is kinTask for a note.
func (c *Converger) kinNote(ctx context.Context, l *ledger, m state.Mapping, contact, id string) (highlevelapi.Note, error) {
	if k := l.kin; k != nil && k.contact == contact && m.UpdatedAt.Before(k.listedAt) {
		if n, ok := k.notes[id]; ok {
			return n, nil
		}
	}
	return c.hl.Note(ctx, contact, id)
}

// kinContact is m360ContactOf, read once for the children of a
// children job that share l.kin: a contact's counterpart, once mapped,
// stays.
func (c *Converger) kinContact(ctx context.Context, l *ledger, tenant, hlID string) (int64, error) {
	k := l.kin
	if k == nil || k.tenant != tenant || k.contact != hlID {
		return c.m360ContactOf(ctx, tenant, hlID)
	}
	if k.m360 == 0 {
		id, err := c.m360ContactOf(ctx, tenant, hlID)
		if err != nil {
			return 0, err
		}
		k.m360 = id
	}
	return k.m360, nil
}

// highLevelContactOf is the HighLevel counterpart of Marketing 360 contact
// id and its location: the contact's externalIds.ghl, else its mapping
// under the converger's Location; ErrNoCounterpart while it has none. The
// HighLevel contact is read (a 404 matches highlevelapi.ErrNotFound).
func (c *Converger) highLevelContactOf(ctx context.Context, id int64) (hlID, location string, err error) {
	cur, err := c.m360.Contact(ctx, id)
	if err != nil {
		return "", "", err
	}
	hlID = deref(cur.ExternalIds.Ghl)
	if hlID == "" && c.location != "" {
		m, err := c.mapping(ctx, EntityContact, c.location, "", m360ID(id))
		if err != nil {
			return "", "", err
		}
		hlID = m.HLID
	}
	if hlID == "" {
		return "", "", fmt.Errorf("engine: Marketing 360 contact %d: %w", id, ErrNoCounterpart)
	}
	hl, err := c.hl.Contact(ctx, hlID)
	if err != nil {
		return "", "", err
	}
	if hl.Deleted != nil && *hl.Deleted {
		return "", "", fmt.Errorf("engine: HighLevel contact %s is deleted: %w", hlID, highlevelapi.ErrNotFound)
	}
	return hlID, hl.LocationId, nil
}

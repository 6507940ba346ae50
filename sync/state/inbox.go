package state

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Inbox sources: where an observation came from.
const (
	SourceHighLevelWebhook = "hl-webhook"
	SourceM360Webhook      = "m360-webhook"
	SourceHighLevelPoll    = "hl-poll"
	SourceM360Poll         = "m360-poll"
	SourceBackfill         = "backfill"
)

// Inbox states.
const (
	InboxNew     = "new"     // stored, its job enqueued
	InboxPlanned = "planned" // its job has planned the effects
	InboxIgnored = "ignored" // an event the sync does not act on (unknown type)
	InboxDead    = "dead"    // given up on
)

// InboxEvent is one observation, as received.
type InboxEvent struct {
	Source  string
	EventID string // HighLevel webhookId, Marketing 360 delivery id, poll: kind:id:version
	Tenant  string // HighLevel locationId, Marketing 360 accountId
	Type    string // ContactCreate, task.completed, ...
	// EntityKind and EntityID name what the event is about (contact, task,
	// note, appointment, event); EntityVersion is its version when the
	// event tells it.
	EntityKind, EntityID, EntityVersion string
	ReceivedAt                          time.Time
	Body                                []byte // the exact bytes received
	State                               string
}

// InsertInbox stores an event unless its (source, event id) is stored
// already: inserted is false for such a duplicate, which is left as it was.
func (q Queries) InsertInbox(ctx context.Context, e InboxEvent) (inserted bool, err error) {
	ok, err := q.InsertInboxes(ctx, []InboxEvent{e})
	if err != nil {
		return false, err
	}
	return ok[0], nil
}

// InsertInboxes is InsertInbox of each of es, in one statement for each
// batchRows of them: inserted tells of each whether it was stored (false
// for a duplicate of one stored before, or of one before it in es). All
// or nothing only in a transaction (a Tx's): on the DB, each statement
// commits on its own.
func (q Queries) InsertInboxes(ctx context.Context, es []InboxEvent) (inserted []bool, err error) {
	type id struct{ source, event string }
	stored := make(map[id]bool, len(es))
	for batch := range slices.Chunk(es, batchRows) {
		args := make([]any, 0, 10*len(batch))
		for _, e := range batch {
			args = append(args, e.Source, e.EventID, e.Tenant, e.Type, e.EntityKind, e.EntityID, e.EntityVersion,
				millis(e.ReceivedAt), e.Body, e.State)
		}
		ids, err := list(ctx, q, "insert inbox events", func(s scanner) (id, error) {
			var i id
			err := s.Scan(&i.source, &i.event)
			return i, err
		}, `INSERT INTO inbox (source, event_id, tenant, type, entity_kind, entity_id, entity_ver, received_at, body, state)
			VALUES `+rowsOf(len(batch), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")+`
			ON CONFLICT (source, event_id) DO NOTHING
			RETURNING source, event_id`, args...)
		if err != nil {
			return nil, err
		}
		for _, i := range ids {
			stored[i] = true
		}
	}
	inserted = make([]bool, len(es))
	for n, e := range es {
		i := id{e.Source, e.EventID}
		// A duplicate in es is the first's.
		inserted[n] = stored[i]
		delete(stored, i)
	}
	return inserted, nil
}

const inboxColumns = `source, event_id, tenant, type, entity_kind, entity_id, entity_ver, received_at, body, state`

func scanInbox(s scanner) (InboxEvent, error) {
	var e InboxEvent
	var at int64
	err := s.Scan(&e.Source, &e.EventID, &e.Tenant, &e.Type, &e.EntityKind, &e.EntityID, &e.EntityVersion, &at,
		&e.Body, &e.State)
	e.ReceivedAt = fromMillis(at)
	return e, err
}

// InboxEvent returns a stored event.
func (q Queries) InboxEvent(ctx context.Context, source, eventID string) (InboxEvent, error) {
	e, err := scanInbox(q.q.QueryRowContext(ctx,
		`SELECT `+inboxColumns+` FROM inbox WHERE source = ? AND event_id = ?`, source, eventID))
	if err != nil {
		return InboxEvent{}, scanErr(err, "inbox event "+source+"/"+eventID)
	}
	return e, nil
}

// SetInboxState moves a stored event to state.
func (q Queries) SetInboxState(ctx context.Context, source, eventID, state string) error {
	res, err := q.exec(ctx, "set inbox state", `UPDATE inbox SET state = ? WHERE source = ? AND event_id = ?`,
		state, source, eventID)
	if err != nil {
		return err
	}
	return one(res, "set inbox state of "+source+"/"+eventID)
}

// PlanInbox moves to InboxPlanned the events still InboxNew of the entity
// kind/id of tenant received up to through: those a job that began reading
// the entity at through has worked (it read the entity's state after them).
// It returns how many it moved.
func (q Queries) PlanInbox(ctx context.Context, kind, tenant, id string, through time.Time) (int64, error) {
	res, err := q.exec(ctx, "plan inbox events", `UPDATE inbox SET state = ?
		WHERE entity_kind = ? AND tenant = ? AND entity_id = ? AND received_at <= ? AND state = ?`,
		InboxPlanned, kind, tenant, id, millis(through), InboxNew)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("state: plan inbox events: %w", err)
	}
	return n, nil
}

// InboxFilter selects stored events; zero fields select all.
type InboxFilter struct {
	Source, Tenant, EntityKind, EntityID, State string
	// Since selects events received at or after it.
	Since time.Time
	// Limit caps how many are returned, oldest first (0: 1000).
	Limit int
}

// InboxEvents returns the stored events f selects, oldest first.
func (q Queries) InboxEvents(ctx context.Context, f InboxFilter) ([]InboxEvent, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	return list(ctx, q, "list inbox", scanInbox, `SELECT `+inboxColumns+` FROM inbox
		WHERE (? = '' OR source = ?) AND (? = '' OR tenant = ?) AND (? = '' OR entity_kind = ?)
		  AND (? = '' OR entity_id = ?) AND (? = '' OR state = ?) AND received_at >= ?
		ORDER BY received_at, source, event_id LIMIT ?`,
		f.Source, f.Source, f.Tenant, f.Tenant, f.EntityKind, f.EntityKind, f.EntityID, f.EntityID,
		f.State, f.State, millis(f.Since), f.Limit)
}

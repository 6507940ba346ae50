package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
)

// highLevelNote is flow 4 for notes (and flow 6's): a HighLevel note
// becomes a Marketing 360 note on its contact's counterpart (once, through
// the ledger); an edit rewrites it, a deletion deletes it once.
func (c *Converger) highLevelNote(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	if a.Parent == "" {
		log.WarnContext(ctx, "a HighLevel note event without its contactId: the note cannot be read; reconcile finds it")
		return c.done(ctx, l, complete)
	}
	m, err := c.kinMapping(ctx, l, EntityNote, a.Tenant, a.ID)
	if err != nil {
		return err
	}
	n, err := c.kinNote(ctx, l, m, a.Parent, a.ID)
	if highlevelapi.IsNotFound(err) {
		return c.deleteCounterpart(ctx, log, l, m, func(ctx context.Context, id int64) error {
			contact, err := c.kinContact(ctx, l, a.Tenant, a.Parent)
			if err != nil {
				return err
			}
			return c.m360.DeleteNote(ctx, contact, id)
		}, complete)
	}
	if err != nil {
		return err
	}
	contact, err := c.kinContact(ctx, l, a.Tenant, n.ContactId)
	if err != nil {
		return err
	}
	hash, err := hashOf(n.Body)
	if err != nil {
		return err
	}
	p, _ := childPlan(EntityNote, a.ID)
	return c.mirror(ctx, log, l, a, m, hash, mirrorCalls{
		plan:   p,
		create: func(key string) effectCall { return c.m360NoteCall(contact, key, n.Body) },
		update: func(ctx context.Context, id int64) error {
			return c.m360.UpdateNote(ctx, contact, id, m360api.NoteUpdate{Body: &n.Body})
		},
	}, complete)
}

// highLevelAppointment is flow 4 for appointments: a HighLevel appointment
// becomes a Marketing 360 calendar event with its contact's counterpart
// (once, through the ledger); a change rewrites it, a deletion deletes it
// once.
func (c *Converger) highLevelAppointment(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	m, err := c.mapping(ctx, EntityAppointment, a.Tenant, a.ID, "")
	if err != nil {
		return err
	}
	ap, err := c.hl.Appointment(ctx, a.ID)
	if highlevelapi.IsNotFound(err) {
		return c.deleteCounterpart(ctx, log, l, m, c.m360.DeleteEvent, complete)
	}
	if err != nil {
		return err
	}
	contact, err := c.m360ContactOf(ctx, a.Tenant, ap.ContactId)
	if err != nil {
		return err
	}
	want, err := desiredEvent(ap, contact)
	if err != nil {
		log.WarnContext(ctx, "HighLevel appointment has times that cannot be read; not mirrored", logkey.Err, err)
		return c.done(ctx, l, complete)
	}
	hash, err := hashOf(want)
	if err != nil {
		return err
	}
	return c.mirror(ctx, log, l, a, m, hash, mirrorCalls{
		plan:   plan{key: "f4:m360-event:" + a.ID, flow: flowTimeline, op: opCreateEvent},
		create: func(key string) effectCall { return c.m360EventCall(key, want) },
		update: func(ctx context.Context, id int64) error {
			status := m360api.EventUpdateStatus(*want.Status)
			return c.m360.UpdateEvent(ctx, id, m360api.EventUpdate{ContactId: &want.ContactId, Start: &want.Start,
				End: &want.End, Title: want.Title, Location: want.Location, Status: &status})
		},
	}, complete)
}

// mirrorCalls are how mirror makes and rewrites one kind of counterpart.
type mirrorCalls struct {
	plan   plan                                      // the create's effect
	create func(key string) effectCall               // the create
	update func(ctx context.Context, id int64) error // the rewrite of counterpart id
}

// mirror brings the counterpart of HighLevel record a (mapped as m) in
// line with its content's hash: created once through the ledger when there
// is none, rewritten when the hash differs from the one last written, left
// alone when it is the same (the sync's own write coming back) or when the
// record was deleted. The mapping and the job's completion commit together.
func (c *Converger) mirror(ctx context.Context, log *slog.Logger, l *ledger, a Converge, m state.Mapping, hash string, calls mirrorCalls,
	complete func(context.Context, *state.Tx) error) error {
	next := m
	switch {
	case m.M360Hash == hashDeleted:
		log.InfoContext(ctx, "the record was deleted; its counterpart is not made again")
		return c.done(ctx, l, complete)
	case m.M360ID == "":
		created, ok, err := c.create(ctx, l, effectRun{key: calls.plan.key, call: calls.create(calls.plan.key),
			plan: c.planned(a.Tenant, contactLane(a.Parent), calls.plan)}, complete)
		if !ok {
			return err
		}
		next = state.Mapping{Kind: a.EntityKind, Tenant: a.Tenant, HLID: a.ID, M360ID: created, Origin: state.OriginHighLevel}
	case m.M360Hash != hash:
		id, err := parseM360ID(m.M360ID)
		if err != nil {
			return err
		}
		err = calls.update(ctx, id)
		switch {
		case m360api.IsNotFound(err):
			log.WarnContext(ctx, "the counterpart was deleted in Marketing 360; not made again", logkey.Entity, m.M360ID)
			hash = hashDeleted
		case err != nil:
			return err
		}
	}
	next.HLHash, next.M360Hash = hash, hash
	return c.saveMapping(ctx, l, m, next, complete)
}

// deleteCounterpart deletes, once, the Marketing 360 counterpart of a
// HighLevel record that is gone (del deletes it by id), and records it in
// the mapping with the job's completion.
func (c *Converger) deleteCounterpart(ctx context.Context, log *slog.Logger, l *ledger, m state.Mapping,
	del func(ctx context.Context, id int64) error, complete func(context.Context, *state.Tx) error) error {
	if m.M360ID == "" || m.M360Hash == hashDeleted {
		log.InfoContext(ctx, "HighLevel record is gone and has no counterpart to delete")
		return c.done(ctx, l, complete)
	}
	id, err := parseM360ID(m.M360ID)
	if err != nil {
		return err
	}
	if err := del(ctx, id); err != nil && !m360api.IsNotFound(err) {
		return err
	}
	log.InfoContext(ctx, "HighLevel record is gone; its counterpart is deleted", logkey.Entity, m.M360ID)
	next := m
	next.HLHash, next.M360Hash = hashDeleted, hashDeleted
	return c.saveMapping(ctx, l, m, next, complete)
}

// desiredEvent is the Marketing 360 calendar event of HighLevel
// appointment ap with the contact's counterpart: its times, title,
// address and status (cancelled, completed, else scheduled).
func desiredEvent(ap highlevelapi.CalendarEventDTO, contact int64) (m360api.EventCreate, error) {
	start, err := time.Parse(time.RFC3339, ap.StartTime)
	if err != nil {
		return m360api.EventCreate{}, fmt.Errorf("engine: appointment %s start: %w", ap.Id, err)
	}
	end, err := time.Parse(time.RFC3339, ap.EndTime)
	if err != nil {
		return m360api.EventCreate{}, fmt.Errorf("engine: appointment %s end: %w", ap.Id, err)
	}
	status := m360api.EventCreateStatusScheduled
	switch ap.AppointmentStatus {
	case highlevelapi.CalendarEventDTOAppointmentStatusCancelled, highlevelapi.CalendarEventDTOAppointmentStatusNoshow,
		highlevelapi.CalendarEventDTOAppointmentStatusInvalid:
		status = m360api.EventCreateStatusCancelled
	case highlevelapi.CalendarEventDTOAppointmentStatusCompleted, highlevelapi.CalendarEventDTOAppointmentStatusShowed:
		status = m360api.EventCreateStatusCompleted
	}
	title := ap.Title
	return m360api.EventCreate{ContactId: contact, Start: start.Unix(), End: end.Unix(), Title: &title,
		Location: ap.Address, Status: &status}, nil
}

// m360EventCall creates calendar event in, marked with the effect key's
// marker in externalIds.ghl, and finds it by that marker.
func (c *Converger) m360EventCall(key string, in m360api.EventCreate) effectCall {
	marker := Marker(key)
	in.ExternalIds = &m360api.ExternalIdsInput{Ghl: &marker}
	return effectCall{
		create: func(ctx context.Context) (string, int, error) {
			got, err := c.m360.CreateEvent(ctx, in)
			if err != nil {
				return "", 0, err
			}
			return m360ID(got.Id), http.StatusCreated, nil
		},
		find: func(ctx context.Context) (string, error) {
			list, err := c.m360.Events(ctx, marker)
			if err != nil {
				return "", err
			}
			return firstID(list, func(e m360api.Event) int64 { return e.Id }), nil
		},
	}
}

// hashOf is the hash of v's JSON: equal hashes need no write.
func hashOf(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("engine: hash: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

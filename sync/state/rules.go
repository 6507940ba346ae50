package state

import (
	"context"
	"strings"
	"time"
)

// RuleFlowPrefix starts the flow of every effect a user rule planned:
// "rule:<rule name>".
const RuleFlowPrefix = "rule:"

// Seen is the last snapshot the sync saw of an entity: what the next
// re-read is compared with to name its triggers.
type Seen struct {
	API, Kind, Tenant, ID string
	// Version tells this snapshot from the entity's others.
	Version string
	// Snapshot is the record's JSON as its API answered it (nil when
	// Gone).
	Snapshot []byte
	// Gone: the entity was deleted (or not found) when last seen.
	Gone      bool
	UpdatedAt time.Time
}

// Seen returns the last snapshot of an entity; ErrNotFound when it was
// never seen.
func (q Queries) Seen(ctx context.Context, api, kind, tenant, id string) (Seen, error) {
	s := Seen{API: api, Kind: kind, Tenant: tenant, ID: id}
	var at int64
	err := q.q.QueryRowContext(ctx, `SELECT version, snapshot, gone, updated_at FROM seen
		WHERE api = ? AND kind = ? AND tenant = ? AND entity_id = ?`, api, kind, tenant, id).
		Scan(&s.Version, &s.Snapshot, &s.Gone, &at)
	if err != nil {
		return Seen{}, scanErr(err, "seen "+api+"."+kind+" "+id)
	}
	s.UpdatedAt = fromMillis(at)
	return s, nil
}

// SaveSeen stores an entity's snapshot, replacing the last one. Save it in
// the transaction that completes the job that acted on it.
func (q Queries) SaveSeen(ctx context.Context, s Seen) error {
	snap := s.Snapshot
	if snap == nil {
		snap = []byte{}
	}
	_, err := q.exec(ctx, "save seen "+s.API+"."+s.Kind+" "+s.ID, `INSERT INTO seen
		(api, kind, tenant, entity_id, version, snapshot, gone, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (api, kind, tenant, entity_id) DO UPDATE SET version = excluded.version,
		  snapshot = excluded.snapshot, gone = excluded.gone, updated_at = excluded.updated_at`,
		s.API, s.Kind, s.Tenant, s.ID, s.Version, snap, s.Gone, millis(s.UpdatedAt))
	return err
}

// OpenRuleEffects returns up to limit of a lane's rule effects that are
// not done nor parked (pending, failed or inflight), the oldest first.
func (q Queries) OpenRuleEffects(ctx context.Context, lane string, limit int) ([]Effect, error) {
	return list(ctx, q, "open rule effects of "+lane, scanEffect, `SELECT `+effectColumns+` FROM effects
		WHERE lane = ? AND flow LIKE ? AND state IN (?, ?, ?) ORDER BY id LIMIT ?`,
		lane, RuleFlowPrefix+"%", EffectPending, EffectFailed, EffectInflight, limit)
}

// Park gives up on an effect that is pending, failed or inflight: dead,
// with the reason (unknown: the write may have happened). ErrConflict when
// it is done or dead already.
func (q Queries) Park(ctx context.Context, key string, f Failure, now time.Time) error {
	res, err := q.exec(ctx, "park effect "+key, `UPDATE effects
		SET state = ?, last_status = ?, last_error = ?,
		    outcome_unknown = CASE WHEN ? THEN 1 ELSE outcome_unknown END, updated_at = ?
		WHERE effect_key = ? AND state IN (?, ?, ?)`,
		EffectDead, f.Status, f.Err, f.OutcomeUnknown, millis(now), key, EffectPending, EffectFailed, EffectInflight)
	if err != nil {
		return err
	}
	return q.changedOrWhy(ctx, res, key, "park")
}

// ReplayRule puts up to limit of the parked (dead) effects of rule back to
// pending, due now, their unknown outcome cleared (a replay is the
// decision to send again), and returns them as they were.
func (q Queries) ReplayRule(ctx context.Context, rule string, now time.Time, limit int) ([]Effect, error) {
	parked, err := list(ctx, q, "parked effects of rule "+rule, scanEffect, `SELECT `+effectColumns+` FROM effects
		WHERE flow = ? AND state = ? ORDER BY id LIMIT ?`, RuleFlowPrefix+rule, EffectDead, limit)
	if err != nil {
		return nil, err
	}
	for _, e := range parked {
		if _, err := q.exec(ctx, "replay effect "+e.Key, `UPDATE effects
			SET state = ?, outcome_unknown = 0, next_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
			EffectPending, millis(now), millis(now), e.ID, EffectDead); err != nil {
			return nil, err
		}
	}
	return parked, nil
}

// RuleCount is how a rule's actions stand: Done, Parked (Unknown of them
// with an unknown outcome) and Pending (pending, failed or inflight), and
// the error of the one parked last.
type RuleCount struct {
	Rule                           string
	Done, Parked, Unknown, Pending int
	LastError                      string
	LastStatus                     int
	LastParked                     time.Time
}

// RuleCounts counts the actions of every rule that planned one, by rule.
func (q Queries) RuleCounts(ctx context.Context) ([]RuleCount, error) {
	type row struct {
		flow, state string
		unknown     bool
		n           int
	}
	rows, err := list(ctx, q, "rule counts", func(s scanner) (row, error) {
		var r row
		err := s.Scan(&r.flow, &r.state, &r.unknown, &r.n)
		return r, err
	}, `SELECT flow, state, outcome_unknown, COUNT(*) FROM effects WHERE flow LIKE ?
		GROUP BY flow, state, outcome_unknown ORDER BY flow`, RuleFlowPrefix+"%")
	if err != nil {
		return nil, err
	}
	var out []RuleCount
	for _, r := range rows {
		name := strings.TrimPrefix(r.flow, RuleFlowPrefix)
		if len(out) == 0 || out[len(out)-1].Rule != name {
			out = append(out, RuleCount{Rule: name})
		}
		c := &out[len(out)-1]
		switch r.state {
		case EffectDone:
			c.Done += r.n
		case EffectDead:
			c.Parked += r.n
			if r.unknown {
				c.Unknown += r.n
			}
		default:
			c.Pending += r.n
		}
	}
	for i := range out {
		if out[i].Parked == 0 {
			continue
		}
		e, err := scanEffect(q.q.QueryRowContext(ctx, `SELECT `+effectColumns+` FROM effects
			WHERE flow = ? AND state = ? ORDER BY updated_at DESC, id DESC LIMIT 1`, RuleFlowPrefix+out[i].Rule, EffectDead))
		if err != nil {
			return nil, scanErr(err, "last parked of rule "+out[i].Rule)
		}
		out[i].LastError, out[i].LastStatus, out[i].LastParked = e.LastError, e.LastStatus, e.UpdatedAt
	}
	return out, nil
}

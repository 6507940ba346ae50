package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Effect states.
const (
	EffectPending  = "pending"  // planned, not tried yet
	EffectInflight = "inflight" // the call is (or was, before a crash) under way
	EffectDone     = "done"     // the remote write happened; RemoteID names its record
	EffectFailed   = "failed"   // the last try failed; tried again from NextAt
	EffectDead     = "dead"     // given up on
)

// Effect is one intended remote write, keyed by business identity
// (welcome-note:<hlContactId>), never by an event id: a key is planned
// once, ever, and done at most once.
type Effect struct {
	ID       int64
	Key      string
	Flow     string // the rule that wants it
	Target   string // hl | m360
	Tenant   string
	Lane     string // one lane's effects run one at a time (a contact's)
	Op       string // upsert-contact, create-task, create-note, ...
	Request  []byte // the request body, marker included
	Marker   string // the token the remote record carries, to find it by
	State    string
	Attempts int
	NextAt   time.Time
	// InflightSince is when the last try started; OutcomeUnknown says a
	// try ended without knowing whether the write happened (look the
	// marker up before any new create).
	InflightSince  time.Time
	OutcomeUnknown bool
	RemoteID       string
	LastStatus     int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DoneAt         time.Time
}

// PlanEffect stores an effect as pending, due at e.NextAt (or now), unless
// its key is planned already: planned is false then, and the stored effect
// is left as it is, whatever its state.
func (q Queries) PlanEffect(ctx context.Context, e Effect, now time.Time) (planned bool, err error) {
	next := e.NextAt
	if next.IsZero() {
		next = now
	}
	res, err := q.exec(ctx, "plan effect "+e.Key, `INSERT INTO effects
		(effect_key, flow, target, tenant, lane, op, request, marker, state, next_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (effect_key) DO NOTHING`,
		e.Key, e.Flow, e.Target, e.Tenant, e.Lane, e.Op, e.Request, e.Marker, EffectPending, millis(next),
		millis(now), millis(now))
	if err != nil {
		return false, err
	}
	return changed(res, "plan effect "+e.Key)
}

const effectColumns = `id, effect_key, flow, target, tenant, lane, op, request, marker, state, attempts, next_at,
	inflight_since, outcome_unknown, remote_id, last_status, last_error, created_at, updated_at, done_at`

func scanEffect(s scanner) (Effect, error) {
	var e Effect
	var next, created, updated int64
	var inflight, done sql.NullInt64
	err := s.Scan(&e.ID, &e.Key, &e.Flow, &e.Target, &e.Tenant, &e.Lane, &e.Op, &e.Request, &e.Marker, &e.State,
		&e.Attempts, &next, &inflight, &e.OutcomeUnknown, &e.RemoteID, &e.LastStatus, &e.LastError, &created,
		&updated, &done)
	e.NextAt, e.CreatedAt, e.UpdatedAt = fromMillis(next), fromMillis(created), fromMillis(updated)
	e.InflightSince, e.DoneAt = fromNullMillis(inflight), fromNullMillis(done)
	return e, err
}

// Effect returns the effect with a key.
func (q Queries) Effect(ctx context.Context, key string) (Effect, error) {
	e, err := scanEffect(q.q.QueryRowContext(ctx, `SELECT `+effectColumns+` FROM effects WHERE effect_key = ?`, key))
	if err != nil {
		return Effect{}, scanErr(err, "effect "+key)
	}
	return e, nil
}

// Effects returns the effects of keys that are planned, by key (a key
// not planned is absent): one query for them all.
func (q Queries) Effects(ctx context.Context, keys []string) (map[string]Effect, error) {
	if len(keys) == 0 {
		return map[string]Effect{}, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	found, err := list(ctx, q, "effects", scanEffect, `SELECT `+effectColumns+` FROM effects WHERE effect_key IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Effect, len(found))
	for _, e := range found {
		out[e.Key] = e
	}
	return out, nil
}

// StartEffect records the intent to make an effect's call, to be committed
// before the call: inflight, one attempt more, since now. Only a pending or
// failed effect starts; ErrConflict for one in another state (inflight
// after a crash: resolve it first with FailEffect), ErrNotFound for none.
func (q Queries) StartEffect(ctx context.Context, key string, now time.Time) error {
	res, err := q.exec(ctx, "start effect "+key, `UPDATE effects
		SET state = ?, attempts = attempts + 1, inflight_since = ?, updated_at = ?
		WHERE effect_key = ? AND state IN (?, ?)`,
		EffectInflight, millis(now), millis(now), key, EffectPending, EffectFailed)
	if err != nil {
		return err
	}
	return q.changedOrWhy(ctx, res, key, "start")
}

// TakeEffect starts the effect key as StartEffect does when it is pending
// or failed, and returns it as it then is with started true; otherwise it
// returns it as it is (done, dead, or inflight) with started false. One
// statement where reading the effect and starting it take two.
func (q Queries) TakeEffect(ctx context.Context, key string, now time.Time) (e Effect, started bool, err error) {
	e, err = scanEffect(q.q.QueryRowContext(ctx, `UPDATE effects
		SET state = ?, attempts = attempts + 1, inflight_since = ?, updated_at = ?
		WHERE effect_key = ? AND state IN (?, ?)
		RETURNING `+effectColumns,
		EffectInflight, millis(now), millis(now), key, EffectPending, EffectFailed))
	switch {
	case err == nil:
		return e, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Effect{}, false, fmt.Errorf("state: take effect %s: %w", key, classify(err))
	}
	e, err = q.Effect(ctx, key)
	return e, false, err
}

// PlanAndTakeEffect is PlanEffect and TakeEffect in one: an effect whose
// key is new is stored started (inflight, one attempt, since now) and
// returned with started true, in one statement; one planned already is
// taken as TakeEffect takes it.
func (q Queries) PlanAndTakeEffect(ctx context.Context, e Effect, now time.Time) (_ Effect, started bool, err error) {
	es, took, err := q.PlanAndTakeEffects(ctx, []Effect{e}, now)
	if err != nil {
		return Effect{}, false, err
	}
	return es[0], took[0], nil
}

// PlanAndTakeEffects is PlanAndTakeEffect of each of es, in order: the new
// keys are stored started in one statement for each batchRows of them, and
// each key planned already is taken as TakeEffect takes it. It returns each
// effect as it then is and whether it started. A key twice in es starts
// once, with its first: its second finds it inflight (not started), as
// PlanAndTakeEffect run twice would. All or nothing only in a transaction
// (a Tx's): on the DB, each statement commits on its own.
func (q Queries) PlanAndTakeEffects(ctx context.Context, es []Effect, now time.Time) (_ []Effect, started []bool, err error) {
	at := millis(now)
	first := make(map[string]int, len(es)) // each key's first place in es
	distinct := make([]int, 0, len(es))
	for i, e := range es {
		if _, ok := first[e.Key]; !ok {
			first[e.Key] = i
			distinct = append(distinct, i)
		}
	}
	ids := make(map[string]int64, len(es)) // of the keys stored new
	for batch := range slices.Chunk(distinct, batchRows) {
		args := make([]any, 0, 13*len(batch))
		for _, i := range batch {
			e := es[i]
			args = append(args, e.Key, e.Flow, e.Target, e.Tenant, e.Lane, e.Op, e.Request, e.Marker, EffectInflight, at, at, at, at)
		}
		if err := keyedIDs(ctx, q, "plan effects", ids, `INSERT INTO effects
			(effect_key, flow, target, tenant, lane, op, request, marker, state, attempts, next_at, inflight_since, created_at, updated_at)
			VALUES `+rowsOf(len(batch), "(?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)")+`
			ON CONFLICT (effect_key) DO NOTHING
			RETURNING effect_key, id`, args...); err != nil {
			return nil, nil, err
		}
	}
	out, started := make([]Effect, len(es)), make([]bool, len(es))
	stamp := fromMillis(at)
	for i, e := range es {
		if id, ok := ids[e.Key]; ok && first[e.Key] == i {
			e.ID, e.State, e.Attempts, e.NextAt, e.InflightSince, e.CreatedAt, e.UpdatedAt = id, EffectInflight, 1, stamp, stamp, stamp, stamp
			out[i], started[i] = e, true
			continue
		}
		if out[i], started[i], err = q.TakeEffect(ctx, e.Key, now); err != nil {
			return nil, nil, err
		}
	}
	return out, started, nil
}

// keyedIDs runs query, which returns rows of a key and an id, and adds
// them to ids.
func keyedIDs(ctx context.Context, q Queries, what string, ids map[string]int64, query string, args ...any) error {
	type keyed struct {
		key string
		id  int64
	}
	found, err := list(ctx, q, what, func(s scanner) (keyed, error) {
		var k keyed
		err := s.Scan(&k.key, &k.id)
		return k, err
	}, query, args...)
	if err != nil {
		return err
	}
	for _, k := range found {
		ids[k.key] = k.id
	}
	return nil
}

// changedOrWhy tells, after an update guarded by state, why it changed
// nothing: ErrNotFound or ErrConflict (the effect is in another state).
func (q Queries) changedOrWhy(ctx context.Context, res sql.Result, key, what string) error {
	err := one(res, what+" effect "+key)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	return q.whyNot(ctx, key, what)
}

// whyNot is why an update guarded by state changed nothing of effect key:
// ErrNotFound, or ErrConflict (it is in another state).
func (q Queries) whyNot(ctx context.Context, key, what string) error {
	e, err := q.Effect(ctx, key)
	if err != nil {
		return err
	}
	return fmt.Errorf("state: %s effect %s: it is %s: %w", what, key, e.State, ErrConflict)
}

// CompleteEffect records that an inflight effect's write happened, as
// remoteID (status is the answer's HTTP status; 0 when the record was
// found by its marker). ErrConflict when the effect is not inflight.
func (q Queries) CompleteEffect(ctx context.Context, key, remoteID string, status int, now time.Time) error {
	return q.CompleteEffects(ctx, []Completion{{Key: key, RemoteID: remoteID, Status: status, At: now}})
}

// Completion is a write of an inflight effect that happened: see
// CompleteEffect.
type Completion struct {
	Key, RemoteID string
	Status        int
	At            time.Time
}

// CompleteEffects is CompleteEffect of each of cs, in one statement for
// each batchRows of them. ErrConflict for the first of cs that is not
// inflight, and for a key twice in cs (the second would find it done),
// which is refused before any is written. All or nothing only in a
// transaction (a Tx's): on the DB, the statements before the one that
// finds a conflict stay committed.
func (q Queries) CompleteEffects(ctx context.Context, cs []Completion) error {
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		if seen[c.Key] {
			return fmt.Errorf("state: complete effect %s: twice in one batch: %w", c.Key, ErrConflict)
		}
		seen[c.Key] = true
	}
	done := make(map[string]int64, len(cs))
	for batch := range slices.Chunk(cs, batchRows) {
		args := make([]any, 0, 4*len(batch)+2)
		args = append(args, EffectDone)
		for _, c := range batch {
			args = append(args, c.Key, c.RemoteID, c.Status, millis(c.At))
		}
		args = append(args, EffectInflight)
		// Postgres would type the VALUES' parameters as text but for the
		// casts; its VALUES name their columns column1, … as SQLite's do.
		if err := keyedIDs(ctx, q, "complete effects", done, `UPDATE effects
			SET state = ?, remote_id = v.column2, last_status = v.column3, last_error = '', done_at = v.column4, updated_at = v.column4
			FROM (VALUES `+rowsOf(len(batch), "(?, ?, CAST(? AS INTEGER), CAST(? AS BIGINT))")+`) AS v
			WHERE effects.effect_key = v.column1 AND effects.state = ?
			RETURNING effects.effect_key, effects.id`, args...); err != nil {
			return err
		}
		for _, c := range batch {
			if _, ok := done[c.Key]; !ok {
				return q.whyNot(ctx, c.Key, "complete")
			}
		}
	}
	return nil
}

// RenewEffect stamps inflight effect key as started at now when it is still
// the start its caller made (inflight since since, after attempts tries),
// and reports whether it was, with the stamp as stored: a start whose call
// comes a while after its intent committed (started with others, or ahead
// of its batch) is then not taken for one a crash left.
func (q Queries) RenewEffect(ctx context.Context, key string, since time.Time, attempts int, now time.Time) (time.Time, bool, error) {
	res, err := q.exec(ctx, "renew effect "+key, `UPDATE effects SET inflight_since = ?, updated_at = ?
		WHERE effect_key = ? AND state = ? AND inflight_since = ? AND attempts = ?`,
		millis(now), millis(now), key, EffectInflight, millis(since), attempts)
	if err != nil {
		return time.Time{}, false, err
	}
	ok, err := changed(res, "renew effect "+key)
	return fromMillis(millis(now)), ok, err
}

// ReleaseEffect gives back effect e, inflight as its caller started it
// (since e.InflightSince, after e.Attempts tries) and not sent: removed
// when that start also planned it (its one attempt, planned and started at
// once by PlanAndTakeEffect: as if never planned), else failed as f says.
// It reports whether it did: an effect no longer as that start left it
// (another worker took it over, or it is not inflight) is left as it is.
func (q Queries) ReleaseEffect(ctx context.Context, e Effect, f Failure, now time.Time) (bool, error) {
	res, err := q.exec(ctx, "release effect "+e.Key, `DELETE FROM effects
		WHERE effect_key = ? AND state = ? AND attempts = 1 AND created_at = inflight_since AND inflight_since = ?`,
		e.Key, EffectInflight, millis(e.InflightSince))
	if err != nil {
		return false, err
	}
	if removed, err := changed(res, "release effect "+e.Key); err != nil || removed {
		return removed, err
	}
	res, err = q.exec(ctx, "release effect "+e.Key, `UPDATE effects
		SET state = ?, last_status = ?, last_error = ?, next_at = ?, updated_at = ?
		WHERE effect_key = ? AND state = ? AND inflight_since = ? AND attempts = ?`,
		EffectFailed, f.Status, f.Err, millis(f.NextAt), millis(now), e.Key, EffectInflight, millis(e.InflightSince), e.Attempts)
	if err != nil {
		return false, err
	}
	return changed(res, "release effect "+e.Key)
}

// Failure is how a try of an effect ended without success.
type Failure struct {
	Status int    // the answer's HTTP status; 0 when none came
	Err    string // why, as logged (never a secret)
	// NextAt is when to try again; ignored when Dead.
	NextAt time.Time
	// OutcomeUnknown: the write may have happened (timeout, reset, 5xx
	// after the request was sent, found inflight after a crash). It stays
	// set until the effect is done.
	OutcomeUnknown bool
	// Dead gives up on the effect.
	Dead bool
}

// FailEffect records a failed try of an inflight effect: failed (or dead)
// with the reason. ErrConflict when the effect is not inflight.
func (q Queries) FailEffect(ctx context.Context, key string, f Failure, now time.Time) error {
	st := EffectFailed
	if f.Dead {
		st = EffectDead
	}
	res, err := q.exec(ctx, "fail effect "+key, `UPDATE effects
		SET state = ?, last_status = ?, last_error = ?, next_at = ?,
		    outcome_unknown = CASE WHEN ? THEN 1 ELSE outcome_unknown END, updated_at = ?
		WHERE effect_key = ? AND state = ?`,
		st, f.Status, f.Err, millis(f.NextAt), f.OutcomeUnknown, millis(now), key, EffectInflight)
	if err != nil {
		return err
	}
	return q.changedOrWhy(ctx, res, key, "fail")
}

// ReadyEffects returns up to limit effects due at now (pending or failed,
// NextAt passed), the earliest first.
func (q Queries) ReadyEffects(ctx context.Context, now time.Time, limit int) ([]Effect, error) {
	return list(ctx, q, "ready effects", scanEffect, `SELECT `+effectColumns+` FROM effects
		WHERE state IN (?, ?) AND next_at <= ? ORDER BY next_at, id LIMIT ?`,
		EffectPending, EffectFailed, millis(now), limit)
}

// StaleEffects returns up to limit effects inflight since before cutoff:
// tries that a crash or a lost answer left without an outcome.
func (q Queries) StaleEffects(ctx context.Context, cutoff time.Time, limit int) ([]Effect, error) {
	return list(ctx, q, "stale effects", scanEffect, `SELECT `+effectColumns+` FROM effects
		WHERE state = ? AND inflight_since < ? ORDER BY inflight_since, id LIMIT ?`,
		EffectInflight, millis(cutoff), limit)
}

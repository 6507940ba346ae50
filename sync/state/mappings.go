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

// Mapping origins: which side a mapped pair started on.
const (
	OriginHighLevel = "hl"
	OriginM360      = "m360"
)

// Mapping pairs a HighLevel record with its Marketing 360 counterpart, and
// remembers what each side was last written or seen with, so that the
// sync's own writes coming back as webhooks are recognised (echo
// suppression). Either id may be empty while the other side's record is
// still to be made; each side's id maps once per kind and tenant.
type Mapping struct {
	ID     int64
	Kind   string // contact, task, note, event
	Tenant string
	HLID   string
	M360ID string
	Origin string
	// HLHash and M360Hash are hashes of the mapped fields as last written
	// or seen on each side; HLVersion and M360Version their versions.
	HLHash, M360Hash       string
	HLVersion, M360Version string
	UpdatedAt              time.Time
}

// CreateMapping stores a new mapping and returns its id; ErrConflict when
// either id is mapped already (two unique keys: hence no conflict target,
// which would name one of them). The conflict is not a failed statement
// (ON CONFLICT DO NOTHING), so a transaction goes on after it on Postgres
// too, which aborts a transaction at its first error: a caller may insert
// first and read the mapping only on a conflict.
func (q Queries) CreateMapping(ctx context.Context, m Mapping) (int64, error) {
	var id int64
	err := q.q.QueryRowContext(ctx, `INSERT INTO mappings
		(kind, tenant, hl_id, m360_id, origin, hl_hash, m360_hash, hl_ver, m360_ver, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		m.Kind, m.Tenant, nullString(m.HLID), nullString(m.M360ID), m.Origin, m.HLHash, m.M360Hash,
		m.HLVersion, m.M360Version, millis(m.UpdatedAt)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("state: create %s mapping %s/%s: %w", m.Kind, m.HLID, m.M360ID, ErrConflict)
	case err != nil:
		return 0, fmt.Errorf("state: create %s mapping %s/%s: %w", m.Kind, m.HLID, m.M360ID, classify(err))
	}
	return id, nil
}

// UpdateMapping rewrites stored mapping was (by its ID) as m, if it is
// still as was (its hashes, versions and update time): ErrConflict when
// another write changed it since it was read (the caller reads it anew),
// or when a new id is mapped elsewhere; ErrNotFound when there is none.
func (q Queries) UpdateMapping(ctx context.Context, was, m Mapping) error {
	res, err := q.exec(ctx, "update mapping", `UPDATE mappings SET hl_id = ?, m360_id = ?, hl_hash = ?, m360_hash = ?,
		hl_ver = ?, m360_ver = ?, updated_at = ?
		WHERE id = ? AND hl_hash = ? AND m360_hash = ? AND hl_ver = ? AND m360_ver = ? AND updated_at = ?`,
		nullString(m.HLID), nullString(m.M360ID), m.HLHash, m.M360Hash, m.HLVersion, m.M360Version,
		millis(m.UpdatedAt), was.ID, was.HLHash, was.M360Hash, was.HLVersion, was.M360Version, millis(was.UpdatedAt))
	if err != nil {
		return err
	}
	err = one(res, fmt.Sprintf("update mapping %d", was.ID))
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	var n int
	switch err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM mappings WHERE id = ?`, was.ID).Scan(&n); {
	case err != nil:
		return fmt.Errorf("state: update mapping %d: %w", was.ID, classify(err))
	case n == 0:
		return fmt.Errorf("state: update mapping %d: %w", was.ID, ErrNotFound)
	}
	return fmt.Errorf("state: update mapping %d: changed since it was read: %w", was.ID, ErrConflict)
}

const mappingColumns = `id, kind, tenant, hl_id, m360_id, origin, hl_hash, m360_hash, hl_ver, m360_ver, updated_at`

func scanMapping(s scanner) (Mapping, error) {
	var m Mapping
	var hl, m360 sql.NullString
	var at int64
	err := s.Scan(&m.ID, &m.Kind, &m.Tenant, &hl, &m360, &m.Origin, &m.HLHash, &m.M360Hash, &m.HLVersion,
		&m.M360Version, &at)
	m.HLID, m.M360ID, m.UpdatedAt = hl.String, m360.String, fromMillis(at)
	return m, err
}

// MappingByHighLevel returns the mapping of a HighLevel record.
func (q Queries) MappingByHighLevel(ctx context.Context, kind, tenant, hlID string) (Mapping, error) {
	return q.mappingBy(ctx, "hl_id", kind, tenant, hlID)
}

// MappingByM360 returns the mapping of a Marketing 360 record.
func (q Queries) MappingByM360(ctx context.Context, kind, tenant, m360ID string) (Mapping, error) {
	return q.mappingBy(ctx, "m360_id", kind, tenant, m360ID)
}

// mappingBy looks a mapping up by one side's id; column is a constant.
func (q Queries) mappingBy(ctx context.Context, column, kind, tenant, id string) (Mapping, error) {
	m, err := scanMapping(q.q.QueryRowContext(ctx,
		`SELECT `+mappingColumns+` FROM mappings WHERE kind = ? AND tenant = ? AND `+column+` = ?`, kind, tenant, id))
	if err != nil {
		return Mapping{}, scanErr(err, fmt.Sprintf("%s mapping %s=%s", kind, column, id))
	}
	return m, nil
}

// Record names a record of one side: its entity kind and id.
type Record struct{ Kind, ID string }

// MappingsByHighLevel returns the mappings of the HighLevel records of
// tenant that have one, keyed by record: one statement for each batchRows
// records, where MappingByHighLevel looks each up by its kind and id.
func (q Queries) MappingsByHighLevel(ctx context.Context, tenant string, records []Record) (map[Record]Mapping, error) {
	out := make(map[Record]Mapping, len(records))
	for batch := range slices.Chunk(records, batchRows) {
		args := make([]any, 0, 3*len(batch))
		for _, r := range batch {
			args = append(args, r.Kind, tenant, r.ID)
		}
		// Each term is a lookup by the unique key (kind, tenant, hl_id).
		found, err := list(ctx, q, "list mappings by HighLevel id", scanMapping, `SELECT `+mappingColumns+` FROM mappings
			WHERE (kind = ? AND tenant = ? AND hl_id = ?)`+strings.Repeat(" OR (kind = ? AND tenant = ? AND hl_id = ?)", len(batch)-1), args...)
		if err != nil {
			return nil, err
		}
		for _, m := range found {
			out[Record{Kind: m.Kind, ID: m.HLID}] = m
		}
	}
	return out, nil
}

// nullString stores "" as NULL, so that unmapped sides do not collide in
// the unique keys.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// MappingsOfLane returns the mappings of kind in tenant whose counterpart
// an effect of lane made, the effect's key being keyPrefix followed by the
// mapped HighLevel id (a HighLevel contact's tasks and notes: their effects
// run in the contact's lane), but those with a hash equal to except, oldest
// first.
func (q Queries) MappingsOfLane(ctx context.Context, kind, tenant, lane, keyPrefix, except string) ([]Mapping, error) {
	return list(ctx, q, "list "+kind+" mappings of lane "+lane, scanMapping, `SELECT `+mappingColumns+` FROM mappings
		WHERE kind = ? AND tenant = ? AND hl_hash <> ? AND m360_hash <> ? AND hl_id IN (
		  SELECT substr(effect_key, ?) FROM effects WHERE lane = ? AND substr(effect_key, 1, ?) = ?)
		ORDER BY id`, kind, tenant, except, except, len(keyPrefix)+1, lane, len(keyPrefix), keyPrefix)
}

// MappingsOfKind returns the mappings of kind in tenant that have a
// HighLevel id, but those with a hash equal to except, oldest first.
func (q Queries) MappingsOfKind(ctx context.Context, kind, tenant, except string) ([]Mapping, error) {
	return list(ctx, q, "list "+kind+" mappings", scanMapping, `SELECT `+mappingColumns+` FROM mappings
		WHERE kind = ? AND tenant = ? AND hl_id IS NOT NULL AND hl_hash <> ? AND m360_hash <> ? ORDER BY id`,
		kind, tenant, except, except)
}

package state

import (
	"context"
	"time"
)

// Status is what the database holds, counted, for `sync status`.
type Status struct {
	// Inbox counts the stored events by source and state
	// ("hl-webhook/new"); Effects the effects by state; Mappings the
	// mapped pairs by kind.
	Inbox, Effects, Mappings map[string]int
	// Cursors are every stream's cursor, by name.
	Cursors []Cursor
	// RateLimited counts the answers 429 by API (hl, m360), as the sync
	// recorded them (AddRateLimited).
	RateLimited map[string]int64
	// Failing are the last effects that failed or were given up on, the
	// latest first.
	Failing []Effect
	// LastEvent is when the newest event was stored (zero: none).
	LastEvent time.Time
}

// Status counts the inbox, effects, mappings and 429s, and lists the
// cursors and up to failing of the effects that failed last.
func (q Queries) Status(ctx context.Context, failing int) (Status, error) {
	st := Status{Inbox: map[string]int{}, Effects: map[string]int{}, Mappings: map[string]int{}}
	type count struct {
		key string
		n   int
	}
	scanCount := func(s scanner) (count, error) {
		var c count
		err := s.Scan(&c.key, &c.n)
		return c, err
	}
	for _, g := range []struct {
		into  map[string]int
		query string
	}{
		{st.Inbox, `SELECT source || '/' || state, COUNT(*) FROM inbox GROUP BY source, state`},
		{st.Effects, `SELECT state, COUNT(*) FROM effects GROUP BY state`},
		{st.Mappings, `SELECT kind, COUNT(*) FROM mappings GROUP BY kind`},
	} {
		counts, err := list(ctx, q, "status", scanCount, g.query)
		if err != nil {
			return Status{}, err
		}
		for _, c := range counts {
			g.into[c.key] = c.n
		}
	}
	var err error
	if st.Cursors, err = list(ctx, q, "list cursors", func(s scanner) (Cursor, error) {
		var c Cursor
		var overlap, at int64
		err := s.Scan(&c.Stream, &c.Tenant, &c.Value, &overlap, &at)
		c.Overlap, c.UpdatedAt = time.Duration(overlap)*time.Millisecond, fromMillis(at)
		return c, err
	}, `SELECT stream, tenant, value, overlap_ms, updated_at FROM cursors WHERE stream NOT LIKE ? ORDER BY stream`,
		rateLimitedPrefix+"%"); err != nil {
		return Status{}, err
	}
	if st.RateLimited, err = q.RateLimited(ctx); err != nil {
		return Status{}, err
	}
	if st.Failing, err = list(ctx, q, "failing effects", scanEffect, `SELECT `+effectColumns+` FROM effects
		WHERE state IN (?, ?) ORDER BY updated_at DESC, id DESC LIMIT ?`, EffectFailed, EffectDead, failing); err != nil {
		return Status{}, err
	}
	var last int64
	if err := q.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(received_at), 0) FROM inbox`).Scan(&last); err != nil {
		return Status{}, scanErr(err, "last event")
	}
	st.LastEvent = fromMillis(last)
	return st, nil
}

// RecentEffects lists, for each flow, up to perFlow of its effects that
// changed last, by flow and then the latest first.
func (q Queries) RecentEffects(ctx context.Context, perFlow int) ([]Effect, error) {
	return list(ctx, q, "recent effects", scanEffect, `SELECT `+effectColumns+` FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY flow ORDER BY updated_at DESC, id DESC) AS nth FROM effects)
		WHERE nth <= ? ORDER BY flow, updated_at DESC, id DESC`, perFlow)
}

// InboxCount is how many stored events of a source and type are in a
// state.
type InboxCount struct {
	Source, Type, State string
	N                   int
}

// InboxCounts counts the stored events by source, type and state.
func (q Queries) InboxCounts(ctx context.Context) ([]InboxCount, error) {
	return list(ctx, q, "count events", func(s scanner) (InboxCount, error) {
		var c InboxCount
		err := s.Scan(&c.Source, &c.Type, &c.State, &c.N)
		return c, err
	}, `SELECT source, type, state, COUNT(*) FROM inbox GROUP BY source, type, state ORDER BY source, type, state`)
}

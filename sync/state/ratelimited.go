package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rateLimitedPrefix names the cursors rows that count an API's answers
// 429: "rate-limited:<api>", the count as its value. They live among the
// cursors, a table of named values, so that counting needs no table of its
// own; Status lists them apart.
const rateLimitedPrefix = "rate-limited:"

// AddRateLimited adds n to the answers 429 Too Many Requests counted for
// api (hl, m360), as of at.
func (d *DB) AddRateLimited(ctx context.Context, api string, n int64, at time.Time) error {
	if n <= 0 {
		return nil
	}
	return d.Tx(ctx, func(tx *Tx) error {
		stream := rateLimitedPrefix + api
		var had int64
		c, err := tx.Cursor(ctx, stream)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			if had, err = strconv.ParseInt(c.Value, 10, 64); err != nil {
				return fmt.Errorf("state: 429 count of %s %q: %w", api, c.Value, err)
			}
		}
		return tx.SaveCursor(ctx, Cursor{Stream: stream, Value: strconv.FormatInt(had+n, 10), UpdatedAt: at})
	})
}

// RateLimited returns the answers 429 counted for each API.
func (q Queries) RateLimited(ctx context.Context) (map[string]int64, error) {
	counts, err := list(ctx, q, "429 counts", func(s scanner) (Cursor, error) {
		var c Cursor
		err := s.Scan(&c.Stream, &c.Value)
		return c, err
	}, `SELECT stream, value FROM cursors WHERE stream LIKE ? ORDER BY stream`, rateLimitedPrefix+"%")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, c := range counts {
		n, err := strconv.ParseInt(c.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("state: 429 count %s %q: %w", c.Stream, c.Value, err)
		}
		out[strings.TrimPrefix(c.Stream, rateLimitedPrefix)] = n
	}
	return out, nil
}

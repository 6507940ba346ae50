package state

import (
	"context"
	"fmt"
	"time"
)

// Tokens are a connection's OAuth tokens. Generation counts the saves: a
// save names the generation it replaces, so that two processes refreshing
// at once cannot both win (the second one's rotated refresh token would be
// lost otherwise).
type Tokens struct {
	Access     string
	Refresh    string
	Expiry     time.Time
	Generation int64
	UpdatedAt  time.Time
}

// Tokens returns a tenant's stored tokens.
func (q Queries) Tokens(ctx context.Context, tenant string) (Tokens, error) {
	var t Tokens
	var exp, at int64
	err := q.q.QueryRowContext(ctx, `SELECT access_token, refresh_token, expires_at, generation, updated_at
		FROM tokens WHERE tenant = ?`, tenant).Scan(&t.Access, &t.Refresh, &exp, &t.Generation, &at)
	if err != nil {
		return Tokens{}, scanErr(err, "tokens of "+tenant)
	}
	t.Expiry, t.UpdatedAt = fromMillis(exp), fromMillis(at)
	return t, nil
}

// SaveTokens stores a tenant's tokens if the stored generation is
// wantGeneration (0: none stored yet), as generation wantGeneration+1; t's
// own Generation is ignored. ErrConflict when another save came first:
// read the tokens again, they are newer. t.UpdatedAt is the time of the
// save (the zero time stores 0).
func (q Queries) SaveTokens(ctx context.Context, tenant string, t Tokens, wantGeneration int64) error {
	if wantGeneration == 0 {
		_, err := q.exec(ctx, "save first tokens of "+tenant, `INSERT INTO tokens
			(tenant, access_token, refresh_token, expires_at, generation, updated_at) VALUES (?, ?, ?, ?, 1, ?)`,
			tenant, t.Access, t.Refresh, millis(t.Expiry), millis(t.UpdatedAt))
		return err
	}
	// Postgres can do the same, or take SELECT … FOR UPDATE first.
	res, err := q.exec(ctx, "save tokens of "+tenant, `UPDATE tokens
		SET access_token = ?, refresh_token = ?, expires_at = ?, generation = generation + 1, updated_at = ?
		WHERE tenant = ? AND generation = ?`,
		t.Access, t.Refresh, millis(t.Expiry), millis(t.UpdatedAt), tenant, wantGeneration)
	if err != nil {
		return err
	}
	if err := one(res, "save tokens of "+tenant); err != nil {
		return fmt.Errorf("state: save tokens of %s: generation %d is not the stored one: %w", tenant,
			wantGeneration, ErrConflict)
	}
	return nil
}

// Quota is the last rate-limit state an API reported for a tenant.
type Quota struct {
	Tenant, API     string
	WindowRemaining int
	WindowResetAt   time.Time
	DailyRemaining  int
	ObservedAt      time.Time
}

// SaveQuota stores a tenant's quota for an API, replacing the last one.
func (q Queries) SaveQuota(ctx context.Context, qt Quota) error {
	// Postgres: the same upsert, with EXCLUDED.
	_, err := q.exec(ctx, "save quota", `INSERT INTO quota
		(tenant, api, window_remaining, window_reset_at, daily_remaining, observed_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, api) DO UPDATE SET window_remaining = excluded.window_remaining,
		  window_reset_at = excluded.window_reset_at, daily_remaining = excluded.daily_remaining,
		  observed_at = excluded.observed_at`,
		qt.Tenant, qt.API, qt.WindowRemaining, millis(qt.WindowResetAt), qt.DailyRemaining, millis(qt.ObservedAt))
	return err
}

// Quota returns a tenant's last quota for an API.
func (q Queries) Quota(ctx context.Context, tenant, api string) (Quota, error) {
	qt := Quota{Tenant: tenant, API: api}
	var reset, at int64
	err := q.q.QueryRowContext(ctx, `SELECT window_remaining, window_reset_at, daily_remaining, observed_at
		FROM quota WHERE tenant = ? AND api = ?`, tenant, api).Scan(&qt.WindowRemaining, &reset, &qt.DailyRemaining, &at)
	if err != nil {
		return Quota{}, scanErr(err, "quota of "+tenant+"/"+api)
	}
	qt.WindowResetAt, qt.ObservedAt = fromMillis(reset), fromMillis(at)
	return qt, nil
}

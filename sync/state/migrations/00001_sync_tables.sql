-- The sync's own tables. Written for SQLite and Postgres alike; where the
-- two differ, the comment names the Postgres form. Times are Unix
-- milliseconds (INTEGER here, BIGINT on Postgres); bodies are BLOB here,
-- BYTEA on Postgres.

-- +goose Up

-- Every observation (webhook, poll item, backfill item), deduped at the door
-- by (source, event_id).
CREATE TABLE inbox (
    source      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    tenant      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    entity_kind TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    entity_ver  TEXT    NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    state       TEXT    NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX inbox_entity ON inbox (entity_kind, tenant, entity_id, received_at);
CREATE INDEX inbox_received ON inbox (received_at);

-- Counterpart ids, and what each side was last written or seen with (echo
-- suppression). One row per record pair; each side's id maps once.
CREATE TABLE mappings (
    -- Postgres: id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    tenant     TEXT    NOT NULL,
    hl_id      TEXT,
    m360_id    TEXT,
    origin     TEXT    NOT NULL,
    hl_hash    TEXT    NOT NULL DEFAULT '',
    m360_hash  TEXT    NOT NULL DEFAULT '',
    hl_ver     TEXT    NOT NULL DEFAULT '',
    m360_ver   TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    CHECK (hl_id IS NOT NULL OR m360_id IS NOT NULL),
    UNIQUE (kind, tenant, hl_id),
    UNIQUE (kind, tenant, m360_id)
);

-- The ledger of intended remote writes: exactly-once lives here.
CREATE TABLE effects (
    -- Postgres: id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    id              INTEGER PRIMARY KEY,
    effect_key      TEXT    NOT NULL UNIQUE,
    flow            TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    tenant          TEXT    NOT NULL,
    lane            TEXT    NOT NULL,
    op              TEXT    NOT NULL,
    request         BLOB    NOT NULL,
    marker          TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    inflight_since  INTEGER,
    -- Postgres: BOOLEAN NOT NULL DEFAULT FALSE
    outcome_unknown INTEGER NOT NULL DEFAULT 0,
    remote_id       TEXT    NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX effects_ready ON effects (state, next_at);
CREATE INDEX effects_lane ON effects (lane, id);

-- Where each poll or backfill stream stands.
CREATE TABLE cursors (
    stream     TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    overlap_ms INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

-- OAuth tokens per connection; generation is the compare-and-swap counter.
CREATE TABLE tokens (
    tenant        TEXT    PRIMARY KEY,
    access_token  TEXT    NOT NULL,
    refresh_token TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,
    generation    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The last rate-limit headers seen, so a restart does not burst.
CREATE TABLE quota (
    tenant           TEXT    NOT NULL,
    api              TEXT    NOT NULL,
    window_remaining INTEGER NOT NULL,
    window_reset_at  INTEGER NOT NULL,
    daily_remaining  INTEGER NOT NULL,
    observed_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, api)
);

-- The run log: polls, reconciles, backfills.
CREATE TABLE runs (
    -- Postgres: id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    tenant      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    stats       TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_kind ON runs (kind, started_at);

-- +goose Down
DROP TABLE runs;
DROP TABLE quota;
DROP TABLE tokens;
DROP TABLE cursors;
DROP TABLE effects;
DROP TABLE mappings;
DROP TABLE inbox;

-- What user rules need: the last snapshot the sync saw of each entity (the
-- triggers are the differences between it and the entity re-read), and an
-- index to count and replay effects by rule (effects.flow is "rule:<name>"
-- for a rule's action). Portable to Postgres as 00001 is (BLOB: BYTEA).

-- +goose Up

CREATE TABLE seen (
    api        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    tenant     TEXT    NOT NULL,
    entity_id  TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    -- the record's JSON as its API answered it; empty when gone
    snapshot   BLOB    NOT NULL,
    -- Postgres: BOOLEAN NOT NULL DEFAULT FALSE
    gone       INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (api, kind, tenant, entity_id)
);

CREATE INDEX effects_flow ON effects (flow, state);

-- +goose Down
DROP INDEX effects_flow;
DROP TABLE seen;

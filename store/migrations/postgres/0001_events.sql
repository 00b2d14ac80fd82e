-- The log: one row per entry, never updated or deleted by the service.
CREATE TABLE events (
    id              BIGINT PRIMARY KEY,
    time            TIMESTAMPTZ NOT NULL,
    occurred_time   TIMESTAMPTZ,
    event_type      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    object_repr     TEXT NOT NULL,
    details         TEXT NOT NULL,
    source_id       BIGINT NOT NULL,
    req_remote_addr TEXT NOT NULL,
    req_method      TEXT NOT NULL,
    req_path        TEXT NOT NULL,
    req_protocol    TEXT NOT NULL,
    req_status      INTEGER NOT NULL,
    req_user_agent  TEXT NOT NULL,
    req_request_id  TEXT NOT NULL,
    idempotency_key TEXT,
    hash            BYTEA NOT NULL,
    prev_hash       BYTEA NOT NULL,
    -- Case-folded copies of the fields that filters match ignoring case.
    actor_id_fold     TEXT NOT NULL,
    actor_name_fold   TEXT NOT NULL,
    content_type_fold TEXT NOT NULL
);

CREATE UNIQUE INDEX events_idempotency_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_event_type ON events (event_type, id);
CREATE INDEX events_actor_id ON events (actor_id_fold, id);
CREATE INDEX events_actor_name ON events (actor_name_fold, id);
CREATE INDEX events_content_type ON events (content_type_fold, id);
CREATE INDEX events_object ON events (object_id, id);
CREATE INDEX events_source ON events (source_id, id);
CREATE INDEX events_time ON events (time, id);

-- The head of the log: the last id and hash. Every append locks this row,
-- which serializes writers across server processes.
CREATE TABLE log_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT NOT NULL,
    last_hash BYTEA NOT NULL
);
INSERT INTO log_head (id, last_id, last_hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

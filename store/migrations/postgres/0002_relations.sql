-- The relation registry: directed edges between objects, along which new
-- entries propagate. Content types are matched ignoring case through the
-- folded copies; object ids and kinds exactly.
CREATE TABLE relations (
    from_type      TEXT NOT NULL,
    from_id        TEXT NOT NULL,
    to_type        TEXT NOT NULL,
    to_id          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    from_type_fold TEXT NOT NULL,
    to_type_fold   TEXT NOT NULL,
    created        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (from_type_fold, from_id, to_type_fold, to_id, kind)
);

CREATE INDEX relations_to ON relations (to_type_fold, to_id, from_type_fold, from_id, kind);

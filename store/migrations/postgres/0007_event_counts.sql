-- Counts of entries per hour (Unix hours, UTC), event type and folded
-- content type, kept by triggers as entries are written: counting a month
-- of entries by day reads a few thousand of these rows instead of every
-- entry (see Store.Count). Appends are serialized by the head row's lock,
-- so the upserts never contend with each other.
CREATE TABLE event_counts (
    hour              BIGINT NOT NULL,
    event_type        TEXT NOT NULL,
    content_type_fold TEXT NOT NULL,
    n                 BIGINT NOT NULL,
    PRIMARY KEY (hour, event_type, content_type_fold)
);

INSERT INTO event_counts (hour, event_type, content_type_fold, n)
    SELECT FLOOR(EXTRACT(EPOCH FROM time) / 3600)::BIGINT, event_type, content_type_fold, COUNT(*)
    FROM events GROUP BY 1, 2, 3;

CREATE FUNCTION eventlog_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_counts AS c (hour, event_type, content_type_fold, n)
        SELECT FLOOR(EXTRACT(EPOCH FROM time) / 3600)::BIGINT, event_type, content_type_fold, COUNT(*)
        FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (hour, event_type, content_type_fold) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_count_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_count_inserted();

-- Entries are never deleted by the service; maintenance that removes some
-- (with the append-only trigger disabled) keeps the counts true.
CREATE FUNCTION eventlog_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_counts AS c SET n = c.n - d.n
        FROM (SELECT FLOOR(EXTRACT(EPOCH FROM time) / 3600)::BIGINT AS hour, event_type, content_type_fold, COUNT(*) AS n
              FROM deleted GROUP BY 1, 2, 3) d
        WHERE c.hour = d.hour AND c.event_type = d.event_type AND c.content_type_fold = d.content_type_fold;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_count_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_count_deleted();

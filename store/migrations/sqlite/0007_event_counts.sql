-- Counts of entries per hour (Unix hours, UTC), event type and folded
-- content type, kept by triggers as entries are written: counting a month
-- of entries by day reads a few thousand of these rows instead of every
-- entry (see Store.Count).
CREATE TABLE event_counts (
    hour              INTEGER NOT NULL,
    event_type        TEXT NOT NULL,
    content_type_fold TEXT NOT NULL,
    n                 INTEGER NOT NULL,
    PRIMARY KEY (hour, event_type, content_type_fold)
) WITHOUT ROWID;

INSERT INTO event_counts (hour, event_type, content_type_fold, n)
    SELECT time / 3600000000, event_type, content_type_fold, COUNT(*) FROM events GROUP BY 1, 2, 3;

CREATE TRIGGER events_count_insert AFTER INSERT ON events
BEGIN
    INSERT INTO event_counts (hour, event_type, content_type_fold, n)
        VALUES (NEW.time / 3600000000, NEW.event_type, NEW.content_type_fold, 1)
        ON CONFLICT (hour, event_type, content_type_fold) DO UPDATE SET n = n + 1;
END;

-- Entries are never deleted by the service; maintenance that removes some
-- (with the append-only trigger dropped) keeps the counts true.
CREATE TRIGGER events_count_delete AFTER DELETE ON events
BEGIN
    UPDATE event_counts SET n = n - 1
        WHERE hour = OLD.time / 3600000000 AND event_type = OLD.event_type AND content_type_fold = OLD.content_type_fold;
END;

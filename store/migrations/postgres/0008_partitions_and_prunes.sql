-- Retention. Entries are kept in partitions of events by id range, each
-- holding roughly one period of the log (30 days unless log_partitioning
-- says otherwise), so that removing old entries drops whole partitions
-- instead of deleting rows from the table every append writes to. Ids
-- follow commit order and times never go back along ids, so an id range is
-- a time range. Every partition starts at an id just after a multiple of
-- 65,536, so a removed prefix of the log is a whole number of the Merkle
-- tree's stored subtrees (see 0006).
--
-- prunes records every removal: the last id removed and its hash, from
-- which the chain is verified; the Merkle tree's subtree hashes covering
-- the removed entries, from which the tree's roots are still computed; and
-- when and by whom. It is written before the entries are removed, so the
-- log never has a gap that no anchor explains.

-- The table as it is becomes the first partition; a new, partitioned
-- events takes its place with the same columns and indexes.
DROP TRIGGER events_append_only ON events;
DROP TRIGGER events_no_truncate ON events;
DROP TRIGGER events_count_insert ON events;
DROP TRIGGER events_count_delete ON events;
ALTER TABLE events RENAME TO events_from_1;
ALTER TABLE events_from_1 RENAME CONSTRAINT events_pkey TO events_from_1_pkey;
ALTER INDEX events_idempotency_key RENAME TO events_from_1_idempotency_key;
ALTER INDEX events_event_type RENAME TO events_from_1_event_type;
ALTER INDEX events_actor_id RENAME TO events_from_1_actor_id;
ALTER INDEX events_actor_name RENAME TO events_from_1_actor_name;
ALTER INDEX events_content_type RENAME TO events_from_1_content_type;
ALTER INDEX events_object RENAME TO events_from_1_object;
ALTER INDEX events_source RENAME TO events_from_1_source;
ALTER INDEX events_time RENAME TO events_from_1_time;

CREATE TABLE events (LIKE events_from_1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);
CREATE INDEX events_event_type ON events (event_type, id);
CREATE INDEX events_actor_id ON events (actor_id_fold, id);
CREATE INDEX events_actor_name ON events (actor_name_fold, id);
CREATE INDEX events_content_type ON events (content_type_fold, id);
CREATE INDEX events_object ON events (object_id, id);
CREATE INDEX events_source ON events (source_id, id);
CREATE INDEX events_time ON events (time, id);
-- Idempotency keys are unique in each partition (a unique index on the
-- whole table would have to include the id); appends look keys up under
-- the head row's lock, which is what keeps them unique in the log.

-- Which partitions there are: [first_id, end_id) each.
CREATE TABLE log_partitions (
    name     TEXT PRIMARY KEY,
    first_id BIGINT NOT NULL UNIQUE,
    end_id   BIGINT NOT NULL,
    CHECK (end_id > first_id)
);

-- The period one partition covers; the owner may change it.
CREATE TABLE log_partitioning (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    period INTERVAL NOT NULL CHECK (period >= INTERVAL '1 hour')
);
INSERT INTO log_partitioning (id, period) VALUES (1, INTERVAL '30 days');

-- The first partition holds every entry so far, and room up to the next
-- multiple of 65,536.
DO $$
DECLARE
    last BIGINT := (SELECT last_id FROM log_head WHERE id = 1);
    stop BIGINT := ((GREATEST(last, (SELECT COALESCE(MAX(id), 0) FROM events_from_1)) / 65536) + 1) * 65536 + 1;
BEGIN
    EXECUTE format('ALTER TABLE events ATTACH PARTITION events_from_1 FOR VALUES FROM (MINVALUE) TO (%s)', stop);
    INSERT INTO log_partitions (name, first_id, end_id) VALUES ('events_from_1', 1, stop);
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER events_from_1_no_truncate BEFORE TRUNCATE ON events_from_1
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER events_count_insert AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_count_inserted();
CREATE TRIGGER events_count_delete AFTER DELETE ON events
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_count_deleted();

-- eventlog_extend_partitions(need) adds partitions until one starts after
-- id need, so that the last partition is always an empty one ahead of the
-- head, and returns where that last one starts: appends call it when the
-- log reaches it. A new partition's width is the number of entries written
-- in the last period (extrapolated from a younger log's age), in multiples
-- of 65,536 between 65,536 and 2^26. It runs as the owner of the tables,
-- so that the service's role, which may not change the schema, can call
-- it. A partition is made empty and then attached, which does not block
-- reads or appends.
CREATE FUNCTION eventlog_extend_partitions(need BIGINT) RETURNS BIGINT
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    head_id  BIGINT;
    last_end BIGINT;
    last_first BIGINT;
    per      INTERVAL;
    since    BIGINT;
    oldest   TIMESTAMPTZ;
    newest   TIMESTAMPTZ;
    width    BIGINT;
    part     TEXT;
    made     INTEGER := 0;
BEGIN
    SELECT last_id INTO head_id FROM log_head WHERE id = 1;
    IF need IS NULL OR need < 0 OR need > head_id + 16777216 THEN
        RAISE EXCEPTION 'eventlog: partitions for id % refused: the head is at %', need, head_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One caller at a time.
    PERFORM pg_advisory_xact_lock(hashtext('eventlog_extend_partitions'));
    LOOP
        SELECT first_id, end_id INTO last_first, last_end FROM log_partitions ORDER BY first_id DESC LIMIT 1;
        EXIT WHEN last_first > need;
        SELECT period INTO per FROM log_partitioning WHERE id = 1;
        SELECT id INTO since FROM events WHERE time >= now() - per ORDER BY time, id LIMIT 1;
        SELECT time INTO oldest FROM events ORDER BY id LIMIT 1;
        SELECT time INTO newest FROM events WHERE id = head_id;
        IF since IS NULL OR oldest IS NULL THEN
            width := 0;
        ELSIF oldest > now() - per THEN
            -- A log younger than a period: its rate so far.
            width := ((head_id - since + 1) * (EXTRACT(EPOCH FROM per) / GREATEST(EXTRACT(EPOCH FROM newest - oldest), 3600)))::BIGINT;
        ELSE
            width := head_id - since + 1;
        END IF;
        width := LEAST(GREATEST((width + 65535) / 65536, 1), 1024) * 65536;
        part := 'events_from_' || last_end;
        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)', part);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (id >= %s AND id < %s)', part, part || '_range', last_end, last_end + width);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %I (idempotency_key) WHERE idempotency_key IS NOT NULL', part || '_idempotency_key', part);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only()', part || '_no_truncate', part);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', part, last_end, last_end + width);
        INSERT INTO log_partitions (name, first_id, end_id) VALUES (part, last_end, last_end + width);
        made := made + 1;
        IF made >= 4 THEN
            EXIT;
        END IF;
    END LOOP;
    SELECT first_id INTO last_first FROM log_partitions ORDER BY first_id DESC LIMIT 1;
    RETURN last_first;
END
$$;
REVOKE ALL ON FUNCTION eventlog_extend_partitions(BIGINT) FROM PUBLIC;

-- An empty partition ahead of the head.
SELECT eventlog_extend_partitions(1);

CREATE TABLE prunes (
    through_id   BIGINT PRIMARY KEY,
    through_hash BYTEA NOT NULL,
    -- The Merkle tree's stored subtree hashes covering leaves
    -- [0, through_id), largest first, concatenated.
    tree_range   BYTEA NOT NULL,
    entries      BIGINT NOT NULL,
    before_time  TIMESTAMPTZ NOT NULL,
    pruned_at    TIMESTAMPTZ NOT NULL,
    pruned_by    TEXT NOT NULL
);
CREATE TRIGGER prunes_append_only BEFORE UPDATE OR DELETE ON prunes
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER prunes_no_truncate BEFORE TRUNCATE ON prunes
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();

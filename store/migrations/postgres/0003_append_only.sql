-- Entries are never changed or removed. Privileges keep the service's own
-- role from doing so (see "eventlog grant"); these triggers refuse it to
-- every role, the owner included, so that no mistaken statement and no
-- over-broad grant can edit history. Deliberate maintenance by the owner
-- has to disable them first (ALTER TABLE events DISABLE TRIGGER ...).
CREATE FUNCTION eventlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'eventlog: % on % refused: the log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();

-- The head row is updated by every append, but never removed.
CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();

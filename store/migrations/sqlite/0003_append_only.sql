-- Entries are never changed or removed: refuse UPDATE and DELETE on events,
-- and DELETE of the head row, so that no mistaken statement can edit
-- history. Anyone who can write the file can still drop these triggers;
-- the hash chain (eventlog verify) is what shows such an edit.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'eventlog: UPDATE on events refused: the log is append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on events refused: the log is append-only');
END;

CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on log_head refused: the log is append-only');
END;

-- Retention. prunes records every removal of old entries: the last id
-- removed and its hash, from which the chain is verified; the Merkle
-- tree's subtree hashes covering the removed entries, from which the
-- tree's roots are still computed; and when and by whom. It is written
-- before the entries are removed, so the log never has a gap that no
-- anchor explains. Entries at or below the newest anchor may be deleted;
-- no others.
CREATE TABLE prunes (
    through_id   INTEGER PRIMARY KEY,
    through_hash BLOB NOT NULL,
    -- The Merkle tree's stored subtree hashes covering leaves
    -- [0, through_id), largest first, concatenated.
    tree_range   BLOB NOT NULL,
    entries      INTEGER NOT NULL,
    before_time  INTEGER NOT NULL,
    pruned_at    INTEGER NOT NULL,
    pruned_by    TEXT NOT NULL
);

CREATE TRIGGER prunes_no_update BEFORE UPDATE ON prunes
BEGIN
    SELECT RAISE(ABORT, 'eventlog: UPDATE on prunes refused: the record of prunes is append-only');
END;

CREATE TRIGGER prunes_no_delete BEFORE DELETE ON prunes
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on prunes refused: the record of prunes is append-only');
END;

DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    WHEN OLD.id > (SELECT COALESCE(MAX(through_id), 0) FROM prunes)
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on events refused: the log is append-only (only entries a prune recorded in prunes may be removed)');
END;

-- The log as a Merkle tree (RFC 6962) over its entries in id order; see
-- the PostgreSQL migration of the same number.
CREATE TABLE tree_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE tree_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    root BLOB    NOT NULL
);
INSERT INTO tree_head (id, size, root)
    VALUES (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');

CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'eventlog: UPDATE on tree_nodes refused: the log is append-only');
END;

CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on tree_nodes refused: the log is append-only');
END;

CREATE TRIGGER tree_head_no_delete BEFORE DELETE ON tree_head
BEGIN
    SELECT RAISE(ABORT, 'eventlog: DELETE on tree_head refused: the log is append-only');
END;

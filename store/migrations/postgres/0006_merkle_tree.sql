-- The log as a Merkle tree (RFC 6962) over its entries in id order: entry
-- id N is leaf N-1, and its leaf hash is SHA-256(0x00 || the entry's chain
-- hash). tree_nodes holds the hash of every complete subtree: level 0 are
-- the leaves, a node (level, idx) covers leaves [idx*2^level,
-- (idx+1)*2^level). Proofs and the root of any size are read from them.
-- tree_head is the size integrated so far and its root; it moves only
-- forward, after the nodes, in the transaction that wrote them.
CREATE TABLE tree_nodes (
    level SMALLINT NOT NULL,
    idx   BIGINT   NOT NULL,
    hash  BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tree_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT  NOT NULL,
    root BYTEA   NOT NULL
);
-- The root of the empty tree: SHA-256 of nothing.
INSERT INTO tree_head (id, size, root)
    VALUES (1, 0, decode('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'));

-- Nodes, once written, never change; the head never goes away.
CREATE TRIGGER tree_nodes_append_only BEFORE UPDATE OR DELETE ON tree_nodes
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER tree_nodes_no_truncate BEFORE TRUNCATE ON tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER tree_head_no_delete BEFORE DELETE ON tree_head
    FOR EACH ROW EXECUTE FUNCTION eventlog_append_only();
CREATE TRIGGER tree_head_no_truncate BEFORE TRUNCATE ON tree_head
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_append_only();

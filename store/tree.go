package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// The Merkle tree (migration 0006).
//
// Appends do not touch the tree: Integrate, run after them, adds the
// entries committed since the tree's head as leaves, writes the hash of
// every complete subtree they finish (tree_nodes) and moves the head, in
// one transaction that holds the head's lock, so integrators on several
// replicas take turns. Entries are integrated only once committed: a
// checkpoint made from the head never covers an entry that is not
// durable. Proofs read the nodes they need; the hashes of incomplete
// subtrees, on the right edge, are computed from complete ones.

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// MaxIntegrate bounds the entries one Integrate call adds.
const MaxIntegrate = 10_000

// TreeHead returns the size and root of the tree as integrated so far.
func (s *Store) TreeHead(ctx context.Context) (_ eventlog.TreeHead, err error) {
	defer s.classify(&err)
	var h treeHead
	if err := s.r.GetContext(ctx, &h, `SELECT size, root FROM tree_head WHERE id = 1`); err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("read tree head: %w", err)
	}
	return eventlog.TreeHead{Size: h.Size, Root: h.Root}, nil
}

type treeHead struct {
	Size int64  `db:"size"`
	Root []byte `db:"root"`
}

// leaf is an entry's id and hash, as Integrate reads them.
type leaf struct {
	ID   int64
	Hash []byte
}

// readLeaves reads the ids and hashes of the entries after size, at most
// MaxIntegrate of them. They are scanned by hand: sqlx's mapping by
// reflection cost more than the hashing of the tree. (Reading them as one
// row, joined by string_agg, saved the server a third of a microsecond an
// entry but cost PostgreSQL twice that, for its sort.)
func readLeaves(ctx context.Context, tx *sqlx.Tx, size int64) ([]leaf, error) {
	rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT id, hash FROM events WHERE id > ? ORDER BY id LIMIT ?`), size, MaxIntegrate)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var leaves []leaf
	for rows.Next() {
		var l leaf
		if err := rows.Scan(&l.ID, &l.Hash); err != nil {
			return nil, err
		}
		leaves = append(leaves, l)
	}
	return leaves, rows.Err()
}

// Integrate adds to the tree the entries committed after its head, at most
// MaxIntegrate of them, and returns the new head.
func (s *Store) Integrate(ctx context.Context) (_ eventlog.TreeHead, err error) {
	defer s.classify(&err)
	if s.stmts == nil {
		return eventlog.TreeHead{}, errors.New("integrate: the store was opened read-only")
	}
	// Nothing new, the common case between appends: answer without taking
	// the write lock (on SQLite, the database's one writer).
	var idle struct {
		treeHead
		LastID int64 `db:"last_id"`
	}
	if err := s.r.GetContext(ctx, &idle, `SELECT t.size, t.root, h.last_id FROM tree_head t, log_head h WHERE t.id = 1 AND h.id = 1`); err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: read heads: %w", err)
	}
	if idle.LastID <= idle.Size {
		return eventlog.TreeHead{Size: idle.Size, Root: idle.Root}, nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: begin: %w", err)
	}
	defer tx.Rollback()
	var h treeHead
	if err := tx.GetContext(ctx, &h, `SELECT size, root FROM tree_head WHERE id = 1`+s.d.lockRow); err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: lock tree head: %w", err)
	}
	leaves, err := readLeaves(ctx, tx, h.Size)
	if err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: read entries: %w", err)
	}
	if len(leaves) == 0 {
		return eventlog.TreeHead{Size: h.Size, Root: h.Root}, nil
	}
	ids := compact.RangeNodes(0, uint64(h.Size), nil)
	hashes, err := s.nodeHashes(ctx, tx, ids)
	if err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: %w", err)
	}
	r, err := rangeFactory.NewRange(0, uint64(h.Size), hashes)
	if err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: the tree's right edge: %w", err)
	}
	var nodes []any
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level >= minStoredLevel {
			nodes = append(nodes, int64(id.Level), int64(id.Index), hash)
		}
	}
	for i, l := range leaves {
		if l.ID != h.Size+int64(i)+1 {
			return eventlog.TreeHead{}, &eventlog.CorruptError{ID: h.Size + int64(i) + 1, Problem: fmt.Sprintf("missing: the entry after %d is %d", h.Size+int64(i), l.ID)}
		}
		if err := r.Append(eventlog.LeafHash(l.Hash), visit); err != nil {
			return eventlog.TreeHead{}, fmt.Errorf("integrate: %w", err)
		}
	}
	const perStatement = 300 // rows of three values
	for len(nodes) > 0 {
		n := min(len(nodes), 3*perStatement)
		q := `INSERT INTO tree_nodes (level, idx, hash) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n/3), ", ")
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), nodes[:n]...); err != nil {
			return eventlog.TreeHead{}, fmt.Errorf("integrate: write nodes: %w", err)
		}
		nodes = nodes[n:]
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: root: %w", err)
	}
	size := int64(r.End())
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE tree_head SET size = ?, root = ? WHERE id = 1`), size, root); err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: move tree head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return eventlog.TreeHead{}, fmt.Errorf("integrate: commit: %w", err)
	}
	return eventlog.TreeHead{Size: size, Root: root}, nil
}

// minStoredLevel is the lowest level of the nodes kept in tree_nodes:
// a node below it covers fewer than 2^minStoredLevel entries and is
// computed, when a proof needs it, from their hashes, read in one range of
// ids. Keeping only the nodes of 16 entries or more writes a sixteenth
// as many rows as entries, instead of twice as many.
const minStoredLevel = 4

// nodeHashes returns the hashes of the nodes ids, in their order: those
// kept, read from tree_nodes; the others computed from the entries they
// cover.
func (s *Store) nodeHashes(ctx context.Context, q sqlx.QueryerContext, ids []compact.NodeID) ([][]byte, error) {
	found := make(map[compact.NodeID][]byte, len(ids))
	var kept, computed []compact.NodeID
	for _, id := range ids {
		if id.Level >= minStoredLevel {
			kept = append(kept, id)
		} else {
			computed = append(computed, id)
		}
	}
	if len(kept) > 0 {
		query, args := s.d.treeNodesQuery(kept)
		rows, err := q.QueryxContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("read tree nodes: %w", err)
		}
		for rows.Next() {
			var level, idx int64
			var hash []byte
			if err := rows.Scan(&level, &idx, &hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read tree nodes: %w", err)
			}
			found[compact.NewNodeID(uint(level), uint64(idx))] = hash
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read tree nodes: %w", err)
		}
	}
	if len(computed) > 0 {
		// The entries under the nodes: one range of ids per block of
		// 2^minStoredLevel entries that holds some (the low nodes of a
		// proof are near its leaf, or near the tree's edge).
		blocks := make(map[uint64]bool)
		var sel []string
		var args []any
		for _, id := range computed {
			begin, _ := id.Coverage()
			if b := begin >> minStoredLevel; !blocks[b] {
				blocks[b] = true
				sel = append(sel, `SELECT id, hash FROM events WHERE id > ? AND id <= ?`)
				args = append(args, int64(b<<minStoredLevel), int64((b+1)<<minStoredLevel))
			}
		}
		rows, err := q.QueryxContext(ctx, s.w.Rebind(strings.Join(sel, " UNION ALL ")), args...)
		if err != nil {
			return nil, fmt.Errorf("read entries under tree nodes: %w", err)
		}
		leaves := make(map[int64][]byte)
		for rows.Next() {
			var id int64
			var hash []byte
			if err := rows.Scan(&id, &hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read entries under tree nodes: %w", err)
			}
			leaves[id] = hash
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read entries under tree nodes: %w", err)
		}
		for _, id := range computed {
			begin, end := id.Coverage()
			r := rangeFactory.NewEmptyRange(begin)
			for leaf := begin; leaf < end; leaf++ {
				h, ok := leaves[int64(leaf)+1]
				if !ok {
					if a, err := readAnchor(ctx, q); err == nil && a != nil && int64(leaf)+1 <= a.ThroughID {
						return nil, &eventlog.PrunedError{Through: a.ThroughID, What: fmt.Sprintf("the tree over entries %d to %d", begin+1, end),
							Hint: "proofs need entries that are kept: ask about later entries, and check checkpoints made after the prune"}
					}
					return nil, &eventlog.CorruptError{ID: int64(leaf) + 1, Problem: "missing: an entry of the Merkle tree is not in the log"}
				}
				if err := r.Append(eventlog.LeafHash(h), nil); err != nil {
					return nil, err
				}
			}
			// A node covers a perfect subtree: its range holds one hash.
			if hs := r.Hashes(); len(hs) == 1 {
				found[id] = hs[0]
			}
		}
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, ok := found[id]
		if !ok {
			return nil, &eventlog.CorruptError{Problem: fmt.Sprintf("tree node (level %d, index %d) is missing", id.Level, id.Index)}
		}
		out[i] = h
	}
	return out, nil
}

// treeNodesUnion reads tree nodes by their ids as a union of primary-key
// lookups; PostgreSQL passes them as arrays instead (postgresTreeNodes).
func treeNodesUnion(ids []compact.NodeID) (string, []any) {
	sel := make([]string, len(ids))
	args := make([]any, 0, 2*len(ids))
	for i, id := range ids {
		sel[i] = `SELECT level, idx, hash FROM tree_nodes WHERE level = ? AND idx = ?`
		args = append(args, int64(id.Level), int64(id.Index))
	}
	return strings.Join(sel, " UNION ALL "), args
}

// InclusionProof returns the proof that the entry with the given id is in
// the tree of size treeSize: the hashes RFC 6962 verification needs, from
// the leaf up.
func (s *Store) InclusionProof(ctx context.Context, id, treeSize int64) (_ [][]byte, err error) {
	defer s.classify(&err)
	if err := s.checkTreeSize(ctx, treeSize); err != nil {
		return nil, err
	}
	if id < 1 || id > treeSize {
		return nil, eventlog.Invalid("id", "entry %d is not in a tree of %d entries", id, treeSize)
	}
	nodes, err := proof.Inclusion(uint64(id-1), uint64(treeSize))
	if err != nil {
		return nil, eventlog.Invalid("id", "%v", err)
	}
	return s.rehash(ctx, nodes)
}

// ConsistencyProof returns the proof that the tree of size from is a
// prefix of the tree of size to.
func (s *Store) ConsistencyProof(ctx context.Context, from, to int64) (_ [][]byte, err error) {
	defer s.classify(&err)
	if err := s.checkTreeSize(ctx, to); err != nil {
		return nil, err
	}
	if from < 0 || from > to {
		return nil, eventlog.Invalid("from_size", "want 0 to to_size (%d), got %d", to, from)
	}
	nodes, err := proof.Consistency(uint64(from), uint64(to))
	if err != nil {
		return nil, eventlog.Invalid("from_size", "%v", err)
	}
	return s.rehash(ctx, nodes)
}

func (s *Store) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := s.nodeHashes(ctx, s.r, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
}

// checkTreeSize refuses a size the tree has not reached.
func (s *Store) checkTreeSize(ctx context.Context, size int64) error {
	h, err := s.TreeHead(ctx)
	if err != nil {
		return err
	}
	if size < 1 || size > h.Size {
		return eventlog.Invalid("tree_size", "want 1 to %d, the size of the tree integrated so far, got %d", h.Size, size)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/transparency-dev/merkle/compact"
)

// Retention (migrations 0008).
//
// A prune removes the oldest entries, all older than a cutoff, in two
// steps. First it records an anchor in prunes, in a transaction of its
// own: the last id removed, its hash, and the Merkle tree's subtree hashes
// covering the removed entries. From then on the log starts after the
// anchor: verification starts from its hash, proofs that would need a
// removed entry say so. Then it removes the entries at or below the
// anchor: on PostgreSQL by detaching and dropping whole partitions, so
// that the table appends write to never sees a DELETE; on SQLite by
// deleting rows in batches, each its own short transaction, so that
// appends go on between them. A prune that stops between the steps (a
// killed process, a lost connection) leaves entries the anchor already
// covers, which nothing reads; the next prune removes them.
//
// A prune never waits for readers to finish, and none is refused: a
// stream or an export reads the live end of the log or moves forward
// through it, and retention removes only what is older than its cutoff.
// On PostgreSQL, detaching a partition waits for the queries that already
// read it to end, without blocking others.
//
// Only entries already in the Merkle tree are removed, and the removed
// prefix is a multiple of 2^minStoredLevel entries (on PostgreSQL, whole
// partitions, which start after multiples of 65,536), so that every
// subtree a proof about the remaining entries needs is still stored or
// computable.

// PruneOptions says what Prune removes.
type PruneOptions struct {
	// Before: entries older than this go. Required.
	Before time.Time
	// By names who prunes, recorded with the anchor beside the database
	// role.
	By string
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// Progress, when set, is told of each step: a line for a person.
	Progress func(format string, args ...any)
}

// PruneResult is what Prune did.
type PruneResult struct {
	// Anchor is the log's anchor after the prune: the one it recorded,
	// or the previous one when there was nothing new to remove (nil when
	// there is none).
	Anchor *eventlog.Anchor
	// New says that this prune recorded Anchor.
	New bool
	// Removed is the number of entries removed now (on a dry run, that
	// would be); it includes entries a stopped earlier prune left.
	Removed int64
	// Partitions are the partitions dropped (PostgreSQL).
	Partitions []string
}

// pruneBatch is the number of rows SQLite deletes per transaction.
const pruneBatch = 5000

// Anchor returns the newest anchor, or nil when nothing was ever pruned.
func (s *Store) Anchor(ctx context.Context) (_ *eventlog.Anchor, err error) {
	defer s.classify(&err)
	return readAnchor(ctx, s.r)
}

type anchorRow struct {
	ThroughID   int64  `db:"through_id"`
	ThroughHash []byte `db:"through_hash"`
	TreeRange   []byte `db:"tree_range"`
	Entries     int64  `db:"entries"`
	Before      dbTime `db:"before_time"`
	PrunedAt    dbTime `db:"pruned_at"`
	PrunedBy    string `db:"pruned_by"`
}

func readAnchor(ctx context.Context, q sqlx.QueryerContext) (*eventlog.Anchor, error) {
	var r anchorRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT through_id, through_hash, tree_range, entries, before_time, pruned_at, pruned_by
		FROM prunes ORDER BY through_id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the prune anchor: %w", err)
	}
	if len(r.TreeRange)%eventlog.HashSize != 0 {
		return nil, &eventlog.CorruptError{Problem: fmt.Sprintf("the prune anchor at %d holds a tree range of %d bytes, not whole hashes", r.ThroughID, len(r.TreeRange))}
	}
	a := &eventlog.Anchor{ThroughID: r.ThroughID, ThroughHash: r.ThroughHash, Entries: r.Entries,
		Before: time.Time(r.Before), PrunedAt: time.Time(r.PrunedAt), PrunedBy: r.PrunedBy}
	for b := r.TreeRange; len(b) > 0; b = b[eventlog.HashSize:] {
		a.TreeRange = append(a.TreeRange, b[:eventlog.HashSize:eventlog.HashSize])
	}
	return a, nil
}

// Prune removes the entries older than opts.Before, keeping the chain and
// the Merkle tree verifiable from an anchor (see above). It needs the
// tables' owner on PostgreSQL: the service's role may not remove entries.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (res PruneResult, err error) {
	defer s.classify(&err)
	if s.stmts == nil {
		return res, errors.New("prune: the store was opened read-only")
	}
	if opts.Before.IsZero() {
		return res, eventlog.Invalid("before", "a cutoff time is required")
	}
	if opts.Progress == nil {
		opts.Progress = func(string, ...any) {}
	}
	if s.d == postgres {
		// One prune at a time: two would detach the same partitions.
		conn, err := s.w.Connx(ctx)
		if err != nil {
			return res, fmt.Errorf("%w: prune: %v", eventlog.ErrUnavailable, err)
		}
		defer conn.Close()
		var ok bool
		if err := conn.GetContext(ctx, &ok, `SELECT pg_try_advisory_lock(hashtext('eventlog_prune'))`); err != nil {
			return res, fmt.Errorf("prune: %w", err)
		}
		if !ok {
			return res, errors.New("prune: another prune of this database is running; try again when it has finished")
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('eventlog_prune'))`)
	}
	prev, err := readAnchor(ctx, s.w)
	if err != nil {
		return res, err
	}
	res.Anchor = prev
	var through int64
	if s.d == postgres {
		through, err = s.prunablePartitions(ctx, opts.Before)
	} else {
		through, err = s.prunableRows(ctx, opts.Before)
	}
	if err != nil {
		return res, err
	}
	from := int64(0)
	if prev != nil {
		from = prev.ThroughID
	}
	if through > from {
		if opts.DryRun {
			res.Removed = through - from
			res.Anchor = &eventlog.Anchor{ThroughID: through, Entries: through - from, Before: opts.Before}
			return res, nil
		}
		a, err := s.recordAnchor(ctx, from, through, opts)
		if err != nil {
			return res, err
		}
		res.Anchor, res.New = a, true
		opts.Progress("anchor recorded: entries up to %d are now pruned", through)
		if s.afterAnchor != nil {
			if err := s.afterAnchor(); err != nil {
				return res, err
			}
		}
	} else if opts.DryRun {
		return res, nil
	}
	if res.Anchor == nil {
		return res, nil
	}
	if s.d == postgres {
		res.Partitions, res.Removed, err = s.dropPartitions(ctx, res.Anchor.ThroughID, opts.Progress)
	} else {
		res.Removed, err = s.deleteRows(ctx, res.Anchor.ThroughID, opts.Progress)
	}
	return res, err
}

// prunableRows is the last id SQLite may remove for a cutoff: the entry
// before the first one at or after it, rounded down to a whole number of
// stored subtrees, and no further than the tree has integrated.
func (s *Store) prunableRows(ctx context.Context, before time.Time) (int64, error) {
	var b struct {
		First sql.NullInt64 `db:"first"`
		Last  int64         `db:"last_id"`
		Tree  int64         `db:"size"`
	}
	if err := s.w.GetContext(ctx, &b, s.w.Rebind(`SELECT
		(SELECT MIN(id) FROM events WHERE time >= ?) AS first, h.last_id, t.size
		FROM log_head h, tree_head t WHERE h.id = 1 AND t.id = 1`), s.d.timeArg(before)); err != nil {
		return 0, fmt.Errorf("prune: find the entries before the cutoff: %w", err)
	}
	through := b.Last
	if b.First.Valid {
		through = b.First.Int64 - 1
	}
	through = min(through, b.Tree)
	return through &^ (1<<minStoredLevel - 1), nil
}

// partition is a row of log_partitions.
type partition struct {
	Name    string `db:"name"`
	FirstID int64  `db:"first_id"`
	EndID   int64  `db:"end_id"`
}

// prunablePartitions is the last id PostgreSQL may remove for a cutoff:
// the end of the last of the oldest partitions whose entries are all
// older than it, all in the tree, none of them the head's partition.
func (s *Store) prunablePartitions(ctx context.Context, before time.Time) (int64, error) {
	var parts []partition
	if err := s.w.SelectContext(ctx, &parts, `SELECT name, first_id, end_id FROM log_partitions ORDER BY first_id`); err != nil {
		return 0, fmt.Errorf("prune: list partitions: %w", err)
	}
	var b struct {
		Last int64 `db:"last_id"`
		Tree int64 `db:"size"`
	}
	if err := s.w.GetContext(ctx, &b, `SELECT h.last_id, t.size FROM log_head h, tree_head t WHERE h.id = 1 AND t.id = 1`); err != nil {
		return 0, fmt.Errorf("prune: read the heads: %w", err)
	}
	var through int64
	for _, p := range parts {
		last := p.EndID - 1
		if last >= b.Last || last > b.Tree {
			break // the head's partition, or entries not yet in the tree
		}
		var newest sql.NullTime
		if err := s.w.GetContext(ctx, &newest, `SELECT MAX(time) FROM events WHERE id >= $1 AND id < $2`, p.FirstID, p.EndID); err != nil {
			return 0, fmt.Errorf("prune: read the times of partition %s: %w", p.Name, err)
		}
		if newest.Valid && !newest.Time.Before(before) {
			break
		}
		through = last
	}
	return through, nil
}

// recordAnchor writes the anchor for removing the entries after from up
// to through, in a transaction of its own.
func (s *Store) recordAnchor(ctx context.Context, from, through int64, opts PruneOptions) (*eventlog.Anchor, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prune: begin: %v", eventlog.ErrUnavailable, err)
	}
	defer tx.Rollback()
	var hash []byte
	if err := tx.GetContext(ctx, &hash, tx.Rebind(`SELECT hash FROM events WHERE id = ?`), through); err != nil {
		return nil, fmt.Errorf("prune: read entry %d: %w", through, err)
	}
	ids := compact.RangeNodes(0, uint64(through), nil)
	hashes, err := s.nodeHashes(ctx, tx, ids)
	if err != nil {
		return nil, fmt.Errorf("prune: the tree over the pruned entries: %w", err)
	}
	var flat []byte
	for _, h := range hashes {
		flat = append(flat, h...)
	}
	by := opts.By
	if s.d == postgres {
		var role string
		if err := tx.GetContext(ctx, &role, `SELECT current_user`); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		by = "role " + role + ", " + by
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO prunes (through_id, through_hash, tree_range, entries, before_time, pruned_at, pruned_by)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), through, hash, flat, through-from, s.d.timeArg(opts.Before), s.d.timeArg(now), by); err != nil {
		if pqErr := (*pq.Error)(nil); errors.As(err, &pqErr) && pqErr.Code == "42501" {
			return nil, fmt.Errorf("prune: %w: run prune as the owner of the tables, not as the service's role", err)
		}
		return nil, fmt.Errorf("prune: record the anchor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("prune: commit the anchor: %w", err)
	}
	return &eventlog.Anchor{ThroughID: through, ThroughHash: hash, TreeRange: hashes, Entries: through - from,
		Before: opts.Before.UTC(), PrunedAt: now, PrunedBy: by}, nil
}

// deleteRows deletes SQLite's entries up to through, a batch per
// transaction; the count triggers keep the counts per hour.
func (s *Store) deleteRows(ctx context.Context, through int64, progress func(string, ...any)) (int64, error) {
	var total int64
	for {
		r, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? ORDER BY id LIMIT ?)`, through, pruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune: delete entries up to %d: %w", through, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune: %w", err)
		}
		if n == 0 {
			return total, nil
		}
		total += n
		progress("deleted %d entries", total)
	}
}

// dropPartitions detaches and drops PostgreSQL's partitions that end at or
// before through, oldest first, subtracting their entries from the counts
// per hour, and returns their names and the entries they held.
func (s *Store) dropPartitions(ctx context.Context, through int64, progress func(string, ...any)) (dropped []string, removed int64, err error) {
	var parts []struct {
		partition
		Pending sql.NullBool `db:"pending"`
	}
	if err := s.w.SelectContext(ctx, &parts, `SELECT p.name, p.first_id, p.end_id,
		(SELECT i.inhdetachpending FROM pg_catalog.pg_inherits i WHERE i.inhrelid = to_regclass(p.name)) AS pending
		FROM log_partitions p WHERE p.end_id - 1 <= $1 ORDER BY p.first_id`, through); err != nil {
		return nil, 0, fmt.Errorf("prune: list partitions: %w", err)
	}
	if len(parts) > 0 {
		if err := s.extendIfNear(ctx, progress); err != nil {
			return nil, 0, err
		}
	}
	for _, p := range parts {
		q := pq.QuoteIdentifier(p.Name)
		switch {
		case p.Pending.Valid && p.Pending.Bool:
			// An earlier prune stopped in the middle of detaching it.
			progress("finishing the detach of partition %s", p.Name)
			if _, err := s.w.ExecContext(ctx, `ALTER TABLE events DETACH PARTITION `+q+` FINALIZE`); err != nil {
				return dropped, removed, fmt.Errorf("prune: detach partition %s: %w", p.Name, err)
			}
		case p.Pending.Valid:
			progress("detaching partition %s (ids %d to %d), after the reads that use it", p.Name, p.FirstID, p.EndID-1)
			// Outside a transaction: it waits for the queries that
			// already see the partition, without blocking others.
			if _, err := s.w.ExecContext(ctx, `ALTER TABLE events DETACH PARTITION `+q+` CONCURRENTLY`); err != nil {
				return dropped, removed, fmt.Errorf("prune: detach partition %s: %w", p.Name, err)
			}
		}
		n, err := s.dropDetached(ctx, p.partition)
		if err != nil {
			return dropped, removed, err
		}
		progress("dropped partition %s (%d entries)", p.Name, n)
		dropped = append(dropped, p.Name)
		removed += n
	}
	return dropped, removed, nil
}

// extendIfNear adds a partition when the head is within a quarter of the
// spare partition's width of reaching it. Appends add one themselves when
// they reach it, but that waits while a detach is under way, and a detach
// waits for the readers of its partition: made now, the appends of the
// next while do not wait for them.
func (s *Store) extendIfNear(ctx context.Context, progress func(string, ...any)) error {
	var b struct {
		Head  int64 `db:"last_id"`
		First int64 `db:"first_id"`
		End   int64 `db:"end_id"`
	}
	if err := s.w.GetContext(ctx, &b, `SELECT h.last_id, p.first_id, p.end_id FROM log_head h,
		(SELECT first_id, end_id FROM log_partitions ORDER BY first_id DESC LIMIT 1) p WHERE h.id = 1`); err != nil {
		return fmt.Errorf("prune: read the partitions ahead: %w", err)
	}
	if b.Head < b.First-(b.End-b.First)/4 {
		return nil
	}
	var from int64
	if err := s.w.GetContext(ctx, &from, `SELECT eventlog_extend_partitions($1)`, b.First); err != nil {
		return fmt.Errorf("prune: add a partition ahead of the head: %w", err)
	}
	progress("added a partition ahead of the head, from id %d", from)
	return nil
}

// dropDetached subtracts a detached partition's entries from the counts
// per hour and drops it, in one transaction, and returns the entries it
// held.
func (s *Store) dropDetached(ctx context.Context, p partition) (int64, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: prune: begin: %v", eventlog.ErrUnavailable, err)
	}
	defer tx.Rollback()
	q := pq.QuoteIdentifier(p.Name)
	var exists bool
	if err := tx.GetContext(ctx, &exists, `SELECT to_regclass($1) IS NOT NULL`, p.Name); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	var n int64
	if exists {
		// One read of the partition: its counts per hour, subtracted,
		// and their sum, the entries it holds.
		if err := tx.GetContext(ctx, &n, `WITH d AS (
				SELECT FLOOR(EXTRACT(EPOCH FROM time) / 3600)::BIGINT AS hour, event_type, content_type_fold, COUNT(*) AS n
				FROM `+q+` GROUP BY 1, 2, 3),
			u AS (UPDATE event_counts AS c SET n = c.n - d.n FROM d
				WHERE c.hour = d.hour AND c.event_type = d.event_type AND c.content_type_fold = d.content_type_fold)
			SELECT COALESCE(SUM(n), 0)::BIGINT FROM d`); err != nil {
			return 0, fmt.Errorf("prune: subtract partition %s from the counts: %w", p.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_counts WHERE n <= 0`); err != nil {
			return 0, fmt.Errorf("prune: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+q); err != nil {
			return 0, fmt.Errorf("prune: drop partition %s: %w", p.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM log_partitions WHERE name = $1`, p.Name); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune: commit the drop of %s: %w", p.Name, err)
	}
	return n, nil
}

// extendPartitions makes sure, within an append's transaction, that a
// partition of events holds id last (PostgreSQL): when last reaches the
// spare partition kept ahead of the head, it asks for another.
func (s *Store) extendPartitions(ctx context.Context, tx *sqlx.Tx, last int64) error {
	if s.d != postgres || last < s.partitionsFrom.Load() {
		return nil
	}
	var from int64
	if err := tx.GetContext(ctx, &from, `SELECT eventlog_extend_partitions($1)`, last); err != nil {
		return fmt.Errorf("add a partition for entry %d: %w", last, err)
	}
	s.partitionsFrom.Store(from)
	return nil
}

// loadPartitions reads where the spare partition starts (PostgreSQL).
func (s *Store) loadPartitions(ctx context.Context) error {
	if s.d != postgres {
		return nil
	}
	var from int64
	if err := s.w.GetContext(ctx, &from, `SELECT COALESCE(MAX(first_id), 0) FROM log_partitions`); err != nil {
		return fmt.Errorf("open store: read partitions: %w", err)
	}
	s.partitionsFrom.Store(from)
	return nil
}

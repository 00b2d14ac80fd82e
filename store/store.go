// Package store keeps the log in a SQL database through sqlx: PostgreSQL
// (lib/pq) for production, SQLite (modernc.org/sqlite) as the embedded
// default. Both dialects share every query but a few; the differences live in
// postgres*.go (with the append on a known head, COPY and the append-only
// grants, which only PostgreSQL has) and sqlite.go.
//
// Every append runs in one transaction that locks the log's head row, assigns
// the next ids, chains the hashes, inserts the rows and moves the head. The
// lock serializes writers across processes, so ids become visible in commit
// order: once a reader has seen id N, no id below N can appear later.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
	"github.com/transparency-dev/merkle/compact"
)

// Config says which database to open.
type Config struct {
	// DSN is a postgres:// (or postgresql://) URL or a libpq keyword
	// string for PostgreSQL, or the path of a SQLite database file
	// (created when missing); see DSNDialect.
	DSN string
	// Now returns the current time; time.Now when nil. Tests set it.
	Now func() time.Time
	// Expander computes the entries propagated from each entry written;
	// nil writes no children.
	Expander eventlog.Expander
	// ReadOnly opens an existing log for reading only, as verification
	// does: no file is created, no migration runs (the schema must be
	// current), and SQLite is opened with writes refused.
	ReadOnly bool
	// OutcomeTimeout bounds how long an append whose commit got no answer
	// tries to find out whether it was stored; DefaultOutcomeTimeout
	// when 0.
	OutcomeTimeout time.Duration
}

// Store is the log kept in a SQL database. It is safe for concurrent use.
type Store struct {
	d *dialect
	w *sqlx.DB // writes; for SQLite a single connection
	r *sqlx.DB // reads; the same pool as w for PostgreSQL

	stmts *statements // prepared on w
	// timesOrdered says that entry times never decrease along ids, so
	// that a time range is a range of ids (see migration 0004).
	timesOrdered bool

	now    func() time.Time
	expand eventlog.Expander
	// outcomeTimeout: see Config.OutcomeTimeout.
	outcomeTimeout time.Duration
	dsn            string // for PostgreSQL's commit listener

	// The head as this store's last append left it (see appendAt).
	headMu     sync.Mutex
	head       head
	headKnown  bool
	headSkip   int // appends to make on the locked path before trying appendAt again
	headMisses int
	// appendsAt counts the appends appendAt made; beforeAppendAt, when
	// set (by tests), runs between building an append and writing it.
	appendsAt      atomic.Int64
	beforeAppendAt func()
	// beforeCommit, when set (by tests), runs before an append made in
	// a transaction commits.
	beforeCommit func()
	// partitionsFrom is where the spare partition of events starts
	// (PostgreSQL): an append that reaches it adds another first.
	partitionsFrom atomic.Int64
	// afterAnchor, when set (by tests), runs after Prune records its
	// anchor; an error stops the prune there.
	afterAnchor func() error
}

// dialect holds what differs between the databases.
type dialect struct {
	name string
	// lockHead reads the head row, with the time of the last entry, and
	// locks it until the transaction ends.
	lockHead string
	// timeArg converts a time to the value the database stores.
	timeArg func(time.Time) any
	// moveHead sets the head row's last id, hash and time (its three
	// arguments).
	// For PostgreSQL it also announces the commit to other processes; it
	// runs inside the transaction, so the announcement is sent only if the
	// transaction commits.
	moveHead string
	// insertSizes are the row counts of the prepared INSERTs, largest
	// first, ending with 1; a batch is written as a sum of them.
	insertSizes []int
	// copy writes batches larger than insertSizes[0] with COPY.
	copy bool
	// appendAt, when set, appends on a known head in one statement (see
	// appendAt).
	appendAt string
	// treeNodes returns the query, and its arguments, that reads the
	// tree nodes ids; nil for a union of primary-key lookups.
	treeNodes func(ids []compact.NodeID) (string, []any)
	// lockRow ends a SELECT of one row to lock it until the transaction
	// ends (" FOR UPDATE"); empty for SQLite, whose write transactions
	// hold the database's lock from their start.
	lockRow string
	// outage reports whether an error of the driver says that the
	// database cannot be reached (see Store.outage).
	outage func(error) bool
	// refused reports whether an error is the database's answer, after
	// which the transaction has rolled back; nil when the driver does not
	// tell.
	refused func(error) bool
}

// Open connects to the database named by cfg.DSN and brings its schema up to
// date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	dialect, err := DSNDialect(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	var s *Store
	if dialect == Postgres {
		s, err = openPostgres(ctx, cfg.DSN, cfg.ReadOnly)
	} else {
		s, err = openSQLite(ctx, cfg.DSN, cfg.ReadOnly)
	}
	if err != nil {
		return nil, err
	}
	if err := s.w.GetContext(ctx, &s.timesOrdered, `SELECT times_ordered FROM log_head WHERE id = 1`); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !cfg.ReadOnly {
		if s.stmts, err = prepare(ctx, s.w, s.d); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.loadPartitions(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.now, s.expand, s.outcomeTimeout = cfg.Now, cfg.Expander, cfg.OutcomeTimeout
	if s.now == nil {
		s.now = time.Now
	}
	if s.outcomeTimeout <= 0 {
		s.outcomeTimeout = DefaultOutcomeTimeout
	}
	return s, nil
}

// treeNodesQuery is the query that reads the tree nodes ids.
func (d *dialect) treeNodesQuery(ids []compact.NodeID) (string, []any) {
	if d.treeNodes != nil {
		return d.treeNodes(ids)
	}
	return treeNodesUnion(ids)
}

// Dialect returns "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.d.name }

// Close closes the database connections.
func (s *Store) Close() error {
	var err error
	if s.stmts != nil {
		err = s.stmts.close()
	}
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// Pools returns the store's connection pools, for their statistics: the
// pool of writes and the pool of reads, which is the same pool on
// PostgreSQL.
func (s *Store) Pools() (write, read *sql.DB) { return s.w.DB, s.r.DB }

// Ping checks that the database can be reached.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: ping database: %v", eventlog.ErrUnavailable, err)
	}
	return nil
}

// columns lists the stored columns in the order row scans them.
const columns = `id, time, occurred_time, event_type, actor_id, actor_name, actor_kind,
	content_type, object_id, object_repr, details, source_id,
	req_remote_addr, req_method, req_path, req_protocol, req_status, req_user_agent, req_request_id,
	idempotency_key, hash, prev_hash`

// insertColumns adds the case-folded copies to columns.
const insertColumns = columns + `, actor_id_fold, actor_name_fold, content_type_fold`

const numInsertColumns = 25

// Rows or keys per statement of the queries with a list of values (relations,
// idempotency keys): stays well below the parameter limits of both
// databases.
const insertChunk = 500

// row is an entry as the database holds it.
type row struct {
	ID             int64          `db:"id"`
	Time           dbTime         `db:"time"`
	OccurredTime   dbTime         `db:"occurred_time"`
	EventType      string         `db:"event_type"`
	ActorID        string         `db:"actor_id"`
	ActorName      string         `db:"actor_name"`
	ActorKind      string         `db:"actor_kind"`
	ContentType    string         `db:"content_type"`
	ObjectID       string         `db:"object_id"`
	ObjectRepr     string         `db:"object_repr"`
	Details        string         `db:"details"`
	SourceID       int64          `db:"source_id"`
	RemoteAddr     string         `db:"req_remote_addr"`
	Method         string         `db:"req_method"`
	Path           string         `db:"req_path"`
	Protocol       string         `db:"req_protocol"`
	Status         int32          `db:"req_status"`
	UserAgent      string         `db:"req_user_agent"`
	RequestID      string         `db:"req_request_id"`
	IdempotencyKey sql.NullString `db:"idempotency_key"`
	Hash           []byte         `db:"hash"`
	PrevHash       []byte         `db:"prev_hash"`
}

func (r *row) event() (eventlog.Event, error) {
	e, err := r.decode()
	if err != nil {
		return e, fmt.Errorf("entry %d: %w", r.ID, err)
	}
	return e, nil
}

// decode is event without the entry's id in its errors.
func (r *row) decode() (eventlog.Event, error) {
	typ, err := eventlog.ParseEventType(r.EventType)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("stored event_type: %w", err)
	}
	kind, err := eventlog.ParseActorKind(r.ActorKind)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("stored actor_kind: %w", err)
	}
	// The hash covers the names, not the stored spelling; other spellings
	// would change what filters find without changing the hash.
	if typ.String() != r.EventType {
		return eventlog.Event{}, fmt.Errorf("stored event_type %q is not in its stored form %q", r.EventType, typ.String())
	}
	if kind.String() != r.ActorKind {
		return eventlog.Event{}, fmt.Errorf("stored actor_kind %q is not in its stored form %q", r.ActorKind, kind.String())
	}
	// Absent values are NULL; an empty key or a zero time would read back
	// differently under the same hash.
	if r.IdempotencyKey.Valid && r.IdempotencyKey.String == "" {
		return eventlog.Event{}, errors.New("stored idempotency_key is empty instead of NULL")
	}
	if t := time.Time(r.OccurredTime); !t.IsZero() && t.UnixMicro() == 0 {
		return eventlog.Event{}, errors.New("stored occurred_time is the Unix epoch, which the hash cannot tell from NULL")
	}
	e := eventlog.Event{
		ID:           r.ID,
		Time:         time.Time(r.Time),
		OccurredTime: time.Time(r.OccurredTime),
		Type:         typ,
		Actor:        eventlog.Actor{ID: r.ActorID, Name: r.ActorName, Kind: kind},
		ContentType:  r.ContentType,
		ObjectID:     r.ObjectID,
		ObjectRepr:   r.ObjectRepr,
		SourceID:     r.SourceID,
		Request: eventlog.Request{
			RemoteAddr: r.RemoteAddr, Method: r.Method, Path: r.Path, Protocol: r.Protocol,
			Status: r.Status, UserAgent: r.UserAgent, RequestID: r.RequestID,
		},
		IdempotencyKey: r.IdempotencyKey.String,
		Hash:           r.Hash,
		PrevHash:       r.PrevHash,
	}
	if r.Details != "" {
		e.Details = []byte(r.Details)
	}
	return e, nil
}

// dbTime scans a time stored as Unix microseconds (SQLite) or as a
// timestamp (PostgreSQL); NULL is the zero time.
type dbTime time.Time

func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = dbTime{}
	case int64:
		*t = dbTime(time.UnixMicro(v).UTC())
	case time.Time:
		*t = dbTime(v.UTC())
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// Append writes entries at the end of the log in one transaction, in order,
// each followed by the entries propagated from it (when the store has an
// Expander), and returns them as stored: with ids, time and hashes. A write
// whose idempotency key is already in the log is not written again; its
// place in the result holds the stored entry and its children instead (the
// same holds for a key used twice within writes). Either every new entry is
// written or none is.
//
// The store fills ID, Time, Hash and PrevHash; every other field is stored
// as given, so callers validate first.
//
// When the answer to the commit is lost, Append finds out whether the
// entries were stored before it returns (see outcome.go): it never stores
// a write twice, and returns eventlog.ErrOutcomeUnknown when it cannot
// tell.
func (s *Store) Append(ctx context.Context, writes []eventlog.Write) (_ []eventlog.Written, err error) {
	defer s.classify(&err)
	if len(writes) == 0 {
		return nil, nil
	}
	if s.stmts == nil {
		return nil, errors.New("append: the store was opened read-only")
	}
	writes = microseconds(writes)
	if s.stmts.appendAt != nil {
		if out, done, err := s.appendAt(ctx, writes); done {
			return out, err
		}
	}
	out, err := s.appendLocked(ctx, writes)
	if notStored := (*notStoredError)(nil); errors.As(err, &notStored) {
		// The commit's answer was lost, and nothing was stored: the
		// database can be reached again, so write it, once more.
		out, err = s.appendLocked(ctx, writes)
	}
	return out, err
}

// head is the state of the log's head row.
type head struct {
	LastID   int64  `db:"last_id"`
	LastHash []byte `db:"last_hash"`
	LastTime dbTime `db:"last_time"`
	// RelationsVersion counts the changes to the relation registry
	// (PostgreSQL; always 0 on SQLite).
	RelationsVersion int64 `db:"relations_version"`
}

// microseconds returns writes with their occurred times cut to the
// microsecond, as the databases keep them and the hash covers them: a
// finer time would be stored rounded, and the entry's hash would no longer
// match it. writes itself is left as it is; it is copied only when a time
// needs cutting.
func microseconds(writes []eventlog.Write) []eventlog.Write {
	for i := range writes {
		if t := writes[i].Event.OccurredTime; t.Nanosecond()%1000 != 0 {
			cut := slices.Clone(writes)
			for j := i; j < len(cut); j++ {
				cut[j].Event.OccurredTime = cut[j].Event.OccurredTime.Truncate(time.Microsecond)
			}
			return cut
		}
	}
	return writes
}

// appendLocked is Append in a transaction that first locks the head row:
// everything it reads, the registry included, is read under that lock.
func (s *Store) appendLocked(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	tx, err := s.beginConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: begin: %v", eventlog.ErrUnavailable, err)
	}
	defer tx.Rollback()

	var h head
	if err := tx.StmtxContext(ctx, s.stmts.lockHead).GetContext(ctx, &h); err != nil {
		return nil, fmt.Errorf("lock log head: %w", err)
	}
	start := h
	found, err := s.byKeys(ctx, tx, writes)
	if err != nil {
		return nil, err
	}
	out, fresh, err := s.build(ctx, tx, &h, writes, found)
	if err != nil || len(fresh) == 0 {
		return out, err
	}
	if err := s.extendPartitions(ctx, tx.Tx, h.LastID); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, tx, fresh); err != nil {
		return nil, err
	}
	if _, err := tx.StmtxContext(ctx, s.stmts.moveHead).ExecContext(ctx, h.LastID, h.LastHash, s.d.timeArg(time.Time(h.LastTime))); err != nil {
		return nil, fmt.Errorf("move log head: %w", err)
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if err := tx.Commit(); err != nil {
		if err := s.afterFailedCommit(start, h, fresh[0], fmt.Errorf("commit: %w", err)); err != nil {
			return nil, err
		}
		return out, nil
	}
	if s.stmts.appendAt != nil {
		s.rememberHead(h)
	}
	return out, nil
}

// build gives the new entries of writes their ids, time and hashes after
// h, which it moves past them, and adds the entries propagated from each.
// found holds the entries already stored under the writes' idempotency
// keys; those are returned in place of writing them again. q reads the
// relation registry. fresh lists the entries to insert, in id order.
func (s *Store) build(ctx context.Context, q sqlx.ExtContext, h *head, writes []eventlog.Write, found map[string]*eventlog.Written) (out []eventlog.Written, fresh []*eventlog.Event, err error) {
	// Times never go back along ids, even when the clock does or when
	// servers' clocks disagree: a time range is then a range of ids.
	now := s.now().UTC().Truncate(time.Microsecond)
	if last := time.Time(h.LastTime); now.Before(last) {
		now = last
	}
	seal := func(e *eventlog.Event) {
		h.LastID++
		e.ID = h.LastID
		e.Time = now
		eventlog.Seal(h.LastHash, e)
		h.LastHash = e.Hash
	}
	var objs []eventlog.ObjectRef
	if s.expand != nil {
		objs = make([]eventlog.ObjectRef, 0, len(writes))
		for i := range writes {
			objs = append(objs, eventlog.ObjectRef{ContentType: writes[i].Event.ContentType, ObjectID: writes[i].Event.ObjectID})
		}
	}
	graph := newTxGraph(q, s.stmts.relations, objs)
	out = make([]eventlog.Written, len(writes))
	for i := range writes {
		key := writes[i].Event.IdempotencyKey
		if prev, ok := found[key]; ok && key != "" {
			if field := prev.Event.RequestDiff(&writes[i].Event); field != "" {
				return nil, nil, &eventlog.KeyConflictError{Key: key, ID: prev.Event.ID, Field: field}
			}
			out[i] = *prev
			out[i].Replayed = true
			continue
		}
		src := writes[i].Event
		seal(&src)
		var children []eventlog.Event
		if s.expand != nil {
			if children, err = s.expand.Expand(ctx, &src, writes[i].Related, graph); err != nil {
				return nil, nil, err
			}
		}
		for j := range children {
			c := &children[j]
			c.IdempotencyKey = ""
			seal(c)
			if c.SourceID < src.ID || c.SourceID >= c.ID {
				return nil, nil, fmt.Errorf("propagate entry %d: child %d has source %d outside the write", src.ID, c.ID, c.SourceID)
			}
		}
		out[i] = eventlog.Written{Event: src, Children: children}
		if key != "" {
			found[key] = &out[i]
		}
		fresh = append(fresh, &out[i].Event)
		for j := range out[i].Children {
			fresh = append(fresh, &out[i].Children[j])
		}
	}
	if len(fresh) > 0 {
		h.LastTime = dbTime(now)
	}
	return out, fresh, nil
}

// byKeys returns the stored entries, with their children, whose
// idempotency keys appear in writes.
func (s *Store) byKeys(ctx context.Context, tx sqlx.ExtContext, writes []eventlog.Write) (map[string]*eventlog.Written, error) {
	found := make(map[string]*eventlog.Written)
	var keys []any
	seen := make(map[string]bool)
	for i := range writes {
		if k := writes[i].Event.IdempotencyKey; k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), insertChunk)
		q, args, err := sqlx.In(`SELECT `+columns+` FROM events WHERE idempotency_key IN (?)`, keys[:n])
		if err != nil {
			return nil, fmt.Errorf("look up idempotency keys: %w", err)
		}
		var rows []row
		if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("look up idempotency keys: %w", err)
		}
		for i := range rows {
			e, err := rows[i].event()
			if err != nil {
				return nil, err
			}
			children, err := s.descendants(ctx, tx, e.ID)
			if err != nil {
				return nil, err
			}
			found[e.IdempotencyKey] = &eventlog.Written{Event: e, Children: children}
		}
		keys = keys[n:]
	}
	return found, nil
}

// descendants returns the entries propagated from entry id, directly or
// through other children. They were written in the same transaction, right
// after it: the run of entries after id whose source is id or later.
func (s *Store) descendants(ctx context.Context, tx sqlx.ExtContext, id int64) ([]eventlog.Event, error) {
	const page = 256
	var out []eventlog.Event
	cursor := id
	for {
		var rows []row
		if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(`SELECT `+columns+` FROM events WHERE id > ? ORDER BY id LIMIT ?`), cursor, page); err != nil {
			return nil, fmt.Errorf("read children of entry %d: %w", id, err)
		}
		for i := range rows {
			if rows[i].SourceID < id {
				return out, nil
			}
			e, err := rows[i].event()
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			cursor = e.ID
		}
		if len(rows) < page {
			return out, nil
		}
	}
}

// fold is the case folding that filters ignoring case compare with.
func fold(s string) string { return eventlog.Fold(s) }

// Get returns the entry with the given id, or an error wrapping
// eventlog.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (_ eventlog.Event, err error) {
	defer s.classify(&err)
	var r row
	err = s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+columns+` FROM events WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		if a, aerr := readAnchor(ctx, s.r); aerr == nil && a != nil && id <= a.ThroughID {
			return eventlog.Event{}, fmt.Errorf("entry %d: %w: entries up to %d were pruned (removed by retention) on %s",
				id, eventlog.ErrNotFound, a.ThroughID, a.PrunedAt.UTC().Format(time.RFC3339))
		}
		return eventlog.Event{}, fmt.Errorf("entry %d: %w", id, eventlog.ErrNotFound)
	}
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("get entry %d: %w", id, err)
	}
	return r.event()
}

// Watch calls wake(lastID) whenever entries may have been committed by
// another process sharing the database, until ctx ends. lastID is the last
// id committed, or 0 when unknown (after the watch reconnects). Wakes can be
// missed, so readers still poll Head now and then. SQLite databases have
// one process: Watch just waits for ctx. log reports connection trouble.
func (s *Store) Watch(ctx context.Context, log func(msg string, args ...any), wake func(lastID int64)) error {
	if s.d != postgres {
		<-ctx.Done()
		return nil
	}
	return watchPostgres(ctx, s.dsn, log, wake)
}

// Head returns the id of the last entry committed; 0 for an empty log.
func (s *Store) Head(ctx context.Context) (_ int64, err error) {
	defer s.classify(&err)
	var id int64
	if err := s.r.GetContext(ctx, &id, `SELECT last_id FROM log_head WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("read log head: %w", err)
	}
	return id, nil
}

// ChildCount returns how many entries were propagated directly from entry
// id.
func (s *Store) ChildCount(ctx context.Context, id int64) (_ int64, err error) {
	defer s.classify(&err)
	var n int64
	if id <= 0 {
		return 0, nil // entry ids are positive; 0 marks an entry that is not a child
	}
	// "source_id <> 0" lets the query use the index of children (0009).
	if err := s.r.GetContext(ctx, &n, s.r.Rebind(`SELECT COUNT(*) FROM events WHERE source_id = ? AND source_id <> 0`), id); err != nil {
		return 0, fmt.Errorf("count children of entry %d: %w", id, err)
	}
	return n, nil
}

// List returns up to p.Limit entries that match f, after p.Cursor in the
// direction p asks for.
func (s *Store) List(ctx context.Context, f eventlog.Filter, p eventlog.Page) (_ []eventlog.Event, err error) {
	defer s.classify(&err)
	if p.Limit <= 0 {
		return nil, fmt.Errorf("list entries: limit %d: must be positive", p.Limit)
	}
	lo, hi := int64(1), int64(math.MaxInt64) // ids that can match
	if s.timesOrdered && (!f.Start.IsZero() || !f.End.IsZero()) {
		var ok bool
		var err error
		if lo, hi, ok, err = s.idRange(ctx, f.Start, f.End); err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		if !ok {
			return nil, nil
		}
		f.Start, f.End = time.Time{}, time.Time{}
	}
	if p.Cursor > 0 {
		if p.Ascending {
			lo = max(lo, p.Cursor+1)
		} else {
			hi = min(hi, p.Cursor-1)
		}
	}
	if lo > hi {
		return nil, nil
	}
	// One bound on each side at most, and none that is implied: a
	// redundant bound can lead the planner away from the filter's index.
	where, args := s.where(f)
	if lo > 1 {
		where = append(where, "id >= ?")
		args = append(args, lo)
	}
	if hi < math.MaxInt64 {
		where = append(where, "id <= ?")
		args = append(args, hi)
	}
	order := "DESC"
	if p.Ascending {
		order = "ASC"
	}
	q := `SELECT ` + columns + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id ` + order + ` LIMIT ?`
	args = append(args, p.Limit)

	var rows []row
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	if p.Ascending && p.Cursor > 0 && (len(rows) == 0 || rows[0].ID > p.Cursor+1) {
		// Going on from an entry that a prune has removed since would skip
		// the others it removed without a word: say so instead.
		if a, err := readAnchor(ctx, s.r); err == nil && a != nil && p.Cursor < a.ThroughID {
			return nil, &eventlog.PrunedError{Through: a.ThroughID, What: fmt.Sprintf("entries after %d", p.Cursor),
				Hint: fmt.Sprintf("to go on from the first entry kept, resume with after_id=%d", a.ThroughID)}
		}
	}
	out := make([]eventlog.Event, len(rows))
	for i := range rows {
		e, err := rows[i].event()
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// idRange returns the range of ids whose times are within start and end
// (zero: unbounded), when entry times never decrease along ids; ok is
// false when no entry is within them.
func (s *Store) idRange(ctx context.Context, start, end time.Time) (lo, hi int64, ok bool, err error) {
	lo, hi = 1, math.MaxInt64
	var cols []string
	var args []any
	if !start.IsZero() {
		cols = append(cols, `(SELECT id FROM events WHERE time >= ? ORDER BY time, id LIMIT 1)`)
		args = append(args, s.d.timeArg(start))
	}
	if !end.IsZero() {
		cols = append(cols, `(SELECT id FROM events WHERE time <= ? ORDER BY time DESC, id DESC LIMIT 1)`)
		args = append(args, s.d.timeArg(end))
	}
	ids := make([]sql.NullInt64, len(cols))
	dest := make([]any, len(cols))
	for i := range ids {
		dest[i] = &ids[i]
	}
	if err := s.r.QueryRowxContext(ctx, s.r.Rebind(`SELECT `+strings.Join(cols, ", ")), args...).Scan(dest...); err != nil {
		return 0, 0, false, fmt.Errorf("time range: %w", err)
	}
	for i := range ids {
		if !ids[i].Valid {
			return 0, 0, false, nil
		}
	}
	if !start.IsZero() {
		lo, ids = ids[0].Int64, ids[1:]
	}
	if !end.IsZero() {
		hi = ids[0].Int64
	}
	return lo, hi, lo <= hi, nil
}

// where turns a filter into SQL conditions and their arguments.
func (s *Store) where(f eventlog.Filter) ([]string, []any) {
	var where []string
	var args []any
	if f.Type != eventlog.TypeUnspecified {
		where = append(where, "event_type = ?")
		args = append(args, f.Type.String())
	}
	if f.Actor != "" {
		where = append(where, "(actor_id_fold = ? OR actor_name_fold = ?)")
		args = append(args, fold(f.Actor), fold(f.Actor))
	}
	if f.ContentType != "" {
		where = append(where, "content_type_fold = ?")
		args = append(args, fold(f.ContentType))
	}
	if f.ObjectID != "" {
		where = append(where, "object_id = ?")
		args = append(args, f.ObjectID)
	}
	if f.SourceID != nil {
		where = append(where, "source_id = ?")
		args = append(args, *f.SourceID)
		if *f.SourceID != 0 {
			// Lets the query use the index of children (0009).
			where = append(where, "source_id <> 0")
		}
	}
	if !f.Start.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, s.d.timeArg(f.Start))
	}
	if !f.End.IsZero() {
		where = append(where, "time <= ?")
		args = append(args, s.d.timeArg(f.End))
	}
	return where, args
}

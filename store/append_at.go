package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/lib/pq"
)

// PostgreSQL appends in one statement when it can.
//
// The locked path (appendLocked) costs seven round trips to the database:
// BEGIN, lock the head, read the registry, COPY (two), move the head,
// COMMIT. The committer sends one append at a time, so those round trips
// bound how many appends a second a server makes. But the server that made
// the last append knows the head that append left: the next append can
// read the registry and idempotency keys without the lock, build its
// entries on that head, and then write them, move the head and announce
// the commit in one statement that commits on its own, provided the head
// is still where it was (appendAtSQL). If another process moved the head,
// or the registry changed (relations_version, migration 0005), the
// statement changes nothing, and the append is done again on the locked
// path. Ids, hashes and what each entry propagated to are thus exactly what
// the locked path gives.

// appendAtColumns are the types of insertColumns, in their order.
var appendAtColumns = []string{
	"bigint", "timestamptz", "timestamptz", "text", "text", "text", "text",
	"text", "text", "text", "text", "bigint",
	"text", "text", "text", "text", "integer", "text", "text",
	"text", "bytea", "bytea", "text", "text", "text",
}

// appendAtSQL: $1..$3 are the head the entries were built on (last id,
// last hash, registry version), $4..$6 the head after them, and the rest
// one array per column of insertColumns. It returns one row when it wrote
// the entries, none when the head was elsewhere.
var appendAtSQL = func() string {
	var q strings.Builder
	q.WriteString(`WITH moved AS (
	UPDATE log_head SET last_id = $4, last_hash = $5, last_time = $6
	WHERE id = 1 AND last_id = $1 AND last_hash = $2 AND relations_version = $3
	RETURNING last_id
), inserted AS (
	INSERT INTO events (` + insertColumns + `)
	SELECT r.* FROM moved, unnest(`)
	for i, typ := range appendAtColumns {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "$%d::%s[]", i+7, typ)
	}
	q.WriteString(`) AS r
)
SELECT last_id, pg_notify('` + commitChannel + `', last_id::text) FROM moved`)
	return q.String()
}()

// Remembering the head.
//
// s.head is the head as this store last left it, valid when headKnown.
// After the head was found moved, the next appends take the locked path
// (headSkip of them, doubling up to maxHeadSkip while it keeps moving), so
// that several processes writing at once do not each build every append
// twice.

const maxHeadSkip = 64

func (s *Store) rememberHead(h head) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	s.head, s.headKnown = h, true
}

func (s *Store) forgetHead() {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	s.headKnown = false
}

// knownHead returns the head to build the next append on, if any.
func (s *Store) knownHead() (head, bool) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if !s.headKnown {
		return head{}, false
	}
	if s.headSkip > 0 {
		s.headSkip--
		return head{}, false
	}
	return s.head, true
}

// headMoved records that another writer moved the head.
func (s *Store) headMoved(ok bool) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if ok {
		s.headMisses = 0
		return
	}
	s.headKnown = false
	s.headMisses = min(s.headMisses*2+1, maxHeadSkip)
	s.headSkip = s.headMisses
}

// appendAt appends writes on the head this store last left, in one
// statement. done is false when it could not, and nothing was written:
// the caller then appends on the locked path.
func (s *Store) appendAt(ctx context.Context, writes []eventlog.Write) (out []eventlog.Written, done bool, err error) {
	h, ok := s.knownHead()
	if !ok {
		return nil, false, nil
	}
	// Whatever fails from here on, the locked path reads again and
	// reports.
	found, err := s.byKeys(ctx, s.w, writes)
	if err != nil {
		return nil, false, nil
	}
	start := h
	out, fresh, err := s.build(ctx, s.w, &h, writes, found)
	if err != nil {
		return nil, false, nil
	}
	if len(fresh) == 0 {
		return out, true, nil // every write was found by its key
	}
	args := make([]any, 0, 6+numInsertColumns)
	args = append(args, start.LastID, start.LastHash, start.RelationsVersion,
		h.LastID, h.LastHash, s.d.timeArg(time.Time(h.LastTime)))
	args = append(args, s.columnArrays(fresh)...)

	if s.beforeAppendAt != nil {
		s.beforeAppendAt()
	}
	var lastID int64
	var notified any // pg_notify returns void
	err = s.stmts.appendAt.QueryRowContext(ctx, args...).Scan(&lastID, &notified)
	var pqErr *pq.Error
	switch {
	case err == nil:
		s.appendsAt.Add(1)
		s.headMoved(true)
		s.rememberHead(h)
		return out, true, nil
	case errors.Is(err, sql.ErrNoRows):
		s.headMoved(false)
		return nil, false, nil
	case errors.As(err, &pqErr):
		// The database refused the statement, which rolled back: a key
		// written meanwhile, a trigger... The locked path tells.
		s.forgetHead()
		return nil, false, nil
	default:
		// The connection failed or ctx ended: the statement may have
		// committed, so it must not be done again.
		s.forgetHead()
		return nil, true, fmt.Errorf("append: %w", err)
	}
}

// columnArrays returns, for each of insertColumns, the values of that
// column of events as one PostgreSQL array literal.
func (s *Store) columnArrays(events []*eventlog.Event) []any {
	cols := make([][]byte, numInsertColumns)
	for i := range cols {
		cols[i] = append(make([]byte, 0, 16*len(events)+2), '{')
	}
	vals := make([]any, 0, numInsertColumns)
	for n, e := range events {
		vals = s.appendArgs(vals[:0], e)
		for i, v := range vals {
			if n > 0 {
				cols[i] = append(cols[i], ',')
			}
			cols[i] = appendArrayElement(cols[i], v)
		}
	}
	out := make([]any, numInsertColumns)
	for i := range cols {
		out[i] = string(append(cols[i], '}'))
	}
	return out
}

// appendArrayElement appends v as an element of an array literal: NULL,
// or its text form in double quotes.
func appendArrayElement(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "NULL"...)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int32:
		return strconv.AppendInt(b, int64(v), 10)
	case time.Time:
		b = append(b, '"')
		b = v.UTC().AppendFormat(b, "2006-01-02T15:04:05.999999Z")
		return append(b, '"')
	case []byte:
		// bytea's hex form, \x..., with its backslash escaped.
		b = append(b, `"\\x`...)
		const hex = "0123456789abcdef"
		for _, c := range v {
			b = append(b, hex[c>>4], hex[c&0xf])
		}
		return append(b, '"')
	case string:
		b = append(b, '"')
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, v[i])
		}
		return append(b, '"')
	}
	panic(fmt.Sprintf("store: no array form for %T", v))
}

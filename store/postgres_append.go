package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/eventlog/eventlog"
	"github.com/lib/pq"
)

// PostgreSQL appends on the head it knows when it can.
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
// the locked path gives. Large batches go by COPY instead (copyAt), in a
// transaction that first moves the head the same way.

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
	q.WriteString(`WITH ` + movedCTE + `, inserted AS (
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
` + announceMoved)
	return q.String()
}()

// movedCTE moves the head from $1..$3 to $4..$6 (see appendAtSQL); moved
// is empty when the head was elsewhere. announceMoved announces the
// commit of the entries up to the new head, and returns it.
const (
	movedCTE = `moved AS (
	UPDATE log_head SET last_id = $4, last_hash = $5, last_time = $6
	WHERE id = 1 AND last_id = $1 AND last_hash = $2 AND relations_version = $3
	RETURNING last_id
)`
	announceMoved = `SELECT last_id, pg_notify('` + commitChannel + `', last_id::text) FROM moved`
)

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

// noteAttempt records whether an append on the known head found it there
// (hit) or found that another writer had moved it.
func (s *Store) noteAttempt(hit bool) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if hit {
		s.headMisses = 0
		return
	}
	s.headKnown = false
	s.headMisses = min(s.headMisses*2+1, maxHeadSkip)
	s.headSkip = s.headMisses
}

// appendAt appends writes on the head this store last left, in one
// statement (or with copyAt). done is false when it could not, and nothing was written:
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
	if h.LastID >= s.partitionsFrom.Load() {
		return nil, false, nil // the locked path adds a partition first
	}
	if s.beforeAppendAt != nil {
		s.beforeAppendAt()
	}
	if len(fresh) >= copyAtRows {
		err = s.copyAt(ctx, start, h, fresh)
	} else {
		args := make([]any, 0, 6+numInsertColumns)
		args = append(args, start.LastID, start.LastHash, start.RelationsVersion,
			h.LastID, h.LastHash, s.d.timeArg(time.Time(h.LastTime)))
		args = append(args, s.columnArrays(fresh)...)
		var lastID int64
		var notified any // pg_notify returns void
		err = s.stmts.appendAt.QueryRowContext(ctx, args...).Scan(&lastID, &notified)
	}
	var pqErr *pq.Error
	switch {
	case err == nil:
	case errors.Is(err, sql.ErrNoRows), errors.As(err, &pqErr) && !s.outage(err):
		// Either says nothing was written, unless database/sql ran the
		// statement again on another connection after the first
		// connection closed before its answer (driver.ErrBadConn): then
		// the first run may have committed, and the second found the
		// head it had moved, or failed. Look before redoing the append.
		// The second run ended after the first, so no lock is needed.
		landed, lerr := s.landedOnce(ctx, start, fresh[0], false)
		switch {
		case lerr != nil:
			s.forgetHead()
			return nil, true, fmt.Errorf("%w: append: %v; then, finding out whether it was stored: %v", eventlog.ErrOutcomeUnknown, err, lerr)
		case landed:
			err = nil
		}
	default:
		// The connection failed or ctx ended: the statement may have
		// committed. Find out before doing anything else.
		err = s.afterFailedCommit(start, h, fresh[0], err)
		var notStored *notStoredError
		switch {
		case errors.As(err, &notStored):
			return nil, false, nil // the locked path writes it, once
		case err != nil:
			return nil, true, err
		}
	}
	switch {
	case err == nil:
		s.appendsAt.Add(1)
		s.noteAttempt(true)
		s.rememberHead(h)
		return out, true, nil
	case errors.Is(err, sql.ErrNoRows):
		s.noteAttempt(false)
		return nil, false, nil
	default:
		// The database refused the statement, which rolled back: a key
		// written meanwhile, a trigger... The locked path tells.
		s.forgetHead()
		return nil, false, nil
	}
}

// columnArrays returns, for each of insertColumns, the values of that
// column of events as one PostgreSQL array literal. It writes what
// appendArgs gives, without boxing each value.
func (s *Store) columnArrays(events []*eventlog.Event) []any {
	var cols [numInsertColumns][]byte
	for i := range cols {
		cols[i] = append(make([]byte, 0, 24*len(events)+2), '{')
	}
	for n, e := range events {
		if n > 0 {
			for i := range cols {
				cols[i] = append(cols[i], ',')
			}
		}
		c := &cols
		c[0] = strconv.AppendInt(c[0], e.ID, 10)
		c[1] = appendArrayTime(c[1], e.Time)
		if e.OccurredTime.IsZero() {
			c[2] = append(c[2], "NULL"...)
		} else {
			c[2] = appendArrayTime(c[2], e.OccurredTime)
		}
		c[3] = appendArrayString(c[3], e.Type.String())
		c[4] = appendArrayString(c[4], e.Actor.ID)
		c[5] = appendArrayString(c[5], e.Actor.Name)
		c[6] = appendArrayString(c[6], e.Actor.Kind.String())
		c[7] = appendArrayString(c[7], e.ContentType)
		c[8] = appendArrayString(c[8], e.ObjectID)
		c[9] = appendArrayString(c[9], e.ObjectRepr)
		c[10] = appendArrayString(c[10], string(e.Details))
		c[11] = strconv.AppendInt(c[11], e.SourceID, 10)
		c[12] = appendArrayString(c[12], e.Request.RemoteAddr)
		c[13] = appendArrayString(c[13], e.Request.Method)
		c[14] = appendArrayString(c[14], e.Request.Path)
		c[15] = appendArrayString(c[15], e.Request.Protocol)
		c[16] = strconv.AppendInt(c[16], int64(e.Request.Status), 10)
		c[17] = appendArrayString(c[17], e.Request.UserAgent)
		c[18] = appendArrayString(c[18], e.Request.RequestID)
		if e.IdempotencyKey == "" {
			c[19] = append(c[19], "NULL"...)
		} else {
			c[19] = appendArrayString(c[19], e.IdempotencyKey)
		}
		c[20] = appendArrayBytes(c[20], e.Hash)
		c[21] = appendArrayBytes(c[21], e.PrevHash)
		c[22] = appendArrayString(c[22], fold(e.Actor.ID))
		c[23] = appendArrayString(c[23], fold(e.Actor.Name))
		c[24] = appendArrayString(c[24], fold(e.ContentType))
	}
	out := make([]any, numInsertColumns)
	for i := range cols {
		out[i] = string(append(cols[i], '}'))
	}
	return out
}

func appendArrayTime(b []byte, t time.Time) []byte {
	return append(appendCopyTime(append(b, '"'), t), '"')
}

// appendArrayBytes appends v in bytea's hex form, \x..., with its
// backslash escaped, in double quotes.
func appendArrayBytes(b []byte, v []byte) []byte {
	return append(appendCopyBytes(append(b, '"'), v), '"')
}

// appendArrayString appends v in double quotes, with its quotes and
// backslashes escaped.
func appendArrayString(b []byte, v string) []byte {
	b = append(b, '"')
	for {
		i := strings.IndexAny(v, `"\\`)
		if i < 0 {
			break
		}
		b = append(b, v[:i]...)
		b = append(b, '\\', v[i])
		v = v[i+1:]
	}
	b = append(b, v...)
	return append(b, '"')
}

// copyAtRows is the size from which appendAt writes with COPY in a
// transaction rather than in one statement: past it, the database's
// cheaper COPY outweighs the transaction's extra round trips.
const copyAtRows = 256

// moveHeadAtSQL moves the head from where the caller expects it and
// announces the commit; no row when the head was elsewhere.
const moveHeadAtSQL = `WITH ` + movedCTE + `
` + announceMoved

// copyAt is appendAt's statement as a transaction that moves the head
// first, holding its lock, and then writes the entries with COPY. Its
// errors are those of the statement: sql.ErrNoRows when the head was
// elsewhere.
func (s *Store) copyAt(ctx context.Context, start, h head, fresh []*eventlog.Event) error {
	tx, err := s.beginConn(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var lastID int64
	var notified any
	if err := tx.StmtxContext(ctx, s.stmts.moveHeadAt).QueryRowContext(ctx, start.LastID, start.LastHash, start.RelationsVersion,
		h.LastID, h.LastHash, s.d.timeArg(time.Time(h.LastTime))).Scan(&lastID, &notified); err != nil {
		return err
	}
	if err := s.copyIn(ctx, tx, fresh); err != nil {
		return err
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	return tx.Commit()
}

// copyIn writes events with PostgreSQL's COPY, inside tx: the rows are
// streamed in one statement, and a row that fails fails the transaction.
//
// The rows go to the driver as COPY's own text, written here a chunk at a
// time (appendCopyRow), rather than as one statement execution per row:
// database/sql would check and convert each row's 25 values, and the
// driver would then format them one by one, which cost a fifth of the
// server's processor time on a large batch.
func (s *Store) copyIn(ctx context.Context, tx *connTx, events []*eventlog.Event) error {
	// The COPY's error is kept out of Raw: given driver.ErrBadConn (the
	// connection broke), or a panic, Raw would close the connection, which
	// waits for the transaction on it to end, which only this goroutine's
	// Rollback does, after Raw returns. The transaction ends as it would
	// after any failed statement, and database/sql drops the broken
	// connection then.
	var copyErr error
	if err := tx.conn.Raw(func(dc any) error {
		defer func() {
			if p := recover(); p != nil {
				copyErr = fmt.Errorf("COPY: %v", p)
			}
		}()
		copyErr = copyRows(ctx, dc, events)
		return nil
	}); err != nil {
		return err
	}
	return copyErr
}

// copyRows writes events with COPY on dc, the driver's connection.
func copyRows(ctx context.Context, dc any, events []*eventlog.Event) error {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("COPY: the driver's connection %T cannot prepare", dc)
	}
	st, err := pc.PrepareContext(ctx, copySQL)
	if err != nil {
		return err
	}
	defer st.Close()
	cd, ok := st.(copyDataStmt)
	if !ok {
		return fmt.Errorf("COPY: the driver's statement %T takes no raw data", st)
	}
	chunk := make([]byte, 0, copyChunk+4<<10)
	for i, e := range events {
		chunk = appendCopyRow(chunk, e)
		if len(chunk) >= copyChunk || i == len(events)-1 {
			// CopyData ends the data with the last row's newline. It
			// copies what it is given before it returns, so the chunk's
			// buffer is lent to it rather than copied to a string of its
			// own, and then used again.
			if _, err := cd.CopyData(ctx, unsafe.String(unsafe.SliceData(chunk), len(chunk)-1)); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	// Executing with no values ends the COPY and reports the errors of
	// the rows sent.
	//lint:ignore SA1019 the driver's COPY statement implements Exec only
	_, err = st.Exec(nil)
	return err
}

// copyDataStmt is the driver's COPY statement, which takes rows as text.
type copyDataStmt interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyChunk is the size of the text handed to the driver at a time.
const copyChunk = 32 << 10

// appendCopyRow appends e's row of insertColumns in COPY's text format:
// columns separated by tabs, \N for NULL, bytea in its hex form, and a
// newline at the end. It writes what appendArgs gives.
func appendCopyRow(b []byte, e *eventlog.Event) []byte {
	b = strconv.AppendInt(b, e.ID, 10)
	b = appendCopyTime(append(b, '\t'), e.Time)
	b = append(b, '\t')
	if e.OccurredTime.IsZero() {
		b = append(b, `\N`...)
	} else {
		b = appendCopyTime(b, e.OccurredTime)
	}
	b = appendCopyText(append(b, '\t'), e.Type.String())
	b = appendCopyText(append(b, '\t'), e.Actor.ID)
	b = appendCopyText(append(b, '\t'), e.Actor.Name)
	b = appendCopyText(append(b, '\t'), e.Actor.Kind.String())
	b = appendCopyText(append(b, '\t'), e.ContentType)
	b = appendCopyText(append(b, '\t'), e.ObjectID)
	b = appendCopyText(append(b, '\t'), e.ObjectRepr)
	b = appendCopyText(append(b, '\t'), unsafe.String(unsafe.SliceData(e.Details), len(e.Details)))
	b = strconv.AppendInt(append(b, '\t'), e.SourceID, 10)
	b = appendCopyText(append(b, '\t'), e.Request.RemoteAddr)
	b = appendCopyText(append(b, '\t'), e.Request.Method)
	b = appendCopyText(append(b, '\t'), e.Request.Path)
	b = appendCopyText(append(b, '\t'), e.Request.Protocol)
	b = strconv.AppendInt(append(b, '\t'), int64(e.Request.Status), 10)
	b = appendCopyText(append(b, '\t'), e.Request.UserAgent)
	b = appendCopyText(append(b, '\t'), e.Request.RequestID)
	b = append(b, '\t')
	if e.IdempotencyKey == "" {
		b = append(b, `\N`...)
	} else {
		b = appendCopyText(b, e.IdempotencyKey)
	}
	b = appendCopyBytes(append(b, '\t'), e.Hash)
	b = appendCopyBytes(append(b, '\t'), e.PrevHash)
	b = appendCopyText(append(b, '\t'), fold(e.Actor.ID))
	b = appendCopyText(append(b, '\t'), fold(e.Actor.Name))
	b = appendCopyText(append(b, '\t'), fold(e.ContentType))
	return append(b, '\n')
}

// appendCopyTime appends t in UTC to the microsecond, as timestamptz
// reads it.
func appendCopyTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02 15:04:05.999999Z")
}

// appendCopyBytes appends v as bytea's hex form, \x..., its backslash
// escaped for COPY.
func appendCopyBytes(b []byte, v []byte) []byte {
	return hex.AppendEncode(append(b, `\\x`...), v)
}

// appendCopyText appends v with the characters COPY's text format gives a
// meaning to escaped: backslash, newline, carriage return and tab.
func appendCopyText(b []byte, v string) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		if esc := copyEscapes[v[i]]; esc != 0 {
			b = append(append(b, v[start:i]...), '\\', esc)
			start = i + 1
		}
	}
	return append(b, v[start:]...)
}

// copyEscapes gives the letter that follows a backslash for each byte
// that appendCopyText escapes, and 0 for the others.
var copyEscapes = [256]byte{'\\': '\\', '\n': 'n', '\r': 'r', '\t': 't'}

// copySQL starts a COPY of insertColumns; lib/pq takes the rows as the
// statement's executions.
const copySQL = `COPY events (` + insertColumns + `) FROM STDIN`

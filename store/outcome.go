package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
)

// Outages and lost answers.
//
// An error that says the database cannot be reached (a refused or broken
// connection, a server shutting down or starting up) is returned as
// eventlog.ErrUnavailable, whatever the call: callers retry those, and
// nothing else.
//
// A commit whose answer is lost is worse: the write may have been stored.
// Retrying it blindly stores an entry twice; reporting it as failed tells
// a caller who does not retry that an entry it wrote is not there. So the
// append finds out (landed): it takes the head lock, which waits for the
// lost transaction to end either way, and looks whether the entry after
// the head it built on is its first entry. Stored: the append succeeded.
// Not stored: it is written again, once. Cannot tell, because the
// database stays out of reach: eventlog.ErrOutcomeUnknown.

// DefaultOutcomeTimeout is how long an append whose answer was lost keeps
// trying to find out whether it was stored, unless Config says otherwise.
const DefaultOutcomeTimeout = 10 * time.Second

// classify marks *err as eventlog.ErrUnavailable when it says that the
// database cannot be reached. Exported methods defer it.
func (s *Store) classify(err *error) {
	if *err == nil || errors.Is(*err, eventlog.ErrUnavailable) || !s.outage(*err) {
		return
	}
	*err = fmt.Errorf("%w: %w", eventlog.ErrUnavailable, *err)
}

// outage reports whether err says that the database cannot be reached,
// as opposed to refusing what it was asked.
func (s *Store) outage(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller's doing, reported as such
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.As(err, &netErr):
		return true
	}
	return s.d.outage != nil && s.d.outage(err)
}

// afterFailedCommit decides what an append whose commit returned err
// did: built on start, it would have made fresh[0] the entry after it
// and end the head. It returns nil when the append is in the log,
// errNotStored when it is certainly not, and ErrOutcomeUnknown when that
// cannot be found out.
func (s *Store) afterFailedCommit(start, end head, first *eventlog.Event, err error) error {
	if s.d.refused != nil && s.d.refused(err) && !s.outage(err) {
		// The database answered: the transaction rolled back.
		return err
	}
	landed, lerr := s.landed(start, first)
	switch {
	case lerr != nil:
		s.forgetHead()
		return fmt.Errorf("%w: %v; then, finding out whether it was stored: %v", eventlog.ErrOutcomeUnknown, err, lerr)
	case landed:
		if s.stmts.appendAt != nil {
			s.rememberHead(end)
		}
		return nil
	default:
		s.forgetHead()
		return &notStoredError{err}
	}
}

// notStoredError is a commit that failed without storing anything: the
// append may be made again.
type notStoredError struct{ err error }

func (e *notStoredError) Error() string { return e.err.Error() + " (nothing was stored)" }
func (e *notStoredError) Unwrap() error { return e.err }

// landed reports whether the append that built first on start is in the
// log. It waits for any transaction that holds the head to end, and tries
// again while the database cannot be reached, for s.outcomeTimeout.
func (s *Store) landed(start head, first *eventlog.Event) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.outcomeTimeout)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		ok, err := s.landedOnce(ctx, start, first, true)
		if err == nil {
			return ok, nil
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// landedOnce looks once; with lock, under the head lock.
func (s *Store) landedOnce(ctx context.Context, start head, first *eventlog.Event, lock bool) (bool, error) {
	var q sqlx.QueryerContext = s.w
	if lock {
		tx, err := s.begin(ctx)
		if err != nil {
			return false, err
		}
		defer tx.Rollback()
		var h head
		if err := tx.StmtxContext(ctx, s.stmts.lockHead).GetContext(ctx, &h); err != nil {
			return false, err
		}
		if h.LastID <= start.LastID {
			return false, nil
		}
		q = tx
	}
	var hash []byte
	err := q.QueryRowxContext(ctx, s.w.Rebind(`SELECT hash FROM events WHERE id = ?`), start.LastID+1).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// The hash covers the previous hash and every field, the time
	// included: only this append's first entry has it.
	return bytes.Equal(hash, first.Hash), nil
}

// connTx is a write transaction with the connection it runs on, for what
// only the driver's own connection offers (COPY's text, copyIn).
// Commit and Rollback end the transaction and give the connection back to
// the pool.
type connTx struct {
	*sqlx.Tx
	conn *sqlx.Conn
}

func (t *connTx) Commit() error {
	defer t.conn.Close()
	return t.Tx.Commit()
}

func (t *connTx) Rollback() error {
	defer t.conn.Close()
	return t.Tx.Rollback()
}

// beginConn is begin on a connection of its own, kept with the
// transaction.
func (s *Store) beginConn(ctx context.Context) (*connTx, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.w.Connx(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err == nil {
			return &connTx{Tx: tx, conn: conn}, nil
		}
		conn.Close()
		if !s.outage(err) || attempt > s.w.Stats().MaxOpenConnections || ctx.Err() != nil {
			return nil, err
		}
	}
}

// begin starts a write transaction. A connection the database closed
// while it sat in the pool (the database restarted) fails its first
// statement, BEGIN included; starting a transaction has no effect to
// lose, so begin moves on to the next connection, as many times as the
// pool has connections.
func (s *Store) begin(ctx context.Context) (*sqlx.Tx, error) {
	for attempt := 0; ; attempt++ {
		tx, err := s.w.BeginTxx(ctx, nil)
		if err == nil || !s.outage(err) || attempt > s.w.Stats().MaxOpenConnections || ctx.Err() != nil {
			return tx, err
		}
	}
}

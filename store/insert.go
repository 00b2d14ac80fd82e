package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
)

// statements are the statements of an append, prepared when the store
// opens: the database parses and plans them once per connection instead
// of once per append.
type statements struct {
	lockHead   *sqlx.Stmt
	moveHead   *sqlx.Stmt
	appendAt   *sqlx.Stmt // nil unless the dialect has one
	moveHeadAt *sqlx.Stmt
	// relations are relationArrayQueries, prepared for PostgreSQL.
	relations [2]*sqlx.Stmt
	// insert holds a multi-row INSERT for each size of d.insertSizes.
	insert map[int]*sqlx.Stmt
}

// prepare prepares the append's statements on db.
func prepare(ctx context.Context, db *sqlx.DB, d *dialect) (*statements, error) {
	st := &statements{insert: make(map[int]*sqlx.Stmt)}
	var err error
	if st.lockHead, err = db.PreparexContext(ctx, d.lockHead); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if st.moveHead, err = db.PreparexContext(ctx, db.Rebind(d.moveHead)); err != nil {
		st.close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if d.appendAt != "" {
		if st.appendAt, err = db.PreparexContext(ctx, d.appendAt); err != nil {
			st.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		if st.moveHeadAt, err = db.PreparexContext(ctx, moveHeadAtSQL); err != nil {
			st.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		for i, q := range relationArrayQueries {
			if st.relations[i], err = db.PreparexContext(ctx, q); err != nil {
				st.close()
				return nil, fmt.Errorf("prepare: %w", err)
			}
		}
	}
	for _, n := range d.insertSizes {
		if st.insert[n], err = db.PreparexContext(ctx, db.Rebind(insertSQL(n))); err != nil {
			st.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	return st, nil
}

func (st *statements) close() error {
	var err error
	for _, s := range []*sqlx.Stmt{st.lockHead, st.moveHead, st.appendAt, st.moveHeadAt, st.relations[0], st.relations[1]} {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	for _, s := range st.insert {
		err = errors.Join(err, s.Close())
	}
	return err
}

// insertSQL is an INSERT of n rows, with ? parameters.
func insertSQL(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO events (` + insertColumns + `) VALUES `)
	row := "(?" + strings.Repeat(", ?", numInsertColumns-1) + ")"
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
	}
	return q.String()
}

// insert writes events in tx: with COPY when the dialect has it and the
// batch is larger than its largest prepared INSERT, otherwise with the
// prepared INSERTs, largest first.
func (s *Store) insert(ctx context.Context, tx *connTx, events []*eventlog.Event) error {
	if s.d.copy && len(events) > s.d.insertSizes[0] {
		if err := s.copyIn(ctx, tx, events); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		return nil
	}
	args := make([]any, 0, min(len(events), s.d.insertSizes[0])*numInsertColumns)
	for len(events) > 0 {
		n := 1
		for _, size := range s.d.insertSizes {
			if size <= len(events) {
				n = size
				break
			}
		}
		args = args[:0]
		for _, e := range events[:n] {
			args = s.appendArgs(args, e)
		}
		if _, err := tx.StmtxContext(ctx, s.stmts.insert[n]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		events = events[n:]
	}
	return nil
}

// appendArgs appends the values of insertColumns for e.
func (s *Store) appendArgs(args []any, e *eventlog.Event) []any {
	var occurred, key any
	if !e.OccurredTime.IsZero() {
		occurred = s.d.timeArg(e.OccurredTime)
	}
	if e.IdempotencyKey != "" {
		key = e.IdempotencyKey
	}
	return append(args,
		e.ID, s.d.timeArg(e.Time), occurred, e.Type.String(),
		e.Actor.ID, e.Actor.Name, e.Actor.Kind.String(),
		e.ContentType, e.ObjectID, e.ObjectRepr, string(e.Details), e.SourceID,
		e.Request.RemoteAddr, e.Request.Method, e.Request.Path, e.Request.Protocol,
		e.Request.Status, e.Request.UserAgent, e.Request.RequestID,
		key, e.Hash, e.PrevHash,
		fold(e.Actor.ID), fold(e.Actor.Name), fold(e.ContentType),
	)
}

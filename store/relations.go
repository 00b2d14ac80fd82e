package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
)

const relationColumns = `from_type, from_id, to_type, to_id, kind`

// relationOrder is the order relations are listed in, and their key.
const relationOrder = `from_type_fold, from_id, to_type_fold, to_id, kind`

type relationRow struct {
	FromType string `db:"from_type"`
	FromID   string `db:"from_id"`
	ToType   string `db:"to_type"`
	ToID     string `db:"to_id"`
	Kind     string `db:"kind"`
}

func (r relationRow) relation() eventlog.Relation {
	return eventlog.Relation{
		From: eventlog.ObjectRef{ContentType: r.FromType, ObjectID: r.FromID},
		To:   eventlog.ObjectRef{ContentType: r.ToType, ObjectID: r.ToID},
		Kind: r.Kind,
	}
}

// PutRelations registers relations in one transaction and returns how many
// were new. Content types compare ignoring case: a relation that differs
// from a stored one only in the case of a content type is the same
// relation, and keeps its stored spelling.
func (s *Store) PutRelations(ctx context.Context, rels []eventlog.Relation) (int, error) {
	if len(rels) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: begin: %v", eventlog.ErrUnavailable, err)
	}
	defer tx.Rollback()
	created := 0
	now := s.d.timeArg(s.now())
	for len(rels) > 0 {
		n := min(len(rels), insertChunk)
		var q strings.Builder
		q.WriteString(`INSERT INTO relations (` + relationColumns + `, from_type_fold, to_type_fold, created) VALUES `)
		args := make([]any, 0, n*8)
		for i, r := range rels[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.From.ContentType, r.From.ObjectID, r.To.ContentType, r.To.ObjectID, r.Kind,
				fold(r.From.ContentType), fold(r.To.ContentType), now)
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		res, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...)
		if err != nil {
			return 0, fmt.Errorf("put relations: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("put relations: %w", err)
		}
		created += int(k)
		rels = rels[n:]
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("put relations: commit: %w", err)
	}
	return created, nil
}

// DeleteRelations removes relations in one transaction and returns how many
// existed. Entries already written are not touched.
func (s *Store) DeleteRelations(ctx context.Context, rels []eventlog.Relation) (int, error) {
	if len(rels) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: begin: %v", eventlog.ErrUnavailable, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PreparexContext(ctx, tx.Rebind(`DELETE FROM relations
		WHERE from_type_fold = ? AND from_id = ? AND to_type_fold = ? AND to_id = ? AND kind = ?`))
	if err != nil {
		return 0, fmt.Errorf("delete relations: %w", err)
	}
	defer stmt.Close()
	deleted := 0
	for _, r := range rels {
		res, err := stmt.ExecContext(ctx, fold(r.From.ContentType), r.From.ObjectID, fold(r.To.ContentType), r.To.ObjectID, r.Kind)
		if err != nil {
			return 0, fmt.Errorf("delete relations: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("delete relations: %w", err)
		}
		deleted += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete relations: commit: %w", err)
	}
	return deleted, nil
}

// ListRelations returns up to limit relations matching f, ordered by from,
// to and kind, after the relation after (nil: from the start).
func (s *Store) ListRelations(ctx context.Context, f eventlog.RelationFilter, after *eventlog.Relation, limit int) ([]eventlog.Relation, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("list relations: limit %d: must be positive", limit)
	}
	var where []string
	var args []any
	end := func(prefix string, ref *eventlog.ObjectRef) {
		if ref == nil {
			return
		}
		where = append(where, prefix+"_type_fold = ?")
		args = append(args, fold(ref.ContentType))
		if ref.ObjectID != "" {
			where = append(where, prefix+"_id = ?")
			args = append(args, ref.ObjectID)
		}
	}
	end("from", f.From)
	end("to", f.To)
	if f.Kind != nil {
		where = append(where, "kind = ?")
		args = append(args, *f.Kind)
	}
	if after != nil {
		where = append(where, "("+relationOrder+") > (?, ?, ?, ?, ?)")
		args = append(args, fold(after.From.ContentType), after.From.ObjectID, fold(after.To.ContentType), after.To.ObjectID, after.Kind)
	}
	q := `SELECT ` + relationColumns + ` FROM relations`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + relationOrder + ` LIMIT ?`
	args = append(args, limit)
	var rows []relationRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list relations: %w", err)
	}
	out := make([]eventlog.Relation, len(rows))
	for i, r := range rows {
		out[i] = r.relation()
	}
	return out, nil
}

// txGraph reads the relation registry inside an append's transaction.
type txGraph struct{ tx *sqlx.Tx }

var _ eventlog.Graph = (*txGraph)(nil)

func (g *txGraph) EachRelation(ctx context.Context, obj eventlog.ObjectRef, reverse bool, fn func(eventlog.Relation) error) error {
	q := `SELECT ` + relationColumns + ` FROM relations WHERE from_type_fold = ? AND from_id = ? ORDER BY ` + relationOrder
	if reverse {
		q = `SELECT ` + relationColumns + ` FROM relations WHERE to_type_fold = ? AND to_id = ?
			ORDER BY to_type_fold, to_id, from_type_fold, from_id, kind`
	}
	rows, err := g.tx.QueryxContext(ctx, g.tx.Rebind(q), fold(obj.ContentType), obj.ObjectID)
	if err != nil {
		return fmt.Errorf("read relations of %s/%s: %w", obj.ContentType, obj.ObjectID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r relationRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("read relations of %s/%s: %w", obj.ContentType, obj.ObjectID, err)
		}
		if err := fn(r.relation()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read relations of %s/%s: %w", obj.ContentType, obj.ObjectID, err)
	}
	return nil
}

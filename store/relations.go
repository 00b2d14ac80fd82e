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
func (s *Store) PutRelations(ctx context.Context, rels []eventlog.Relation) (_ int, err error) {
	defer s.classify(&err)
	if len(rels) == 0 {
		return 0, nil
	}
	tx, err := s.begin(ctx)
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
func (s *Store) DeleteRelations(ctx context.Context, rels []eventlog.Relation) (_ int, err error) {
	defer s.classify(&err)
	if len(rels) == 0 {
		return 0, nil
	}
	tx, err := s.begin(ctx)
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
func (s *Store) ListRelations(ctx context.Context, f eventlog.RelationFilter, after *eventlog.Relation, limit int) (_ []eventlog.Relation, err error) {
	defer s.classify(&err)
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

// txGraph reads the relation registry inside an append's transaction. The
// relations of the objects an append writes on are read together, in one
// query per direction, the first time the expansion asks for one of them;
// other objects (reached through children) are read one at a time. Each
// object is read once per append: the registry does not change within the
// transaction.
type txGraph struct {
	tx sqlx.ExtContext
	// byArrays, when set, are relationArrayQueries prepared: each reads
	// any number of objects in one round trip.
	byArrays [2]*sqlx.Stmt

	pending []eventlog.ObjectRef // objects read together on the first miss
	loaded  [2]bool              // forward, reverse: pending has been read
	cache   [2]map[objectKey][]eventlog.Relation
}

var _ eventlog.Graph = (*txGraph)(nil)

// objectKey identifies an object as relations match it: the content type
// ignoring case, the object id exactly.
type objectKey struct{ contentType, id string }

func keyOf(o eventlog.ObjectRef) objectKey { return objectKey{fold(o.ContentType), o.ObjectID} }

// newTxGraph returns the graph of an append that writes on objs.
func newTxGraph(tx sqlx.ExtContext, byArrays [2]*sqlx.Stmt, objs []eventlog.ObjectRef) *txGraph {
	return &txGraph{tx: tx, byArrays: byArrays, pending: objs}
}

// relationArrayQueries are relationQueries for PostgreSQL with the objects
// as two arrays (folded content types, ids), so that they can be prepared:
// an unprepared query with parameters costs lib/pq two round trips.
var relationArrayQueries = [2]string{
	`SELECT ` + relationColumns + ` FROM relations WHERE (from_type_fold, from_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY ` + relationOrder,
	`SELECT ` + relationColumns + ` FROM relations WHERE (to_type_fold, to_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY to_type_fold, to_id, from_type_fold, from_id, kind`,
}

// relationQueries are the queries of the relations that start at (0) or end
// at (1) objects; %s is the list of (folded content type, id) pairs.
var relationQueries = [2]string{
	`SELECT ` + relationColumns + ` FROM relations WHERE (from_type_fold, from_id) IN (%s) ORDER BY ` + relationOrder,
	`SELECT ` + relationColumns + ` FROM relations WHERE (to_type_fold, to_id) IN (%s)
		ORDER BY to_type_fold, to_id, from_type_fold, from_id, kind`,
}

func (g *txGraph) EachRelation(ctx context.Context, obj eventlog.ObjectRef, reverse bool, fn func(eventlog.Relation) error) error {
	d := 0
	if reverse {
		d = 1
	}
	if g.cache[d] == nil {
		g.cache[d] = make(map[objectKey][]eventlog.Relation)
	}
	k := keyOf(obj)
	rels, ok := g.cache[d][k]
	if !ok {
		objs := []eventlog.ObjectRef{obj}
		if !g.loaded[d] {
			g.loaded[d] = true
			objs = append(objs, g.pending...)
		}
		if err := g.load(ctx, d, objs); err != nil {
			return fmt.Errorf("read relations of %s/%s: %w", obj.ContentType, obj.ObjectID, err)
		}
		rels = g.cache[d][k]
	}
	for _, r := range rels {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// query reads the relations of keys in direction d.
func (g *txGraph) query(ctx context.Context, d int, keys []objectKey) (*sqlx.Rows, error) {
	if st := g.byArrays[d]; st != nil {
		types, ids := []byte{'{'}, []byte{'{'}
		for i, k := range keys {
			if i > 0 {
				types, ids = append(types, ','), append(ids, ',')
			}
			types, ids = appendArrayString(types, k.contentType), appendArrayString(ids, k.id)
		}
		if tx, ok := g.tx.(*sqlx.Tx); ok {
			st = tx.StmtxContext(ctx, st)
		}
		return st.QueryxContext(ctx, string(append(types, '}')), string(append(ids, '}')))
	}
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k.contentType, k.id)
	}
	q := fmt.Sprintf(relationQueries[d], strings.TrimSuffix(strings.Repeat("(?, ?), ", len(keys)), ", "))
	return g.tx.QueryxContext(ctx, g.tx.Rebind(q), args...)
}

// load reads the relations of objs in direction d into the cache.
func (g *txGraph) load(ctx context.Context, d int, objs []eventlog.ObjectRef) error {
	var keys []objectKey
	for _, o := range objs {
		k := keyOf(o)
		if _, ok := g.cache[d][k]; !ok {
			g.cache[d][k] = nil // read below, possibly with no relation
			keys = append(keys, k)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), insertChunk)
		rows, err := g.query(ctx, d, keys[:n])
		if err != nil {
			return err
		}
		for rows.Next() {
			var r relationRow
			if err := rows.StructScan(&r); err != nil {
				rows.Close()
				return err
			}
			rel := r.relation()
			end := rel.From
			if d == 1 {
				end = rel.To
			}
			k := keyOf(end)
			g.cache[d][k] = append(g.cache[d][k], rel)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

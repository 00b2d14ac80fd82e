package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/eventlog/eventlog"
)

var _ eventlog.ChainReader = (*Store)(nil)

// ChainHead returns the log's head row together with the largest stored id,
// read in one statement and so in one snapshot.
func (s *Store) ChainHead(ctx context.Context) (_ eventlog.Head, err error) {
	defer s.classify(&err)
	var h struct {
		LastID   int64  `db:"last_id"`
		LastHash []byte `db:"last_hash"`
		MaxID    int64  `db:"max_id"`
		Pruned   int64  `db:"pruned"`
		PrunedH  []byte `db:"pruned_hash"`
	}
	err = s.r.GetContext(ctx, &h, `SELECT last_id, last_hash,
		(SELECT COALESCE(MAX(id), 0) FROM events) AS max_id,
		COALESCE((SELECT MAX(through_id) FROM prunes), 0) AS pruned,
		(SELECT through_hash FROM prunes ORDER BY through_id DESC LIMIT 1) AS pruned_hash
		FROM log_head WHERE id = 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return eventlog.Head{}, &eventlog.CorruptError{Problem: "the head row (id 1 of log_head) is missing"}
	}
	if err != nil {
		return eventlog.Head{}, fmt.Errorf("read log head: %w", err)
	}
	return eventlog.Head{LastID: h.LastID, LastHash: h.LastHash, MaxID: h.MaxID, PrunedThrough: h.Pruned, PrunedHash: h.PrunedH}, nil
}

// chainRow is a row as verification reads it: with the case-folded copies,
// which the hash does not cover, so that they are checked against the
// fields they copy.
type chainRow struct {
	row
	ActorIDFold     string `db:"actor_id_fold"`
	ActorNameFold   string `db:"actor_name_fold"`
	ContentTypeFold string `db:"content_type_fold"`
}

// ReadChain returns up to limit entries with after < id <= upTo, oldest
// first: a keyset page for eventlog.VerifyChain. A row that cannot be read
// back as an entry ends the page with a *eventlog.CorruptError naming it.
func (s *Store) ReadChain(ctx context.Context, after, upTo int64, limit int) (_ []eventlog.Event, err error) {
	defer s.classify(&err)
	if limit <= 0 {
		return nil, fmt.Errorf("read chain: limit %d: must be positive", limit)
	}
	var rows []chainRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+insertColumns+
		` FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`), after, upTo, limit); err != nil {
		return nil, fmt.Errorf("read chain after %d: %w", after, err)
	}
	out := make([]eventlog.Event, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		e, err := r.decode()
		if err != nil {
			return out, &eventlog.CorruptError{ID: r.ID, Problem: err.Error()}
		}
		for _, c := range []struct{ name, field, folded string }{
			{"actor_id", r.ActorID, r.ActorIDFold},
			{"actor_name", r.ActorName, r.ActorNameFold},
			{"content_type", r.ContentType, r.ContentTypeFold},
		} {
			if fold(c.field) != c.folded {
				return out, &eventlog.CorruptError{ID: r.ID, Problem: fmt.Sprintf(
					"%s_fold %q does not match %s %q: the copy that filters search was changed", c.name, c.folded, c.name, c.field)}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

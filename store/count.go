package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
)

// Count returns the number of entries matching q.Filter in each bucket of
// q.Width, for each key of q.Group, leaving out empty buckets; ordered by
// bucket, then key. q must be valid (see CountQuery.Validate).
//
// Filters on event type and content type only, grouped by either or
// neither, in buckets of an hour or more, are answered from the counts
// per hour that triggers keep as entries are written (migration
// event_counts): only the partial hours at the ends of the range are
// counted from the entries. Other queries count the matching entries, the
// time range turned into a range of ids as List does.
func (s *Store) Count(ctx context.Context, q eventlog.CountQuery) (_ []eventlog.Count, err error) {
	defer s.classify(&err)
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f := q.Filter
	f.Start = f.Start.UTC()
	f.End = f.End.UTC()
	sums := map[countKey]int64{}
	rolled := f.Actor == "" && f.ObjectID == "" && f.SourceID == nil &&
		q.Group != eventlog.GroupActor && q.Width >= time.Hour
	// Whole hours within [Start, End]: [h1, h2).
	h1 := f.Start.Truncate(time.Hour)
	if h1.Before(f.Start) {
		h1 = h1.Add(time.Hour)
	}
	h2 := f.End.Add(time.Microsecond).Truncate(time.Hour)
	if rolled && h1.Before(h2) {
		if err := s.countRolled(ctx, q, h1, h2, sums); err != nil {
			return nil, err
		}
		if f.Start.Before(h1) {
			edge := f
			edge.End = h1.Add(-time.Microsecond)
			if err := s.countRaw(ctx, q, edge, sums); err != nil {
				return nil, err
			}
		}
		if !h2.After(f.End) {
			edge := f
			edge.Start = h2
			if err := s.countRaw(ctx, q, edge, sums); err != nil {
				return nil, err
			}
		}
	} else if err := s.countRaw(ctx, q, f, sums); err != nil {
		return nil, err
	}
	out := make([]eventlog.Count, 0, len(sums))
	for k, n := range sums {
		if n > 0 {
			out = append(out, eventlog.Count{Start: time.Unix(k.bucket*int64(q.Width/time.Second), 0).UTC(), Key: k.key, N: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// countKey is a bucket (its start in widths since the Unix epoch) and a
// group's key.
type countKey struct {
	bucket int64
	key    string
}

// countRolled adds to sums the counts per hour of the hours [h1, h2).
func (s *Store) countRolled(ctx context.Context, q eventlog.CountQuery, h1, h2 time.Time, sums map[countKey]int64) error {
	per := int64(q.Width / time.Hour)
	key := "''"
	switch q.Group {
	case eventlog.GroupEventType:
		key = "event_type"
	case eventlog.GroupContentType:
		key = "content_type_fold"
	}
	where := []string{"hour >= ?", "hour < ?"}
	args := []any{h1.Unix() / 3600, h2.Unix() / 3600}
	if q.Filter.Type != eventlog.TypeUnspecified {
		where = append(where, "event_type = ?")
		args = append(args, q.Filter.Type.String())
	}
	if q.Filter.ContentType != "" {
		where = append(where, "content_type_fold = ?")
		args = append(args, fold(q.Filter.ContentType))
	}
	query := fmt.Sprintf(`SELECT hour / %d AS b, %s AS k, SUM(n) AS n FROM event_counts WHERE %s GROUP BY 1, 2`,
		per, key, strings.Join(where, " AND "))
	return s.scanCounts(ctx, query, args, sums)
}

// countRaw adds to sums the counts of the entries matching f.
func (s *Store) countRaw(ctx context.Context, q eventlog.CountQuery, f eventlog.Filter, sums map[countKey]int64) error {
	lo, hi := int64(1), int64(0)
	if s.timesOrdered {
		var ok bool
		var err error
		if lo, hi, ok, err = s.idRange(ctx, f.Start, f.End); err != nil {
			return fmt.Errorf("count entries: %w", err)
		}
		if !ok {
			return nil
		}
		f.Start, f.End = time.Time{}, time.Time{}
	}
	where, args := s.where(f)
	if s.timesOrdered {
		where = append(where, "id >= ?", "id <= ?")
		args = append(args, lo, hi)
	}
	key := "''"
	switch q.Group {
	case eventlog.GroupEventType:
		key = "event_type"
	case eventlog.GroupActor:
		key = "CASE WHEN actor_name_fold <> '' THEN actor_name_fold ELSE actor_id_fold END"
	case eventlog.GroupContentType:
		key = "content_type_fold"
	}
	var bucket string
	if s.d == postgres {
		bucket = fmt.Sprintf("FLOOR(EXTRACT(EPOCH FROM time) / %d)::BIGINT", int64(q.Width/time.Second))
	} else {
		bucket = fmt.Sprintf("time / %d", q.Width.Microseconds())
	}
	query := fmt.Sprintf(`SELECT %s AS b, %s AS k, COUNT(*) AS n FROM events`, bucket, key)
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` GROUP BY 1, 2`
	return s.scanCounts(ctx, query, args, sums)
}

func (s *Store) scanCounts(ctx context.Context, query string, args []any, sums map[countKey]int64) error {
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(query), args...)
	if err != nil {
		return fmt.Errorf("count entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k countKey
		var n int64
		if err := rows.Scan(&k.bucket, &k.key, &n); err != nil {
			return fmt.Errorf("count entries: %w", err)
		}
		sums[k] += n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count entries: %w", err)
	}
	return nil
}

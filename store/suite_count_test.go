package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
)

var countTests = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"CountMatchesEntries", testCountMatchesEntries},
	{"CountAfterDelete", testCountAfterDelete},
	{"CountRejectsTooManyBuckets", testCountTooManyBuckets},
}

// wantCounts counts the entries of all that q selects, as Count should.
func wantCounts(all []eventlog.Event, q eventlog.CountQuery) []eventlog.Count {
	type key struct {
		start time.Time
		key   string
	}
	sums := map[key]int64{}
	var order []key
	for i := range all {
		e := &all[i]
		if !q.Filter.Match(e) {
			continue
		}
		k := key{start: e.Time.Truncate(q.Width)}
		switch q.Group {
		case eventlog.GroupEventType:
			k.key = e.Type.String()
		case eventlog.GroupActor:
			k.key = eventlog.Fold(e.Actor.Name)
			if k.key == "" {
				k.key = eventlog.Fold(e.Actor.ID)
			}
		case eventlog.GroupContentType:
			k.key = eventlog.Fold(e.ContentType)
		}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k]++
	}
	out := []eventlog.Count{}
	for _, k := range order {
		out = append(out, eventlog.Count{Start: k.start, Key: k.key, N: sums[k]})
	}
	// Entries come in time order; sort each bucket's keys.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Start.Equal(out[j-1].Start) && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// countFixture writes entries over three days, a few per step of 7m13s,
// in single writes and in one large batch, and returns them all.
func countFixture(t *testing.T, s *store.Store, c *clock) []eventlog.Event {
	t.Helper()
	types := []eventlog.EventType{eventlog.TypeCreate, eventlog.TypeEdit, eventlog.TypeFetch}
	actors := []string{"alice", "Bob", ""}
	cts := []string{"Note", "note", "Entity"}
	now := t0
	for i := range 600 {
		c.Set(now)
		e := ev(types[i%3], actors[(i/3)%3], cts[(i/2)%3], fmt.Sprint(i%5))
		if e.Actor.Name == "" {
			e.Actor.ID = "svc-1"
		}
		if i%4 == 0 {
			mustAppend(t, s, e, e)
		} else {
			mustAppend(t, s, e)
		}
		now = now.Add(7*time.Minute + 13*time.Second)
	}
	var batch []eventlog.Event
	for i := range eventlog.MaxBatch {
		batch = append(batch, ev(types[i%3], "carol", cts[i%3], "b"))
	}
	c.Set(now)
	mustAppend(t, s, batch...)
	return listAll(t, s, eventlog.Filter{})
}

func testCountMatchesEntries(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	all := countFixture(t, s, c)
	last := all[len(all)-1].Time
	zero := int64(0)
	ranges := [][2]time.Time{
		{t0, last},
		{t0.Add(-48 * time.Hour), last.Add(48 * time.Hour)},
		{t0.Add(95 * time.Minute), t0.Add(29*time.Hour + 17*time.Minute)},
		{t0.Truncate(time.Hour).Add(2 * time.Hour), t0.Truncate(time.Hour).Add(7*time.Hour - time.Microsecond)},
		{t0.Add(3 * time.Hour), t0.Add(3*time.Hour + 20*time.Minute)},
		{all[10].Time, all[10].Time},
		{last, last},
	}
	filters := []eventlog.Filter{
		{},
		{Type: eventlog.TypeEdit},
		{ContentType: "NOTE"},
		{Type: eventlog.TypeCreate, ContentType: "entity"},
		{Actor: "ALICE"},
		{Actor: "svc-1"},
		{ObjectID: "3"},
		{SourceID: &zero},
	}
	for _, r := range ranges {
		for _, f := range filters {
			for _, width := range []time.Duration{eventlog.BucketMinute, eventlog.BucketHour, eventlog.BucketDay} {
				for _, group := range []eventlog.CountGroup{eventlog.GroupNone, eventlog.GroupEventType, eventlog.GroupActor, eventlog.GroupContentType} {
					f.Start, f.End = r[0], r[1]
					q := eventlog.CountQuery{Filter: f, Width: width, Group: group}
					if q.Validate() != nil {
						continue // too many minutes
					}
					got, err := s.Count(context.Background(), q)
					if err != nil {
						t.Fatalf("Count(%+v) error = %v", q, err)
					}
					if diff := cmp.Diff(wantCounts(all, q), got); diff != "" {
						t.Fatalf("Count(%+v) (-want +got):\n%s", q, diff)
					}
				}
			}
		}
	}
	// The grand total, from the counts per hour, is every entry.
	got, err := s.Count(context.Background(), eventlog.CountQuery{
		Filter: eventlog.Filter{Start: t0.Add(-time.Hour), End: last.Add(time.Hour)}, Width: eventlog.BucketDay})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range got {
		total += c.N
	}
	if total != int64(len(all)) || len(got) != 4 {
		t.Errorf("Count of everything by day = %d in %d buckets, want %d in 4", total, len(got), len(all))
	}
}

// testCountAfterDelete: maintenance that removes entries (the append-only
// triggers lifted) leaves the counts true.
func testCountAfterDelete(t *testing.T, b backend) {
	c := &clock{now: t0}
	dsn := b.newDSN(t)
	s := open(t, dsn, c)
	all := countFixture(t, s, c)
	db := rawDB(t, b, dsn)
	b.unprotect(t, db)
	if _, err := db.Exec(db.Rebind(`DELETE FROM events WHERE id <= ?`), 300); err != nil {
		t.Fatal(err)
	}
	q := eventlog.CountQuery{Filter: eventlog.Filter{Start: t0, End: all[len(all)-1].Time}, Width: eventlog.BucketHour, Group: eventlog.GroupEventType}
	got, err := s.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCounts(all[300:], q), got); diff != "" {
		t.Errorf("Count after deleting entries 1 to 300 (-want +got):\n%s", diff)
	}
}

func testCountTooManyBuckets(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), nil)
	_, err := s.Count(context.Background(), eventlog.CountQuery{
		Filter: eventlog.Filter{Start: t0, End: t0.Add(eventlog.MaxCountBuckets * time.Minute)}, Width: eventlog.BucketMinute})
	var invalid *eventlog.InvalidError
	if !errors.As(err, &invalid) || invalid.Field != "bucket_width" {
		t.Errorf("Count of %d minutes error = %v, want invalid bucket_width", eventlog.MaxCountBuckets+1, err)
	}
	got, err := s.Count(context.Background(), eventlog.CountQuery{
		Filter: eventlog.Filter{Start: t0, End: t0.Add((eventlog.MaxCountBuckets - 2) * time.Minute)}, Width: eventlog.BucketMinute})
	if err != nil || len(got) != 0 {
		t.Errorf("Count of an empty log = %v, %v; want no counts", got, err)
	}
}

package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
)

// The tests of the append's fast paths: batches of every shape written by
// the prepared statements and by COPY, and time ranges served as id ranges.
var perfTests = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"BatchSizesRoundTrip", testBatchSizes},
	{"TimesNeverGoBack", testTimesNeverGoBack},
	{"TimeRangeWithUnorderedTimes", testUnorderedTimes},
	{"SourceFilterUsesChildrenIndex", testSourceIndex},
}

// testSourceIndex checks that a filter on a source entry uses the index of
// children, which holds no entry with source 0, also in a plan made for
// any value of the parameter (a prepared statement's generic plan).
func testSourceIndex(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	mustAppend(t, s, ev(eventlog.TypeEdit, "a", "T", "1"))
	five := int64(5)
	where, _ := store.WhereOf(s, eventlog.Filter{SourceID: &five})
	db := sqlx.MustOpen(b.driver, b.rawDSN(dsn))
	defer db.Close()
	q := `SELECT id FROM events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id DESC LIMIT 50`
	var plan []string
	if b.driver == "postgres" {
		conn, err := db.Connx(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, stmt := range []string{`SET enable_seqscan = off`, `SET plan_cache_mode = force_generic_plan`,
			`PREPARE by_source AS ` + strings.ReplaceAll(q, "?", "$1")} {
			if _, err := conn.ExecContext(context.Background(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := conn.SelectContext(context.Background(), &plan, `EXPLAIN EXECUTE by_source(5)`); err != nil {
			t.Fatal(err)
		}
	} else {
		rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, five)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "Index Cond: (source_id = ") && !strings.Contains(text, "INDEX events_source (source_id=?)") {
		t.Errorf("the filter on a source does not use the index of children:\n%s", text)
	}
}

// testBatchSizes writes batches of the sizes that take each path (one
// prepared INSERT, a sum of them, COPY) with every field set, awkward
// characters included, and checks that what is read back is what Append
// returned, under one hash chain.
func testBatchSizes(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), &clock{now: t0})
	n := 0
	var returned []eventlog.Event
	for _, size := range []int{1, 2, 3, 7, 8, 9, 17, 129, 300} {
		var batch []eventlog.Event
		for range size {
			n++
			batch = append(batch, eventlog.Event{
				Type:         eventlog.EventTypes()[n%len(eventlog.EventTypes())],
				OccurredTime: t0.Add(-time.Duration(n) * time.Second).Truncate(time.Microsecond),
				Actor:        eventlog.Actor{ID: fmt.Sprint("u", n), Name: "Zoë \"the\" admin\\", Kind: eventlog.ActorService},
				ContentType:  "Entry",
				ObjectID:     fmt.Sprintf("a/b\tc\\N,%d", n),
				ObjectRepr:   "line one\nline two\r\n\\. 🚀",
				Details:      []byte(fmt.Sprintf(`{"n":%d,"s":"tab\tnew\nline \\ \"q\""}`, n)),
				Request: eventlog.Request{
					RemoteAddr: "203.0.113.7", Method: "POST", Path: "/x?y=1&z=\\", Protocol: "HTTP/2.0",
					Status: 201, UserAgent: "curl/8.0 \"quoted\"", RequestID: fmt.Sprint("req-", n),
				},
				IdempotencyKey: fmt.Sprint("key-", n),
			})
		}
		batch[0].Details, batch[0].OccurredTime, batch[0].IdempotencyKey = nil, time.Time{}, ""
		returned = append(returned, mustAppend(t, s, batch...)...)
	}
	all := listAll(t, s, eventlog.Filter{})
	if diff := cmp.Diff(returned, all); diff != "" {
		t.Errorf("entries read back (-returned by Append +listed):\n%s", diff)
	}
	checkChain(t, all)
}

// testTimesNeverGoBack sets the clock back between appends: the later
// entries take the time of the last one, and time ranges find exactly the
// entries whose times are within them.
func testTimesNeverGoBack(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	mustAppend(t, s, ev(eventlog.TypeCreate, "a", "T", "1"))                                            // 1 at t0
	c.Set(t0.Add(time.Minute))                                                                          //
	mustAppend(t, s, ev(eventlog.TypeEdit, "a", "T", "1"))                                              // 2 at +1m
	c.Set(t0.Add(-time.Hour))                                                                           // the clock goes back
	got := mustAppend(t, s, ev(eventlog.TypeEdit, "a", "T", "2"), ev(eventlog.TypeEdit, "b", "T", "2")) // 3, 4 at +1m
	c.Set(t0.Add(2 * time.Minute))                                                                      //
	mustAppend(t, s, ev(eventlog.TypeDelete, "a", "T", "1"))                                            // 5 at +2m
	for _, e := range got {
		if want := t0.Add(time.Minute).Truncate(time.Microsecond); !e.Time.Equal(want) {
			t.Errorf("entry %d written with the clock set back: time %v, want the previous entry's %v", e.ID, e.Time, want)
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
	checkRanges(t, s, nil)
}

// checkRanges checks time ranges, in both orders and in pages of one, over
// the log of testTimesNeverGoBack: 1 at t0, 2 to 4 a minute later (4 by
// actor b), 5 a minute after. past lists entries whose time is before t0
// (written with a clock set back, before times were kept in order).
func checkRanges(t *testing.T, s interface {
	List(context.Context, eventlog.Filter, eventlog.Page) ([]eventlog.Event, error)
}, past []int64) {
	t.Helper()
	tests := []struct {
		name string
		f    eventlog.Filter
		want []int64
	}{
		{"start", eventlog.Filter{Start: t0.Add(time.Minute)}, without([]int64{2, 3, 4, 5}, past)},
		{"end", eventlog.Filter{End: t0.Add(time.Minute)}, []int64{1, 2, 3, 4}},
		{"both", eventlog.Filter{Start: t0.Add(time.Second), End: t0.Add(time.Minute)}, without([]int64{2, 3, 4}, past)},
		{"with a filter", eventlog.Filter{Actor: "b", Start: t0.Add(time.Second), End: t0.Add(time.Minute)}, []int64{4}},
		{"point", eventlog.Filter{Start: t0.Add(2 * time.Minute), End: t0.Add(2 * time.Minute)}, []int64{5}},
		{"before the first entry", eventlog.Filter{End: t0.Add(-time.Second)}, past},
		{"after the log", eventlog.Filter{Start: t0.Add(time.Hour)}, nil},
		{"between entries", eventlog.Filter{Start: t0.Add(time.Second), End: t0.Add(2 * time.Second)}, nil},
	}
	for _, tt := range tests {
		for _, asc := range []bool{true, false} {
			var got []int64
			p := eventlog.Page{Ascending: asc, Limit: 1}
			for {
				page, err := s.List(context.Background(), tt.f, p)
				if err != nil {
					t.Fatalf("%s: List error = %v", tt.name, err)
				}
				got = append(got, ids(page)...)
				if len(page) < p.Limit {
					break
				}
				p.Cursor = page[0].ID
			}
			if !asc {
				for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
					got[i], got[j] = got[j], got[i]
				}
			}
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s, ascending %v: ids (-want +got):\n%s", tt.name, asc, diff)
			}
		}
	}
}

// testUnorderedTimes opens a log whose times went back before they were
// kept in order (migration 0004 found them so): time ranges filter on the
// times themselves and still find exactly the matching entries.
func testUnorderedTimes(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	c := &clock{now: t0}
	s := open(t, dsn, c)
	mustAppend(t, s, ev(eventlog.TypeEdit, "a", "T", "1")) // 1 at t0
	c.Set(t0.Add(time.Minute))
	mustAppend(t, s, ev(eventlog.TypeEdit, "a", "T", "1")) // 2 at +1m
	s.Close()

	// Entries 3 and 4 as an older server would have written them, 3 with
	// its clock set back an hour.
	db, err := sqlx.Open(b.driver, b.rawDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	timeArg := func(t time.Time) any { return t.UnixMicro() }
	ordered := "0"
	if b.driver == "postgres" {
		timeArg = func(t time.Time) any { return t }
		ordered = "false"
	}
	const copyRow = `INSERT INTO events (id, time, occurred_time, event_type, actor_id, actor_name, actor_kind,
		content_type, object_id, object_repr, details, source_id,
		req_remote_addr, req_method, req_path, req_protocol, req_status, req_user_agent, req_request_id,
		idempotency_key, hash, prev_hash, actor_id_fold, actor_name_fold, content_type_fold)
	SELECT ?, ?, occurred_time, event_type, ?, ?, actor_kind,
		content_type, object_id, object_repr, details, source_id,
		req_remote_addr, req_method, req_path, req_protocol, req_status, req_user_agent, req_request_id,
		idempotency_key, hash, prev_hash, ?, ?, content_type_fold
	FROM events WHERE id = 2`
	for _, r := range []struct {
		id    int64
		at    time.Time
		actor string
	}{{3, t0.Add(-time.Hour), "a"}, {4, t0.Add(time.Minute), "b"}} {
		if _, err := db.Exec(db.Rebind(copyRow), r.id, timeArg(r.at), r.actor, r.actor, r.actor, r.actor); err != nil {
			t.Fatalf("insert entry %d: %v", r.id, err)
		}
	}
	if _, err := db.Exec(`UPDATE log_head SET last_id = 4, times_ordered = ` + ordered); err != nil {
		t.Fatal(err)
	}

	s = open(t, dsn, c)
	c.Set(t0.Add(2 * time.Minute))
	mustAppend(t, s, ev(eventlog.TypeDelete, "a", "T", "1")) // 5 at +2m
	checkRanges(t, s, []int64{3})
}

// without returns ids without those in drop.
func without(ids, drop []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

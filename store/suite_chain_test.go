package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
)

// chainFixture writes ten entries that between them use every kind of
// field: odd ids have an idempotency key, even ids an occurred time, every
// third a request, entry 8 a source id.
func chainFixture(t *testing.T, s *store.Store, c *clock) []eventlog.Event {
	t.Helper()
	var out []eventlog.Event
	for i := 1; i <= 10; i++ {
		c.Set(t0.Add(time.Duration(i) * time.Second))
		e := ev(eventlog.EventTypes()[i%len(eventlog.EventTypes())], "Alice", "Entry", fmt.Sprint(i))
		e.ObjectRepr = fmt.Sprintf("entry %d", i)
		e.Details = []byte(fmt.Sprintf(`{"n":%d}`, i))
		if i%2 == 1 {
			e.IdempotencyKey = fmt.Sprintf("key-%d", i)
		} else {
			e.OccurredTime = t0.Add(-time.Duration(i) * time.Minute)
		}
		if i%3 == 0 {
			e.Request = eventlog.Request{RemoteAddr: "203.0.113.7", Method: "POST", Path: "/x", Protocol: "HTTP/1.1", Status: 201}
		}
		if i == 8 {
			e.SourceID = 2
		}
		out = append(out, mustAppend(t, s, e)...)
	}
	return out
}

// rawDB opens the store's database directly, bypassing the store.
func rawDB(t *testing.T, b backend, dsn string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open(b.driver, b.rawDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testAppendOnlyTriggers(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	mustAppend(t, s, ev(eventlog.TypeCreate, "a", "T", "1"), ev(eventlog.TypeEdit, "a", "T", "1"))
	db := rawDB(t, b, dsn)
	for _, q := range []string{
		`UPDATE events SET actor_name = 'mallory' WHERE id = 1`,
		`DELETE FROM events WHERE id = 2`,
		`DELETE FROM events`,
		`DELETE FROM log_head`,
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s as the owner: error = %v, want it refused as append-only", q, err)
		}
	}
	if b.driver == "postgres" {
		for _, q := range []string{`TRUNCATE events`, `TRUNCATE log_head`} {
			if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s as the owner: error = %v, want it refused as append-only", q, err)
			}
		}
	}
	// Appends still move the head, and the log is whole.
	mustAppend(t, s, ev(eventlog.TypeDelete, "a", "T", "1"))
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testHeadAndReadChain(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	ctx := context.Background()
	h, err := s.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eventlog.Head{LastHash: eventlog.GenesisHash}, h); diff != "" {
		t.Errorf("ChainHead of an empty log (-want +got):\n%s", diff)
	}
	all := chainFixture(t, s, c)
	h, err = s.ChainHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eventlog.Head{LastID: 10, LastHash: all[9].Hash, MaxID: 10}, h); diff != "" {
		t.Errorf("ChainHead (-want +got):\n%s", diff)
	}
	tests := []struct {
		after, upTo int64
		limit       int
		want        []int64
	}{
		{0, 10, 100, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{0, math.MaxInt64, 3, []int64{1, 2, 3}},
		{3, 5, 100, []int64{4, 5}},
		{4, 5, 1, []int64{5}},
		{10, 20, 5, nil},
		{5, 5, 5, nil},
	}
	for _, tt := range tests {
		got, err := s.ReadChain(ctx, tt.after, tt.upTo, tt.limit)
		if err != nil {
			t.Fatalf("ReadChain(%d, %d, %d) error = %v", tt.after, tt.upTo, tt.limit, err)
		}
		if diff := cmp.Diff(tt.want, ids(got)); len(got)+len(tt.want) > 0 && diff != "" {
			t.Errorf("ReadChain(%d, %d, %d) ids (-want +got):\n%s", tt.after, tt.upTo, tt.limit, diff)
		}
		for _, e := range got {
			if diff := cmp.Diff(all[e.ID-1], e); diff != "" {
				t.Errorf("ReadChain entry %d (-appended +read):\n%s", e.ID, diff)
			}
		}
	}
	if _, err := s.ReadChain(ctx, 0, 10, 0); err == nil {
		t.Errorf("ReadChain with limit 0: no error, want one")
	}
}

func testVerifyIntact(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	ctx := context.Background()
	res, err := eventlog.VerifyChain(ctx, s, eventlog.VerifyOptions{})
	if err != nil || res.Break != nil || !res.HeadChecked || res.Checked != 0 {
		t.Errorf("VerifyChain(empty log) = %+v, %v; want intact with the head checked", res, err)
	}
	all := chainFixture(t, s, c)
	for _, opts := range []eventlog.VerifyOptions{
		{}, {PageSize: 1}, {PageSize: 3}, {Start: 4, End: 7, PageSize: 2}, {Start: 10}, {Start: 11},
	} {
		res, err := eventlog.VerifyChain(ctx, s, opts)
		if err != nil || res.Break != nil {
			t.Errorf("VerifyChain(%+v) = %v, %v; want an intact chain", opts, res.Break, err)
			continue
		}
		wantEnd := opts.End
		if wantEnd == 0 {
			wantEnd = 10
		}
		wantChecked := wantEnd - max(opts.Start, 1) + 1
		if res.End != wantEnd || res.Checked != wantChecked || res.HeadChecked != (opts.End == 0) {
			t.Errorf("VerifyChain(%+v) = end %d, %d checked, head checked %v; want end %d, %d, %v",
				opts, res.End, res.Checked, res.HeadChecked, wantEnd, wantChecked, opts.End == 0)
		}
		if res.End > 0 && string(res.EndHash) != string(all[res.End-1].Hash) {
			t.Errorf("VerifyChain(%+v) end hash %x, want entry %d's %x", opts, res.EndHash, res.End, all[res.End-1].Hash)
		}
	}
}

// tamper is one way of editing the database behind the store's back.
type tamper struct {
	name string
	// edit changes the database; all holds the ten entries as written.
	edit    func(t *testing.T, x *tamperEnv)
	wantID  int64
	want    eventlog.BreakKind
	problem string // part of the message naming what is wrong
}

type tamperEnv struct {
	db  *sqlx.DB
	b   backend
	all []eventlog.Event
}

func (x *tamperEnv) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := x.db.Exec(x.db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// set changes columns of entry id: pairs of column and value.
func (x *tamperEnv) set(t *testing.T, id int64, pairs ...any) {
	t.Helper()
	var sets []string
	var args []any
	for i := 0; i < len(pairs); i += 2 {
		sets = append(sets, pairs[i].(string)+" = ?")
		args = append(args, pairs[i+1])
	}
	x.exec(t, `UPDATE events SET `+strings.Join(sets, ", ")+` WHERE id = ?`, append(args, id)...)
}

// forge rewrites entry id after change, with its hash recomputed over prev.
func (x *tamperEnv) forge(t *testing.T, id int64, prev []byte, change func(e *eventlog.Event)) {
	t.Helper()
	e := x.all[id-1]
	change(&e)
	eventlog.Seal(prev, &e)
	x.set(t, id, "actor_name", e.Actor.Name, "actor_name_fold", strings.ToLower(e.Actor.Name),
		"object_repr", e.ObjectRepr, "prev_hash", e.PrevHash, "hash", e.Hash)
}

func tampers() []tamper {
	changed := "does not match the entry's content"
	return []tamper{
		{name: "text actor name with its folded copy", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "actor_name", "Mallory", "actor_name_fold", "mallory")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "text object repr", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "object_repr", "entry four")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "text request path", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 6, "req_path", "/y")
		}, wantID: 6, want: eventlog.BreakChanged, problem: changed},
		{name: "enum event type to another type", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "event_type", "CREATE")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "enum event type spelled otherwise", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "event_type", strings.ToLower(x.all[3].Type.String()))
		}, wantID: 4, want: eventlog.BreakChanged, problem: "not in its stored form"},
		{name: "enum event type unknown", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "event_type", "BOGUS")
		}, wantID: 4, want: eventlog.BreakChanged, problem: "BOGUS"},
		{name: "enum actor kind", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "actor_kind", "system")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "integer source id", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 8, "source_id", 3)
		}, wantID: 8, want: eventlog.BreakChanged, problem: changed},
		{name: "integer request status", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 6, "req_status", 200)
		}, wantID: 6, want: eventlog.BreakChanged, problem: changed},
		{name: "json details", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "details", `{"n":5}`)
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "json details removed", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "details", "")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "time one microsecond later", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "time", x.b.timeArg(x.all[3].Time.Add(time.Microsecond)))
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "time occurred set", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 3, "occurred_time", x.b.timeArg(t0))
		}, wantID: 3, want: eventlog.BreakChanged, problem: changed},
		{name: "time occurred cleared", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "occurred_time", nil)
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "time occurred at the epoch", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 3, "occurred_time", x.b.timeArg(time.Unix(0, 0)))
		}, wantID: 3, want: eventlog.BreakChanged, problem: "epoch"},
		{name: "nullable key set", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "idempotency_key", "planted")
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "nullable key cleared", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 5, "idempotency_key", nil)
		}, wantID: 5, want: eventlog.BreakChanged, problem: changed},
		{name: "nullable key empty", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "idempotency_key", "")
		}, wantID: 4, want: eventlog.BreakChanged, problem: "empty instead of NULL"},
		{name: "bytes hash", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "hash", make([]byte, 32))
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "bytes prev hash", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "prev_hash", make([]byte, 32))
		}, wantID: 4, want: eventlog.BreakChanged, problem: changed},
		{name: "derived folded content type", edit: func(t *testing.T, x *tamperEnv) {
			x.set(t, 4, "content_type_fold", "note")
		}, wantID: 4, want: eventlog.BreakChanged, problem: "content_type_fold"},
		{name: "deleted in the middle", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `DELETE FROM events WHERE id = 5`)
		}, wantID: 5, want: eventlog.BreakMissing, problem: "entry 5 is missing: entry 6 follows entry 4"},
		{name: "deleted first", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `DELETE FROM events WHERE id = 1`)
		}, wantID: 1, want: eventlog.BreakMissing},
		{name: "deleted tail", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `DELETE FROM events WHERE id >= 9`)
		}, wantID: 9, want: eventlog.BreakTruncated, problem: "the head records last id 10, but the last entry is 8"},
		{name: "swapped", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `UPDATE events SET id = -4 WHERE id = 4`)
			x.exec(t, `UPDATE events SET id = 4 WHERE id = 5`)
			x.exec(t, `UPDATE events SET id = 5 WHERE id = -4`)
		}, wantID: 4, want: eventlog.BreakReordered, problem: "holds the entry written as id 5"},
		{name: "forged with a recomputed hash", edit: func(t *testing.T, x *tamperEnv) {
			x.forge(t, 6, x.all[5].PrevHash, func(e *eventlog.Event) { e.Actor.Name = "Mallory" })
		}, wantID: 7, want: eventlog.BreakLink, problem: "is not the hash of entry 6"},
		{name: "forged with a recomputed hash over another prev hash", edit: func(t *testing.T, x *tamperEnv) {
			x.forge(t, 6, make([]byte, 32), func(e *eventlog.Event) { e.ObjectRepr = "forged" })
		}, wantID: 6, want: eventlog.BreakLink, problem: "is not the hash of entry 5"},
		{name: "last entry forged", edit: func(t *testing.T, x *tamperEnv) {
			x.forge(t, 10, x.all[9].PrevHash, func(e *eventlog.Event) { e.ObjectRepr = "forged" })
		}, wantID: 10, want: eventlog.BreakHead, problem: "is not the hash of entry 10"},
		{name: "head hash changed", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `UPDATE log_head SET last_hash = ?`, make([]byte, 32))
		}, wantID: 10, want: eventlog.BreakHead},
		{name: "head row deleted", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `DELETE FROM log_head`)
		}, wantID: 0, want: eventlog.BreakHead, problem: "missing"},
		{name: "entry after the head", edit: func(t *testing.T, x *tamperEnv) {
			x.exec(t, `INSERT INTO events (id, time, occurred_time, event_type, actor_id, actor_name, actor_kind,
				content_type, object_id, object_repr, details, source_id, req_remote_addr, req_method, req_path,
				req_protocol, req_status, req_user_agent, req_request_id, idempotency_key, hash, prev_hash,
				actor_id_fold, actor_name_fold, content_type_fold)
				SELECT 11, time, occurred_time, event_type, actor_id, actor_name, actor_kind,
				content_type, object_id, object_repr, details, source_id, req_remote_addr, req_method, req_path,
				req_protocol, req_status, req_user_agent, req_request_id, NULL, hash, prev_hash,
				actor_id_fold, actor_name_fold, content_type_fold FROM events WHERE id = 10`)
		}, wantID: 11, want: eventlog.BreakAfterHead},
	}
}

func testVerifyTampered(t *testing.T, b backend) {
	for _, tt := range tampers() {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			c := &clock{now: t0}
			dsn := b.newDSN(t)
			s := open(t, dsn, c)
			x := &tamperEnv{db: rawDB(t, b, dsn), b: b, all: chainFixture(t, s, c)}
			b.unprotect(t, x.db)
			tt.edit(t, x)
			for _, pageSize := range []int{0, 3} {
				res, err := eventlog.VerifyChain(context.Background(), s, eventlog.VerifyOptions{PageSize: pageSize})
				if err != nil {
					t.Fatalf("VerifyChain error = %v", err)
				}
				if res.Break == nil {
					t.Fatalf("VerifyChain (page size %d) found no break, want %v at %d", pageSize, tt.want, tt.wantID)
				}
				if res.Break.ID != tt.wantID || res.Break.Kind != tt.want || !strings.Contains(res.Break.Problem, tt.problem) {
					t.Errorf("VerifyChain (page size %d) = %v\nwant %v at entry %d mentioning %q", pageSize, res.Break, tt.want, tt.wantID, tt.problem)
				}
				// Entries are checked up to the break; the head after all of them.
				wantEnd := min(res.Break.ID-1, 10)
				if tt.want == eventlog.BreakHead || tt.want == eventlog.BreakAfterHead {
					wantEnd = 10
				}
				if res.Break.ID > 0 && res.End != wantEnd {
					t.Errorf("VerifyChain (page size %d) checked up to %d, want up to %d", pageSize, res.End, wantEnd)
				}
			}
			// A range that stops before the break does not see it.
			if tt.wantID > 2 {
				res, err := eventlog.VerifyChain(context.Background(), s, eventlog.VerifyOptions{Start: 1, End: tt.wantID - 2})
				if err != nil || res.Break != nil {
					t.Errorf("VerifyChain(1..%d) = %v, %v; want intact before the break", tt.wantID-2, res.Break, err)
				}
			}
		})
	}
}

func testOpenReadOnly(t *testing.T, b backend) {
	c := &clock{now: t0}
	dsn := b.newDSN(t)
	s := open(t, dsn, c)
	chainFixture(t, s, c)
	ctx := context.Background()
	ro, err := store.Open(ctx, store.Config{DSN: dsn, ReadOnly: true})
	if err != nil {
		t.Fatalf("Open read-only error = %v", err)
	}
	defer ro.Close()
	res, err := eventlog.VerifyChain(ctx, ro, eventlog.VerifyOptions{})
	if err != nil || res.Break != nil || res.Checked != 10 {
		t.Errorf("VerifyChain through a read-only store = %+v, %v; want 10 intact entries", res, err)
	}
	if b.driver == "sqlite" {
		if _, err := ro.Append(ctx, writes(ev(eventlog.TypeEdit, "a", "T", "1"))); err == nil {
			t.Errorf("Append through a read-only SQLite store: no error, want one")
		}
	}
	// A database without the schema is not created or migrated.
	empty := b.newDSN(t)
	_, err = store.Open(ctx, store.Config{DSN: empty, ReadOnly: true})
	switch {
	case err == nil:
		t.Errorf("Open read-only of an empty database: no error, want one")
	case b.driver == "sqlite" && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("Open read-only of a missing SQLite file error = %v, want it to say the file does not exist", err)
	}
}

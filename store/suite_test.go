package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jmoiron/sqlx"
)

// backend is what the conformance suite needs from one database.
type backend struct {
	// newDSN returns the DSN of a new, empty database.
	newDSN func(t *testing.T) string
	// failInsertsOf makes every later insert of an entry with the given
	// object id fail inside the database.
	failInsertsOf func(t *testing.T, db *sqlx.DB, objectID string)
	// driver is the database/sql driver name for direct access.
	driver string
	// rawDSN converts a DSN to what the driver accepts.
	rawDSN func(dsn string) string
	// unprotect lifts the append-only triggers, as someone with full
	// access to the database can, so that tests can tamper with entries.
	unprotect func(t *testing.T, db *sqlx.DB)
	// timeArg converts a time to the value the database stores.
	timeArg func(time.Time) any
}

// clock is a settable time source for the store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)

// runSuite runs every store behaviour against one backend.
func runSuite(t *testing.T, b backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend)
	}{
		{"AppendAssignsIDsTimeAndChain", testAppendAssigns},
		{"RoundTripEveryField", testRoundTrip},
		{"SubMicrosecondOccurredTime", testSubMicrosecond},
		{"GetMissing", testGetMissing},
		{"OrderAndPages", testOrderAndPages},
		{"Filters", testFilters},
		{"Idempotency", testIdempotency},
		{"IdempotencyAcrossReopen", testIdempotencyReopen},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"LargeBatch", testLargeBatch},
		{"ConcurrentWritersCommitOrder", testConcurrentWriters},
		{"PagingWhileInserting", testPagingWhileInserting},
		{"ReopenKeepsChain", testReopenKeepsChain},
		{"AppendOnlyTriggers", testAppendOnlyTriggers},
		{"HeadAndReadChain", testHeadAndReadChain},
		{"VerifyIntact", testVerifyIntact},
		{"VerifyTampered", testVerifyTampered},
		{"OpenReadOnly", testOpenReadOnly},
	}
	tests = append(tests, propagationTests...)
	tests = append(tests, perfTests...)
	tests = append(tests, streamTests...)
	tests = append(tests, treeTests...)
	tests = append(tests, countTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, b) })
	}
}

func open(t testing.TB, dsn string, c *clock) *store.Store {
	t.Helper()
	cfg := store.Config{DSN: dsn}
	if c != nil {
		cfg.Now = c.Now
	}
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("store.Open(%q) error = %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(typ eventlog.EventType, actor, contentType, objectID string) eventlog.Event {
	return eventlog.Event{
		Type:        typ,
		Actor:       eventlog.Actor{ID: "id-" + actor, Name: actor, Kind: eventlog.ActorUser},
		ContentType: contentType,
		ObjectID:    objectID,
	}
}

func mustAppend(t *testing.T, s *store.Store, events ...eventlog.Event) []eventlog.Event {
	t.Helper()
	out, err := s.Append(context.Background(), writes(events...))
	if err != nil {
		t.Fatalf("Append(%d events) error = %v", len(events), err)
	}
	if len(out) != len(events) {
		t.Fatalf("Append(%d events) returned %d", len(events), len(out))
	}
	stored := make([]eventlog.Event, len(out))
	for i := range out {
		stored[i] = out[i].Event
	}
	return stored
}

// writes wraps entries into writes that name no related objects.
func writes(events ...eventlog.Event) []eventlog.Write {
	out := make([]eventlog.Write, len(events))
	for i, e := range events {
		out[i] = eventlog.Write{Event: e}
	}
	return out
}

// listAll pages through everything matching f, oldest first.
func listAll(t *testing.T, s *store.Store, f eventlog.Filter) []eventlog.Event {
	t.Helper()
	var all []eventlog.Event
	p := eventlog.Page{Ascending: true, Limit: 1000}
	for {
		page, err := s.List(context.Background(), f, p)
		if err != nil {
			t.Fatalf("List(%+v, %+v) error = %v", f, p, err)
		}
		all = append(all, page...)
		if len(page) < p.Limit {
			return all
		}
		p.Cursor = page[len(page)-1].ID
	}
}

// checkChain verifies ids 1..n without gaps and the hash chain over them.
func checkChain(t *testing.T, all []eventlog.Event) {
	t.Helper()
	prev := eventlog.GenesisHash
	for i := range all {
		e := &all[i]
		if e.ID != int64(i+1) {
			t.Fatalf("entry %d has id %d, want %d (ids must be contiguous)", i, e.ID, i+1)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("entry %d: prev_hash %x, want %x", e.ID, e.PrevHash, prev)
		}
		if want := eventlog.ChainHash(prev, e); !bytes.Equal(e.Hash, want) {
			t.Fatalf("entry %d: hash %x, want %x", e.ID, e.Hash, want)
		}
		prev = e.Hash
	}
}

func ids(events []eventlog.Event) []int64 {
	out := make([]int64, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

func testAppendAssigns(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	in := []eventlog.Event{
		ev(eventlog.TypeCreate, "alice", "Entry", "1"),
		ev(eventlog.TypeEdit, "bob", "Entry", "1"),
	}
	in[0].ID, in[0].Hash = 999, []byte("forged") // ignored
	got := mustAppend(t, s, in...)
	if diff := cmp.Diff([]int64{1, 2}, ids(got)); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	want := t0.Truncate(time.Microsecond)
	for _, e := range got {
		if !e.Time.Equal(want) || e.Time.Location() != time.UTC {
			t.Errorf("entry %d time = %v, want %v in UTC", e.ID, e.Time, want)
		}
	}
	got = append(got, mustAppend(t, s, ev(eventlog.TypeDelete, "carol", "Note", "7"))...)
	checkChain(t, got)
	checkChain(t, listAll(t, s, eventlog.Filter{}))

	if out, err := s.Append(context.Background(), nil); err != nil || len(out) != 0 {
		t.Errorf("Append(nil) = %v, %v; want nothing, nil", out, err)
	}
}

func testRoundTrip(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, &clock{now: t0})
	in := eventlog.Event{
		Type:         eventlog.TypeLoginFailed,
		OccurredTime: time.Date(2025, 12, 31, 23, 59, 59, 123456000, time.UTC),
		Actor:        eventlog.Actor{ID: "u-1", Name: "Zoë \"the\" admin", Kind: eventlog.ActorService},
		ContentType:  "Entry",
		ObjectID:     "a/b/c?d=1",
		ObjectRepr:   "Fancy — entry 🚀",
		Details:      []byte(`{"a":[1,2.5,"x"],"b":{"c":null,"d":true}}`),
		Request: eventlog.Request{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/x?y=1", Protocol: "HTTP/2.0",
			Status: 201, UserAgent: "curl/8.0 \"quoted\"", RequestID: "req-123",
		},
		IdempotencyKey: "key-round-trip",
	}
	got := mustAppend(t, s, in)[0]
	want := in
	want.ID, want.Time = 1, t0.Truncate(time.Microsecond)
	eventlog.Seal(eventlog.GenesisHash, &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Append returned (-want +got):\n%s", diff)
	}
	stored, err := s.Get(context.Background(), 1)
	if err != nil {
		t.Fatalf("Get(1) error = %v", err)
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("Get(1) (-want +got):\n%s", diff)
	}
	// Again after the first append, which PostgreSQL makes in one
	// statement on the head it knows, with quotes, backslashes and braces
	// in every kind of text.
	again := in
	again.IdempotencyKey = `key "2" \ {x}`
	again.ObjectRepr = `back\slash, "quote", {brace}, comma; NULL`
	again.Actor.ID = `NULL`
	again.Request.Path = `/a\"b`
	again.Details = []byte(`{"s":"q\"b\\n{}"}`)
	got = mustAppend(t, s, again)[0]
	stored, err = s.Get(context.Background(), got.ID)
	if err != nil {
		t.Fatalf("Get(%d) error = %v", got.ID, err)
	}
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("second entry: Get(%d) differs from what Append returned (-append +get):\n%s", got.ID, diff)
	}
	if stored.ObjectRepr != again.ObjectRepr || stored.IdempotencyKey != again.IdempotencyKey || string(stored.Details) != string(again.Details) || stored.Actor.ID != "NULL" {
		t.Errorf("second entry stored as %+v", stored)
	}
	// An entry with no optional fields comes back without them.
	bare := mustAppend(t, s, ev(eventlog.TypeFetch, "x", "T", "1"))[0]
	stored, err = s.Get(context.Background(), bare.ID)
	if err != nil {
		t.Fatalf("Get(%d) error = %v", bare.ID, err)
	}
	if !stored.OccurredTime.IsZero() || stored.Details != nil || stored.IdempotencyKey != "" {
		t.Errorf("Get(%d) = %+v, want no occurred time, details or key", bare.ID, stored)
	}

	// Large batches (PostgreSQL writes them with COPY, whose text format
	// gives tabs, newlines and backslashes a meaning), on the head the
	// store knows and on a store just opened, which takes the lock.
	awkward := []string{"tab\there", "line\nbreak", "carriage\rreturn", `back\slash`, `\N`, `\.`, "\\\t\n", "", "Zoë — 🚀", `"quoted"`}
	batch := func(round int) []eventlog.Event {
		var out []eventlog.Event
		for i := range 300 {
			a := awkward[i%len(awkward)]
			e := ev(eventlog.TypeEdit, a, a, fmt.Sprintf("%d-%d %s", round, i, a))
			e.Actor.Name, e.ObjectRepr = a, a+a
			e.Request = eventlog.Request{RemoteAddr: a, Method: a, Path: "/" + a, Protocol: a, Status: int32(i), UserAgent: a, RequestID: a}
			if i%2 == 0 {
				e.IdempotencyKey = fmt.Sprintf("awkward %d-%d %s", round, i, a)
				e.OccurredTime = time.Date(2020, 1, 2, 3, 4, 5, (i+1)*1000, time.UTC)
			}
			if i%3 == 0 {
				e.Details = []byte(fmt.Sprintf(`{"s":%q}`, a))
			}
			out = append(out, e)
		}
		return out
	}
	reopened := open(t, dsn, &clock{now: t0})
	for round, st := range []*store.Store{s, reopened} {
		got := mustAppend(t, st, batch(round)...)
		for _, g := range got {
			stored, err := st.Get(context.Background(), g.ID)
			if err != nil {
				t.Fatalf("round %d: Get(%d) error = %v", round, g.ID, err)
			}
			if diff := cmp.Diff(g, stored); diff != "" {
				t.Fatalf("round %d: Get(%d) differs from what Append returned (-append +get):\n%s", round, g.ID, diff)
			}
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

// testSubMicrosecond appends entries whose occurred time has nanoseconds,
// alone, in a small batch and in a large one (PostgreSQL: one statement, a
// prepared INSERT after the head is forgotten, COPY): each is stored cut to
// the microsecond, as Append returns it and as its hash covers it, and a
// retry with its key is the same request.
func testSubMicrosecond(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, &clock{now: t0})
	occurred := time.Date(2025, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, n := range []int{1, 5, 300} {
		batch := make([]eventlog.Event, n)
		for i := range batch {
			batch[i] = ev(eventlog.TypeEdit, "alice", "Entry", fmt.Sprint(n))
			batch[i].OccurredTime = occurred
			batch[i].IdempotencyKey = fmt.Sprintf("ns-%d-%d", n, i)
		}
		in := slices.Clone(batch)
		got := mustAppend(t, open(t, dsn, &clock{now: t0}), batch...) // a store just opened: the locked path
		if !slices.EqualFunc(batch, in, func(a, b eventlog.Event) bool { return a.OccurredTime.Equal(b.OccurredTime) }) {
			t.Fatalf("batch of %d: Append changed the caller's entries", n)
		}
		for _, g := range got {
			if want := occurred.Truncate(time.Microsecond); !g.OccurredTime.Equal(want) {
				t.Fatalf("batch of %d: occurred time %v returned, want %v", n, g.OccurredTime, want)
			}
			stored, err := s.Get(context.Background(), g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(g, stored); diff != "" {
				t.Fatalf("batch of %d: Get(%d) differs from what Append returned (-append +get):\n%s", n, g.ID, diff)
			}
		}
		again, err := s.Append(context.Background(), writes(batch...))
		if err != nil {
			t.Fatalf("batch of %d: the retry with the same keys: %v", n, err)
		}
		if !again[0].Replayed || again[0].Event.ID != got[0].ID {
			t.Fatalf("batch of %d: the retry wrote anew (id %d, replayed %v), want entry %d replayed", n, again[0].Event.ID, again[0].Replayed, got[0].ID)
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testGetMissing(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), nil)
	mustAppend(t, s, ev(eventlog.TypeCreate, "a", "T", "1"))
	for _, id := range []int64{0, 2, -1, 1 << 62} {
		if _, err := s.Get(context.Background(), id); !errors.Is(err, eventlog.ErrNotFound) {
			t.Errorf("Get(%d) error = %v, want ErrNotFound", id, err)
		}
	}
}

func testOrderAndPages(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), nil)
	var in []eventlog.Event
	for i := range 23 {
		in = append(in, ev(eventlog.TypeEdit, "a", "T", fmt.Sprint(i)))
	}
	mustAppend(t, s, in...)
	for _, asc := range []bool{false, true} {
		var got []int64
		p := eventlog.Page{Ascending: asc, Limit: 5}
		pages := 0
		for {
			page, err := s.List(context.Background(), eventlog.Filter{}, p)
			if err != nil {
				t.Fatalf("List(%+v) error = %v", p, err)
			}
			pages++
			got = append(got, ids(page)...)
			if len(page) < p.Limit {
				break
			}
			p.Cursor = page[len(page)-1].ID
		}
		var want []int64
		for i := range 23 {
			if asc {
				want = append(want, int64(i+1))
			} else {
				want = append(want, int64(23-i))
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ascending=%v: ids over pages (-want +got):\n%s", asc, diff)
		}
		if pages != 5 {
			t.Errorf("ascending=%v: %d pages of 5 for 23 entries, want 5", asc, pages)
		}
	}
	if _, err := s.List(context.Background(), eventlog.Filter{}, eventlog.Page{}); err == nil {
		t.Errorf("List with limit 0: no error, want one")
	}
}

func testFilters(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	// id: type actor content object time
	fixture := []struct {
		e  eventlog.Event
		at time.Duration
	}{
		{ev(eventlog.TypeCreate, "Alice", "Entry", "1"), 0},                  // 1
		{ev(eventlog.TypeEdit, "alice", "entry", "1"), time.Minute},          // 2
		{ev(eventlog.TypeEdit, "Bob", "Note", "1"), 2 * time.Minute},         // 3
		{ev(eventlog.TypeDelete, "bob", "Note", "N-1"), 3 * time.Minute},     // 4
		{ev(eventlog.TypeFetch, "carol", "ENTRY", "n-1"), 4 * time.Minute},   // 5
		{ev(eventlog.TypeLogin, "Ünïcode", "Session", "s"), 5 * time.Minute}, // 6
	}
	for _, f := range fixture {
		c.Set(t0.Add(f.at))
		mustAppend(t, s, f.e)
	}
	// Children of entry 2 (propagated entries carry a source id).
	child := ev(eventlog.TypeEdit, "alice", "Note", "1")
	child.SourceID = 2
	c.Set(t0.Add(6 * time.Minute))
	mustAppend(t, s, child, child) // 7, 8

	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		f    eventlog.Filter
		want []int64
	}{
		{"none", eventlog.Filter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"type", eventlog.Filter{Type: eventlog.TypeEdit}, []int64{2, 3, 7, 8}},
		{"actor name any case", eventlog.Filter{Actor: "ALICE"}, []int64{1, 2, 7, 8}},
		{"actor id", eventlog.Filter{Actor: "id-bob"}, []int64{3, 4}},
		{"actor id other case", eventlog.Filter{Actor: "ID-BOB"}, []int64{3, 4}},
		{"actor unicode case", eventlog.Filter{Actor: "üNÏCODE"}, []int64{6}},
		{"actor no match", eventlog.Filter{Actor: "mallory"}, nil},
		{"content type any case", eventlog.Filter{ContentType: "eNtRy"}, []int64{1, 2, 5}},
		{"object id exact", eventlog.Filter{ObjectID: "N-1"}, []int64{4}},
		{"object id case matters", eventlog.Filter{ObjectID: "n-1"}, []int64{5}},
		{"source original", eventlog.Filter{SourceID: i64(0)}, []int64{1, 2, 3, 4, 5, 6}},
		{"source 2", eventlog.Filter{SourceID: i64(2)}, []int64{7, 8}},
		{"start inclusive", eventlog.Filter{Start: t0.Add(4 * time.Minute)}, []int64{5, 6, 7, 8}},
		{"end inclusive", eventlog.Filter{End: t0.Add(time.Minute)}, []int64{1, 2}},
		{"range", eventlog.Filter{Start: t0.Add(time.Minute), End: t0.Add(3 * time.Minute)}, []int64{2, 3, 4}},
		{"range empty", eventlog.Filter{Start: t0.Add(time.Hour)}, nil},
		{"type and actor", eventlog.Filter{Type: eventlog.TypeEdit, Actor: "alice"}, []int64{2, 7, 8}},
		{"content and object", eventlog.Filter{ContentType: "note", ObjectID: "1"}, []int64{3, 7, 8}},
		{"all of them", eventlog.Filter{
			Type: eventlog.TypeEdit, Actor: "Alice", ContentType: "NOTE", ObjectID: "1",
			SourceID: i64(2), Start: t0.Add(6 * time.Minute), End: t0.Add(6 * time.Minute),
		}, []int64{7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(listAll(t, s, tt.f))
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(%+v) ids (-want +got):\n%s", tt.f, diff)
			}
			// The same filter newest first, a page at a time, gives the reverse.
			var desc []int64
			p := eventlog.Page{Limit: 2}
			for {
				page, err := s.List(context.Background(), tt.f, p)
				if err != nil {
					t.Fatalf("List error = %v", err)
				}
				desc = append(desc, ids(page)...)
				if len(page) < p.Limit {
					break
				}
				p.Cursor = page[len(page)-1].ID
			}
			for i, j := 0, len(desc)-1; i < j; i, j = i+1, j-1 {
				desc[i], desc[j] = desc[j], desc[i]
			}
			if len(desc) == 0 {
				desc = nil
			}
			if diff := cmp.Diff(tt.want, desc); diff != "" {
				t.Errorf("List(%+v) newest first, reversed (-want +got):\n%s", tt.f, diff)
			}
		})
	}
}

func testIdempotency(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	first := ev(eventlog.TypeCreate, "alice", "Entry", "1")
	first.IdempotencyKey = "k1"
	a := mustAppend(t, s, first)[0]

	c.Set(t0.Add(time.Hour))
	retry := first // the same request, an hour later
	b2w, err := s.Append(context.Background(), writes(retry))
	if err != nil {
		t.Fatal(err)
	}
	if !b2w[0].Replayed {
		t.Error("retry with the same key: Replayed = false, want true")
	}
	b2 := b2w[0].Event
	if diff := cmp.Diff(a, b2); diff != "" {
		t.Errorf("retry with the same key (-first +retry):\n%s", diff)
	}

	// The key with another request is refused, alone or in a batch, and
	// nothing of that write is stored.
	other := ev(eventlog.TypeCreate, "alice", "Entry", "1")
	other.IdempotencyKey = "k1"
	other.Details = []byte(`{"a":1}`)
	for _, batch := range [][]eventlog.Event{{other}, {ev(eventlog.TypeEdit, "bob", "Entry", "9"), other}} {
		_, err := s.Append(context.Background(), writes(batch...))
		var conflict *eventlog.KeyConflictError
		if !errors.As(err, &conflict) || conflict.Key != "k1" || conflict.ID != 1 || conflict.Field != "event.details" {
			t.Errorf("Append(%d entries, k1 with other details) error = %v, want a conflict naming k1, entry 1 and event.details", len(batch), err)
		}
	}
	twice := ev(eventlog.TypeEdit, "bob", "Entry", "1")
	twice.IdempotencyKey = "new-key"
	_, err = s.Append(context.Background(), writes(ev(eventlog.TypeEdit, "bob", "Entry", "7"), func() eventlog.Event {
		e := twice
		e.Actor.Name = "carol"
		return e
	}(), twice))
	if conflict := (*eventlog.KeyConflictError)(nil); !errors.As(err, &conflict) || conflict.Key != "new-key" || conflict.Field != "event.actor.name" {
		t.Errorf("Append(a key twice with different actors) error = %v, want a conflict naming new-key and event.actor.name", err)
	}
	if all := listAll(t, s, eventlog.Filter{}); len(all) != 1 {
		t.Fatalf("after refused writes the log holds %d entries, want 1", len(all))
	}

	// In one batch: a stored key, a new key twice, no key.
	k2 := ev(eventlog.TypeEdit, "bob", "Entry", "1")
	k2.IdempotencyKey = "k2"
	gotw, err := s.Append(context.Background(), writes(retry, k2, k2, ev(eventlog.TypeEdit, "bob", "Entry", "1")))
	if err != nil {
		t.Fatal(err)
	}
	var got []eventlog.Event
	var replayed []bool
	for _, w := range gotw {
		got = append(got, w.Event)
		replayed = append(replayed, w.Replayed)
	}
	if diff := cmp.Diff([]int64{1, 2, 2, 3}, ids(got)); diff != "" {
		t.Errorf("batch ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, false, true, false}, replayed); diff != "" {
		t.Errorf("batch Replayed (-want +got):\n%s", diff)
	}
	all := listAll(t, s, eventlog.Filter{})
	if len(all) != 3 {
		t.Fatalf("log holds %d entries, want 3", len(all))
	}
	checkChain(t, all)

	// Keys are case-sensitive and distinct keys are distinct entries.
	k := ev(eventlog.TypeEdit, "bob", "Entry", "1")
	k.IdempotencyKey = "K1"
	if id := mustAppend(t, s, k)[0].ID; id != 4 {
		t.Errorf("key K1 after k1: id %d, want a new entry 4", id)
	}
}

func testIdempotencyReopen(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	e := ev(eventlog.TypeCreate, "alice", "Entry", "1")
	e.IdempotencyKey = "survives"
	first := mustAppend(t, s, e)[0]
	s.Close()
	s2 := open(t, dsn, nil)
	again := mustAppend(t, s2, e)[0]
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("after reopening (-first +again):\n%s", diff)
	}
}

func testBatchAllOrNothing(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	before := mustAppend(t, s, ev(eventlog.TypeCreate, "a", "T", "ok"))

	db, err := sqlx.Open(b.driver, b.rawDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b.failInsertsOf(t, db, "boom")

	// The failing entry is the last one of a batch longer than one INSERT
	// statement, so earlier statements of the same batch have run.
	var batch []eventlog.Event
	for i := range 700 {
		batch = append(batch, ev(eventlog.TypeEdit, "a", "T", fmt.Sprint(i)))
	}
	batch = append(batch, ev(eventlog.TypeEdit, "a", "T", "boom"))
	batch[0].IdempotencyKey = "in-failed-batch"
	if _, err := s.Append(context.Background(), writes(batch...)); err == nil {
		t.Fatalf("Append of a batch with a failing entry: no error")
	}
	all := listAll(t, s, eventlog.Filter{})
	if diff := cmp.Diff(ids(before), ids(all)); diff != "" {
		t.Errorf("after a failed batch the log holds (-want +got):\n%s", diff)
	}
	// The head did not move and the key was not taken.
	next := ev(eventlog.TypeEdit, "a", "T", "after")
	next.IdempotencyKey = "in-failed-batch"
	if got := mustAppend(t, s, next)[0]; got.ID != 2 || got.ObjectID != "after" {
		t.Errorf("first append after the failure = id %d object %q, want id 2 object %q", got.ID, got.ObjectID, "after")
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testLargeBatch(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), nil)
	var batch []eventlog.Event
	for i := range eventlog.MaxBatch {
		e := ev(eventlog.TypeEdit, "a", "T", fmt.Sprint(i))
		e.IdempotencyKey = fmt.Sprintf("k%d", i)
		batch = append(batch, e)
	}
	got := mustAppend(t, s, batch...)
	for i, e := range got {
		if e.ID != int64(i+1) || e.ObjectID != fmt.Sprint(i) {
			t.Fatalf("entry %d = id %d object %q, want id %d object %d (request order)", i, e.ID, e.ObjectID, i+1, i)
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

// testConcurrentWriters runs writers on two stores over one database (two
// server processes) and a tailer that follows the log by cursor. Every id
// the tailer sees must be above the previous one, and by the end it must
// have seen every entry exactly once: ids are visible in commit order.
func testConcurrentWriters(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	stores := []*store.Store{open(t, dsn, nil), open(t, dsn, nil)}
	const writers, perWriter = 8, 25
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var written atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range perWriter {
				n := 1 + i%3
				var batch []eventlog.Event
				for j := range n {
					batch = append(batch, ev(eventlog.TypeEdit, fmt.Sprint("w", w), "T", fmt.Sprint(i, ".", j)))
				}
				if _, err := s.Append(ctx, writes(batch...)); err != nil {
					errs <- err
					return
				}
				written.Add(int64(n))
			}
		}()
	}
	var seen []int64
	tailDone := make(chan struct{})
	stopTail := make(chan struct{})
	go func() {
		defer close(tailDone)
		var cursor int64
		for {
			// Read whether the writers are done before reading the page, so
			// that an empty page after they are done really is the end.
			done := false
			select {
			case <-stopTail:
				done = true
			default:
			}
			page, err := stores[1].List(ctx, eventlog.Filter{}, eventlog.Page{Ascending: true, Cursor: cursor, Limit: 1000})
			if err != nil {
				errs <- err
				return
			}
			for _, e := range page {
				seen = append(seen, e.ID)
				cursor = e.ID
			}
			if len(page) == 0 {
				if done {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(stopTail)
	<-tailDone
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	total := int(written.Load())
	want := 0
	for i := range perWriter {
		want += writers * (1 + i%3)
	}
	if total != want {
		t.Fatalf("written %d entries, want %d", total, want)
	}
	for i, id := range seen {
		if id != int64(i+1) {
			t.Fatalf("tailer saw ids %v... at position %d: %d, want %d (a skipped or reordered id)", seen[max(0, i-3):i+1], i, id, i+1)
		}
	}
	if len(seen) != total {
		t.Errorf("tailer saw %d entries, want %d", len(seen), total)
	}
	checkChain(t, listAll(t, stores[0], eventlog.Filter{}))
}

// testPagingWhileInserting pages newest first while new entries arrive: the
// pages hold every entry that existed when paging started, once each.
func testPagingWhileInserting(t *testing.T, b backend) {
	s := open(t, b.newDSN(t), nil)
	var batch []eventlog.Event
	for i := range 50 {
		batch = append(batch, ev(eventlog.TypeEdit, "a", "T", fmt.Sprint(i)))
	}
	mustAppend(t, s, batch...)
	var got []int64
	p := eventlog.Page{Limit: 7}
	for {
		page, err := s.List(context.Background(), eventlog.Filter{ContentType: "t"}, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		mustAppend(t, s, ev(eventlog.TypeEdit, "b", "T", "new"), ev(eventlog.TypeEdit, "b", "T", "new"))
		if len(page) < p.Limit {
			break
		}
		p.Cursor = page[len(page)-1].ID
	}
	var want []int64
	for i := 50; i >= 1; i-- {
		want = append(want, int64(i))
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ids over pages (-want +got):\n%s", diff)
	}
}

func testReopenKeepsChain(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := open(t, dsn, nil)
	mustAppend(t, s, ev(eventlog.TypeCreate, "a", "T", "1"), ev(eventlog.TypeEdit, "a", "T", "1"))
	s.Close()
	s = open(t, dsn, nil) // migrations are not applied twice
	mustAppend(t, s, ev(eventlog.TypeDelete, "a", "T", "1"))
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
)

func postgresBackend(server string) backend {
	return backend{
		newDSN:  func(t *testing.T) string { return pgtest.NewDB(t, server) },
		driver:  "postgres",
		rawDSN:  func(dsn string) string { return dsn },
		timeArg: func(t time.Time) any { return t.UTC() },
		unprotect: func(t *testing.T, db *sqlx.DB) {
			t.Helper()
			// By name: the triggers that keep the counts stay on.
			for _, tr := range [][2]string{
				{"events", "events_append_only"}, {"events", "events_no_truncate"},
				{"log_head", "log_head_no_delete"}, {"log_head", "log_head_no_truncate"},
			} {
				if _, err := db.Exec(`ALTER TABLE ` + tr[0] + ` DISABLE TRIGGER ` + tr[1]); err != nil {
					t.Fatalf("disable trigger %s on %s: %v", tr[1], tr[0], err)
				}
			}
		},
		failInsertsOf: func(t *testing.T, db *sqlx.DB, objectID string) {
			t.Helper()
			lit := "'" + strings.ReplaceAll(objectID, "'", "''") + "'"
			for _, q := range []string{
				`CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'insert refused by test trigger'; END $$`,
				`CREATE TRIGGER fail_insert BEFORE INSERT ON events FOR EACH ROW
				WHEN (NEW.object_id = ` + lit + `) EXECUTE FUNCTION fail_insert()`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("create trigger: %v", err)
				}
			}
		},
	}
}

func TestPostgres(t *testing.T) {
	runSuite(t, postgresBackend(pgtest.URL(t)))
}

// TestPostgresGrantAppendOnly runs the service as a role set up by
// GrantAppendOnly: it can start, append, read and verify, and cannot edit,
// remove or truncate entries, or remove the head, even with the append-only
// triggers lifted.
func TestPostgresGrantAppendOnly(t *testing.T) {
	server := pgtest.URL(t)
	admin, err := sqlx.Open("postgres", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	role := pgtest.NewRole(t, server)
	dsn := pgtest.NewDB(t, server)
	ctx := context.Background()

	owner := open(t, dsn, nil)
	mustAppend(t, owner, ev(eventlog.TypeCreate, "a", "T", "1"))
	if err := owner.GrantAppendOnly(ctx, role); err != nil {
		t.Fatalf("GrantAppendOnly(%q) error = %v", role, err)
	}
	if err := owner.GrantAppendOnly(ctx, role); err != nil {
		t.Fatalf("GrantAppendOnly(%q) a second time: error = %v", role, err)
	}

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	appDSN := u.String()

	app := open(t, appDSN, nil) // migrations are current: nothing to create
	mustAppend(t, app, ev(eventlog.TypeEdit, "a", "T", "1"), ev(eventlog.TypeDelete, "a", "T", "1"))
	checkChain(t, listAll(t, app, eventlog.Filter{}))
	if res, err := eventlog.VerifyChain(ctx, app, eventlog.VerifyOptions{}); err != nil || res.Break != nil || res.Checked != 3 {
		t.Errorf("VerifyChain as %s = %+v, %v; want 3 intact entries", role, res, err)
	}

	// The relation registry is the role's to change.
	rel := eventlog.Relation{From: eventlog.ObjectRef{ContentType: "Note", ObjectID: "1"}, To: eventlog.ObjectRef{ContentType: "Entry", ObjectID: "2"}}
	if n, err := app.PutRelations(ctx, []eventlog.Relation{rel}); err != nil || n != 1 {
		t.Errorf("PutRelations as %s = %d, %v; want 1, nil", role, n, err)
	}
	if rels, err := app.ListRelations(ctx, eventlog.RelationFilter{}, nil, 10); err != nil || len(rels) != 1 {
		t.Errorf("ListRelations as %s = %v, %v; want the relation", role, rels, err)
	}
	if n, err := app.DeleteRelations(ctx, []eventlog.Relation{rel}); err != nil || n != 1 {
		t.Errorf("DeleteRelations as %s = %d, %v; want 1, nil", role, n, err)
	}

	// Lift the triggers: what stops the role now is its privileges alone.
	ownerDB, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ownerDB.Close()
	postgresBackend(server).unprotect(t, ownerDB)

	appDB, err := sqlx.Open("postgres", appDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer appDB.Close()
	for _, q := range []string{
		`UPDATE events SET actor_name = 'mallory' WHERE id = 1`,
		`DELETE FROM events WHERE id = 3`,
		`TRUNCATE events`,
		`DELETE FROM log_head`,
		`TRUNCATE log_head`,
		`INSERT INTO log_head (id, last_id, last_hash) VALUES (2, 0, '\x00')`,
		`UPDATE log_head SET id = 2`,
		`ALTER TABLE events DISABLE TRIGGER USER`,
		`DROP TABLE events`,
		`CREATE TABLE planted (x int)`,
		`INSERT INTO schema_migrations (version, name) VALUES (999, 'x')`,
		`UPDATE relations SET kind = 'x'`,
		`DROP TABLE events_from_1`,
		`ALTER TABLE events DETACH PARTITION events_from_1`,
		`INSERT INTO prunes (through_id, through_hash, tree_range, entries, before_time, pruned_at, pruned_by) VALUES (1, '\x00', '', 1, now(), now(), 'x')`,
		`DELETE FROM log_partitions`,
		`UPDATE log_partitioning SET period = '1 hour'`,
	} {
		_, err := appDB.Exec(q)
		if err == nil {
			t.Errorf("%s as %s: no error, want it refused", q, role)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "permission denied") && !strings.Contains(msg, "must be owner") {
			t.Errorf("%s as %s: error = %v, want permission denied", q, role, err)
		}
	}
	// The role still appends, moving the head, after all that.
	mustAppend(t, app, ev(eventlog.TypeEdit, "a", "T", "2"))
	checkChain(t, listAll(t, app, eventlog.Filter{}))

	// Roles that privileges do not restrict are refused.
	var ownerName string
	if err := admin.Get(&ownerName, `SELECT current_user`); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{ownerName, role + "_missing"} {
		if err := owner.GrantAppendOnly(ctx, bad); err == nil {
			t.Errorf("GrantAppendOnly(%q): no error, want it refused", bad)
		}
	}
}

// TestPostgresGrantsCoverEveryTable fails when a migration adds a table
// without deciding what the service's role may do with it.
func TestPostgresGrantsCoverEveryTable(t *testing.T) {
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	open(t, dsn, nil)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	if err := db.Select(&tables, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, g := range store.ServiceGrants() {
		granted[g.Table] = true
	}
	for _, table := range tables {
		if !granted[table] {
			t.Errorf("table %s has no entry in store.ServiceGrants: decide what the service's role may do with it", table)
		}
	}
}

// TestPostgresAppendInOneStatement covers the appends a store makes in one
// statement on the head it knows: they are taken when nothing else moved
// the head, and when something did (another store, a change to the
// registry, the same idempotency key written meanwhile) the append is made
// again under the head's lock, with the same outcome as if it had been
// made there from the start.
func TestPostgresAppendInOneStatement(t *testing.T) {
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	a := openWithRules(t, dsn, "", 0)
	b := openWithRules(t, dsn, "", 0)
	ctx := context.Background()

	write(t, a, eventlog.TypeEdit, "Note/n0") // a learns the head
	if n := store.AppendsAt(a); n != 0 {
		t.Fatalf("first append made in one statement (%d); the head was not known yet", n)
	}
	write(t, a, eventlog.TypeEdit, "Note/n0")
	if n := store.AppendsAt(a); n != 1 {
		t.Fatalf("second append: %d in one statement, want 1", n)
	}

	// Every kind of value, with the characters array literals escape.
	tricky := eventlog.Event{
		Type:         eventlog.TypeLoginFailed,
		OccurredTime: time.Date(2025, 12, 31, 23, 59, 59, 123456000, time.UTC),
		Actor:        eventlog.Actor{ID: `NULL`, Name: `Zoë "the" \admin`, Kind: eventlog.ActorService},
		ContentType:  `Entry{1,2}`,
		ObjectID:     `a/b\c?d="1"`,
		ObjectRepr:   `back\slash, "quote", {brace}, comma; 🚀`,
		Details:      []byte(`{"s":"q\"b\\n{}"}`),
		Request: eventlog.Request{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: `/a\"b`, Protocol: "HTTP/2.0",
			Status: 201, UserAgent: `curl "x"`, RequestID: `\`,
		},
		IdempotencyKey: `key "2" \ {x}`,
	}
	got := mustAppend(t, a, tricky)[0]
	if n := store.AppendsAt(a); n != 2 {
		t.Fatalf("append of every kind of value: %d in one statement, want 2", n)
	}
	stored, err := a.Get(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("Get(%d) differs from what Append returned (-append +get):\n%s", got.ID, diff)
	}
	want := tricky
	want.ID, want.Time, want.Hash, want.PrevHash = got.ID, got.Time, got.Hash, got.PrevHash
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored entry (-sent +stored):\n%s", diff)
	}

	// A large batch goes by COPY in a transaction on the known head; after
	// another store moved the head, by the locked path.
	big := func(n int) []eventlog.Event {
		out := make([]eventlog.Event, n)
		for i := range out {
			out[i] = ev(eventlog.TypeCreate, "carol", "Bulk", fmt.Sprint(i))
		}
		return out
	}
	before := store.AppendsAt(a)
	mustAppend(t, a, big(300)...)
	if n := store.AppendsAt(a) - before; n != 1 {
		t.Errorf("a batch of 300 on the known head: %d appends on it, want 1", n)
	}
	write(t, b, eventlog.TypeCreate, "Note/moved")
	before = store.AppendsAt(a)
	mustAppend(t, a, big(300)...)
	if n := store.AppendsAt(a) - before; n != 0 {
		t.Errorf("a batch of 300 after another store moved the head: %d appends on the known head, want 0", n)
	}
	// The next append takes the locked path too (after a miss the store
	// waits before trying the known head again), and learns the head.
	write(t, a, eventlog.TypeEdit, "Note/n0")
	before = store.AppendsAt(a)
	write(t, a, eventlog.TypeEdit, "Note/n0")
	if n := store.AppendsAt(a) - before; n != 1 {
		t.Fatalf("two appends after a miss: %d on the known head, want 1", n)
	}

	// A relation registered between reading the registry and writing.
	store.SetBeforeAppendAt(a, func() {
		store.SetBeforeAppendAt(a, nil)
		relate(t, b, "Note/n1 -> Entity/e1")
	})
	w := write(t, a, eventlog.TypeEdit, "Note/n1")
	if len(w.Children) != 1 || w.Children[0].ObjectID != "e1" {
		t.Fatalf("write after a relation was registered meanwhile has children %v, want one on Entity/e1", tree(w.Children))
	}

	// A change the owner makes to relations by hand moves the registry's
	// count as the API's changes do.
	owner, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var v0, v1 int64
	owner.Get(&v0, `SELECT relations_version FROM log_head`)
	if _, err := owner.Exec(`UPDATE relations SET kind = 'x' WHERE kind = 'none'`); err != nil {
		t.Fatal(err)
	}
	owner.Get(&v1, `SELECT relations_version FROM log_head`)
	if v1 != v0+1 {
		t.Errorf("an UPDATE of relations moved relations_version from %d to %d", v0, v1)
	}

	// Another store moves the head; a's next append misses it and is made
	// under the lock, on the right head.
	for range 3 {
		write(t, a, eventlog.TypeEdit, "Note/n2")
	}
	before = store.AppendsAt(a)
	write(t, b, eventlog.TypeCreate, "Note/n3")
	write(t, a, eventlog.TypeEdit, "Note/n2")
	write(t, a, eventlog.TypeEdit, "Note/n2")
	write(t, a, eventlog.TypeEdit, "Note/n2")
	if n := store.AppendsAt(a) - before; n < 1 || n > 2 {
		t.Errorf("after another store wrote, %d of 3 appends in one statement, want 1 or 2", n)
	}

	// The same key written by b between a's look-up and its write.
	var fromB eventlog.Written
	for range 2 { // the first may miss the head b's earlier write moved
		write(t, a, eventlog.TypeEdit, "Note/n2")
	}
	e := ev(eventlog.TypeCreate, "alice", "Note", "k1")
	e.IdempotencyKey = "key-1"
	store.SetBeforeAppendAt(a, func() {
		store.SetBeforeAppendAt(a, nil)
		e := ev(eventlog.TypeCreate, "alice", "Note", "k1") // the same request
		e.IdempotencyKey = "key-1"
		out, err := b.Append(ctx, []eventlog.Write{{Event: e}})
		if err != nil {
			t.Errorf("b.Append: %v", err)
			return
		}
		fromB = out[0]
	})
	out, err := a.Append(ctx, []eventlog.Write{{Event: e}})
	if err != nil {
		t.Fatalf("Append with a key written meanwhile: %v", err)
	}
	if fromB.Event.ID == 0 || out[0].Event.ID != fromB.Event.ID || !bytes.Equal(out[0].Event.Hash, fromB.Event.Hash) {
		t.Errorf("Append with a key written meanwhile gave entry %d by %s, want b's entry %d", out[0].Event.ID, out[0].Event.Actor.ID, fromB.Event.ID)
	}

	// A row the database refuses, in a write on the known head of each
	// size: nothing is written, the error is the database's.
	admin, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	postgresBackend("").failInsertsOf(t, admin, "refused")
	count := len(listAll(t, a, eventlog.Filter{}))
	for _, n := range []int{1, 300} {
		write(t, a, eventlog.TypeEdit, "Note/n0") // the head is known
		batch := big(n)
		batch[n/2].ObjectID = "refused"
		before := store.AppendsAt(a)
		if _, err := a.Append(ctx, writes(batch...)); err == nil || !strings.Contains(err.Error(), "refused by test trigger") {
			t.Errorf("batch of %d with a refused row: error %v, want the trigger's", n, err)
		}
		count++ // the priming write
		if got := len(listAll(t, a, eventlog.Filter{})); got != count || store.AppendsAt(a) != before {
			t.Errorf("after a refused batch of %d: %d entries (want %d), %d appends on the known head", n, got, count, store.AppendsAt(a)-before)
		}
	}

	all := listAll(t, a, eventlog.Filter{})
	checkChain(t, all)
	for i, e := range all {
		if e.ID != int64(i+1) {
			t.Fatalf("ids are not 1..%d: %v", len(all), ids(all))
		}
	}
}

// TestPostgresAppendAnswerLost loses the answer to an append made on the
// known head after the database committed it. database/sql then runs the
// statement again on another connection, which finds the head already
// moved: the append must be reported as written once, not written again.
func TestPostgresAppendAnswerLost(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDB(t, pgtest.URL(t)))
	s := openWithRules(t, dsn, "", 0)

	for _, n := range []int{1, 300} { // the statement, then COPY
		write(t, s, eventlog.TypeEdit, "Note/n0") // the head is known
		batch := make([]eventlog.Event, n)
		for i := range batch {
			batch[i] = ev(eventlog.TypeCreate, "alice", "Once", fmt.Sprint(n))
		}
		store.SetBeforeAppendAt(s, func() {
			store.SetBeforeAppendAt(s, nil)
			proxy.DropAnswers(1)
		})
		out, err := s.Append(context.Background(), writes(batch...))
		stored := listAll(t, s, eventlog.Filter{ObjectID: fmt.Sprint(n)})
		switch {
		case len(stored) > n:
			t.Fatalf("a write of %d entries whose answer was lost is stored %d times over: %d entries", n, len(stored)/n, len(stored))
		case err == nil && (len(stored) != n || !slices.Contains(ids(stored), out[0].Event.ID)):
			t.Errorf("write of %d: no error, but %d entries stored (want %d), returned id %d not among them", n, len(stored), n, out[0].Event.ID)
		case err != nil:
			// Reporting the outcome as unknown is allowed; writing twice
			// is not.
			t.Logf("write of %d: %v (%d entries stored)", n, err, len(stored))
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

// TestPostgresCommitAnswerLost breaks the connection of an append at its
// commit, on the locked path and on the known head, keyless and keyed,
// one entry and a batch: the answer lost after the database committed
// (the append is reported written, once), the connection cut before the
// commit reached the database (it is written, once), and the database
// out of reach until the store gives up finding out (ErrOutcomeUnknown;
// the entry is stored once, and a retry with its key returns it).
func TestPostgresCommitAnswerLost(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDB(t, pgtest.URL(t)))
	s, err := store.Open(context.Background(), store.Config{DSN: dsn, OutcomeTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	faults := []struct {
		name   string
		inject func()
		heal   func()
		want   error // nil: written
	}{
		{"answer lost", func() { proxy.DropAnswers(1) }, func() {}, nil},
		{"cut before commit", proxy.CutAll, func() {}, nil},
		{"database gone", func() { proxy.DropAnswers(1); proxy.SetDown(true) }, func() { proxy.SetDown(false) }, eventlog.ErrOutcomeUnknown},
	}
	n := 0
	for _, f := range faults {
		for _, path := range []string{"locked", "known head"} {
			for _, size := range []int{1, 300} {
				for _, keyed := range []bool{false, true} {
					n++
					name := fmt.Sprintf("%s/%s/%d/keyed=%v", f.name, path, size, keyed)
					obj := fmt.Sprint("w", n)
					batch := make([]eventlog.Event, size)
					for i := range batch {
						batch[i] = ev(eventlog.TypeCreate, "alice", "Once", obj)
						if keyed {
							batch[i].IdempotencyKey = fmt.Sprintf("%s-%d", obj, i)
						}
					}
					write(t, s, eventlog.TypeEdit, "Note/n0") // the head is known
					inject := func() {
						store.SetBeforeCommit(s, nil)
						store.SetBeforeAppendAt(s, nil)
						f.inject()
					}
					switch {
					case path == "locked":
						store.ForgetHead(s)
						store.SetBeforeCommit(s, inject)
					case size >= 256: // COPY in a transaction
						store.SetBeforeCommit(s, inject)
					default: // one statement, its own commit
						store.SetBeforeAppendAt(s, inject)
					}
					dropped := proxy.Dropped()
					out, err := s.Append(context.Background(), writes(batch...))
					f.heal()
					if f.name != "cut before commit" && proxy.Dropped() == dropped {
						t.Errorf("%s: no answer was dropped", name)
					}
					stored := listAll(t, s, eventlog.Filter{ObjectID: obj})
					switch {
					case len(stored) > size:
						t.Fatalf("%s: stored %d entries for a write of %d", name, len(stored), size)
					case f.want == nil && err != nil:
						t.Errorf("%s: Append error = %v, want the write reported as stored", name, err)
					case f.want == nil && (len(stored) != size || out[0].Event.ID != stored[0].ID):
						t.Errorf("%s: %d entries stored (want %d), first %v, Append returned id %d", name, len(stored), size, ids(stored), out[0].Event.ID)
					case f.want != nil && !errors.Is(err, f.want):
						t.Errorf("%s: Append error = %v, want %v", name, err, f.want)
					case f.want != nil && !errors.Is(err, eventlog.ErrUnavailable):
						t.Errorf("%s: Append error = %v, want it to be ErrUnavailable too", name, err)
					}
					if keyed && err != nil {
						// The retry the error asks for: with the keys, the
						// entries come back or are written, once.
						again, err := s.Append(context.Background(), writes(batch...))
						if err != nil {
							t.Fatalf("%s: retry with keys: %v", name, err)
						}
						stored = listAll(t, s, eventlog.Filter{ObjectID: obj})
						if len(stored) != size || again[0].Event.ID != stored[0].ID {
							t.Errorf("%s: after the retry %d entries stored (want %d), retry returned id %d, stored %v", name, len(stored), size, again[0].Event.ID, ids(stored)[:1])
						}
					}
				}
			}
		}
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

// A libpq keyword string opens the same database as its URL.
func TestPostgresKeywordString(t *testing.T) {
	t.Chdir(t.TempDir()) // where a misread DSN would become a SQLite file
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	s := open(t, pgtest.KeywordString(t, dsn), nil)
	if s.Dialect() != store.Postgres {
		t.Fatalf("a keyword string opened a %s store", s.Dialect())
	}
	written := mustAppend(t, s, ev(eventlog.TypeCreate, "alice", "Entry", "42"))
	got, err := open(t, dsn, nil).Get(context.Background(), written[0].ID)
	if err != nil || got.ObjectID != "42" {
		t.Errorf("the entry written through the keyword string, read through the URL = %+v, %v", got, err)
	}
}

// The service's role appends across partitions, which a function running
// as the owner adds as the log reaches them, but it cannot ask for
// partitions far ahead of the log, and it cannot prune.
func TestPostgresRoleAppendsAcrossPartitions(t *testing.T) {
	server := pgtest.URL(t)
	role := pgtest.NewRole(t, server)
	dsn := pgtest.NewDB(t, server)
	ctx := context.Background()
	owner := open(t, dsn, nil)
	if err := owner.GrantAppendOnly(ctx, role); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	app := open(t, u.String(), nil)

	partitions := func() (n int) {
		t.Helper()
		db := sqlx.MustOpen("postgres", dsn)
		defer db.Close()
		if err := db.Get(&n, `SELECT COUNT(*) FROM pg_catalog.pg_inherits WHERE inhparent = 'events'::regclass`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := partitions(); n != 2 {
		t.Fatalf("a new log has %d partitions, want the first and a spare one", n)
	}
	appendMany(t, app, 65_536+10, "p") // into the spare partition: another is added
	if n := partitions(); n != 3 {
		t.Errorf("after entering the spare partition: %d partitions, want 3", n)
	}
	if e, err := app.Get(ctx, 65_546); err != nil || e.ObjectID != "p-65545" {
		t.Errorf("Get(65546) = %+v, %v; want the last entry", e, err)
	}
	if res, err := eventlog.VerifyChain(ctx, app, eventlog.VerifyOptions{}); err != nil || res.Break != nil || res.Checked != 65_546 {
		t.Errorf("VerifyChain across partitions = %+v, %v", res, err)
	}

	appDB := sqlx.MustOpen("postgres", u.String())
	defer appDB.Close()
	if _, err := appDB.Exec(`SELECT eventlog_extend_partitions(100000000)`); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("asking for partitions far ahead of the head: %v, want it refused", err)
	}
	integrateAll(t, app)
	_, err = app.Prune(ctx, store.PruneOptions{Before: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("Prune as the service's role = %v, want it refused, naming the owner", err)
	}
	if a, err := owner.Anchor(ctx); err != nil || a != nil {
		t.Errorf("after the refused prune, anchor %+v, %v; want none", a, err)
	}
}

// A prune waits for a reader of the partition it removes, while appends
// and reads go on: detaching a partition blocks neither.
func TestPostgresPruneWaitsForReadersWithoutBlocking(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	c := &clock{now: t0}
	s := open(t, dsn, c)
	// The head within a quarter of the spare partition (the third, from
	// 131,073) of reaching it: the prune adds a partition ahead first.
	appendMany(t, s, 114_700, "old")
	c.Set(t0.Add(48 * time.Hour))
	appendMany(t, s, 10, "new")
	integrateAll(t, s)

	reader := sqlx.MustOpen("postgres", dsn)
	defer reader.Close()
	// A reader with a snapshot, as a long export would hold.
	tx, err := reader.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.Get(&n, `SELECT COUNT(*) FROM events WHERE id <= 100`); err != nil || n != 100 {
		t.Fatalf("the reader's first read = %d, %v", n, err)
	}

	// One prune at a time.
	other := reader.MustBegin()
	other.MustExec(`SELECT pg_advisory_lock(hashtext('eventlog_prune'))`)
	if _, err := s.Prune(ctx, store.PruneOptions{Before: t0.Add(24 * time.Hour)}); err == nil || !strings.Contains(err.Error(), "another prune") {
		t.Errorf("Prune while another runs = %v, want it refused", err)
	}
	other.MustExec(`SELECT pg_advisory_unlock(hashtext('eventlog_prune'))`)
	other.Rollback()

	type result struct {
		res store.PruneResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.Prune(ctx, store.PruneOptions{Before: t0.Add(24 * time.Hour), By: "test"})
		done <- result{res, err}
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if a, err := s.Anchor(ctx); err == nil && a != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prune recorded no anchor within 20s")
		}
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Append(actx, writes(ev(eventlog.TypeEdit, "bob", "Note", "during"))); err != nil {
		t.Fatalf("an append while the prune waits for a reader: %v", err)
	}
	if _, err := s.Get(actx, 114_710); err != nil {
		t.Fatalf("a read while the prune waits for a reader: %v", err)
	}
	select {
	case r := <-done:
		t.Fatalf("the prune ended while a reader held its partition: %+v, %v", r.res, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Get(&n, `SELECT COUNT(*) FROM events WHERE id <= 100`); err != nil || n != 100 {
		t.Errorf("the reader's second read, in its snapshot = %d, %v; want the same 100", n, err)
	}
	tx.Commit()
	select {
	case r := <-done:
		if r.err != nil || r.res.Removed != 65_536 || len(r.res.Partitions) != 1 {
			t.Errorf("the prune after the reader ended = %+v, %v; want the first partition dropped", r.res, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the prune did not end within 30s of the reader")
	}
	checkVerifiesFromAnchor(t, s, 65_536)
	var attached int
	if err := reader.Get(&attached, `SELECT COUNT(*) FROM pg_catalog.pg_inherits WHERE inhparent = 'events'::regclass`); err != nil || attached != 3 {
		t.Errorf("partitions after the prune: %d, %v; want the second, the spare and one added ahead", attached, err)
	}
}

// A log written before partitions (schema 0007) is migrated in place: its
// table becomes the first partition, the chain still verifies, an
// idempotency key written before still replays, appends go on after it,
// and a prune later drops it.
func TestPostgresMigrateToPartitions(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	db := sqlx.MustOpen("postgres", dsn)
	defer db.Close()
	db.MustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	files, err := filepath.Glob("migrations/postgres/*.sql")
	if err != nil || len(files) < 8 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		v, _ := strconv.Atoi(name[:4])
		if v > 7 {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		db.MustExec(string(body))
		db.MustExec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, name)
	}

	// 100 entries, as version 0007 wrote them, the last with a key.
	prev := eventlog.GenesisHash
	const n = 100
	for i := 1; i <= n; i++ {
		e := ev(eventlog.TypeEdit, "Alice", "Note", fmt.Sprint(i))
		e.ID, e.Time = int64(i), t0.Add(time.Duration(i)*time.Second)
		if i == n {
			e.IdempotencyKey = "before"
		}
		eventlog.Seal(prev, &e)
		prev = e.Hash
		var key any
		if e.IdempotencyKey != "" {
			key = e.IdempotencyKey
		}
		db.MustExec(`INSERT INTO events (id, time, occurred_time, event_type, actor_id, actor_name, actor_kind, content_type, object_id,
			object_repr, details, source_id, req_remote_addr, req_method, req_path, req_protocol, req_status, req_user_agent,
			req_request_id, idempotency_key, hash, prev_hash, actor_id_fold, actor_name_fold, content_type_fold)
			VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', '', '', '', 0, '', '', $11, $12, $13, $14, $15, $16)`,
			e.ID, e.Time, e.Type.String(), e.Actor.ID, e.Actor.Name, e.Actor.Kind.String(), e.ContentType, e.ObjectID,
			e.ObjectRepr, string(e.Details), key, e.Hash, e.PrevHash,
			strings.ToLower(e.Actor.ID), strings.ToLower(e.Actor.Name), strings.ToLower(e.ContentType))
	}
	db.MustExec(`UPDATE log_head SET last_id = $1, last_hash = $2, last_time = $3, times_ordered = TRUE WHERE id = 1`,
		n, prev, t0.Add(n*time.Second))

	s := open(t, dsn, &clock{now: t0.Add(time.Hour)})
	if res, err := eventlog.VerifyChain(ctx, s, eventlog.VerifyOptions{}); err != nil || res.Break != nil || res.Checked != n {
		t.Fatalf("VerifyChain after the migration = %+v, %v", res, err)
	}
	var parts []string
	if err := db.Select(&parts, `SELECT name FROM log_partitions ORDER BY first_id`); err != nil || len(parts) != 2 || parts[0] != "events_from_1" {
		t.Fatalf("partitions after the migration = %v, %v; want the old table and a spare one", parts, err)
	}
	again := ev(eventlog.TypeEdit, "Alice", "Note", fmt.Sprint(n))
	again.IdempotencyKey = "before"
	out, err := s.Append(ctx, writes(again))
	if err != nil || !out[0].Replayed || out[0].Event.ID != n {
		t.Fatalf("a key written before the migration, sent again = %+v, %v; want entry %d replayed", out, err, n)
	}
	got := mustAppend(t, s, ev(eventlog.TypeCreate, "bob", "Note", "after"))
	if got[0].ID != n+1 || !bytes.Equal(got[0].PrevHash, prev) {
		t.Errorf("the first append after the migration: id %d, prev %x; want %d after %x", got[0].ID, got[0].PrevHash, n+1, prev)
	}
	if got := listAll(t, s, eventlog.Filter{Actor: "alice"}); len(got) != n {
		t.Errorf("the actor filter finds %d of the old entries, want %d", len(got), n)
	}
	if res, err := eventlog.VerifyChain(ctx, s, eventlog.VerifyOptions{}); err != nil || res.Break != nil || res.Checked != n+1 {
		t.Errorf("VerifyChain after an append = %+v, %v", res, err)
	}
}

// TestPostgresCopyConnectionBroken breaks the connection of a large append
// as its COPY starts, on the locked path and on the known head. The append
// must end at once (failed as unavailable with nothing stored, or, on the
// known head, made again on the locked path and stored once), and the
// store must go on writing: the broken connection is dropped, not waited
// on.
func TestPostgresCopyConnectionBroken(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDB(t, pgtest.URL(t)))
	s := openWithRules(t, dsn, "", 0)
	for _, path := range []string{"locked", "known head"} {
		write(t, s, eventlog.TypeEdit, "Note/n0") // the head is known
		if path == "locked" {
			store.ForgetHead(s)
		}
		batch := make([]eventlog.Event, 300)
		for i := range batch {
			batch[i] = ev(eventlog.TypeCreate, "alice", "Broken", path)
		}
		proxy.DropAnswerTo("COPY events", nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		_, err := s.Append(ctx, writes(batch...))
		cancel()
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("%s: the append with a broken COPY returned after %v: it waited for its context", path, took.Round(time.Millisecond))
		}
		// On the known head, a failed attempt is made again on the
		// locked path, which may succeed; either way the entries are
		// stored once or not at all.
		n := len(listAll(t, s, eventlog.Filter{ObjectID: path}))
		switch {
		case err == nil && n != len(batch):
			t.Errorf("%s: the append succeeded, but %d entries are stored, want %d", path, n, len(batch))
		case err != nil && !errors.Is(err, eventlog.ErrUnavailable):
			t.Errorf("%s: error %v, want one wrapping ErrUnavailable", path, err)
		case err != nil && n != 0:
			t.Errorf("%s: %d entries stored by the failed append, want 0", path, n)
		case path == "locked" && err == nil:
			t.Errorf("locked: the append succeeded through a broken connection")
		}
		write(t, s, eventlog.TypeEdit, "Note/after-"+strings.ReplaceAll(path, " ", "-"))
	}
	if proxy.Dropped() != 2 {
		t.Errorf("%d answers to COPY dropped, want 2", proxy.Dropped())
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

package store_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/eventlog/eventlog/store"
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
			for _, table := range []string{"events", "log_head"} {
				if _, err := db.Exec(`ALTER TABLE ` + table + ` DISABLE TRIGGER USER`); err != nil {
					t.Fatalf("disable triggers on %s: %v", table, err)
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
	if err := db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`); err != nil {
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

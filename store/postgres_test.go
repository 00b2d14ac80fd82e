package store_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// postgresURL returns the server the PostgreSQL suite runs against, from
// EVENTLOG_TEST_POSTGRES. Without it the suite is skipped, except under CI
// (CI=true), where a missing PostgreSQL fails the run.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if u == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; run the tests with `make test`, which starts a throwaway PostgreSQL"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// newPostgresDB creates a fresh, randomly named database on the test server
// and drops it when the test ends. It returns the database's URL.
func newPostgresDB(t *testing.T, server string) string {
	t.Helper()
	admin, err := sqlx.Open("postgres", server)
	if err != nil {
		t.Fatalf("open %s: %v", server, err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	rand.Read(b[:])
	name := "eventlog_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("EVENTLOG_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func postgresBackend(server string) backend {
	return backend{
		newDSN: func(t *testing.T) string { return newPostgresDB(t, server) },
		driver: "postgres",
		rawDSN: func(dsn string) string { return dsn },
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
	runSuite(t, postgresBackend(postgresURL(t)))
}

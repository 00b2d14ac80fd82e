package store_test

import (
	"strings"
	"testing"

	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/jmoiron/sqlx"
)

func postgresBackend(server string) backend {
	return backend{
		newDSN: func(t *testing.T) string { return pgtest.NewDB(t, server) },
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
	runSuite(t, postgresBackend(pgtest.URL(t)))
}

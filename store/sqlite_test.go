package store_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

func sqliteBackend() backend {
	return backend{
		newDSN: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "eventlog.db")
		},
		driver:  "sqlite",
		rawDSN:  func(dsn string) string { return "file:" + dsn + "?_pragma=busy_timeout(10000)" },
		timeArg: func(t time.Time) any { return t.UnixMicro() },
		unprotect: func(t *testing.T, db *sqlx.DB) {
			t.Helper()
			for _, name := range []string{"events_no_update", "events_no_delete", "log_head_no_delete"} {
				if _, err := db.Exec(`DROP TRIGGER ` + name); err != nil {
					t.Fatalf("drop trigger %s: %v", name, err)
				}
			}
		},
		failInsertsOf: func(t *testing.T, db *sqlx.DB, objectID string) {
			t.Helper()
			q := `CREATE TRIGGER fail_insert BEFORE INSERT ON events
				WHEN NEW.object_id = '` + strings.ReplaceAll(objectID, "'", "''") + `'
				BEGIN SELECT RAISE(ABORT, 'insert refused by test trigger'); END`
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("create trigger: %v", err)
			}
		},
	}
}

func TestSQLite(t *testing.T) {
	runSuite(t, sqliteBackend())
}

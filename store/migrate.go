package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrations embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of one dialect, ordered by version.
// File names are NNNN_description.sql.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, ent := range entries {
		name := ent.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies, in one transaction, every migration newer than the
// database's schema version. lock, when not empty, is run first in the
// transaction to keep concurrent starters from migrating at once.
func migrate(ctx context.Context, db *sqlx.DB, dialect, lock string) error {
	ms, err := loadMigrations(dialect)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	current, err := schemaVersion(ctx, tx, dialect)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if n := len(ms); n > 0 && current > ms[n-1].version {
		return fmt.Errorf("migrate: the database's schema version %d is newer than this program's %d; run a newer eventlog", current, ms[n-1].version)
	}
	if n := len(ms); n == 0 || current == ms[n-1].version {
		// Up to date: nothing is created, so a role that may only read
		// and append (see GrantAppendOnly) can start the service.
		return nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`), m.version, m.name); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// querier runs queries; *sqlx.DB and *sqlx.Tx are both one.
type querier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// schemaVersion returns the latest migration applied to the database, 0
// for a database without the schema.
func schemaVersion(ctx context.Context, q querier, dialect string) (int, error) {
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if dialect == postgres.name {
		exists = `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`
	}
	var n int
	if err := q.GetContext(ctx, &n, exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := q.GetContext(ctx, &v, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// checkSchema checks, without changing anything, that the database's schema
// is the one this program writes.
func checkSchema(ctx context.Context, db *sqlx.DB, dialect string) error {
	ms, err := loadMigrations(dialect)
	if err != nil {
		return err
	}
	v, err := schemaVersion(ctx, db, dialect)
	if err != nil {
		return err
	}
	if want := ms[len(ms)-1].version; v != want {
		if v == 0 {
			return errors.New("the database holds no eventlog schema")
		}
		return fmt.Errorf("the database's schema version is %d, this program's %d: run the matching eventlog, or start the server once to migrate", v, want)
	}
	return nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" driver
)

var postgres = &dialect{
	name:     "postgres",
	lockHead: `SELECT last_id, last_hash FROM log_head WHERE id = 1 FOR UPDATE`,
	timeArg:  func(t time.Time) any { return t.UTC() },
}

// migrateLock is a transaction-scoped advisory lock that keeps server
// processes starting together from migrating the schema at once.
const migrateLock = `SELECT pg_advisory_xact_lock(7486931725)`

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: connect to postgres: %v", eventlog.ErrUnavailable, err)
	}
	if err := migrate(ctx, db, postgres.name, migrateLock); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{d: postgres, w: db, r: db}, nil
}

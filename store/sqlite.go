package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/jmoiron/sqlx"
	sqlitedriver "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

var sqlite = &dialect{
	name: "sqlite",
	// The write transaction starts with BEGIN IMMEDIATE (see sqliteDSN),
	// which takes the database's write lock: that is the head-row lock.
	lockHead: `SELECT last_id, last_hash, last_time, 0 AS relations_version FROM log_head WHERE id = 1`,
	timeArg:  func(t time.Time) any { return t.UnixMicro() },
	moveHead: `UPDATE log_head SET last_id = ?, last_hash = ?, last_time = ? WHERE id = 1`,
	// Powers of two: a batch of n rows takes at most log2(n)+1
	// statements, and 128 rows of 25 parameters stay far below SQLite's
	// limit on parameters.
	insertSizes: []int{128, 64, 32, 16, 8, 4, 2, 1},
	outage:      sqliteOutage,
}

// sqliteOutage reports whether err is SQLite saying that the database is
// locked by another process for longer than the busy timeout.
func sqliteOutage(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// sqliteDSN builds the driver's connection string for the file at path:
// WAL journal, full sync on commit (an acknowledged entry survives a power
// loss), a busy timeout instead of immediate "database is locked" errors,
// and write transactions that take the lock when they begin.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Statement journals (the pages a multi-row INSERT changed, kept in
	// case it fails halfway through its transaction) stay in memory
	// instead of spilling to temporary files: they are never needed after
	// a crash, and writing them cost an eighth of a write's CPU.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
		// The one writing connection keeps up to 64 MiB of pages (SQLite's
		// default is 2 MiB), and copies the WAL back into the database
		// once it holds 10,000 pages (40 MiB) instead of 1,000: a page
		// changed by many commits in between is copied once. Entries about
		// many objects, as real traffic is, insert all over the object and
		// actor indexes, not at their right edge. 1,000-entry appends
		// (BenchmarkAppendObjectLocality, 150k entries, two runs each, one
		// after the other), over a skewed choice of 100,000 objects and
		// with ever-new ids:
		//   defaults:          131 and 84 µs/entry (0.64x)
		//   the cache:          83 and 72 µs/entry (0.86x)
		//   both:               58 and 54 µs/entry (0.93x)
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, readOnly bool) (*Store, error) {
	if readOnly {
		return openSQLiteReadOnly(ctx, path)
	}
	w, err := sqlx.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// SQLite has one writer at a time; one connection makes that explicit
	// and keeps writers queued in Go rather than spinning on a busy lock.
	w.SetMaxOpenConns(1)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := migrate(ctx, w, sqlite.name, ""); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := sqlx.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	return &Store{d: sqlite, w: w, r: r}, nil
}

// openSQLiteReadOnly opens an existing database with writes refused.
func openSQLiteReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r, err := sqlx.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	if err := checkSchema(ctx, r, sqlite.name); err != nil {
		r.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &Store{d: sqlite, w: r, r: r}, nil
}

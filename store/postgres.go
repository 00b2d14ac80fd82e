package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/transparency-dev/merkle/compact"
)

var postgres = &dialect{
	name:     "postgres",
	lockHead: `SELECT last_id, last_hash, last_time, relations_version FROM log_head WHERE id = 1 FOR UPDATE`,
	timeArg:  func(t time.Time) any { return t.UTC() },
	// The head moves and the commit is announced in one statement.
	moveHead: `WITH head AS (UPDATE log_head SET last_id = ?, last_hash = ?, last_time = ? WHERE id = 1 RETURNING last_id)
		SELECT pg_notify('` + commitChannel + `', last_id::text) FROM head`,
	// Larger batches are written with COPY: two round trips, whatever
	// their size.
	insertSizes: []int{8, 4, 2, 1},
	copy:        true,
	appendAt:    appendAtSQL,
	outage:      postgresOutage,
	lockRow:     " FOR UPDATE",
	treeNodes:   postgresTreeNodes,
	refused:     func(err error) bool { var e *pq.Error; return errors.As(err, &e) },
}

// postgresOutage reports whether err is PostgreSQL saying that it cannot
// serve: a connection exception (class 08), a server shutting down, starting
// up or out of connections.
func postgresOutage(err error) bool {
	var e *pq.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return strings.HasPrefix(string(e.Code), "08")
}

// commitChannel is the LISTEN/NOTIFY channel on which every append
// announces its last id.
const commitChannel = "eventlog_commits"

// watch calls wake whenever another process may have committed entries:
// on each announcement, and after the listening connection is re-established
// (announcements may have been missed while it was down). It returns when
// ctx ends.
func watchPostgres(ctx context.Context, dsn string, log func(msg string, args ...any), wake func(lastID int64)) error {
	l := pq.NewListener(dsn, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			log("commit listener disconnected; reconnecting", "err", err)
		case pq.ListenerEventReconnected:
			log("commit listener reconnected")
		case pq.ListenerEventConnectionAttemptFailed:
			log("commit listener cannot connect", "err", err)
		}
	})
	defer l.Close()
	// Listen waits for a connection as long as the database is out of
	// reach; closing the listener is what ends that wait.
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if err := l.Listen(commitChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen for commits: %w", err)
	}
	// Commits made before LISTEN took effect were announced to no one:
	// as after a reconnection, look at the head once.
	wake(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			if n == nil { // reconnected: anything may have been missed
				wake(0)
				continue
			}
			id, _ := strconv.ParseInt(n.Extra, 10, 64)
			wake(id)
		}
	}
}

// migrateLock is a transaction-scoped advisory lock that keeps server
// processes starting together from migrating the schema at once.
const migrateLock = `SELECT pg_advisory_xact_lock(7486931725)`

func openPostgres(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	// The connector reads the URL or keyword string now, so that a
	// mistake in it is reported as such rather than as a failure to
	// connect.
	conn, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres connection string: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: connect to postgres: %v%s", eventlog.ErrUnavailable, err, connectHint(err))
	}
	if readOnly {
		err = checkSchema(ctx, db, postgres.name)
	} else {
		err = migrate(ctx, db, postgres.name, migrateLock)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{d: postgres, w: db, r: db, dsn: dsn}, nil
}

// connectHint says what to do about a failure to connect, when there is
// something to say.
func connectHint(err error) string {
	if errors.Is(err, pq.ErrSSLNotSupported) {
		return " (the server does not accept TLS connections: if the network to it needs no encryption, " +
			"add sslmode=disable to the connection string: ?sslmode=disable in a URL, sslmode=disable in a keyword string)"
	}
	return ""
}

// postgresTreeNodes reads tree nodes by ids passed as two arrays: one
// statement of one shape, whatever the number of nodes.
func postgresTreeNodes(ids []compact.NodeID) (string, []any) {
	levels := make([]int64, len(ids))
	idxs := make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idxs[i] = int64(id.Level), int64(id.Index)
	}
	return `SELECT n.level, n.idx, n.hash FROM tree_nodes n
		JOIN unnest($1::bigint[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx`,
		[]any{pq.Array(levels), pq.Array(idxs)}
}

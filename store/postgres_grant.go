package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// Grant is what the service's role may do with one table.
type Grant struct {
	Table      string
	Privileges string // as in SQL: "SELECT, INSERT"
}

// ServiceGrants lists, for every table of the schema, the privileges the
// service's role needs and gets from GrantAppendOnly. Nothing else is
// granted: in particular no UPDATE, DELETE or TRUNCATE on events, and no
// INSERT or DELETE on log_head, whose one row only moves. Relations are
// registered and removed by the API, so the role may insert and delete
// them, but not rewrite one in place. The counts per hour are kept by
// triggers that run with the role's privileges as it appends. Partitions
// of events are reached through events, and made by
// eventlog_extend_partitions, which the role may call (see Functions) and
// which runs as the owner; prunes, which remove entries, are the owner's.
func ServiceGrants() []Grant {
	return []Grant{
		{"events", "SELECT, INSERT"},
		{"event_counts", "SELECT, INSERT, UPDATE"},
		{"log_head", "SELECT, UPDATE (last_id, last_hash, last_time, relations_version)"},
		{"log_partitioning", "SELECT"},
		{"log_partitions", "SELECT"},
		{"prunes", "SELECT"},
		{"relations", "SELECT, INSERT, DELETE"},
		{"schema_migrations", "SELECT"},
		{"tree_head", "SELECT, UPDATE (size, root)"},
		{"tree_nodes", "SELECT, INSERT"},
	}
}

// ServiceFunctions lists the functions the service's role may call, which
// run as the tables' owner: eventlog_extend_partitions adds the partition
// the next appends need, and nothing else.
func ServiceFunctions() []string {
	return []string{"eventlog_extend_partitions(BIGINT)"}
}

// GrantAppendOnly sets up role, an existing PostgreSQL role, as the role the
// service runs with: it may read the log and append to it, and nothing
// more. Earlier privileges of role on the tables are revoked first, so the
// call can be repeated after a migration. It runs in one transaction, as
// the tables' owner, and refuses a role that owns the tables, belongs to
// their owner, or is a superuser: privileges do not restrict those.
func (s *Store) GrantAppendOnly(ctx context.Context, role string) error {
	if s.d != postgres {
		return errors.New("grant: privileges apply to PostgreSQL only; a SQLite log is protected by the file's permissions")
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	defer tx.Rollback()

	var super bool
	err = tx.GetContext(ctx, &super, `SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1`, role)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("grant: role %q does not exist; create it first, e.g. CREATE ROLE %s LOGIN PASSWORD '...'", role, pq.QuoteIdentifier(role))
	}
	if err != nil {
		return fmt.Errorf("grant: look up role: %w", err)
	}
	if super {
		return fmt.Errorf("grant: role %q is a superuser, which privileges do not restrict; use a role without SUPERUSER", role)
	}
	var owner struct {
		Owner    string `db:"tableowner"`
		IsMember bool   `db:"is_member"`
	}
	if err := tx.GetContext(ctx, &owner, `SELECT tableowner, pg_catalog.pg_has_role($1, tableowner, 'USAGE') AS is_member
		FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'events'`, role); err != nil {
		return fmt.Errorf("grant: look up the owner of events: %w", err)
	}
	if owner.IsMember {
		return fmt.Errorf("grant: role %q owns the tables (or belongs to their owner %q), which privileges do not restrict; the service needs a role of its own", role, owner.Owner)
	}

	var schema string
	if err := tx.GetContext(ctx, &schema, `SELECT current_schema()`); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	q := pq.QuoteIdentifier
	grants := ServiceGrants()
	tables := make([]string, len(grants))
	for i, g := range grants {
		tables[i] = q(g.Table)
	}
	stmts := []string{
		`REVOKE ALL ON TABLE ` + strings.Join(tables, ", ") + ` FROM ` + q(role),
		`GRANT USAGE ON SCHEMA ` + q(schema) + ` TO ` + q(role),
	}
	for _, g := range grants {
		stmts = append(stmts, `GRANT `+g.Privileges+` ON TABLE `+q(g.Table)+` TO `+q(role))
	}
	for _, f := range ServiceFunctions() {
		stmts = append(stmts, `GRANT EXECUTE ON FUNCTION `+f+` TO `+q(role))
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("grant: %s: %w", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("grant: commit: %w", err)
	}
	return nil
}

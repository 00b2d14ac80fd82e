package store

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The dialects a DSN can name, as DSNDialect and Store.Dialect return them.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

var (
	// urlScheme matches the start of a URL: "mysql://".
	urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	// keywordStart matches the start of a libpq keyword string: "host=",
	// "dbname =".
	keywordStart = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*)\s*=`)
)

// pgKeywords are libpq's connection parameters (PostgreSQL's manual,
// "Parameter Key Words") and lib/pq's own: a keyword string starts with one
// of them.
var pgKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "require_auth": true, "channel_binding": true, "connect_timeout": true,
	"client_encoding": true, "options": true, "application_name": true, "fallback_application_name": true,
	"keepalives": true, "keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
	"tcp_user_timeout": true, "replication": true, "gssencmode": true, "sslmode": true, "requiressl": true,
	"sslnegotiation": true, "sslcompression": true, "sslcert": true, "sslkey": true, "sslpassword": true,
	"sslcertmode": true, "sslrootcert": true, "sslcrl": true, "sslcrldir": true, "sslsni": true,
	"requirepeer": true, "ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"krbsrvname": true, "krbspn": true, "gsslib": true, "gssdelegation": true, "service": true,
	"target_session_attrs": true, "load_balance_hosts": true,
	"min_protocol_version": true, "max_protocol_version": true,
	"disable_prepared_binary_result": true, "binary_parameters": true, "sslinline": true,
}

// DSNDialect says which database dsn names, without connecting:
//
//   - Postgres for a postgres:// or postgresql:// URL, or a libpq keyword
//     string such as "host=db dbname=eventlog sslmode=disable" (lib/pq
//     reads both), told by its first word: one of libpq's connection
//     parameters followed by "=";
//   - SQLite for anything else that is not a URL: the path of the database
//     file.
//
// A URL of any other scheme is an error, and so are file: and sqlite: URLs:
// a SQLite database is named by its path alone. Errors never repeat dsn,
// which may hold a password.
func DSNDialect(dsn string) (string, error) {
	if strings.TrimSpace(dsn) == "" {
		return "", errors.New("no database given: want a SQLite file path, a postgres:// URL or a PostgreSQL keyword string")
	}
	if m := urlScheme.FindStringSubmatch(dsn); m != nil {
		switch m[1] {
		case "postgres", "postgresql":
			return Postgres, nil
		}
		if scheme := strings.ToLower(m[1]); scheme == "sqlite" || scheme == "sqlite3" || scheme == "file" {
			return "", fmt.Errorf("%s: URLs are not read; for SQLite give the database file's path alone, such as /var/lib/eventlog/log.db", m[0])
		}
		return "", fmt.Errorf("unknown scheme %q: eventlog keeps its log in PostgreSQL (a postgres:// or postgresql:// URL, "+
			"or a keyword string such as \"host=db dbname=eventlog\") or in SQLite (a file path)", m[0])
	}
	if low := strings.ToLower(dsn); strings.HasPrefix(low, "file:") || strings.HasPrefix(low, "sqlite:") {
		scheme, _, _ := strings.Cut(dsn, ":")
		return "", fmt.Errorf("%s: URIs are not read; for SQLite give the database file's path alone, such as /var/lib/eventlog/log.db", scheme+":")
	}
	if m := keywordStart.FindStringSubmatch(dsn); m != nil && pgKeywords[m[1]] {
		return Postgres, nil
	}
	return SQLite, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database: a postgres://
// or postgresql:// URL, or a libpq keyword string.
func IsPostgres(dsn string) bool {
	d, err := DSNDialect(dsn)
	return err == nil && d == Postgres
}

package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/internal/pgtest"
)

// Every command that opens a database reads --db the same way: SQLite
// paths, PostgreSQL URLs and keyword strings; anything else is a usage
// error that names where the value came from, before any file is created.
func TestDBFlag(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	keywords := "host=127.0.0.1 port=" + port + " dbname=eventlog sslmode=disable connect_timeout=5"
	serve := []string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "off"}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantExit int
		want     string
	}{
		{"serve unknown scheme", nil, append(serve, "--db", "mysql://root:secret@db/eventlog"), 2, `--db: unknown scheme "mysql://"`},
		{"serve unknown scheme from the environment", map[string]string{"EVENTLOG_DB": "mysql://db/eventlog"}, serve, 2, `EVENTLOG_DB: unknown scheme "mysql://"`},
		{"serve flag beats the environment", map[string]string{"EVENTLOG_DB": "log.db"}, append(serve, "--db", "sqlite:log.db"), 2, `--db: sqlite:`},
		{"serve file URI", nil, append(serve, "--db", "file:log.db"), 2, "give the database file's path alone"},
		{"serve keyword string", nil, append(serve, "--db", keywords), 1, "connect to postgres"},
		{"verify unknown scheme", nil, []string{"verify", "--db", "mongodb://db/eventlog"}, 2, `--db: unknown scheme "mongodb://"`},
		{"verify keyword string", nil, []string{"verify", "--db", keywords}, 1, "connect to postgres"},
		{"grant unknown scheme", nil, []string{"grant", "--db", "mysql://db/eventlog", "--role", "app"}, 2, `--db: unknown scheme "mysql://"`},
		{"grant SQLite", nil, []string{"grant", "--db", "log.db", "--role", "app"}, 2, "--db: want a PostgreSQL database"},
		{"grant keyword string", nil, []string{"grant", "--db", keywords, "--role", "app"}, 1, "connect to postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(t, tt.env, tt.args...)
			if exitCode(err) != tt.wantExit || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("eventlog %q = %v (exit %d), want exit %d and an error with %q\n%s", tt.args, err, exitCode(err), tt.wantExit, tt.want, out)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("the commands created %v in the working directory", files)
	}
}

// serve, verify --db and grant work with a keyword string, as PostgreSQL's
// own tools do.
func TestDBKeywordStringPostgres(t *testing.T) {
	t.Chdir(t.TempDir())
	server := pgtest.URL(t)
	role := pgtest.NewRole(t, server)
	db := pgtest.KeywordString(t, pgtest.NewDB(t, server))
	if out, err := cli(t, nil, "grant", "--db", db, "--role", role); err != nil {
		t.Fatalf("eventlog grant --db %q = %v\n%s", db, err, out)
	}
	ts := startServer(t, db)
	if !strings.Contains(ts.logs.String(), "store=postgres") {
		t.Errorf("serve --db %q did not open PostgreSQL:\n%s", db, ts.logs)
	}
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	if out, err := cli(t, env, "log", "--type", "create", "--actor", "alice", "--object", "Entry/1"); err != nil {
		t.Fatalf("eventlog log: %v\n%s", err, out)
	}
	if out, err := cli(t, nil, "verify", "--db", db); err != nil || !strings.HasPrefix(out, "OK: entry 1 intact") {
		t.Errorf("eventlog verify --db %q = %v\n%s", db, err, out)
	}
}

package store_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
)

func TestDSNDialect(t *testing.T) {
	tests := []struct {
		dsn     string
		want    string
		wantErr string // a part of the error
	}{
		{dsn: "eventlog.db", want: store.SQLite},
		{dsn: "/var/lib/eventlog/log.db", want: store.SQLite},
		{dsn: "./data/log.db", want: store.SQLite},
		{dsn: "log=2026.db", want: store.SQLite}, // not a libpq keyword
		{dsn: "C:\\eventlog\\log.db", want: store.SQLite},
		{dsn: "postgres://eventlog:secret@db:5432/eventlog?sslmode=require", want: store.Postgres},
		{dsn: "postgresql://db/eventlog", want: store.Postgres},
		{dsn: "postgres:///eventlog?host=/run/postgresql", want: store.Postgres},
		{dsn: "host=db dbname=eventlog user=eventlog_app sslmode=disable", want: store.Postgres},
		{dsn: "  dbname = eventlog", want: store.Postgres},
		{dsn: "service=eventlog", want: store.Postgres},
		{dsn: "", wantErr: "no database given"},
		{dsn: "mysql://root:secret@db/eventlog", wantErr: `unknown scheme "mysql://"`},
		{dsn: "POSTGRES://db/eventlog", wantErr: `unknown scheme "POSTGRES://"`},
		{dsn: "sqlite:///var/lib/eventlog/log.db", wantErr: "give the database file's path alone"},
		{dsn: "sqlite:log.db", wantErr: "give the database file's path alone"},
		{dsn: "file:log.db?mode=ro", wantErr: "give the database file's path alone"},
		{dsn: "file:///tmp/log.db", wantErr: "give the database file's path alone"},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			got, err := store.DSNDialect(tt.dsn)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DSNDialect(%q) = %q, %v; want an error with %q", tt.dsn, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("DSNDialect(%q) error %q repeats the password", tt.dsn, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DSNDialect(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
			}
			if gotPG := store.IsPostgres(tt.dsn); gotPG != (tt.want == store.Postgres) {
				t.Errorf("IsPostgres(%q) = %v", tt.dsn, gotPG)
			}
		})
	}
}

// A DSN that is not a SQLite path never becomes a file in the working
// directory: a keyword string goes to PostgreSQL, another scheme is refused.
func TestOpenCreatesNoFileForOtherDatabases(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	tests := []struct{ dsn, wantErr string }{
		{"host=127.0.0.1 port=" + port + " dbname=eventlog sslmode=disable connect_timeout=5", "connect to postgres"},
		{"mysql://root@127.0.0.1/eventlog", `unknown scheme "mysql://"`},
		{"sqlite:eventlog.db", "give the database file's path alone"},
		{"host=127.0.0.1 sslmode=sometimes", "postgres connection string"},
	}
	for _, tt := range tests {
		s, err := store.Open(context.Background(), store.Config{DSN: tt.dsn})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) opened a %s store; want an error with %q", tt.dsn, s.Dialect(), tt.wantErr)
		} else if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Open(%q) error = %v; want it to contain %q", tt.dsn, err, tt.wantErr)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("Open created %v in the working directory", files)
	}
}

// When PostgreSQL refuses TLS, the error says how to connect without it.
func TestOpenPostgresWithoutTLSHint(t *testing.T) {
	t.Chdir(t.TempDir()) // where a misread DSN would become a SQLite file
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// A server without TLS answers the client's SSLRequest (8 bytes) with
	// 'N'.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var req [8]byte
			if _, err := io.ReadFull(c, req[:]); err == nil {
				c.Write([]byte{'N'})
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	for _, dsn := range []string{
		"postgres://eventlog@127.0.0.1:" + port + "/eventlog?sslmode=require",
		"host=127.0.0.1 port=" + port + " dbname=eventlog sslmode=require",
	} {
		_, err := store.Open(context.Background(), store.Config{DSN: dsn})
		if !errors.Is(err, eventlog.ErrUnavailable) || !strings.Contains(err.Error(), "SSL is not enabled on the server") ||
			!strings.Contains(err.Error(), "add sslmode=disable") {
			t.Errorf("Open(%q) error = %v; want UNAVAILABLE, lib/pq's error and a hint at sslmode=disable", dsn, err)
		}
	}
}

// Package pgtest gives tests a fresh PostgreSQL database on the server named
// by EVENTLOG_TEST_POSTGRES (scripts/with-postgres starts one).
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // registers the "postgres" driver
)

// URL returns the server the PostgreSQL suite runs against, from
// EVENTLOG_TEST_POSTGRES. Without it the suite is skipped, except under CI
// (CI=true), where a missing PostgreSQL fails the run.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("EVENTLOG_TEST_POSTGRES")
	if u == "" {
		msg := "EVENTLOG_TEST_POSTGRES is not set; run the tests with `make test`, which starts a throwaway PostgreSQL"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// NewDB creates a fresh, randomly named database on the test server
// and drops it when the test ends. It returns the database's URL.
func NewDB(t testing.TB, server string) string {
	t.Helper()
	admin, err := sqlx.Open("postgres", server)
	if err != nil {
		t.Fatalf("open %s: %v", server, err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	rand.Read(b[:])
	name := "eventlog_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("EVENTLOG_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewRole creates a login role with a random name on the test server and
// drops it when the test ends. Roles belong to the whole server, so create
// the role before the databases that grant to it: cleanups run last first,
// and the role is dropped after them.
func NewRole(t testing.TB, server string) string {
	t.Helper()
	admin, err := sqlx.Open("postgres", server)
	if err != nil {
		t.Fatalf("open %s: %v", server, err)
	}
	var b [4]byte
	rand.Read(b[:])
	role := "eventlog_role_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		admin.Close()
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP ROLE IF EXISTS ` + role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

// KeywordString writes dsn, a postgres:// URL, as the libpq keyword string
// that names the same database ("host=... port=... dbname=...").
func KeywordString(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	kw := []string{"host=" + u.Hostname(), "dbname=" + strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		kw = append(kw, "port="+p)
	}
	if name := u.User.Username(); name != "" {
		kw = append(kw, "user="+name)
	}
	if pw, ok := u.User.Password(); ok {
		kw = append(kw, "password='"+strings.ReplaceAll(pw, "'", `\'`)+"'")
	}
	for k, v := range u.Query() {
		kw = append(kw, k+"="+v[0])
	}
	return strings.Join(kw, " ")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/google/go-cmp/cmp"
)

func TestRedactDSN(t *testing.T) {
	for _, tt := range []struct {
		name, dsn, want string
	}{
		{"SQLite", "/var/lib/eventlog/log.db", "/var/lib/eventlog/log.db"},
		{"SQLiteNamedPassword", "/tmp/password=x.db", "/tmp/password=x.db"},
		{"URLNoPassword", "postgres://eventlog@db:5432/eventlog?sslmode=require", "postgres://eventlog@db:5432/eventlog?sslmode=require"},
		{"URLUserinfo", "postgres://eventlog:s3cret@db/eventlog", "postgres://eventlog:xxxxx@db/eventlog"},
		{"URLUserinfoEscaped", "postgresql://u:p%40ss%3Aw@db/x", "postgresql://u:xxxxx@db/x"},
		{"URLQuery", "postgres://u@db/x?sslmode=disable&password=s3cret&application_name=a", "postgres://u@db/x?sslmode=disable&password=xxxxx&application_name=a"},
		{"URLQueryFirst", "postgres://u@db/x?password=s3cret", "postgres://u@db/x?password=xxxxx"},
		{"URLQueryEscapedKey", "postgres://u@db/x?pass%77ord=s3cret", "postgres://u@db/x?pass%77ord=xxxxx"},
		{"URLQueryUpperCase", "postgres://u@db/x?PASSWORD=s3cret", "postgres://u@db/x?PASSWORD=xxxxx"},
		{"URLSSLPassword", "postgres://u@db/x?sslkey=k.pem&sslpassword=k3y", "postgres://u@db/x?sslkey=k.pem&sslpassword=xxxxx"},
		{"URLBoth", "postgres://u:one@db/x?password=two&sslpassword=three#f", "postgres://u:xxxxx@db/x?password=xxxxx&sslpassword=xxxxx#f"},
		{"URLEmptyPassword", "postgres://u:@db/x?password=", "postgres://u:@db/x?password="},
		{"URLInvalid", "postgres://u:s3cret@db:port/x?password=two", "postgres://u:xxxxx@db:port/x?password=xxxxx"},
		{"URLAtInPassword", "postgres://u:a@b@db/x", "postgres://u:xxxxx@db/x"},
		{"Keywords", "host=db user=u password=s3cret dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"KeywordsFirst", "password=s3cret host=db", "password=xxxxx host=db"},
		{"KeywordsSpaces", "host=db password = s3cret dbname=x", "host=db password = xxxxx dbname=x"},
		{"KeywordsQuoted", `host=db password='s3 c\'ret' dbname=x`, `host=db password=xxxxx dbname=x`},
		{"KeywordsEscapedSpace", `host=db password=s3\ cret dbname=x`, `host=db password=xxxxx dbname=x`},
		{"KeywordsSSL", "host=db sslkey=k.pem sslpassword=k3y", "host=db sslkey=k.pem sslpassword=xxxxx"},
		{"KeywordsUpperCase", "host=db PASSWORD=s3cret", "host=db PASSWORD=xxxxx"},
		{"KeywordsNotAPassword", "host=db mypassword=s3cret", "host=db mypassword=s3cret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactDSN(tt.dsn); got != tt.want {
				t.Errorf("redactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
		})
	}
}

func TestRedactError(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tt := range []struct {
		name string
		dsn  string
		err  error
		want string
	}{
		{"URLQuoted", "postgres://u:s3cret@db:port/x?password=tw\"o",
			fmt.Errorf("open postgres: %w", &url.Error{Op: "parse", URL: "postgres://u:s3cret@db:port/x?password=tw\"o", Err: errors.New("invalid port")}),
			`open postgres: parse "postgres://u:xxxxx@db:port/x?password=xxxxx": invalid port`},
		{"URLDecoded", "postgres://u:p%40ss@db/x?password=a%2Bb+c",
			errors.New("user u, password p@ss, then a+b c and a+b+c"),
			"user u, password xxxxx, then xxxxx and xxxxx"},
		{"Keywords", "host=db password='s3 c\\'ret'",
			errors.New(`cannot open host=db password='s3 c\'ret': s3 c'ret`),
			"cannot open host=db password=xxxxx: xxxxx"},
		{"NoSecret", "postgres://u@db/x", fmt.Errorf("connect: %w", cause), "connect: connection refused"},
		{"SecretNotInMessage", "postgres://u:s3cret@db/x", fmt.Errorf("connect: %w", cause), "connect: connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := redactError(tt.dsn, tt.err)
			if diff := cmp.Diff(tt.want, got.Error()); diff != "" {
				t.Errorf("redactError (-want +got):\n%s", diff)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("redactError(%v) does not wrap it", tt.err)
			}
		})
	}
	if redactError("postgres://u:p@db/x", nil) != nil {
		t.Errorf("redactError of nil is not nil")
	}
}

// TestDBSecretsStayOutOfLogs: a password in --db, in the user information
// or the query of a URL, or among keywords, is masked in the server's log
// and in the errors that commands print.
func TestDBSecretsStayOutOfLogs(t *testing.T) {
	const secret = "hunter2-d5a8"
	noEnv := func(string) string { return "" }
	t.Run("InvalidURL", func(t *testing.T) {
		// An invalid URL is reported whole, by the URL parser.
		for _, args := range [][]string{
			{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"},
			{"verify"},
			{"grant", "--role", "r"},
		} {
			db := "postgres://u:" + secret + "@db:port/x?password=" + secret + "q&sslpassword=" + secret + "s"
			var logs strings.Builder
			err := run(context.Background(), append(args, "--db", db), noEnv, strings.NewReader(""), io.Discard, &logs)
			if err == nil {
				t.Fatalf("%s with an invalid URL: no error", args[0])
			}
			if out := err.Error() + logs.String(); strings.Contains(out, secret) || !strings.Contains(out, "postgres://u:xxxxx@db:port/x?password=xxxxx&sslpassword=xxxxx") {
				t.Errorf("%s with an invalid URL printed %q and logged:\n%s\nwant the URL with its secrets masked", args[0], err, logs.String())
			}
		}
	})
	t.Run("Keywords", func(t *testing.T) {
		// --db takes keywords as a SQLite file name; its log line masks
		// the password all the same.
		dir := t.TempDir()
		ts := startServer(t, filepath.Join(dir, "host=db password="+secret))
		ts.stop(t)
		if logs := ts.logs.String(); strings.Contains(logs, secret) || !strings.Contains(logs, "password=xxxxx") {
			t.Errorf("the log shows the password, or no database:\n%s", logs)
		}
	})
	t.Run("Postgres", func(t *testing.T) {
		// The test server's password, if it has one, moves to the query;
		// without one, a password is ignored by a server that asks none.
		u, err := url.Parse(pgtest.NewDB(t, pgtest.URL(t)))
		if err != nil {
			t.Fatal(err)
		}
		pw, ok := u.User.Password()
		if !ok {
			pw = secret
		}
		u.User = url.User(u.User.Username())
		q := u.Query()
		q.Set("password", pw)
		u.RawQuery = q.Encode()
		accessLog := filepath.Join(t.TempDir(), "access.log")
		ts := startServer(t, u.String(), "--access-log", accessLog)
		get(t, ts.http+"/v1/events")
		ts.stop(t)
		b, err := os.ReadFile(accessLog)
		if err != nil {
			t.Fatal(err)
		}
		logs := ts.logs.String() + string(b)
		if strings.Contains(logs, "password="+url.QueryEscape(pw)) || !strings.Contains(logs, "password=xxxxx") {
			t.Errorf("the log shows the password, or no database:\n%s", logs)
		}
	})
}

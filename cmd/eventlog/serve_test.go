package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

func get(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeHTTPOff(t *testing.T) {
	for _, addr := range []string{"", "off"} {
		ts := startServer(t, filepath.Join(t.TempDir(), "log.db"), "--http-addr", addr)
		if ts.http != "" || strings.Contains(ts.logs.String(), "serving HTTP") {
			t.Errorf("--http-addr %q: the server serves HTTP:\n%s", addr, ts.logs)
		}
	}
}

func TestServeHTTPAddrFromEnv(t *testing.T) {
	getenv := func(k string) string {
		if k == "EVENTLOG_HTTP_ADDR" {
			return "127.0.0.1:0"
		}
		return ""
	}
	// The flag the helper passes would win over the environment; pass none.
	ts := startServerEnv(t, filepath.Join(t.TempDir(), "log.db"), getenv)
	if ts.http == "" {
		t.Fatalf("EVENTLOG_HTTP_ADDR is ignored:\n%s", ts.logs)
	}
	if code := get(t, ts.http+"/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
	// After a shutdown the HTTP port is closed.
	ts.stop(t)
	if _, err := http.Get(ts.http + "/healthz"); err == nil {
		t.Errorf("GET /healthz after shutdown succeeded")
	}
}

func TestServeRefusesNonLoopback(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-addr", "0.0.0.0:8080"}, `--http-addr "0.0.0.0:8080" is not a loopback address`},
		{[]string{"--http-addr", "192.0.2.1:80"}, `--http-addr "192.0.2.1:80" is not a loopback address`},
		{[]string{"--http-addr", ":8080"}, `--http-addr ":8080" is not a loopback address`},
		{[]string{"--http-addr", "8080"}, `--http-addr "8080": `},
		{[]string{"--grpc-addr", "[::]:1"}, `--grpc-addr "[::]:1" is not a loopback address`},
		{[]string{"--access-log", ""}, `--access-log is empty`},
	} {
		args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "log.db"), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, tt.args...)
		err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
		var u *usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %q = %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
	err := run(context.Background(), []string{"serve", "--access-log", filepath.Join(t.TempDir(), "no", "such", "dir", "access.log")},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--access-log") {
		t.Errorf("serve with an access log in a missing directory = %v, want an error about --access-log", err)
	}
}

// The access log goes to stderr by default, follows --log-format, and
// --access-log off turns it off. (It follows --log-level too, which the
// tests of package accesslog show: at warn, the server does not log the
// addresses this test needs.)
func TestServeAccessLogFlags(t *testing.T) {
	type line struct {
		Level     string `json:"level"`
		Msg       string `json:"msg"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
		GRPCCode  string `json:"grpc_code"`
		UserAgent string `json:"user_agent"`
	}
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, log string)
	}{
		{"TextToStderr", nil, func(t *testing.T, log string) {
			for _, want := range []string{`"GET /healthz HTTP/1.1" 200 "Go-http-client/1.1" bytes=3 duration_ms=`,
				`"GET /nothing HTTP/1.1" 404 `, `"POST /eventlog.v1.EventLogService/ListEvents HTTP/2" 200 `} {
				if !strings.Contains(log, want) {
					t.Errorf("stderr has no %s:\n%s", want, log)
				}
			}
		}},
		{"Off", []string{"--access-log", "off"}, func(t *testing.T, log string) {
			if strings.Contains(log, "/healthz") || strings.Contains(log, "ListEvents") {
				t.Errorf("--access-log off, yet stderr has access lines:\n%s", log)
			}
		}},
		{"JSON", []string{"--log-format", "json"}, func(t *testing.T, log string) {
			var got []line
			sc := bufio.NewScanner(strings.NewReader(log))
			for sc.Scan() {
				var l line
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Errorf("a line of the log is not JSON: %s", sc.Text())
				}
				if l.Msg == "HTTP request" || l.Msg == "gRPC call" {
					got = append(got, l)
				}
			}
			want := []line{
				{"INFO", "HTTP request", "/healthz", 200, "", "Go-http-client/1.1"},
				{"WARN", "HTTP request", "/nothing", 404, "", "Go-http-client/1.1"},
				{"INFO", "gRPC call", "/eventlog.v1.EventLogService/ListEvents", 200, "OK", "grpc-go/"},
			}
			if len(got) != len(want) {
				t.Fatalf("access lines %+v, want %+v", got, want)
			}
			for i := range want {
				got[i].UserAgent = got[i].UserAgent[:min(len(got[i].UserAgent), len(want[i].UserAgent))]
				if got[i] != want[i] {
					t.Errorf("access line %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, filepath.Join(t.TempDir(), "log.db"), tt.args...)
			get(t, ts.http+"/healthz")
			get(t, ts.http+"/nothing")
			if _, err := eventlogv1.NewEventLogServiceClient(ts.conn(t)).ListEvents(context.Background(), &eventlogv1.ListEventsRequest{}); err != nil {
				t.Fatal(err)
			}
			ts.stop(t) // every line is written once the server has stopped
			tt.check(t, ts.logs.String())
		})
	}
}

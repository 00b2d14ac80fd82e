package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

// webRequest is an HTTP request as a browser, or a page in it, may send.
type webRequest struct {
	method, path string
	host         string // the Host header; the server's address when empty
	body         string
	header       []string // name, value, ...; a value of "-" removes the header
}

// webResponse is what the server answers, with the JSON error, if any.
type webResponse struct {
	status  int
	header  http.Header
	code    codes.Code
	message string
	body    string
}

// send sends r to the HTTP server of ts. A request with a body has
// Content-Type application/json unless r says otherwise.
func send(t *testing.T, ts *testServer, r webRequest) webResponse {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, ts.http+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		if r.header[i+1] == "-" {
			req.Header.Del(r.header[i])
		} else {
			req.Header.Set(r.header[i], r.header[i+1])
		}
	}
	if r.host != "" {
		req.Host = r.host
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := webResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode >= 400 {
		var st struct {
			Code    codes.Code `json:"code"`
			Message string     `json:"message"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Errorf("%s %s: status %d with a body that is not a JSON status: %q", r.method, r.path, resp.StatusCode, b)
		}
		out.code, out.message = st.Code, st.Message
	}
	return out
}

// checkRefusal checks that resp is the error status, with code and a
// message that holds each of want.
func checkRefusal(t *testing.T, resp webResponse, status int, code codes.Code, want ...string) {
	t.Helper()
	if resp.status != status || resp.code != code {
		t.Errorf("got %d %v %q, want %d %v", resp.status, resp.code, resp.message, status, code)
	}
	for _, w := range want {
		if !strings.Contains(resp.message, w) {
			t.Errorf("message %q, want it to say %q", resp.message, w)
		}
	}
}

// port is the port of the HTTP server of ts.
func port(t *testing.T, ts *testServer) string {
	t.Helper()
	u, err := url.Parse(ts.http)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// TestHostCheck: without API keys, a request must name the server by
// localhost, an IP address or a name given to --http-host, so that a page
// whose name rebinds to 127.0.0.1 cannot use the API.
func TestHostCheck(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	tokens := writeKeys(t, keys, "reader=read")
	getenv := func(k string) string {
		if k == "EVENTLOG_HTTP_HOST" {
			return "from-env.test"
		}
		return ""
	}
	keyless := startServer(t, filepath.Join(dir, "keyless.db"))
	named := startServer(t, filepath.Join(dir, "named.db"), "--http-host", "eventlog.test,Other.Test.", "--http-host", "[fe80::1]")
	fromEnv := startServerEnv(t, filepath.Join(dir, "env.db"), getenv,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	keyed := startServer(t, filepath.Join(dir, "keyed.db"), "--keys", keys)
	keyedNamed := startServer(t, filepath.Join(dir, "keyed-named.db"), "--keys", keys, "--http-host", "eventlog.test")
	auth := []string{"Authorization", "Bearer " + tokens["reader"]}

	for _, tt := range []struct {
		name   string
		ts     *testServer
		host   string // :PORT is the server's port
		header []string
		want   int // 0: admitted (200)
	}{
		{"IPv4", keyless, "127.0.0.1:PORT", nil, 0},
		{"Localhost", keyless, "localhost:PORT", nil, 0},
		{"LocalhostUpperCase", keyless, "LocalHost:PORT", nil, 0},
		{"LocalhostNoPort", keyless, "localhost", nil, 0},
		{"IPv6", keyless, "[::1]:PORT", nil, 0},
		{"OtherAddress", keyless, "127.0.0.2:PORT", nil, 0},
		{"Rebound", keyless, "evil.example:PORT", nil, http.StatusForbidden},
		{"ReboundNoPort", keyless, "evil.example", nil, http.StatusForbidden},
		{"LocalhostSubdomain", keyless, "localhost.evil.example:PORT", nil, http.StatusForbidden},
		{"ReboundSameOrigin", keyless, "evil.example:PORT", []string{"Origin", "http://evil.example:PORT"}, http.StatusForbidden},
		{"NotNamedHere", keyless, "eventlog.test:PORT", nil, http.StatusForbidden},
		{"Named", named, "eventlog.test:PORT", nil, 0},
		{"NamedOtherCase", named, "EVENTLOG.test", nil, 0},
		{"NamedSecond", named, "other.test:443", nil, 0},
		{"NamedStillLocalhost", named, "localhost:PORT", nil, 0},
		{"NamedNotOthers", named, "evil.example:PORT", nil, http.StatusForbidden},
		{"FromEnv", fromEnv, "from-env.test:PORT", nil, 0},
		{"FromEnvNotOthers", fromEnv, "eventlog.test:PORT", nil, http.StatusForbidden},
		// With API keys, a page cannot send a key: any name is served...
		{"KeyedAnyName", keyed, "evil.example:PORT", auth, 0},
		// ...unless --http-host asks for the check.
		{"KeyedNamed", keyedNamed, "eventlog.test:PORT", auth, 0},
		{"KeyedNamedNotOthers", keyedNamed, "evil.example:PORT", auth, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := port(t, tt.ts)
			host := strings.ReplaceAll(tt.host, "PORT", p)
			header := make([]string, len(tt.header))
			for i, h := range tt.header {
				header[i] = strings.ReplaceAll(h, "PORT", p)
			}
			resp := send(t, tt.ts, webRequest{method: "GET", path: "/v1/events", host: host, header: header})
			if tt.want == 0 {
				if resp.status != http.StatusOK {
					t.Errorf("GET /v1/events with Host %s = %d %s, want 200", host, resp.status, resp.body)
				}
				return
			}
			name := strings.ToLower(host)
			if i := strings.LastIndex(name, ":"); i >= 0 {
				name = name[:i]
			}
			checkRefusal(t, resp, tt.want, codes.PermissionDenied,
				fmt.Sprintf(`host %q is not served here; start the server with --http-host %s to allow it`, name, name))
		})
	}

	// A refused request has its line in the access log, and nothing of it
	// reaches the service.
	resp := send(t, keyless, webRequest{method: "POST", path: "/v1/events", host: "evil.example", body: `{"event":{}}`})
	checkRefusal(t, resp, http.StatusForbidden, codes.PermissionDenied)
	waitFor(t, "the access line of the refused POST", func() bool {
		return strings.Contains(keyless.logs.String(), `"POST /v1/events HTTP/1.1" 403 "Go-http-client/1.1" bytes=`)
	})
	if line := regexp.MustCompile(`.*"POST /v1/events HTTP/1.1" 403 .*`).FindString(keyless.logs.String()); strings.Contains(line, "grpc=") {
		t.Errorf("the refused POST reached the service: %s", line)
	}
}

// TestOriginCheck: a request from a page of another origin is refused
// unless --allow-origin names the origin; those it names get CORS answers.
func TestOriginCheck(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string {
		if k == "EVENTLOG_ALLOW_ORIGIN" {
			return "http://from-env.test:3000"
		}
		return ""
	}
	ts := startServer(t, filepath.Join(dir, "origin.db"), "--allow-origin", "https://dash.example, http://localhost:3000")
	fromEnv := startServerEnv(t, filepath.Join(dir, "env.db"), getenv,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	self := "http://127.0.0.1:" + port(t, ts)
	entry := `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"T","objectId":"1"}}`

	for _, tt := range []struct {
		name       string
		ts         *testServer
		req        webRequest
		wantStatus int
		wantCORS   http.Header // the CORS headers of the answer
	}{
		{"NoOrigin", ts, webRequest{method: "GET", path: "/v1/events"}, 200, nil},
		{"SameOrigin", ts, webRequest{method: "POST", path: "/v1/events", body: entry, header: []string{"Origin", self}}, 200, nil},
		{"SameOriginOtherCase", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "HTTP://127.0.0.1:" + port(t, ts)}}, 200, nil},
		{"OtherOriginRead", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "http://evil.example"}}, 403, nil},
		{"OtherOriginWrite", ts, webRequest{method: "POST", path: "/v1/events", body: entry, header: []string{"Origin", "http://evil.example"}}, 403, nil},
		{"OtherPort", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "http://127.0.0.1:1"}}, 403, nil},
		{"NullOrigin", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "null"}}, 403, nil},
		{"OtherOriginPreflight", ts, webRequest{method: "OPTIONS", path: "/v1/events",
			header: []string{"Origin", "http://evil.example", "Access-Control-Request-Method", "POST"}}, 403, nil},
		{"AllowedRead", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "https://dash.example"}}, 200,
			http.Header{"Access-Control-Allow-Origin": {"https://dash.example"}, "Vary": {"Origin"}}},
		{"AllowedWrite", ts, webRequest{method: "POST", path: "/v1/events", body: entry, header: []string{"Origin", "http://localhost:3000"}}, 200,
			http.Header{"Access-Control-Allow-Origin": {"http://localhost:3000"}, "Vary": {"Origin"}}},
		{"AllowedPreflight", ts, webRequest{method: "OPTIONS", path: "/v1/events", header: []string{"Origin", "https://dash.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"}}, 204,
			http.Header{"Access-Control-Allow-Origin": {"https://dash.example"}, "Access-Control-Allow-Methods": {"GET, POST"},
				"Access-Control-Allow-Headers": {"Authorization, Content-Type"}, "Access-Control-Max-Age": {"600"}, "Vary": {"Origin"}}},
		{"AllowedOtherScheme", ts, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "http://dash.example"}}, 403, nil},
		{"AllowedFromEnv", fromEnv, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "http://from-env.test:3000"}}, 200,
			http.Header{"Access-Control-Allow-Origin": {"http://from-env.test:3000"}, "Vary": {"Origin"}}},
		{"NotAllowedByOther", fromEnv, webRequest{method: "GET", path: "/v1/events", header: []string{"Origin", "https://dash.example"}}, 403, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(t, tt.ts, tt.req)
			if tt.wantStatus == 403 {
				origin := tt.req.header[1]
				checkRefusal(t, resp, 403, codes.PermissionDenied, fmt.Sprintf(
					"requests from pages of origin %q are refused; start the server with --allow-origin %s to allow them", origin, origin))
			} else if resp.status != tt.wantStatus {
				t.Errorf("%s %s = %d %s, want %d", tt.req.method, tt.req.path, resp.status, resp.body, tt.wantStatus)
			}
			got := http.Header{}
			for k, v := range resp.header {
				if strings.HasPrefix(k, "Access-Control-") || (k == "Vary" && tt.wantCORS != nil) {
					got[k] = v
				}
			}
			if tt.wantCORS == nil {
				tt.wantCORS = http.Header{}
			}
			if diff := cmp.Diff(tt.wantCORS, got); diff != "" {
				t.Errorf("CORS headers (-want +got):\n%s", diff)
			}
		})
	}
	// Of the writes above, the same-origin and the allowed one are in the log.
	var list struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(send(t, ts, webRequest{method: "GET", path: "/v1/events"}).body), &list); err != nil || len(list.Events) != 2 {
		t.Errorf("the log has %d entries (%v), want the 2 admitted writes", len(list.Events), err)
	}
	waitFor(t, "the access line of the refused preflight", func() bool {
		return strings.Contains(ts.logs.String(), `"OPTIONS /v1/events HTTP/1.1" 403 `)
	})
}

// TestContentType: a body must be JSON by its Content-Type; a page can send
// text/plain or a form to any origin without a preflight.
func TestContentType(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "ct.db"))
	entry := `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"T","objectId":"1"}}`
	const do = "send the body as JSON with the header Content-Type: application/json"
	for _, tt := range []struct {
		name        string
		contentType string // "-": none
		body        string
		wantStatus  int
		wantMessage string
	}{
		{"TextPlain", "text/plain", entry, 415, `Content-Type "text/plain" is not JSON: ` + do},
		{"TextPlainCharset", "text/plain; charset=utf-8", entry, 415, "is not JSON"},
		{"Form", "application/x-www-form-urlencoded", entry, 415, "is not JSON"},
		{"Multipart", "multipart/form-data; boundary=x", entry, 415, "is not JSON"},
		{"None", "-", entry, 415, "a request body needs a Content-Type: " + do},
		{"Unparsable", "application/json; charset", entry, 415, do},
		{"OtherCharset", "application/json; charset=iso-8859-1", entry, 415, "JSON is UTF-8; send charset=utf-8 or no charset"},
		{"JSON", "application/json", entry, 200, ""},
		{"JSONCharset", "application/json; charset=UTF-8", entry, 200, ""},
		{"JSONUpperCase", "Application/JSON", entry, 200, ""},
		// No body: nothing for a page to smuggle, and the request fails on
		// its own.
		{"NoBody", "-", "", 400, "event: required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(t, ts, webRequest{method: "POST", path: "/v1/events", body: tt.body, header: []string{"Content-Type", tt.contentType}})
			switch tt.wantStatus {
			case 200:
				if resp.status != 200 {
					t.Errorf("POST /v1/events with %s = %d %s, want 200", tt.contentType, resp.status, resp.body)
				}
			case 415:
				checkRefusal(t, resp, 415, codes.InvalidArgument, tt.wantMessage)
			default:
				checkRefusal(t, resp, tt.wantStatus, codes.InvalidArgument, tt.wantMessage)
			}
		})
	}
	// Only the JSON ones were written.
	var list struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(send(t, ts, webRequest{method: "GET", path: "/v1/events"}).body), &list); err != nil || len(list.Events) != 3 {
		t.Errorf("the log has %d entries (%v), want the 3 JSON writes", len(list.Events), err)
	}
	// Every route with a body checks it; an unknown path is still 404.
	for _, r := range apiRoutes(t) {
		if r.method != "POST" {
			continue
		}
		resp := send(t, ts, webRequest{method: r.method, path: r.path, body: "{}", header: []string{"Content-Type", "text/plain"}})
		checkRefusal(t, resp, 415, codes.InvalidArgument, "is not JSON")
	}
	checkRefusal(t, send(t, ts, webRequest{method: "POST", path: "/v1/nothing", body: "{}", header: []string{"Content-Type", "text/plain"}}),
		404, codes.NotFound)
	waitFor(t, "the access line of a refused body", func() bool {
		return strings.Contains(ts.logs.String(), `"POST /v1/events HTTP/1.1" 415 `)
	})
}

func TestServeRefusesBadWebFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-host", "http://eventlog.test"}, `--http-host "http://eventlog.test": want a host name`},
		{[]string{"--http-host", "eventlog.test:8080"}, `--http-host "eventlog.test:8080": want a host name`},
		{[]string{"--http-host", "ok.test,bad host"}, `--http-host "bad host": want a host name`},
		{[]string{"--allow-origin", "dash.example"}, `--allow-origin "dash.example": want an origin as browsers send it`},
		{[]string{"--allow-origin", "https://dash.example/app"}, `--allow-origin "https://dash.example/app": want an origin`},
		{[]string{"--allow-origin", "ftp://dash.example"}, `--allow-origin "ftp://dash.example": want an origin`},
		{[]string{"--allow-origin", "*"}, `--allow-origin "*": want an origin`},
	} {
		args := append([]string{"serve", "--db", filepath.Join(t.TempDir(), "log.db"), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, tt.args...)
		// A server that starts is stopped after a while.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
		cancel()
		var u *usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %q = %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

// TestHTTPHeaderLimit: headers that would make the gateway's call larger
// than the gRPC server's limit on headers get 431, not the 500 of the
// call's failure.
func TestHTTPHeaderLimit(t *testing.T) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	ts := startServer(t, filepath.Join(t.TempDir(), "headers.db"), "--access-log", accessLog)
	get := func(name string, size int) webResponse {
		return send(t, ts, webRequest{method: "GET", path: "/v1/events", header: []string{name, strings.Repeat("x", size)}})
	}
	for _, name := range []string{"Cookie", "User-Agent", "Authorization"} {
		checkRefusal(t, get(name, 100<<10), 431, codes.ResourceExhausted,
			"request headers too large: ", "over the limit of 64 KiB; the largest is "+name+" (")
	}
	// A stream is refused the same way.
	checkRefusal(t, send(t, ts, webRequest{method: "GET", path: "/v1/events:stream", header: []string{"Cookie", strings.Repeat("x", 100<<10)}}),
		431, codes.ResourceExhausted, "the largest is Cookie (")
	// A header that the gateway does not pass on does not count.
	if resp := get("X-Other", 100<<10); resp.status != 200 {
		t.Errorf("GET /v1/events with a 100 KiB X-Other header = %d %s, want 200", resp.status, resp.body)
	}
	// Just under the limit the call goes through: find the largest cookie
	// admitted, and check that the gRPC server took it.
	lo, hi := 1, 100<<10 // lo is admitted, hi is refused
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		switch resp := get("Cookie", mid); resp.status {
		case 200:
			lo = mid
		case 431:
			hi = mid
		default:
			t.Fatalf("GET /v1/events with a cookie of %d bytes = %d %s, want 200 or 431", mid, resp.status, resp.body)
		}
	}
	if lo < 60<<10 {
		t.Errorf("a cookie of %d bytes is refused: the limit is 64 KiB", hi)
	}
	t.Logf("the largest cookie admitted: %d bytes", lo)
	waitFor(t, "the access lines of the refused requests", func() bool {
		return len(grep(t, accessLog, `"GET /v1/events HTTP/1.1" 431 "Go-http-client/1.1" bytes=`)) > 0
	})
	if lines := grep(t, accessLog, `" 500 `); len(lines) > 0 {
		t.Errorf("requests got 500:\n%s", strings.Join(lines, "\n"))
	}
}

// A list flag takes commas and repeats; given at all, it replaces the
// environment's list.
func TestListFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		args []string
		want []string
	}{
		{"Empty", "", nil, nil},
		{"Env", "a.test, b.test,", nil, []string{"a.test", "b.test"}},
		{"FlagReplacesEnv", "a.test", []string{"--l", "c.test"}, []string{"c.test"}},
		{"Repeated", "a.test", []string{"--l", "c.test,d.test", "--l", "e.test"}, []string{"c.test", "d.test", "e.test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newListFlag(tt.env)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.Var(l, "l", "a list")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, l.values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

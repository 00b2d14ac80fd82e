package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestHTTPEndToEndSQLite(t *testing.T) {
	testHTTPEndToEnd(t, filepath.Join(t.TempDir(), "e2e.db"))
}

func TestHTTPEndToEndPostgres(t *testing.T) {
	testHTTPEndToEnd(t, pgtest.NewDB(t, pgtest.URL(t)))
}

// restClient talks to the REST API of a test server.
type restClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

// httpResponse is a response with its body read.
type httpResponse struct {
	status int
	header http.Header
	body   []byte
}

func (c *restClient) do(method, path string, body []byte, header ...string) httpResponse {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "e2e-test/1.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read the body: %v", method, path, err)
	}
	return httpResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// call makes a request that must succeed and decodes its body into out.
func (c *restClient) call(method, path string, in, out proto.Message) {
	c.t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = protojson.Marshal(in); err != nil {
			c.t.Fatal(err)
		}
	}
	resp := c.do(method, path, body)
	if resp.status != http.StatusOK {
		c.t.Fatalf("%s %s = %d %s, want 200", method, path, resp.status, resp.body)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := protojson.Unmarshal(resp.body, out); err != nil {
		c.t.Fatalf("%s %s: body %s: %v", method, path, resp.body, err)
	}
}

// list returns the ids that GET /v1/events?query lists, following
// next_page_token to the last page.
func (c *restClient) list(query string) []int64 {
	c.t.Helper()
	var ids []int64
	token := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			c.t.Fatalf("more than 100 pages for %s", query)
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			c.t.Fatal(err)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp eventlogv1.ListEventsResponse
		c.call("GET", "/v1/events?"+q.Encode(), nil, &resp)
		for _, e := range resp.GetEvents() {
			ids = append(ids, e.GetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			return ids
		}
	}
}

func testHTTPEndToEnd(t *testing.T, db string) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	ts := startServer(t, db, "--access-log", accessLog)
	if ts.http == "" {
		t.Fatalf("the server did not log its HTTP address:\n%s", ts.logs)
	}
	c := &restClient{t: t, base: ts.http, hc: &http.Client{Timeout: 30 * time.Second}}

	t.Run("HealthReadyOpenAPI", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if resp := c.do("GET", path, nil); resp.status != 200 || string(resp.body) != "ok\n" {
				t.Errorf("GET %s = %d %q, want 200 ok", path, resp.status, resp.body)
			}
		}
		resp := c.do("GET", "/openapi.json", nil)
		var doc struct {
			Paths map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(resp.body, &doc); err != nil || resp.status != 200 {
			t.Fatalf("GET /openapi.json = %d, %v", resp.status, err)
		}
		for _, p := range []string{"/v1/events", "/v1/events:batchLog", "/v1/events/{id}"} {
			if doc.Paths[p] == nil {
				t.Errorf("/openapi.json has no path %s", p)
			}
		}
	})

	// The log, written over REST: one entry at a time, then a batch.
	type spec struct {
		typ                   eventlogv1.EventType
		actorID, actor        string
		contentType, objectID string
		key                   string
	}
	specs := []spec{
		{eventlogv1.EventType_EVENT_TYPE_CREATE, "42", "alice", "Entry", "42", "create-42"},
		{eventlogv1.EventType_EVENT_TYPE_EDIT, "7", "bob", "Note", "n-1", ""},
		{eventlogv1.EventType_EVENT_TYPE_EDIT, "42", "Alice", "entry", "43", ""},
		{eventlogv1.EventType_EVENT_TYPE_DELETE, "9", "carol", "ENTRY", "42", ""},
		{eventlogv1.EventType_EVENT_TYPE_FETCH, "42", "ALICE", "Entry", "420", ""},
	}
	batch := []spec{
		{eventlogv1.EventType_EVENT_TYPE_LOGIN, "7", "bob", "User", "7", ""},
		{eventlogv1.EventType_EVENT_TYPE_LOGIN_FAILED, "", "mallory", "User", "13", ""},
		{eventlogv1.EventType_EVENT_TYPE_LOGOUT, "7", "bob", "User", "7", ""},
	}
	toProto := func(s spec) *eventlogv1.LogEventRequest {
		return &eventlogv1.LogEventRequest{
			Event: &eventlogv1.Event{
				EventType:   s.typ,
				Actor:       &eventlogv1.Actor{Id: s.actorID, Name: s.actor, Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
				ContentType: s.contentType,
				ObjectId:    s.objectID,
				ObjectRepr:  s.contentType + " " + s.objectID,
				Request:     &eventlogv1.RequestContext{RemoteAddr: "192.0.2.1", Method: "POST", Path: "/x", Status: 201},
			},
			IdempotencyKey: s.key,
		}
	}
	var all []*eventlogv1.Event // in id order
	t.Run("LogEvent", func(t *testing.T) {
		for _, s := range specs {
			var resp eventlogv1.LogEventResponse
			c.call("POST", "/v1/events", toProto(s), &resp)
			all = append(all, resp.GetEvent())
		}
		for i, e := range all {
			if e.GetId() != int64(i+1) || e.GetTime() == nil || len(e.GetHash()) != 32 {
				t.Errorf("entry %d = %v, want id %d with a time and a hash", i, e, i+1)
			}
		}
		// A retry with the same idempotency key returns the first entry.
		var again eventlogv1.LogEventResponse
		c.call("POST", "/v1/events", toProto(specs[0]), &again)
		if diff := cmp.Diff(all[0], again.GetEvent(), protocmp.Transform()); diff != "" {
			t.Errorf("retried POST /v1/events (-first +retry):\n%s", diff)
		}
		// Ids are JSON strings.
		resp := c.do("GET", "/v1/events/1", nil)
		if !regexp.MustCompile(`"id":\s*"1"`).Match(resp.body) {
			t.Errorf("GET /v1/events/1 = %s, want the id as a JSON string", resp.body)
		}
	})
	t.Run("LogEvents", func(t *testing.T) {
		req := &eventlogv1.LogEventsRequest{}
		for _, s := range batch {
			req.Requests = append(req.Requests, toProto(s))
		}
		var resp eventlogv1.LogEventsResponse
		c.call("POST", "/v1/events:batchLog", req, &resp)
		if n := len(resp.GetResponses()); n != len(batch) {
			t.Fatalf("POST /v1/events:batchLog returned %d entries, want %d", n, len(batch))
		}
		for i, r := range resp.GetResponses() {
			if r.GetEvent().GetId() != int64(len(specs)+1+i) || r.GetEvent().GetObjectId() != batch[i].objectID {
				t.Errorf("batch entry %d = %v", i, r.GetEvent())
			}
			all = append(all, r.GetEvent())
		}
	})
	if len(all) != len(specs)+len(batch) {
		t.Fatalf("the writes failed; the rest cannot run")
	}

	t.Run("GetEvent", func(t *testing.T) {
		for _, want := range all {
			var got eventlogv1.GetEventResponse
			c.call("GET", fmt.Sprintf("/v1/events/%d", want.GetId()), nil, &got)
			if diff := cmp.Diff(want, got.GetEvent(), protocmp.Transform()); diff != "" {
				t.Errorf("GET /v1/events/%d (-logged +got):\n%s", want.GetId(), diff)
			}
		}
	})

	// ids returns the ids of the entries for which keep is true, newest first.
	ids := func(keep func(*eventlogv1.Event) bool) []int64 {
		var out []int64
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].GetId())
			}
		}
		return out
	}
	timeOf := func(id int64) string { return all[id-1].GetTime().AsTime().Format(time.RFC3339Nano) }
	isAlice := func(e *eventlogv1.Event) bool { return strings.EqualFold(e.GetActor().GetName(), "alice") }
	isEntry := func(e *eventlogv1.Event) bool { return strings.EqualFold(e.GetContentType(), "entry") }
	isEdit := func(e *eventlogv1.Event) bool { return e.GetEventType() == eventlogv1.EventType_EVENT_TYPE_EDIT }
	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  []int64
		}{
			{"", ids(func(*eventlogv1.Event) bool { return true })},
			{"event_type=edit", ids(isEdit)},
			{"event_type=EDIT", ids(isEdit)},
			{"event_type=EVENT_TYPE_EDIT", ids(isEdit)},
			{"eventType=Edit", ids(isEdit)},
			{"event_type=login_failed", []int64{7}},
			{"actor=alice", ids(isAlice)},
			{"actor=ALICE", ids(isAlice)},
			{"actor=42", ids(isAlice)}, // by actor id
			{"actor=Mallory", []int64{7}},
			{"content_type=entry", ids(isEntry)},
			{"contentType=ENTRY", ids(isEntry)},
			{"object_id=42", []int64{4, 1}},
			{"object_id=4", nil},  // exact, not a prefix
			{"objectId=N-1", nil}, // exact, not ignoring case
			{"source_id=0", ids(func(*eventlogv1.Event) bool { return true })},
			{"sourceId=1", nil},
			{"start_time=" + url.QueryEscape(timeOf(4)), ids(func(e *eventlogv1.Event) bool { return !e.GetTime().AsTime().Before(all[3].GetTime().AsTime()) })},
			{"end_time=" + url.QueryEscape(timeOf(4)), ids(func(e *eventlogv1.Event) bool { return !e.GetTime().AsTime().After(all[3].GetTime().AsTime()) })},
			{"startTime=2000-01-01T00:00:00Z&endTime=2000-12-31T23:59:59%2B02:00", nil},
			{"event_type=edit&actor=alice&content_type=Entry&start_time=2000-01-01T00:00:00Z", []int64{3}},
			{"order_by=id+asc&actor=bob", []int64{2, 6, 8}},
			{"orderBy=id%20desc&actor=bob", []int64{8, 6, 2}},
		}
		for _, tt := range tests {
			var resp eventlogv1.ListEventsResponse
			c.call("GET", "/v1/events?"+tt.query, nil, &resp)
			var got []int64
			for _, e := range resp.GetEvents() {
				got = append(got, e.GetId())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET /v1/events?%s ids (-want +got):\n%s", tt.query, diff)
			}
		}
	})

	t.Run("Pages", func(t *testing.T) {
		every := ids(func(*eventlogv1.Event) bool { return true })
		for _, tt := range []struct {
			query string
			want  []int64
		}{
			{"page_size=2", every},
			{"pageSize=3&order_by=id+asc", slices.Sorted(slices.Values(every))},
			{"page_size=1&actor=alice", ids(isAlice)},
			{"page_size=1000&content_type=user", []int64{8, 7, 6}},
		} {
			if diff := cmp.Diff(tt.want, c.list(tt.query)); diff != "" {
				t.Errorf("GET /v1/events?%s to the last page (-want +got):\n%s", tt.query, diff)
			}
		}
		// A token is for the filters it was issued with.
		var first eventlogv1.ListEventsResponse
		c.call("GET", "/v1/events?page_size=1", nil, &first)
		resp := c.do("GET", "/v1/events?page_size=1&actor=bob&page_token="+url.QueryEscape(first.GetNextPageToken()), nil)
		checkHTTPError(t, resp, 400, codes.InvalidArgument, "page_token")
	})

	t.Run("Errors", func(t *testing.T) {
		valid := `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"T","objectId":"1"}}`
		tests := []struct {
			name, method, path string
			body               []byte
			status             int
			code               codes.Code
			field              string // the message's start and the BadRequest field; "" for none
		}{
			{"NotJSON", "POST", "/v1/events", []byte(`event_type=edit`), 400, codes.InvalidArgument, ""},
			{"UnknownField", "POST", "/v1/events", []byte(`{"event":{"colour":"red"}}`), 400, codes.InvalidArgument, ""},
			{"WrongType", "POST", "/v1/events", []byte(`{"event":{"eventType":{}}}`), 400, codes.InvalidArgument, ""},
			{"WrongTypeInPath", "GET", "/v1/events/one", nil, 400, codes.InvalidArgument, ""},
			{"TooLarge", "POST", "/v1/events", append(bytes.Repeat([]byte(" "), 16<<20), valid...), 413, codes.ResourceExhausted, ""},
			{"Invalid", "POST", "/v1/events", []byte(`{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"objectId":"1"}}`), 400, codes.InvalidArgument, "event.content_type"},
			{"InvalidInBatch", "POST", "/v1/events:batchLog", []byte(`{"requests":[` + valid + `,{"event":{}}]}`), 400, codes.InvalidArgument, "requests[1].event.event_type"},
			{"EmptyBatch", "POST", "/v1/events:batchLog", []byte(`{}`), 400, codes.InvalidArgument, "requests"},
			{"NotFound", "GET", "/v1/events/999999", nil, 404, codes.NotFound, ""},
			{"BadId", "GET", "/v1/events/0", nil, 400, codes.InvalidArgument, "id"},
			{"UnknownParam", "GET", "/v1/events?user=alice", nil, 400, codes.InvalidArgument, "user"},
			{"BadTime", "GET", "/v1/events?start_time=yesterday", nil, 400, codes.InvalidArgument, "start_time"},
			{"BadPageSize", "GET", "/v1/events?page_size=-5", nil, 400, codes.InvalidArgument, "page_size"},
			{"BadEventType", "GET", "/v1/events?event_type=explode", nil, 400, codes.InvalidArgument, "event_type"},
			{"BadOrder", "GET", "/v1/events?order_by=time", nil, 400, codes.InvalidArgument, "order_by"},
			{"BadPageToken", "GET", "/v1/events?page_token=garbage!", nil, 400, codes.InvalidArgument, "page_token"},
			{"NoRoute", "GET", "/v1/nothing", nil, 404, codes.NotFound, ""},
			{"MethodNotAllowed", "PUT", "/v1/events", []byte(valid), 405, codes.Unimplemented, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkHTTPError(t, c.do(tt.method, tt.path, tt.body), tt.status, tt.code, tt.field)
			})
		}
		if got := c.list(""); len(got) != len(all) {
			t.Errorf("after the bad requests %d entries are listed, want %d", len(got), len(all))
		}
	})

	t.Run("AccessLog", func(t *testing.T) {
		const ua = `dashboard/1.0 (golden "test")`
		c.do("GET", "/v1/events/2", nil, "User-Agent", ua)      // 200
		c.do("GET", "/v1/events/424242", nil, "User-Agent", ua) // 404
		cc := eventlogv1.NewEventLogServiceClient(ts.conn(t))
		if _, err := cc.GetEvent(context.Background(), &eventlogv1.GetEventRequest{Id: 2}); err != nil {
			t.Fatal(err)
		}
		cc.GetEvent(context.Background(), &eventlogv1.GetEventRequest{Id: 424242})
		lines := waitLines(t, accessLog, "/eventlog.v1.EventLogService/GetEvent", 2)
		checkGolden(t, "http_success", findLine(t, accessLog, `"GET /v1/events/2 HTTP/1.1" 200 "dashboard/1.0`))
		checkGolden(t, "http_failure", findLine(t, accessLog, `"GET /v1/events/424242 HTTP/1.1" 404 "dashboard/1.0`))
		checkGolden(t, "grpc_success", lines[0])
		checkGolden(t, "grpc_failure", lines[1])
		// A REST request is one line, the HTTP one: the gRPC call behind it
		// has no line of its own.
		if n := len(grep(t, accessLog, "/eventlog.v1.EventLogService/")); n != 2 {
			t.Errorf("%d gRPC lines in the access log, want 2 (the direct calls)", n)
		}
		if strings.Contains(ts.logs.String(), `"GET /v1/events/2 HTTP/1.1"`) {
			t.Errorf("the access log went to stderr as well as to --access-log")
		}
	})

	t.Run("Relations", func(t *testing.T) {
		rel := `{"relations":[{"from":{"contentType":"Note","objectId":"n9"},"to":{"contentType":"Entity","objectId":"e9"},"kind":"links"}]}`
		var put eventlogv1.PutRelationsResponse
		c.call("POST", "/v1/relations:batchPut", mustJSON[*eventlogv1.PutRelationsRequest](t, rel), &put)
		if put.GetCreated() != 1 {
			t.Errorf("POST /v1/relations:batchPut created %d, want 1", put.GetCreated())
		}
		var list eventlogv1.ListRelationsResponse
		c.call("GET", "/v1/relations?from.content_type=Note&from.objectId=n9&kind=links", nil, &list)
		if len(list.GetRelations()) != 1 || list.GetRelations()[0].GetTo().GetObjectId() != "e9" {
			t.Errorf("GET /v1/relations?from... = %v, want Note/n9 -> Entity/e9", list.GetRelations())
		}
		// An edit of the note propagates to the entity and to an object
		// named inline.
		var logged eventlogv1.LogEventResponse
		c.call("POST", "/v1/events", mustJSON[*eventlogv1.LogEventRequest](t, `{"event":{"eventType":"EVENT_TYPE_EDIT",
			"actor":{"name":"dave"},"contentType":"Note","objectId":"n9"},"related":[{"contentType":"Artifact","objectId":"a9"}]}`), &logged)
		src := logged.GetEvent().GetId()
		var children []string
		for _, ch := range logged.GetChildren() {
			children = append(children, ch.GetContentType()+"/"+ch.GetObjectId())
			if ch.GetSourceId() != src {
				t.Errorf("child %v has source %d, want %d", ch.GetObjectId(), ch.GetSourceId(), src)
			}
		}
		if diff := cmp.Diff([]string{"Artifact/a9", "Entity/e9"}, children); diff != "" {
			t.Errorf("children (-want +got):\n%s", diff)
		}
		var got eventlogv1.GetEventResponse
		c.call("GET", fmt.Sprintf("/v1/events/%d", src), nil, &got)
		if got.GetChildCount() != 2 {
			t.Errorf("GET /v1/events/%d childCount = %d, want 2", src, got.GetChildCount())
		}
		if want := []int64{src + 1, src + 2}; !slices.Equal(c.list(fmt.Sprintf("source_id=%d&order_by=id+asc", src)), want) {
			t.Errorf("GET /v1/events?source_id=%d does not list the children %v", src, want)
		}
		var del eventlogv1.DeleteRelationsResponse
		c.call("POST", "/v1/relations:batchDelete", mustJSON[*eventlogv1.DeleteRelationsRequest](t, rel), &del)
		c.call("GET", "/v1/relations?from.content_type=Note&from.object_id=n9", nil, &list)
		if del.GetDeleted() != 1 || len(list.GetRelations()) != 0 {
			t.Errorf("after POST /v1/relations:batchDelete (deleted %d) the list is %v, want it empty", del.GetDeleted(), list.GetRelations())
		}
		checkHTTPError(t, c.do("POST", "/v1/relations:batchPut", []byte(`{}`)), 400, codes.InvalidArgument, "relations")
		checkHTTPError(t, c.do("GET", "/v1/relations?from.colour=red", nil), 400, codes.InvalidArgument, "from.colour")
	})

	t.Run("Stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/events:stream?actor=bob&after_id=2", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /v1/events:stream = %d", resp.StatusCode)
		}
		lines := bufio.NewScanner(resp.Body)
		lines.Buffer(nil, 1<<20)
		next := func() *eventlogv1.StreamEventsResponse {
			t.Helper()
			if !lines.Scan() {
				t.Fatalf("the stream ended: %v", lines.Err())
			}
			var chunk struct {
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			}
			if err := json.Unmarshal(lines.Bytes(), &chunk); err != nil || chunk.Result == nil {
				t.Fatalf("stream line %s: %v, want {\"result\": ...}", lines.Bytes(), err)
			}
			var item eventlogv1.StreamEventsResponse
			if err := protojson.Unmarshal(chunk.Result, &item); err != nil {
				t.Fatalf("stream line %s: %v", lines.Bytes(), err)
			}
			return &item
		}
		if hb := next().GetHeartbeat(); hb == nil || hb.GetLastId() != 2 {
			t.Errorf("first item is not a heartbeat at 2: %v", hb)
		}
		for _, want := range []int64{6, 8} { // bob's entries after 2
			if got := next().GetEvent(); got.GetId() != want {
				t.Errorf("replayed entry %d, want %d", got.GetId(), want)
			}
		}
		var live eventlogv1.LogEventResponse
		c.call("POST", "/v1/events", toProto(spec{eventlogv1.EventType_EVENT_TYPE_FETCH, "7", "bob", "Note", "n-1", ""}), &live)
		if got := next().GetEvent(); got.GetId() != live.GetEvent().GetId() {
			t.Errorf("live entry %d, want %d", got.GetId(), live.GetEvent().GetId())
		}
		cancel()
		line := findLine(t, accessLog, `"GET /v1/events:stream?actor=bob&after_id=2 HTTP/1.1" 200 `)
		if !strings.Contains(line, " - - [") {
			t.Errorf("stream access line %s", line)
		}
		// Bad input is refused before the stream starts, with the status
		// that its code maps to and the error in a line of its own.
		bad := c.do("GET", "/v1/events:stream?after_id=-1", nil)
		var chunk struct {
			Error struct {
				Code    codes.Code `json:"code"`
				Message string     `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(bad.body, &chunk); err != nil || bad.status != 400 || chunk.Error.Code != codes.InvalidArgument ||
			!strings.HasPrefix(chunk.Error.Message, "after_id:") {
			t.Errorf("GET /v1/events:stream?after_id=-1 = %d %s, want 400 and an INVALID_ARGUMENT error about after_id", bad.status, bad.body)
		}
		checkHTTPError(t, c.do("GET", "/v1/events:stream?page_size=1", nil), 400, codes.InvalidArgument, "page_size")
	})
}

// mustJSON decodes s, protobuf JSON, into a new M.
func mustJSON[M interface {
	proto.Message
	*T
}, T any](t *testing.T, s string) M {
	t.Helper()
	m := M(new(T))
	if err := protojson.Unmarshal([]byte(s), m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// checkHTTPError checks that resp is the JSON error status, with the gRPC
// code and, when field is given, a message starting with field and a
// BadRequest violation naming it.
func checkHTTPError(t *testing.T, resp httpResponse, status int, code codes.Code, field string) {
	t.Helper()
	var body struct {
		Code    codes.Code `json:"code"`
		Message string     `json:"message"`
		Details []struct {
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		t.Fatalf("status %d, body %q is not a JSON status: %v", resp.status, resp.body, err)
	}
	if resp.status != status || body.Code != code {
		t.Errorf("status %d code %v (%s), want %d %v", resp.status, body.Code, body.Message, status, code)
	}
	if body.Message == "" {
		t.Errorf("error without a message: %s", resp.body)
	}
	if field == "" {
		return
	}
	if !strings.HasPrefix(body.Message, field+":") {
		t.Errorf("message %q, want it to start with %q", body.Message, field+":")
	}
	for _, d := range body.Details {
		for _, v := range d.FieldViolations {
			if v.Field == field {
				return
			}
		}
	}
	t.Errorf("error %s has no BadRequest violation for %s", resp.body, field)
}

// grep returns the lines of the file at path that contain s.
func grep(t *testing.T, path, s string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// waitLines waits until n lines of the file at path contain s: an HTTP
// request's line is written when its handler returns, which may be after
// the client has the whole response.
func waitLines(t *testing.T, path, s string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := grep(t, path, s)
		if len(lines) >= n || time.Now().After(deadline) {
			if len(lines) != n {
				b, _ := os.ReadFile(path)
				t.Fatalf("%d lines of %s contain %s, want %d:\n%s", len(lines), path, s, n, b)
			}
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func findLine(t *testing.T, path, s string) string {
	t.Helper()
	lines := waitLines(t, path, s, 1)
	return lines[0]
}

var (
	maskTime     = regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\]`)
	maskDuration = regexp.MustCompile(`duration_ms=\d+\.\d{3}`)
	maskBytes    = regexp.MustCompile(`bytes=\d+`) // protojson varies its spacing
	maskVersion  = regexp.MustCompile(`grpc-go/[0-9][0-9A-Za-z.\-]*`)
)

// checkGolden compares an access-log line, its time, duration, size and
// gRPC version masked, with testdata/access/NAME.golden.
func checkGolden(t *testing.T, name, line string) {
	t.Helper()
	line = maskTime.ReplaceAllString(line, "[TIME]")
	line = maskDuration.ReplaceAllString(line, "duration_ms=DURATION")
	line = maskBytes.ReplaceAllString(line, "bytes=BYTES")
	line = maskVersion.ReplaceAllString(line, "grpc-go/VERSION")
	path := filepath.Join("testdata", "access", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestHTTPEndToEndSQLite -update to create it)", err)
	}
	if got := line + "\n"; got != string(want) {
		t.Errorf("access-log line %s:\n got %s\nwant %s", name, got, want)
	}
}

package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/gateway"
	"github.com/eventlog/eventlog/internal/inproc"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/server"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStore is an in-memory store for the real service: enough to accept
// writes and serve them back, never failing.
type memStore struct {
	mu     sync.Mutex
	events []eventlog.Event
	down   bool // Ping fails
}

func (s *memStore) Append(_ context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventlog.Written, len(writes))
	for i, w := range writes {
		e := w.Event
		e.ID = int64(len(s.events) + 1)
		e.Time = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
		prev := eventlog.GenesisHash
		if n := len(s.events); n > 0 {
			prev = s.events[n-1].Hash
		}
		eventlog.Seal(prev, &e)
		s.events = append(s.events, e)
		out[i] = eventlog.Written{Event: e}
	}
	return out, nil
}

func (s *memStore) ChildCount(context.Context, int64) (int64, error) { return 0, nil }

// Count counts every entry matching the filter, in buckets of q.Width, with
// no grouping.
func (s *memStore) Count(_ context.Context, q eventlog.CountQuery) ([]eventlog.Count, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventlog.Count
	for i := range s.events {
		e := &s.events[i]
		if !q.Filter.Match(e) {
			continue
		}
		start := e.Time.Truncate(q.Width)
		if n := len(out); n > 0 && out[n-1].Start.Equal(start) {
			out[n-1].N++
		} else {
			out = append(out, eventlog.Count{Start: start, N: 1})
		}
	}
	return out, nil
}

func (s *memStore) PutRelations(_ context.Context, rels []eventlog.Relation) (int, error) {
	return len(rels), nil
}

func (s *memStore) DeleteRelations(context.Context, []eventlog.Relation) (int, error) { return 0, nil }

func (s *memStore) ListRelations(context.Context, eventlog.RelationFilter, *eventlog.Relation, int) ([]eventlog.Relation, error) {
	return nil, nil
}

func (s *memStore) Head(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.events)), nil
}

func (s *memStore) ChainHead(context.Context) (eventlog.Head, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := eventlog.Head{LastID: int64(len(s.events)), LastHash: eventlog.GenesisHash, MaxID: int64(len(s.events))}
	if n := len(s.events); n > 0 {
		h.LastHash = s.events[n-1].Hash
	}
	return h, nil
}

func (s *memStore) ReadChain(_ context.Context, after, upTo int64, limit int) ([]eventlog.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventlog.Event
	for _, e := range s.events {
		if e.ID > after && e.ID <= upTo && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) Get(_ context.Context, id int64) (eventlog.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || id > int64(len(s.events)) {
		return eventlog.Event{}, fmt.Errorf("entry %d: %w", id, eventlog.ErrNotFound)
	}
	return s.events[id-1], nil
}

func (s *memStore) List(_ context.Context, _ eventlog.Filter, p eventlog.Page) ([]eventlog.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventlog.Event
	for i := range s.events {
		e := s.events[len(s.events)-1-i]
		if p.Ascending {
			e = s.events[i]
		}
		if p.Cursor != 0 && ((p.Ascending && e.ID <= p.Cursor) || (!p.Ascending && e.ID >= p.Cursor)) {
			continue
		}
		if len(out) == p.Limit {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *memStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	return nil
}

// newGateway serves svc on a gRPC server over an in-process listener and
// returns a gateway in front of it, configured by cfg (Conn is set here;
// Store defaults to an empty memStore).
func newGateway(t testing.TB, svc func(*grpc.Server), cfg gateway.Config) *gateway.Gateway {
	t.Helper()
	limit := int(cfg.MaxRequestBytes)
	if limit == 0 {
		limit = gateway.DefaultMaxRequestBytes
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(limit))
	svc(g)
	lis := inproc.Listen()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///inproc",
		grpc.WithContextDialer(lis.Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
		<-done
	})
	cfg.Conn = conn
	if cfg.Store == nil {
		cfg.Store = &memStore{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// realService registers the real service over st.
func realService(t testing.TB, st server.Store) func(*grpc.Server) {
	return func(g *grpc.Server) {
		srv := server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
		if err := srv.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.Register(g)
		t.Cleanup(srv.Close)
	}
}

// stubService answers GetEvent(id) for an id from 1 to 16 with the gRPC
// code of that number, and records the metadata of each call.
type stubService struct {
	eventlogv1.UnimplementedEventLogServiceServer
	mu    sync.Mutex
	calls []string
	md    metadata.MD
}

func (s *stubService) record(ctx context.Context, method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, method)
	s.md, _ = metadata.FromIncomingContext(ctx)
}

func (s *stubService) lastCall() (string, metadata.MD) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return "", nil
	}
	return s.calls[len(s.calls)-1], s.md
}

func (s *stubService) LogEvent(ctx context.Context, req *eventlogv1.LogEventRequest) (*eventlogv1.LogEventResponse, error) {
	s.record(ctx, "LogEvent")
	return &eventlogv1.LogEventResponse{Event: req.GetEvent()}, nil
}

func (s *stubService) LogEvents(ctx context.Context, req *eventlogv1.LogEventsRequest) (*eventlogv1.LogEventsResponse, error) {
	s.record(ctx, "LogEvents")
	return &eventlogv1.LogEventsResponse{}, nil
}

func (s *stubService) GetEvent(ctx context.Context, req *eventlogv1.GetEventRequest) (*eventlogv1.GetEventResponse, error) {
	s.record(ctx, "GetEvent")
	if id := req.GetId(); id >= 1 && id <= 16 {
		return nil, status.Errorf(codes.Code(id), "stub says %v", codes.Code(id))
	}
	return &eventlogv1.GetEventResponse{Event: &eventlogv1.Event{Id: req.GetId()}}, nil
}

func (s *stubService) ListEvents(ctx context.Context, req *eventlogv1.ListEventsRequest) (*eventlogv1.ListEventsResponse, error) {
	s.record(ctx, "ListEvents")
	return &eventlogv1.ListEventsResponse{NextPageToken: req.GetActor() + "|" + req.GetStartTime().AsTime().Format(time.RFC3339)}, nil
}

func (s *stubService) StreamEvents(req *eventlogv1.StreamEventsRequest, stream grpc.ServerStreamingServer[eventlogv1.StreamEventsResponse]) error {
	s.record(stream.Context(), "StreamEvents")
	if req.GetActor() == "fail" {
		return status.Error(codes.InvalidArgument, "actor: stub refuses")
	}
	for _, item := range []*eventlogv1.StreamEventsResponse{
		{Item: &eventlogv1.StreamEventsResponse_Heartbeat{Heartbeat: &eventlogv1.Heartbeat{LastId: req.GetAfterId()}}},
		{Item: &eventlogv1.StreamEventsResponse_Event{Event: &eventlogv1.Event{Id: req.GetAfterId() + 1}}},
	} {
		if err := stream.Send(item); err != nil {
			return err
		}
	}
	if req.GetActor() == "fail-later" {
		return status.Error(codes.Unavailable, "stub is shutting down")
	}
	return nil
}

func (s *stubService) PutRelations(ctx context.Context, req *eventlogv1.PutRelationsRequest) (*eventlogv1.PutRelationsResponse, error) {
	s.record(ctx, "PutRelations")
	return &eventlogv1.PutRelationsResponse{Created: int32(len(req.GetRelations()))}, nil
}

func (s *stubService) DeleteRelations(ctx context.Context, req *eventlogv1.DeleteRelationsRequest) (*eventlogv1.DeleteRelationsResponse, error) {
	s.record(ctx, "DeleteRelations")
	return &eventlogv1.DeleteRelationsResponse{}, nil
}

func (s *stubService) ListRelations(ctx context.Context, req *eventlogv1.ListRelationsRequest) (*eventlogv1.ListRelationsResponse, error) {
	s.record(ctx, "ListRelations")
	return &eventlogv1.ListRelationsResponse{Relations: []*eventlogv1.Relation{{From: req.GetFrom(), To: req.GetTo(), Kind: req.GetKind()}}}, nil
}

func (s *stubService) register(g *grpc.Server) { eventlogv1.RegisterEventLogServiceServer(g, s) }

// response is a gateway response: status, headers and the body.
type response struct {
	status int
	header http.Header
	body   string
}

func do(h http.Handler, method, target, body string, header ...string) response {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// rpcStatus is the JSON error body.
type rpcStatus struct {
	Code    codes.Code `json:"code"`
	Message string     `json:"message"`
	Details []struct {
		Type            string `json:"@type"`
		FieldViolations []struct {
			Field string `json:"field"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

func (r response) errorBody(t testing.TB) rpcStatus {
	t.Helper()
	var st rpcStatus
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("error body %q is not a JSON status: %v", r.body, err)
	}
	return st
}

func TestRoutes(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	tests := []struct {
		method, target, body string
		wantCall             string
	}{
		{"POST", "/v1/events", `{"event":{"objectId":"7"}}`, "LogEvent"},
		{"POST", "/v1/events:batchLog", `{"requests":[]}`, "LogEvents"},
		{"GET", "/v1/events/42", "", "GetEvent"},
		{"GET", "/v1/events?actor=alice", "", "ListEvents"},
		{"GET", "/v1/events:stream?after_id=5", "", "StreamEvents"},
		{"POST", "/v1/relations:batchPut", `{"relations":[{"from":{"contentType":"Note","objectId":"1"}}]}`, "PutRelations"},
		{"POST", "/v1/relations:batchDelete", `{"relations":[]}`, "DeleteRelations"},
		{"GET", "/v1/relations?from.content_type=Note&to.objectId=7&kind=links", "", "ListRelations"},
	}
	for _, tt := range tests {
		resp := do(gw, tt.method, tt.target, tt.body)
		if resp.status != http.StatusOK {
			t.Errorf("%s %s = %d %s, want 200", tt.method, tt.target, resp.status, resp.body)
		}
		if call, _ := stub.lastCall(); call != tt.wantCall {
			t.Errorf("%s %s called %s, want %s", tt.method, tt.target, call, tt.wantCall)
		}
		if ct := resp.header.Get("Content-Type"); ct != "application/json" && tt.wantCall != "StreamEvents" {
			t.Errorf("%s %s Content-Type = %q, want application/json", tt.method, tt.target, ct)
		}
	}
	if resp := do(gw, "GET", "/v1/events/42", ""); !strings.Contains(resp.body, `"id":"42"`) && !strings.Contains(resp.body, `"id": "42"`) {
		t.Errorf("GET /v1/events/42 = %s, want the id as a JSON string", resp.body)
	}
	var rels struct {
		Relations []struct {
			From struct{ ContentType string }
			To   struct{ ObjectID string }
			Kind string
		}
	}
	resp := do(gw, "GET", "/v1/relations?from.content_type=Note&to.objectId=7&kind=links", "")
	if err := json.Unmarshal([]byte(resp.body), &rels); err != nil || len(rels.Relations) != 1 ||
		rels.Relations[0].From.ContentType != "Note" || rels.Relations[0].To.ObjectID != "7" || rels.Relations[0].Kind != "links" {
		t.Errorf("GET /v1/relations with nested parameters = %s, want them passed on", resp.body)
	}
}

// A stream is newline-delimited JSON, one {"result": ...} per item, and an
// error after the first item is an {"error": ...} line.
func TestStream(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	for _, tt := range []struct {
		query      string
		wantStatus int
		wantLines  []string // each a substring of its line
	}{
		{"after_id=5", 200, []string{`{"result":{"heartbeat":{"lastId":"5"}}}`, `{"result":{"event":{"id":"6"}}}`}},
		{"after_id=5&actor=fail-later", 200, []string{`"heartbeat"`, `"event"`, `{"error":{"code":14,"message":"stub is shutting down"`}},
		{"actor=fail", 400, []string{`"code":3,"message":"actor: stub refuses"`}},
		{"afterId=x", 400, []string{`afterId: want an integer`}},
	} {
		resp := do(gw, "GET", "/v1/events:stream?"+tt.query, "")
		// protojson varies its spacing: compare without spaces.
		lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(resp.body, " ", "")), "\n")
		if resp.status != tt.wantStatus || len(lines) != len(tt.wantLines) {
			t.Errorf("GET /v1/events:stream?%s = %d %s, want %d and %d lines", tt.query, resp.status, resp.body, tt.wantStatus, len(tt.wantLines))
			continue
		}
		for i, want := range tt.wantLines {
			if !strings.Contains(lines[i], strings.ReplaceAll(want, " ", "")) {
				t.Errorf("GET /v1/events:stream?%s line %d = %s, want %s", tt.query, i, lines[i], want)
			}
		}
	}
}

func TestAuthorizationForwarded(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	resp := do(gw, "GET", "/v1/events/1000", "", "Authorization", "Bearer k-123", "User-Agent", "dash/2")
	if resp.status != http.StatusOK {
		t.Fatalf("status %d %s", resp.status, resp.body)
	}
	_, md := stub.lastCall()
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer k-123" {
		t.Errorf("the call's authorization metadata = %q, want [Bearer k-123]", got)
	}
	if got := md.Get("x-forwarded-for"); len(got) != 1 || got[0] != "192.0.2.1" {
		t.Errorf("the call's x-forwarded-for = %q, want the client's address", got)
	}
}

func TestErrorMapping(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	want := map[codes.Code]int{
		codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400, codes.DeadlineExceeded: 504,
		codes.NotFound: 404, codes.AlreadyExists: 409, codes.PermissionDenied: 403, codes.ResourceExhausted: 429,
		codes.FailedPrecondition: 400, codes.Aborted: 409, codes.OutOfRange: 400, codes.Unimplemented: 501,
		codes.Internal: 500, codes.Unavailable: 503, codes.DataLoss: 500, codes.Unauthenticated: 401,
	}
	for code, httpStatus := range want {
		resp := do(gw, "GET", fmt.Sprintf("/v1/events/%d", code), "")
		if resp.status != httpStatus {
			t.Errorf("%v: HTTP status %d, want %d", code, resp.status, httpStatus)
		}
		st := resp.errorBody(t)
		if st.Code != code || st.Message != "stub says "+code.String() {
			t.Errorf("%v: body %s, want code %d and the service's message", code, resp.body, code)
		}
	}
}

// The client errors the gateway finds itself, before any call.
func TestRequestErrors(t *testing.T) {
	st := &memStore{}
	gw := newGateway(t, realService(t, st), gateway.Config{MaxRequestBytes: 4 << 10})
	valid := `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"T","objectId":"1"}}`
	numbers := `{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"name":"a"},"contentType":"T","objectId":"1","details":{"n":[` +
		strings.Repeat("0,", 1500) + `0]}}}`
	tests := []struct {
		name           string
		method, target string
		body           string
		chunked        bool // no Content-Length: the limit is found while reading
		wantStatus     int
		wantCode       codes.Code
		wantMessage    string // a substring
		wantField      string // the BadRequest violation, when there is one
	}{
		{"NotJSON", "POST", "/v1/events", "event=1", false, 400, codes.InvalidArgument, "request body: syntax error", ""},
		{"Truncated", "POST", "/v1/events", `{"event":{`, false, 400, codes.InvalidArgument, "request body: unexpected EOF", ""},
		{"UnknownField", "POST", "/v1/events", `{"evnt":{}}`, false, 400, codes.InvalidArgument, `unknown field "evnt"`, ""},
		{"WrongType", "POST", "/v1/events", `{"event":{"contentType":5}}`, false, 400, codes.InvalidArgument, "invalid value for string field contentType", ""},
		{"WrongTypeInt64", "GET", "/v1/events/abc", "", false, 400, codes.InvalidArgument, "parameter: id", ""},
		{"BadTimestamp", "POST", "/v1/events", `{"event":{"occurredTime":"yesterday"}}`, false, 400, codes.InvalidArgument, "Timestamp", ""},
		{"TrailingData", "POST", "/v1/events", valid + ` {}`, false, 400, codes.InvalidArgument, "request body: syntax error", ""},
		{"NotAnObject", "POST", "/v1/events:batchLog", `[1,2]`, false, 400, codes.InvalidArgument, "request body", ""},
		{"EmptyBody", "POST", "/v1/events", "", false, 400, codes.InvalidArgument, "event: required", "event"},
		{"Validation", "POST", "/v1/events", `{"event":{"eventType":"EVENT_TYPE_EDIT","contentType":"T","objectId":"1"}}`, false, 400, codes.InvalidArgument, "event.actor", "event.actor"},
		{"TooLarge", "POST", "/v1/events", strings.Repeat(" ", 5<<10) + valid, false, 413, codes.ResourceExhausted, "request body too large: the limit is 4096 bytes", ""},
		{"TooLargeChunked", "POST", "/v1/events", strings.Repeat(" ", 5<<10) + valid, true, 413, codes.ResourceExhausted, "request body too large", ""},
		{"DecodesTooLarge", "POST", "/v1/events", numbers, false, 413, codes.ResourceExhausted, "over the limit of 4096 bytes", ""},
		{"NotFound", "GET", "/v1/events/99", "", false, 404, codes.NotFound, "not found", ""},
		{"NoRoute", "GET", "/v2/things", "", false, 404, codes.NotFound, "no route for GET /v2/things", ""},
		{"MethodNotAllowed", "DELETE", "/v1/events", "", false, 405, codes.Unimplemented, "DELETE is not allowed on /v1/events", ""},
		{"UnknownParam", "GET", "/v1/events?actr=alice", "", false, 400, codes.InvalidArgument, "actr: unknown query parameter; the parameters are event_type, actor,", "actr"},
		{"ParamOnBodyRoute", "POST", "/v1/events?event.object_id=1", valid, false, 400, codes.InvalidArgument, "takes no query parameters", "event.object_id"},
		{"ParamFromPath", "GET", "/v1/events/1?id=2", "", false, 400, codes.InvalidArgument, "id: set by the path", "id"},
		{"ParamTwice", "GET", "/v1/events?actor=a&actor=b", "", false, 400, codes.InvalidArgument, "actor: given 2 times", "actor"},
		{"ParamAliases", "GET", "/v1/events?page_size=1&pageSize=2", "", false, 400, codes.InvalidArgument, "given twice, as pageSize and as page_size", "page_size"},
		{"ParamNotInteger", "GET", "/v1/events?page_size=ten", "", false, 400, codes.InvalidArgument, `page_size: want an integer, got "ten"`, "page_size"},
		{"ParamOutOfRange", "GET", "/v1/events?page_size=99999999999", "", false, 400, codes.InvalidArgument, "out of range", "page_size"},
		{"ParamNotTime", "GET", "/v1/events?start_time=2026-01-01", "", false, 400, codes.InvalidArgument, "start_time: want an RFC 3339 time", "start_time"},
		{"ParamBadEscape", "GET", "/v1/events?actor=%zz", "", false, 400, codes.InvalidArgument, "query: invalid URL escape", ""},
		{"ParamNoName", "GET", "/v1/events?=x", "", false, 400, codes.InvalidArgument, "query: a parameter without a name", ""},
		{"NegativePageSize", "GET", "/v1/events?page_size=-1", "", false, 400, codes.InvalidArgument, "page_size:", "page_size"},
		{"BadPageToken", "GET", "/v1/events?page_token=xyz", "", false, 400, codes.InvalidArgument, "page_token:", "page_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length from NewRequest
				}
			}
			r := httptest.NewRequest(tt.method, tt.target, body)
			r.Header.Set("Content-Type", "application/json")
			if tt.chunked {
				r.ContentLength = -1
			}
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, r)
			resp := response{status: w.Code, header: w.Header(), body: w.Body.String()}
			if resp.status != tt.wantStatus {
				t.Errorf("status %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			st := resp.errorBody(t)
			if st.Code != tt.wantCode || !strings.Contains(st.Message, tt.wantMessage) {
				t.Errorf("error = %v %q, want %v and a message with %q", st.Code, st.Message, tt.wantCode, tt.wantMessage)
			}
			if tt.wantField != "" {
				var fields []string
				for _, d := range st.Details {
					for _, v := range d.FieldViolations {
						fields = append(fields, v.Field)
					}
				}
				if len(fields) != 1 || fields[0] != tt.wantField {
					t.Errorf("BadRequest fields = %q, want [%s]", fields, tt.wantField)
				}
			}
		})
	}
	if len(st.events) != 0 {
		t.Errorf("%d entries written by bad requests", len(st.events))
	}
}

func TestQueryParameters(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	for _, q := range []string{"actor=alice&start_time=2026-01-02T15:04:05Z", "actor=alice&startTime=2026-01-02T16:04:05%2B01:00"} {
		resp := do(gw, "GET", "/v1/events?"+q, "")
		var got struct {
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal([]byte(resp.body), &got); err != nil || got.NextPageToken != "alice|2026-01-02T15:04:05Z" {
			t.Errorf("GET /v1/events?%s reached the service as %q (%v), want actor alice and start 2026-01-02T15:04:05Z", q, got.NextPageToken, err)
		}
	}
}

// Every HTTP binding of the API has a query rule: a parameter it does not
// take is refused, whatever the route.
func TestEveryRouteChecksItsQuery(t *testing.T) {
	stub := &stubService{}
	gw := newGateway(t, stub.register, gateway.Config{})
	routes := map[string]string{
		"POST /v1/events":                 "takes no query parameters",
		"POST /v1/events:batchLog":        "takes no query parameters",
		"GET /v1/events/5":                "takes no query parameters",
		"GET /v1/events":                  "unknown query parameter",
		"GET /v1/events:stream":           "unknown query parameter",
		"GET /v1/events:count":            "unknown query parameter",
		"POST /v1/relations:batchPut":     "takes no query parameters",
		"POST /v1/relations:batchDelete":  "takes no query parameters",
		"GET /v1/relations":               "unknown query parameter; the parameters are from.content_type, from.object_id, to.content_type, to.object_id, kind,",
		"GET /v1/chain:verify":            "unknown query parameter",
		"GET /v1/checkpoint":              "takes no query parameters",
		"GET /v1/events/5:inclusionProof": "unknown query parameter; the parameters are tree_size",
		"GET /v1/tree:consistencyProof":   "unknown query parameter; the parameters are from_size, to_size",
	}
	methods := eventlogv1.File_eventlog_v1_eventlog_proto.Services().Get(0).Methods()
	if len(routes) != methods.Len() {
		t.Fatalf("%d routes tested, the service has %d methods: test the new ones", len(routes), methods.Len())
	}
	for route, want := range routes {
		method, path, _ := strings.Cut(route, " ")
		resp := do(gw, method, path+"?bogus=1", "{}")
		if st := resp.errorBody(t); resp.status != 400 || !strings.Contains(st.Message, want) {
			t.Errorf("%s?bogus=1 = %d %q, want 400 saying %q", route, resp.status, st.Message, want)
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	st := &memStore{}
	var logBuf bytes.Buffer
	gw := newGateway(t, (&stubService{}).register, gateway.Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp := do(gw, "GET", path, ""); resp.status != 200 || resp.body != "ok\n" {
			t.Errorf("GET %s = %d %q, want 200 ok", path, resp.status, resp.body)
		}
	}
	st.down = true
	resp := do(gw, "GET", "/readyz", "")
	if resp.status != http.StatusServiceUnavailable || strings.Contains(resp.body, "10.0.0.5") {
		t.Errorf("GET /readyz with the store down = %d %q, want 503 without the cause", resp.status, resp.body)
	}
	if !strings.Contains(logBuf.String(), "10.0.0.5") {
		t.Errorf("the log does not have the cause of the failed check:\n%s", logBuf.String())
	}
	if resp := do(gw, "GET", "/healthz", ""); resp.status != 200 {
		t.Errorf("GET /healthz with the store down = %d, want 200: the process is up", resp.status)
	}
}

func TestOpenAPI(t *testing.T) {
	gw := newGateway(t, (&stubService{}).register, gateway.Config{})
	resp := do(gw, "GET", "/openapi.json", "")
	if resp.status != 200 || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %s", resp.status, resp.header.Get("Content-Type"))
	}
	var doc struct {
		Swagger string                                `json:"swagger"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(resp.body), &doc); err != nil {
		t.Fatal(err)
	}
	for path, method := range map[string]string{"/v1/events": "post", "/v1/events:batchLog": "post", "/v1/events/{id}": "get"} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("the OpenAPI description has no %s %s", method, path)
		}
	}
	if _, ok := doc.Paths["/v1/events"]["get"]; !ok {
		t.Errorf("the OpenAPI description has no get /v1/events")
	}
}

// The description carries the server's version; the generator writes a
// placeholder.
func TestOpenAPIVersion(t *testing.T) {
	for _, tt := range []struct{ version, want string }{
		{"", "version not set"},
		{"v1.2.3", "v1.2.3"},
		{"v0.0.0-20261127170723-287006d1a2b3+dirty", "v0.0.0-20261127170723-287006d1a2b3+dirty"},
	} {
		gw := newGateway(t, (&stubService{}).register, gateway.Config{Version: tt.version})
		resp := do(gw, "GET", "/openapi.json", "")
		var doc struct {
			Info  struct{ Title, Version string } `json:"info"`
			Paths map[string]json.RawMessage      `json:"paths"`
		}
		if err := json.Unmarshal([]byte(resp.body), &doc); err != nil {
			t.Fatalf("Version %q: GET /openapi.json: %v", tt.version, err)
		}
		if doc.Info.Version != tt.want || doc.Info.Title != "eventlog/v1/eventlog.proto" || len(doc.Paths) < 5 {
			t.Errorf("Version %q: the description has info %+v and %d paths, want version %q, the generated title and every path",
				tt.version, doc.Info, len(doc.Paths), tt.want)
		}
	}
}

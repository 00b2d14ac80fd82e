package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// testServer is the real binary's run("serve", ...) on port 0.
type testServer struct {
	addr   string // gRPC
	http   string // base URL of the REST API, "" when HTTP is off
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

// syncBuffer collects the server's log and reports the addresses it
// listens on. The server logs its HTTP address before its gRPC one.
type syncBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	addr     chan string
	httpAddr string
}

// The lines that give the addresses, in the text and the JSON log formats.
var (
	listenRE     = regexp.MustCompile(`msg="serving gRPC" addr=(\S+)|"msg":"serving gRPC","addr":"([^"]+)"`)
	listenHTTPRE = regexp.MustCompile(`msg="serving HTTP" addr=(\S+)|"msg":"serving HTTP","addr":"([^"]+)"`)
)

// addrIn returns the address that re finds in p, or "".
func addrIn(re *regexp.Regexp, p []byte) string {
	m := re.FindSubmatch(p)
	if m == nil {
		return ""
	}
	return string(m[1]) + string(m[2])
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if a := addrIn(listenHTTPRE, p); a != "" {
		b.httpAddr = a
	}
	if a := addrIn(listenRE, p); a != "" {
		select {
		case b.addr <- a:
		default:
		}
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs "eventlog serve" on db with gRPC and HTTP on port 0 and
// the flags in args after those, and waits until it listens.
func startServer(t testing.TB, db string, args ...string) *testServer {
	t.Helper()
	return startServerEnv(t, db, func(string) string { return "" }, args...)
}

// startServerEnv is startServer with the environment getenv.
func startServerEnv(t testing.TB, db string, getenv func(string) string, args ...string) *testServer {
	t.Helper()
	args = append([]string{"serve", "--db", db, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, args...)
	return startWith(t, func(ctx context.Context, logs io.Writer) error {
		return run(ctx, args, getenv, strings.NewReader(""), io.Discard, logs)
	})
}

// startWith runs serve by calling start, which must log to logs, and waits
// until it listens.
func startWith(t testing.TB, start func(ctx context.Context, logs io.Writer) error) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{addr: make(chan string, 1)}}
	go func() { ts.done <- start(ctx, ts.logs) }()
	select {
	case ts.addr = <-ts.logs.addr:
		ts.logs.mu.Lock()
		if ts.logs.httpAddr != "" {
			ts.http = "http://" + ts.logs.httpAddr
		}
		ts.logs.mu.Unlock()
	case err := <-ts.done:
		cancel()
		t.Fatalf("serve ended before listening: %v\nlog:\n%s", err, ts.logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not start listening within 60s\nlog:\n%s", ts.logs)
	}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down as SIGTERM does and checks that it ends cleanly.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown\nlog:\n%s", err, ts.logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not stop within 30s")
	}
}

func (ts *testServer) conn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// cli runs a client command of the binary against the server.
func (ts *testServer) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "EVENTLOG_SERVER" {
			return ts.addr
		}
		return ""
	}
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func details(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEvent(typ eventlogv1.EventType, actor, contentType, objectID string) *eventlogv1.Event {
	return &eventlogv1.Event{
		EventType:   typ,
		Actor:       &eventlogv1.Actor{Id: "id-" + actor, Name: actor, Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
		ContentType: contentType,
		ObjectId:    objectID,
	}
}

func TestEndToEndSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "e2e.db")
	testEndToEnd(t, db)
}

func TestEndToEndPostgres(t *testing.T) {
	testEndToEnd(t, pgtest.NewDB(t, pgtest.URL(t)))
}

func testEndToEnd(t *testing.T, db string) {
	ts := startServer(t, db)
	cc := ts.conn(t)
	c := eventlogv1.NewEventLogServiceClient(cc)
	ctx := context.Background()

	t.Run("Health", func(t *testing.T) {
		for _, svc := range []string{"", "eventlog.v1.EventLogService"} {
			resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Health.Check(%q) = %v, %v; want SERVING", svc, resp.GetStatus(), err)
			}
		}
	})

	t.Run("Reflection", func(t *testing.T) {
		stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.CloseSend()
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		if !strings.Contains(strings.Join(names, ","), "eventlog.v1.EventLogService") {
			t.Errorf("reflection lists %v, want eventlog.v1.EventLogService among them", names)
		}
	})

	var first *eventlogv1.Event
	t.Run("LogGetList", func(t *testing.T) {
		in := newEvent(eventlogv1.EventType_EVENT_TYPE_CREATE, "alice", "Entry", "42")
		in.ObjectRepr = "Phishing campaign"
		in.Details = details(t, map[string]any{"field": "name", "n": 3})
		in.Id, in.SourceId = 777, 555 // output only: ignored
		resp, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: in, IdempotencyKey: "e2e-1"})
		if err != nil {
			t.Fatalf("LogEvent error = %v", err)
		}
		first = resp.GetEvent()
		if first.GetId() != 1 || first.GetSourceId() != 0 || len(first.GetHash()) != 32 || len(first.GetPrevHash()) != 32 || first.GetTime() == nil {
			t.Errorf("LogEvent = %v, want id 1, source 0, 32-byte hashes and a time", first)
		}
		got, err := c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: first.GetId()})
		if err != nil {
			t.Fatalf("GetEvent error = %v", err)
		}
		if diff := cmp.Diff(first, got.GetEvent(), protocmp.Transform()); diff != "" {
			t.Errorf("GetEvent (-logged +got):\n%s", diff)
		}
		list, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{EventType: "create", Actor: "ALICE", ContentType: "entry"})
		if err != nil {
			t.Fatalf("ListEvents error = %v", err)
		}
		if diff := cmp.Diff([]*eventlogv1.Event{first}, list.GetEvents(), protocmp.Transform()); diff != "" {
			t.Errorf("ListEvents (-want +got):\n%s", diff)
		}
		// A retry with the same key returns the first entry, not a new one.
		again, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: in, IdempotencyKey: "e2e-1"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again.GetEvent(), protocmp.Transform()); diff != "" {
			t.Errorf("retried LogEvent (-first +retry):\n%s", diff)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		var reqs []*eventlogv1.LogEventRequest
		for i := range 5 {
			reqs = append(reqs, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "bob", "Note", fmt.Sprint(i))})
		}
		resp, err := c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: reqs})
		if err != nil {
			t.Fatalf("LogEvents error = %v", err)
		}
		for i, r := range resp.GetResponses() {
			if r.GetEvent().GetObjectId() != fmt.Sprint(i) || r.GetEvent().GetId() != int64(2+i) {
				t.Errorf("response %d = id %d object %q, want id %d object %d", i, r.GetEvent().GetId(), r.GetEvent().GetObjectId(), 2+i, i)
			}
		}
		// One bad entry fails the whole batch and writes nothing.
		reqs[3].Event.ContentType = ""
		_, err = c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: reqs})
		checkInvalid(t, err, "requests[3].event.content_type")
		list, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{ContentType: "note"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.GetEvents()); n != 5 {
			t.Errorf("after a rejected batch, %d notes are listed, want 5", n)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: 999999})
		if status.Code(err) != codes.NotFound {
			t.Errorf("GetEvent(999999) error = %v, want NotFound", err)
		}
		_, err = c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: -1})
		checkInvalid(t, err, "id")
		_, err = c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(0, "a", "T", "1")})
		checkInvalid(t, err, "event.event_type")
		_, err = c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{EventType: 1, ContentType: "T", ObjectId: "1"}})
		checkInvalid(t, err, "event.actor")
		big := newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "a", "T", "1")
		big.Details = details(t, map[string]any{"blob": strings.Repeat("x", 70<<10)})
		_, err = c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: big})
		checkInvalid(t, err, "event.details")
		_, err = c.ListEvents(ctx, &eventlogv1.ListEventsRequest{PageSize: -1})
		checkInvalid(t, err, "page_size")
		_, err = c.ListEvents(ctx, &eventlogv1.ListEventsRequest{PageToken: "garbage!"})
		checkInvalid(t, err, "page_token")
		_, err = c.ListEvents(ctx, &eventlogv1.ListEventsRequest{EventType: "explode"})
		checkInvalid(t, err, "event_type")
	})

	t.Run("Pages", func(t *testing.T) {
		var got []int64
		req := &eventlogv1.ListEventsRequest{PageSize: 2, OrderBy: "id asc"}
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("more than 10 pages for 6 entries")
			}
			resp, err := c.ListEvents(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range resp.GetEvents() {
				got = append(got, e.GetId())
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 6}, got); diff != "" {
			t.Errorf("ids over pages (-want +got):\n%s", diff)
		}
		// A token only works with the filters it was issued for.
		resp, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListEvents(ctx, &eventlogv1.ListEventsRequest{PageSize: 2, Actor: "bob", PageToken: resp.GetNextPageToken()})
		checkInvalid(t, err, "page_token")
	})

	t.Run("ConcurrentWritesGroupCommit", func(t *testing.T) {
		const n = 200
		var wg sync.WaitGroup
		ids := make(chan int64, n)
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{
					Event: newEvent(eventlogv1.EventType_EVENT_TYPE_FETCH, "load", "Load", fmt.Sprint(i)),
				})
				if err != nil {
					errs <- err
					return
				}
				ids <- resp.GetEvent().GetId()
			}()
		}
		wg.Wait()
		close(ids)
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent LogEvent: %v", err)
		}
		seen := map[int64]bool{}
		for id := range ids {
			if seen[id] {
				t.Errorf("id %d returned twice", id)
			}
			seen[id] = true
		}
		list, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{Actor: "load", PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetEvents()) != n {
			t.Errorf("%d entries listed after %d acknowledged writes", len(list.GetEvents()), n)
		}
		for _, e := range list.GetEvents() {
			if !seen[e.GetId()] {
				t.Errorf("listed id %d was never acknowledged", e.GetId())
			}
		}
	})

	t.Run("CLI", func(t *testing.T) {
		out, err := ts.cli(t, "log", "--type", "edit", "--actor", "carol", "--object", "Entry/42",
			"--details", `{"changed":"title"}`, "--idempotency-key", "cli-1")
		if err != nil {
			t.Fatalf("eventlog log: %v\n%s", err, out)
		}
		if !strings.Contains(out, `"actor":{"name":"carol"`) || !strings.Contains(out, `"changed":"title"`) {
			t.Errorf("eventlog log printed %s, want the stored entry as JSON", out)
		}
		out, err = ts.cli(t, "list", "--actor", "CAROL", "--format", "nginx")
		if err != nil {
			t.Fatalf("eventlog list: %v\n%s", err, out)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], " - carol [") || !strings.Contains(lines[0], "EDIT Entry/42") {
			t.Errorf("eventlog list --format nginx printed %q, want one line for carol's edit of Entry/42", out)
		}
		out, err = ts.cli(t, "list", "--all", "--limit", "3", "--content-type", "load")
		if err != nil {
			t.Fatalf("eventlog list --all: %v\n%s", err, out)
		}
		if n := strings.Count(out, "\n"); n != 200 {
			t.Errorf("eventlog list --all --limit 3 printed %d lines, want 200", n)
		}
		out, err = ts.cli(t, "get", "1")
		if err != nil || !strings.Contains(out, `"objectRepr":"Phishing campaign"`) {
			t.Errorf("eventlog get 1 = %q, %v; want entry 1", out, err)
		}
		out, err = ts.cli(t, "get", "424242")
		if err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("eventlog get 424242 = %q, %v; want a NotFound error", out, err)
		}
	})

	t.Run("Propagation", func(t *testing.T) {
		out, err := ts.cli(t, "relate", "Note/n1", "Entity/e1", "--kind", "links")
		if err != nil || !strings.Contains(out, "1 relations registered, 1 new") {
			t.Fatalf("eventlog relate = %q, %v", out, err)
		}
		_, err = c.PutRelations(ctx, &eventlogv1.PutRelationsRequest{Relations: []*eventlogv1.Relation{
			{From: &eventlogv1.ObjectRef{ContentType: "Note", ObjectId: "n1"}, To: &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "e2"}},
			{From: &eventlogv1.ObjectRef{ContentType: "Note", ObjectId: "n1"}, To: &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "e1"}, Kind: "links"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{
			Event:   newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "dave", "Note", "n1"),
			Related: []*eventlogv1.ObjectRef{{ContentType: "Artifact", ObjectId: "a1"}},
		})
		if err != nil {
			t.Fatalf("LogEvent with relations: %v", err)
		}
		src := resp.GetEvent()
		var got []string
		for i, ch := range resp.GetChildren() {
			got = append(got, ch.GetContentType()+"/"+ch.GetObjectId())
			if ch.GetId() != src.GetId()+1+int64(i) || ch.GetSourceId() != src.GetId() || ch.GetEventType() != eventlogv1.EventType_EVENT_TYPE_EDIT {
				t.Errorf("child %d = %v, want an EDIT with id %d propagated from %d", i, ch, src.GetId()+1+int64(i), src.GetId())
			}
		}
		if diff := cmp.Diff([]string{"Artifact/a1", "Entity/e1", "Entity/e2"}, got); diff != "" {
			t.Errorf("children (-want +got):\n%s", diff)
		}
		g, err := c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: src.GetId()})
		if err != nil || g.GetChildCount() != 3 {
			t.Errorf("GetEvent(source).child_count = %d, %v; want 3", g.GetChildCount(), err)
		}
		sid := src.GetId()
		list, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{SourceId: &sid, OrderBy: "id asc"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(resp.GetChildren(), list.GetEvents(), protocmp.Transform()); diff != "" {
			t.Errorf("ListEvents(source_id) (-returned +listed):\n%s", diff)
		}
		out, err = ts.cli(t, "relations", "--from", "note/n1")
		if want := "Note/n1 -> Entity/e1 [links]\nNote/n1 -> Entity/e2\n"; err != nil || out != want {
			t.Errorf("eventlog relations = %q, %v; want %q", out, err, want)
		}
		out, err = ts.cli(t, "unrelate", "Note/n1", "Entity/e1", "--kind", "links")
		if err != nil || !strings.Contains(out, "1 relations removed") {
			t.Errorf("eventlog unrelate = %q, %v", out, err)
		}
		// A fetch never propagates; a bad related object is named.
		f, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_FETCH, "dave", "Note", "n1")})
		if err != nil || len(f.GetChildren()) != 0 {
			t.Errorf("fetch: %d children, %v; want none", len(f.GetChildren()), err)
		}
		_, err = c.LogEvent(ctx, &eventlogv1.LogEventRequest{
			Event:   newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "dave", "Note", "n1"),
			Related: []*eventlogv1.ObjectRef{{ContentType: "Artifact"}},
		})
		checkInvalid(t, err, "related[0].object_id")
		_, err = c.PutRelations(ctx, &eventlogv1.PutRelationsRequest{})
		checkInvalid(t, err, "relations")
	})

	// A restarted server keeps the log and its idempotency keys.
	ts.stop(t)
	ts2 := startServer(t, db)
	c2 := eventlogv1.NewEventLogServiceClient(ts2.conn(t))
	same := newEvent(eventlogv1.EventType_EVENT_TYPE_CREATE, "alice", "Entry", "42")
	same.ObjectRepr = "Phishing campaign"
	same.Details = details(t, map[string]any{"n": 3, "field": "name"})
	again, err := c2.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: same, IdempotencyKey: "e2e-1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again.GetEvent(), protocmp.Transform()); diff != "" {
		t.Errorf("after restart, a retry with the same key (-first +retry):\n%s", diff)
	}
	// The key with another request is refused, naming the key and entry.
	_, err = c2.LogEvent(ctx, &eventlogv1.LogEventRequest{
		Event:          newEvent(eventlogv1.EventType_EVENT_TYPE_DELETE, "x", "Other", "9"),
		IdempotencyKey: "e2e-1",
	})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(err.Error(), `idempotency_key "e2e-1" already holds entry 1`) {
		t.Errorf("after restart, the key with another request: %v, want ALREADY_EXISTS naming the key and entry 1", err)
	}
	if !strings.Contains(ts.logs.String(), "stopped") {
		t.Errorf("the first server's log does not say it stopped:\n%s", ts.logs)
	}
	scanner := bufio.NewScanner(strings.NewReader(ts.logs.String()))
	for scanner.Scan() {
		if strings.Contains(scanner.Text(), "level=ERROR") {
			t.Errorf("server logged an error: %s", scanner.Text())
		}
	}
}

// checkInvalid checks that err is INVALID_ARGUMENT about field, in the
// message and in a BadRequest detail.
func checkInvalid(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Errorf("error = %v, want InvalidArgument about %s", err, field)
		return
	}
	if !strings.HasPrefix(st.Message(), field+":") {
		t.Errorf("message = %q, want it to start with %q", st.Message(), field+":")
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Errorf("error %v has no BadRequest violation for %s", err, field)
}

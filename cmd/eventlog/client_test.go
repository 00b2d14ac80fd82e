package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// testEnv returns an env with the given environment and captured output.
func testEnv(vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &env{
		getenv: func(k string) string { return vars[k] },
		stdin:  strings.NewReader(""),
		stdout: &stdout,
		stderr: &stderr,
	}, &stdout, &stderr
}

// wantUsageError checks that err is a usage error mentioning every one of
// want.
func wantUsageError(t *testing.T, call string, err error, want ...string) {
	t.Helper()
	var u *usageError
	if !errors.As(err, &u) {
		t.Fatalf("%s = %v, want a usage error", call, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s = %q, want it to mention %q", call, err, w)
		}
	}
}

func TestSplitObject(t *testing.T) {
	tests := []struct {
		in               string
		wantType, wantID string
		wantErr          bool
	}{
		{in: "Entry/42", wantType: "Entry", wantID: "42"},
		{in: "File/a/b/c", wantType: "File", wantID: "a/b/c"},
		{in: "Entry//x", wantType: "Entry", wantID: "/x"},
		{in: "Entry/ 4 2", wantType: "Entry", wantID: " 4 2"},
		{in: "Entry", wantErr: true},
		{in: "Entry/", wantErr: true},
		{in: "/42", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		typ, id, err := splitObject("object", tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("splitObject(%q) = %q, %q, want an error", tt.in, typ, id)
			} else {
				wantUsageError(t, fmt.Sprintf("splitObject(%q)", tt.in), err, "--object", "TYPE/ID")
			}
			continue
		}
		if err != nil || typ != tt.wantType || id != tt.wantID {
			t.Errorf("splitObject(%q) = %q, %q, %v, want %q, %q", tt.in, typ, id, err, tt.wantType, tt.wantID)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"log", "get", "list"} {
		for _, h := range []string{"--help", "-h"} {
			t.Run(cmd+h, func(t *testing.T) {
				e, stdout, stderr := testEnv(nil)
				err := run(context.Background(), []string{cmd, h}, e.getenv, e.stdin, e.stdout, e.stderr)
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("eventlog %s %s = %v, want flag.ErrHelp", cmd, h, err)
				}
				help := stderr.String()
				for _, want := range []string{"Usage:", "eventlog " + cmd, "Example:", "  eventlog " + cmd + " ", "-server", "-timeout", "-format"} {
					if !strings.Contains(help, want) {
						t.Errorf("eventlog %s %s printed\n%s\nwant it to contain %q", cmd, h, help, want)
					}
				}
				if stdout.Len() != 0 {
					t.Errorf("eventlog %s %s printed %q to stdout, want nothing", cmd, h, stdout)
				}
			})
		}
	}
}

func TestUnknownFlag(t *testing.T) {
	e, _, stderr := testEnv(nil)
	_, _, err := parseLog(e, []string{"--type", "edit", "--nope"})
	wantUsageError(t, "parseLog(--nope)", err, "-nope", "eventlog log --help")
	if stderr.Len() != 0 {
		t.Errorf("parseLog(--nope) printed %q, want nothing (main reports the error)", stderr)
	}
}

func TestServerAddress(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, nil, "127.0.0.1:50051"},
		{"environment", map[string]string{"EVENTLOG_SERVER": "db.example:9000"}, nil, "db.example:9000"},
		{"flag beats environment", map[string]string{"EVENTLOG_SERVER": "db.example:9000"}, []string{"--server", "localhost:1"}, "localhost:1"},
		{"flag", nil, []string{"--server=localhost:2"}, "localhost:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(tt.env)
			_, o, err := parseGet(e, append([]string{"7"}, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			if o.server != tt.want {
				t.Errorf("parseGet(%q) with env %v: server %q, want %q", tt.args, tt.env, o.server, tt.want)
			}
			if o.timeout != 10*time.Second {
				t.Errorf("parseGet(%q): timeout %v, want 10s", tt.args, o.timeout)
			}
		})
	}
}

func TestParseLog(t *testing.T) {
	details, err := structpb.NewStruct(map[string]any{"field": "name", "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want *eventlogv1.LogEventRequest
	}{
		{
			name: "minimal",
			args: []string{"--type", "edit", "--actor", "alice", "--object", "Entry/42"},
			want: &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{
				EventType:   eventlogv1.EventType_EVENT_TYPE_EDIT,
				Actor:       &eventlogv1.Actor{Name: "alice"},
				ContentType: "Entry", ObjectId: "42",
			}},
		},
		{
			name: "everything",
			args: []string{
				"--type", "LOGIN_FAILED", "--actor", "alice", "--actor-id", "42", "--actor-kind", "user",
				"--object", "File/a/b", "--repr", "Foo", "--details", `{"field": "name", "n": 3}`,
				"--idempotency-key", "K", "--occurred", "2026-01-02T15:04:05.5+01:00",
			},
			want: &eventlogv1.LogEventRequest{
				Event: &eventlogv1.Event{
					EventType:    eventlogv1.EventType_EVENT_TYPE_LOGIN_FAILED,
					Actor:        &eventlogv1.Actor{Id: "42", Name: "alice", Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
					ContentType:  "File",
					ObjectId:     "a/b",
					ObjectRepr:   "Foo",
					Details:      details,
					OccurredTime: timestamppb.New(time.Date(2026, 1, 2, 14, 4, 5, 500000000, time.UTC)),
				},
				IdempotencyKey: "K",
			},
		},
		{
			name: "actor id only, service",
			args: []string{"--type=create", "--actor-id=svc-1", "--actor-kind=SERVICE", "--object=Job/9"},
			want: &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{
				EventType:   eventlogv1.EventType_EVENT_TYPE_CREATE,
				Actor:       &eventlogv1.Actor{Id: "svc-1", Kind: eventlogv1.ActorKind_ACTOR_KIND_SERVICE},
				ContentType: "Job", ObjectId: "9",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(nil)
			got, _, err := parseLog(e, tt.args)
			if err != nil {
				t.Fatalf("parseLog(%q) = %v", tt.args, err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("parseLog(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseLogErrors(t *testing.T) {
	valid := []string{"--type", "edit", "--actor", "alice", "--object", "Entry/42"}
	with := func(extra ...string) []string { return append(append([]string(nil), valid...), extra...) }
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing type", []string{"--actor", "alice", "--object", "Entry/42"}, []string{"--type", "required"}},
		{"unknown type", with("--type", "update"), []string{"--type", "update"}},
		{"missing actor", []string{"--type", "edit", "--object", "Entry/42"}, []string{"--actor", "required"}},
		{"missing object", []string{"--type", "edit", "--actor", "alice"}, []string{"--object", "required"}},
		{"object without id", with("--object", "Entry"), []string{"--object", "TYPE/ID"}},
		{"bad actor kind", with("--actor-kind", "robot"), []string{"--actor-kind", "robot"}},
		{"details not JSON", with("--details", `{"field":`), []string{"--details", "JSON"}},
		{"details an array", with("--details", `[1, 2]`), []string{"--details", "object"}},
		{"details null", with("--details", `null`), []string{"--details", "object"}},
		{"details trailing data", with("--details", `{} {}`), []string{"--details"}},
		{"bad occurred", with("--occurred", "yesterday"), []string{"--occurred", "RFC 3339"}},
		{"bad format", with("--format", "xml"), []string{"--format", "xml"}},
		{"negative timeout", with("--timeout", "-1s"), []string{"--timeout"}},
		{"empty server", with("--server", ""), []string{"--server"}},
		{"positional argument", with("extra"), []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(nil)
			_, _, err := parseLog(e, tt.args)
			wantUsageError(t, fmt.Sprintf("parseLog(%q)", tt.args), err, tt.want...)
		})
	}
}

func TestParseGet(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int64
		wantFormat string
		wantErr    []string
	}{
		{name: "id", args: []string{"17"}, want: 17, wantFormat: "json"},
		{name: "flags after the id", args: []string{"17", "--format", "nginx"}, want: 17, wantFormat: "nginx"},
		{name: "flags before the id", args: []string{"--format=nginx", "18"}, want: 18, wantFormat: "nginx"},
		{name: "after --", args: []string{"--", "19"}, want: 19, wantFormat: "json"},
		{name: "missing", args: nil, wantErr: []string{"ID"}},
		{name: "two", args: []string{"1", "2"}, wantErr: []string{"one ID"}},
		{name: "not a number", args: []string{"abc"}, wantErr: []string{"ID", "abc"}},
		{name: "zero", args: []string{"0"}, wantErr: []string{"positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(nil)
			got, o, err := parseGet(e, tt.args)
			if tt.wantErr != nil {
				wantUsageError(t, fmt.Sprintf("parseGet(%q)", tt.args), err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatalf("parseGet(%q) = %v", tt.args, err)
			}
			if got.GetId() != tt.want || o.format != tt.wantFormat {
				t.Errorf("parseGet(%q) = id %d, format %q, want %d, %q", tt.args, got.GetId(), o.format, tt.want, tt.wantFormat)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	zero := int64(0)
	twelve := int64(12)
	tests := []struct {
		name    string
		args    []string
		want    *eventlogv1.ListEventsRequest
		wantAll bool
	}{
		{
			name: "defaults",
			want: &eventlogv1.ListEventsRequest{OrderBy: "id desc"},
		},
		{
			name: "filters",
			args: []string{
				"--type", "edit", "--actor", "alice", "--content-type", "Entry", "--object-id", "42",
				"--source-id", "12", "--since", "2026-01-01T00:00:00Z", "--until", "2026-02-01T00:00:00Z",
				"--limit", "10", "--page-token", "abc", "--order", "asc", "--all",
			},
			want: &eventlogv1.ListEventsRequest{
				EventType: "EDIT", Actor: "alice", ContentType: "Entry", ObjectId: "42",
				SourceId:  &twelve,
				StartTime: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				EndTime:   timestamppb.New(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)),
				PageSize:  10, PageToken: "abc", OrderBy: "id asc",
			},
			wantAll: true,
		},
		{
			name: "object shorthand",
			args: []string{"--object", "File/a/b"},
			want: &eventlogv1.ListEventsRequest{ContentType: "File", ObjectId: "a/b", OrderBy: "id desc"},
		},
		{
			name: "source id 0 selects originals",
			args: []string{"--source-id=0"},
			want: &eventlogv1.ListEventsRequest{SourceId: &zero, OrderBy: "id desc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(nil)
			got, o, err := parseList(e, tt.args)
			if err != nil {
				t.Fatalf("parseList(%q) = %v", tt.args, err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("parseList(%q) = %v, want %v", tt.args, got, tt.want)
			}
			if o.all != tt.wantAll {
				t.Errorf("parseList(%q): all = %v, want %v", tt.args, o.all, tt.wantAll)
			}
		})
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown type", []string{"--type", "nope"}, []string{"--type"}},
		{"object and content type", []string{"--object", "Entry/1", "--content-type", "Entry"}, []string{"--object", "--content-type"}},
		{"bad object", []string{"--object", "Entry"}, []string{"--object", "TYPE/ID"}},
		{"negative source id", []string{"--source-id", "-1"}, []string{"--source-id"}},
		{"bad since", []string{"--since", "2026-01-01"}, []string{"--since", "RFC 3339"}},
		{"bad until", []string{"--until", "now"}, []string{"--until"}},
		{"until before since", []string{"--since", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z"}, []string{"--until", "--since"}},
		{"negative limit", []string{"--limit", "-5"}, []string{"--limit"}},
		{"bad order", []string{"--order", "sideways"}, []string{"--order", "sideways"}},
		{"positional argument", []string{"Entry"}, []string{"Entry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(nil)
			_, _, err := parseList(e, tt.args)
			wantUsageError(t, fmt.Sprintf("parseList(%q)", tt.args), err, tt.want...)
		})
	}
}

// sampleEvent is a stored entry as the server returns it.
func sampleEvent(t *testing.T) *eventlogv1.Event {
	t.Helper()
	details, err := structpb.NewStruct(map[string]any{"field": "name"})
	if err != nil {
		t.Fatal(err)
	}
	return &eventlogv1.Event{
		Id:           17,
		Time:         timestamppb.New(time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.UTC)),
		OccurredTime: timestamppb.New(time.Date(2026, 1, 2, 15, 4, 4, 0, time.UTC)),
		EventType:    eventlogv1.EventType_EVENT_TYPE_EDIT,
		Actor:        &eventlogv1.Actor{Id: "42", Name: "alice", Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
		ContentType:  "Entry",
		ObjectId:     "42",
		ObjectRepr:   `Foo "bar"`,
		Details:      details,
		SourceId:     12,
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/entries/42", Protocol: "HTTP/1.1",
			Status: 200, UserAgent: "curl/8.5.0\n", RequestId: "r-1",
		},
		IdempotencyKey: "K",
		Hash:           []byte{1, 2},
		PrevHash:       []byte{3, 4},
	}
}

func TestFromProtoEvent(t *testing.T) {
	got, err := protomap.EventFromProto(sampleEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	want := eventlog.Event{
		ID:           17,
		Time:         time.Date(2026, 1, 2, 15, 4, 5, 123456000, time.UTC),
		OccurredTime: time.Date(2026, 1, 2, 15, 4, 4, 0, time.UTC),
		Type:         eventlog.TypeEdit,
		Actor:        eventlog.Actor{ID: "42", Name: "alice", Kind: eventlog.ActorUser},
		ContentType:  "Entry",
		ObjectID:     "42",
		ObjectRepr:   `Foo "bar"`,
		Details:      []byte(`{"field":"name"}`),
		SourceID:     12,
		Request: eventlog.Request{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/entries/42", Protocol: "HTTP/1.1",
			Status: 200, UserAgent: "curl/8.5.0\n", RequestID: "r-1",
		},
		IdempotencyKey: "K",
		Hash:           []byte{1, 2},
		PrevHash:       []byte{3, 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EventFromProto(sample) =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := protomap.EventFromProto(&eventlogv1.Event{}); err != nil || !reflect.DeepEqual(got, eventlog.Event{}) {
		t.Errorf("EventFromProto(empty) = %+v, want the zero Event", got)
	}
}

func TestPrintJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := printJSON(&buf, sampleEvent(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("printJSON printed %q, want one line", out)
	}
	if strings.Contains(out, " ") && !strings.Contains(out, `"Foo \"bar\""`) {
		t.Errorf("printJSON printed %q, want no insignificant space", out)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("printJSON printed %q: %v", out, err)
	}
	for k, want := range map[string]any{"id": "17", "eventType": "EVENT_TYPE_EDIT", "objectRepr": `Foo "bar"`, "sourceId": "12"} {
		if m[k] != want {
			t.Errorf("printJSON: %s = %v, want %v (line %q)", k, m[k], want, out)
		}
	}
}

func TestPrintNginx(t *testing.T) {
	var buf bytes.Buffer
	if err := printNginx(&buf, sampleEvent(t)); err != nil {
		t.Fatal(err)
	}
	want := `203.0.113.7 - alice [02/Jan/2026:15:04:05 +0000] "POST /entries/42 HTTP/1.1" 200 "curl/8.5.0\x0A" id=17 EDIT Entry/42 "Foo ""bar""" source=12` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("printNginx(sample) printed\n%q\nwant\n%q", got, want)
	}
}

func TestRPCError(t *testing.T) {
	err := rpcError(status.Error(codes.NotFound, "entry 7 not found"))
	if got, want := err.Error(), "NotFound: entry 7 not found"; got != want {
		t.Errorf("rpcError(NotFound) = %q, want %q", got, want)
	}
	plain := errors.New("boom")
	if got := rpcError(plain); got != plain {
		t.Errorf("rpcError(%v) = %v, want it unchanged", plain, got)
	}
	if rpcError(nil) != nil {
		t.Error("rpcError(nil) != nil")
	}
}

// pagedClient serves ListEvents from fixed pages: page i is returned for
// the token "" (i = 0) or "tN" (i = N), and names "t(i+1)" as the next one.
type pagedClient struct {
	eventlogv1.EventLogServiceClient
	pages    [][]int64
	requests []*eventlogv1.ListEventsRequest
}

func (c *pagedClient) ListEvents(ctx context.Context, req *eventlogv1.ListEventsRequest, _ ...grpc.CallOption) (*eventlogv1.ListEventsResponse, error) {
	c.requests = append(c.requests, proto.Clone(req).(*eventlogv1.ListEventsRequest))
	i := 0
	if req.GetPageToken() != "" {
		if _, err := fmt.Sscanf(req.GetPageToken(), "t%d", &i); err != nil || i >= len(c.pages) {
			return nil, status.Error(codes.InvalidArgument, "page_token: not a token")
		}
	}
	resp := &eventlogv1.ListEventsResponse{}
	for _, id := range c.pages[i] {
		resp.Events = append(resp.Events, &eventlogv1.Event{Id: id})
	}
	if i+1 < len(c.pages) {
		resp.NextPageToken = fmt.Sprintf("t%d", i+1)
	}
	return resp, nil
}

// ListPage lists as the client does, through ListEvents.
func (c *pagedClient) ListPage(ctx context.Context, f eventlog.Filter, pageToken string, opts ...client.ListOption) ([]eventlog.Event, string, error) {
	req := protomap.FilterToProto(f)
	req.PageToken = pageToken
	resp, err := c.ListEvents(ctx, req)
	if err != nil {
		return nil, "", err
	}
	var out []eventlog.Event
	for _, pe := range resp.GetEvents() {
		e, err := protomap.EventFromProto(pe)
		if err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	return out, resp.GetNextPageToken(), nil
}

func TestListEvents(t *testing.T) {
	pages := [][]int64{{5, 4}, {3, 2}, {1}}
	tests := []struct {
		name       string
		args       []string
		wantIDs    string
		wantStderr string
		wantTokens []string
	}{
		{"first page", nil, "5 4", "more entries: --page-token t1\n", []string{""}},
		{"middle page", []string{"--page-token", "t1"}, "3 2", "more entries: --page-token t2\n", []string{"t1"}},
		{"last page", []string{"--page-token", "t2"}, "1", "", []string{"t2"}},
		{"all", []string{"--all"}, "5 4 3 2 1", "", []string{"", "t1", "t2"}},
		{"all from a token", []string{"--all", "--page-token", "t1"}, "3 2 1", "", []string{"t1", "t2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			req, o, err := parseList(e, append([]string{"--type", "edit"}, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			client := &pagedClient{pages: pages}
			if err := listEvents(context.Background(), e, client, req, o); err != nil {
				t.Fatalf("list %q = %v", tt.args, err)
			}
			var ids []string
			for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
				var m struct{ ID string }
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("list %q printed %q: %v", tt.args, line, err)
				}
				ids = append(ids, m.ID)
			}
			if got := strings.Join(ids, " "); got != tt.wantIDs {
				t.Errorf("list %q printed ids %s, want %s", tt.args, got, tt.wantIDs)
			}
			if got := stderr.String(); got != tt.wantStderr {
				t.Errorf("list %q printed %q to stderr, want %q", tt.args, got, tt.wantStderr)
			}
			var tokens []string
			for _, r := range client.requests {
				tokens = append(tokens, r.GetPageToken())
				if r.GetEventType() != "EDIT" {
					t.Errorf("list %q: request %v lost the filter", tt.args, r)
				}
			}
			if !reflect.DeepEqual(tokens, tt.wantTokens) {
				t.Errorf("list %q requested pages %q, want %q", tt.args, tokens, tt.wantTokens)
			}
		})
	}
}

func TestListEventsError(t *testing.T) {
	e, _, _ := testEnv(nil)
	req, o, err := parseList(e, []string{"--page-token", "bogus"})
	if err != nil {
		t.Fatal(err)
	}
	err = listEvents(context.Background(), e, &pagedClient{pages: [][]int64{{1}}}, req, o)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page_token: not a token") {
		t.Errorf("list with a bad token = %v, want the server's INVALID_ARGUMENT on page_token", err)
	}
}

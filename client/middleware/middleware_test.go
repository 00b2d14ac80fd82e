package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type fakeLogger struct {
	mu     sync.Mutex
	events []eventlog.Event
}

func (f *fakeLogger) Log(ctx context.Context, w eventlog.Write) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, w.Event)
	return nil
}

func (f *fakeLogger) take() []eventlog.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.events
	f.events = nil
	return out
}

func TestHandler(t *testing.T) {
	app := http.NewServeMux()
	app.HandleFunc("POST /notes/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	app.HandleFunc("GET /notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("a note"))
	})
	app.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	rules := []HTTPRule{
		{Pattern: "POST /notes/{id}", Type: eventlog.TypeCreate, ContentType: "Note", ObjectID: "id"},
		{Pattern: "GET /notes/{id}", Type: eventlog.TypeFetch, ContentType: "Note", ObjectID: "id"},
	}
	actor := func(r *http.Request) eventlog.Actor {
		return eventlog.Actor{ID: r.Header.Get("X-User"), Name: "user " + r.Header.Get("X-User"), Kind: eventlog.ActorUser}
	}
	req := func(method, target string) eventlog.Request {
		return eventlog.Request{RemoteAddr: "192.0.2.1:1234", Method: method, Path: target, Protocol: "HTTP/1.1", UserAgent: "test-agent", RequestID: "req-1"}
	}
	tests := []struct {
		name        string
		logFailures bool
		method, url string
		want        []eventlog.Event
	}{
		{"create", false, "POST", "/notes/n1?draft=1", []eventlog.Event{{
			Type: eventlog.TypeCreate, ContentType: "Note", ObjectID: "n1",
			Actor:   eventlog.Actor{ID: "7", Name: "user 7", Kind: eventlog.ActorUser},
			Request: func() eventlog.Request { r := req("POST", "/notes/n1?draft=1"); r.Status = 201; return r }(),
		}}},
		{"fetch", false, "GET", "/notes/n2", []eventlog.Event{{
			Type: eventlog.TypeFetch, ContentType: "Note", ObjectID: "n2",
			Actor:   eventlog.Actor{ID: "7", Name: "user 7", Kind: eventlog.ActorUser},
			Request: func() eventlog.Request { r := req("GET", "/notes/n2"); r.Status = 200; return r }(),
		}}},
		{"a rule's failure, not asked for", false, "GET", "/notes/missing", nil},
		{"a rule's failure, asked for", true, "GET", "/notes/missing", []eventlog.Event{{
			Type: eventlog.TypeFetch, ContentType: "Note", ObjectID: "missing",
			Actor:   eventlog.Actor{ID: "7", Name: "user 7", Kind: eventlog.ActorUser},
			Request: func() eventlog.Request { r := req("GET", "/notes/missing"); r.Status = 404; return r }(),
		}}},
		{"no rule, success", true, "GET", "/healthz", nil},
		{"no rule, failure", true, "DELETE", "/nothing", []eventlog.Event{{
			Type: eventlog.TypeFetch, ContentType: "http.request", ObjectID: "/nothing",
			Actor:   eventlog.Actor{ID: "7", Name: "user 7", Kind: eventlog.ActorUser},
			Request: func() eventlog.Request { r := req("DELETE", "/nothing"); r.Status = 404; return r }(),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &fakeLogger{}
			h := Handler(HTTPConfig{Logger: log, Rules: rules, Actor: actor, LogFailures: tt.logFailures}, app)
			r := httptest.NewRequest(tt.method, tt.url, nil)
			r.RemoteAddr = "192.0.2.1:1234"
			r.Header.Set("User-Agent", "test-agent")
			r.Header.Set("X-Request-Id", "req-1")
			r.Header.Set("X-User", "7")
			h.ServeHTTP(httptest.NewRecorder(), r)
			if diff := cmp.Diff(tt.want, log.take()); diff != "" {
				t.Errorf("%s %s logged (-want +got):\n%s", tt.method, tt.url, diff)
			}
		})
	}
}

// A request that ends before its entry is queued still gets it queued.
func TestHandlerCanceledRequest(t *testing.T) {
	log := &fakeLogger{}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := Handler(HTTPConfig{Logger: log, Rules: []HTTPRule{{Pattern: "DELETE /notes/{id}", Type: eventlog.TypeDelete, ContentType: "Note", ObjectID: "id"}}}, app)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "DELETE", "/notes/n9", nil))
	if got := log.take(); len(got) != 1 || got[0].ObjectID != "n9" || got[0].Type != eventlog.TypeDelete {
		t.Errorf("logged %+v, want the delete of n9", got)
	}
}

type noteRequest struct{ id string }

type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []any
}

func (s *fakeStream) Context() context.Context { return s.ctx }
func (s *fakeStream) RecvMsg(m any) error {
	if len(s.msgs) == 0 {
		return status.Error(codes.Canceled, "no more")
	}
	*m.(*noteRequest) = *s.msgs[0].(*noteRequest)
	s.msgs = s.msgs[1:]
	return nil
}

func TestGRPCInterceptors(t *testing.T) {
	log := &fakeLogger{}
	cfg := GRPCConfig{
		Logger: log,
		Rules: []GRPCRule{
			{Method: "/notes.v1.Notes/Update", Type: eventlog.TypeEdit, ContentType: "Note", ObjectID: func(req any) string { return req.(*noteRequest).id }},
			{Method: "/notes.v1.Notes/Watch", Type: eventlog.TypeFetch, ContentType: "Note", ObjectID: func(req any) string { return req.(*noteRequest).id }},
		},
		Actor: func(ctx context.Context) eventlog.Actor {
			return eventlog.Actor{Name: "svc", Kind: eventlog.ActorService}
		},
		LogFailures: true,
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-request-id", "r-9", "user-agent", "grpc-go/1"))
	unary := UnaryServerInterceptor(cfg)
	ok := func(context.Context, any) (any, error) { return "done", nil }
	fail := func(context.Context, any) (any, error) { return nil, status.Error(codes.NotFound, "no note") }
	unary(ctx, &noteRequest{id: "n1"}, &grpc.UnaryServerInfo{FullMethod: "/notes.v1.Notes/Update"}, ok)
	unary(ctx, &noteRequest{id: "n2"}, &grpc.UnaryServerInfo{FullMethod: "/notes.v1.Notes/Update"}, fail)
	unary(ctx, &noteRequest{id: "n3"}, &grpc.UnaryServerInfo{FullMethod: "/notes.v1.Notes/Get"}, ok)
	unary(ctx, &noteRequest{id: "n4"}, &grpc.UnaryServerInfo{FullMethod: "/notes.v1.Notes/Get"}, fail)
	stream := StreamServerInterceptor(cfg)
	stream(nil, &fakeStream{ctx: ctx, msgs: []any{&noteRequest{id: "n5"}}}, &grpc.StreamServerInfo{FullMethod: "/notes.v1.Notes/Watch"},
		func(srv any, ss grpc.ServerStream) error {
			var m noteRequest
			return ss.RecvMsg(&m)
		})
	actor := eventlog.Actor{Name: "svc", Kind: eventlog.ActorService}
	request := func(method string, status int32) eventlog.Request {
		return eventlog.Request{Method: "POST", Path: method, Protocol: "HTTP/2", Status: status, UserAgent: "grpc-go/1", RequestID: "r-9"}
	}
	want := []eventlog.Event{
		{Type: eventlog.TypeEdit, ContentType: "Note", ObjectID: "n1", Actor: actor, Request: request("/notes.v1.Notes/Update", 200)},
		{Type: eventlog.TypeEdit, ContentType: "Note", ObjectID: "n2", Actor: actor, Request: request("/notes.v1.Notes/Update", 404)},
		{Type: eventlog.TypeFetch, ContentType: "grpc.call", ObjectID: "/notes.v1.Notes/Get", Actor: actor, Request: request("/notes.v1.Notes/Get", 404)},
		{Type: eventlog.TypeFetch, ContentType: "Note", ObjectID: "n5", Actor: actor, Request: request("/notes.v1.Notes/Watch", 200)},
	}
	if diff := cmp.Diff(want, log.take()); diff != "" {
		t.Errorf("logged (-want +got):\n%s", diff)
	}
}

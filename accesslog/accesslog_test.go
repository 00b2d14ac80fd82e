package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/inproc"
	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock returns 2026-01-02 15:04:05 UTC, then 1.5 ms more at each call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(1500 * time.Microsecond)
		return now
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestHTTPNginx(t *testing.T) {
	tests := []struct {
		name    string
		req     func() *http.Request
		handler http.HandlerFunc
		want    string
	}{
		{
			name: "OK",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/v1/events?actor=alice&page_size=2", nil)
				r.RemoteAddr = "203.0.113.7:51234"
				r.Header.Set("User-Agent", "curl/8.5.0")
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"events":[]}`) },
			want:    `203.0.113.7 - - [02/Jan/2026:15:04:05 +0000] "GET /v1/events?actor=alice&page_size=2 HTTP/1.1" 200 "curl/8.5.0" bytes=13 duration_ms=1.500`,
		},
		{
			name: "FailureWithUser",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/v1/events", strings.NewReader("{"))
				r.RemoteAddr = "[2001:db8::1]:443"
				r.Header.Set("User-Agent", `evil" 200 "x`)
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				SetUser(r.Context(), "dashboard key")
				http.Error(w, "bad", http.StatusBadRequest)
			},
			want: `2001:db8::1 - dashboard\x20key [02/Jan/2026:15:04:05 +0000] "POST /v1/events HTTP/1.1" 400 "evil\x22 200 \x22x" bytes=4 duration_ms=1.500`,
		},
		{
			name: "NothingWritten",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/healthz", nil)
				r.RemoteAddr = "127.0.0.1:1"
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {},
			want:    `127.0.0.1 - - [02/Jan/2026:15:04:05 +0000] "GET /healthz HTTP/1.1" 200 "-" bytes=0 duration_ms=1.500`,
		},
		{
			name: "HeaderOnlyAndFlush",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/stream", nil)
				r.RemoteAddr = "127.0.0.1:1"
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				w.(http.Flusher).Flush()
				w.WriteHeader(http.StatusTeapot) // superfluous: ignored
			},
			want: `127.0.0.1 - - [02/Jan/2026:15:04:05 +0000] "GET /stream HTTP/1.1" 202 "-" bytes=0 duration_ms=1.500`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			l := New(Config{Out: &out, Now: clock()})
			l.HTTP(tt.handler).ServeHTTP(httptest.NewRecorder(), tt.req())
			if got := out.String(); got != tt.want+"\n" {
				t.Errorf("line:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestHTTPPanic(t *testing.T) {
	var out bytes.Buffer
	l := New(Config{Out: &out, Now: clock()})
	h := l.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	r := httptest.NewRequest("GET", "/x", nil)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic passed on", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	if !strings.Contains(out.String(), `"GET /x HTTP/1.1" 500 `) {
		t.Errorf("line after a panic = %q, want status 500", out.String())
	}
}

func TestLevel(t *testing.T) {
	var out bytes.Buffer
	l := New(Config{Out: &out, Level: slog.LevelWarn, Now: clock()})
	for _, code := range []int{200, 302, 404, 503} {
		h := l.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " 404 ") || !strings.Contains(lines[1], " 503 ") {
		t.Errorf("at level warn the log is\n%s\nwant only the 404 and the 503", out.String())
	}
}

func TestJSON(t *testing.T) {
	var out bytes.Buffer
	l := New(Config{Out: &out, Format: JSON, Now: clock()})
	h := l.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetUser(r.Context(), "reader")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "nope")
	}))
	r := httptest.NewRequest("GET", "/v1/events/9", nil)
	r.RemoteAddr = "127.0.0.1:9"
	r.Header.Set("User-Agent", "ua")
	h.ServeHTTP(httptest.NewRecorder(), r)
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("line %q: %v", out.String(), err)
	}
	want := map[string]any{
		"time": "2026-01-02T15:04:05Z", "level": "WARN", "msg": "HTTP request",
		"remote_addr": "127.0.0.1", "user": "reader", "method": "GET", "path": "/v1/events/9",
		"protocol": "HTTP/1.1", "status": 404.0, "user_agent": "ua", "bytes": 4.0, "duration_ms": 1.5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON line (-want +got):\n%s", diff)
	}
}

// failingWriter fails while fail is set.
type failingWriter struct {
	mu   sync.Mutex
	fail bool
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		return 0, io.ErrShortWrite
	}
	return len(p), nil
}

func TestWriteErrorsReportedOnce(t *testing.T) {
	for _, format := range []Format{Nginx, JSON} {
		var errLog bytes.Buffer
		w := &failingWriter{fail: true}
		l := New(Config{Out: w, Format: format, ErrorLog: slog.New(slog.NewTextHandler(&errLog, nil))})
		h := l.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for range 3 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
		w.fail = false
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if n := strings.Count(errLog.String(), "write failed"); n != 1 {
			t.Errorf("format %d: %d reports of failed writes, want 1:\n%s", format, n, errLog.String())
		}
		if !strings.Contains(errLog.String(), "writing again") {
			t.Errorf("format %d: the recovery is not reported:\n%s", format, errLog.String())
		}
	}
}

func TestHTTPStatusMatchesGateway(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if got, want := HTTPStatus(c), runtime.HTTPStatusFromCode(c); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d as grpc-gateway answers", c, got, want)
		}
	}
}

// grpcEnv is a gRPC server with the access log's interceptors and an
// interceptor that names the caller from its "x-key" metadata, as
// authentication would, serving the health service over an in-process
// listener.
type grpcEnv struct {
	log    *Logger
	out    *syncBuffer
	conn   *grpc.ClientConn // carries the client interceptors, as the gateway's does
	health *health.Server
}

func newGRPCEnv(t *testing.T) *grpcEnv {
	t.Helper()
	out := &syncBuffer{}
	l := New(Config{Out: out, Now: clock()})
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if k := metadata.ValueFromIncomingContext(ctx, "x-key"); len(k) == 1 {
			SetUser(ctx, k[0])
		}
		return h(ctx, req)
	}
	g := grpc.NewServer(
		grpc.ChainUnaryInterceptor(l.UnaryServerInterceptor, auth),
		grpc.ChainStreamInterceptor(l.StreamServerInterceptor),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, hs)
	lis := inproc.Listen()
	go g.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///inproc",
		grpc.WithContextDialer(lis.Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("test-client/1"),
		grpc.WithChainUnaryInterceptor(l.UnaryClientInterceptor),
		grpc.WithChainStreamInterceptor(l.StreamClientInterceptor),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
	})
	return &grpcEnv{log: l, out: out, conn: conn, health: hs}
}

func TestGRPCUnary(t *testing.T) {
	env := newGRPCEnv(t)
	c := healthpb.NewHealthClient(env.conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-key", "ops")
	if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check(nope) error = %v, want NotFound", err)
	}
	want := `pipe - ops [02/Jan/2026:15:04:05 +0000] "POST /grpc.health.v1.Health/Check HTTP/2" 200 "test-client/1 grpc-go/` + grpc.Version + `" grpc=OK duration_ms=1.500
pipe - - [02/Jan/2026:15:04:05 +0000] "POST /grpc.health.v1.Health/Check HTTP/2" 404 "test-client/1 grpc-go/` + grpc.Version + `" grpc=NotFound duration_ms=1.500
`
	if got := env.out.String(); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

func TestGRPCStream(t *testing.T) {
	env := newGRPCEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := healthpb.NewHealthClient(env.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(env.out.String(), "Watch") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := env.out.String(); !strings.Contains(got, `"POST /grpc.health.v1.Health/Watch HTTP/2" 499 `) || !strings.Contains(got, "grpc=Canceled") {
		t.Errorf("log after a cancelled stream = %q, want a 499 Canceled line", got)
	}
}

// A REST request is one line: the gRPC call made for it adds its caller and
// its code to the HTTP line instead of a line of its own.
func TestGatewayHop(t *testing.T) {
	env := newGRPCEnv(t)
	c := healthpb.NewHealthClient(env.conn)
	h := env.log.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := metadata.AppendToOutgoingContext(r.Context(), "x-key", "dashboard")
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: r.URL.Query().Get("service")})
		w.WriteHeader(HTTPStatus(status.Code(err)))
	}))
	for _, svc := range []string{"", "nope"} {
		r := httptest.NewRequest("GET", "/check?service="+svc, nil)
		r.RemoteAddr = "192.0.2.1:5"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `192.0.2.1 - dashboard [02/Jan/2026:15:04:05 +0000] "GET /check?service= HTTP/1.1" 200 "-" grpc=OK bytes=0 duration_ms=1.500
192.0.2.1 - dashboard [02/Jan/2026:15:04:05 +0000] "GET /check?service=nope HTTP/1.1" 404 "-" grpc=NotFound bytes=0 duration_ms=1.500
`
	if got := env.out.String(); got != want {
		t.Errorf("log:\n%s\nwant one line for each HTTP request:\n%s", got, want)
	}
	n := 0
	env.log.hops.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d hops left registered after the requests ended", n)
	}
}

// A caller cannot hide its call by sending a hop token of its own.
func TestForgedHop(t *testing.T) {
	env := newGRPCEnv(t)
	// A request in flight, whose token the forger does not know.
	inFlight := &entry{}
	env.log.newHop(inFlight)
	defer env.log.endHops(inFlight)
	ctx := metadata.AppendToOutgoingContext(context.Background(), hopHeader, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if _, err := healthpb.NewHealthClient(env.conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := env.out.String(); !strings.Contains(got, "/grpc.health.v1.Health/Check HTTP/2\" 200") {
		t.Errorf("log = %q, want the call logged as its own line", got)
	}
}

// slowWriter takes its time over each Write and fails the test when two
// Writes overlap.
type slowWriter struct {
	t      *testing.T
	busy   atomic.Bool
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if w.busy.Swap(true) {
		w.t.Error("two Writes at once")
	}
	time.Sleep(200 * time.Microsecond)
	w.mu.Lock()
	w.buf.Write(p)
	w.writes++
	w.mu.Unlock()
	w.busy.Store(false)
	return len(p), nil
}

// Concurrent calls share Writes: every line arrives whole, once, and a
// Write never overlaps another.
func TestConcurrentLinesShareWrites(t *testing.T) {
	out := &slowWriter{t: t}
	l := New(Config{Out: out, Now: clock()})
	info := &grpc.UnaryServerInfo{FullMethod: "/eventlog.v1.EventLogService/LogEvent"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	const goroutines, calls = 16, 50
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				l.UnaryServerInterceptor(context.Background(), 1, info, handler)
			}
		}()
	}
	// A call that leaves its line to a Write under way returns before
	// the line is written, but the call writing returns only when no line
	// waits: once every call has returned, every line is out.
	wg.Wait()
	out.mu.Lock()
	defer out.mu.Unlock()
	lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	if len(lines) != goroutines*calls {
		t.Fatalf("%d lines, want %d", len(lines), goroutines*calls)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "- - - [") || !strings.Contains(line, `"POST /eventlog.v1.EventLogService/LogEvent HTTP/2" 200 "-" grpc=OK duration_ms=`) {
			t.Fatalf("line %q", line)
		}
	}
	if out.writes >= len(lines) {
		t.Logf("%d Writes for %d lines: none shared", out.writes, len(lines))
	}
}

// With FlushEvery, a call returns without writing: its line goes out with
// the next flush, at the interval or at Close, which writes what is left
// and stops the flusher (goleak checks). Lines after Close are written by
// their calls.
func TestFlushEvery(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	get := func(h http.Handler, path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}

	out := &syncBuffer{}
	l := New(Config{Out: out, Now: clock(), FlushEvery: time.Hour})
	h := l.HTTP(ok)
	get(h, "/a")
	get(h, "/b")
	if s := out.String(); s != "" {
		t.Errorf("written before any flush: %q", s)
	}
	l.Close()
	if s := out.String(); strings.Count(s, "\n") != 2 || !strings.Contains(s, `"GET /a `) || !strings.Contains(s, `"GET /b `) {
		t.Errorf("after Close: %q, want both lines", s)
	}
	get(h, "/c")
	if s := out.String(); !strings.Contains(s, `"GET /c `) {
		t.Errorf("a line after Close was not written by its call: %q", s)
	}
	l.Close() // a second Close does nothing

	out = &syncBuffer{}
	l = New(Config{Out: out, Now: clock(), FlushEvery: 5 * time.Millisecond})
	defer l.Close()
	get(l.HTTP(ok), "/d")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), `"GET /d `); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the line was not flushed at the interval within 10s")
		}
	}
}

// remoteHost gives what cutting the port off the address's text gives.
func TestRemoteHost(t *testing.T) {
	for _, a := range []net.Addr{
		&net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 5000},
		&net.TCPAddr{IP: net.ParseIP("203.0.113.7").To4(), Port: 5000},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 443, Zone: "eth0"},
		&net.TCPAddr{IP: nil, Port: 80},
		&net.UnixAddr{Name: "/run/eventlog.sock", Net: "unix"},
	} {
		if got, want := remoteHost(a), hostOf(a.String()); got != want {
			t.Errorf("remoteHost(%v) = %q, want %q", a, got, want)
		}
	}
}

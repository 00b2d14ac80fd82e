package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/accesslog"
	"github.com/eventlog/eventlog/gateway"
	"github.com/eventlog/eventlog/internal/inproc"
	"github.com/eventlog/eventlog/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// benchGateway is the serve wiring in small: the real service over an
// in-memory store behind the gateway, with the access log written to out,
// or without one when out is nil. The gateway reaches the service over the
// in-process listener, or over loopback TCP when tcp is set.
func benchGateway(b *testing.B, out io.Writer, tcp bool) http.Handler {
	b.Helper()
	st := &memStore{}
	var unary []grpc.UnaryServerInterceptor
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	var access *accesslog.Logger
	if out != nil {
		access = accesslog.New(accesslog.Config{Out: out})
		unary = append(unary, access.UnaryServerInterceptor)
		dial = append(dial, grpc.WithChainUnaryInterceptor(access.UnaryClientInterceptor))
	}
	srv := server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	unary = append(unary, srv.UnaryInterceptor)
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(unary...))
	srv.Register(g)
	var lis net.Listener
	target := "passthrough:///inproc"
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lis, target = l, l.Addr().String()
	} else {
		l := inproc.Listen()
		lis = l
		dial = append(dial, grpc.WithContextDialer(l.Dial))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Serve(lis)
	}()
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		g.Stop()
		<-done
		srv.Close()
	})
	gw, err := gateway.New(gateway.Config{Conn: conn, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler = gw
	if access != nil {
		h = access.HTTP(h)
	}
	// One entry to fetch.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(
		`{"event":{"eventType":"EVENT_TYPE_EDIT","actor":{"id":"7","name":"bob"},"contentType":"Note","objectId":"n-1","details":{"a":1}}}`))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		b.Fatalf("POST /v1/events = %d %s", w.Code, w.Body)
	}
	return h
}

// A REST request from end to end, with and without the access log: the
// log's share of the cost of a request.
func BenchmarkGetEvent(b *testing.B) {
	file, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	for _, bc := range []struct {
		name string
		out  io.Writer
	}{
		{"NoLog", nil},
		{"LogDiscarded", io.Discard},
		{"LogToFile", file},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchGet(b, benchGateway(b, bc.out, false))
		})
	}
}

// The gateway's connection to the service over the in-process listener
// and over loopback TCP.
func BenchmarkTransport(b *testing.B) {
	b.Run("InProcess", func(b *testing.B) { benchGet(b, benchGateway(b, nil, false)) })
	b.Run("LoopbackTCP", func(b *testing.B) { benchGet(b, benchGateway(b, nil, true)) })
}

func benchGet(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/events/1", nil))
		if w.Code != 200 {
			b.Fatalf("GET /v1/events/1 = %d %s", w.Code, w.Body)
		}
	}
}

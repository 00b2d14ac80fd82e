package accesslog

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// The cost of the access log on an HTTP request, against the bare handler.
func BenchmarkHTTP(b *testing.B) {
	body := []byte(strings.Repeat("x", 300))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"NoLog", handler},
		{"Nginx", New(Config{Out: io.Discard}).HTTP(handler)},
		{"JSON", New(Config{Out: io.Discard, Format: JSON}).HTTP(handler)},
		{"Filtered", New(Config{Out: io.Discard, Level: levelAbove}).HTTP(handler)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/v1/events?actor=alice&page_size=50", nil)
			r.RemoteAddr = "203.0.113.7:51234"
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, r)
			}
		})
	}
}

// levelAbove is a level at which nothing is written.
const levelAbove = slog.Level(100)

// The cost of the access log on a unary gRPC call, against no interceptor.
func BenchmarkGRPCUnary(b *testing.B) {
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	info := &grpc.UnaryServerInfo{FullMethod: "/eventlog.v1.EventLogService/GetEvent"}
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("user-agent", "grpc-go/1.85.0", "authorization", "Bearer x"))
	b.Run("NoLog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			handler(ctx, 1)
		}
	})
	for _, format := range []Format{Nginx, JSON} {
		l := New(Config{Out: io.Discard, Format: format})
		b.Run(map[Format]string{Nginx: "Nginx", JSON: "JSON"}[format], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.UnaryServerInterceptor(ctx, 1, info, handler)
			}
		})
	}
}

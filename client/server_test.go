package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/eventlog/eventlog/server"
	"github.com/eventlog/eventlog/store"
)

// testServer is an eventlog server on a loopback port, over a store that
// outlives it, so that a test can stop it and start it again.
type testServer struct {
	dsn  string
	addr string
	st   *store.Store
	srv  *server.Server
	g    *grpc.Server
	done chan struct{}
	once sync.Once
}

// startServer starts a server over the database dsn on addr (a free port
// when empty), with opts before its own interceptor.
func startServer(dsn, addr string, opts ...grpc.ServerOption) (*testServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: dsn})
	if err != nil {
		return nil, err
	}
	srv := server.New(server.Config{
		Store:     st,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Heartbeat: 50 * time.Millisecond,
	})
	if err := srv.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	var lis net.Listener
	// The port of a stopped server may take a moment to be free again.
	for range 50 {
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		srv.Close()
		st.Close()
		return nil, err
	}
	g := grpc.NewServer(append(opts, grpc.ChainUnaryInterceptor(srv.UnaryInterceptor))...)
	srv.Register(g)
	ts := &testServer{dsn: dsn, addr: lis.Addr().String(), st: st, srv: srv, g: g, done: make(chan struct{})}
	go func() {
		defer close(ts.done)
		g.Serve(lis)
	}()
	return ts, nil
}

// stop shuts the server down as a deployment does: streams end with
// UNAVAILABLE, then the listener closes.
// It may be called more than once.
func (ts *testServer) stop() {
	ts.once.Do(func() {
		ts.srv.Shutdown()
		ts.g.Stop()
		<-ts.done
		ts.srv.Close()
		ts.st.Close()
	})
}

// backends returns the databases a test runs against: a SQLite file and,
// when the tests have one, a fresh PostgreSQL database.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "log.db") },
		"postgres": func(t *testing.T) string {
			return pgtest.NewDB(t, pgtest.URL(t))
		},
	}
}

// serve starts a server for t and stops it when t ends.
func serve(t *testing.T, dsn string, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	ts, err := startServer(dsn, "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.stop)
	return ts
}

func mustNot(err error) {
	if err != nil {
		panic(fmt.Sprint("example server: ", err))
	}
}

package main

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A part that cannot be built stops the app with an error naming it, and
// every part built before it is closed: its listeners are free again, its
// goroutines gone (goleak checks in TestMain), its database closed.
func TestAppClosesWhatItBuilt(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcAddr := free.Addr().String()
	free.Close()
	db := filepath.Join(t.TempDir(), "app.db")
	a := &app{
		cfg: serveConfig{db: db, grpcAddr: grpcAddr, httpAddr: taken.Addr().String(), shutdownTimeout: time.Second,
			accessLog: "off", maxFanout: 100, maxStreams: 10, debugAddr: "127.0.0.1:0"},
		log: slog.New(slog.DiscardHandler),
	}
	err = a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("Run with --http-addr taken = %v, want an error naming --http-addr", err)
	}
	if len(a.closers) != 0 {
		t.Errorf("%d closers left after Run", len(a.closers))
	}
	// The gRPC listener was closed.
	l, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		t.Fatalf("the gRPC address is still held after Run failed: %v", err)
	}
	l.Close()

	// A second app on the same database starts and stops cleanly.
	a = &app{cfg: serveConfig{db: db, grpcAddr: "127.0.0.1:0", shutdownTimeout: time.Second, maxFanout: 100, maxStreams: 10},
		log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

package client_test

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/internal/pgtest"
)

// Follow sees every entry once, in order, while the server it follows is
// stopped and started again twice, with entries written while it was away.
func TestFollowAcrossRestarts(t *testing.T) {
	for name, newDB := range backends(t) {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			ts := serve(t, dsn)
			addr := ts.addr
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			var reconnects atomic.Int64
			follower := dial(t, addr, client.WithBackoff(10*time.Millisecond, 200*time.Millisecond),
				client.OnReconnect(func(err error, wait time.Duration, afterID int64) {
					if errors.Is(err, client.ErrUnavailable) && afterID > 0 {
						reconnects.Add(1)
					}
				}))
			const rounds, per = 3, 10
			got := make(chan int64, rounds*per)
			followErr := make(chan error, 1)
			go func() {
				defer close(got)
				for e, err := range follower.Follow(ctx, eventlog.Filter{}, 0) {
					if err != nil {
						followErr <- err
						return
					}
					got <- e.ID
					if e.ID == rounds*per {
						return
					}
				}
			}()

			var seen []int64
			waitFor := func(n int) {
				t.Helper()
				for len(seen) < n {
					id, ok := <-got
					if !ok {
						t.Fatalf("Follow ended after %v: %v", seen, <-followErr)
					}
					seen = append(seen, id)
				}
			}
			for round := range rounds {
				if round > 0 {
					// Stop the server, start it again on the same address,
					// and write while the follower is away.
					ts.stop()
					var err error
					if ts, err = startServer(dsn, addr); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(ts.stop)
				}
				writer := dial(t, addr)
				batch := make([]eventlog.Write, per)
				for i := range batch {
					batch[i] = write(round*per + i + 1)
				}
				if _, err := writer.LogEvents(ctx, batch); err != nil {
					t.Fatalf("round %d: LogEvents: %v", round, err)
				}
				waitFor((round + 1) * per)
			}
			want := make([]int64, rounds*per)
			for i := range want {
				want[i] = int64(i + 1)
			}
			if diff := cmp.Diff(want, seen); diff != "" {
				t.Errorf("Follow delivered (-want +got):\n%s", diff)
			}
			if n := reconnects.Load(); n < rounds-1 {
				t.Errorf("OnReconnect was told of %d reconnections while unavailable, want at least %d", n, rounds-1)
			}
		})
	}
}

// Follow with a negative afterID starts at the head; one that cannot be
// mended ends the sequence with the error.
func TestFollowFromNowAndInvalid(t *testing.T) {
	ts := serve(t, backends(t)["sqlite"](t))
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.LogEvents(ctx, []eventlog.Write{write(1), write(2)}); err != nil {
		t.Fatal(err)
	}
	next, stop := iter.Pull2(c.Follow(ctx, eventlog.Filter{}, -1))
	defer stop()
	// The stream starts after the entries written so far; the write below
	// may race the stream's start, so it is retried until one arrives.
	done := make(chan eventlog.Event, 1)
	go func() {
		e, err, _ := next()
		if err == nil {
			done <- e
		}
		close(done)
	}()
	deadline := time.After(30 * time.Second)
	for n := 3; ; n++ {
		if _, err := c.LogEvent(ctx, write(n)); err != nil {
			t.Fatal(err)
		}
		select {
		case e, ok := <-done:
			if !ok {
				t.Fatal("Follow ended")
			}
			if e.ID < 3 {
				t.Errorf("Follow from now delivered entry %d, written before it started", e.ID)
			}
			goto invalid
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("Follow from now delivered nothing")
		}
	}
invalid:
	var err error
	for _, err = range c.Follow(ctx, eventlog.Filter{ObjectID: "\x00"}, 0) {
	}
	var inv *eventlog.InvalidError
	if !errors.As(err, &inv) || inv.Field != "object_id" {
		t.Errorf("Follow with a NUL in object_id: last error = %v, want an InvalidError on object_id", err)
	}
}

// Follow moves to another replica over the same database when the one it
// follows stops, and sees every entry once, in order.
func TestFollowAcrossReplicas(t *testing.T) {
	dsn := pgtest.NewDB(t, pgtest.URL(t))
	var streamsA, streamsB atomic.Int64
	count := func(n *atomic.Int64) grpc.ServerOption {
		return grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			n.Add(1)
			return h(srv, ss)
		})
	}
	a := serve(t, dsn, count(&streamsA))
	b := serve(t, dsn, count(&streamsB))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// One target, two addresses: the follower uses the first while it
	// answers.
	r := manual.NewBuilderWithScheme("replicas")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a.addr}, {Addr: b.addr}}})
	follower := dial(t, "replicas:///eventlog",
		client.WithDialOptions(grpc.WithResolvers(r)),
		client.WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	writer := dial(t, b.addr)

	const per = 10
	got := make(chan int64, 2*per)
	followErr := make(chan error, 1)
	go func() {
		defer close(got)
		for e, err := range follower.Follow(ctx, eventlog.Filter{}, 0) {
			if err != nil {
				followErr <- err
				return
			}
			got <- e.ID
			if e.ID == 2*per {
				return
			}
		}
	}()
	var seen []int64
	waitFor := func(n int) {
		t.Helper()
		for len(seen) < n {
			id, ok := <-got
			if !ok {
				t.Fatalf("Follow ended after %v: %v", seen, <-followErr)
			}
			seen = append(seen, id)
		}
	}
	for round := range 2 {
		if round == 1 {
			a.stop()
		}
		batch := make([]eventlog.Write, per)
		for i := range batch {
			batch[i] = write(round*per + i + 1)
		}
		if _, err := writer.LogEvents(ctx, batch); err != nil {
			t.Fatalf("round %d: LogEvents: %v", round, err)
		}
		waitFor((round + 1) * per)
	}
	want := make([]int64, 2*per)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("Follow delivered (-want +got):\n%s", diff)
	}
	if streamsA.Load() == 0 || streamsB.Load() == 0 {
		t.Errorf("streams served: %d by the first replica, %d by the second; want both", streamsA.Load(), streamsB.Load())
	}
}

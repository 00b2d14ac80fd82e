package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/eventlog/eventlog"
)

// growingTree is a tree store whose log grows by the next of adds at each
// Integrate call, and by the last of them once they run out.
type growingTree struct {
	treeStore
	size  int64
	adds  []int64
	calls int
}

func (g *growingTree) Integrate(context.Context) (eventlog.TreeHead, error) {
	g.calls++
	add := g.adds[min(g.calls, len(g.adds))-1]
	g.size += add
	return eventlog.TreeHead{Size: g.size}, nil
}

// Under steady writes every Integrate call finds a few new entries; one
// tick makes one call (two the first time, which has no size to compare
// with), rather than calling until a call finds nothing, which never comes.
// A backlog is caught up at once.
func TestIntegrateCallsPerTick(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	stop := make(chan struct{})

	steady := &growingTree{adds: []int64{30}}
	size := s.integrate(steady, stop, -1)
	if steady.calls != 2 || size != 60 {
		t.Fatalf("first tick: %d calls, size %d; want 2 calls, size 60", steady.calls, size)
	}
	for tick := range 3 {
		steady.calls = 0
		size = s.integrate(steady, stop, size)
		if steady.calls != 1 {
			t.Fatalf("tick %d under steady writes: %d Integrate calls, want 1", tick, steady.calls)
		}
	}

	backlog := &growingTree{adds: []int64{10_000, 10_000, 10_000, 120, 30}}
	size = s.integrate(backlog, stop, 0)
	if backlog.calls != 4 || size != 30_120 {
		t.Fatalf("backlog: %d calls, size %d; want 4 calls (three full ones and the rest), size 30120", backlog.calls, size)
	}

	// A closed stop ends a catch-up after the call in progress.
	close(stop)
	endless := &growingTree{adds: []int64{10_000}}
	s.integrate(endless, stop, 0)
	if endless.calls != 1 {
		t.Fatalf("stopped: %d calls, want 1", endless.calls)
	}
}

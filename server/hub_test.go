package server

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
)

// memTail is a log tail whose head the test moves behind the hub's back,
// as another process would.
type memTail struct {
	mu      sync.Mutex
	entries []eventlog.Event
}

func (m *memTail) Head(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.entries)), nil
}

func (m *memTail) List(_ context.Context, _ eventlog.Filter, p eventlog.Page) ([]eventlog.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []eventlog.Event
	for _, e := range m.entries {
		if e.ID > p.Cursor && len(out) < p.Limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memTail) add(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.entries = append(m.entries, eventlog.Event{ID: int64(len(m.entries) + 1), Type: eventlog.TypeEdit, ContentType: "T", ObjectID: "1"})
	}
}

// A wake without an id (the commit watch has just connected, or
// reconnected, and may have missed announcements) makes the hub read the
// head at once, not at the next poll.
func TestHubWakeWithoutIDReadsHead(t *testing.T) {
	src := &memTail{}
	h := newHub(src, slog.New(slog.NewTextHandler(io.Discard, nil)), 1<<20, time.Hour)
	if err := h.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	src.add(3) // committed elsewhere, announced to no one
	h.wake(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, ok := h.since(0, &eventlog.Filter{}, 10)
		if ok && len(out) == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after wake(0) the hub holds %d entries (ok %v), want the 3 committed; the poll is an hour away", len(out), ok)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

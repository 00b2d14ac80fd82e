package streamhub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"go.uber.org/goleak"
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
	h := New(src, slog.New(slog.NewTextHandler(io.Discard, nil)), 1<<20, time.Hour)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	defer h.Subscribe()()
	src.add(3) // committed elsewhere, announced to no one
	h.Wake(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _, ok := h.Since(0, &eventlog.Filter{}, 10)
		if ok && len(out) == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after wake(0) the hub holds %d entries (ok %v), want the 3 committed; the poll is an hour away", len(out), ok)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newTestHub returns a hub with one subscriber, which keeps its ring.
func newTestHub(maxBytes int) *Hub {
	h := New(nil, slog.New(slog.DiscardHandler), maxBytes, time.Hour)
	h.Subscribe()
	return h
}

func written(id int64) []eventlog.Written {
	return []eventlog.Written{{Event: eventlog.Event{ID: id, ObjectID: "o", Details: make([]byte, 100)}}}
}

// TestHubRingBound publishes far more than the ring holds: it stays within
// its bound, ends at the newest entry, holds a contiguous run of ids, and
// still answers from the ring for a cursor near the head.
func TestHubRingBound(t *testing.T) {
	const maxBytes = 64 << 10
	h := newTestHub(maxBytes)
	for id := int64(1); id <= 10_000; id++ {
		h.Publish(written(id))
		if h.bytes > maxBytes {
			t.Fatalf("after entry %d the ring holds %d bytes, over its bound %d", id, h.bytes, maxBytes)
		}
	}
	if h.last != 10_000 || h.ring[len(h.ring)-1].ID != 10_000 {
		t.Fatalf("ring ends at %d (last %d), want 10000", h.ring[len(h.ring)-1].ID, h.last)
	}
	for i := 1; i < len(h.ring); i++ {
		if h.ring[i].ID != h.ring[i-1].ID+1 {
			t.Fatalf("ring ids %d then %d: not contiguous", h.ring[i-1].ID, h.ring[i].ID)
		}
	}
	if len(h.ring) < 64 {
		t.Errorf("ring holds %d entries of about 360 bytes under a %d-byte bound, want at least 64", len(h.ring), maxBytes)
	}
	out, _, ok := h.Since(9_990, &eventlog.Filter{}, 100)
	if !ok || len(out) != 10 || out[0].ID != 9_991 {
		t.Errorf("since(9990) = %d entries from the ring (ok %v), want 10 from 9991", len(out), ok)
	}
}

// Without subscribers the hub keeps no entries but still follows the
// head, and its first subscriber is told to read the store for what came
// before; with the last subscriber gone the ring is freed.
func TestHubRingOnlyWithSubscribers(t *testing.T) {
	h := New(nil, slog.New(slog.DiscardHandler), 1<<20, time.Hour)
	for id := int64(1); id <= 100; id++ {
		h.Publish(written(id))
	}
	if len(h.ring) != 0 || h.bytes != 0 || h.last != 100 {
		t.Fatalf("without subscribers: ring %d entries, %d bytes, last %d; want empty and last 100", len(h.ring), h.bytes, h.last)
	}
	if _, _, ok := h.Since(50, &eventlog.Filter{}, 10); ok {
		t.Errorf("since(50) answered from an empty ring; want the store")
	}
	unsubscribe := h.Subscribe()
	for id := int64(101); id <= 110; id++ {
		h.Publish(written(id))
	}
	out, _, ok := h.Since(100, &eventlog.Filter{}, 100)
	if !ok || len(out) != 10 || out[0].ID != 101 {
		t.Errorf("since(100) with a subscriber = %d entries (ok %v), want 101..110", len(out), ok)
	}
	unsubscribe()
	if h.ring != nil || h.bytes != 0 {
		t.Errorf("after the last subscriber left the ring holds %d entries, %d bytes", len(h.ring), h.bytes)
	}
}

// Entries arrive with their children after them: the ring holds them in
// that order, and a batch whose ids do not follow on (another process
// committed in between) is left to the loader.
func TestHubPublishChildren(t *testing.T) {
	h := newTestHub(1 << 20)
	h.last = 10
	child := func(id int64) eventlog.Event { return eventlog.Event{ID: id, SourceID: id - 1} }
	h.Publish([]eventlog.Written{
		{Event: eventlog.Event{ID: 11}, Children: []eventlog.Event{child(12), child(13)}},
		{Event: eventlog.Event{ID: 14}},
		{Event: eventlog.Event{ID: 15}, Children: []eventlog.Event{child(16)}},
	})
	var ids []int64
	for _, e := range h.ring {
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[11 12 13 14 15 16]" || h.last != 16 {
		t.Fatalf("ring ids %v, last %d; want 11..16 and last 16", ids, h.last)
	}
	h.Publish([]eventlog.Written{{Event: eventlog.Event{ID: 17}, Children: []eventlog.Event{child(19)}}})
	if len(h.ring) != 6 || h.last != 16 || h.known != 19 {
		t.Errorf("after a batch with a gap: ring %d entries, last %d, known %d; want 6, 16, 19 (left to the loader)", len(h.ring), h.last, h.known)
	}
}

// Without a stream, publishing keeps nothing and copies nothing, whatever
// the batch's size: one allocation, the streams' new wake channel.
func TestHubPublishWithoutStreamsCopiesNothing(t *testing.T) {
	h := New(nil, slog.New(slog.DiscardHandler), 1<<20, time.Hour)
	batch := make([]eventlog.Written, 1000)
	next := int64(1)
	allocs := testing.AllocsPerRun(20, func() {
		for i := range batch {
			batch[i].Event.ID = next
			next++
		}
		h.Publish(batch)
	})
	if allocs != 1 || h.last != next-1 {
		t.Errorf("Publish of 1,000 entries without streams: %v allocations, last %d; want 1 and %d", allocs, h.last, next-1)
	}
}

// BenchmarkHubPublishFull measures publishing one entry to a full ring,
// as every commit does once the log has grown past the ring's bound.
func BenchmarkHubPublishFull(b *testing.B) {
	h := newTestHub(16 << 20)
	id := int64(0)
	for h.bytes < 16<<20-1000 {
		id++
		h.Publish(written(id))
	}
	b.ResetTimer()
	for b.Loop() {
		id++
		h.Publish(written(id))
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

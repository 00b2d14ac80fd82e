package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeAppender numbers entries like the store and records each append. It
// refuses any append holding an entry whose object id is "bad", and holds
// the first append until release is closed (when release is set).
type fakeAppender struct {
	mu      sync.Mutex
	last    int64
	batches []int
	release chan struct{}
	started chan struct{}
}

func (f *fakeAppender) Append(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	if f.release != nil {
		select {
		case f.started <- struct{}{}:
		default:
		}
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, len(writes))
	for _, w := range writes {
		if w.Event.ObjectID == "bad" {
			return nil, errors.New("refused")
		}
		if w.Event.ObjectID == "lost" {
			return nil, fmt.Errorf("%w: connection reset", eventlog.ErrOutcomeUnknown)
		}
	}
	out := make([]eventlog.Written, len(writes))
	for i, w := range writes {
		f.last++
		w.Event.ID = f.last
		out[i] = eventlog.Written{Event: w.Event}
	}
	return out, nil
}

func (f *fakeAppender) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.batches...)
}

func entries(prefix string, n int) []eventlog.Write {
	out := make([]eventlog.Write, n)
	for i := range out {
		out[i] = eventlog.Write{Event: eventlog.Event{ObjectID: fmt.Sprintf("%s-%d", prefix, i)}}
	}
	return out
}

// queueWrites starts one Write per batch and returns their outcomes, in
// the order of batches, once all have returned.
func queueWrites(c *Committer, batches [][]eventlog.Write) func() []writeResult {
	results := make([]writeResult, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.Write(context.Background(), b)
			results[i] = writeResult{out, err}
		}()
	}
	return func() []writeResult { wg.Wait(); return results }
}

// waitQueued waits until n writes wait in the committer's queue.
func waitQueued(t *testing.T, c *Committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10s, want %d", len(c.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCommitterGroupsQueuedWrites(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 100, time.Minute, nil, nil)
	defer c.Close()

	// The first write holds the store; the next ten queue behind it.
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	var batches [][]eventlog.Write
	for i := range 10 {
		batches = append(batches, entries(fmt.Sprint("w", i), 1+i%3))
	}
	done := queueWrites(c, batches)
	waitQueued(t, c, 10)
	close(f.release)
	firstDone()
	results := done()

	if got := f.sizes(); len(got) != 2 || got[0] != 1 || got[1] != 19 {
		t.Errorf("append sizes = %v, want [1 19]: one append for the ten queued writes", got)
	}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("write %d error = %v", i, r.err)
		}
		if len(r.written) != len(batches[i]) {
			t.Fatalf("write %d got %d entries back, want %d", i, len(r.written), len(batches[i]))
		}
		for j, w := range r.written {
			if w.Event.ObjectID != batches[i][j].Event.ObjectID || w.Event.ID == 0 {
				t.Errorf("write %d entry %d = %q id %d, want its own entry %q with an id", i, j, w.Event.ObjectID, w.Event.ID, batches[i][j].Event.ObjectID)
			}
		}
	}
}

func TestCommitterBoundsGroup(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 5, time.Minute, nil, nil)
	defer c.Close()
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	var batches [][]eventlog.Write
	for i := range 12 {
		batches = append(batches, entries(fmt.Sprint("w", i), 1))
	}
	done := queueWrites(c, batches)
	waitQueued(t, c, 12)
	close(f.release)
	firstDone()
	done()
	for _, n := range f.sizes() {
		if n > 5 {
			t.Errorf("append sizes = %v, want none above the bound 5", f.sizes())
		}
	}
}

func TestCommitterIsolatesFailingWrite(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 100, time.Minute, nil, nil)
	defer c.Close()
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	bad := []eventlog.Write{{Event: eventlog.Event{ObjectID: "ok"}}, {Event: eventlog.Event{ObjectID: "bad"}}}
	done := queueWrites(c, [][]eventlog.Write{entries("a", 2), bad, entries("b", 1)})
	waitQueued(t, c, 3)
	close(f.release)
	firstDone()
	results := done()
	if results[1].err == nil {
		t.Errorf("the write with a refused entry succeeded")
	}
	for _, i := range []int{0, 2} {
		if results[i].err != nil {
			t.Errorf("write %d error = %v, want success despite a failing neighbour", i, results[i].err)
		}
	}
}

// A group whose outcome is unknown is not appended again write by write:
// it may be stored, and each write would be stored twice. Every caller
// gets the unknown outcome.
func TestCommitterOutcomeUnknown(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 100, time.Minute, nil, nil)
	defer c.Close()
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	lost := entries("w", 2)
	lost[1].Event.ObjectID = "lost"
	done := queueWrites(c, [][]eventlog.Write{entries("a", 1), lost, entries("b", 3)})
	waitQueued(t, c, 3)
	close(f.release)
	firstDone()
	for i, r := range done() {
		if !errors.Is(r.err, eventlog.ErrOutcomeUnknown) {
			t.Errorf("write %d error = %v, want the unknown outcome", i, r.err)
		}
	}
	if got := f.sizes(); len(got) != 2 {
		t.Errorf("append sizes = %v, want [1 6]: the group whose outcome is unknown is not appended again", got)
	}
}

func TestCommitterCloseFinishesQueuedWrites(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 100, time.Minute, nil, nil)
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	done := queueWrites(c, [][]eventlog.Write{entries("a", 1), entries("b", 1)})
	waitQueued(t, c, 2)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	close(f.release)
	<-closed
	for i, r := range append(firstDone(), done()...) {
		if r.err != nil {
			t.Errorf("write %d queued before Close: error = %v, want it committed", i, r.err)
		}
	}
	if _, err := c.Write(context.Background(), entries("late", 1)); !errors.Is(err, eventlog.ErrUnavailable) {
		t.Errorf("Write after Close error = %v, want ErrUnavailable", err)
	}
}

func TestCommitterCallerGivesUp(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	c := New(f, 100, time.Minute, nil, nil)
	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Write(ctx, entries("impatient", 1)); errc <- err }()
	waitQueued(t, c, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context error = %v, want context.Canceled", err)
	}
	close(f.release)
	firstDone()
	c.Close() // the abandoned write is still answered without blocking the loop
	if got := f.sizes(); len(got) != 2 {
		t.Errorf("append sizes = %v, want the abandoned write appended after the first", got)
	}
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	calls []observed
}

type observed struct {
	writes, entries int
	waited, took    time.Duration
	err             error
}

func (r *recorder) GroupCommitted(writes, entries int, waited, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, observed{writes, entries, waited, took, err})
}

func TestCommitterObserver(t *testing.T) {
	f := &fakeAppender{release: make(chan struct{}), started: make(chan struct{}, 1)}
	rec := &recorder{}
	c := New(f, 100, time.Minute, nil, rec)
	defer c.Close()

	firstDone := queueWrites(c, [][]eventlog.Write{entries("first", 1)})
	<-f.started
	var batches [][]eventlog.Write
	for i := range 4 {
		batches = append(batches, entries(fmt.Sprint("w", i), 2))
	}
	done := queueWrites(c, batches)
	waitQueued(t, c, 4)
	const held = 30 * time.Millisecond
	time.Sleep(held) // the first append holds the store; the others wait
	close(f.release)
	firstDone()
	done()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 2 {
		t.Fatalf("observer told of %d appends, want 2: %+v", len(rec.calls), rec.calls)
	}
	first, second := rec.calls[0], rec.calls[1]
	if first.writes != 1 || first.entries != 1 || first.err != nil {
		t.Errorf("first append observed as %+v, want 1 write of 1 entry", first)
	}
	if first.took < held {
		t.Errorf("first append took %s, want at least the %s it held the store", first.took, held)
	}
	if second.writes != 4 || second.entries != 8 || second.err != nil {
		t.Errorf("second append observed as %+v, want 4 writes of 8 entries", second)
	}
	if second.waited < held {
		t.Errorf("second append's oldest write waited %s, want at least the %s the first append held the store", second.waited, held)
	}
}

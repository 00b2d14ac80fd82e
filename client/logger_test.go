package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeLog stores writes by idempotency key, as the server does, and
// injects faults: lose answers (store, then fail), be down (fail without
// storing), refuse an object id, or hold every call until released.
type fakeLog struct {
	mu      sync.Mutex
	byKey   map[string]int // entries stored per key
	order   []string
	calls   int
	sizes   []int
	lose    int // answers to lose after storing
	down    bool
	refused int // calls refused while down
	refuse  string
	release chan struct{}
}

func newFakeLog() *fakeLog { return &fakeLog{byKey: make(map[string]int)} }

func (f *fakeLog) LogEvents(ctx context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.sizes = append(f.sizes, len(writes))
	if f.down {
		f.refused++
		return nil, status.Error(codes.Unavailable, "down")
	}
	for i, w := range writes {
		if w.Event.ObjectID == f.refuse && f.refuse != "" {
			return nil, eventlog.Invalid(fmt.Sprintf("requests[%d].event.object_id", i), "refused")
		}
	}
	out := make([]eventlog.Written, len(writes))
	for i, w := range writes {
		k := w.Event.IdempotencyKey
		if f.byKey[k] == 0 {
			f.order = append(f.order, k)
		}
		f.byKey[k] = 1 // a key is stored once, however often it is sent
		out[i] = eventlog.Written{Event: w.Event}
	}
	if f.lose > 0 {
		f.lose--
		return nil, status.Error(codes.Unavailable, "the answer was lost")
	}
	return out, nil
}

func (f *fakeLog) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byKey)
}

func entry(obj string) eventlog.Write {
	return eventlog.Write{Event: eventlog.Event{Type: eventlog.TypeEdit, Actor: eventlog.Actor{Name: "svc"}, ContentType: "Note", ObjectID: obj}}
}

func fastRetries(cfg LoggerConfig) LoggerConfig {
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return cfg
}

// Many goroutines log; every entry is stored once, in batches, and Flush
// returns when all are stored.
func TestLoggerBatchesEveryEntryOnce(t *testing.T) {
	f := newFakeLog()
	f.lose = 5 // some answers lost after storing: retried with their keys
	l := NewLogger(f, fastRetries(LoggerConfig{BatchSize: 100}))
	const goroutines, each = 16, 300
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := l.Log(context.Background(), entry(fmt.Sprintf("%d-%d", g, i))); err != nil {
					t.Errorf("Log: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.stored(); n != goroutines*each {
		t.Errorf("%d entries stored, want %d", n, goroutines*each)
	}
	st := l.Stats()
	if st.Sent != goroutines*each || st.Retried != 5 || st.Queued != 0 {
		t.Errorf("stats %+v, want %d sent, 5 retried, none queued", st, goroutines*each)
	}
	f.mu.Lock()
	calls, big := f.calls, 0
	for _, n := range f.sizes {
		if n > 100 {
			t.Errorf("a call of %d entries, over BatchSize 100", n)
		}
		big = max(big, n)
	}
	f.mu.Unlock()
	if calls >= goroutines*each/2 || big < 2 {
		t.Errorf("%d calls for %d entries, largest %d: entries were not batched", calls, goroutines*each, big)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(context.Background(), entry("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close = %v, want ErrClosed", err)
	}
}

// A key the caller set is kept; others get one each.
func TestLoggerKeys(t *testing.T) {
	f := newFakeLog()
	l := NewLogger(f, LoggerConfig{})
	w := entry("a")
	w.Event.IdempotencyKey = "mine"
	l.Log(context.Background(), w)
	l.Log(context.Background(), entry("b"))
	l.Log(context.Background(), entry("b"))
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.order) != 3 || f.order[0] != "mine" || f.order[1] == f.order[2] {
		t.Errorf("keys stored %q, want mine and two distinct keys", f.order)
	}
}

// While the server is down the Logger retries; once it is back, everything
// is stored, once.
func TestLoggerRetriesWhileDown(t *testing.T) {
	f := newFakeLog()
	f.down = true
	l := NewLogger(f, fastRetries(LoggerConfig{}))
	for i := range 50 {
		l.Log(context.Background(), entry(fmt.Sprint(i)))
	}
	// Stay down until the Logger has been refused twice, however slow the
	// machine: a fixed sleep let a loaded run send nothing while down.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		if f.refused >= 2 || time.Now().After(deadline) {
			f.down = false
			f.mu.Unlock()
			break
		}
		f.mu.Unlock()
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.stored(); n != 50 || l.Stats().Retried == 0 {
		t.Errorf("%d stored after the outage, %+v; want 50 and retries", n, l.Stats())
	}
}

// A full queue blocks Log until its context ends (Block) or drops the
// entry at once (Drop).
func TestLoggerFullQueue(t *testing.T) {
	for _, policy := range []FullPolicy{Block, Drop} {
		f := newFakeLog()
		f.release = make(chan struct{})
		l := NewLogger(f, LoggerConfig{QueueSize: 10, WhenFull: policy})
		for i := range 10 {
			if err := l.Log(context.Background(), entry(fmt.Sprint(i))); err != nil {
				t.Fatalf("policy %d: Log %d: %v", policy, i, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := l.Log(ctx, entry("one too many"))
		cancel()
		switch policy {
		case Block:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Block: Log on a full queue = %v, want the context's deadline", err)
			}
		case Drop:
			if !errors.Is(err, ErrDropped) || l.Stats().Dropped != 1 {
				t.Errorf("Drop: Log on a full queue = %v, %+v; want ErrDropped, counted", err, l.Stats())
			}
		}
		close(f.release)
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := f.stored(); n != 10 {
			t.Errorf("policy %d: %d stored, want the 10 queued", policy, n)
		}
	}
}

// An entry the server refuses is reported and not retried; the others of
// its batch are stored.
func TestLoggerRefusedEntry(t *testing.T) {
	f := newFakeLog()
	f.refuse = "bad"
	f.release = make(chan struct{})
	var mu sync.Mutex
	var refused []string
	l := NewLogger(f, LoggerConfig{OnError: func(w eventlog.Write, err error) {
		mu.Lock()
		defer mu.Unlock()
		refused = append(refused, w.Event.ObjectID)
	}})
	for _, obj := range []string{"a", "b", "bad", "c"} {
		l.Log(context.Background(), entry(obj))
	}
	close(f.release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := f.stored(); n != 3 || len(refused) != 1 || refused[0] != "bad" || l.Stats().Failed != 1 {
		t.Errorf("%d stored, refused %v, %+v; want 3 stored and bad refused once", n, refused, l.Stats())
	}
}

// Close gives up when its context ends while the server is down, and says
// how many entries were not stored.
func TestLoggerCloseGivesUp(t *testing.T) {
	f := newFakeLog()
	f.down = true
	l := NewLogger(f, fastRetries(LoggerConfig{}))
	for i := range 7 {
		l.Log(context.Background(), entry(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := l.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with the server down = %v, want the context's deadline", err)
	}
	if err := l.Flush(context.Background()); err == nil {
		t.Error("Flush after a Close that gave up = nil, want an error")
	}
}

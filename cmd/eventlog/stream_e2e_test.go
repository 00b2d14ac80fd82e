package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// writeN logs n entries through c, from several writers at once, and
// returns the ids written.
func writeN(t *testing.T, c eventlogv1.EventLogServiceClient, n, writers int, typ eventlogv1.EventType) []int64 {
	t.Helper()
	var mu sync.Mutex
	var ids []int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				resp, err := c.LogEvent(context.Background(), &eventlogv1.LogEventRequest{
					Event: newEvent(typ, fmt.Sprint("writer", w), "Stream", fmt.Sprint(i)),
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				ids = append(ids, resp.GetEvent().GetId())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("LogEvent: %v", err)
	}
	return ids
}

// receive reads entries from a stream until it has want of them or the
// deadline passes, and returns their ids and the last position seen.
func receive(t *testing.T, stream eventlogv1.EventLogService_StreamEventsClient, want int) ([]int64, int64) {
	t.Helper()
	var ids []int64
	var last int64
	for len(ids) < want {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv after %d of %d entries: %v", len(ids), want, err)
		}
		if e := resp.GetEvent(); e != nil {
			ids = append(ids, e.GetId())
			last = e.GetId()
		} else {
			last = max(last, resp.GetHeartbeat().GetLastId())
		}
	}
	return ids, last
}

func span(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestStreamSQLite(t *testing.T) {
	testStream(t, filepath.Join(t.TempDir(), "stream.db"))
}

func TestStreamPostgres(t *testing.T) {
	testStream(t, pgtest.NewDB(t, pgtest.URL(t)))
}

func testStream(t *testing.T, db string) {
	ts := startServer(t, db, "--max-streams", "8")
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("ReplayThenLive", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		writeN(t, c, 600, 4, eventlogv1.EventType_EVENT_TYPE_EDIT)
		zero := int64(0)
		stream, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{AfterId: &zero})
		if err != nil {
			t.Fatal(err)
		}
		first, err := stream.Recv()
		if err != nil || first.GetHeartbeat() == nil || first.GetHeartbeat().GetLastId() != 0 {
			t.Fatalf("first item = %v, %v; want a heartbeat at 0", first, err)
		}
		// Entries arrive while the replay is still going on.
		done := make(chan []int64)
		go func() { done <- writeN(t, c, 400, 4, eventlogv1.EventType_EVENT_TYPE_EDIT) }()
		got, _ := receive(t, stream, 1000)
		<-done
		if diff := cmp.Diff(span(1, 1000), got); diff != "" {
			t.Errorf("replay then live: ids (-want +got):\n%s", diff)
		}
	})

	t.Run("NewOnlyAndFilters", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{EventType: "create", Actor: "WRITER1"})
		if err != nil {
			t.Fatal(err)
		}
		hb, err := stream.Recv()
		if err != nil || hb.GetHeartbeat().GetLastId() != 1000 {
			t.Fatalf("first item = %v, %v; want a heartbeat at the head, 1000", hb, err)
		}
		writeN(t, c, 40, 2, eventlogv1.EventType_EVENT_TYPE_CREATE) // writer1 writes 20
		writeN(t, c, 10, 2, eventlogv1.EventType_EVENT_TYPE_EDIT)
		got, _ := receive(t, stream, 20)
		list, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{EventType: "create", Actor: "writer1", OrderBy: "id asc", PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, e := range list.GetEvents() {
			want = append(want, e.GetId())
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("filtered stream (-listed +streamed):\n%s", diff)
		}
	})

	t.Run("ResumeManyTimesWhileWriting", func(t *testing.T) {
		start, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		after := start.GetEvents()[0].GetId()
		const total = 800
		done := make(chan []int64)
		go func() { done <- writeN(t, c, total, 4, eventlogv1.EventType_EVENT_TYPE_FETCH) }()
		rng := rand.New(rand.NewPCG(3, 4))
		var got []int64
		resumes := 0
		for len(got) < total {
			sctx, scancel := context.WithCancel(ctx)
			a := after
			stream, err := c.StreamEvents(sctx, &eventlogv1.StreamEventsRequest{AfterId: &a, EventType: "fetch"})
			if err != nil {
				t.Fatal(err)
			}
			ids, last := receive(t, stream, min(1+rng.IntN(60), total-len(got)))
			scancel() // disconnect mid-stream
			got = append(got, ids...)
			after = max(after, last)
			resumes++
		}
		written := <-done
		if diff := cmp.Diff(span(start.GetEvents()[0].GetId()+1, start.GetEvents()[0].GetId()+total), got); diff != "" {
			t.Errorf("after %d resumes, ids (-want +got):\n%s", resumes, diff)
		}
		if len(written) != total {
			t.Errorf("%d writes acknowledged, want %d", len(written), total)
		}
	})

	t.Run("TooManyStreams", func(t *testing.T) {
		// open starts a stream and waits for its first item.
		open := func(ctx context.Context) error {
			s, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}
		// Streams of earlier subtests release their slots as their
		// cancellations reach the server: retry until all 8 slots are ours.
		var sctx context.Context
		eventually(t, "8 free stream slots", func() bool {
			var scancel context.CancelFunc
			sctx, scancel = context.WithCancel(ctx)
			t.Cleanup(scancel)
			for range 8 {
				if err := open(sctx); err != nil {
					if status.Code(err) != codes.ResourceExhausted {
						t.Fatal(err)
					}
					scancel()
					return false
				}
			}
			return true
		})
		err := open(sctx)
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--max-streams") {
			t.Errorf("ninth stream: %v, want ResourceExhausted naming --max-streams", err)
		}
	})

	t.Run("BadRequest", func(t *testing.T) {
		neg := int64(-1)
		s, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{AfterId: &neg})
		if err == nil {
			_, err = s.Recv()
		}
		checkInvalid(t, err, "after_id")
	})

	t.Run("ShutdownEndsStreams", func(t *testing.T) {
		// open opens a stream and reads its first entry, waiting while the
		// streams of earlier subtests hold every slot: their cancellations
		// reach the server after those subtests end.
		open := func(req *eventlogv1.StreamEventsRequest) eventlogv1.EventLogService_StreamEventsClient {
			var s eventlogv1.EventLogService_StreamEventsClient
			eventually(t, "a free stream slot", func() bool {
				var err error
				if s, err = c.StreamEvents(ctx, req); err == nil {
					_, err = s.Recv()
				}
				if status.Code(err) == codes.ResourceExhausted {
					return false
				}
				if err != nil {
					t.Fatal(err)
				}
				return true
			})
			return s
		}
		s := open(&eventlogv1.StreamEventsRequest{})
		// A subscriber that stopped reading, with the whole log to replay:
		// its server is stuck on flow control, and must not hold up the
		// shutdown.
		zero := int64(0)
		open(&eventlogv1.StreamEventsRequest{AfterId: &zero})
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		ts.stop(t)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("shutdown with a stuck subscriber took %s", d)
		}
		_, err := s.Recv()
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "after_id=") {
			t.Errorf("stream at shutdown: %v, want Unavailable saying where to resume", err)
		}
	})
}

// Two server processes share one PostgreSQL: entries written through one
// reach a subscriber of the other, in order, promptly.
func TestStreamAcrossServersPostgres(t *testing.T) {
	db := pgtest.NewDB(t, pgtest.URL(t))
	a := startServer(t, db)
	b := startServer(t, db)
	ca := eventlogv1.NewEventLogServiceClient(a.conn(t))
	cb := eventlogv1.NewEventLogServiceClient(b.conn(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := cb.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		start := time.Now()
		resp, err := ca.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "a", "X", fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := receive(t, stream, 1)
		if got[0] != resp.GetEvent().GetId() {
			t.Fatalf("subscriber on the other server got id %d, want %d", got[0], resp.GetEvent().GetId())
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("entry %d took %s to reach the other server, want under a second", got[0], d)
		}
	}
	// Writes through both servers interleave; the subscriber sees them all.
	var wg sync.WaitGroup
	for _, c := range []eventlogv1.EventLogServiceClient{ca, cb} {
		wg.Add(1)
		go func() { defer wg.Done(); writeN(t, c, 100, 2, eventlogv1.EventType_EVENT_TYPE_CREATE) }()
	}
	wg.Wait()
	got, _ := receive(t, stream, 200)
	if diff := cmp.Diff(span(21, 220), got); diff != "" {
		t.Errorf("ids from both servers (-want +got):\n%s", diff)
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// eventually waits up to 30 seconds for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventlog tail survives a server restart without a gap or a duplicate.
func TestTailReconnects(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tail.db")
	addr := freePort(t)
	ts := startServer(t, db, "--grpc-addr", addr)
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	writeN(t, c, 5, 1, eventlogv1.EventType_EVENT_TYPE_EDIT) // ids 1-5, before the tail

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	tailDone := make(chan error, 1)
	go func() {
		getenv := func(string) string { return "" }
		tailDone <- run(ctx, []string{"tail", "--server", addr, "--after", "2", "--max-backoff", "200ms"}, getenv, strings.NewReader(""), &out, &errOut)
	}()
	lines := func() int { return strings.Count(out.String(), "\n") }
	eventually(t, "the tail to print ids 3-5", func() bool { return lines() == 3 })
	writeN(t, c, 5, 1, eventlogv1.EventType_EVENT_TYPE_EDIT) // 6-10
	eventually(t, "the tail to print ids 6-10", func() bool { return lines() == 8 })

	ts.stop(t)
	// Written while the tail is disconnected, by another server on the file.
	other := startServer(t, db)
	writeN(t, eventlogv1.NewEventLogServiceClient(other.conn(t)), 5, 1, eventlogv1.EventType_EVENT_TYPE_EDIT) // 11-15
	other.stop(t)
	ts2 := startServer(t, db, "--grpc-addr", addr)
	writeN(t, eventlogv1.NewEventLogServiceClient(ts2.conn(t)), 5, 1, eventlogv1.EventType_EVENT_TYPE_EDIT) // 16-20
	eventually(t, "the tail to print ids 11-20", func() bool { return lines() == 18 })
	cancel()
	if err := <-tailDone; err != nil {
		t.Errorf("tail returned %v after an interrupt, want nil", err)
	}
	var got []int64
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e struct {
			ID int64 `json:"id,string"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("tail printed %q: %v", line, err)
		}
		got = append(got, e.ID)
	}
	if diff := cmp.Diff(span(3, 20), got); diff != "" {
		t.Errorf("tail output ids (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut.String(), "reconnecting") {
		t.Errorf("tail did not say it was reconnecting; stderr:\n%s", errOut.String())
	}
}

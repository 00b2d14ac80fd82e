package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestWritesWithLostAnswers runs concurrent writers (keyless and keyed,
// single entries and batches, so that the committer groups them) against
// PostgreSQL through a proxy that drops the database's answers and cuts
// connections. No write may be stored twice; an acknowledged write is
// stored once; a failed one gets UNAVAILABLE, and a keyed retry stores it
// once.
func TestWritesWithLostAnswers(t *testing.T) {
	direct := pgtest.NewDB(t, pgtest.URL(t))
	proxy, dsn := pgtest.NewProxy(t, direct)
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: dsn, OutcomeTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()

	// Writers go on until enough answers were lost, or each wrote its
	// share.
	const writers, each, drops = 12, 500, 60
	type outcome struct {
		objs  []string // one entry each
		keyed bool
		err   error
		reqs  []*eventlogv1.LogEventRequest
	}
	results := make([][]outcome, writers)
	stop := make(chan struct{})
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		for i := 0; ; i++ {
			// One fault at a time, then a quiet spell in which what
			// the server does next (retry, find out) reaches the
			// database.
			for n, wait := proxy.Dropped(), 0; i > 0 && proxy.Dropped() == n && wait < 100; wait++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			switch {
			case i%20 == 19:
				proxy.CutAll() // as a database restart does
				proxy.DropAnswers(1)
			case i%3 == 0:
				proxy.DropAnswerTo("COMMIT", nil) // a transaction's commit
			case i%3 == 1:
				// The statement that writes (the only one whose
				// parameters hold event types): on the known head it is
				// its own commit.
				proxy.DropAnswerTo("CREATE", nil)
			default:
				proxy.DropAnswers(1) // whatever comes next
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if proxy.Dropped() >= drops {
					return
				}
				size := 1 + 2*(i%2) // 1 or 3 entries
				o := outcome{keyed: (i/2)%2 == 1}
				for j := range size {
					obj := fmt.Sprintf("w%d-%d-%d", g, i, j)
					r := &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{
						EventType: eventlogv1.EventType_EVENT_TYPE_CREATE,
						Actor:     &eventlogv1.Actor{Name: "alice"}, ContentType: "Note", ObjectId: obj,
					}}
					if o.keyed {
						r.IdempotencyKey = "k-" + obj
					}
					o.objs = append(o.objs, obj)
					o.reqs = append(o.reqs, r)
				}
				if size == 1 {
					_, o.err = srv.LogEvent(ctx, o.reqs[0])
				} else {
					_, o.err = srv.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: o.reqs})
				}
				results[g] = append(results[g], o)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-faultsDone
	// Read what was stored on connections of their own: the server's
	// may have been cut.
	check, err := store.Open(ctx, store.Config{DSN: direct, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()

	count := make(map[string]int)
	var after int64
	for {
		page, err := check.List(ctx, eventlog.Filter{}, eventlog.Page{Cursor: after, Ascending: true, Limit: 1000})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, e := range page {
			count[e.ObjectID]++
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	var acked, failed int
	for _, rs := range results {
		for _, o := range rs {
			for _, obj := range o.objs {
				if count[obj] > 1 {
					t.Errorf("entry %s stored %d times (write error: %v)", obj, count[obj], o.err)
				}
			}
			if o.err == nil {
				acked++
				for _, obj := range o.objs {
					if count[obj] != 1 {
						t.Errorf("acknowledged entry %s stored %d times", obj, count[obj])
					}
				}
				continue
			}
			failed++
			if status.Code(o.err) != codes.Unavailable {
				t.Errorf("write of %v failed with %v, want UNAVAILABLE", o.objs, o.err)
			}
			if !o.keyed {
				continue
			}
			// The retry the error asks for.
			var err error
			for try := 0; try < 5; try++ {
				if len(o.reqs) == 1 {
					_, err = srv.LogEvent(ctx, o.reqs[0])
				} else {
					_, err = srv.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: o.reqs})
				}
				if status.Code(err) != codes.Unavailable {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Errorf("retry of %v with its keys: %v", o.objs, err)
				continue
			}
			for _, obj := range o.objs {
				e, err := check.List(ctx, eventlog.Filter{ObjectID: obj}, eventlog.Page{Limit: 10})
				if err != nil || len(e) != 1 {
					t.Errorf("after a keyed retry, entry %s stored %d times (%v)", obj, len(e), err)
				}
			}
		}
	}
	t.Logf("%d writes acknowledged, %d failed; %d answers dropped", acked, failed, proxy.Dropped())
	if proxy.Dropped() == 0 {
		t.Error("no answer was dropped: the test tested nothing")
	}
}

// TestWriteOutcomeUnknown loses the answer to a commit and keeps the
// database out of reach: the writer is told UNAVAILABLE, that the write
// may have been stored, and to retry with an idempotency key; the retry
// returns the stored entry.
func TestWriteOutcomeUnknown(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDB(t, pgtest.URL(t)))
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: dsn, OutcomeTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.Close()
	req := &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{
		EventType: eventlogv1.EventType_EVENT_TYPE_CREATE,
		Actor:     &eventlogv1.Actor{Name: "alice"}, ContentType: "Note", ObjectId: "n1",
	}, IdempotencyKey: "n1-create"}
	// The database commits, its answer is lost, and it is gone.
	proxy.DropAnswerTo("COMMIT", func() {
		proxy.SetDown(true)
		proxy.CutAll()
	})
	_, err = srv.LogEvent(ctx, req)
	if proxy.Dropped() != 1 {
		t.Fatalf("%d answers dropped, want the commit's", proxy.Dropped())
	}
	proxy.SetDown(false)
	msg := status.Convert(err).Message()
	if status.Code(err) != codes.Unavailable || !strings.Contains(msg, "may have been stored") || !strings.Contains(msg, "idempotency_key") {
		t.Fatalf("LogEvent with its answer lost and the database gone: %v, want UNAVAILABLE saying it may have been stored and to retry with an idempotency_key", err)
	}
	again, err := srv.LogEvent(ctx, req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	stored, err := st.List(ctx, eventlog.Filter{}, eventlog.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].ID != again.GetEvent().GetId() {
		t.Errorf("after the retry the log holds %d entries, want the one the retry returned (id %d)", len(stored), again.GetEvent().GetId())
	}
}

// TestOutageIsUnavailable makes the database unreachable and calls every
// RPC: each answers UNAVAILABLE (never INTERNAL), and a stream that must
// catch up from the database says where to resume.
func TestOutageIsUnavailable(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDB(t, pgtest.URL(t)))
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DSN: dsn, OutcomeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HeadPoll: time.Hour})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, stop := serveGRPC(t, srv)
	defer stop()
	event := &eventlogv1.Event{
		EventType: eventlogv1.EventType_EVENT_TYPE_CREATE,
		Actor:     &eventlogv1.Actor{Name: "alice"}, ContentType: "Note", ObjectId: "n1",
	}
	for range 3 {
		if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event}); err != nil {
			t.Fatal(err)
		}
	}

	proxy.SetDown(true)
	proxy.CutAll()
	rel := &eventlogv1.Relation{From: &eventlogv1.ObjectRef{ContentType: "Note", ObjectId: "n1"}, To: &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "e1"}}
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"LogEvent", func(ctx context.Context) error {
			_, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event})
			return err
		}},
		{"LogEvents", func(ctx context.Context) error {
			_, err := c.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: []*eventlogv1.LogEventRequest{{Event: event}, {Event: event}}})
			return err
		}},
		{"GetEvent", func(ctx context.Context) error {
			_, err := c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: 1})
			return err
		}},
		{"ListEvents", func(ctx context.Context) error {
			_, err := c.ListEvents(ctx, &eventlogv1.ListEventsRequest{})
			return err
		}},
		{"VerifyChain", func(ctx context.Context) error {
			_, err := c.VerifyChain(ctx, &eventlogv1.VerifyChainRequest{})
			return err
		}},
		{"PutRelations", func(ctx context.Context) error {
			_, err := c.PutRelations(ctx, &eventlogv1.PutRelationsRequest{Relations: []*eventlogv1.Relation{rel}})
			return err
		}},
		{"DeleteRelations", func(ctx context.Context) error {
			_, err := c.DeleteRelations(ctx, &eventlogv1.DeleteRelationsRequest{Relations: []*eventlogv1.Relation{rel}})
			return err
		}},
		{"ListRelations", func(ctx context.Context) error {
			_, err := c.ListRelations(ctx, &eventlogv1.ListRelationsRequest{})
			return err
		}},
		{"StreamEvents", func(ctx context.Context) error {
			// From the start: behind the hub, read from the database.
			s, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{AfterId: proto.Int64(0)})
			if err != nil {
				return err
			}
			for {
				if _, err := s.Recv(); err != nil {
					if !strings.Contains(status.Convert(err).Message(), "after_id=0") {
						return fmt.Errorf("%v (the message does not say where to resume)", err)
					}
					return err
				}
			}
		}},
	}
	for _, tt := range calls {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := tt.call(cctx)
		cancel()
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s with the database unreachable: %v, want UNAVAILABLE", tt.name, err)
		}
	}
}

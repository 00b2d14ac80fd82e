package server

import (
	"context"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// appendOnly is a store that only appends, in memory and without a chain:
// the benchmarks measure the server's own work on a write.
type appendOnly struct {
	Store
	mu   sync.Mutex
	last int64
	hash []byte
}

func (s *appendOnly) Append(_ context.Context, writes []eventlog.Write) ([]eventlog.Written, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]eventlog.Written, len(writes))
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i, w := range writes {
		s.last++
		e := w.Event
		e.ID, e.Time, e.Hash, e.PrevHash = s.last, now, s.hash, s.hash
		out[i] = eventlog.Written{Event: e}
	}
	return out, nil
}

func newBenchServer(b *testing.B) *Server {
	srv := New(Config{Store: &appendOnly{hash: make([]byte, eventlog.HashSize)}, TreeInterval: -1})
	b.Cleanup(srv.Close)
	return srv
}

// benchEvent is an entry as the bench sends it.
func benchEvent(i int) *eventlogv1.Event {
	n := strconv.Itoa(i % 1000)
	return &eventlogv1.Event{
		EventType:   eventlogv1.EventType_EVENT_TYPE_EDIT,
		Actor:       &eventlogv1.Actor{Id: "u" + n, Name: "user-" + n, Kind: eventlogv1.ActorKind_ACTOR_KIND_USER},
		ContentType: "Note",
		ObjectId:    "obj-" + strconv.Itoa(i),
		ObjectRepr:  "Object number " + strconv.Itoa(i),
		Details: &structpb.Struct{Fields: map[string]*structpb.Value{
			"field": structpb.NewStringValue("body"),
			"seq":   structpb.NewNumberValue(float64(i)),
		}},
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/objects/obj-" + strconv.Itoa(i),
			Protocol: "HTTP/1.1", Status: 200, UserAgent: "bench-client/1.0", RequestId: "req-" + strconv.Itoa(i),
		},
	}
}

// The server's CPU per entry of LogEvents with 1,000 entries, the request
// decoded from the wire as gRPC does and the response encoded.
func BenchmarkLogEvents(b *testing.B) {
	for _, view := range []eventlogv1.EventView{eventlogv1.EventView_EVENT_VIEW_BASIC, eventlogv1.EventView_EVENT_VIEW_FULL} {
		b.Run(view.String(), func(b *testing.B) {
			srv := newBenchServer(b)
			req := &eventlogv1.LogEventsRequest{View: view}
			for i := range eventlog.MaxBatch {
				req.Requests = append(req.Requests, &eventlogv1.LogEventRequest{Event: benchEvent(i)})
			}
			wire, err := proto.Marshal(req)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				r := &eventlogv1.LogEventsRequest{}
				if err := Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, r); err != nil {
					b.Fatal(err)
				}
				resp, err := srv.LogEvents(ctx, r)
				if err != nil {
					b.Fatal(err)
				}
				if out, err := Codec.Marshal(resp); err != nil {
					b.Fatal(err)
				} else {
					out.Free()
				}
			}
			// The processor time, every goroutine's (the committer's
			// among them, and the collector's): on a shared machine it
			// varies less than the time that passed.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*eventlog.MaxBatch), "cpu-ns/entry")
		})
	}
}

// processCPU returns the processor time the process used so far, in
// nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// The server's CPU per LogEvent from concurrent callers, whose writes the
// group committer gathers.
func BenchmarkLogEvent(b *testing.B) {
	srv := newBenchServer(b)
	wire, err := proto.Marshal(&eventlogv1.LogEventRequest{Event: benchEvent(1)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // 64 callers on 2 processors
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := &eventlogv1.LogEventRequest{}
			if err := Codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, r); err != nil {
				b.Error(err)
				return
			}
			resp, err := srv.LogEvent(ctx, r)
			if err != nil {
				b.Error(err)
				return
			}
			out, err := Codec.Marshal(resp)
			if err != nil {
				b.Error(err)
				return
			}
			out.Free()
		}
	})
}

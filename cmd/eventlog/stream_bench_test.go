package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// benchDB is a fresh database for a benchmark: PostgreSQL when
// EVENTLOG_TEST_POSTGRES is set, SQLite otherwise.
func benchDB(b *testing.B) string {
	if url := os.Getenv("EVENTLOG_TEST_POSTGRES"); url != "" {
		return pgtest.NewDB(b, url)
	}
	return filepath.Join(b.TempDir(), "bench.db")
}

// subscribe starts n streams that record, for every entry, when each of
// them received it.
func subscribe(b *testing.B, ctx context.Context, c eventlogv1.EventLogServiceClient, n int) func() map[int64][]time.Time {
	var mu sync.Mutex
	got := map[int64][]time.Time{}
	var wg sync.WaitGroup
	for range n {
		stream, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil { // the starting heartbeat
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := stream.Recv()
				if err != nil {
					return
				}
				if e := resp.GetEvent(); e != nil {
					now := time.Now()
					mu.Lock()
					got[e.GetId()] = append(got[e.GetId()], now)
					mu.Unlock()
				}
			}
		}()
	}
	return func() map[int64][]time.Time {
		wg.Wait()
		return got
	}
}

// BenchmarkStreamLatency measures the time from LogEvent's acknowledgement
// to an entry's receipt by every subscriber, with one writer writing one
// entry at a time.
func BenchmarkStreamLatency(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			ts := startServer(b, benchDB(b), "--max-streams", "200")
			cc := ts.conn(b)
			c := eventlogv1.NewEventLogServiceClient(cc)
			ctx, cancel := context.WithCancel(context.Background())
			received := subscribe(b, ctx, c, subs)
			acked := map[int64]time.Time{}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				resp, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "bench", "T", fmt.Sprint(i))})
				if err != nil {
					b.Fatal(err)
				}
				acked[resp.GetEvent().GetId()] = time.Now()
			}
			b.StopTimer()
			time.Sleep(time.Second) // the last entries arrive
			cancel()
			var lat []time.Duration
			for id, times := range received() {
				if at, ok := acked[id]; ok {
					for _, t := range times {
						lat = append(lat, max(0, t.Sub(at)))
					}
				}
			}
			if want := len(acked) * subs; len(lat) != want {
				b.Fatalf("%d receipts, want %d", len(lat), want)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkWriteWithSubscribers measures LogEvent throughput from 16
// concurrent writers with 0 and 100 subscribers attached.
func BenchmarkWriteWithSubscribers(b *testing.B) {
	for _, subs := range []int{0, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			ts := startServer(b, benchDB(b), "--max-streams", "200")
			c := eventlogv1.NewEventLogServiceClient(ts.conn(b))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			subscribe(b, ctx, c, subs)
			const writers = 16
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "bench", "T", "x")}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

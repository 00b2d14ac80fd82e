package client_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
)

// A service logs through a Logger and a consumer follows the log while the
// server is stopped (its connections cut, calls in flight with them) and
// started again, twice: every entry is stored once, and the consumer sees
// each once, in order.
func TestLoggerAndFollowAcrossRestarts(t *testing.T) {
	for name, newDB := range backends(t) {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			ts := serve(t, dsn)
			addr := ts.addr
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			producer := dial(t, addr, client.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
			logger := producer.NewLogger(client.LoggerConfig{BatchSize: 50, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
			consumer := dial(t, addr, client.WithBackoff(5*time.Millisecond, 50*time.Millisecond))

			const writers, each = 8, 150
			const total = writers * each
			seen := make(map[string]int)
			var order []int64
			followed := make(chan error, 1)
			go func() {
				for e, err := range consumer.Follow(ctx, eventlog.Filter{}, 0) {
					if err != nil {
						followed <- err
						return
					}
					seen[e.ObjectID]++
					order = append(order, e.ID)
					if len(order) == total {
						break
					}
				}
				followed <- nil
			}()

			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						e := write(i)
						e.Event.ObjectID = fmt.Sprintf("w%d-%d", w, i)
						if err := logger.Log(ctx, e); err != nil {
							t.Errorf("Log: %v", err)
							return
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			for range 2 {
				time.Sleep(150 * time.Millisecond)
				ts.stop()
				time.Sleep(100 * time.Millisecond)
				var err error
				if ts, err = startServer(dsn, addr); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(ts.stop)
			}
			wg.Wait()
			if err := logger.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-followed; err != nil {
				t.Fatalf("Follow: %v", err)
			}
			stats := logger.Stats()
			if stats.Sent != total || stats.Failed != 0 || stats.Dropped != 0 {
				t.Errorf("logger stats %+v, want %d sent and nothing failed or dropped", stats, total)
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("the consumer saw %s %d times", k, n)
				}
			}
			if len(seen) != total {
				t.Errorf("the consumer saw %d distinct entries, want %d", len(seen), total)
			}
			for i := 1; i < len(order); i++ {
				if order[i] <= order[i-1] {
					t.Fatalf("the consumer saw id %d after %d", order[i], order[i-1])
				}
			}
			stored := 0
			for _, err := range consumer.List(ctx, eventlog.Filter{}) {
				if err != nil {
					t.Fatal(err)
				}
				stored++
			}
			if stored != total {
				t.Errorf("the log holds %d entries, want %d: each once", stored, total)
			}
			t.Logf("%+v", stats)
		})
	}
}

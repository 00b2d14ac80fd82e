package store_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/pgtest"
	"github.com/eventlog/eventlog/store"
	"github.com/jmoiron/sqlx"
)

// benchEntries is the size of the log the chain benchmarks walk.
const benchEntries = 100_000

// BenchmarkChain compares, on one log, verifying the chain with a plain
// keyset scan of the same entries (List, oldest first) and with the reads
// verification makes (ReadChain) without hashing. Each reports entries/s.
//
//	go test -run XXX -bench Chain -benchtime 3x ./store
func BenchmarkChain(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchChain(b, filepath.Join(b.TempDir(), "bench.db"))
	})
	b.Run("postgres", func(b *testing.B) {
		benchChain(b, pgtest.NewDB(b, pgtest.URL(b)))
	})
}

func benchChain(b *testing.B, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DSN: dsn})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < benchEntries; i += eventlog.MaxBatch {
		batch := make([]eventlog.Event, eventlog.MaxBatch)
		for j := range batch {
			e := ev(eventlog.TypeEdit, "alice", "Entry", fmt.Sprint(i+j))
			e.ObjectRepr = "an entry of typical size"
			e.Details = []byte(`{"field":"title","new":"` + strings.Repeat("x", 100) + `"}`)
			e.Request = eventlog.Request{RemoteAddr: "203.0.113.7", Method: "POST", Path: "/api/entries/42", Protocol: "HTTP/1.1", Status: 200}
			batch[j] = e
		}
		if _, err := s.Append(ctx, writes(batch...)); err != nil {
			b.Fatal(err)
		}
	}
	// Settle the database after the bulk insert (statistics, visibility,
	// cache), so that whichever benchmark runs first is not penalized.
	if s.Dialect() == "postgres" {
		db, err := sqlx.Open("postgres", dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(`VACUUM ANALYZE events`); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	if _, err := eventlog.VerifyChain(ctx, s, eventlog.VerifyOptions{}); err != nil {
		b.Fatal(err)
	}
	perSec := func(b *testing.B) {
		b.ReportMetric(float64(benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	page := eventlog.DefaultVerifyPageSize
	b.Run("verify", func(b *testing.B) {
		for range b.N {
			res, err := eventlog.VerifyChain(ctx, s, eventlog.VerifyOptions{})
			if err != nil || res.Break != nil || res.Checked != benchEntries {
				b.Fatalf("VerifyChain = %+v, %v", res, err)
			}
		}
		perSec(b)
	})
	b.Run("keyset-scan", func(b *testing.B) {
		for range b.N {
			n, p := 0, eventlog.Page{Ascending: true, Limit: page}
			for {
				events, err := s.List(ctx, eventlog.Filter{}, p)
				if err != nil {
					b.Fatal(err)
				}
				n += len(events)
				if len(events) < page {
					break
				}
				p.Cursor = events[len(events)-1].ID
			}
			if n != benchEntries {
				b.Fatalf("scanned %d entries", n)
			}
		}
		perSec(b)
	})
	b.Run("read-chain", func(b *testing.B) {
		for range b.N {
			var after int64
			n := 0
			for {
				events, err := s.ReadChain(ctx, after, math.MaxInt64, page)
				if err != nil {
					b.Fatal(err)
				}
				n += len(events)
				if len(events) < page {
					break
				}
				after = events[len(events)-1].ID
			}
			if n != benchEntries {
				b.Fatalf("read %d entries", n)
			}
		}
		perSec(b)
	})
}

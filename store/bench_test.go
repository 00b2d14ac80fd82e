package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/internal/pgtest"
)

// BenchmarkAppendChildren measures one write with 0, 10 and 100
// propagated children, as entries written per second (children included)
// and as writes per second. Compare each case with the one without
// children, from the same run.
func BenchmarkAppendChildren(b *testing.B) {
	backends := map[string]func(t testing.TB) string{
		"sqlite": func(t testing.TB) string { return filepath.Join(t.TempDir(), "bench.db") },
	}
	if url := os.Getenv("EVENTLOG_TEST_POSTGRES"); url != "" {
		backends["postgres"] = func(t testing.TB) string { return pgtest.NewDB(t, url) }
	}
	for name, newDSN := range backends {
		for _, children := range []int{0, 10, 100} {
			b.Run(fmt.Sprintf("%s/children=%d", name, children), func(b *testing.B) {
				s := openWithRules(b, newDSN(b), "", 0)
				var edges []string
				for i := range children {
					edges = append(edges, fmt.Sprintf("Note/n1 -> Entity/e%d", i))
				}
				if len(edges) > 0 {
					relate(b, s, edges...)
				}
				w := []eventlog.Write{{Event: ev(eventlog.TypeEdit, "bench", "Note", "n1")}}
				b.ResetTimer()
				for b.Loop() {
					if _, err := s.Append(context.Background(), w); err != nil {
						b.Fatal(err)
					}
				}
				secs := b.Elapsed().Seconds()
				b.ReportMetric(float64(b.N)/secs, "writes/s")
				b.ReportMetric(float64(b.N*(children+1))/secs, "entries/s")
			})
		}
	}
}

// BenchmarkAppendObjectLocality measures 1,000-entry appends whose
// entries name ever-new object ids (each insert at the right edge of the
// object index) and ones whose objects are drawn from a skewed (Zipf)
// choice among 100,000 with 1,000 actors, as real traffic is (inserts all
// over the indexes): compare the two cases' µs/entry from the same run.
func BenchmarkAppendObjectLocality(b *testing.B) {
	backends := map[string]func(t testing.TB) string{
		"sqlite": func(t testing.TB) string { return filepath.Join(t.TempDir(), "bench.db") },
	}
	if url := os.Getenv("EVENTLOG_TEST_POSTGRES"); url != "" {
		backends["postgres"] = func(t testing.TB) string { return pgtest.NewDB(t, url) }
	}
	for name, newDSN := range backends {
		for _, skewed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/skewed=%t", name, skewed), func(b *testing.B) {
				s := open(b, newDSN(b), nil)
				r := rand.New(rand.NewPCG(1, 2))
				z := rand.NewZipf(r, 1.1, 1, 100_000-1)
				pad := strings.Repeat("x", 400)
				n := 0
				batch := make([]eventlog.Event, 1000)
				for b.Loop() {
					for i := range batch {
						n++
						obj := fmt.Sprintf("new-%012d", n)
						if skewed {
							obj = fmt.Sprint("obj-", z.Uint64())
						}
						batch[i] = ev(eventlog.TypeEdit, fmt.Sprint("actor-", r.IntN(1000)), "Note", obj)
						batch[i].Details = []byte(`{"pad":"` + pad + `"}`)
					}
					if _, err := s.Append(context.Background(), writes(batch...)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/entry")
			})
		}
	}
}

// BenchmarkIntegrate measures Integrate over 1,000 new entries, as the
// server's CPU per entry (the process's: on PostgreSQL the database's is
// not in it) and the time per entry.
func BenchmarkIntegrate(b *testing.B) {
	backends := map[string]func(t testing.TB) string{
		"sqlite": func(t testing.TB) string { return filepath.Join(t.TempDir(), "bench.db") },
	}
	if url := os.Getenv("EVENTLOG_TEST_POSTGRES"); url != "" {
		backends["postgres"] = func(t testing.TB) string { return pgtest.NewDB(t, url) }
	}
	const batch = 1000
	for name, newDSN := range backends {
		b.Run(name, func(b *testing.B) {
			s := openWithRules(b, newDSN(b), "", 0)
			ctx := context.Background()
			writes := make([]eventlog.Write, batch)
			var cpu time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				for i := range writes {
					n++
					writes[i] = eventlog.Write{Event: ev(eventlog.TypeEdit, "bench", "Note", fmt.Sprint(n))}
				}
				if _, err := s.Append(ctx, writes); err != nil {
					b.Fatal(err)
				}
				runtime.GC() // the appends' garbage is not Integrate's
				cpu0 := processCPU()
				b.StartTimer()
				if h, err := s.Integrate(ctx); err != nil || h.Size != int64(n) {
					b.Fatalf("Integrate = %+v, %v; want size %d", h, err, n)
				}
				cpu += processCPU() - cpu0
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/entry")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
		})
	}
}

// processCPU returns the processor time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

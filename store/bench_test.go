package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

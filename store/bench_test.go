package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

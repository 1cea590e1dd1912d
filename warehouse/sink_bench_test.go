package warehouse

import (
	"context"
	"testing"
)

// BenchmarkSink compares the ways a batch moves into DuckDB. Run the Arrow
// one with: go test -tags duckdb_arrow -bench Sink ./warehouse/
func BenchmarkSink(b *testing.B) {
	for _, name := range sinkNames() {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			w, err := Open(ctx, b.TempDir(), Options{Sink: name})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			const size = 50000
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := w.Write(ctx, batchOf(i*size, (i+1)*size, "t")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

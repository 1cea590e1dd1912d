package warehouse

import (
	"context"
	"fmt"
	"testing"
	"time"
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

// BenchmarkBatchSize writes the same 368,640 events in transactions of
// 20,000 and of 122,880, a DuckDB row group (parts of 8,192, as ingest
// appends them), then
// checkpoints, and reports events/s with and without the checkpoint. A
// transaction of a full DuckDB row group or more is written into the table
// file at commit instead of the WAL (docs/ingest.md, "Batches and row
// groups"). Run it with: go test -run - -bench BatchSize -benchtime 1x ./warehouse/
func BenchmarkBatchSize(b *testing.B) {
	const events, part = 3 * RowGroupRows, 8192
	for _, size := range []int{20000, RowGroupRows} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ctx := context.Background()
			var commitS, totalS float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w, err := Open(ctx, b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				parts := make([]*Batch, 0, events/part)
				for lo := 0; lo < events; lo += part {
					p := batchOf(lo, min(lo+part, events), "t")
					for j := range p.Records {
						// A payload the size of a simulated event's (390 bytes on average),
						// kept sealed in the content column as ingest does.
						p.Records[j].Event.Raw = fmt.Appendf(nil, `{"schema":"cx.event/v1","event_id":"ev-%07d","type":"message",`+
							`"occurred_at":"2026-11-01T12:00:00Z","source":"test","channel":"whatsapp","conversation_id":"c-%d",`+
							`"contact":{"phone":"+55119%08d","name":"Cliente %d"},"actor":{"kind":"customer"},`+
							`"message":{"direction":"inbound","text":"Meu pedido %d não chegou, podem verificar o rastreio por favor?"}}`,
							lo+j, (lo+j)/4, (lo+j)/4, lo+j, lo+j)
					}
					parts = append(parts, p)
				}
				b.StartTimer()
				start := time.Now()
				var tx *Txn
				inTx := 0
				for _, p := range parts {
					for lo := 0; lo < len(p.Records); {
						if tx == nil {
							if tx, err = w.Begin(ctx); err != nil {
								b.Fatal(err)
							}
						}
						hi := min(len(p.Records), lo+size-inTx)
						q := &Batch{Records: p.Records[lo:hi], StartedAt: p.StartedAt}
						if _, err := tx.Append(ctx, q); err != nil {
							b.Fatal(err)
						}
						inTx += hi - lo
						lo = hi
						if inTx == size {
							if _, err := tx.Commit(ctx); err != nil {
								b.Fatal(err)
							}
							tx, inTx = nil, 0
						}
					}
				}
				if tx != nil {
					if _, err := tx.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
				committed := time.Since(start)
				if _, err := w.DB.Exec("checkpoint"); err != nil {
					b.Fatal(err)
				}
				commitS += committed.Seconds()
				totalS += time.Since(start).Seconds()
				b.StopTimer()
				w.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*events)/commitS, "events/s")
			b.ReportMetric(float64(b.N*events)/totalS, "events/s_with_checkpoint")
		})
	}
}

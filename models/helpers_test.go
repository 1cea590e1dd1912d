package models

import (
	"context"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// testKey is a fixed hash key, so expected keys can be computed in tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func testConfig() Config { return Config{HashKey: testKey} }

func openWarehouse(tb testing.TB) *warehouse.Warehouse {
	tb.Helper()
	w, err := warehouse.Open(context.Background(), tb.TempDir(), warehouse.Options{HashKey: testKey})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	return w
}

// writeJSON decodes canonical JSON events through the real decoder and
// writes them as one batch, with Kafka coordinates ("golden", 0, offset).
func writeJSON(tb testing.TB, w *warehouse.Warehouse, offset *int64, msgs ...string) {
	tb.Helper()
	writeJSONWith(tb, w, event.Decoder{}, offset, msgs...)
}

// writeJSONWith is writeJSON through dec.
func writeJSONWith(tb testing.TB, w *warehouse.Warehouse, dec event.Decoder, offset *int64, msgs ...string) {
	tb.Helper()
	b := &warehouse.Batch{StartedAt: time.Now()}
	for _, m := range msgs {
		ev, err := dec.Decode([]byte(m))
		if err != nil {
			tb.Fatalf("decoding %s: %v", m, err)
		}
		b.Records = append(b.Records, warehouse.Record{Event: ev, Topic: "golden", Partition: 0, Offset: *offset})
		*offset++
	}
	if _, err := w.Write(context.Background(), b); err != nil {
		tb.Fatal(err)
	}
}

// loadSimulated writes about n simulated messages (seed 1, 30 days) in
// batches of batchSize; invalid messages are skipped. It returns the number
// of events written (duplicates included; the warehouse drops them).
func loadSimulated(tb testing.TB, w *warehouse.Warehouse, n, batchSize int) int {
	tb.Helper()
	g := simulate.New(simulate.Config{Seed: 1, PerDay: simulate.PerDayFor(int64(n), 30)})
	return loadFrom(tb, w, g, 0, n, batchSize)
}

// loadFrom writes the next n messages of g, with offsets from first.
func loadFrom(tb testing.TB, w *warehouse.Warehouse, g *simulate.Generator, first, n, batchSize int) int {
	tb.Helper()
	var dec event.Decoder
	written := 0
	b := &warehouse.Batch{StartedAt: time.Now()}
	flush := func() {
		if len(b.Records) == 0 {
			return
		}
		if _, err := w.Write(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
		b = &warehouse.Batch{StartedAt: time.Now()}
	}
	for i := 0; i < n; i++ {
		m := g.Next()
		ev, err := dec.Decode(m.Value)
		if err != nil {
			continue
		}
		b.Records = append(b.Records, warehouse.Record{Event: ev, Topic: "sim", Partition: 0, Offset: int64(first + i)})
		written++
		if len(b.Records) == batchSize {
			flush()
		}
	}
	flush()
	return written
}

func mustBuild(tb testing.TB, w *warehouse.Warehouse, cfg Config, full bool) Stats {
	tb.Helper()
	st, err := Build(context.Background(), w.DB, cfg, full)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func mustPassDataTests(tb testing.TB, w *warehouse.Warehouse) {
	tb.Helper()
	failures, err := Test(context.Background(), w.DB)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range failures {
		tb.Errorf("data test failed: %s", f)
	}
}

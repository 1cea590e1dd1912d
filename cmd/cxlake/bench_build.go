package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// warehouseBuilder fills a warehouse with simulated messages through the
// same assemble-and-write path as ingest, without Kafka: the benchmarks that
// measure what comes after ingest start from it.
type warehouseBuilder struct {
	wh     *warehouse.Warehouse
	gen    *simulate.Generator
	asm    ingest.Assembler
	offset int64
	log    io.Writer // progress lines; nil for none
}

// newWarehouseBuilder sizes the generator's 30 days for total messages, so
// that messages added after the first n are the latest in time, as in a live stream.
func newWarehouseBuilder(wh *warehouse.Warehouse, total int, log io.Writer) *warehouseBuilder {
	gen := simulate.New(simulate.Config{Seed: 1, PerDay: simulate.PerDayFor(int64(total), 30)})
	return &warehouseBuilder{wh: wh, gen: gen, log: log}
}

// add writes n more messages in batches of 50,000.
func (b *warehouseBuilder) add(ctx context.Context, n int) error {
	const batch = 50_000
	start, last := time.Now(), time.Now()
	for done := 0; done < n; {
		msgs := make([]ingest.Message, 0, min(batch, n-done))
		for len(msgs) < cap(msgs) {
			m := b.gen.Next()
			msgs = append(msgs, ingest.Message{Topic: "bench", Offset: b.offset, Key: m.Key, Value: m.Value})
			b.offset++
		}
		if _, err := b.wh.Write(ctx, b.asm.Assemble(msgs)); err != nil {
			return fmt.Errorf("building the benchmark warehouse: %w", err)
		}
		done += len(msgs)
		if b.log != nil && (time.Since(last) > 2*time.Second || done == n) {
			last = time.Now()
			fmt.Fprintf(b.log, "  %d/%d messages written (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
		}
	}
	return nil
}

// fill brings the warehouse to n messages: it writes them, or, when a kept
// --dir already holds a warehouse built from the first n messages, only
// moves the generator past them, so that repeated runs skip the build.
func (b *warehouseBuilder) fill(ctx context.Context, n int) error {
	var built int64
	if err := b.wh.DB.QueryRowContext(ctx, `select coalesce(sum(messages), 0) from ingest_batches where topic = 'bench'`).Scan(&built); err != nil {
		return fmt.Errorf("reading the benchmark warehouse: %w", err)
	}
	if built == int64(n) {
		if b.log != nil {
			fmt.Fprintf(b.log, "reusing the warehouse of %d messages in --dir\n", n)
		}
		for range n {
			b.gen.Next()
		}
		b.offset = int64(n)
		return nil
	}
	if built != 0 {
		return fmt.Errorf("--dir holds a benchmark warehouse of %d messages, not %d: use an empty --dir", built, n)
	}
	if b.log != nil {
		fmt.Fprintf(b.log, "building a warehouse of %d messages…\n", n)
	}
	return b.add(ctx, n)
}

// benchWarehouse is the working warehouse of a benchmark that starts from
// built models: its folder (kept with --dir, else temporary), the open
// warehouse, the models settings, and where progress goes (nil with --json).
type benchWarehouse struct {
	dir    string
	wh     *warehouse.Warehouse
	models models.Config
	log    io.Writer
}

// openBenchWarehouse opens the warehouse under keep (or a temporary folder).
// close closes it and removes a temporary folder.
func openBenchWarehouse(ctx context.Context, keep string, asJSON bool) (b *benchWarehouse, close func(), err error) {
	dir, cleanup, err := benchDir(keep)
	if err != nil {
		return nil, nil, err
	}
	wh, err := warehouse.Open(ctx, filepath.Join(dir, "data"), warehouse.Options{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	mc, err := modelConfig(wh, models.Config{})
	if err != nil {
		wh.Close()
		cleanup()
		return nil, nil, err
	}
	b = &benchWarehouse{dir: dir, wh: wh, models: mc, log: os.Stderr}
	if asJSON {
		b.log = nil
	}
	return b, func() { wh.Close(); cleanup() }, nil
}

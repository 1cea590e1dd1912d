package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

func runLoad(ctx context.Context, args []string) (err error) {
	fs := newFlags("load", "load --data DIR [--memory SIZE] FILE|-")
	data := dataFlag(fs)
	batch := fs.Int("batch-size", ingest.Defaults().BatchSize, "lines per transaction")
	path := fs.String("config", "", "config file with models settings (FCR window, SLAs, business hours), governance (retention) and memory")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("give one NDJSON file to load, or - for stdin")
	}
	if *batch < 1 {
		return fmt.Errorf("--batch-size is %d: use a positive number", *batch)
	}
	cfg := config.Defaults()
	if *path != "" {
		var err error
		if cfg, err = config.Load(*path); err != nil {
			return err
		}
	}
	ms, err := mem.settings(cfg.Memory)
	if err != nil {
		return err
	}
	var in io.Reader = os.Stdin
	name := "stdin"
	if fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("opening input: %w", err)
		}
		defer f.Close()
		in, name = f, fs.Arg(0)
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{HashKey: cfg.Models.HashKey, Memory: ms})
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	mc, err := modelConfig(wh, cfg.Models)
	if err != nil {
		return err
	}
	gv, err := openGoverned(ctx, wh, cfg.Governance, mc, slog.Default())
	if err != nil {
		return err
	}
	defer closeAtEnd(closerFunc(gv.close), &err)
	start := time.Now()
	stats := &ingest.Stats{}
	if err := ingest.LoadWith(ctx, wh, in, name, *batch, event.DefaultMaxBytes, stats, gv.batch); err != nil {
		return err
	}
	pub, err := wh.Publish(ctx)
	gv.published(pub) // what was recorded before a failure stays published
	if err != nil {
		return fmt.Errorf("%w (%d events were published in %d chunks; the next load or run continues from there)", err, pub.Events, pub.Chunks)
	}
	refresh, err := gv.refresher(wh, cfg.Models)
	if err != nil {
		return err
	}
	if err := refresh(ctx); err != nil {
		return fmt.Errorf("refreshing models: %w", err)
	}
	fmt.Printf("loaded %s in %s: %d lines, %d new events, %d duplicates, %d dead letters\n",
		name, time.Since(start).Round(time.Millisecond), stats.Messages.Load(), stats.Accepted.Load(),
		stats.Duplicates.Load(), stats.DeadLetters.Load())
	if n, m := stats.Suppressed.Load(), stats.Expired.Load(); n+m > 0 {
		fmt.Printf("  dropped by governance: %d naming erased people, %d older than the raw-events retention\n", n, m)
	}
	fmt.Printf("  published %d events to the lake (batches %d to %d) in %d chunks, %d files\n",
		pub.Events, pub.FromBatchID+1, pub.ToBatchID, pub.Chunks, pub.Files)
	for code, n := range stats.DeadLettersByReason() {
		fmt.Printf("  dead letters %-20s %d\n", code, n)
	}
	if stats.DeadLetters.Load() > 0 {
		fmt.Printf("see them with: cxlake query --data %s \"select \\\"offset\\\" as line, reason from dead_letters where topic = 'file:%s'\"\n", *data, name)
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

func runLoad(ctx context.Context, args []string) error {
	fs := newFlags("load", "load --data DIR FILE|-")
	data := fs.String("data", "cxlake-data", "data directory")
	batch := fs.Int("batch-size", 20000, "events per transaction")
	path := fs.String("config", "", "config file with models settings (FCR window, SLAs, business hours)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("give one NDJSON file to load, or - for stdin")
	}
	if *batch < 1 {
		return fmt.Errorf("--batch-size is %d: use a positive number", *batch)
	}
	mc, err := loadModelsConfig(*path)
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
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{})
	if err != nil {
		return err
	}
	defer wh.Close()
	start := time.Now()
	stats := &ingest.Stats{}
	if err := ingest.Load(ctx, wh, in, name, *batch, event.DefaultMaxBytes, stats); err != nil {
		return err
	}
	if _, err := wh.Publish(ctx); err != nil {
		return err
	}
	refresh, err := modelRefresher(wh, mc)
	if err != nil {
		return err
	}
	if err := refresh(ctx); err != nil {
		return fmt.Errorf("refreshing models: %w", err)
	}
	fmt.Printf("loaded %s in %s: %d lines, %d new events, %d duplicates, %d dead letters\n",
		name, time.Since(start).Round(time.Millisecond), stats.Messages.Load(), stats.Accepted.Load(),
		stats.Duplicates.Load(), stats.DeadLetters.Load())
	for code, n := range stats.DeadLettersByReason() {
		fmt.Printf("  dead letters %-20s %d\n", code, n)
	}
	if stats.DeadLetters.Load() > 0 {
		fmt.Printf("see them with: cxlake query --data %s \"select \\\"offset\\\" as line, reason from dead_letters where topic = 'file:%s'\"\n", *data, name)
	}
	return nil
}

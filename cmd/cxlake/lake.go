package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/warehouse"
)

const lakeUsage = "lake verify|compact --data DIR [--config FILE] [--rebuild]"

// runLake is `cxlake lake verify` (the files against the manifest) and
// `cxlake lake compact` (merge small files; docs/tables.md).
func runLake(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "compact") {
		return fmt.Errorf("name verify or compact\nUsage: cxlake %s", lakeUsage)
	}
	sub := args[0]
	fs := newFlags("lake "+sub, lakeUsage)
	data := dataFlag(fs)
	cfgPath := fs.String("config", "", "YAML config file for the lake.compact_* keys (compact)")
	rebuild := fs.Bool("rebuild", false, "verify: after the findings are dealt with, write the manifest afresh from the files on disk")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\nUsage: cxlake %s", fs.Arg(0), lakeUsage)
	}
	if sub == "verify" {
		return lakeVerify(ctx, *data, *rebuild)
	}
	cfg := config.Defaults()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	ms, err := mem.settings(cfg.Memory)
	if err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{Memory: ms})
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := wh.CompactLake(ctx, cfg.Compact)
	if cerr := wh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("compacted %d partition(s): %d files into %d, %d rows, in %s\n",
		res.Partitions, res.FilesBefore, res.FilesAfter, res.Rows, time.Since(start).Round(time.Millisecond))
	return nil
}

// lakeVerify prints each finding by path (lake paths hold dates, channel
// names and batch numbers: no personal data) and fails when there is one.
func lakeVerify(ctx context.Context, data string, rebuild bool) error {
	if rebuild {
		// The writer's lock: no publication may run meanwhile.
		wh, err := warehouse.Open(ctx, data, warehouse.Options{})
		if err != nil {
			return err
		}
		err = warehouse.RebuildLakeManifest(ctx, data)
		if cerr := wh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Println("lake manifest rebuilt from the files on disk")
	}
	found, err := warehouse.VerifyLake(ctx, data)
	if err != nil {
		return err
	}
	for _, f := range found {
		fmt.Println(f.String())
	}
	if len(found) > 0 {
		return fmt.Errorf("the lake differs from its manifest in %d file(s) (docs/operations.md: the lake)", len(found))
	}
	m, _, err := warehouse.ReadLakeManifest(data)
	if err != nil {
		return err
	}
	var rows int64
	for _, f := range m.Files {
		rows += f.Rows
	}
	fmt.Printf("lake ok: %d files, %d rows, as the manifest records\n", len(m.Files), rows)
	return nil
}

// compactOnSchedule compacts the lake every cfg.CompactEvery until ctx
// ends (`run`); a failure is logged and retried at the next tick.
func compactOnSchedule(ctx context.Context, wh *warehouse.Warehouse, cfg config.Config, log *slog.Logger) {
	if cfg.CompactEvery <= 0 {
		return
	}
	t := time.NewTicker(cfg.CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := wh.CompactLake(ctx, cfg.Compact)
			if err != nil && ctx.Err() == nil {
				log.Error("lake compaction failed; will retry", "err", warehouse.ExplainMemory(err))
			} else if res.Partitions > 0 {
				log.Info("lake compacted", "partitions", res.Partitions, "files_before", res.FilesBefore, "files_after", res.FilesAfter)
			}
		}
	}
}

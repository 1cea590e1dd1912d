package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// modelConfig completes the models settings with the warehouse's hash key:
// contact keys must be made with the key ingest hashed identifiers with.
func modelConfig(wh *warehouse.Warehouse, m models.Config) (models.Config, error) {
	m.HashKey = wh.HashKey()
	return m, nil
}

// modelRefresher returns the refresh step run while and after batches land;
// after, when not nil, gets the stats of each build (the audit log).
func modelRefresher(wh *warehouse.Warehouse, m models.Config, after func(models.Stats)) (func(context.Context) error, error) {
	cfg, err := modelConfig(wh, m)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		st, err := models.Refresh(ctx, wh.DB, cfg)
		if err != nil {
			return err
		}
		slog.Debug("models refreshed", "full", st.Full, "reason", st.Reason, "new_events", st.NewEvents,
			"conversations", st.Conversations, "took", st.Took)
		if after != nil && (st.Full || st.ToBatch != st.FromBatch) { // a refresh with nothing new is not recorded
			after(st)
		}
		return nil
	}, nil
}

func runRefresh(ctx context.Context, args []string) (err error) {
	fs := newFlags("refresh", "refresh --data DIR [--full] [--config FILE] [--memory SIZE]")
	data := dataFlag(fs)
	full := fs.Bool("full", false, "rebuild every model from all events instead of refreshing what changed")
	path := fs.String("config", "", "config file with models settings (FCR window, SLAs, business hours) and memory")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg0 := config.Defaults()
	if *path != "" {
		if cfg0, err = config.Load(*path); err != nil {
			return err
		}
	}
	ms, err := mem.settings(cfg0.Memory)
	if err != nil {
		return err
	}
	mc := cfg0.Models
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{HashKey: mc.HashKey, Memory: ms})
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	cfg, err := modelConfig(wh, mc)
	if err != nil {
		return err
	}
	st, err := models.Build(ctx, wh.DB, cfg, *full)
	if err != nil {
		return fmt.Errorf("refreshing models: %w", err)
	}
	kind := "incremental refresh"
	if st.Full {
		kind = "full rebuild"
		if st.Reason != "" {
			kind += " (" + st.Reason + ")"
		}
	}
	fmt.Printf("%s in %s: %d new events, %d conversations and %d people recomputed\n",
		kind, st.Took.Round(1e6), st.NewEvents, st.Conversations, st.Contacts)
	failures, err := models.Test(ctx, wh.DB)
	if err != nil {
		return fmt.Errorf("running data tests: %w", err)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(os.Stderr, "data test failed: %s\n", f)
		}
		return fmt.Errorf("%d data tests failed", len(failures))
	}
	fmt.Println("data tests: all passed")
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/cxlake/cxlake/models"
)

type modelsBench struct {
	Events              int     `json:"events"`
	FullRebuildS        float64 `json:"full_rebuild_s"`
	IncrementalRefreshS float64 `json:"incremental_refresh_s"`
	IncrementalEvents   int     `json:"incremental_events"`
	PeakRSSBytes        int64   `json:"peak_rss_bytes"`
	Conversations       int64   `json:"conversations"`
	Contacts            int64   `json:"contacts"`
}

// benchModels builds a warehouse of N simulated messages, times a full
// rebuild of every model, then adds 10,000 more and times the refresh.
func benchModels(ctx context.Context, args []string) error {
	fs := newFlags("bench models", "bench models --events N [--json]")
	n := fs.Int("events", 5_000_000, "messages in the warehouse before the rebuild")
	extra := fs.Int("add", 10_000, "messages added before the incremental refresh")
	asJSON := fs.Bool("json", false, "print one JSON object")
	keep := fs.String("dir", "", "work in this folder and keep it (default: a temporary folder, removed); a kept warehouse is reused")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile of the full rebuild to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *extra < 1 {
		return fmt.Errorf("--events and --add must be positive")
	}
	bw, closeBench, err := openBenchWarehouse(ctx, *keep, *asJSON)
	if err != nil {
		return err
	}
	defer closeBench()
	wh, cfg, log := bw.wh, bw.models, bw.log
	b := newWarehouseBuilder(wh, *n+*extra, log)
	if err := b.fill(ctx, *n); err != nil {
		return err
	}
	if _, err := wh.DB.ExecContext(ctx, "checkpoint"); err != nil {
		return fmt.Errorf("checkpointing before the rebuild: %w", err)
	}
	resetPeakRSS()
	stopProfile, err := startProfile(*cpuprof)
	if err != nil {
		return err
	}
	full, err := models.Rebuild(ctx, wh.DB, cfg)
	stopProfile()
	if err != nil {
		return fmt.Errorf("full rebuild: %w", err)
	}
	var lastBatch int64
	if err := wh.DB.QueryRowContext(ctx, "select max(batch_id) from ingest_batches").Scan(&lastBatch); err != nil {
		return fmt.Errorf("reading the last batch: %w", err)
	}
	if err := b.add(ctx, *extra); err != nil {
		return err
	}
	if *keep != "" { // leave --dir as it was built, for the next run
		defer func() {
			for _, t := range []string{"events", "ingest_batches", "dead_letters"} {
				_, _ = wh.DB.ExecContext(ctx, fmt.Sprintf("delete from %s where batch_id > %d", t, lastBatch))
			}
		}()
	}
	inc, err := models.Refresh(ctx, wh.DB, cfg)
	if err != nil {
		return fmt.Errorf("incremental refresh: %w", err)
	}
	if inc.Full {
		return fmt.Errorf("the refresh after adding events rebuilt everything (%s)", inc.Reason)
	}
	r := modelsBench{Events: *n, FullRebuildS: full.Took.Seconds(), IncrementalRefreshS: inc.Took.Seconds(),
		IncrementalEvents: *extra, PeakRSSBytes: peakRSS(), Conversations: full.Conversations, Contacts: full.Contacts}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("events                %d (%d conversations, %d people)\n", r.Events, r.Conversations, r.Contacts)
	fmt.Printf("full rebuild          %.2f s\n", r.FullRebuildS)
	fmt.Printf("incremental refresh   %.3f s after %d more messages (%d conversations recomputed)\n", r.IncrementalRefreshS, *extra, inc.Conversations)
	fmt.Printf("peak RSS              %.0f MiB (rebuild and refresh)\n", float64(r.PeakRSSBytes)/(1<<20))
	printSteps("slowest steps of the full rebuild", full.Steps)
	printSteps("slowest steps of the refresh", inc.Steps)
	return nil
}

func printSteps(title string, steps []models.StepTiming) {
	s := append([]models.StepTiming(nil), steps...)
	for i := range s { // selection of the 5 slowest, in order
		for j := i + 1; j < len(s); j++ {
			if s[j].Took > s[i].Took {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	fmt.Printf("%s:\n", title)
	for _, st := range s[:min(5, len(s))] {
		fmt.Printf("  %-42s %s\n", st.Name, st.Took.Round(time.Millisecond))
	}
}

// benchDir returns the benchmark's working folder: keep if given (created),
// else a temporary one that cleanup removes.
func benchDir(keep string) (string, func(), error) {
	if keep != "" {
		if err := os.MkdirAll(keep, 0o750); err != nil {
			return "", nil, fmt.Errorf("creating --dir: %w", err)
		}
		return keep, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "cxlake-bench-")
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// startProfile starts a CPU profile into path ("" for none) and returns its stop.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

type eraseBench struct {
	Events         int              `json:"events"`
	EraseOneS      float64          `json:"erase_one_s"`
	EraseOneEvents int64            `json:"erase_one_events"` // what that person touched
	EraseOneFiles  int              `json:"erase_one_lake_files"`
	EraseOneSteps  map[string]int64 `json:"erase_one_steps_ms"`
	Erase100S      float64          `json:"erase_100_s"`
	Erase100Events int64            `json:"erase_100_events"`
	Erase100Files  int              `json:"erase_100_lake_files"`
	// Reference: what rewriting everything costs in the same run.
	LakeFullRewriteS  float64 `json:"lake_full_rewrite_s"`
	DuckDBCompactionS float64 `json:"duckdb_compaction_s"`
	WarehouseBytes    int64   `json:"warehouse_bytes"` // the DuckDB file
	LakeBytes         int64   `json:"lake_bytes"`
	KeyStoreBytes     int64   `json:"key_store_bytes"`
	Keys              int     `json:"keys"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
}

// benchErase builds a warehouse, lake and models of N simulated messages,
// then erases one person and, separately, 100 more, timing each with its
// verification re-scan; as the reference, it times a full rewrite of the
// lake and a compaction of the DuckDB file (what a method that rewrites
// everything would pay per erasure).
func benchErase(ctx context.Context, args []string) error {
	fs := newFlags("bench erase", "bench erase --events N [--json]")
	n := fs.Int("events", 5_000_000, "messages in the warehouse")
	people := fs.Int("people", 100, "people erased in the second run")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1000 || *people < 1 {
		return fmt.Errorf("--events must be at least 1000 and --people positive")
	}
	bw, closeBench, err := openBenchWarehouse(ctx, "", *asJSON)
	if err != nil {
		return err
	}
	defer closeBench()
	wh, log, data := bw.wh, bw.log, filepath.Join(bw.dir, "data")
	say := func(format string, a ...any) {
		if log != nil {
			fmt.Fprintf(log, format+"\n", a...)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mc := bw.models
	gv, err := openGoverned(ctx, wh, governance.Defaults(), mc, quiet)
	if err != nil {
		return err
	}
	defer gv.close()
	b := newWarehouseBuilder(wh, *n, log)
	if log != nil {
		fmt.Fprintf(log, "building a warehouse and lake of %d messages…\n", *n)
	}
	// Published as the pipeline does, a slice at a time (one publication of
	// millions of events needs more than the memory limit).
	for done := 0; done < *n; {
		step := min(250_000, *n-done)
		if err := b.add(ctx, step); err != nil {
			return err
		}
		if _, err := wh.Publish(ctx); err != nil {
			return err
		}
		done += step
	}
	say("building the models…")
	if _, err := models.Rebuild(ctx, wh.DB, mc); err != nil {
		return fmt.Errorf("building the models: %w", err)
	}
	if _, err := wh.DB.ExecContext(ctx, "checkpoint"); err != nil {
		return err
	}
	targets, err := benchTargets(ctx, wh, *people+1)
	if err != nil {
		return err
	}
	r := eraseBench{Events: *n}
	resetPeakRSS()
	erase := func(id governance.Identifier) (governance.Receipt, error) {
		rc, err := gv.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "benchmark", Actor: "bench"})
		if err != nil {
			return rc, fmt.Errorf("erasing: %w", err)
		}
		return rc, nil
	}
	say("erasing one person…")
	start := time.Now()
	rc, err := erase(targets[0])
	if err != nil {
		return err
	}
	r.EraseOneS = time.Since(start).Seconds()
	r.EraseOneEvents = rc.RowsRemoved["events"]
	r.EraseOneFiles = len(rc.FilesRewritten) + len(rc.FilesRemoved)
	r.EraseOneSteps = rc.StepsMS
	say("erasing %d people…", len(targets)-1)
	start = time.Now()
	for _, id := range targets[1:] {
		rc, err := erase(id)
		if err != nil {
			return err
		}
		r.Erase100Events += rc.RowsRemoved["events"]
		r.Erase100Files += len(rc.FilesRewritten) + len(rc.FilesRemoved)
	}
	r.Erase100S = time.Since(start).Seconds()
	r.PeakRSSBytes = peakRSS()

	say("reference: rewriting the whole lake, compacting the DuckDB file…")
	if r.LakeFullRewriteS, err = rewriteLake(ctx, wh, filepath.Join(bw.dir, "lake-copy")); err != nil {
		return err
	}
	if r.DuckDBCompactionS, err = compactDuckDB(ctx, wh, filepath.Join(bw.dir, "compacted.duckdb")); err != nil {
		return err
	}
	r.WarehouseBytes = fileSize(filepath.Join(data, warehouse.DBFile))
	r.LakeBytes = dirSize(filepath.Join(data, warehouse.LakeDir))
	r.KeyStoreBytes = dirSize(filepath.Join(data, privacy.KeyStoreDir))
	r.Keys = wh.Keys().Len()
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("events                 %d\n", r.Events)
	fmt.Printf("erase one person       %.3f s (%d events, %d lake files; steps in ms: %v)\n", r.EraseOneS, r.EraseOneEvents, r.EraseOneFiles, r.EraseOneSteps)
	fmt.Printf("erase %d people       %.3f s (%.3f s each; %d events, %d lake files)\n", len(targets)-1, r.Erase100S,
		r.Erase100S/float64(len(targets)-1), r.Erase100Events, r.Erase100Files)
	fmt.Printf("reference: lake full rewrite   %.2f s; DuckDB compaction %.2f s (per erasure, were they the method)\n", r.LakeFullRewriteS, r.DuckDBCompactionS)
	fmt.Printf("warehouse              %.0f MiB DuckDB, %.0f MiB lake, key store %.1f MiB (%d keys)\n",
		float64(r.WarehouseBytes)/(1<<20), float64(r.LakeBytes)/(1<<20), float64(r.KeyStoreBytes)/(1<<20), r.Keys)
	fmt.Printf("peak RSS               %.0f MiB (erasures)\n", float64(r.PeakRSSBytes)/(1<<20))
	return nil
}

// benchTargets picks n people, each by one identifier (phone, email or
// per-channel id, in turn), spread over the key space.
func benchTargets(ctx context.Context, wh *warehouse.Warehouse, n int) ([]governance.Identifier, error) {
	rows, err := wh.DB.QueryContext(ctx, `select r.identifier_kind, i.identifier_hash, i.sealed_value
		from int_identifiers_resolved r join identifiers i using (identifier_hash)
		qualify row_number() over (partition by r.contact_key order by r.identifier_hash) = 1
		order by hash(r.contact_key) limit ?`, n)
	if err != nil {
		return nil, fmt.Errorf("picking people to erase: %w", err)
	}
	defer rows.Close()
	var out []governance.Identifier
	for rows.Next() {
		var kind, h string
		var sealed []byte
		if err := rows.Scan(&kind, &h, &sealed); err != nil {
			return nil, err
		}
		v, err := privacy.OpenIdentifier(wh.Keys(), h, sealed)
		if err != nil {
			return nil, err
		}
		out = append(out, governance.Identifier{Kind: kind, Value: v})
	}
	if len(out) < n {
		return nil, fmt.Errorf("found %d people to erase, need %d", len(out), n)
	}
	return out, rows.Err()
}

func rewriteLake(ctx context.Context, wh *warehouse.Warehouse, to string) (float64, error) {
	start := time.Now()
	src := filepath.Join(wh.Dir, warehouse.LakeDir, "events", "**", "*.parquet")
	q := fmt.Sprintf(`copy (select * from read_parquet('%s', hive_partitioning = true)) to '%s'
		(format parquet, partition_by (date, channel), compression zstd)`, strings.ReplaceAll(src, "'", "''"), strings.ReplaceAll(to, "'", "''"))
	if _, err := wh.DB.ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("rewriting the lake: %w", err)
	}
	return time.Since(start).Seconds(), nil
}

func compactDuckDB(ctx context.Context, wh *warehouse.Warehouse, to string) (float64, error) {
	start := time.Now()
	if err := wh.CopyTo(ctx, to); err != nil {
		return 0, fmt.Errorf("compacting DuckDB: %w", err)
	}
	return time.Since(start).Seconds(), nil
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

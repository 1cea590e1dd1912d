package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

const benchLakeUsage = "bench lake [--days N] [--per-minute R] [--dir DIR] [--json]"

// lakeBench is what `cxlake bench lake` reports.
type lakeBench struct {
	Days, PerMinute       int
	Rows                  int64
	Before, After, Single lakeShape
	CompactSeconds        float64
	CompactPeakRSSBytes   int64
	CompactedPartitions   int
	CompactRounds         int // merges (COPY statements) compaction ran
	CompactFilesRead      int // files they read, merged files read again included
	FullScanRatioVsSingle float64
}

type lakeShape struct {
	Files                  int
	Bytes                  int64
	FullScanSeconds        float64
	FullScanPeakRSSBytes   int64
	DayChannelSeconds      float64
	DayChannelPeakRSSBytes int64
}

// benchLake simulates the lake that `run` leaves after days of publishing
// every minute across nine channels (one file per channel and minute, as
// publication writes them), then measures scans over the glob before and
// after compaction, against one file of the same rows.
func benchLake(ctx context.Context, args []string) error {
	fs := newFlags("bench lake", benchLakeUsage)
	days := fs.Int("days", 3, "days of publications to simulate (a month is 30; 3 runs in a few minutes on 2 cores)")
	perMinute := fs.Int("per-minute", 90, "events per minute across the nine channels")
	dir := fs.String("dir", "", "data directory to build (default: a temporary one, removed after)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *days < 1 || *perMinute < 9 {
		return fmt.Errorf("--days must be at least 1 and --per-minute at least 9 (one event per channel)")
	}
	data := *dir
	if data == "" {
		tmp, err := os.MkdirTemp("", "cxlake-bench-lake-")
		if err != nil {
			return fmt.Errorf("creating the bench directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		data = tmp
	}
	r, err := runLakeBench(ctx, data, *days, 1440, *perMinute)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("lake of %d days, %d events a minute over 9 channels, published every minute: %d rows\n", r.Days, r.PerMinute, r.Rows)
	fmt.Printf("%-20s %8s %12s %14s %14s %14s %14s\n", "layout", "files", "MiB on disk", "full scan s", "full scan RSS", "day+chan s", "day+chan RSS")
	for _, x := range []struct {
		name string
		s    lakeShape
	}{{"before compaction", r.Before}, {"after compaction", r.After}, {"one file", r.Single}} {
		fmt.Printf("%-20s %8d %12.1f %14.3f %12.0fMiB %14.3f %12.0fMiB\n", x.name, x.s.Files, float64(x.s.Bytes)/(1<<20),
			x.s.FullScanSeconds, float64(x.s.FullScanPeakRSSBytes)/(1<<20), x.s.DayChannelSeconds, float64(x.s.DayChannelPeakRSSBytes)/(1<<20))
	}
	fmt.Printf("compaction: %d partitions, %d files into %d, in %d rounds reading %d files; %.2fs, peak RSS %.0f MiB\n",
		r.CompactedPartitions, r.Before.Files, r.After.Files, r.CompactRounds, r.CompactFilesRead, r.CompactSeconds, float64(r.CompactPeakRSSBytes)/(1<<20))
	fmt.Printf("full scan after compaction: %.2fx the single file\n", r.FullScanRatioVsSingle)
	return nil
}

// runLakeBench builds the lake of days of minutesPerDay publications in
// data (a day is 1440; tests use fewer) and measures it before and after
// compaction, and as one file.
func runLakeBench(ctx context.Context, data string, days, minutesPerDay, perMinute int) (lakeBench, error) {
	r := lakeBench{Days: days, PerMinute: perMinute}
	first := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days-1)
	if err := buildBenchLake(ctx, data, first, days, minutesPerDay, perMinute); err != nil {
		return r, err
	}
	r.Rows = int64(days) * int64(minutesPerDay) * int64(perMinute)
	glob := filepath.Join(data, warehouse.LakeDir, "events", "**", "*.parquet")
	day := first.Format(time.DateOnly)
	var err error
	if r.Before, err = measureLake(ctx, data, glob, day, r.Rows); err != nil {
		return r, err
	}
	wh, err := warehouse.Open(ctx, data, warehouse.Options{})
	if err != nil {
		return r, err
	}
	resetPeakRSS()
	start := time.Now()
	res, err := wh.CompactLake(ctx, warehouse.CompactOptions{Now: first.AddDate(0, 0, days+1), Grace: 6 * time.Hour, TargetBytes: 128 << 20})
	r.CompactSeconds = time.Since(start).Seconds()
	r.CompactPeakRSSBytes = peakRSS()
	r.CompactedPartitions = res.Partitions
	r.CompactRounds, r.CompactFilesRead = res.Rounds, res.FilesRead
	if cerr := wh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return r, err
	}
	if r.After, err = measureLake(ctx, data, glob, day, r.Rows); err != nil {
		return r, err
	}
	single := filepath.Join(data, "single.parquet")
	if err := withDuckDB(func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`copy (select * from read_parquet('%s', hive_partitioning = true))
			to '%s' (format parquet, compression zstd)`, sqlQuote(glob), sqlQuote(single)))
		return err
	}); err != nil {
		return r, fmt.Errorf("writing the single-file layout: %w", err)
	}
	if r.Single, err = measureLake(ctx, data, single, day, r.Rows); err != nil {
		return r, err
	}
	if r.Single.FullScanSeconds > 0 {
		r.FullScanRatioVsSingle = r.After.FullScanSeconds / r.Single.FullScanSeconds
	}
	return r, nil
}

// buildBenchLake makes data a current data directory, then places the
// simulated lake files in it and records them in the lake manifest, as
// publication would have. The warehouse is opened first: a lake found
// beside a new DuckDB file has no publication recorded, and the first Open
// takes it for a lake of an older release and publishes it again from the
// (empty) events table, which removed every simulated file.
func buildBenchLake(ctx context.Context, data string, first time.Time, days, minutesPerDay, perMinute int) error {
	if err := os.MkdirAll(data, 0o750); err != nil {
		return fmt.Errorf("creating the bench directory: %w", err)
	}
	wh, err := warehouse.Open(ctx, data, warehouse.Options{})
	if err != nil {
		return err
	}
	if err := wh.Close(); err != nil {
		return err
	}
	for d := 0; d < days; d++ {
		if err := simulateLakeDay(ctx, data, first.AddDate(0, 0, d), d, minutesPerDay, perMinute); err != nil {
			return err
		}
	}
	return warehouse.RebuildLakeManifest(ctx, data)
}

func sqlQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

func withDuckDB(f func(db *sql.DB) error) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	return f(db)
}

// simulateLakeDay writes one day of minute publications: for each of its
// first minutes, one file per channel, named as publication names them
// (batch = minute).
func simulateLakeDay(ctx context.Context, data string, day time.Time, d, minutes, perMinute int) error {
	gen := filepath.Join(data, "gen")
	n := minutes * perMinute
	base := d * 1440
	q := fmt.Sprintf(`copy (
		select 'ev-%d-' || i as event_id, 'message' as type,
			timestamptz '%s' + to_seconds((i // %d) * 60 + i %% 60) as occurred_at,
			'cx' as source, 'conv-' || (i // 7) as conversation_id,
			case when i %% 3 = 0 then 'agent' when i %% 3 = 1 then 'customer' else 'bot' end as actor_kind,
			case when i %% 3 = 1 then 'inbound' else 'outbound' end as message_direction,
			'cx.events' as kafka_topic, (i %% 6)::integer as kafka_partition, (%d + i)::bigint as kafka_offset,
			(%d + i // %d + 2)::bigint as batch_id, timestamptz '%s' + to_seconds((i // %d) * 60 + 1) as ingested_at,
			md5('p' || (i // 7)) as contact_phone_hash, md5('s' || (i // 7)) as subject_hash,
			'%s' as date,
			['whatsapp','instagram','telegram','messenger','webchat','email','sms','voice','app'][i %% 9 + 1] as channel,
			i // %d as m
		from range(%d) t(i)
	) to '%s' (format parquet, partition_by (date, channel, m), compression zstd)`,
		d, day.Format(time.RFC3339), perMinute, base*perMinute, base, perMinute, day.Format(time.RFC3339), perMinute,
		day.Format(time.DateOnly), perMinute, n, sqlQuote(gen))
	if err := withDuckDB(func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, "set preserve_insertion_order = false")
		if err == nil {
			_, err = db.ExecContext(ctx, q)
		}
		return err
	}); err != nil {
		return fmt.Errorf("simulating day %d of the lake: %w", d+1, err)
	}
	lake := filepath.Join(data, warehouse.LakeDir, "events")
	err := filepath.WalkDir(gen, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(gen, p) // date=D/channel=C/m=M/data_0.parquet
		parts := strings.Split(filepath.ToSlash(rel), "/")
		var m int
		fmt.Sscanf(parts[2], "m=%d", &m)
		// Batches from 2: a lake file of batch 1 with no publication
		// recorded is what a failed publication leaves, and Open removes it.
		b := base + m + 2
		dst := filepath.Join(lake, parts[0], parts[1], fmt.Sprintf("b%d_%d_%s.parquet", b, b, strings.TrimSuffix(parts[3], ".parquet")))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		return os.Rename(p, dst)
	})
	if err != nil {
		return fmt.Errorf("placing simulated lake files: %w", err)
	}
	return os.RemoveAll(gen)
}

// measureLake counts the files and bytes of a layout and times a full scan
// and a one-day one-channel query, each in a DuckDB of its own.
func measureLake(ctx context.Context, data, glob, day string, rows int64) (lakeShape, error) {
	var s lakeShape
	root := filepath.Join(data, warehouse.LakeDir, "events")
	if !strings.Contains(glob, "**") {
		root = glob
	}
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".parquet") {
			if st, err := e.Info(); err == nil {
				s.Files++
				s.Bytes += st.Size()
			}
		}
		return nil
	})
	src := fmt.Sprintf(`read_parquet('%s', hive_partitioning = true)`, sqlQuote(glob))
	channel := `channel = 'whatsapp' and date = '` + day + `'`
	if !strings.Contains(glob, "**") {
		src = fmt.Sprintf(`read_parquet('%s')`, sqlQuote(glob))
		channel = `false` // filled below: the single file has the columns
	}
	for i, q := range []string{
		`select count(*), count(distinct conversation_id) from ` + src,
		`select count(*), count(distinct conversation_id) from ` + src + ` where ` + channel,
	} {
		if channel == "false" && i == 1 {
			q = `select count(*), count(distinct conversation_id) from ` + src + ` where channel = 'whatsapp' and date = '` + day + `'`
		}
		resetPeakRSS()
		start := time.Now()
		var n, convs int64
		if err := withDuckDB(func(db *sql.DB) error { return db.QueryRowContext(ctx, q).Scan(&n, &convs) }); err != nil {
			return s, fmt.Errorf("scanning the lake: %w", err)
		}
		took, peak := time.Since(start).Seconds(), peakRSS()
		if i == 0 {
			if n != rows {
				return s, fmt.Errorf("a full scan counted %d rows, want %d", n, rows)
			}
			s.FullScanSeconds, s.FullScanPeakRSSBytes = took, peak
		} else {
			s.DayChannelSeconds, s.DayChannelPeakRSSBytes = took, peak
		}
	}
	return s, nil
}

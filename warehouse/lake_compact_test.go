package warehouse

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// smallFilesLake writes n spread events over days days in pubs
// publications: 9*days partitions of pubs files each.
func smallFilesLake(t *testing.T, w *Warehouse, n, days, pubs int) {
	t.Helper()
	per := n / pubs
	for i := 0; i < pubs; i++ {
		if _, err := w.Write(context.Background(), spreadBatch(i*per, (i+1)*per, days)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Publish(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// lakeIDs is the sorted multiset of event ids a glob reader sees.
func lakeIDs(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := quote(filepath.Join(dir, LakeDir, "events", "**", "*.parquet"))
	rows, err := db.Query(`select event_id from read_parquet('` + glob + `', hive_partitioning = true) order by event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// wantIDs is the sorted multiset of the event ids written by
// smallFilesLake and extra, worked out from the generator, not the lake.
func wantIDs(t *testing.T, w *Warehouse) []string {
	t.Helper()
	rows, err := w.DB.Query(`select event_id from events order by event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func filesPerPartition(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, LakeDir, "events", "*", "*", "*.parquet"))
	out := map[string]int{}
	for _, f := range files {
		out[filepath.Dir(f)]++
	}
	return out
}

func TestLakeCompactKeepsEveryRowOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	smallFilesLake(t, w, 1800, 2, 4) // 18 partitions of 4 files
	before := lakeIDs(t, dir)
	if len(before) != 1800 {
		t.Fatalf("lake holds %d rows before compaction, want 1800", len(before))
	}
	fp := filesPerPartition(t, dir)
	if len(fp) != 18 || fp[filepath.Join(dir, LakeDir, "events", "date=2026-09-01", "channel=sms")] != 4 {
		t.Fatalf("files per partition before: %v", fp)
	}
	// A partition of today is open: not merged while it has few files.
	now := time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC)
	res, err := w.CompactLake(ctx, CompactOptions{Now: now, Grace: 6 * time.Hour, MaxFiles: 64})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partitions != 9 || res.FilesBefore != 36 || res.FilesAfter != 9 || res.Rows != 900 {
		t.Fatalf("compaction of the closed day: %+v, want 9 partitions, 36 files to 9, 900 rows", res)
	}
	// Then every partition, once its day is past.
	res, err = w.CompactLake(ctx, CompactOptions{Now: now.AddDate(0, 0, 2), Grace: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partitions != 9 || res.FilesAfter != 9 {
		t.Fatalf("second compaction: %+v", res)
	}
	for p, n := range filesPerPartition(t, dir) {
		if n != 1 {
			t.Fatalf("partition %s holds %d files after compaction", p, n)
		}
	}
	if after := lakeIDs(t, dir); !slices.Equal(after, before) {
		t.Fatalf("compaction changed the rows: %d before, %d after", len(before), len(after))
	}
	if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
		t.Fatalf("verify after compaction: %v %v", found, err)
	}
	// A late event adds a file to a compacted partition; the next
	// compaction merges it.
	late := spreadBatch(1800, 1809, 1)
	if _, err := w.Write(ctx, late); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CompactLake(ctx, CompactOptions{Now: now.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	for p, n := range filesPerPartition(t, dir) {
		if n != 1 {
			t.Fatalf("partition %s holds %d files after the late event's compaction", p, n)
		}
	}
	if after, want := lakeIDs(t, dir), wantIDs(t, w); len(after) != 1809 || !slices.Equal(after, want) {
		t.Fatalf("lake holds %d rows after the late event, want the 1809 of DuckDB", len(after))
	}
	if got := manifestRows(t, dir); got != 1809 {
		t.Fatalf("manifest counts %d rows", got)
	}
}

// A partition with more files than MaxFiles is merged while its day is
// still open.
func TestLakeCompactCrowdedOpenPartition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	smallFilesLake(t, w, 450, 1, 5) // 9 partitions of 5 files
	now := time.Date(2026, 9, 1, 13, 0, 0, 0, time.UTC)
	res, err := w.CompactLake(ctx, CompactOptions{Now: now, Grace: time.Hour, MaxFiles: 5})
	if err != nil || res.Partitions != 0 {
		t.Fatalf("5 files with MaxFiles 5: %+v %v", res, err)
	}
	res, err = w.CompactLake(ctx, CompactOptions{Now: now, Grace: time.Hour, MaxFiles: 4})
	if err != nil || res.Partitions != 9 || res.FilesBefore != 45 || res.FilesAfter != 9 {
		t.Fatalf("5 files with MaxFiles 4: %+v %v", res, err)
	}
	if n := len(lakeIDs(t, dir)); n != 450 {
		t.Fatalf("lake holds %d rows, want 450", n)
	}
}

// A reader's glob never sees a wrong count while compaction runs: it reads
// at every step of every partition's compaction (the hook waits for it).
func TestLakeCompactReaderNeverSeesWrongCount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	smallFilesLake(t, w, 1800, 2, 6)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := quote(filepath.Join(dir, LakeDir, "events", "**", "*.parquet"))
	var reads, good, failed atomic.Int64
	var wrong atomic.Value
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n, d int64
			err := db.QueryRow(`select count(*), count(distinct event_id) from read_parquet('`+glob+`', hive_partitioning = true)`).Scan(&n, &d)
			switch {
			case err != nil:
				// A file listed before a swap and opened after it is gone:
				// the reader reads again. It is never a wrong count.
				if !strings.Contains(err.Error(), "No files found") && !strings.Contains(strings.ToLower(err.Error()), "no such file") &&
					!strings.Contains(err.Error(), "not exist") {
					wrong.Store("error: " + err.Error())
				}
				failed.Add(1)
			case n != 1800 || d != 1800:
				wrong.Store("count")
			default:
				good.Add(1)
			}
			reads.Add(1)
		}
	}()
	w.testHook = func(point string, _ int) error {
		if !strings.HasPrefix(point, "compact-") {
			return nil
		}
		// Let the reader finish two reads at this step (one may have
		// started before it).
		start := reads.Load()
		deadline := time.Now().Add(30 * time.Second)
		for reads.Load() < start+2 {
			if time.Now().After(deadline) {
				return errors.New("the reader made no progress")
			}
			time.Sleep(time.Millisecond) // polling the reader's progress
		}
		return nil
	}
	res, err := w.CompactLake(ctx, CompactOptions{Now: time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if res.Partitions != 18 {
		t.Fatalf("compacted %d partitions, want 18", res.Partitions)
	}
	if v := wrong.Load(); v != nil {
		t.Fatalf("a reader saw a wrong result during compaction: %v", v)
	}
	// 18 partitions, 4 steps each, two reads per step.
	if good.Load() < 18*4 {
		t.Fatalf("only %d good reads (%d failed) during compaction", good.Load(), failed.Load())
	}
	t.Logf("%d reads during compaction, %d retried after a swap", reads.Load(), failed.Load())
}

func TestLakeCompactKilledCompletesOnce(t *testing.T) {
	if os.Getenv("CXLAKE_TEST_KILL_DIR") != "" {
		t.Skip("child process")
	}
	ctx := context.Background()
	for _, point := range []string{"compact-staged", "compact-ready", "compact-swapped", "compact-recorded"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			smallFilesLake(t, w, 900, 1, 3)
			want := wantIDs(t, w)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestLakeCompactKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CXLAKE_TEST_KILL_DIR="+dir, "CXLAKE_TEST_KILL_POINT="+point)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
			}
			// Right after the kill, a reader sees every row once.
			if got := lakeIDs(t, dir); !slices.Equal(got, want) {
				t.Fatalf("after the kill the lake holds %d rows, want the 900 written once", len(got))
			}
			w, err = Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.CompactLake(ctx, CompactOptions{Now: time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
			if got := lakeIDs(t, dir); !slices.Equal(got, want) {
				t.Fatalf("after the rerun the lake holds %d rows, want the 900 written once", len(got))
			}
			for p, n := range filesPerPartition(t, dir) {
				if n != 1 {
					t.Fatalf("partition %s holds %d files after the rerun", p, n)
				}
			}
			if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
				t.Fatalf("verify after the rerun: %v %v", found, err)
			}
			if left, _ := os.ReadDir(filepath.Join(dir, LakeDir, StagingDir)); len(left) != 0 {
				t.Fatalf("staging holds %d entries after the rerun", len(left))
			}
		})
	}
}

// TestLakeCompactKillChild is the child of TestLakeCompactKilledCompletesOnce.
func TestLakeCompactKillChild(t *testing.T) {
	dir := os.Getenv("CXLAKE_TEST_KILL_DIR")
	if dir == "" {
		t.Skip("run by TestLakeCompactKilledCompletesOnce")
	}
	point := os.Getenv("CXLAKE_TEST_KILL_POINT")
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	w.testHook = func(p string, _ int) error {
		if p == point {
			if seen++; seen == 3 { // the third partition's step
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				time.Sleep(time.Minute) // the signal is on its way
			}
		}
		return nil
	}
	_, err = w.CompactLake(context.Background(), CompactOptions{Now: time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)})
	t.Fatalf("compaction was not killed at %s: %v", point, err)
}

// A partition of more files than a round may read is merged in rounds,
// each reading at most mergeFiles files, and ends as one file holding
// every row once.
func TestLakeCompactMergesInRounds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	smallFilesLake(t, w, 900, 1, 10) // 9 partitions of 10 files
	want := wantIDs(t, w)
	w.mergeFiles = 3
	var rounds, widest atomic.Int64
	// Each round's files, read from its staged marker's list as it is
	// swapped in: never more than three.
	w.testHook = func(point string, _ int) error {
		if point != "compact-ready" {
			return nil
		}
		rounds.Add(1)
		markers, _ := filepath.Glob(filepath.Join(dir, LakeDir, StagingDir, compactPrefix+"*", readyFile))
		for _, p := range markers {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var m compactMarker
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			if n := int64(len(m.Old)); n > widest.Load() {
				widest.Store(n)
			}
		}
		return nil
	}
	res, err := w.CompactLake(ctx, CompactOptions{Now: time.Date(2026, 9, 5, 0, 0, 0, 0, time.UTC), Grace: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Per partition, 10 files three at a time, each round leaving one:
	// 10 -> 8 -> 6 -> 4 -> 2 -> 1, five rounds.
	if rounds.Load() != 9*5 || widest.Load() != 3 {
		t.Fatalf("%d rounds reading at most %d files, want 45 rounds of at most 3", rounds.Load(), widest.Load())
	}
	// Reads per partition: 3+3+3+3+2 = 14, so 126 in all.
	if res.Partitions != 9 || res.FilesBefore != 90 || res.FilesAfter != 9 || res.Rows != 900 || res.Rounds != 45 || res.FilesRead != 126 {
		t.Fatalf("compaction %+v, want 9 partitions, 90 files to 9, 900 rows, 45 rounds reading 126 files", res)
	}
	for p, n := range filesPerPartition(t, dir) {
		if n != 1 {
			t.Fatalf("partition %s holds %d files after compaction", p, n)
		}
	}
	if got := lakeIDs(t, dir); !slices.Equal(got, want) {
		t.Fatalf("lake holds %d rows after rounds of compaction, want the %d event ids once each", len(got), len(want))
	}
}

// Compaction reads with DuckDB's external file cache off (it held DuckDB's
// whole memory share with files read once), and turns it back on after.
func TestLakeCompactReadsWithoutTheFileCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	smallFilesLake(t, w, 90, 1, 3) // 9 partitions of 3 files
	setting := func() bool {
		var on bool
		if err := w.DB.QueryRowContext(ctx, `select current_setting('enable_external_file_cache')`).Scan(&on); err != nil {
			t.Fatal(err)
		}
		return on
	}
	if !setting() {
		t.Fatal("DuckDB's external file cache is off before compaction: the test would prove nothing")
	}
	var merges, cached atomic.Int64
	w.testHook = func(point string, _ int) error {
		if point == "compact-staged" {
			merges.Add(1)
			if setting() {
				cached.Add(1)
			}
		}
		return nil
	}
	res, err := w.CompactLake(ctx, CompactOptions{Now: time.Date(2026, 9, 5, 0, 0, 0, 0, time.UTC), Grace: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rounds != 9 || merges.Load() != 9 || cached.Load() != 0 {
		t.Fatalf("%d rounds, %d merges seen, %d of them with the file cache on; want 9, 9, 0", res.Rounds, merges.Load(), cached.Load())
	}
	if !setting() {
		t.Error("compaction left DuckDB's external file cache off")
	}
}

package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var lakeChannels = []string{"whatsapp", "instagram", "telegram", "messenger", "webchat", "email", "sms", "voice", "app"}

// spreadBatch is events from..to-1 spread over days days and the 9
// channels: 9*days lake partitions.
func spreadBatch(from, to, days int) *Batch {
	b := batchOf(from, to, "t")
	for i := range b.Records {
		n := from + i
		b.Records[i].Event.Channel = lakeChannels[n%9]
		b.Records[i].Event.OccurredAt = time.Date(2026, 9, 1, 12, 0, n%60, 0, time.UTC).AddDate(0, 0, (n/9)%days)
	}
	return b
}

// writeSpread writes batches of 1,000 spread events until n.
func writeSpread(t *testing.T, w *Warehouse, n, days int) {
	t.Helper()
	for i := 0; i < n; i += 1000 {
		if _, err := w.Write(context.Background(), spreadBatch(i, min(i+1000, n), days)); err != nil {
			t.Fatal(err)
		}
	}
}

// lakeCount reads every file readers' glob matches, with a DuckDB of its
// own: count and distinct event ids. A truncated file fails it.
func lakeCount(t *testing.T, dir string) (n, distinct int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, LakeDir, "events", "*", "*", "*.parquet"))
	if len(files) == 0 {
		return 0, 0
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := strings.ReplaceAll(filepath.Join(dir, LakeDir, "events", "**", "*.parquet"), "'", "''")
	if err := db.QueryRow(`select count(*), count(distinct event_id) from read_parquet('`+glob+`', hive_partitioning = true)`).Scan(&n, &distinct); err != nil {
		t.Fatalf("reading the lake over its glob: %v", err)
	}
	return n, distinct
}

func TestPublishStaysWithinASmallMemoryLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{MemoryLimit: "32MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeSpread(t, w, 3000, 30)
	// The mechanism: one partitioned COPY of the whole range (270 open
	// Parquet writers) does not fit in 32MB.
	one := fmt.Sprintf(`copy (select %s, %s from events) to '%s' (format parquet, partition_by (date, channel))`,
		lakeColumns, partitionExpr, quote(filepath.Join(t.TempDir(), "whole")))
	if _, err := w.DB.ExecContext(ctx, one); err == nil {
		t.Fatal("one COPY of 270 partitions fit in 32MB: this test no longer shows that publication must be bounded")
	} else if oom := (*OutOfMemoryError)(nil); !errors.As(ExplainMemory(err), &oom) || !strings.Contains(oom.Error(), "memory.budget") {
		t.Fatalf("out-of-memory error does not name the setting: %v", ExplainMemory(err))
	}
	p, err := w.Publish(ctx)
	if err != nil {
		t.Fatalf("publish under 32MB: %v", err)
	}
	if p.Events != 3000 || p.ToBatchID != 3 || p.Steps < 2 || p.Files != 270 {
		t.Fatalf("publication %+v: want 3000 events of batches 1-3 in more than one step, 270 files", p)
	}
	if n, d := lakeCount(t, dir); n != 3000 || d != 3000 {
		t.Fatalf("lake holds %d rows, %d distinct events; want 3000", n, d)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, LakeDir, StagingDir)); len(ents) != 0 {
		t.Fatalf("staging folder not emptied: %d entries", len(ents))
	}
}

// A publication stopped at any point leaves a lake whose every file
// reads, holding each event at most once; the next publication completes
// the range exactly once, in the same process or after a reopen.
func TestPublishStoppedAtAnyPointCompletesOnce(t *testing.T) {
	ctx := context.Background()
	errStop := errors.New("stopped by the test")
	for _, tc := range []struct {
		point  string
		n      int
		reopen bool
	}{
		{"step", 1, false}, {"step", 1, true}, {"ready", 0, false}, {"ready", 0, true},
		{"renamed", 1, false}, {"renamed", 9, true}, {"recorded", 0, false}, {"recorded", 0, true},
	} {
		t.Run(fmt.Sprintf("%s%d-reopen=%v", tc.point, tc.n, tc.reopen), func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(ctx, dir, Options{MemoryLimit: "64MB"})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { w.Close() }()
			writeSpread(t, w, 3000, 2)
			w.publishChunkEvents = 1000 // three chunks: stop in the second
			chunks := 0
			w.testHook = func(point string, n int) error {
				if point == "recorded" {
					chunks++
				}
				if chunks == 1 && point == tc.point && n == tc.n {
					return errStop
				}
				return nil
			}
			if _, err := w.Publish(ctx); !errors.Is(err, errStop) {
				t.Fatalf("publish: %v, want the injected stop", err)
			}
			n, d := lakeCount(t, dir)
			if n != d || n < 1000 || n > 2000 {
				t.Fatalf("after the stop the lake holds %d rows, %d distinct: want the first chunk, and no row twice", n, d)
			}
			w.testHook = nil
			if tc.reopen {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if w, err = Open(ctx, dir, Options{MemoryLimit: "64MB"}); err != nil {
					t.Fatal(err)
				}
				w.publishChunkEvents = 1000
			}
			if _, err := w.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			if n, d := lakeCount(t, dir); n != 3000 || d != 3000 {
				t.Fatalf("after the next publish the lake holds %d rows, %d distinct; want 3000", n, d)
			}
			if got := count(t, w, "select max(to_batch_id) from lake_publications"); got != 3 {
				t.Fatalf("recorded up to batch %d, want 3", got)
			}
		})
	}
}

// The same with a real kill: a child process publishes and SIGKILLs
// itself at a point; the parent reads the lake and publishes again.
func TestPublishKilledCompletesOnce(t *testing.T) {
	if os.Getenv("CXLAKE_TEST_KILL_DIR") != "" {
		t.Skip("child process")
	}
	ctx := context.Background()
	for _, point := range []string{"step:1", "ready:0", "renamed:9", "manifest:0", "recorded:0"} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(ctx, dir, Options{MemoryLimit: "64MB"})
			if err != nil {
				t.Fatal(err)
			}
			writeSpread(t, w, 2000, 2)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestPublishKillChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CXLAKE_TEST_KILL_DIR="+dir, "CXLAKE_TEST_KILL_POINT="+point)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
			}
			if n, d := lakeCount(t, dir); n != d || n > 2000 {
				t.Fatalf("after the kill the lake holds %d rows, %d distinct", n, d)
			}
			w, err = Open(ctx, dir, Options{MemoryLimit: "64MB"})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			events := count(t, w, "select count(*) from events")
			if n, d := lakeCount(t, dir); n != events || d != events || events != 2000 {
				t.Fatalf("after the next publish the lake holds %d rows, %d distinct; DuckDB holds %d", n, d, events)
			}
			// The manifest lists exactly the files on disk, with their rows.
			if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
				t.Fatalf("verify after the rerun: %v %v", found, err)
			}
			if got := manifestRows(t, dir); got != 2000 {
				t.Fatalf("the manifest counts %d rows, want 2000", got)
			}
		})
	}
}

// TestPublishKillChild is the child of TestPublishKilledCompletesOnce.
func TestPublishKillChild(t *testing.T) {
	dir := os.Getenv("CXLAKE_TEST_KILL_DIR")
	if dir == "" {
		t.Skip("run by TestPublishKilledCompletesOnce")
	}
	point, nStr, _ := strings.Cut(os.Getenv("CXLAKE_TEST_KILL_POINT"), ":")
	at, _ := strconv.Atoi(nStr)
	w, err := Open(context.Background(), dir, Options{MemoryLimit: "64MB"})
	if err != nil {
		t.Fatal(err)
	}
	w.publishChunkEvents = 1000
	w.testHook = func(p string, n int) error {
		if p == point && n == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal is on its way
		}
		return nil
	}
	_, err = w.Publish(context.Background())
	t.Fatalf("publish was not killed at %s: %v", point, err)
}

// An event without a channel (a consent, a standalone survey) is published
// to the partition channel=none like any other: a step's partition key must
// not read the events' null channel.
func TestPublishEventsWithoutChannel(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := batchOf(0, 6, "t")
	for i := range b.Records {
		if i%2 == 0 {
			b.Records[i].Event.Channel, b.Records[i].Event.ConversationID = "", ""
		}
	}
	if _, err := w.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := lakeCount(t, w.Dir); n != 6 {
		t.Fatalf("the lake holds %d of 6 events; the 3 without a channel must be in channel=none", n)
	}
	if files, _ := filepath.Glob(filepath.Join(w.Dir, LakeDir, "events", "date=*", "channel=none", "*.parquet")); len(files) == 0 {
		t.Error("no file in a channel=none partition")
	}
}

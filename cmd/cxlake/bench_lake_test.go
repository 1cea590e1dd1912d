package main

import (
	"context"
	"testing"
)

// TestLakeBenchCompactsWhatItBuilt runs the lake bench on 2 days of 10
// minutes (9 channels): 180 one-minute files in 18 partitions, which
// compaction must bring to one file each, with every row counted by each
// scan (measureLake checks the count). It used to build its lake before
// the DuckDB file existed, so the first Open removed the lake and the
// compaction failed with "listing the partition: no such file".
func TestLakeBenchCompactsWhatItBuilt(t *testing.T) {
	r, err := runLakeBench(context.Background(), t.TempDir(), 2, 10, 9)
	if err != nil {
		t.Fatal(err)
	}
	// 10 files a partition is within one round (128 files at the default
	// memory limit): one round per partition.
	if r.Rows != 180 || r.Before.Files != 180 || r.After.Files != 18 || r.Single.Files != 1 || r.CompactedPartitions != 18 ||
		r.CompactRounds != 18 || r.CompactFilesRead != 180 {
		t.Fatalf("rows %d, files before %d after %d single %d, partitions compacted %d, rounds %d reading %d; want 180, 180, 18, 1, 18, 18, 180",
			r.Rows, r.Before.Files, r.After.Files, r.Single.Files, r.CompactedPartitions, r.CompactRounds, r.CompactFilesRead)
	}
}

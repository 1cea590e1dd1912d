package ingest

import (
	"bytes"
	"context"
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// cxlake load ends its transactions on a row group as the consumer does,
// and counts every line once, including the dead letter in the cut part.
func TestLoadEndsTransactionsOnARowGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 130,000 lines")
	}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	const good = 130000
	var in bytes.Buffer
	for i := 0; i < good; i++ {
		if i == warehouse.RowGroupRows-10 {
			in.WriteString("{not json\n") // lands in the part that is cut
		}
		in.Write(canonical(i))
		in.WriteByte('\n')
	}
	var stats Stats
	if err := Load(ctx, wh, &in, "big.ndjson", 1_000_000, 1<<20, &stats); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := wh.DB.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count("select count(*) from events where batch_id = 1"); n != warehouse.RowGroupRows {
		t.Errorf("the first transaction holds %d events, want a row group (%d)", n, warehouse.RowGroupRows)
	}
	if n := count("select count(*) from events"); n != good {
		t.Errorf("events = %d, want %d", n, good)
	}
	if n := count("select count(*) from dead_letters"); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
	if n := count("select sum(messages) from ingest_batches"); n != good+1 {
		t.Errorf("ingest_batches counts %d lines, want %d", n, good+1)
	}
	if n := stats.Messages.Load(); n != good+1 || stats.Batches.Load() != 2 {
		t.Errorf("stats: %d lines in %d batches, want %d in 2", n, stats.Batches.Load(), good+1)
	}
}

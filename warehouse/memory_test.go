package warehouse

import (
	"context"
	"testing"
)

// TestBudgetSplit: the shares of a budget add up to it, with a quarter
// left outside both limits (the binary's pages and DuckDB's allocations
// outside its buffer manager, measured at about 200 MiB in the 1M demo),
// and DuckDB's share reaches DuckDB's memory_limit.
func TestBudgetSplit(t *testing.T) {
	// Worked by hand: 2 GiB = 1 GiB DuckDB + 512 MiB Go + 512 MiB outside.
	if d, g := DuckDBShare(2<<30), GoShare(2<<30); d != 1<<30 || g != 512<<20 {
		t.Errorf("2GiB split as DuckDB %d, Go %d; want 1073741824, 536870912", d, g)
	}
	// The default, 1 GiB: 512 MiB DuckDB, 256 MiB Go, 256 MiB outside.
	if d, g := DuckDBShare(0), GoShare(0); d != 512<<20 || g != 256<<20 {
		t.Errorf("default split as DuckDB %d, Go %d; want 536870912, 268435456", d, g)
	}
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{Memory: Memory{Budget: 768 << 20, TempDirectory: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var limit string
	if err := w.DB.QueryRowContext(ctx, "select current_setting('memory_limit')").Scan(&limit); err != nil {
		t.Fatal(err)
	}
	// 768 MiB / 2 = 384 MiB, which DuckDB writes in its own units.
	if limit != "384.0 MiB" || w.MemoryLimit() != 384<<20 {
		t.Errorf("a 768MiB budget gave DuckDB memory_limit %q (%d bytes), want 384.0 MiB", limit, w.MemoryLimit())
	}
}

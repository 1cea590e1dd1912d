package gateway

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// execRows sends Execute(max) and reads to PortalSuspended or
// CommandComplete, returning the DataRows' first values' lengths.
func execRows(t *testing.T, fe *pgproto3.Frontend, portal string, max uint32) (lens []int, suspended bool, tag string) {
	t.Helper()
	fe.Send(&pgproto3.Execute{Portal: portal, MaxRows: max})
	fe.Send(&pgproto3.Flush{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			lens = append(lens, len(m.Values[0]))
		case *pgproto3.PortalSuspended:
			return lens, true, ""
		case *pgproto3.CommandComplete:
			return lens, false, string(m.CommandTag)
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s %s", m.Code, m.Message)
		}
	}
}

// heapInuse is the Go heap in use after a collection: what the gateway
// holds, without DuckDB's own allocations.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// TestRowLimitedExecuteStreams: Execute with max_rows=1 over a 200 MB
// result sends one row at a time without holding the result in the
// gateway. (DuckDB itself materializes a result before the first row: the
// duckdb-go driver has no streaming results; that memory is DuckDB's,
// bounded by its memory_limit, and shows in RSS, not in the Go heap.)
func TestRowLimitedExecuteStreams(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.StatementTimeout = 5 * time.Minute })
	c := connect(t, s, "ana")
	ctx := context.Background()
	if _, err := c.Exec(ctx, "begin"); err != nil {
		t.Fatal(err)
	}
	hc, err := c.PgConn().Hijack()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Conn.Close()
	_ = hc.Conn.SetDeadline(time.Now().Add(5 * time.Minute))
	fe := hc.Frontend
	before, heapBefore := vmRSS(t), heapInuse()
	fe.Send(&pgproto3.Parse{Name: "big", Query: "select repeat('x', 100000) as v from range(2000)"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "p", PreparedStatement: "big"})
	for i := 0; i < 3; i++ {
		lens, suspended, _ := execRows(t, fe, "p", 1)
		if len(lens) != 1 || lens[0] != 100000 || !suspended {
			t.Fatalf("execute %d with max_rows=1: rows %v, suspended %v", i, lens, suspended)
		}
	}
	after, heapAfter := vmRSS(t), heapInuse()
	t.Logf("after 3 × Execute(max_rows=1) of a 2000 × 100 kB result: Go heap %+d MiB, VmRSS %d -> %d MiB",
		(heapAfter-heapBefore)>>20, before>>20, after>>20)
	if heapAfter-heapBefore > 20<<20 {
		t.Fatalf("the Go heap grew by %d MiB for 3 rows of 100 kB; want under 20 MiB", (heapAfter-heapBefore)>>20)
	}
	// The rest of a smaller portal comes in order, then CommandComplete;
	// the same portal executed again completes with no rows.
	fe.Send(&pgproto3.Close{ObjectType: 'P', Name: "p"})
	fe.Send(&pgproto3.Parse{Name: "small", Query: "select range::varchar as v from range(7)"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "q", PreparedStatement: "small"})
	var all []int
	for {
		lens, suspended, tag := execRows(t, fe, "q", 3)
		all = append(all, lens...)
		if !suspended {
			if tag != "SELECT 7" {
				t.Fatalf("tag %q, want SELECT 7", tag)
			}
			break
		}
	}
	if len(all) != 7 {
		t.Fatalf("%d rows, want 7", len(all))
	}
	if lens, suspended, tag := execRows(t, fe, "q", 3); len(lens) != 0 || suspended || tag != "SELECT 0" {
		t.Fatalf("a completed portal again: %v %v %q", lens, suspended, tag)
	}
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
}

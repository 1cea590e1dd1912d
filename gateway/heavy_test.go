package gateway

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// TestHeavyReadersDoNotStopIngest: under a 256 MB DuckDB memory_limit,
// batches keep committing while an analyst runs a query that collects GBs
// into one list and a 20,000-statement query. The heavy queries fail with
// errors that name the gateway's limits; ingest loses nothing.
func TestHeavyReadersDoNotStopIngest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	s, err := New(ctx, wh.DB, Config{Addr: "127.0.0.1:0", Users: testUsers, StatementTimeout: 3 * time.Minute},
		Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if s.memLimit < 200<<20 || s.memLimit > 300<<20 {
		t.Fatalf("memory_limit read as %d bytes, want about 256 MB", s.memLimit)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		s.Shutdown(sctx)
	}()

	// Ingest: batches of 500 messages, as the consumer writes them, until
	// the readers are done (and at least 10 batches).
	gen := simulate.New(simulate.Config{Seed: 11, PerDay: simulate.PerDayFor(400_000, 30)})
	var asm ingest.Assembler
	readersDone := make(chan struct{})
	var accepted, batches int
	var ingestErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var off int64
		for batches < 10 || !isClosed(readersDone) {
			msgs := make([]ingest.Message, 0, 500)
			for range 500 {
				m := gen.Next()
				msgs = append(msgs, ingest.Message{Topic: "heavy", Offset: off, Key: m.Key, Value: m.Value})
				off++
			}
			res, err := wh.Write(ctx, asm.Assemble(msgs))
			if err != nil {
				ingestErr = err
				return
			}
			accepted += res.Accepted
			batches++
		}
	}()

	rssBefore := vmRSS(t)
	// The listener's own address: s.Addr() is set by Serve, which runs in
	// its own goroutine and may not have started yet.
	c, err := pgx.Connect(ctx, "postgres://ana:ana-pw@"+ln.Addr().String()+"/cxlake?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	start := time.Now()
	_, heavyErr := c.Exec(ctx, "select length(list(repeat('y', 1000))) from range(3000000)")
	heavyTook := time.Since(start)
	_, manyErr := c.Exec(ctx, strings.Repeat("select 1;", 20_000), pgx.QueryExecModeSimpleProtocol)
	var one int
	sessionErr := c.QueryRow(ctx, "select 1").Scan(&one)
	rssAfter := vmRSS(t)
	close(readersDone)
	wg.Wait()
	t.Logf("VmRSS %d MiB before the heavy queries, %d MiB after", rssBefore>>20, rssAfter>>20)

	t.Logf("heavy list query ended after %s: %v", heavyTook, heavyErr)
	if pgCode(heavyErr) != codeOutOfMemory || !strings.Contains(heavyErr.Error(), "gateway.limits.memory_share") {
		t.Errorf("the heavy list query: %v; want SQLSTATE 53200 naming gateway.limits.memory_share", heavyErr)
	}
	if pgCode(manyErr) != codeProgramLimit || !strings.Contains(manyErr.Error(), "gateway.limits.max_statements") {
		t.Errorf("20,000 statements: %v; want SQLSTATE 54000 naming gateway.limits.max_statements", manyErr)
	}
	if sessionErr != nil {
		t.Errorf("the session after the refusals: %v", sessionErr)
	}
	if ingestErr != nil {
		t.Fatalf("ingest stopped after %d batches: %v", batches, ingestErr)
	}
	var stored int
	if err := wh.DB.QueryRowContext(ctx, "select count(*) from events").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != accepted || batches < 10 {
		t.Fatalf("ingest: %d batches, %d events accepted, %d stored", batches, accepted, stored)
	}
	t.Logf("ingest committed %d batches (%d events) beside the heavy readers", batches, accepted)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestSpillingReaderIsCanceledAtItsShare (B11): DuckDB's spill cap is one
// for the process, so the gateway enforces its share of it. Under a 64 MB
// memory_limit, an analyst's sort of 1.5M rows of 64 characters spills;
// with gateway.limits.temp_share at 2% of a 256 MiB cap (5 MiB, crossed
// soon after it starts spilling, before the memory watchdog could act) it is canceled
// with SQLSTATE 53100 naming the key, the session stays usable, and the
// spill files are gone afterwards. The control: the same sort run on the
// warehouse itself, outside the gateway, completes under the whole cap,
// so the refusal is the share's, not DuckDB's cap. (Through the gateway
// with the whole cap, the memory watchdog may cancel it first: at 64 MB
// the sort's buffers alone reach memory_share 1.)
func TestSpillingReaderIsCanceledAtItsShare(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{MemoryLimit: "64MB",
		Memory: warehouse.Memory{TempDirectory: t.TempDir(), MaxTempSize: 256 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	const sort = "select count(*), max(s) from (select i, md5(i::varchar) || md5((i + 1)::varchar) as s from range(1500000) t(i) order by s)"
	s, err := New(ctx, wh.DB, Config{Addr: "127.0.0.1:0", Users: testUsers, StatementTimeout: 3 * time.Minute,
		Limits: Limits{TempShare: 0.02, MemoryShare: 1}},
		Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if s.tempLimit != 256<<20 {
		t.Fatalf("max_temp_directory_size read as %d bytes, want 256 MiB", s.tempLimit)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		s.Shutdown(sctx)
	}()
	c, err := pgx.Connect(ctx, "postgres://ana:ana-pw@"+ln.Addr().String()+"/cxlake?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int64
	var top string
	sortErr := c.QueryRow(ctx, sort).Scan(&n, &top)
	var one int
	sessionErr := c.QueryRow(ctx, "select 1").Scan(&one)
	var spilled int64
	if err := wh.DB.QueryRowContext(ctx, tempFilesSQL).Scan(&spilled); err != nil {
		t.Fatal(err)
	}
	t.Logf("temp_share 0.02: %v; spill files left %d bytes", sortErr, spilled)
	if pgCode(sortErr) != codeDiskFull || !strings.Contains(sortErr.Error(), "gateway.limits.temp_share") {
		t.Errorf("the spilling sort gave %v; want SQLSTATE 53100 naming gateway.limits.temp_share", sortErr)
	}
	if sessionErr != nil {
		t.Errorf("the session after the sort: %v", sessionErr)
	}
	if spilled != 0 {
		t.Errorf("%d bytes of spill files remain after the query", spilled)
	}
	// The control, on the warehouse: the whole cap holds the sort.
	if err := wh.DB.QueryRowContext(ctx, sort).Scan(&n, &top); err != nil || n != 1_500_000 {
		t.Errorf("the same sort on the warehouse: %d rows, %v; want 1500000 (it fits the whole cap)", n, err)
	}
}

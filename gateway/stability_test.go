package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cxlake/cxlake/models"
)

// TestQueriesDuringIngestAndRefresh runs queries through the gateway while
// ingest writes batches and the models are refreshed and rebuilt (which
// replace and rewrite tables inside their own transactions). No query may
// fail, every query must see the models before or after a build, never
// half-way, and neither side may stall the other.
func TestQueriesDuringIngestAndRefresh(t *testing.T) {
	s := testServer(t)
	wh := testWarehouse(t)
	ctx := context.Background()

	// One statement, one snapshot: conversations and both KPI marts are
	// written by the same model transaction, so their totals agree.
	const consistent = `select (select count(*) from conversations) as c,
		(select sum(conversations) from kpi_daily) as k, (select sum(conversations) from kpi_daily_team) as kt,
		(select sum(hash(x.conversation_id || r.range) % 7) from conversations x, range(300) r) as work`

	// First, one long query that spans a full rebuild, which replaces
	// every model table while it reads them. The overlap is proven, not
	// assumed: the rebuild starts only once the query holds a gateway
	// place (Server.Running, taken before the check and the run), and the
	// query must still be running when the rebuild ends. A machine fast
	// enough to finish the query first gets a query four times longer.
	long := connect(t, s, "ana")
	spanned := false
	for rows := 6000; rows <= 6000*64 && !spanned; rows *= 4 {
		longDone := make(chan error, 1)
		go func() {
			var cnt, k, kt, work int64
			err := long.QueryRow(ctx, strings.Replace(consistent, "range(300)", fmt.Sprintf("range(%d)", rows), 1)).Scan(&cnt, &k, &kt, &work)
			if err == nil && (cnt != k || cnt != kt) {
				err = fmt.Errorf("the long query saw %d conversations, %d and %d in the KPI marts", cnt, k, kt)
			}
			longDone <- err
		}()
		for deadline := time.Now().Add(30 * time.Second); s.Running() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the long query took no gateway place in 30 s")
			}
		}
		longStart := time.Now()
		if _, err := models.Rebuild(ctx, wh.DB, shared.cfg); err != nil {
			t.Fatalf("rebuild during the long query: %v", err)
		}
		rebuildTook := time.Since(longStart)
		select {
		case err := <-longDone:
			if err != nil {
				t.Fatalf("long query across a rebuild: %v", err)
			}
			t.Logf("a query over range(%d) ended before the rebuild did (%s); trying a longer one", rows, rebuildTook.Round(time.Millisecond))
			continue
		default:
			spanned = true
		}
		if err := <-longDone; err != nil {
			t.Fatalf("long query across a rebuild: %v", err)
		}
		t.Logf("long query over range(%d) ran %s; the rebuild under it took %s", rows, time.Since(longStart).Round(time.Millisecond), rebuildTook.Round(time.Millisecond))
	}
	if !spanned {
		t.Fatal("no long query outlasted a rebuild, so the overlap was never tested")
	}

	stop := make(chan struct{})
	var queries, mismatches atomic.Int64
	var maxQuery atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 3 {
		user := []string{"ana", "comp", "ana"}[i]
		c := connect(t, s, user)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				var cnt, k, kt, work int64
				if err := c.QueryRow(ctx, consistent).Scan(&cnt, &k, &kt, &work); err != nil {
					errs <- err
					return
				}
				if d := time.Since(start).Milliseconds(); d > maxQuery.Load() {
					maxQuery.Store(d)
				}
				if cnt != k || cnt != kt {
					mismatches.Add(1)
				}
				queries.Add(1)
			}
		}()
	}

	cfg := shared.cfg
	var maxWrite, maxBuild time.Duration
	for round := range 6 {
		start := time.Now()
		if err := addEvents(ctx, 800); err != nil {
			t.Fatalf("ingest during queries: %v", err)
		}
		maxWrite = max(maxWrite, time.Since(start))
		start = time.Now()
		var err error
		if round%3 == 2 {
			_, err = models.Rebuild(ctx, wh.DB, cfg)
		} else {
			_, err = models.Refresh(ctx, wh.DB, cfg)
		}
		if err != nil {
			t.Fatalf("model build during queries: %v", err)
		}
		maxBuild = max(maxBuild, time.Since(start))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("query during ingest: %v", err)
	}
	if queries.Load() < 6 {
		t.Fatalf("only %d queries ran during 6 rounds of ingest and refresh", queries.Load())
	}
	if mismatches.Load() > 0 {
		t.Fatalf("%d of %d queries saw the models half-way through a build", mismatches.Load(), queries.Load())
	}
	// "No stall": a batch write and a build each finish in seconds, not
	// behind the queries; the queries too.
	if maxWrite > 10*time.Second || maxBuild > 30*time.Second || maxQuery.Load() > 10_000 {
		t.Fatalf("stalled: slowest write %s, build %s, query %dms", maxWrite, maxBuild, maxQuery.Load())
	}
	t.Logf("%d queries (slowest %dms) during 6 batches (slowest %s) and builds (slowest %s)",
		queries.Load(), maxQuery.Load(), maxWrite.Round(time.Millisecond), maxBuild.Round(time.Millisecond))
}

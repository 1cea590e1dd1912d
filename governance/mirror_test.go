package governance_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// A mirror 200,000 records behind catches up in one call under a 32MB
// DuckDB limit: it holds one chunk at a time, not the backlog.
func TestMirrorAuditCatchesUpUnderASmallMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 200,000 audit records")
	}
	ctx := context.Background()
	dir := t.TempDir()
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{MemoryLimit: "32MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	al, err := audit.Open(filepath.Join(dir, audit.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	gov, err := governance.New(ctx, wh, al, governance.Defaults(), models.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	before := al.Len() // governance may record its own start
	began := time.Now()
	defer func() { t.Logf("whole test %s", time.Since(began)) }()
	const total = 200_000
	recs := make([]audit.Record, 0, 10_000)
	for i := 0; i < total; i++ {
		recs = append(recs, audit.Record{Kind: audit.KindGatewayQuery, Actor: "analyst", Detail: map[string]any{"role": "analyst",
			"statement": "SELECT day, channel, conversations FROM kpi_daily WHERE (day >= $1) ORDER BY day", "rows": i % 100, "took_ms": 1}})
		if len(recs) == cap(recs) {
			if _, err := al.AppendAll(ctx, recs); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if lag, err := gov.MirrorLag(ctx); err != nil || lag < total {
		t.Fatalf("mirror lag before: %d, %v; want at least %d", lag, err, total)
	}
	start := time.Now()
	n, err := gov.MirrorAudit(ctx)
	t.Logf("appended %d records; mirrored %d in %s", total, n, time.Since(start))
	if err != nil {
		t.Fatalf("mirror under 32MB: %v", err)
	}
	want := int(al.Len())
	if n < total || n > want {
		t.Fatalf("mirrored %d records in one call, want all %d (%d before the test's)", n, want, before)
	}
	var rows, distinct, maxIndex int64
	if err := wh.DB.QueryRow(`select count(*), count(distinct audit_index), max(audit_index) from audit_log`).Scan(&rows, &distinct, &maxIndex); err != nil {
		t.Fatal(err)
	}
	if rows != int64(want) || distinct != rows || maxIndex != int64(want-1) {
		t.Fatalf("audit_log holds %d rows (%d distinct, last index %d), want %d", rows, distinct, maxIndex, want)
	}
	if lag, err := gov.MirrorLag(ctx); err != nil || lag != 0 {
		t.Fatalf("mirror lag after: %d, %v", lag, err)
	}
	if n, err := gov.MirrorAudit(ctx); err != nil || n != 0 {
		t.Fatalf("second mirror copied %d, %v; want nothing", n, err)
	}
}

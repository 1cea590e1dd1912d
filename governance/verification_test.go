package governance_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

// TestVerifyAuditRecordsTheOutcome: a sound log is recorded as passed with
// its checkpoint, and after one record is altered on disk the next
// verification is recorded as failed, naming the record, with no personal
// data in the row.
func TestVerifyAuditRecordsTheOutcome(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, governance.Defaults())
	for i := 0; i < 5; i++ {
		if _, err := e.audit.Append(ctx, audit.Record{Kind: "ingest_batch", Detail: map[string]any{"batch": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := e.gov.VerifyAudit(ctx)
	if err != nil || !c.Passed || c.Report.Latest.N != 5 {
		t.Fatalf("sound log: %+v, %v", c, err)
	}
	if n := e.count(`select count(*) from audit_verifications where passed and records = 5 and checkpoint_size = 5
		and checkpoint_at is not null and uncovered = 0 and failure is null`); n != 1 {
		t.Fatalf("audit_verifications after a sound verification: %d matching rows", n)
	}

	// Alter record 2 in place.
	path := filepath.Join(e.audit.Dir(), "records.jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(raw, []byte("\n"))
	lines[2] = bytes.Replace(lines[2], []byte(`"batch":2`), []byte(`"batch":9`), 1)
	if err := os.WriteFile(path, bytes.Join(lines, []byte("\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = e.gov.VerifyAudit(ctx)
	if err != nil || c.Passed || c.Failure != "tampered" || c.FailureIndex != 2 {
		t.Fatalf("altered log: %+v, %v", c, err)
	}
	if n := e.count(`select count(*) from audit_verifications where not passed and failure = 'tampered' and failure_index = 2`); n != 1 {
		t.Fatalf("audit_verifications after a failed verification: %d matching rows", n)
	}
}

package governance

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// The records other stages append to the audit log. None carries personal
// data: counts, ids, durations. Gateway queries are recorded by the
// gateway itself (gateway.ChainAuditor), with their statement masked.

// IngestBatchRecord is the audit record of a committed ingest batch.
func IngestBatchRecord(r warehouse.Result) audit.Record {
	return audit.Record{Kind: audit.KindIngestBatch, Actor: "ingest", Detail: map[string]any{
		"batch_id": r.BatchID, "accepted": r.Accepted, "duplicates": r.Duplicates, "dead_letters": r.DeadLetters,
		"suppressed": r.Suppressed, "expired": r.Expired}}
}

// ModelRefreshRecord is the audit record of a model build.
func ModelRefreshRecord(st models.Stats) audit.Record {
	return audit.Record{Kind: audit.KindModelRefresh, Actor: "models", Detail: map[string]any{
		"full": st.Full, "reason": st.Reason, "from_batch": st.FromBatch, "to_batch": st.ToBatch,
		"new_events": st.NewEvents, "conversations": st.Conversations, "contacts": st.Contacts,
		"took_ms": st.Took.Milliseconds()}}
}

// LakePublishRecord is the audit record of a lake publication.
func LakePublishRecord(p warehouse.Publication) audit.Record {
	return audit.Record{Kind: audit.KindLakePublish, Actor: "lake", Detail: map[string]any{
		"from_batch": p.FromBatchID + 1, "to_batch": p.ToBatchID, "events": p.Events}}
}

// MirrorAudit copies the audit records not yet in the audit_log table
// into it, for dashboards, and returns how many it copied.
func (g *Governance) MirrorAudit(ctx context.Context) (int, error) {
	var next int64
	if err := g.wh.DB.QueryRowContext(ctx, `select coalesce(max(audit_index) + 1, 0) from audit_log`).Scan(&next); err != nil {
		return 0, fmt.Errorf("reading the audit mirror: %w", err)
	}
	var recs []audit.Record
	err := audit.ReadRecords(ctx, g.audit.Dir(), next, func(r audit.Record) bool {
		recs = append(recs, r)
		return len(recs) < 100_000
	})
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		return 0, nil
	}
	tx, err := g.wh.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, r := range recs {
		var detail any
		if len(r.Detail) > 0 {
			b, err := json.Marshal(r.Detail)
			if err != nil {
				return 0, err
			}
			detail = string(b)
		}
		if _, err := tx.ExecContext(ctx, `insert or ignore into audit_log values (?, ?, ?, ?, ?, ?)`,
			r.Index, r.Time, r.Kind, nullable(r.Actor), nullable(r.Subject), detail); err != nil {
			return 0, fmt.Errorf("mirroring audit records: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("mirroring audit records: %w", err)
	}
	return len(recs), nil
}

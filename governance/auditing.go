package governance

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

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

// mirrorChunk is how many audit records one mirror statement (its own
// transaction) appends: the memory a mirror holds is bounded by it, not
// by how far the mirror is behind.
const mirrorChunk = 5000

// MirrorAudit copies the audit records not yet in the audit_log table
// (the chain's files stay the source of truth), in one pass over the
// records file and in chunks of mirrorChunk records, each one multi-row
// insert committed on its own: a mirror that fell behind catches up in
// one call, and a failure keeps the chunks already committed. It returns
// how many records it copied.
func (g *Governance) MirrorAudit(ctx context.Context) (int, error) {
	var next int64
	if err := g.wh.DB.QueryRowContext(ctx, `select coalesce(max(audit_index) + 1, 0) from audit_log`).Scan(&next); err != nil {
		return 0, fmt.Errorf("reading the audit mirror: %w", err)
	}
	copied := 0
	chunk := make([]audit.Record, 0, mirrorChunk)
	var ferr error
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := g.mirrorChunk(ctx, chunk); err != nil {
			return err
		}
		copied += len(chunk)
		chunk = chunk[:0]
		return nil
	}
	err := audit.ReadRecords(ctx, g.audit.Dir(), next, func(r audit.Record) bool {
		chunk = append(chunk, r)
		if len(chunk) == mirrorChunk {
			ferr = flush()
		}
		return ferr == nil
	})
	if err == nil && ferr == nil {
		ferr = flush()
	}
	if err != nil {
		return copied, fmt.Errorf("mirroring audit records: %w", err)
	}
	return copied, ferr
}

// mirrorChunk appends recs to audit_log: DuckDB's appender fills a
// temporary table, and one insert moves it over (skipping any record a
// concurrent mirror copied first) and commits.
func (g *Governance) mirrorChunk(ctx context.Context, recs []audit.Record) error {
	conn, err := g.wh.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mirroring audit records: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `create or replace temp table audit_mirror_chunk as from audit_log limit 0`); err != nil {
		return fmt.Errorf("mirroring audit records: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists audit_mirror_chunk`)
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "audit_mirror_chunk")
		if err != nil {
			return err
		}
		for _, r := range recs {
			var detail any
			if len(r.Detail) > 0 {
				b, err := json.Marshal(r.Detail)
				if err != nil {
					_ = a.Close()
					return fmt.Errorf("record %d: %w", r.Index, err)
				}
				detail = string(b)
			}
			if err := a.AppendRow(r.Index, r.Time.UTC(), r.Kind, nullable(r.Actor), nullable(r.Subject), detail); err != nil {
				_ = a.Close()
				return err
			}
		}
		return a.CloseWithCancel(ctx)
	})
	if err == nil {
		_, err = conn.ExecContext(ctx, `insert or ignore into audit_log from audit_mirror_chunk`)
	}
	if err != nil {
		return warehouse.ExplainMemory(fmt.Errorf("mirroring audit records %d to %d: %w", recs[0].Index, recs[len(recs)-1].Index, err))
	}
	return nil
}

// MirrorLag is how many audit records the audit_log table lacks: /metrics
// reads it.
func (g *Governance) MirrorLag(ctx context.Context) (int64, error) {
	var next int64
	if err := g.wh.DB.QueryRowContext(ctx, `select coalesce(max(audit_index) + 1, 0) from audit_log`).Scan(&next); err != nil {
		return 0, fmt.Errorf("reading the audit mirror: %w", err)
	}
	return max(g.audit.Len()-next, 0), nil
}

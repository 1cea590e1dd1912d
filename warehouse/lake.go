package warehouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LakeDir is the Parquet lake's folder inside a data directory.
const LakeDir = "lake"

// lakeColumns are the event columns published to Parquet: every column but
// the sealed content. The lake holds no personal data in any form but
// keyed hashes, so a lake file copied elsewhere never carries an identifier
// or a text; erasure and retention still rewrite the files holding a
// person's or an expired day's rows (governance).
const lakeColumns = `event_id, type, occurred_at, source, conversation_id,
	actor_kind, actor_id, actor_team, message_direction, message_private, message_intent,
	handoff_reason, handoff_to_team, handoff_next_action, handoff_owner, handoff_sla_s, handoff_has_context,
	survey_kind, survey_score, consent_purpose, consent_granted, consent_basis, consent_source,
	kafka_topic, kafka_partition, kafka_offset, batch_id, ingested_at,
	contact_phone_hash, contact_email_hash, contact_ids_hash, link_phone_hash, link_email_hash, link_ids_hash, subject_hash`

// LakeColumns lists the columns of lake files (plus the date and channel
// partition columns), for code that rewrites them.
const LakeColumns = lakeColumns

// Publication says what one Publish call wrote.
type Publication struct {
	FromBatchID, ToBatchID int64
	Events                 int64
}

// Publish writes the events of batches not yet published to the Parquet lake
// at DIR/lake/events/date=YYYY-MM-DD/channel=NAME/*.parquet (Hive
// partitioning; events without a channel go to channel=none). Each call adds
// new files and never rewrites old ones, so readers always see whole files.
func (w *Warehouse) Publish(ctx context.Context) (Publication, error) {
	// Erasure and retention rewrite lake files under Exclusive: a
	// publication must not copy rows they are deleting.
	w.lakeMu.Lock()
	defer w.lakeMu.Unlock()
	var p Publication
	if err := w.DB.QueryRowContext(ctx, `select coalesce(max(to_batch_id), 0) from lake_publications`).Scan(&p.FromBatchID); err != nil {
		return p, fmt.Errorf("reading last publication: %w", err)
	}
	if err := w.DB.QueryRowContext(ctx, `select coalesce(max(batch_id), 0), count(*) from events where batch_id > ?`, p.FromBatchID).Scan(&p.ToBatchID, &p.Events); err != nil {
		return p, fmt.Errorf("finding unpublished events: %w", err)
	}
	if p.Events == 0 {
		return p, nil
	}
	dir := filepath.Join(w.Dir, LakeDir, "events")
	// A publish that crashed after writing files but before recording them
	// left files for the same first batch: remove them, they are rewritten now.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return p, fmt.Errorf("creating lake folder: %w", err)
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "*", "*", fmt.Sprintf("b%d_*.parquet", p.FromBatchID+1)))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return p, fmt.Errorf("removing unrecorded lake file: %w", err)
		}
	}
	q := fmt.Sprintf(`copy (
		select %s, strftime(occurred_at at time zone 'UTC', '%%Y-%%m-%%d') as date, coalesce(channel, 'none') as channel
		from events where batch_id > %d and batch_id <= %d
	) to '%s' (format parquet, partition_by (date, channel), append true,
	           filename_pattern 'b%d_%d_{uuid}', compression zstd)`,
		lakeColumns, p.FromBatchID, p.ToBatchID, strings.ReplaceAll(dir, "'", "''"), p.FromBatchID+1, p.ToBatchID)
	if _, err := w.DB.ExecContext(ctx, q); err != nil {
		return p, fmt.Errorf("writing events to the lake: %w", err)
	}
	if _, err := w.DB.ExecContext(ctx, `insert into lake_publications
		select coalesce(max(publication_id), 0) + 1, ?, ?, ?, ? from lake_publications`,
		p.FromBatchID+1, p.ToBatchID, p.Events, time.Now().UTC()); err != nil {
		return p, fmt.Errorf("recording publication: %w", err)
	}
	return p, nil
}

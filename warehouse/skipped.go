package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Skip is a source message that decoded but gave no event, with the
// coordinates it was read at. Reason never quotes personal data.
type Skip struct {
	Topic      string
	Partition  int
	Offset     int64
	Source     string // chatwoot, evolution
	EventName  string // the source's event name, when known
	ReasonCode string // unknown_event, no_timeline_event
	Reason     string
}

// claimSkips returns the skips no batch in flight is writing, and claims
// them for t, as claim does for dead letters (they share its set of claimed
// coordinates: a message is a dead letter or a skip, never both). Two
// overlapping transactions inserting the same key would fail to commit.
func (w *Warehouse) claimSkips(t *turn, skips []Skip) []Skip {
	if len(skips) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Skip, 0, len(skips))
	for _, s := range skips {
		k := deadKey{s.Topic, s.Partition, s.Offset}
		if _, ok := w.pending.dead[k]; ok {
			continue
		}
		w.pending.dead[k] = struct{}{}
		t.dead = append(t.dead, k)
		out = append(out, s)
	}
	return out
}

// writeSkipped stores the skips not already stored (a redelivered batch
// stores nothing twice) and returns how many it stored.
func (w *Warehouse) writeSkipped(ctx context.Context, conn *sql.Conn, batchID int64, now time.Time, skips []Skip) (int, error) {
	stored := 0
	for _, s := range skips {
		r, err := conn.ExecContext(ctx, `insert or ignore into skipped_messages
			(topic, "partition", "offset", source, event_name, reason_code, reason, batch_id, skipped_at)
			values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Topic, s.Partition, s.Offset, s.Source, str(s.EventName), s.ReasonCode, s.Reason, batchID, now)
		if err != nil {
			return stored, fmt.Errorf("storing skipped message %s/%d@%d: %w", s.Topic, s.Partition, s.Offset, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			stored++
		}
	}
	return stored, nil
}

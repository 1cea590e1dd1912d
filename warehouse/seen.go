package warehouse

import (
	"context"
	"fmt"

	"github.com/zeebo/xxh3"
)

// seenIDs is the set of event_ids stored in events, kept as 128-bit xxh3
// hashes (16 bytes an id). It is what makes writes idempotent: DuckDB's
// primary-key check costs more than the whole reference load (measured in
// docs/ingest.md), so uniqueness is enforced here, before the append, and
// checked by the data tests. A collision between two distinct ids would need
// about 2^64 events. It is guarded by Warehouse.mu.
type seenIDs map[xxh3.Uint128]struct{}

func loadSeen(ctx context.Context, w *Warehouse) (seenIDs, error) {
	var n int
	if err := w.DB.QueryRowContext(ctx, "select count(*) from events").Scan(&n); err != nil {
		return nil, fmt.Errorf("counting stored events: %w", err)
	}
	seen := make(seenIDs, n+n/4)
	rows, err := w.DB.QueryContext(ctx, "select event_id from events")
	if err != nil {
		return nil, fmt.Errorf("loading stored event ids: %w", err)
	}
	defer rows.Close()
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("loading stored event ids: %w", err)
		}
		seen[xxh3.HashString128(id)] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading stored event ids: %w", err)
	}
	return seen, nil
}

// claim returns the records whose event_id is neither stored, nor claimed
// by a batch being written, nor repeated earlier in recs, in order, and
// claims them: they count as stored until release. It returns their hashes.
func (s seenIDs) claim(recs []Record) ([]Record, []xxh3.Uint128) {
	out := make([]Record, 0, len(recs))
	hashes := make([]xxh3.Uint128, 0, len(recs))
	for _, r := range recs {
		h := xxh3.HashString128(r.Event.EventID)
		if _, ok := s[h]; ok {
			continue
		}
		s[h] = struct{}{}
		out = append(out, r)
		hashes = append(hashes, h)
	}
	return out, hashes
}

// release forgets claims whose batch did not commit.
func (s seenIDs) release(hashes []xxh3.Uint128) {
	for _, h := range hashes {
		delete(s, h)
	}
}

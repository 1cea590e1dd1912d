package warehouse

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/zeebo/xxh3"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// seenIDs maps the event_ids stored in events, kept as 128-bit xxh3 hashes
// (16 bytes an id), to the keyed hash of their canonical content
// (events.content_hash, event.Event.AppendCanonical, privacy.Hasher.Content;
// 0 when not known: rows stored before migration 0002). It is what makes
// writes idempotent: DuckDB's primary-key check costs more than the whole
// reference load (measured in docs/ingest.md), so uniqueness is enforced
// here, before the append, and checked by the data tests. A collision
// between two distinct ids would need about 2^64 events. It is guarded by
// Warehouse.mu.
//
// A known id with the same content is a redelivery (a duplicate, skipped);
// with other content it is a producer reusing an id, and becomes a dead
// letter (event.CodeEventIDReused). An id whose stored content is not known
// counts as a duplicate, as before the content was kept.
type seenIDs map[xxh3.Uint128]uint64

func loadSeen(ctx context.Context, w *Warehouse) (seenIDs, error) {
	var n int
	if err := w.DB.QueryRowContext(ctx, "select count(*) from events").Scan(&n); err != nil {
		return nil, fmt.Errorf("counting stored events: %w", err)
	}
	seen := make(seenIDs, n+n/4)
	rows, err := w.DB.QueryContext(ctx, "select event_id, content_hash from events")
	if err != nil {
		return nil, fmt.Errorf("loading stored event ids: %w", err)
	}
	defer rows.Close()
	var id string
	var sum sql.NullInt64
	for rows.Next() {
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, fmt.Errorf("loading stored event ids: %w", err)
		}
		seen[xxh3.HashString128(id)] = uint64(sum.Int64) // 0 when null
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading stored event ids: %w", err)
	}
	return seen, nil
}

// contentSums returns the keyed hash of each record's canonical content.
func contentSums(h *privacy.Hasher, recs []Record) []uint64 {
	sums := make([]uint64, len(recs))
	var buf []byte
	for i := range recs {
		buf = recs[i].Event.AppendCanonical(buf[:0])
		sums[i] = h.Content(buf)
	}
	return sums
}

// claim returns the records whose event_id is neither stored, nor claimed
// by a batch being written, nor repeated earlier in recs, in order, and
// claims them: they count as stored until release. It returns their id
// hashes and content sums, and the records whose id is known with other
// content (reused).
func (s seenIDs) claim(recs []Record, sums []uint64) (out []Record, hashes []xxh3.Uint128, outSums []uint64, reused []Record) {
	out = make([]Record, 0, len(recs))
	hashes = make([]xxh3.Uint128, 0, len(recs))
	outSums = make([]uint64, 0, len(recs))
	for i, r := range recs {
		h := xxh3.HashString128(r.Event.EventID)
		if known, ok := s[h]; ok {
			if known != 0 && known != sums[i] {
				reused = append(reused, r)
			}
			continue
		}
		s[h] = sums[i]
		out = append(out, r)
		hashes = append(hashes, h)
		outSums = append(outSums, sums[i])
	}
	return out, hashes, outSums, reused
}

// release forgets claims whose batch did not commit.
func (s seenIDs) release(hashes []xxh3.Uint128) {
	for _, h := range hashes {
		delete(s, h)
	}
}

// reusedReason is the reason of an event_id_reused dead letter. Like every
// reason it names the rule, never a value.
const reusedReason = "event_id is already stored with other content (compared over the decoded event, unknown fields aside): " +
	"the producer reused the id for another event, or changed an event and resent it under the same id; " +
	"an identical redelivery is a duplicate instead"

// reusedDeadLetter is the dead letter of a record whose event_id is stored
// with other content.
func reusedDeadLetter(r Record) DeadLetter {
	raw := r.Event.Raw
	if len(raw) > MaxDeadLetterBytes {
		raw = raw[:MaxDeadLetterBytes]
	}
	return DeadLetter{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Raw: raw,
		ReasonCode: event.CodeEventIDReused, Reason: reusedReason}
}

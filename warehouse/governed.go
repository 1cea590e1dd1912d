package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/zeebo/xxh3"

	"github.com/cxlake/cxlake/privacy"
)

// droppedRecord is an event or dead letter the gate kept out of the
// warehouse, for the per-partition counts of ingest_batches.
type droppedRecord struct {
	topic      string
	partition  int
	verdict    verdict
	deadLetter bool
}

// applyGate removes from p the records the gate drops (erased
// identifiers, past retention), releasing their claims on the seen set so
// that a replay meets the gate again rather than counting as a duplicate,
// and records each kept record's verdict in ps.
func (w *Warehouse) applyGate(t *part, ps []personal, now time.Time, res *Result) ([]personal, []droppedRecord) {
	var dropped []droppedRecord
	var released []xxh3.Uint128
	keep := 0
	for i := range t.recs {
		v := w.rules.verdict(&t.recs[i].Event, &ps[i].identifierHashes, now)
		if v == vSuppress || v == vExpire {
			dropped = append(dropped, droppedRecord{topic: t.recs[i].Topic, partition: t.recs[i].Partition, verdict: v})
			released = append(released, t.hashes[i])
			if v == vSuppress {
				res.Suppressed++
			} else {
				res.Expired++
			}
			continue
		}
		ps[i].verdict = v
		t.recs[keep], t.hashes[keep], ps[keep] = t.recs[i], t.hashes[i], ps[i]
		keep++
	}
	if len(released) > 0 {
		w.mu.Lock()
		w.seen.release(released)
		w.mu.Unlock()
	}
	t.recs, t.hashes = t.recs[:keep], t.hashes[:keep]
	return ps[:keep], dropped
}

// sealedDeadLetter is a dead letter with its key and raw bytes sealed;
// both nil when it is keyed out (it mentions a person whose withdrawal of
// consent is in force).
type sealedDeadLetter struct {
	DeadLetter
	key, raw []byte
}

// prepareDeadLetters drops the dead letters that mention a suppressed
// identifier, keys out those that mention a withdrawn person (no key is
// made, nothing of their bytes is stored), and seals the others under
// their own keys.
func (w *Warehouse) prepareDeadLetters(h *privacy.Hasher, dls []DeadLetter, res *Result) ([]sealedDeadLetter, []droppedRecord, error) {
	if len(dls) == 0 {
		return nil, nil, nil
	}
	var dropped []droppedRecord
	kept := make([]sealedDeadLetter, 0, len(dls))
	ids := make([]privacy.KeyID, 0, len(dls))
	sealAt := make([]int, 0, len(dls)) // index in kept of each id
	suppressions, withdrawals := w.rules.hasSuppressions(), w.rules.hasPseudonymizations()
	for _, d := range dls {
		var mentioned []string
		if suppressions || withdrawals {
			mentioned = append(MentionHashes(h, d.Raw), MentionHashes(h, d.Key)...)
		}
		if suppressions && w.rules.suppressedMention(mentioned) {
			res.Suppressed++
			dropped = append(dropped, droppedRecord{topic: d.Topic, partition: d.Partition, verdict: vSuppress, deadLetter: true})
			continue
		}
		d.Reason = clearReason(d.ReasonCode, d.Reason)
		kept = append(kept, sealedDeadLetter{DeadLetter: d})
		if withdrawals && w.rules.withdrawnMention(mentioned) {
			continue
		}
		ids = append(ids, privacy.DeadLetterID(d.Topic, d.Partition, d.Offset))
		sealAt = append(sealAt, len(kept)-1)
	}
	got, err := w.keys.Ensure(ids)
	if err != nil {
		return nil, nil, fmt.Errorf("making dead letter keys: %w", err)
	}
	var nonces privacy.Nonces
	for j, i := range sealAt {
		if kept[i].key, kept[i].raw, err = sealDeadLetter(&kept[i].DeadLetter, got[j], &nonces); err != nil {
			return nil, nil, fmt.Errorf("sealing a dead letter: %w", err)
		}
	}
	return kept, dropped, nil
}

// writeIdentifiers appends the batch's new identifiers.
func writeIdentifiers(ctx context.Context, conn *sql.Conn, batchID int64, rows []identifierRow) error {
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "identifiers")
		if err != nil {
			return fmt.Errorf("creating identifiers appender: %w", err)
		}
		for _, r := range rows {
			if err := a.AppendRow(r.hash, r.kind, r.sealed, r.firstSeen.UTC(), batchID); err != nil {
				_ = a.Close()
				return fmt.Errorf("appending identifiers: %w", err)
			}
		}
		if err := a.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("flushing identifiers: %w", err)
		}
		return nil
	})
}

func loadKnown(ctx context.Context, db *sql.DB) (knownIdentifiers, error) {
	k := knownIdentifiers{}
	rows, err := db.QueryContext(ctx, `select identifier_hash from identifiers`)
	if err != nil {
		return nil, fmt.Errorf("loading stored identifiers: %w", err)
	}
	defer rows.Close()
	var h string
	for rows.Next() {
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("loading stored identifiers: %w", err)
		}
		k[xxh3.HashString128(h)] = struct{}{}
	}
	return k, rows.Err()
}

// initGovernance opens the key store and registers the unsealing SQL
// functions; a writable warehouse also loads the stored identifiers and the
// identifier rules ingest enforces.
func (w *Warehouse) initGovernance(ctx context.Context, readOnly bool) error {
	var err error
	if w.keys, err = privacy.OpenKeyStore(w.Dir); err != nil {
		return err
	}
	if err := w.registerUnseal(ctx); err != nil {
		return err
	}
	if readOnly {
		return nil
	}
	if w.known, err = loadKnown(ctx, w.DB); err != nil {
		return err
	}
	return w.loadRules(ctx)
}

// Keys is the warehouse's data key store (governance destroys keys in it).
func (w *Warehouse) Keys() *privacy.KeyStore { return w.keys }

// Hasher returns a new identifier hasher under the warehouse's hash key
// (nil for a read-only warehouse opened without one).
func (w *Warehouse) Hasher() *privacy.Hasher {
	if len(w.hashKey) == 0 {
		return nil
	}
	return privacy.NewHasher(w.hashKey)
}

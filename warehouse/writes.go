package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/zeebo/xxh3"
)

// This file holds the bookkeeping that lets batch writes overlap: which
// event ids and dead-letter coordinates are being written right now, the
// order batches commit in, and checkpoints between batches.

type deadKey struct {
	topic     string
	partition int
	offset    int64
}

// pendingWrites are the dead-letter coordinates of batches being written:
// a concurrent batch skips them as it skips stored ones. (Event ids being
// written are claimed in the seen set itself, and released on failure.)
type pendingWrites struct {
	dead map[deadKey]struct{}
}

func newPendingWrites() pendingWrites {
	return pendingWrites{dead: map[deadKey]struct{}{}}
}

// turn is one batch's place in the write order, with what it has claimed
// so far: the claims are released when it finishes without committing.
type turn struct {
	batchID int64
	prev    <-chan struct{} // closed when the batch before has finished
	done    chan struct{}   // closed when this one has
	// claimed are the event-id hashes the batch stores; dead the
	// dead-letter and skip coordinates it writes.
	claimed []xxh3.Uint128
	dead    []deadKey
	// idents are the identifiers this batch stores for the first time,
	// claimed in known (sealing.go).
	idents []xxh3.Uint128
}

// part is one Append's records and dead letters after claiming: the ones
// no stored or in-flight batch has.
type part struct {
	recs   []Record
	hashes []xxh3.Uint128
	sums   []uint64 // content sums of recs (seen.go)
	dead   []DeadLetter
	// reused counts the records that became event_id_reused dead letters.
	reused []Record
}

// reserve takes the next batch id and its place in the commit order.
func (w *Warehouse) reserve() *turn {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := &turn{batchID: w.nextBatchID, prev: w.lastTurn, done: make(chan struct{})}
	w.nextBatchID++
	w.lastTurn = t.done
	return t
}

// claim claims b's new events and dead letters for t, so that no
// concurrent batch writes them too. sums are the records' content sums: a
// record whose event_id is stored with other content becomes a dead letter.
func (w *Warehouse) claim(t *turn, b *Batch, sums []uint64) part {
	w.mu.Lock()
	defer w.mu.Unlock()
	var p part
	p.recs, p.hashes, p.sums, p.reused = w.seen.claim(b.Records, sums)
	dls := b.DeadLetters
	if len(p.reused) > 0 {
		dls = make([]DeadLetter, 0, len(b.DeadLetters)+len(p.reused))
		dls = append(dls, b.DeadLetters...)
		for _, r := range p.reused {
			dls = append(dls, reusedDeadLetter(r))
		}
	}
	for _, d := range dls {
		k := deadKey{d.Topic, d.Partition, d.Offset}
		if _, ok := w.pending.dead[k]; ok {
			continue
		}
		w.pending.dead[k] = struct{}{}
		t.dead = append(t.dead, k)
		p.dead = append(p.dead, d)
	}
	return p
}

// finish releases t's claims: when its batch did not commit, its event ids
// are forgotten, so a redelivery stores them. Then the next batch may commit.
func (w *Warehouse) finish(t *turn, committed bool) {
	w.mu.Lock()
	if !committed {
		w.seen.release(t.claimed)
		for _, h := range t.idents {
			delete(w.known, h)
		}
	}
	for _, k := range t.dead {
		delete(w.pending.dead, k)
	}
	w.mu.Unlock()
	close(t.done)
}

// CheckpointIfLarge checkpoints when the WAL has grown past the checkpoint
// threshold. DuckDB checkpoints on its own at a commit only when no other
// transaction is open, which overlapping batch writes rarely allow, so the
// ingest loop calls this between batches. It waits for writes in flight.
func (w *Warehouse) CheckpointIfLarge(ctx context.Context) (bool, error) {
	large := func() bool {
		fi, err := os.Stat(w.walFile)
		return err == nil && fi.Size() >= w.checkpointBytes
	}
	if !large() {
		return false, nil
	}
	ran := false
	err := w.Exclusive(ctx, func(ctx context.Context, _ *sql.DB) error {
		if !large() { // another writer checkpointed while this one waited
			return nil
		}
		if _, err := w.DB.ExecContext(ctx, "checkpoint"); err != nil {
			return fmt.Errorf("checkpointing: %w", err)
		}
		ran = true
		return nil
	})
	return ran, err
}

// parseBytes reads a DuckDB-style size such as "256MB" or "1GiB".
func parseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size: write e.g. 256MB")
	}
	return int64(n * float64(mult)), nil
}

package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sort"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// Record is an accepted event with the Kafka coordinates it was read at.
type Record struct {
	Event     event.Event
	Topic     string
	Partition int
	Offset    int64
}

// DeadLetter is a rejected message with the coordinates it was read at.
type DeadLetter struct {
	Topic      string
	Partition  int
	Offset     int64
	Key        []byte
	Raw        []byte
	ReasonCode string
	Reason     string
}

// MaxDeadLetterBytes bounds the raw bytes kept of one dead letter; larger
// payloads (the too_large ones) keep their first MaxDeadLetterBytes and their size.
const MaxDeadLetterBytes = 64 << 10

// Span is the offset range a batch covers in one topic-partition.
type Span struct {
	Topic       string
	Partition   int
	FirstOffset int64
	LastOffset  int64
	Messages    int
	// HighWaterMark is the partition's high-water mark at fetch, 0 if unknown.
	HighWaterMark int64
}

// Lag is how many messages of the partition were behind the batch's last
// one when it was fetched, or -1 when the high-water mark is unknown.
func (s Span) Lag() int64 {
	if s.HighWaterMark <= 0 {
		return -1
	}
	return max(s.HighWaterMark-1-s.LastOffset, 0)
}

// Batch is what Append takes: decoded messages read from Kafka (or lines
// of a file). A Txn commits one or more of them in one DuckDB transaction,
// the unit of durability: their offsets may be committed to Kafka only
// after the Txn has committed.
type Batch struct {
	Records     []Record
	DeadLetters []DeadLetter
	Spans       []Span
	// Skipped are source messages that gave no event (skipped.go).
	Skipped []Skip
	// Revisions are edits and deletions of stored messages (revise.go).
	Revisions []Revision
	StartedAt time.Time
}

// Result counts what a batch changed: one Append, or a whole Txn.
type Result struct {
	BatchID     int64
	Accepted    int // new events stored
	Duplicates  int // events whose event_id was already stored, or repeated in the batch
	DeadLetters int
	Skipped     int // source messages skipped with a reason, not stored before
	// Suppressed counts events dropped because they name an erased
	// identifier, and dead letters dropped because they mention one.
	Suppressed int
	// Expired counts events dropped because they are older than the
	// raw-events retention.
	Expired int
	// Revised counts edits and deletions of messages recorded (revise.go),
	// not recorded before.
	Revised int
}

// Add adds o's counts to r's (not the batch id).
func (r *Result) Add(o Result) {
	r.Accepted += o.Accepted
	r.Duplicates += o.Duplicates
	r.DeadLetters += o.DeadLetters
	r.Skipped += o.Skipped
	r.Suppressed += o.Suppressed
	r.Expired += o.Expired
	r.Revised += o.Revised
}

// Write commits b alone in one transaction: Begin, Append, Commit.
func (w *Warehouse) Write(ctx context.Context, b *Batch) (Result, error) {
	tx, err := w.Begin(ctx)
	if err != nil {
		return Result{}, err
	}
	if _, err := tx.Append(ctx, b); err != nil {
		tx.Rollback()
		return Result{}, err
	}
	return tx.Commit(ctx)
}

// RowGroupRows is the number of rows in a DuckDB row group. A Txn that
// appends at least this many events is written into the table file at
// commit, not through the WAL; ingest ends its batches on a row group
// (docs/ingest.md).
const RowGroupRows = 122880

// Txn is one batch being written: a DuckDB transaction with its own batch
// id, which takes one or more Batches (Append) and makes them durable
// together (Commit). Ingest appends each fetch as it arrives, so a large
// transaction never sits whole in Go memory, and a transaction holding at
// least a row group (122,880 rows) is written by DuckDB straight into the
// table file, compressed, instead of through the WAL (docs/ingest.md).
//
// Writes are idempotent: events whose event_id is already stored (or
// repeated, or in a batch being written right now) and dead letters whose
// coordinates are already stored are skipped, so a redelivery changes
// nothing but the count of duplicates.
//
// Several Txns may be open at once, each on its own connection; they commit
// one at a time in the order they began, which is the order of their batch
// ids. A batch id therefore never becomes visible before a smaller one, so
// readers that remember "everything up to batch N" (the model refresh, lake
// publication) never skip a batch. A Txn is not safe for concurrent use.
type Txn struct {
	w       *Warehouse
	conn    *sql.Conn
	t       *turn
	h       *privacy.Hasher
	started time.Time
	res     Result
	spans   []spanCounts
	failed  error // set when an Append failed: the Txn can only be rolled back
	// revs and revTargets wait for the commit: the Txn's revisions, and
	// its messages that have a pending revision (revise.go).
	revs       []Revision
	revTargets []string
	ended      bool
}

// spanCounts is what a Txn read and stored from one topic-partition: its
// ingest_batches row.
type spanCounts struct {
	Span
	accepted, read, dead, suppressed, expired int
}

// Begin opens a Txn. It holds off Exclusive (erasure, retention,
// checkpoints) until it commits or rolls back, so it must end soon: ingest
// ends it when it is full or its batch wait has passed.
func (w *Warehouse) Begin(ctx context.Context) (*Txn, error) {
	w.gate.RLock()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		w.gate.RUnlock()
		return nil, fmt.Errorf("getting warehouse connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
		conn.Close()
		w.gate.RUnlock()
		return nil, fmt.Errorf("beginning batch transaction: %w", err)
	}
	return &Txn{w: w, conn: conn, t: w.reserve(), h: w.hashers.Get(), started: time.Now()}, nil
}

// BatchID is the id the Txn's rows carry.
func (x *Txn) BatchID() int64 { return x.t.batchID }

// Append writes b in the transaction and returns what b changed. After an
// error the Txn can only be rolled back.
func (x *Txn) Append(ctx context.Context, b *Batch) (res Result, err error) {
	if x.failed != nil || x.ended {
		return res, fmt.Errorf("appending to batch %d: the transaction has ended or failed", x.t.batchID)
	}
	defer func() {
		if err != nil {
			x.failed = err
		}
	}()
	w, t := x.w, x.t
	p := w.claim(t, b, contentSums(x.h, b.Records))
	skips := w.claimSkips(t, b.Skipped)
	res = Result{BatchID: t.batchID}
	now := time.Now().UTC()

	ps := make([]personal, len(p.recs))
	hashIdentifiers(x.h, p.recs, ps)
	for i := range ps {
		ps[i].contentSum = p.sums[i]
	}
	ps, dropped := w.applyGate(&p, ps, now, &res)
	t.claimed = append(t.claimed, p.hashes...)
	res.Accepted = len(p.recs)
	res.Duplicates = len(b.Records) - len(p.recs) - len(p.reused) - res.Suppressed - res.Expired
	idents, keyOf, err := w.seal(t, p.recs, ps)
	if err != nil {
		return res, err
	}
	dls, dlDropped, err := w.prepareDeadLetters(x.h, p.dead, &res)
	if err != nil {
		return res, err
	}
	dropped = append(dropped, dlDropped...)

	// Sealed a slice at a time, so that a batch's sealed contents (a second
	// copy of its payloads) are never all in memory at once.
	for lo := 0; lo < len(p.recs); lo += sealSlice {
		hi := min(lo+sealSlice, len(p.recs))
		if err := sealContents(p.recs[lo:hi], ps[lo:hi], keyOf); err != nil {
			return res, err
		}
		err = x.conn.Raw(func(dc any) error {
			return sinks[w.sink]().writeEvents(ctx, dc.(driver.Conn), t.batchID, now, p.recs[lo:hi], ps[lo:hi])
		})
		if err != nil {
			return res, fmt.Errorf("writing %d events of batch %d: %w", len(p.recs), t.batchID, err)
		}
		for i := lo; i < hi; i++ {
			ps[i].content = nil
		}
	}
	if len(idents) > 0 {
		if err := writeIdentifiers(ctx, x.conn, t.batchID, idents); err != nil {
			return res, err
		}
	}
	dead, err := w.writeDeadLetters(ctx, x.conn, t.batchID, now, dls)
	if err != nil {
		return res, err
	}
	res.DeadLetters = len(dead)
	if res.Skipped, err = w.writeSkipped(ctx, x.conn, t.batchID, now, skips); err != nil {
		return res, err
	}
	x.count(b, p.recs, dead, dropped, p.reused)
	x.noteRevisions(b)
	x.res.Add(res)
	return res, nil
}

// Commit writes the Txn's ingest_batches rows, waits until the batch before
// it has finished, commits, and returns what the whole Txn changed.
func (x *Txn) Commit(ctx context.Context) (Result, error) {
	if x.failed != nil || x.ended {
		x.Rollback()
		return x.res, fmt.Errorf("committing batch %d: the transaction has ended or failed", x.t.batchID)
	}
	res := x.res
	res.BatchID = x.t.batchID
	if err := x.writeSpans(ctx, time.Now().UTC()); err != nil {
		x.Rollback()
		return res, err
	}
	select { // commit after the batch before this one has finished
	case <-x.t.prev:
	case <-ctx.Done():
		x.Rollback()
		return res, fmt.Errorf("waiting to commit batch %d: %w", res.BatchID, ctx.Err())
	}
	if _, err := x.conn.ExecContext(ctx, "commit"); err != nil {
		x.Rollback()
		return res, fmt.Errorf("committing batch %d: %w", res.BatchID, err)
	}
	x.end(true)
	// Then the revisions, in a transaction of their own (revise.go).
	n, err := x.w.revise(ctx, res.BatchID, x.revs, x.revTargets)
	x.revs, x.revTargets = nil, nil
	res.Revised = n
	if err != nil {
		return res, err
	}
	return res, nil
}

// Rollback abandons the Txn and releases its claims; the batch after it may
// then commit. It does nothing after Commit or Rollback.
func (x *Txn) Rollback() {
	if x.ended {
		return
	}
	_, _ = x.conn.ExecContext(context.Background(), "rollback")
	x.end(false)
}

func (x *Txn) end(committed bool) {
	x.ended = true
	x.conn.Close()
	x.w.hashers.Put(x.h)
	x.w.finish(x.t, committed)
	x.w.gate.RUnlock()
}

// writeDeadLetters stores the dead letters not already stored and returns them.
func (w *Warehouse) writeDeadLetters(ctx context.Context, conn *sql.Conn, batchID int64, now time.Time, dls []sealedDeadLetter) ([]DeadLetter, error) {
	var stored []DeadLetter
	for _, sd := range dls {
		d := sd.DeadLetter
		// A nil slice is NULL (none, or keyed out), not an empty blob.
		var key, raw any
		if sd.key != nil {
			key = sd.key
		}
		if sd.raw != nil {
			raw = sd.raw
		}
		r, err := conn.ExecContext(ctx, `insert or ignore into dead_letters
			(topic, "partition", "offset", message_key, raw, raw_size, reason_code, reason, batch_id, received_at)
			values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Topic, d.Partition, d.Offset, key, raw, len(d.Raw), d.ReasonCode, d.Reason, batchID, now)
		if err != nil {
			return nil, fmt.Errorf("storing dead letter %s/%d@%d: %w", d.Topic, d.Partition, d.Offset, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			stored = append(stored, d)
		}
	}
	return stored, nil
}

// count adds one Append to the Txn's per-partition counts.
func (x *Txn) count(b *Batch, accepted []Record, dead []DeadLetter, dropped []droppedRecord, reused []Record) {
	find := func(topic string, part int) *spanCounts {
		for i := range x.spans {
			if s := &x.spans[i]; s.Topic == topic && s.Partition == part {
				return s
			}
		}
		return nil
	}
	for _, s := range b.Spans {
		if c := find(s.Topic, s.Partition); c != nil {
			c.FirstOffset, c.LastOffset = min(c.FirstOffset, s.FirstOffset), max(c.LastOffset, s.LastOffset)
			c.HighWaterMark = max(c.HighWaterMark, s.HighWaterMark)
			c.Messages += s.Messages
		} else {
			x.spans = append(x.spans, spanCounts{Span: s})
		}
	}
	var ignored spanCounts // a record outside every span (none, from the assembler)
	get := func(topic string, part int) *spanCounts {
		if c := find(topic, part); c != nil {
			return c
		}
		return &ignored
	}
	for i := range b.Records {
		get(b.Records[i].Topic, b.Records[i].Partition).read++
	}
	for i := range accepted {
		get(accepted[i].Topic, accepted[i].Partition).accepted++
	}
	for i := range dead {
		get(dead[i].Topic, dead[i].Partition).dead++
	}
	for i := range reused { // read as events, stored as dead letters
		get(reused[i].Topic, reused[i].Partition).read--
	}
	for _, d := range dropped {
		c := get(d.topic, d.partition)
		switch {
		case d.deadLetter:
			c.suppressed++
		case d.verdict == vExpire:
			c.expired++
			c.read--
		default:
			c.suppressed++
			c.read--
		}
	}
}

// writeSpans records one ingest_batches row per topic-partition the Txn
// read from. With several writers, Txns interleave: a row's offsets lie
// between first_offset and last_offset, but other batches may hold
// offsets in between.
func (x *Txn) writeSpans(ctx context.Context, now time.Time) error {
	for _, c := range x.spans {
		var lag any
		if l := c.Lag(); l >= 0 {
			lag = l
		}
		if _, err := x.conn.ExecContext(ctx, `insert into ingest_batches
			(batch_id, topic, "partition", first_offset, last_offset, messages, accepted, duplicates, dead_letters,
			 suppressed, expired, started_at, committed_at, lag) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.t.batchID, c.Topic, c.Partition, c.FirstOffset, c.LastOffset, c.Messages,
			c.accepted, c.read-c.accepted, c.dead, c.suppressed, c.expired,
			x.started.UTC(), now, lag); err != nil {
			return fmt.Errorf("recording batch %d: %w", x.t.batchID, err)
		}
	}
	return nil
}

// sink appends a batch of new records to the events table. It runs inside
// the batch transaction; the records were already deduplicated.
type sink interface {
	writeEvents(ctx context.Context, conn driver.Conn, batchID int64, ingestedAt time.Time, recs []Record, ps []personal) error
}

var sinks = map[string]func() sink{}

const defaultSink = "appender"

func sinkNames() []string {
	names := make([]string, 0, len(sinks))
	for n := range sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sort"
	"time"

	"github.com/cxlake/cxlake/event"
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

// Batch is the unit of durability: everything in it commits in one DuckDB
// transaction, and its offsets may be committed to Kafka only after Write returns.
type Batch struct {
	Records     []Record
	DeadLetters []DeadLetter
	Spans       []Span
	// Skipped are source messages that gave no event (skipped.go).
	Skipped   []Skip
	StartedAt time.Time
}

// Result counts what a committed batch changed.
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
}

// Write commits b in one transaction. It is idempotent: events whose
// event_id is already stored (or repeated in b, or in a batch being written
// right now) and dead letters whose coordinates are already stored are
// skipped, so a redelivered batch changes nothing but the count of
// duplicates.
//
// Concurrent calls overlap: each appends on its own connection, and they
// commit one at a time in the order they called Write, which is the order of
// their batch ids. A batch id therefore never becomes visible before a
// smaller one, so readers that remember "everything up to batch N" (the
// model refresh, lake publication) never skip a batch.
func (w *Warehouse) Write(ctx context.Context, b *Batch) (res Result, err error) {
	w.gate.RLock()
	defer w.gate.RUnlock()
	t := w.reserve(b)
	defer func() { w.finish(t, err == nil) }()
	skips := w.claimSkips(b.Skipped)
	defer w.releaseSkips(skips)
	res = Result{BatchID: t.batchID, Accepted: len(t.recs), Duplicates: len(b.Records) - len(t.recs)}
	now := time.Now().UTC()

	ps := make([]personal, len(t.recs))
	h := w.hashers.get()
	defer w.hashers.put(h)
	hashIdentifiers(h, t.recs, ps)
	ps, dropped := w.applyGate(t, ps, now, &res)
	res.Accepted = len(t.recs)
	res.Duplicates = len(b.Records) - len(t.recs) - res.Suppressed - res.Expired
	idents, keyOf, err := w.seal(t, ps)
	if err != nil {
		return res, err
	}
	dls, dlDropped, err := w.prepareDeadLetters(h, t.dead, &res)
	if err != nil {
		return res, err
	}
	dropped = append(dropped, dlDropped...)

	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("getting warehouse connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
		return res, fmt.Errorf("beginning batch transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "rollback")
		}
	}()
	// Sealed a slice at a time, so that a batch's sealed contents (a second
	// copy of its payloads) are never all in memory at once.
	for lo := 0; lo < len(t.recs); lo += sealSlice {
		hi := min(lo+sealSlice, len(t.recs))
		if err := sealContents(t.recs[lo:hi], ps[lo:hi], keyOf); err != nil {
			return res, err
		}
		err = conn.Raw(func(dc any) error {
			return sinks[w.sink]().writeEvents(ctx, dc.(driver.Conn), res.BatchID, now, t.recs[lo:hi], ps[lo:hi])
		})
		if err != nil {
			return res, fmt.Errorf("writing %d events of batch %d: %w", len(t.recs), res.BatchID, err)
		}
		for i := lo; i < hi; i++ {
			ps[i].content = nil
		}
	}
	if len(idents) > 0 {
		if err := writeIdentifiers(ctx, conn, res.BatchID, idents); err != nil {
			return res, err
		}
	}
	dead, err := w.writeDeadLetters(ctx, conn, res.BatchID, now, dls)
	if err != nil {
		return res, err
	}
	res.DeadLetters = len(dead)
	if res.Skipped, err = w.writeSkipped(ctx, conn, res.BatchID, now, skips); err != nil {
		return res, err
	}
	if err := w.writeSpans(ctx, conn, res.BatchID, now, b, t.recs, dead, dropped); err != nil {
		return res, err
	}
	select { // commit after the batch before this one has finished
	case <-t.prev:
	case <-ctx.Done():
		return res, fmt.Errorf("waiting to commit batch %d: %w", res.BatchID, ctx.Err())
	}
	if _, err := conn.ExecContext(ctx, "commit"); err != nil {
		return res, fmt.Errorf("committing batch %d: %w", res.BatchID, err)
	}
	committed = true
	return res, nil
}

// writeDeadLetters stores the dead letters not already stored and returns them.
func (w *Warehouse) writeDeadLetters(ctx context.Context, conn *sql.Conn, batchID int64, now time.Time, dls []sealedDeadLetter) ([]DeadLetter, error) {
	var stored []DeadLetter
	for _, sd := range dls {
		d := sd.DeadLetter
		r, err := conn.ExecContext(ctx, `insert or ignore into dead_letters
			(topic, "partition", "offset", message_key, raw, raw_size, reason_code, reason, batch_id, received_at)
			values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Topic, d.Partition, d.Offset, sd.key, sd.raw, len(d.Raw), d.ReasonCode, d.Reason, batchID, now)
		if err != nil {
			return nil, fmt.Errorf("storing dead letter %s/%d@%d: %w", d.Topic, d.Partition, d.Offset, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			stored = append(stored, d)
		}
	}
	return stored, nil
}

// writeSpans records one ingest_batches row per topic-partition of the batch.
func (w *Warehouse) writeSpans(ctx context.Context, conn *sql.Conn, batchID int64, now time.Time, b *Batch, accepted []Record, dead []DeadLetter, dropped []droppedRecord) error {
	type key struct {
		topic string
		part  int
	}
	type counts struct{ read, accepted, dead, suppressed, suppressedDead, expired int }
	per := map[key]*counts{}
	for _, s := range b.Spans {
		per[key{s.Topic, s.Partition}] = &counts{}
	}
	get := func(k key) *counts {
		if c := per[k]; c != nil {
			return c
		}
		return &counts{} // not in a span: ignored
	}
	for _, r := range b.Records {
		get(key{r.Topic, r.Partition}).read++
	}
	for _, r := range accepted {
		get(key{r.Topic, r.Partition}).accepted++
	}
	for _, d := range dead {
		get(key{d.Topic, d.Partition}).dead++
	}
	for _, d := range dropped {
		c := get(key{d.topic, d.partition})
		switch {
		case d.deadLetter:
			c.suppressedDead++
		case d.verdict == vExpire:
			c.expired++
		default:
			c.suppressed++
		}
	}
	for _, s := range b.Spans {
		c := per[key{s.Topic, s.Partition}]
		var lag any
		if l := s.Lag(); l >= 0 {
			lag = l
		}
		if _, err := conn.ExecContext(ctx, `insert into ingest_batches
			(batch_id, topic, "partition", first_offset, last_offset, messages, accepted, duplicates, dead_letters,
			 suppressed, expired, started_at, committed_at, lag) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			batchID, s.Topic, s.Partition, s.FirstOffset, s.LastOffset, s.Messages,
			c.accepted, c.read-c.accepted-c.suppressed-c.expired, c.dead, c.suppressed+c.suppressedDead, c.expired,
			b.StartedAt.UTC(), now, lag); err != nil {
			return fmt.Errorf("recording batch %d: %w", batchID, err)
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

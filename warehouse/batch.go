package warehouse

import (
	"context"
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
}

// Batch is the unit of durability: everything in it commits in one DuckDB
// transaction, and its offsets may be committed to Kafka only after Write returns.
type Batch struct {
	Records     []Record
	DeadLetters []DeadLetter
	Spans       []Span
	StartedAt   time.Time
}

// Result counts what a committed batch changed.
type Result struct {
	BatchID     int64
	Accepted    int // new events stored
	Duplicates  int // events whose event_id was already stored, or repeated in the batch
	DeadLetters int
}

// Write commits b in one transaction. It is idempotent: events whose
// event_id is already stored and dead letters whose coordinates are already
// stored are skipped, so a redelivered batch changes nothing but the count of
// duplicates. Concurrent calls are serialized.
func (w *Warehouse) Write(ctx context.Context, b *Batch) (Result, error) {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	res := Result{BatchID: w.nextBatchID}
	now := time.Now().UTC()
	recs := dedupe(b.Records)
	inBatchDups := len(b.Records) - len(recs)

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

	if len(recs) > 0 {
		err = conn.Raw(func(dc any) error {
			return sinks[w.sink]().writeEvents(ctx, dc.(driver.Conn), res.BatchID, now, recs)
		})
		if err != nil {
			return res, fmt.Errorf("writing %d events of batch %d: %w", len(recs), res.BatchID, err)
		}
		if err := conn.QueryRowContext(ctx, "select count(*) from events where batch_id = ?", res.BatchID).Scan(&res.Accepted); err != nil {
			return res, fmt.Errorf("counting events of batch %d: %w", res.BatchID, err)
		}
	}
	res.Duplicates = inBatchDups + len(recs) - res.Accepted

	for _, d := range b.DeadLetters {
		raw := d.Raw
		if len(raw) > MaxDeadLetterBytes {
			raw = raw[:MaxDeadLetterBytes]
		}
		r, err := conn.ExecContext(ctx, `insert or ignore into dead_letters
			(topic, "partition", "offset", message_key, raw, raw_size, reason_code, reason, batch_id, received_at)
			values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Topic, d.Partition, d.Offset, d.Key, raw, len(d.Raw), d.ReasonCode, d.Reason, res.BatchID, now)
		if err != nil {
			return res, fmt.Errorf("storing dead letter %s/%d@%d: %w", d.Topic, d.Partition, d.Offset, err)
		}
		n, _ := r.RowsAffected()
		res.DeadLetters += int(n)
	}

	// Per-span counts, so ingest_batches says what each partition contributed.
	type counts struct{ accepted, dups, dead int }
	per := map[[2]any]*counts{}
	for _, s := range b.Spans {
		per[[2]any{s.Topic, s.Partition}] = &counts{}
	}
	for _, d := range b.DeadLetters {
		if c := per[[2]any{d.Topic, d.Partition}]; c != nil {
			c.dead++
		}
	}
	if len(b.Spans) == 1 {
		c := per[[2]any{b.Spans[0].Topic, b.Spans[0].Partition}]
		c.accepted, c.dups = res.Accepted, res.Duplicates
	} else if len(b.Spans) > 1 && len(b.Records) > 0 {
		rows, err := conn.QueryContext(ctx, `select kafka_topic, kafka_partition, count(*) from events where batch_id = ? group by all`, res.BatchID)
		if err != nil {
			return res, fmt.Errorf("counting batch %d per partition: %w", res.BatchID, err)
		}
		for rows.Next() {
			var topic string
			var part, n int
			if err := rows.Scan(&topic, &part, &n); err != nil {
				rows.Close()
				return res, fmt.Errorf("counting batch %d per partition: %w", res.BatchID, err)
			}
			if c := per[[2]any{topic, part}]; c != nil {
				c.accepted = n
			}
		}
		rows.Close()
		for _, r := range b.Records {
			if c := per[[2]any{r.Topic, r.Partition}]; c != nil {
				c.dups++
			}
		}
		for _, c := range per {
			c.dups -= c.accepted
		}
	}
	for _, s := range b.Spans {
		c := per[[2]any{s.Topic, s.Partition}]
		if _, err := conn.ExecContext(ctx, `insert into ingest_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			res.BatchID, s.Topic, s.Partition, s.FirstOffset, s.LastOffset, s.Messages,
			c.accepted, c.dups, c.dead, b.StartedAt.UTC(), now); err != nil {
			return res, fmt.Errorf("recording batch %d: %w", res.BatchID, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "commit"); err != nil {
		return res, fmt.Errorf("committing batch %d: %w", res.BatchID, err)
	}
	committed = true
	w.nextBatchID++
	return res, nil
}

// dedupe keeps the first record of each event_id, in offset order.
func dedupe(recs []Record) []Record {
	seen := make(map[string]struct{}, len(recs))
	out := recs[:0:0]
	for _, r := range recs {
		if _, ok := seen[r.Event.EventID]; ok {
			continue
		}
		seen[r.Event.EventID] = struct{}{}
		out = append(out, r)
	}
	return out
}

// sink moves a batch of records into the events table, skipping event_ids
// already present ("insert or ignore"). It runs inside the batch transaction.
type sink interface {
	writeEvents(ctx context.Context, conn driver.Conn, batchID int64, ingestedAt time.Time, recs []Record) error
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

// Package ingest moves messages from Kafka (or an NDJSON file) into the
// warehouse: it fetches, decodes and validates each message, turns rejects
// into dead letters, writes each batch in one transaction, and only then
// commits the batch's offsets. Redelivery is harmless because the warehouse
// write is idempotent by event_id.
package ingest

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/warehouse"
)

// Message is one message read from a topic-partition (or a line of a file).
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	// HighWaterMark is the partition's high-water mark when the message was
	// fetched (the offset the next produced message will get), or 0 when
	// unknown (a file). HighWaterMark-1-Offset messages were behind it.
	HighWaterMark int64
	Time          time.Time // the record's Kafka timestamp; zero for file lines
}

// Assembler turns fetched messages into a warehouse batch: decoded events,
// dead letters with reasons, and the offset span per topic-partition. It is
// the one processor both the Kafka consumer and the file loader use.
type Assembler struct {
	Decoder event.Decoder
	// Workers decodes in parallel when a batch is large; 0 means GOMAXPROCS.
	Workers int
	// Sources decode the topics they name (source.go); other topics carry cx.event/v1.
	Sources []Source
}

type decoded struct {
	ev  event.Event
	err error
}

// Assemble decodes msgs, in order, into a batch.
func (a *Assembler) Assemble(msgs []Message) *warehouse.Batch {
	if len(a.Sources) > 0 {
		return a.assembleSources(msgs)
	}
	out := make([]decoded, len(msgs))
	workers := a.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if len(msgs) < 2048 || workers == 1 {
		for i := range msgs {
			out[i].ev, out[i].err = a.Decoder.Decode(msgs[i].Value)
		}
	} else {
		var wg sync.WaitGroup
		chunk := (len(msgs) + workers - 1) / workers
		for lo := 0; lo < len(msgs); lo += chunk {
			hi := min(lo+chunk, len(msgs))
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					out[i].ev, out[i].err = a.Decoder.Decode(msgs[i].Value)
				}
			}(lo, hi)
		}
		wg.Wait()
	}

	b := &warehouse.Batch{Records: make([]warehouse.Record, 0, len(msgs))}
	spans := map[[2]any]int{}
	for i, m := range msgs {
		k := [2]any{m.Topic, m.Partition}
		if j, ok := spans[k]; ok {
			s := &b.Spans[j]
			s.FirstOffset, s.LastOffset = min(s.FirstOffset, m.Offset), max(s.LastOffset, m.Offset)
			s.HighWaterMark = max(s.HighWaterMark, m.HighWaterMark)
			s.Messages++
		} else {
			spans[k] = len(b.Spans)
			b.Spans = append(b.Spans, warehouse.Span{Topic: m.Topic, Partition: m.Partition, FirstOffset: m.Offset, LastOffset: m.Offset,
				Messages: 1, HighWaterMark: m.HighWaterMark})
		}
		if err := out[i].err; err != nil {
			b.DeadLetters = append(b.DeadLetters, deadLetter(m, err))
			continue
		}
		b.Records = append(b.Records, warehouse.Record{Event: out[i].ev, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
	}
	return b
}

func deadLetter(m Message, err error) warehouse.DeadLetter {
	// Only a RejectError's reason is written to name fields and rules and
	// never values; any other error's text is not kept.
	d := warehouse.DeadLetter{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Raw: m.Value,
		ReasonCode: "decode_error", Reason: "the decoder failed on this payload; its error text is not kept, as it may quote the payload"}
	var re *event.RejectError
	if errors.As(err, &re) {
		d.ReasonCode, d.Reason = re.Code, re.Reason
	}
	return d
}

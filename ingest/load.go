package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/cxlake/cxlake/warehouse"
)

// Load reads NDJSON (one message per line) from r and writes it through the
// same decode, validate and dedupe path as the consumer, in batches of
// batchSize. Lines are addressed as topic "file:NAME", partition 0, offset =
// line number, so dead letters point at the line to fix and a replay of the
// same file stores nothing twice.
func Load(ctx context.Context, wh *warehouse.Warehouse, r io.Reader, name string, batchSize, maxBytes int, stats *Stats) error {
	return LoadWith(ctx, wh, r, name, batchSize, maxBytes, stats, nil)
}

// LoadWith is Load calling after (when not nil) after each durable batch,
// as Consumer.AfterBatch (the audit log hooks in here).
func LoadWith(ctx context.Context, wh *warehouse.Warehouse, r io.Reader, name string, batchSize, maxBytes int, stats *Stats, after func(warehouse.Result)) error {
	asm := Assembler{}
	asm.Decoder.MaxBytes = maxBytes
	topic := "file:" + name
	br := bufio.NewReaderSize(r, 1<<20)
	var msgs []Message
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		b := asm.Assemble(msgs)
		res, err := wh.Write(ctx, b)
		if err != nil {
			return fmt.Errorf("writing lines %d to %d of %s: %w", msgs[0].Offset, msgs[len(msgs)-1].Offset, name, err)
		}
		stats.add(b, res)
		if after != nil {
			after(res)
		}
		msgs = msgs[:0]
		return nil
	}
	for line := int64(1); ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			if b[len(b)-1] == '\n' {
				b = b[:len(b)-1]
			}
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
			msgs = append(msgs, Message{Topic: topic, Offset: line, Value: b})
			if len(msgs) >= batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("reading %s at line %d: %w", name, line, err)
		}
	}
}

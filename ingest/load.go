package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/warehouse"
)

// Load reads NDJSON (one message per line) from r and writes it through the
// same decode, validate and dedupe path as the consumer, in transactions of
// at most batchSize lines that end on a DuckDB row group as the consumer's
// do, each appended a part at a time (Config.FetchSize lines) so that a
// transaction never sits whole in memory. Lines are
// addressed as topic "file:NAME", partition 0, offset = line number, so
// dead letters point at the line to fix and a replay of the same file
// stores nothing twice.
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
	limit := maxBytes
	if limit <= 0 {
		limit = event.DefaultMaxBytes
	}
	oversize := map[int64]int64{} // line -> its full size, for lines over limit
	partSize := max(min(batchSize, Defaults().FetchSize), 1)
	rows := 0 // events in the open transaction
	var (
		msgs    []Message
		tx      *warehouse.Txn
		inBatch int
		parts   []*warehouse.Batch
		results []warehouse.Result
	)
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	commit := func() error {
		if tx == nil {
			return nil
		}
		res, err := tx.Commit(ctx)
		tx = nil
		if err != nil {
			return fmt.Errorf("committing a batch of %d lines of %s: %w", inBatch, name, err)
		}
		for i := range parts {
			stats.add(parts[i], results[i])
		}
		stats.batchDone(res)
		if after != nil {
			after(res)
		}
		parts, results, inBatch, rows = parts[:0], results[:0], 0, 0
		return nil
	}
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		// As the consumer does: a transaction ends on a DuckDB row group,
		// cutting the part there (split.go).
		rest := asm.Assemble(msgs)
		for i := range rest.DeadLetters {
			d := &rest.DeadLetters[i]
			if size, ok := oversize[d.Offset]; ok {
				d.ReasonCode = event.CodeTooLarge
				d.Reason = fmt.Sprintf("line is %d bytes, over the %d-byte limit; split it or raise ingest.max_message_bytes", size, limit)
				delete(oversize, d.Offset)
			}
		}
		for rest != nil {
			if tx == nil {
				var err error
				if tx, err = wh.Begin(ctx); err != nil {
					return err
				}
			}
			var piece *warehouse.Batch
			piece, rest = splitAt(rest, warehouse.RowGroupRows-rows)
			res, err := tx.Append(ctx, piece)
			if err != nil {
				return fmt.Errorf("writing lines %d to %d of %s: %w", msgs[0].Offset, msgs[len(msgs)-1].Offset, name, err)
			}
			piece.Records, piece.Skipped, piece.Revisions = nil, nil, nil // appended: only counts are needed now
			parts, results = append(parts, piece), append(results, res)
			for _, sp := range piece.Spans {
				inBatch += sp.Messages
			}
			rows += res.Accepted
			if rows >= warehouse.RowGroupRows || inBatch >= batchSize {
				if err := commit(); err != nil {
					return err
				}
			}
		}
		msgs = msgs[:0]
		return nil
	}
	for line := int64(1); ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, size, err := readLine(br, limit)
		if size > int64(len(b)) {
			oversize[line] = size
		}
		if len(b) > 0 {
			msgs = append(msgs, Message{Topic: topic, Offset: line, Value: b})
			if len(msgs) >= partSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			if err := flush(); err != nil {
				return err
			}
			return commit()
		}
		if err != nil {
			return fmt.Errorf("reading %s at line %d: %w", name, line, err)
		}
	}
}

// readLine reads one line of at most limit bytes, without its "\n" or
// "\r\n". A longer line is read through but not kept whole: b holds its
// first limit+1 bytes (enough for the decoder to reject it as too large,
// and more than a dead letter keeps), and size is its full length. So a
// file of huge lines costs limit bytes of memory a line, not the line.
// err is io.EOF after the last line.
func readLine(br *bufio.Reader, limit int) (b []byte, size int64, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		size += int64(len(chunk))
		if room := limit + 2 - len(b); room > 0 { // +2: the line end, trimmed below
			b = append(b, chunk[:min(len(chunk), room)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		whole := size == int64(len(b))
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			size--
			if whole {
				b = b[:len(b)-1]
			}
			if whole && len(b) > 0 && b[len(b)-1] == '\r' {
				b, size = b[:len(b)-1], size-1
			}
		}
		if int64(len(b)) > size {
			b = b[:size]
		}
		if len(b) > limit+1 {
			b = b[:limit+1]
		}
		return b, size, err
	}
}

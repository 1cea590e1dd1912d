package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// bufferedTable appends records of type T to a warehouse table without a
// write per record: Add buffers (at most maxTableBuffer records; beyond,
// they are counted as dropped, so that a flood cannot grow memory without
// bound) and a flusher writes the buffer in one transaction every second,
// keeping it for the next try when the write fails. Close writes what is
// left. Add never blocks: the gateway calls it on the login and query
// paths.
type bufferedTable[T any] struct {
	db     *sql.DB
	log    *slog.Logger
	table  string
	insert string        // "insert into <table> values (?, ...)"
	args   func(T) []any // the values of one row, in the insert's order

	mu      sync.Mutex
	buf     []T
	dropped int64
	done    chan struct{}
	stopped chan struct{}
}

// maxTableBuffer bounds the records waiting for a flush.
const maxTableBuffer = 10_000

func newBufferedTable[T any](db *sql.DB, log *slog.Logger, table string, columns int, args func(T) []any) *bufferedTable[T] {
	if log == nil {
		log = slog.Default()
	}
	marks := "?"
	for range columns - 1 {
		marks += ", ?"
	}
	b := &bufferedTable[T]{db: db, log: log, table: table, insert: "insert into " + table + " values (" + marks + ")", args: args,
		done: make(chan struct{}), stopped: make(chan struct{})}
	go b.run()
	return b
}

// Add buffers rec; beyond maxTableBuffer it is counted as dropped.
func (b *bufferedTable[T]) Add(rec T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) >= maxTableBuffer {
		b.dropped++
		return
	}
	b.buf = append(b.buf, rec)
}

// Dropped returns the records lost to a full buffer.
func (b *bufferedTable[T]) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

func (b *bufferedTable[T]) run() {
	defer close(b.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		if err := b.Flush(context.Background()); err != nil {
			b.log.Error("SQL gateway: writing a table failed; will retry", "table", b.table, "err", err)
		}
	}
}

// Flush writes the buffered records in one transaction; on failure they
// stay buffered for the next try.
func (b *bufferedTable[T]) Flush(ctx context.Context) error {
	b.mu.Lock()
	recs := b.buf
	b.buf = nil
	b.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := b.write(ctx, recs)
	if err != nil {
		b.mu.Lock()
		keep := min(len(recs), maxTableBuffer-len(b.buf))
		b.dropped += int64(len(recs) - keep)
		b.buf = append(recs[:keep:keep], b.buf...)
		b.mu.Unlock()
	}
	return err
}

func (b *bufferedTable[T]) write(ctx context.Context, recs []T) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing %s: %w", b.table, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, b.insert)
	if err != nil {
		return fmt.Errorf("writing %s: %w", b.table, err)
	}
	defer st.Close()
	for _, rec := range recs {
		if _, err := st.ExecContext(ctx, b.args(rec)...); err != nil {
			return fmt.Errorf("writing %s: %w", b.table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing %s: %w", b.table, err)
	}
	return nil
}

// Close writes what is buffered and stops the flusher.
func (b *bufferedTable[T]) Close() error {
	select {
	case <-b.done:
		return nil
	default:
	}
	close(b.done)
	<-b.stopped
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.Flush(ctx)
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/internal/ratelog"
	"github.com/cxlake/cxlake/warehouse"
)

// Consumer is a member of a Kafka consumer group that writes what it reads
// to the warehouse. Offsets are committed explicitly, and only after the
// batch holding them is durable in DuckDB.
type Consumer struct {
	cfg   Config
	wh    *warehouse.Warehouse
	asm   Assembler
	log   *slog.Logger
	Stats *Stats
	// AfterBatch, when set, is called after each durable batch (before its
	// offsets are committed); the model refresher hooks in here.
	AfterBatch func(warehouse.Result)

	// behind: the last part fetched had a backlog behind it (writer).
	behind atomic.Bool
	// rowGroup is the events a batch ends at: warehouse.RowGroupRows
	// (tests make it small).
	rowGroup int

	// beforeCommit lets tests stop between a durable write and its commit.
	beforeCommit func() error

	// WaitForBroker is how long Run waits at start for Kafka to answer;
	// zero fails at once (faults.go).
	WaitForBroker time.Duration
	health        health
}

// NewConsumer returns a consumer for cfg, which must be valid.
func NewConsumer(cfg Config, wh *warehouse.Warehouse, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.Default()
	}
	c := &Consumer{cfg: cfg, wh: wh, log: log, Stats: &Stats{}, rowGroup: warehouse.RowGroupRows}
	c.asm.Decoder.MaxBytes = cfg.MaxMessageBytes
	c.asm.Decoder.MaxFutureSkew = cfg.MaxFutureSkew
	return c
}

// What one fetch of one partition asks for. kafka-go gives the broker
// fetchMaxWait, less a second for the round trip, to hold a fetch open
// while the partition is empty, and the same fetchMaxWait is the deadline
// for the answer to begin. So the deadline must be long beside the time a
// broker takes to build a full answer, and that time grows with
// fetchMaxBytes: a broker that writes its answer only once it is whole
// (the embedded kfake) needed more than the quarter-second deadline this
// had for 16 MiB under load, the fetch timed out, was asked again at the
// same offset and the same size, and timed out again, for as long as the
// backlog lasted (`demo --once --events 1000000` stopped there). A
// mebibyte is still thousands of events a fetch; when a single message is
// larger the broker sends it whole anyway.
const (
	fetchMaxBytes = 1 << 20
	fetchMaxWait  = 2 * time.Second
)

func (c *Consumer) reader() *kafka.Reader {
	errLog := c.log.With("component", "kafka")
	limit := ratelog.New(backoffMax)
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           c.cfg.Brokers,
		GroupID:           c.cfg.GroupID,
		GroupTopics:       c.cfg.Topics,
		StartOffset:       kafka.FirstOffset,
		MinBytes:          1,
		MaxBytes:          max(fetchMaxBytes, c.cfg.MaxMessageBytes),
		MaxWait:           fetchMaxWait,
		QueueCapacity:     4096,
		CommitInterval:    0, // synchronous, explicit commits only
		HeartbeatInterval: time.Second,
		SessionTimeout:    c.cfg.SessionTimeout,
		RebalanceTimeout:  c.cfg.SessionTimeout,
		JoinGroupBackoff:  time.Second,
		ReadBackoffMin:    100 * time.Millisecond,
		ReadBackoffMax:    5 * time.Second,
		MaxAttempts:       5,
		// kafka-go reports broker outages here and keeps retrying with
		// back-off: one line per kind of message per interval.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			if ok, n := limit.Allow(msg); ok {
				errLog.Warn("kafka client", "detail", fmt.Sprintf(msg, args...), "suppressed", n)
			}
		}),
	})
}

// Run consumes until ctx is cancelled, then writes and commits the batches
// in hand, within Config.ShutdownTimeout, and returns nil. It returns an
// error when a batch cannot be made durable (its offsets are then not
// committed, so nothing is lost) for a reason other than memory, when the
// shutdown deadline passes first
// (the error names the offsets left uncommitted), and when Kafka fails in
// a way that retrying cannot cure (a *BrokerError). Kafka at start must
// answer within WaitForBroker; after that, outages are ridden out with
// back-off (faults.go) and shown by Health. A batch that fails because
// DuckDB ran out of memory or spill space (a heavy reader holds the shared
// buffer pool) is rolled back and consumed again after a back-off
// (retryMemory), so ingest slows down under memory pressure instead of
// stopping.
//
// Three stages overlap. Run fetches and decodes parts of up to FetchSize
// messages. Up to Config.Writers writers each hold an open batch (a DuckDB
// transaction, warehouse.Txn) and append the parts they are handed to it,
// committing it as writer says. One committer commits offsets strictly in
// fetch order, each part's only after its batches, and those of every part
// fetched before it, are durable.
func (c *Consumer) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			c.stopped(err)
		}
	}()
	if err := c.waitForBroker(ctx); err != nil {
		return err
	}
	wait := backoffMin
	for {
		batches := c.Stats.Batches.Load()
		err := c.round(ctx)
		if err == nil || ctx.Err() != nil || !underMemoryPressure(err) {
			return err
		}
		if c.Stats.Batches.Load() > batches {
			wait = backoffMin // batches went through since the last failure
		}
		if !c.retryMemory(ctx, err, wait) {
			return nil
		}
		wait = min(wait*2, backoffMax)
	}
}

// round consumes with one Kafka reader from the group's committed offsets
// until ctx is cancelled or a batch, a fetch or an offset commit fails for
// good (Run).
func (c *Consumer) round(ctx context.Context) error {
	r := c.reader()
	defer r.Close()
	c.log.Info("consuming", "brokers", c.cfg.Brokers, "topics", c.cfg.Topics, "group", c.cfg.GroupID, "writers", c.cfg.Writers)

	// Writers and the committer finish what is in hand when shutdown has
	// begun, until its deadline.
	wctx, stopW := ShutdownContext(ctx, c.cfg.ShutdownTimeout)
	defer stopW()
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()

	writers := max(c.cfg.Writers, 1)
	work := make(chan *inflight) // to the writers
	// To the committer, in fetch order. It must hold every part of the
	// open batches, or fetching would wait for a batch that waits for parts.
	order := make(chan *inflight, writers*(c.cfg.BatchSize/c.fetchSize()+2))
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.writer(wctx, work)
		}()
	}
	committerErr := make(chan error, 1)
	go func() {
		var err error
		var left []*inflight // not committed, after err
		for f := range order {
			<-f.done
			if err != nil {
				left = append(left, f)
				continue // a batch before failed: commit nothing after it
			}
			if ferr := f.err(); ferr != nil {
				err = ferr
				stopFetch() // uncommitted offsets will be redelivered
				continue
			}
			if err = c.acknowledge(wctx, r, f); err != nil {
				left = append(left, f)
				stopFetch()
			}
		}
		if err != nil && context.Cause(wctx) == ErrShutdownDeadline {
			err = fmt.Errorf("%w after %s; offsets left uncommitted: %s (their messages will be redelivered, and stored once): %w",
				ErrShutdownDeadline, c.cfg.ShutdownTimeout, offsets(left), err)
		}
		committerErr <- err
	}()

	watchErr := make(chan error, 1)
	go func() {
		err := c.watch(fetchCtx)
		if err != nil {
			stopFetch()
		}
		watchErr <- err
	}()
	var ferr error
	for fetchCtx.Err() == nil {
		var msgs []Message
		var last map[string]map[int]kafka.Message
		msgs, last, ferr = c.fetch(fetchCtx, r)
		if len(msgs) > 0 {
			c.fetched()
			f := &inflight{a: assembled{batch: c.asm.Assemble(msgs), messages: len(msgs), last: last}, done: make(chan struct{})}
			behind := backlog(f.a.batch.Spans)
			f.backlog = behind >= int64(c.fetchSize()) || (behind > 0 && len(msgs) == c.fetchSize())
			c.behind.Store(f.backlog)
			order <- f
			work <- f // blocks until a writer is free
		}
		if ferr != nil {
			if ferr = c.rideOut(fetchCtx, ferr); ferr != nil {
				break
			}
		}
	}
	stopFetch()
	if werr := <-watchErr; werr != nil && ferr == nil {
		ferr = werr
	}
	close(work)
	wg.Wait()
	close(order)
	if err := <-committerErr; err != nil {
		return err
	}
	if ferr != nil {
		return fmt.Errorf("fetching from kafka: %w", ferr)
	}
	c.log.Info("consumer stopped", "messages", c.Stats.Messages.Load(), "accepted", c.Stats.Accepted.Load())
	return nil
}

// backlog is how many messages were behind the spans' last ones when they
// were fetched (unknown lags count as none).
func backlog(spans []warehouse.Span) int64 {
	var n int64
	for _, s := range spans {
		n += max(s.Lag(), 0)
	}
	return n
}

// fetchSize is how many messages a part holds at most.
func (c *Consumer) fetchSize() int { return max(min(c.cfg.FetchSize, c.cfg.BatchSize), 1) }

// inflight is a part: messages fetched together, between fetch and offset
// commit. Its records are dropped once appended.
type inflight struct {
	a assembled
	// backlog: when the part was fetched, at least a part's worth of
	// messages was behind it in its partitions, or it filled up and some
	// were: ingest is in a burst, not keeping up with a trickle.
	backlog bool
	// The batches the part was appended to, each once: one, or two when
	// it was cut on a row-group boundary (split.go); and its pieces with
	// what each changed (two pieces may go to one batch, when the first
	// held duplicates and left the batch short of its row group).
	batches []*openBatch
	pieces  []*warehouse.Batch
	results []warehouse.Result
	// more: pieces are still to be appended (kept by its writer).
	more bool
	done chan struct{} // closed when every batch of the part has committed or failed
}

// err is the first error of the part's batches.
func (f *inflight) err() error {
	for _, b := range f.batches {
		if b.err != nil {
			return b.err
		}
	}
	return nil
}

// openBatch is a writer's batch: a warehouse.Txn and the parts in it.
type openBatch struct {
	tx       *warehouse.Txn
	parts    []*inflight
	messages int
	rows     int // events appended
	began    time.Time
	res      warehouse.Result // the whole batch's, once committed
	err      error
}

// assembled is a decoded part on its way to the writer.
type assembled struct {
	batch    *warehouse.Batch
	messages int
	last     map[string]map[int]kafka.Message // newest message per topic-partition, to commit
}

// maxBatchWaits bounds how long a batch stays open while the partitions
// hold a backlog, in BatchWaits.
const maxBatchWaits = 10

// writer appends the parts it is handed to its open batch, and commits the
// batch when it holds a row group of events (the part in which that falls
// is cut there, and its rest opens the next batch), when it holds
// BatchSize messages, when work is closed, or when BatchWait has passed
// since it began, unless the last part fetched had a backlog behind it:
// then the batch stays open to fill, for up to maxBatchWaits BatchWaits.
// So batches are a row group while ingest catches up, which is when their
// size matters (docs/ingest.md), and commit within BatchWait once it has.
func (c *Consumer) writer(ctx context.Context, work <-chan *inflight) {
	var cur *openBatch
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()
	for {
		var expired <-chan time.Time
		if cur != nil {
			expired = wait.C
		}
		select {
		case f, ok := <-work:
			if !ok {
				if cur != nil {
					c.end(ctx, cur)
				}
				return
			}
			// A batch ends on a row group where it can: the part is cut
			// at the batch's last row, and the rest opens the next batch.
			for rest := f.a.batch; rest != nil; {
				if cur == nil {
					cur = c.begin(ctx)
					wait.Reset(c.cfg.BatchWait)
				}
				var piece *warehouse.Batch
				piece, rest = splitAt(rest, c.rowGroup-cur.rows)
				f.more = rest != nil
				c.appendPiece(ctx, cur, f, piece)
				if cur.err != nil {
					f.more, rest = false, nil // the part fails with the batch
				}
				if cur.err != nil || cur.rows >= c.rowGroup || cur.messages >= c.cfg.BatchSize ||
					(rest == nil && !f.backlog && time.Since(cur.began) >= c.cfg.BatchWait) {
					wait.Stop()
					c.end(ctx, cur)
					cur = nil
				}
			}
			f.a.batch.Records, f.a.batch.Skipped, f.a.batch.Revisions = nil, nil, nil // appended: only counts are needed now
		case <-expired:
			// While the partitions hold a backlog, committing early would
			// not make the data fresher, only the batches smaller.
			if c.behind.Load() && time.Since(cur.began) < maxBatchWaits*c.cfg.BatchWait {
				wait.Reset(c.cfg.BatchWait)
				continue
			}
			c.end(ctx, cur)
			cur = nil
		}
	}
}

func (c *Consumer) begin(ctx context.Context) *openBatch {
	b := &openBatch{began: time.Now()}
	if b.tx, b.err = c.wh.Begin(ctx); b.err != nil {
		b.err = fmt.Errorf("beginning a batch: %w", b.err)
	}
	return b
}

// appendPiece appends piece, all or part of f, to b.
func (c *Consumer) appendPiece(ctx context.Context, b *openBatch, f *inflight, piece *warehouse.Batch) {
	if len(f.batches) == 0 || f.batches[len(f.batches)-1] != b {
		f.batches = append(f.batches, b)
		b.parts = append(b.parts, f)
	}
	for _, s := range piece.Spans {
		b.messages += s.Messages
	}
	var res warehouse.Result
	if b.err == nil {
		piece.StartedAt = time.Now()
		c.Stats.ObserveClockSkew(piece.Records, piece.StartedAt)
		var err error
		if res, err = b.tx.Append(ctx, piece); err != nil {
			b.err = fmt.Errorf("writing %d messages to batch %d: %w", f.a.messages, b.tx.BatchID(), err)
		}
		b.rows += res.Accepted
	}
	piece.Records, piece.Skipped, piece.Revisions = nil, nil, nil // appended: only counts are needed now
	f.pieces, f.results = append(f.pieces, piece), append(f.results, res)
}

// end commits b (or rolls it back after a failed part), tells its parts,
// and checkpoints when the WAL has grown large.
func (c *Consumer) end(ctx context.Context, b *openBatch) {
	if b.tx != nil {
		if b.err != nil {
			b.tx.Rollback()
		} else if b.res, b.err = b.tx.Commit(ctx); b.err != nil {
			b.err = fmt.Errorf("writing batch of %d messages: %w", b.messages, b.err)
		}
	}
	for _, f := range b.parts {
		if !f.more && f.batches[len(f.batches)-1] == b { // the part's last batch
			close(f.done)
		}
	}
	if b.err != nil {
		return
	}
	ckStart := time.Now()
	ran, err := c.wh.CheckpointIfLarge(ctx)
	if err != nil {
		// The batch is durable in the WAL; a failed checkpoint is retried
		// after the next batch.
		c.log.Warn("checkpoint failed; will retry", "err", err)
	} else if ran {
		took := time.Since(ckStart)
		c.Stats.Checkpoints.Add(1)
		c.Stats.CheckpointNanos.Add(int64(took))
		c.log.Debug("checkpointed between batches", "took", took)
	}
}

// fetch waits for a first message, then collects more until the part is
// full or a quarter of BatchWait has passed (so that a batch gets several
// parts in its wait when traffic is light). last holds the newest message
// per partition.
func (c *Consumer) fetch(ctx context.Context, r *kafka.Reader) ([]Message, map[string]map[int]kafka.Message, error) {
	var msgs []Message
	last := map[string]map[int]kafka.Message{}
	size := c.fetchSize()
	fctx := ctx
	for len(msgs) < size {
		m, err := r.FetchMessage(fctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return msgs, last, nil
			}
			return msgs, last, err
		}
		if len(msgs) == 0 {
			var cancel context.CancelFunc
			fctx, cancel = context.WithTimeout(ctx, max(c.cfg.BatchWait/4, time.Millisecond))
			defer cancel()
			msgs = make([]Message, 0, min(size, 4096))
		}
		msgs = append(msgs, Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value,
			HighWaterMark: m.HighWaterMark, Time: m.Time})
		if last[m.Topic] == nil {
			last[m.Topic] = map[int]kafka.Message{}
		}
		if prev, ok := last[m.Topic][m.Partition]; !ok || m.Offset > prev.Offset {
			last[m.Topic][m.Partition] = m
		}
	}
	return msgs, last, nil
}

// acknowledge runs after a part's batch, and every part fetched before it,
// is durable: it counts the part, commits its offsets and, after the
// batch's last part, calls AfterBatch.
func (c *Consumer) acknowledge(ctx context.Context, r *kafka.Reader, f *inflight) error {
	for i, piece := range f.pieces {
		c.Stats.add(piece, f.results[i])
	}
	for _, b := range f.batches {
		if f == b.parts[len(b.parts)-1] {
			c.Stats.batchDone(b.res)
			if c.AfterBatch != nil {
				c.AfterBatch(b.res)
			}
		}
	}
	if c.beforeCommit != nil {
		if err := c.beforeCommit(); err != nil {
			return err
		}
	}
	var commits []kafka.Message
	for _, parts := range f.a.last {
		for _, m := range parts {
			commits = append(commits, m)
		}
	}
	written := time.Now()
	if err := c.commit(ctx, r, commits); err != nil {
		return err
	}
	var res warehouse.Result
	for _, r := range f.results {
		res.Add(r)
	}
	c.log.Debug("part committed", "batch", f.batches[len(f.batches)-1].tx.BatchID(), "messages", f.a.messages,
		"accepted", res.Accepted, "duplicates", res.Duplicates, "dead_letters", res.DeadLetters,
		"offset_commit", time.Since(written))
	return nil
}

// commit retries with back-off for up to CommitRetry. A commit that still
// fails is logged and counted, not fatal: the data is durable, the next
// commit covers these offsets, and a redelivery is skipped as duplicates.
// It returns an error only when ctx ends first (the shutdown deadline).
func (c *Consumer) commit(ctx context.Context, r *kafka.Reader, msgs []kafka.Message) error {
	deadline := time.Now().Add(c.cfg.CommitRetry)
	wait := backoffMin
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.CommitMessages(cctx, msgs...)
		cancel()
		c.committed(err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("committing offsets: %w", context.Cause(ctx))
		}
		if lostGeneration(err) || !curable(err) || time.Now().Add(wait).After(deadline) {
			c.Stats.CommitFailures.Add(1)
			c.log.Warn("offset commit failed; the batch is durable and will be skipped as duplicates if redelivered",
				"attempts", attempt, "err", err)
			return nil
		}
		c.log.Warn("offset commit failed, retrying", "attempt", attempt, "wait", wait, "err", err)
		if !sleep(ctx, wait) {
			return fmt.Errorf("committing offsets: %w", context.Cause(ctx))
		}
		wait = min(wait*2, backoffMax)
	}
}

// lostGeneration reports a commit refused because the group rebalanced: the
// partitions may belong to another member now, so retrying cannot succeed.
func lostGeneration(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.FencedInstanceID)
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

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

	// beforeCommit lets tests stop between a durable write and its commit.
	beforeCommit func() error
}

// NewConsumer returns a consumer for cfg, which must be valid.
func NewConsumer(cfg Config, wh *warehouse.Warehouse, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.Default()
	}
	c := &Consumer{cfg: cfg, wh: wh, log: log, Stats: &Stats{}}
	c.asm.Decoder.MaxBytes = cfg.MaxMessageBytes
	return c
}

func (c *Consumer) reader() *kafka.Reader {
	errLog := c.log.With("component", "kafka")
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           c.cfg.Brokers,
		GroupID:           c.cfg.GroupID,
		GroupTopics:       c.cfg.Topics,
		StartOffset:       kafka.FirstOffset,
		MinBytes:          1,
		MaxBytes:          16 << 20,
		MaxWait:           250 * time.Millisecond,
		QueueCapacity:     4096,
		CommitInterval:    0, // synchronous, explicit commits only
		HeartbeatInterval: time.Second,
		SessionTimeout:    c.cfg.SessionTimeout,
		RebalanceTimeout:  c.cfg.SessionTimeout,
		JoinGroupBackoff:  time.Second,
		ReadBackoffMin:    100 * time.Millisecond,
		ReadBackoffMax:    5 * time.Second,
		MaxAttempts:       5,
		// kafka-go reports broker outages here and keeps retrying with back-off.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			errLog.Warn("kafka client", "detail", fmt.Sprintf(msg, args...))
		}),
	})
}

// Run consumes until ctx is cancelled, then writes and commits the batches
// in hand and returns nil. It returns an error only when a batch cannot be
// made durable; its offsets are then not committed, so nothing is lost.
//
// Three stages overlap: Run fetches and decodes the next batch while up to
// Config.Writers batches are written to DuckDB at once, and one committer
// commits offsets strictly in fetch order, each only after its batch and
// every batch before it is durable.
func (c *Consumer) Run(ctx context.Context) error {
	r := c.reader()
	defer r.Close()
	c.log.Info("consuming", "brokers", c.cfg.Brokers, "topics", c.cfg.Topics, "group", c.cfg.GroupID, "writers", c.cfg.Writers)

	// Writers finish the batches in hand even when shutdown has begun.
	wctx := context.WithoutCancel(ctx)
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()

	writers := max(c.cfg.Writers, 1)
	work := make(chan *inflight)           // to the writers
	order := make(chan *inflight, writers) // to the committer, in fetch order
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f.res, f.err = c.write(wctx, f.a)
				close(f.done)
			}
		}()
	}
	committerErr := make(chan error, 1)
	go func() {
		var err error
		for f := range order {
			<-f.done
			if err != nil {
				continue // a batch before failed: commit nothing after it
			}
			if f.err != nil {
				err = f.err
				stopFetch() // uncommitted offsets will be redelivered
				continue
			}
			if err = c.acknowledge(wctx, r, f); err != nil {
				stopFetch()
			}
		}
		committerErr <- err
	}()

	var ferr error
	for fetchCtx.Err() == nil {
		var msgs []Message
		var last map[string]map[int]kafka.Message
		msgs, last, ferr = c.fetch(fetchCtx, r)
		if len(msgs) > 0 {
			f := &inflight{a: assembled{batch: c.asm.Assemble(msgs), messages: len(msgs), last: last}, done: make(chan struct{})}
			order <- f // blocks while `writers` batches are in flight
			work <- f
		}
		if ferr != nil {
			break
		}
	}
	close(work)
	close(order)
	wg.Wait()
	if err := <-committerErr; err != nil {
		return err
	}
	if ferr != nil && ctx.Err() == nil {
		return fmt.Errorf("fetching from kafka: %w", ferr)
	}
	c.log.Info("consumer stopped", "messages", c.Stats.Messages.Load(), "accepted", c.Stats.Accepted.Load())
	return nil
}

// inflight is a batch between fetch and offset commit.
type inflight struct {
	a    assembled
	res  warehouse.Result
	err  error
	done chan struct{} // closed when the write has finished, well or not
}

// assembled is a decoded batch on its way to the writer.
type assembled struct {
	batch    *warehouse.Batch
	messages int
	last     map[string]map[int]kafka.Message // newest message per topic-partition, to commit
}

// fetch waits for a first message, then collects more until the batch is
// full or BatchWait has passed. last holds the newest message per partition.
func (c *Consumer) fetch(ctx context.Context, r *kafka.Reader) ([]Message, map[string]map[int]kafka.Message, error) {
	var msgs []Message
	last := map[string]map[int]kafka.Message{}
	fctx := ctx
	for len(msgs) < c.cfg.BatchSize {
		m, err := r.FetchMessage(fctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return msgs, last, nil
			}
			return msgs, last, err
		}
		if len(msgs) == 0 {
			var cancel context.CancelFunc
			fctx, cancel = context.WithTimeout(ctx, c.cfg.BatchWait)
			defer cancel()
			msgs = make([]Message, 0, min(c.cfg.BatchSize, 4096))
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

// write makes one batch durable.
func (c *Consumer) write(ctx context.Context, a assembled) (warehouse.Result, error) {
	a.batch.StartedAt = time.Now()
	res, err := c.wh.Write(ctx, a.batch)
	if err != nil {
		return res, fmt.Errorf("writing batch of %d messages: %w", a.messages, err)
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
	return res, nil
}

// acknowledge runs after a batch, and every batch fetched before it, is
// durable: it counts it, calls AfterBatch and commits its offsets.
func (c *Consumer) acknowledge(ctx context.Context, r *kafka.Reader, f *inflight) error {
	b, res := f.a.batch, f.res
	c.Stats.add(b, res)
	if c.AfterBatch != nil {
		c.AfterBatch(res)
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
	c.commit(ctx, r, commits)
	c.log.Debug("batch committed", "batch", res.BatchID, "messages", f.a.messages, "accepted", res.Accepted,
		"duplicates", res.Duplicates, "dead_letters", res.DeadLetters,
		"write", written.Sub(b.StartedAt), "commit", time.Since(written))
	return nil
}

// commit retries with back-off for up to CommitRetry. A commit that still
// fails is logged and counted, not fatal: the data is durable, the next
// commit covers these offsets, and a redelivery is skipped as duplicates.
func (c *Consumer) commit(ctx context.Context, r *kafka.Reader, msgs []kafka.Message) {
	deadline := time.Now().Add(c.cfg.CommitRetry)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.CommitMessages(cctx, msgs...)
		cancel()
		if err == nil {
			return
		}
		if lostGeneration(err) || time.Now().Add(wait).After(deadline) {
			c.Stats.CommitFailures.Add(1)
			c.log.Warn("offset commit failed; the batch is durable and will be skipped as duplicates if redelivered",
				"attempts", attempt, "err", err)
			return
		}
		c.log.Warn("offset commit failed, retrying", "attempt", attempt, "wait", wait, "err", err)
		time.Sleep(wait)
		wait = min(wait*2, 5*time.Second)
	}
}

// lostGeneration reports a commit refused because the group rebalanced: the
// partitions may belong to another member now, so retrying cannot succeed.
func lostGeneration(err error) bool {
	return errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.FencedInstanceID)
}

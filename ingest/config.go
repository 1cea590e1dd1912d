package ingest

import (
	"fmt"
	"strings"
	"time"

	"github.com/cxlake/cxlake/event"
)

// Config says where to consume from and how to batch. Every field has a
// default (see Defaults); Validate names the key and the fix for bad values.
type Config struct {
	Brokers []string `json:"brokers"`
	Topics  []string `json:"topics"`
	GroupID string   `json:"group_id"`
	// BatchSize is the most messages a batch (one DuckDB transaction)
	// holds. A batch also ends when it holds a DuckDB row group of events
	// (warehouse.RowGroupRows), cut exactly there: such a transaction is
	// written straight into the table file, compressed, instead of into
	// the WAL first and compressed again at checkpoint (docs/ingest.md).
	// The default leaves room for some duplicates and dead letters.
	BatchSize int `json:"batch_size"`
	// BatchWait is how long a batch stays open once ingest has caught up:
	// a partial batch commits this long after it began. While a backlog
	// is behind it, it stays open to fill, up to 10 BatchWaits.
	BatchWait time.Duration `json:"batch_wait"`
	// FetchSize is the most messages fetched, decoded and appended to a
	// batch at a time: what ingest holds in Go memory per writer.
	FetchSize int `json:"fetch_size"`
	// MaxMessageBytes is the largest message accepted; larger ones become dead letters.
	MaxMessageBytes int `json:"max_message_bytes"`
	// MaxFutureSkew is how far ahead of the ingest clock an occurred_at may
	// lie; later events become future_timestamp dead letters.
	MaxFutureSkew time.Duration `json:"max_future_skew"`
	// CommitRetry bounds how long a failed offset commit is retried before
	// ingest moves on (the next commit covers it; redelivery is idempotent).
	CommitRetry time.Duration `json:"commit_retry"`
	// SessionTimeout is how long the group waits for a silent member before
	// giving its partitions to others.
	SessionTimeout time.Duration `json:"session_timeout"`
	// Writers is how many batches are open at once. They append in
	// parallel and commit in order.
	Writers int `json:"writers"`
	// TopicGrace is how long a topic may be missing while running before
	// the consumer stops with an error (a broker outage is ridden out).
	TopicGrace time.Duration `json:"topic_grace"`
	// ShutdownTimeout is the one deadline of a shutdown: after SIGINT or
	// SIGTERM, the batches in hand, their offset commits and the rest of
	// the shutdown get this long in total.
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
}

// Defaults returns the configuration used when a key is not set.
func Defaults() Config {
	return Config{
		Brokers:         []string{"127.0.0.1:9092"},
		Topics:          []string{"cx.events"},
		GroupID:         "cxlake",
		BatchSize:       131072,
		BatchWait:       500 * time.Millisecond,
		FetchSize:       8192,
		MaxMessageBytes: 256 << 10,
		MaxFutureSkew:   event.DefaultMaxFutureSkew,
		CommitRetry:     30 * time.Second,
		SessionTimeout:  10 * time.Second,
		Writers:         2,
		TopicGrace:      2 * time.Minute,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Validate reports the first bad key with what to do about it.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return fmt.Errorf("ingest.brokers is empty: give at least one host:port, e.g. 127.0.0.1:9092")
	case len(c.Topics) == 0:
		return fmt.Errorf("ingest.topics is empty: give at least one topic, e.g. cx.events")
	case strings.TrimSpace(c.GroupID) == "":
		return fmt.Errorf("ingest.group_id is empty: name the consumer group, e.g. cxlake")
	case c.BatchSize < 1 || c.BatchSize > 1_000_000:
		return fmt.Errorf("ingest.batch_size is %d: use 1 to 1000000 (default 131072)", c.BatchSize)
	case c.FetchSize < 1 || c.FetchSize > 1_000_000:
		return fmt.Errorf("ingest.fetch_size is %d: use 1 to 1000000 (default 8192)", c.FetchSize)
	case c.BatchWait < time.Millisecond || c.BatchWait > time.Minute:
		return fmt.Errorf("ingest.batch_wait is %s: use 1ms to 1m (default 500ms)", c.BatchWait)
	case c.SessionTimeout < time.Second || c.SessionTimeout > 5*time.Minute:
		return fmt.Errorf("ingest.session_timeout is %s: use 1s to 5m (default 10s)", c.SessionTimeout)
	case c.Writers < 1 || c.Writers > 16:
		return fmt.Errorf("ingest.writers is %d: use 1 to 16 (default 2)", c.Writers)
	case c.MaxFutureSkew < time.Second || c.MaxFutureSkew > 24*time.Hour:
		return fmt.Errorf("ingest.max_future_skew is %s: use 1s to 24h (default 5m)", c.MaxFutureSkew)
	case c.TopicGrace < 0 || c.TopicGrace > 24*time.Hour:
		return fmt.Errorf("ingest.topic_grace is %s: use 0 to 24h (default 2m)", c.TopicGrace)
	case c.ShutdownTimeout < time.Second || c.ShutdownTimeout > time.Hour:
		return fmt.Errorf("ingest.shutdown_timeout is %s: use 1s to 1h (default 30s)", c.ShutdownTimeout)
	case c.MaxMessageBytes < 1024:
		return fmt.Errorf("ingest.max_message_bytes is %d: use at least 1024 (default 262144)", c.MaxMessageBytes)
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("ingest.brokers has %q, which has no port: write host:port, e.g. %s:9092", b, b)
		}
	}
	return nil
}

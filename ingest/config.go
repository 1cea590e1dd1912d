package ingest

import (
	"fmt"
	"strings"
	"time"
)

// Config says where to consume from and how to batch. Every field has a
// default (see Defaults); Validate names the key and the fix for bad values.
type Config struct {
	Brokers   []string      `json:"brokers"`
	Topics    []string      `json:"topics"`
	GroupID   string        `json:"group_id"`
	BatchSize int           `json:"batch_size"` // messages per DuckDB transaction
	BatchWait time.Duration `json:"batch_wait"` // longest wait before a partial batch is written
	// MaxMessageBytes is the largest message accepted; larger ones become dead letters.
	MaxMessageBytes int `json:"max_message_bytes"`
	// CommitRetry bounds how long a failed offset commit is retried before
	// ingest moves on (the next commit covers it; redelivery is idempotent).
	CommitRetry time.Duration `json:"commit_retry"`
	// SessionTimeout is how long the group waits for a silent member before
	// giving its partitions to others.
	SessionTimeout time.Duration `json:"session_timeout"`
	// Writers is how many batches are written to DuckDB at once. They
	// append in parallel and commit in order; each holds a batch in memory.
	Writers int `json:"writers"`
}

// Defaults returns the configuration used when a key is not set.
func Defaults() Config {
	return Config{
		Brokers:         []string{"127.0.0.1:9092"},
		Topics:          []string{"cx.events"},
		GroupID:         "cxlake",
		BatchSize:       20000,
		BatchWait:       500 * time.Millisecond,
		MaxMessageBytes: 256 << 10,
		CommitRetry:     30 * time.Second,
		SessionTimeout:  10 * time.Second,
		Writers:         2,
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
		return fmt.Errorf("ingest.batch_size is %d: use 1 to 1000000 (default 20000)", c.BatchSize)
	case c.BatchWait < time.Millisecond || c.BatchWait > time.Minute:
		return fmt.Errorf("ingest.batch_wait is %s: use 1ms to 1m (default 500ms)", c.BatchWait)
	case c.SessionTimeout < time.Second || c.SessionTimeout > 5*time.Minute:
		return fmt.Errorf("ingest.session_timeout is %s: use 1s to 5m (default 10s)", c.SessionTimeout)
	case c.Writers < 1 || c.Writers > 16:
		return fmt.Errorf("ingest.writers is %d: use 1 to 16 (default 2)", c.Writers)
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

package ingest

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// Stats counts what ingest has done since start. Safe for concurrent use.
type Stats struct {
	Messages    atomic.Int64
	Accepted    atomic.Int64
	Duplicates  atomic.Int64
	DeadLetters atomic.Int64
	Skipped     atomic.Int64 // source messages skipped with a reason (skipped_messages)
	// Suppressed counts messages dropped because they name (or, for a
	// malformed one, mention) an erased identifier; Expired those older
	// than the raw-events retention. Neither is stored nor a dead letter.
	Suppressed atomic.Int64
	Expired    atomic.Int64
	// Revised counts edits and deletions of stored messages recorded
	// (message_revisions).
	Revised atomic.Int64
	Batches atomic.Int64
	// CommitFailures counts offset commits that failed for good (the batch was
	// durable; its messages will be redelivered and skipped as duplicates).
	CommitFailures atomic.Int64
	// MemoryRetries counts batches that failed because DuckDB ran out of
	// memory or spill space, and were consumed again after a back-off.
	MemoryRetries atomic.Int64
	// Checkpoints counts the checkpoints ingest ran between batches, and
	// CheckpointNanos the time they took (ingest waits for them).
	Checkpoints     atomic.Int64
	CheckpointNanos atomic.Int64
	lastBatch       atomic.Int64 // unix nanos

	mu      sync.Mutex
	reasons map[string]int64
	lag     map[TopicPartition]int64
	skew    map[string]ClockSkew
}

// ClockSkew is how far ahead of the ingest clock a topic's producers stamp
// their events: for a part written at ingest time t, the latest
// occurred_at among its events minus t. Positive means a clock that runs
// ahead (up to the allowed skew; further ahead is a future_timestamp dead
// letter); live traffic reads near zero or slightly negative (delivery
// latency); a backlog or a replay reads far negative.
type ClockSkew struct {
	Last time.Duration // of the topic's last part
	Max  time.Duration // the largest since start
}

// ObserveClockSkew records the clock skew of recs, one part's accepted
// events, written at ingest time now.
func (s *Stats) ObserveClockSkew(recs []warehouse.Record, now time.Time) {
	latest := map[string]time.Time{}
	for _, r := range recs {
		if t, ok := latest[r.Topic]; !ok || r.Event.OccurredAt.After(t) {
			latest[r.Topic] = r.Event.OccurredAt
		}
	}
	if len(latest) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skew == nil {
		s.skew = map[string]ClockSkew{}
	}
	for topic, t := range latest {
		d := t.Sub(now)
		prev, seen := s.skew[topic]
		if !seen || d > prev.Max {
			prev.Max = d
		}
		prev.Last = d
		s.skew[topic] = prev
	}
}

// ClockSkew returns a copy of the clock skew per topic.
func (s *Stats) ClockSkew() map[string]ClockSkew {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.skew)
}

// TopicPartition names a partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int
}

// add counts what one part (or a file batch) read and changed.
func (s *Stats) add(b *warehouse.Batch, r warehouse.Result) {
	n := 0
	for _, sp := range b.Spans {
		n += sp.Messages
	}
	s.Messages.Add(int64(n))
	s.Accepted.Add(int64(r.Accepted))
	s.Duplicates.Add(int64(r.Duplicates))
	s.DeadLetters.Add(int64(r.DeadLetters))
	s.Skipped.Add(int64(r.Skipped))
	s.Suppressed.Add(int64(r.Suppressed))
	s.Expired.Add(int64(r.Expired))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range b.Spans {
		if l := sp.Lag(); l >= 0 {
			if s.lag == nil {
				s.lag = map[TopicPartition]int64{}
			}
			s.lag[TopicPartition{sp.Topic, sp.Partition}] = l
		}
	}
	if len(b.DeadLetters) == 0 {
		return
	}
	if s.reasons == nil {
		s.reasons = map[string]int64{}
	}
	for _, d := range b.DeadLetters {
		s.reasons[d.ReasonCode]++
	}
}

// batchDone counts a committed batch, with res its commit's result: the
// revisions are applied at the commit (warehouse.Txn.Commit), so only its
// result counts them.
func (s *Stats) batchDone(res warehouse.Result) {
	s.Revised.Add(int64(res.Revised))
	s.Batches.Add(1)
	s.lastBatch.Store(time.Now().UnixNano())
}

// DeadLettersByReason returns a copy of the dead-letter counts by reason code
// (as seen by this process, including redelivered ones).
func (s *Stats) DeadLettersByReason() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.reasons)
}

// Lag returns, per topic-partition, how many messages were behind the last
// committed batch when it was fetched.
func (s *Stats) Lag() map[TopicPartition]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.lag)
}

// LastBatchAt is when the last batch committed, or the zero time.
func (s *Stats) LastBatchAt() time.Time {
	n := s.lastBatch.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

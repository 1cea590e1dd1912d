package simulate

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestTrimDropsOnlyWhatTheGroupCommitted: Trim drops the records below a
// group's committed offsets and nothing more. With the topic paced by
// Produce's hook, the broker never holds more than the window the hook
// allows; and a consumer of the same group then reads exactly the records
// it had not committed, so nothing was lost.
func TestTrimDropsOnlyWhatTheGroupCommitted(t *testing.T) {
	const topic, group = "trim-test", "trim-group"
	b, err := StartBroker(BrokerOptions{Partitions: 4, SegmentBytes: 8 << 20}, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: topic, GroupID: group, MaxWait: 200 * time.Millisecond})
	// consume reads and commits up to n messages in total.
	consumed := 0
	consume := func(n int) {
		t.Helper()
		for consumed < n {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("consuming: %v", err)
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatalf("committing: %v", err)
			}
			consumed++
		}
	}
	const total, window = 6 * ProduceChunk, 2 * ProduceChunk
	var maxHeld int64
	pace := func(ctx context.Context, done int) error {
		consume(done - window)
		if err := b.Trim(topic, group); err != nil {
			return err
		}
		held, _ := b.Held(topic)
		maxHeld = max(maxHeld, held)
		// Committed offsets are exact: what is held is what was produced
		// and not yet consumed.
		if held != int64(done-max(consumed, 0)) {
			t.Errorf("after trimming at %d produced and %d consumed, the broker holds %d records, want %d", done, consumed, held, done-consumed)
		}
		return nil
	}
	g := New(Config{Seed: 1, Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Days: 2})
	if err := Produce(ctx, b.Addrs(), topic, g, total, nil, pace); err != nil {
		t.Fatal(err)
	}
	if maxHeld > window {
		t.Errorf("the broker held up to %d records, over the window of %d", maxHeld, window)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A member of the same group reads the rest, from the committed
	// offsets: exactly the records not yet consumed, none trimmed early.
	rest := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: topic, GroupID: group, MaxWait: 200 * time.Millisecond})
	defer rest.Close()
	left, _ := b.Held(topic)
	for i := int64(0); i < left; i++ {
		if _, err := rest.FetchMessage(ctx); err != nil {
			t.Fatalf("reading the %dth of the %d records left: %v", i+1, left, err)
		}
	}
	if got := int64(consumed) + left; got != total {
		t.Errorf("%d consumed and %d left, want %d in all", consumed, left, total)
	}
}

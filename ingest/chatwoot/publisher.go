package chatwoot

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Publisher makes a webhook payload durable. Publish returns nil only once
// the payload is stored; an error means it may not be, and the webhook is
// refused so that the sender retries.
type Publisher interface {
	Publish(ctx context.Context, key, value []byte) error
}

// KafkaPublisher publishes to one Kafka topic with a kafka-go Writer that
// waits for every in-sync replica (RequiredAcks all).
type KafkaPublisher struct {
	w *kafka.Writer
}

// NewKafkaPublisher returns a publisher to topic on brokers. The topic must
// exist: it is not created on the fly.
func NewKafkaPublisher(brokers []string, topic string) *KafkaPublisher {
	return &KafkaPublisher{w: &kafka.Writer{
		Addr:            kafka.TCP(brokers...),
		Topic:           topic,
		Balancer:        &kafka.Hash{}, // one conversation's events stay in order on one partition
		RequiredAcks:    kafka.RequireAll,
		BatchTimeout:    2 * time.Millisecond, // a webhook waits for its own write: do not linger for a batch
		MaxAttempts:     3,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: 500 * time.Millisecond,
		WriteTimeout:    5 * time.Second,
		ReadTimeout:     5 * time.Second,
	}}
}

// Publish writes one message and returns once Kafka acknowledged it.
func (p *KafkaPublisher) Publish(ctx context.Context, key, value []byte) error {
	if err := p.w.WriteMessages(ctx, kafka.Message{Key: key, Value: value}); err != nil {
		return fmt.Errorf("publishing to %s: %w", p.w.Topic, err)
	}
	return nil
}

// Close flushes and closes the writer.
func (p *KafkaPublisher) Close() error { return p.w.Close() }

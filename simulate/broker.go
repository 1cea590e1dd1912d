package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an in-process cluster that speaks the Kafka wire protocol on
// loopback TCP (kfake). The demo, the benchmarks and the tests run the real
// consumer against it exactly as against a production cluster.
type Broker struct {
	cluster *kfake.Cluster
}

// BrokerOptions configure StartBroker. Zero values are fine.
type BrokerOptions struct {
	Partitions int    // partitions of each topic; default 3
	Port       int    // fixed port; 0 picks a free one
	DataDir    string // persist the log here so a restarted broker keeps it; "" keeps it in memory
	// MinSessionTimeout lets tests use short consumer session timeouts.
	MinSessionTimeout time.Duration
}

// StartBroker starts a one-broker cluster on 127.0.0.1 with topics created.
func StartBroker(opts BrokerOptions, topics ...string) (*Broker, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(int32(opts.Partitions), topics...)}
	if opts.Port != 0 {
		kopts = append(kopts, kfake.Ports(opts.Port))
	}
	if opts.DataDir != "" {
		kopts = append(kopts, kfake.DataDir(opts.DataDir), kfake.SyncWrites())
	}
	if opts.MinSessionTimeout > 0 {
		kopts = append(kopts, kfake.GroupMinSessionTimeout(opts.MinSessionTimeout))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka broker: %w", err)
	}
	return &Broker{cluster: c}, nil
}

// Addrs are the host:port addresses clients connect to.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }

// NewWriter returns a kafka-go Writer for topic, tuned for bulk production.
func NewWriter(addrs []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(addrs...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		BatchSize:    5000,
		BatchBytes:   16 << 20,
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
	}
}

// Produce writes n messages from g to topic with a kafka-go Writer (the same
// client library production producers commonly use), calling progress after
// each chunk with the number written so far.
func Produce(ctx context.Context, addrs []string, topic string, g *Generator, n int, progress func(done int)) error {
	w := NewWriter(addrs, topic)
	defer w.Close()
	const chunk = 5000
	buf := make([]kafka.Message, 0, chunk)
	for done := 0; done < n; {
		buf = buf[:0]
		for len(buf) < chunk && done+len(buf) < n {
			m := g.Next()
			buf = append(buf, kafka.Message{Key: m.Key, Value: m.Value})
		}
		if err := w.WriteMessages(ctx, buf...); err != nil {
			return fmt.Errorf("producing to %s: %w", topic, err)
		}
		done += len(buf)
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

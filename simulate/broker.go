package simulate

import (
	"context"
	"fmt"
	"strconv"
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
	// SegmentBytes is the size of the log's segments; 0 keeps kfake's
	// 100 MiB. Trim frees whole segments only, and without DataDir a
	// segment is an in-memory file that grows by doubling its capacity,
	// so each segment takes up to twice SegmentBytes of memory until it is
	// freed: a broker that is trimmed as it goes wants small ones (the
	// demo's are 4 MiB). A segment ends at the first batch that takes it
	// past SegmentBytes, so a batch never has to fit; kfake refuses a
	// produced batch over 1 MiB per partition (message.max.bytes)
	// whatever the segment size.
	SegmentBytes int
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
	if opts.SegmentBytes > 0 {
		kopts = append(kopts, kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(opts.SegmentBytes)}))
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

// Trim drops the records of topic that group has committed. The broker
// keeps, in memory, every record it was sent; a consumer group's commit
// says those records are stored downstream, so the embedded broker need
// not keep them (what retention does on a real cluster, but driven by the
// consumer's progress: no record goes before it was consumed).
func (b *Broker) Trim(topic, group string) error {
	g := b.cluster.GroupInfo(group)
	if g == nil {
		return nil
	}
	for p, c := range g.Commits[topic] {
		pi := b.cluster.PartitionInfo(topic, p)
		if pi == nil || c.Offset <= pi.LogStartOffset {
			continue
		}
		if err := b.cluster.DeleteRecords(topic, p, c.Offset); err != nil {
			return fmt.Errorf("trimming %s partition %d to its committed offset: %w", topic, p, err)
		}
	}
	return nil
}

// Held returns how many records of topic the broker holds now, and their
// bytes.
func (b *Broker) Held(topic string) (records, bytes int64) {
	for _, pi := range b.cluster.PartitionInfos(topic) {
		records += pi.HighWatermark - pi.LogStartOffset
		bytes += pi.NumBytes
	}
	return records, bytes
}

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

// ProduceChunk is how many messages Produce writes at a time.
const ProduceChunk = 5000

// Produce writes n messages from g to topic with a kafka-go Writer (the same
// client library production producers commonly use), calling progress after
// each chunk with the number written so far. Before each chunk after the
// first it calls pace, when not nil, with that number: the demo waits there
// for its consumer and trims what it committed, so the embedded broker
// never holds the whole history.
func Produce(ctx context.Context, addrs []string, topic string, g *Generator, n int, progress func(done int), pace func(ctx context.Context, done int) error) error {
	w := NewWriter(addrs, topic)
	defer w.Close()
	const chunk = ProduceChunk
	buf := make([]kafka.Message, 0, chunk)
	for done := 0; done < n; {
		if pace != nil && done > 0 {
			if err := pace(ctx, done); err != nil {
				return err
			}
		}
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

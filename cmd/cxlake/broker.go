package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/cxlake/cxlake/simulate"
)

// runBroker runs the embedded Kafka-protocol broker on its own, for trying
// `cxlake run`, kcat or a producer of your own without a Kafka cluster.
func runBroker(ctx context.Context, args []string) error {
	fs := newFlags("broker", "broker [--addr HOST:PORT] [--topic T] [--partitions N]")
	addr := fs.String("addr", "127.0.0.1:9092", "listen address (loopback only)")
	topic := fs.String("topic", "cx.events", "topic to create")
	parts := fs.Int("partitions", 3, "partitions of the topic")
	dataDir := fs.String("log-dir", "", "keep the broker's log in this folder (default: memory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q: write host:port, e.g. 127.0.0.1:9092", *addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("--addr %q: the port must be a number from 0 to 65535", *addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--addr %q: the embedded broker listens on loopback only (127.0.0.1)", *addr)
	}
	if *parts < 1 {
		return fmt.Errorf("--partitions is %d: use at least 1", *parts)
	}
	b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: *parts, Port: port, DataDir: *dataDir}, *topic)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("broker listening on %s with topic %s (%d partitions); Ctrl-C stops it\n", b.Addrs()[0], *topic, *parts)
	<-ctx.Done()
	return nil
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// outage is how long the broker stays down in TestBrokerOutageIsRiddenOut:
// several back-off intervals (100ms doubling to 5s reaches 5s after 3.1s),
// and longer than kafka-go's own retries (5 attempts) that made run exit.
const outage = 20 * time.Second

// brokerOnPort starts a broker persisting to dir, on port (0: any).
func brokerOnPort(t *testing.T, dir string, port int, topic string) *simulate.Broker {
	t.Helper()
	b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 3, Port: port, DataDir: dir, MinSessionTimeout: time.Second}, topic)
	if err != nil {
		t.Fatalf("starting broker on port %d: %v", port, err)
	}
	return b
}

// A broker outage longer than kafka-go's own retries, in the middle of a
// load: the consumer reports itself degraded with the reason, keeps
// retrying, and once the broker is back on the same port ingests every
// event exactly once.
func TestBrokerOutageIsRiddenOut(t *testing.T) {
	dataDir := t.TempDir()
	topic := "t-outage"
	b := brokerOnPort(t, dataDir, 0, topic)
	addr := b.Addrs()[0]
	_, portS, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscanf(portS, "%d", &port)
	h := &harness{t: t, broker: b, topic: topic}
	var err error
	h.wh, err = warehouse.Open(context.Background(), t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.wh.Close()
	const first, second = 30000, 5000
	var vals [][]byte
	for i := 0; i < first+second; i++ {
		vals = append(vals, canonical(i))
	}
	for i := 0; i < first; i += 1000 {
		h.produce(vals[i : i+1000]...)
	}
	cfg := h.config()
	cfg.BatchSize, cfg.FetchSize = 2000, 500
	c := NewConsumer(cfg, h.wh, nil)
	stop := h.start(c)
	// Under load: the broker goes down with events still to fetch.
	deadline := time.Now().Add(60 * time.Second)
	for h.count("select count(*) from events") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing ingested in 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Close()
	down := time.Now()
	before := h.count("select count(*) from events")
	t.Logf("broker closed with %d of %d events ingested", before, first)

	var degraded Health
	var noticed time.Duration
	for time.Since(down) < outage {
		if hl := c.Health(); hl.State == StateDegraded {
			if degraded.State == "" {
				noticed = time.Since(down)
			}
			degraded = hl
		}
		if hl := c.Health(); hl.State == StateStopped {
			t.Fatalf("consumer stopped during the outage: %s", hl.Reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if degraded.State != StateDegraded || degraded.BrokerReachable || !strings.Contains(degraded.Reason, "kafka") {
		t.Fatalf("health during a %s outage: %+v; want degraded, broker unreachable, with the kafka error", outage, degraded)
	}
	t.Logf("degraded %s into the outage; last reason: %s", noticed.Round(time.Millisecond), degraded.Reason)
	if noticed > 3*probeEvery {
		t.Errorf("the outage showed in Health only after %s", noticed)
	}

	b2 := brokerOnPort(t, dataDir, port, topic)
	defer b2.Close()
	h.broker = b2
	h.produce(vals[first:]...)
	up := time.Now()
	h.waitRows("select count(*) from events", first+second, 120*time.Second)
	t.Logf("all %d events stored %s after the broker came back", first+second, time.Since(up).Round(time.Millisecond))
	deadline = time.Now().Add(30 * time.Second)
	for c.Health().State != StateOK {
		if time.Now().After(deadline) {
			t.Fatalf("health after the broker came back: %+v", c.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := h.count("select count(distinct event_id) from events"); n != first+second {
		t.Fatalf("distinct events = %d, want %d", n, first+second)
	}
	if n := h.count("select count(*) from dead_letters"); n != 0 {
		t.Fatalf("dead letters = %d, want 0", n)
	}
}

// Start-up fails at once on an unreachable broker, and waits with
// --wait-for-broker until it passes.
func TestUnreachableBrokerAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	wh, err := warehouse.Open(context.Background(), t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	cfg := Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = []string{addr}, []string{"t"}, "g"
	c := NewConsumer(cfg, wh, nil)
	start := time.Now()
	err = c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--wait-for-broker") {
		t.Fatalf("Run with no broker: %v; want an error that points at --wait-for-broker", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("failing at start took %s", took)
	}
	if h := c.Health(); h.State != StateStopped {
		t.Fatalf("health after Run failed: %+v, want stopped", h)
	}
	c = NewConsumer(cfg, wh, nil)
	c.WaitForBroker = 1500 * time.Millisecond
	start = time.Now()
	err = c.Run(context.Background())
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "within --wait-for-broker 1.5s") || took < time.Second {
		t.Fatalf("Run with --wait-for-broker 1.5s: %v after %s", err, took)
	}
}

func TestCurable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("failed to dial: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{fmt.Errorf("reading: %w", syscall.ECONNRESET), true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{kafka.LeaderNotAvailable, true},
		{kafka.GroupCoordinatorNotAvailable, true},
		{kafka.RebalanceInProgress, true},
		{kafka.SASLAuthenticationFailed, false},
		{kafka.TopicAuthorizationFailed, false},
		{kafka.GroupAuthorizationFailed, false},
		{errors.New("something nobody expected"), false},
	} {
		if got := curable(tc.err); got != tc.want {
			t.Errorf("curable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A topic that stays missing past ingest.topic_grace stops the consumer
// with an error that says so; a shorter absence does not.
func TestMissingTopicAfterGrace(t *testing.T) {
	c := &Consumer{cfg: Config{TopicGrace: 200 * time.Millisecond}}
	err := fmt.Errorf("reading partitions: %w", kafka.UnknownTopicOrPartition)
	if got := c.classify(err); got != nil {
		t.Fatalf("first sight of a missing topic: %v, want it retried", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.classify(err)
		var be *BrokerError
		if errors.As(got, &be) {
			if !strings.Contains(got.Error(), "ingest.topic_grace") {
				t.Fatalf("error %q does not name ingest.topic_grace", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a topic missing for 5s with a grace of 200ms was still retried")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With the broker gone at shutdown, offset commits retry until the one
// shutdown deadline, then Run returns an error naming what it left
// uncommitted, instead of retrying each part for ingest.commit_retry.
func TestShutdownDeadlineWithBrokerDown(t *testing.T) {
	h := newHarness(t, 2)
	var vals [][]byte
	for i := 0; i < 1000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals...)
	cfg := h.config()
	cfg.ShutdownTimeout = 2 * time.Second
	c := NewConsumer(cfg, h.wh, nil)
	closed := make(chan struct{})
	var once sync.Once
	c.beforeCommit = func() error {
		once.Do(func() { h.broker.Close(); close(closed) })
		return nil
	}
	stop := h.start(c)
	select {
	case <-closed:
	case <-time.After(60 * time.Second):
		t.Fatal("no batch reached its commit in 60s")
	}
	start := time.Now()
	err := stop()
	took := time.Since(start)
	if !errors.Is(err, ErrShutdownDeadline) || !strings.Contains(err.Error(), "offsets left uncommitted: "+h.topic+"/") {
		t.Fatalf("stop with the broker down: %v; want the shutdown deadline and the offsets left", err)
	}
	if took > cfg.ShutdownTimeout+3*time.Second {
		t.Fatalf("stop took %s with a shutdown deadline of %s", took, cfg.ShutdownTimeout)
	}
	t.Logf("stopped after %s: %v", took.Round(time.Millisecond), err)
}

// A batch that cannot be written (here the events table is gone, as a
// stand-in for a full disk) stops the consumer, and Health says stopped,
// with the reason, instead of ok.
func TestWriteErrorShowsInHealth(t *testing.T) {
	h := newHarness(t, 1)
	h.produce(canonical(1))
	c := NewConsumer(h.config(), h.wh, nil)
	stop := h.start(c)
	h.waitRows("select count(*) from events", 1, 60*time.Second)
	if _, err := h.wh.DB.Exec("drop table events cascade"); err != nil {
		t.Skipf("cannot break the warehouse: %v", err)
	}
	h.produce(canonical(2))
	deadline := time.Now().Add(60 * time.Second)
	for c.Health().State != StateStopped {
		if time.Now().After(deadline) {
			t.Fatalf("health 60s after a failed write: %+v", c.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	hl := c.Health()
	if !strings.Contains(hl.Reason, "ingest stopped") || !strings.Contains(hl.Reason, "batch") {
		t.Fatalf("stopped health says %q; want the write error", hl.Reason)
	}
	if err := stop(); err == nil {
		t.Fatal("Run returned nil after a failed write")
	}
}

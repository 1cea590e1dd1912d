package ingest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// slowFetch is how long the broker below takes to begin answering any
// fetch: longer than the quarter-second deadline the consumer once gave a
// fetch, the way the embedded broker was on a loaded machine with 16 MiB
// answers to build (`demo --once --events 1000000` stalled at 192,431 of
// 1,000,000 messages, every fetch timing out and asked again at the same
// offset). Well inside fetchMaxWait.
const slowFetch = 600 * time.Millisecond

// A broker slow to answer fetches slows ingest down; it never stops it.
// Every fetch is held slowFetch before the broker handles it; the
// consumer must still ingest every message, within the budget, and each
// partition's offsets must advance.
func TestSlowFetchesStillMakeProgress(t *testing.T) {
	topic := "t-slow-fetch"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic),
		kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var fetches, slowed atomic.Int64
	cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		fetches.Add(1)
		// Yields to the broker's other connections (the group's
		// heartbeats, commits) while this fetch waits.
		cluster.SleepControl(func() { time.Sleep(slowFetch) })
		slowed.Add(1)
		return nil, nil, false // then answered as usual
	})
	addrs := cluster.ListenAddrs()

	const n = 6000 // about 2 MB: several full fetches per partition
	w := simulate.NewWriter(addrs, topic)
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i%97), Value: canonical(i)}
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 60*time.Second)
	err = w.WriteMessages(pctx, msgs...)
	pcancel()
	w.Close()
	if err != nil {
		t.Fatalf("producing: %v", err)
	}

	wh, err := warehouse.Open(context.Background(), t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	h := &harness{t: t, topic: topic, wh: wh}
	cfg := Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = addrs, []string{topic}, "g-slow-fetch"
	cfg.BatchSize, cfg.FetchSize, cfg.BatchWait, cfg.SessionTimeout = 2000, 500, 100*time.Millisecond, 2*time.Second
	c := NewConsumer(cfg, wh, nil)
	stop := h.start(c)

	// The budget: at a fetch a slowFetch per partition (three in
	// parallel), n messages need a few seconds; a stalled consumer never
	// gets there.
	const budget = 45 * time.Second
	deadline := time.Now().Add(budget)
	for h.count("select count(*) from events") < n {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("%d of %d events ingested after %s with fetches answered after %s (%d fetches asked, %d answered); "+
				"a slow broker stopped ingest", h.count("select count(*) from events"), n, budget, slowFetch, fetches.Load(), slowed.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.count("select count(distinct event_id) from events"); got != n {
		t.Fatalf("distinct events = %d, want %d", got, n)
	}
	if got := h.count("select count(distinct kafka_partition) from events"); got != 3 {
		t.Fatalf("events came from %d partitions, want 3", got)
	}
	if slowed.Load() == 0 {
		t.Fatal("no fetch went through the slow broker: the test proves nothing")
	}
	t.Logf("%d events through %d fetches, each held %s", n, slowed.Load(), slowFetch)
}

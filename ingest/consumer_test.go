package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// canonical returns a valid cx.event/v1 message with a distinct event_id.
func canonical(i int) []byte {
	return fmt.Appendf(nil, `{"schema":"cx.event/v1","event_id":"ev-%07d","type":"message",`+
		`"occurred_at":"2026-11-21T14:%02d:05.123-03:00","source":"test","channel":"whatsapp",`+
		`"conversation_id":"wa-%d","contact":{"phone":"+55 11 9%08d"},"actor":{"kind":"customer"},`+
		`"message":{"direction":"inbound","text":"pedido %d"}}`, i, i%60, i/5, i/5, i)
}

type harness struct {
	t      *testing.T
	broker *simulate.Broker
	topic  string
	wh     *warehouse.Warehouse
}

func newHarness(t *testing.T, partitions int) *harness {
	t.Helper()
	topic := "t-" + t.Name()
	b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: partitions, MinSessionTimeout: time.Second}, topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	wh, err := warehouse.Open(context.Background(), t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return &harness{t: t, broker: b, topic: topic, wh: wh}
}

func (h *harness) config() Config {
	c := Defaults()
	c.Brokers, c.Topics, c.GroupID = h.broker.Addrs(), []string{h.topic}, "g-"+h.t.Name()
	// Parts of 100 in batches of 500: every test writes batches of several parts.
	c.BatchSize, c.FetchSize, c.BatchWait, c.SessionTimeout = 500, 100, 100*time.Millisecond, 2*time.Second
	return c
}

func (h *harness) produce(values ...[]byte) {
	h.t.Helper()
	w := simulate.NewWriter(h.broker.Addrs(), h.topic)
	defer w.Close()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i%97), Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		h.t.Fatalf("producing: %v", err)
	}
}

// start runs a consumer until the returned stop is called; stop returns Run's error.
func (h *harness) start(c *Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func (h *harness) count(q string) int {
	h.t.Helper()
	var n int
	if err := h.wh.DB.QueryRow(q).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (h *harness) waitRows(q string, want int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := h.count(q)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s = %d after %s, want %d", q, n, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExactCounts(t *testing.T) {
	h := newHarness(t, 3)
	var vals [][]byte
	for i := 0; i < 3000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals...)
	c := NewConsumer(h.config(), h.wh, nil)
	before := time.Now()
	stop := h.start(c)
	h.waitRows("select count(*) from events", 3000, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	// The producers' clock skew: the part holding the latest event
	// (14:59:05.123-03:00) was written between before and after, and no
	// part's latest event is later.
	latest := time.Date(2026, 11, 21, 17, 59, 5, 123e6, time.UTC)
	if sk, ok := c.Stats.ClockSkew()[h.topic]; !ok || sk.Max < latest.Sub(after) || sk.Max > latest.Sub(before) || sk.Last > sk.Max {
		t.Errorf("clock skew of %s = %+v (found %v), want a max between %v and %v", h.topic, sk, ok, latest.Sub(after), latest.Sub(before))
	}
	if n := h.count("select count(distinct event_id) from events"); n != 3000 {
		t.Fatalf("distinct events = %d, want 3000", n)
	}
	if n := h.count("select sum(messages) from ingest_batches"); n != 3000 {
		t.Fatalf("ingest_batches counts %d messages, want 3000", n)
	}
	// Everything was consumed: the last batch of each partition had nothing behind it.
	if n := h.count(`select count(*) from (select "partition", arg_max(lag, last_offset) as lag from ingest_batches group by 1) where lag is distinct from 0`); n != 0 {
		t.Fatalf("%d partitions report lag after consuming everything", n)
	}
	if n := h.count(`select count(*) from ingest_batches where lag < 0 or lag is null`); n != 0 {
		t.Fatalf("%d batches without a lag", n)
	}
	if n := h.count("select count(distinct kafka_partition) from events"); n != 3 {
		t.Fatalf("events came from %d partitions, want 3", n)
	}
	// Phones were normalized on the way in.
	if n := h.count("select count(*) from identifiers where identifier_kind = 'phone' and (cx_identifier_value(identifier_hash, sealed_value) not like '+5511%' or cx_identifier_value(identifier_hash, sealed_value) like '% %')"); n != 0 {
		t.Fatalf("%d phones not in E.164", n)
	}
}

// While a backlog is behind them, batches fill from several parts and end
// exactly on a row group (here made 250 events), cutting a part in two
// where the boundary falls inside it (only each writer's last batch may
// be partial); each batch commits once: one batch
// id, one AfterBatch, one count, and every message counted once.
func TestBatchesFillFromSeveralPartsAndEndOnARowGroup(t *testing.T) {
	h := newHarness(t, 3)
	var vals [][]byte
	for i := 0; i < 3000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals...)
	cfg := h.config()
	cfg.BatchSize, cfg.FetchSize, cfg.BatchWait = 1000, 100, 2*time.Second
	c := NewConsumer(cfg, h.wh, nil)
	c.rowGroup = 250
	var mu sync.Mutex
	var after []warehouse.Result
	c.AfterBatch = func(r warehouse.Result) {
		mu.Lock()
		defer mu.Unlock()
		after = append(after, r)
	}
	stop := h.start(c)
	h.waitRows("select count(*) from events", 3000, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	batches := h.count("select count(distinct batch_id) from ingest_batches")
	// The stream's last events may end in one partial batch per writer.
	if n := h.count("select count(*) from (select batch_id from events group by 1 having count(*) <> 250)"); n > cfg.Writers {
		t.Errorf("%d of %d batches do not hold exactly a row group (250 events); at most %d (the writers' last) may be partial", n, batches, cfg.Writers)
	}
	if n := h.count("select count(*) from (select batch_id from events group by 1 having count(*) > 250)"); n != 0 {
		t.Errorf("%d batches hold more than a row group (250 events)", n)
	}
	if n := h.count("select sum(messages) from ingest_batches"); n != 3000 {
		t.Errorf("ingest_batches counts %d messages, want 3000", n)
	}
	if n := h.count("select count(*) from ingest_batches where messages <> accepted"); n != 0 {
		t.Errorf("%d ingest_batches rows count messages and events differently", n)
	}
	if n := c.Stats.Messages.Load(); n != 3000 {
		t.Errorf("stats count %d messages, want 3000", n)
	}
	mu.Lock()
	defer mu.Unlock()
	accepted := 0
	for _, r := range after {
		accepted += r.Accepted
	}
	if len(after) != batches || int(c.Stats.Batches.Load()) != batches || accepted != 3000 {
		t.Errorf("AfterBatch ran %d times for %d accepted, Stats counts %d batches; the warehouse has %d batches and 3000 events",
			len(after), accepted, c.Stats.Batches.Load(), batches)
	}
}

// When a cut piece holds duplicates, the batch is short of its row group
// and the rest of the part goes into the same batch: the batch still
// counts once and the part is acknowledged once.
func TestPartAppendedTwiceToOneBatchCountsOnce(t *testing.T) {
	h := newHarness(t, 1)
	var vals [][]byte
	for i := 0; i < 1000; i++ {
		vals = append(vals, canonical(i-i%2)) // every other message repeats the one before
	}
	h.produce(vals...)
	cfg := h.config()
	cfg.BatchSize, cfg.FetchSize, cfg.BatchWait = 1000, 100, 2*time.Second
	c := NewConsumer(cfg, h.wh, nil)
	c.rowGroup = 120
	var mu sync.Mutex
	calls := 0
	c.AfterBatch = func(warehouse.Result) {
		mu.Lock()
		defer mu.Unlock()
		calls++
	}
	stop := h.start(c)
	h.waitRows("select count(*) from events", 500, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	batches := h.count("select count(distinct batch_id) from ingest_batches")
	mu.Lock()
	defer mu.Unlock()
	if calls != batches || int(c.Stats.Batches.Load()) != batches || c.Stats.Messages.Load() != 1000 {
		t.Errorf("AfterBatch ran %d times, Stats count %d batches and %d messages; the warehouse has %d batches of 1000 messages",
			calls, c.Stats.Batches.Load(), c.Stats.Messages.Load(), batches)
	}
}

func TestRedeliveryAfterStopBeforeCommit(t *testing.T) {
	h := newHarness(t, 2)
	var vals [][]byte
	for i := 0; i < 2000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals...)

	// The first consumer writes one batch durably, then "crashes" before committing.
	first := NewConsumer(h.config(), h.wh, nil)
	errCrash := errors.New("crash before commit")
	first.beforeCommit = func() error { return errCrash }
	if err := first.Run(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("first consumer: %v, want the simulated crash", err)
	}
	written := h.count("select count(*) from events")
	if written == 0 {
		t.Fatal("the first batch was not written")
	}

	// A new member of the group gets the uncommitted messages again. With
	// overlapping writers the first consumer may have made every event
	// durable, so wait for the second to have read all 2000 messages, not
	// for the row count.
	second := NewConsumer(h.config(), h.wh, nil)
	stop := h.start(second)
	deadline := time.Now().Add(60 * time.Second)
	for second.Stats.Messages.Load() < 2000 {
		if time.Now().After(deadline) {
			t.Fatalf("second consumer read %d of 2000 messages after 60s", second.Stats.Messages.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := h.count("select count(*) from events"); n != 2000 {
		t.Fatalf("events = %d, want 2000", n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := second.Stats.Duplicates.Load(); got < int64(written) {
		t.Fatalf("second consumer saw %d duplicates, want at least the %d redelivered", got, written)
	}
	if n := h.count("select count(*) - count(distinct event_id) from events"); n != 0 {
		t.Fatalf("%d doubled rows", n)
	}
}

func TestRebalanceTwoConsumers(t *testing.T) {
	h := newHarness(t, 4)
	var vals [][]byte
	for i := 0; i < 20000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals[:2000]...)
	a := NewConsumer(h.config(), h.wh, nil)
	stopA := h.start(a)
	// a holds every partition until b joins: wait until it has stored them.
	h.waitRows("select count(*) from events", 2000, 60*time.Second)
	b := NewConsumer(h.config(), h.wh, nil) // joining forces a rebalance
	stopB := h.start(b)
	// Produce in small rounds until the rebalance has given b partitions
	// and b has read from them: the test proves a rebalance, not only
	// exactly-once storage by whichever member happened to read.
	sent := 2000
	deadline := time.Now().Add(90 * time.Second)
	for b.Stats.Messages.Load() == 0 {
		if time.Now().After(deadline) || sent == len(vals) {
			t.Fatalf("the second member read nothing: no rebalance after %d messages", sent)
		}
		h.produce(vals[sent : sent+100]...)
		sent += 100
		h.waitRows("select count(*) from events", sent, 60*time.Second)
	}
	h.produce(vals[sent : sent+2000]...)
	sent += 2000
	h.waitRows("select count(*) from events", sent, 90*time.Second)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if n := h.count("select count(distinct event_id) from events"); n != sent {
		t.Fatalf("distinct events = %d, want %d", n, sent)
	}
	if a.Stats.Messages.Load() < 2000 {
		t.Fatalf("the first member read %d messages, want at least the 2000 before the rebalance", a.Stats.Messages.Load())
	}
}

func TestBadInputBecomesDeadLetters(t *testing.T) {
	h := newHarness(t, 1)
	bad := map[string][]byte{
		"empty_payload":      {},
		"not_json":           []byte(`{"schema": "cx.event/v1", `),
		"invalid_utf8":       []byte("{\"schema\":\"cx.event/v1\",\"x\":\"\xff\xfe\"}"),
		"wrong_type":         []byte(`{"schema":"cx.event/v1","event_id":"b1","type":"message","occurred_at":1732197785,"contact":{"phone":"+5511987654321"}}`),
		"missing_field":      []byte(`{"schema":"cx.event/v1","type":"message","occurred_at":"2026-11-21T14:03:05Z","contact":{"phone":"+5511987654321"}}`),
		"unknown_type":       []byte(`{"schema":"cx.event/v1","event_id":"b2","type":"telepathy","occurred_at":"2026-11-21T14:03:05Z","contact":{"phone":"+5511987654321"}}`),
		"bad_timestamp":      []byte(`{"schema":"cx.event/v1","event_id":"b3","type":"consent","occurred_at":"2026-11-21T14:03:05","contact":{"phone":"+5511987654321"},"consent":{"purpose":"analytics","granted":true}}`),
		"too_large":          append(append([]byte(`{"schema":"cx.event/v1","pad":"`), bytes.Repeat([]byte("x"), 300<<10)...), '"', '}'),
		"unsupported_schema": []byte(`{"schema":"cx.event/v0"}`),
	}
	var vals [][]byte
	want := map[string]bool{}
	for i := 0; i < 100; i++ {
		vals = append(vals, canonical(i))
		for code, v := range bad {
			if i == 10 {
				vals = append(vals, v)
				want[code] = true
			}
		}
	}
	h.produce(vals...)
	c := NewConsumer(h.config(), h.wh, nil)
	stop := h.start(c)
	h.waitRows("select count(*) from dead_letters", len(bad), 60*time.Second)
	h.waitRows("select count(*) from events", 100, 10*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	rows, err := h.wh.DB.Query(`select reason_code, reason, topic, "partition", "offset", raw_size, octet_length(cx_dead_letter_raw(topic, "partition", "offset", raw)) from dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, reason, topic string
		var part, size, stored int
		var off int64
		if err := rows.Scan(&code, &reason, &topic, &part, &off, &size, &stored); err != nil {
			t.Fatal(err)
		}
		if !want[code] {
			t.Errorf("unexpected dead letter reason %q (%s)", code, reason)
		}
		delete(want, code)
		if topic != h.topic || off < 0 || reason == "" {
			t.Errorf("dead letter %s lacks coordinates or reason: %s/%d@%d %q", code, topic, part, off, reason)
		}
		if bytes.Contains([]byte(reason), []byte("5511987654321")) {
			t.Errorf("reason for %s quotes the phone: %q", code, reason)
		}
		if code == "too_large" && (size <= 300<<10 || stored != warehouse.MaxDeadLetterBytes) {
			t.Errorf("too_large: raw_size %d stored %d, want the full size and the first %d bytes", size, stored, warehouse.MaxDeadLetterBytes)
		}
	}
	for code := range want {
		t.Errorf("no dead letter with reason %s", code)
	}
}

func TestKcatProducedMessageIsConsumed(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (CI installs it: apt-get install -y kcat)")
	}
	h := newHarness(t, 1)
	cmd := exec.Command(kcat, "-P", "-b", h.broker.Addrs()[0], "-t", h.topic, "-k", "kcat-key")
	cmd.Stdin = bytes.NewReader(append(canonical(42), '\n'))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	stop := h.start(NewConsumer(h.config(), h.wh, nil))
	h.waitRows("select count(*) from events where event_id = 'ev-0000042'", 1, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBrokerRestartResumesWithoutLoss(t *testing.T) {
	dataDir := t.TempDir()
	topic := "t-restart"
	b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 2, DataDir: dataDir, MinSessionTimeout: time.Second}, topic)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addrs()[0]
	var port int
	fmt.Sscanf(addr[len("127.0.0.1:"):], "%d", &port)
	h := &harness{t: t, broker: b, topic: topic}
	h.wh, err = warehouse.Open(context.Background(), t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.wh.Close()
	var vals [][]byte
	for i := 0; i < 2000; i++ {
		vals = append(vals, canonical(i))
	}
	h.produce(vals[:1000]...)
	cfg := h.config()
	c := NewConsumer(cfg, h.wh, nil)
	stop := h.start(c)
	h.waitRows("select count(*) from events", 1000, 60*time.Second)

	b.Close() // the broker goes down under the running consumer
	// Restart only once the consumer has noticed: the test is of riding
	// out an outage it saw, not of a restart too quick to observe.
	for deadline := time.Now().Add(60 * time.Second); c.Health().BrokerReachable; {
		if time.Now().After(deadline) {
			t.Fatal("the consumer never noticed the broker going down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var mu sync.Mutex
	mu.Lock()
	b2, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 2, Port: port, DataDir: dataDir, MinSessionTimeout: time.Second}, topic)
	mu.Unlock()
	if err != nil {
		t.Fatalf("restarting broker on port %d: %v", port, err)
	}
	defer b2.Close()
	h.broker = b2
	h.produce(vals[1000:]...)
	h.waitRows("select count(*) from events", 2000, 90*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := h.count("select count(distinct event_id) from events"); n != 2000 {
		t.Fatalf("distinct events = %d, want 2000", n)
	}
}

package governance_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// env is a data directory with a warehouse, governance and audit log, fed
// through the real consumer from an embedded Kafka-protocol broker on TCP.
type env struct {
	t      *testing.T
	dir    string
	wh     *warehouse.Warehouse
	gov    *governance.Governance
	audit  *audit.Log
	broker *simulate.Broker
	topic  string
	log    *slog.Logger
}

func newEnv(t *testing.T, cfg governance.Config) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir(), cfg)
}

// newEnvIn is newEnv over the data directory dir, which may hold what an
// older cxlake left.
func newEnvIn(t *testing.T, dir string, cfg governance.Config) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dir: dir, topic: "t-" + strings.ReplaceAll(t.Name(), "/", "-")}
	// The process log goes into the data directory, so that the byte search
	// covers it too.
	lf, err := os.Create(filepath.Join(e.dir, "cxlake.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
	e.log = slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 2, MinSessionTimeout: time.Second}, e.topic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e.broker = b
	if e.wh, err = warehouse.Open(ctx, e.dir, warehouse.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.wh.Close() })
	if e.audit, err = audit.Open(filepath.Join(e.dir, audit.Dir)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.audit.Close() })
	if e.gov, err = governance.New(ctx, e.wh, e.audit, cfg, models.Config{}, e.log); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) produce(msgs ...kafka.Message) {
	e.t.Helper()
	w := simulate.NewWriter(e.broker.Addrs(), e.topic)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		e.t.Fatalf("producing: %v", err)
	}
}

// background produces n simulated messages (valid and malformed) over the
// 10 days up to 2 days ago.
func (e *env) background(n int) {
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	g := simulate.New(simulate.Config{Seed: 3, Start: start, Days: 8, PerDay: simulate.PerDayFor(int64(n), 8)})
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		m := g.Next()
		msgs[i] = kafka.Message{Key: m.Key, Value: m.Value}
	}
	e.produce(msgs...)
}

// consume runs a consumer of group until it has read want messages.
func (e *env) consume(group string, want int64) *ingest.Stats {
	e.t.Helper()
	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = e.broker.Addrs(), []string{e.topic}, group
	cfg.BatchSize, cfg.BatchWait, cfg.SessionTimeout = 700, 100*time.Millisecond, 2*time.Second
	c := ingest.NewConsumer(cfg, e.wh, e.log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for c.Stats.Messages.Load() < want {
		if time.Now().After(deadline) {
			cancel()
			e.t.Fatalf("consumed %d of %d messages in 60s", c.Stats.Messages.Load(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		e.t.Fatal(err)
	}
	return c.Stats
}

func (e *env) refresh() {
	e.t.Helper()
	if _, err := models.Refresh(context.Background(), e.wh.DB, models.Config{HashKey: e.wh.HashKey()}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.wh.Publish(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) count(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.wh.DB.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// canonical returns a cx.event/v1 message.
func canonical(id, typ string, at time.Time, channel, conv, contact, rest string) kafka.Message {
	v := fmt.Sprintf(`{"schema":"cx.event/v1","event_id":%q,"type":%q,"occurred_at":%q,"source":"test","channel":%q,`+
		`"conversation_id":%q,"contact":%s,"actor":{"kind":"customer","team":"marker-team-5150"}%s}`,
		id, typ, at.Format(time.RFC3339Nano), channel, conv, contact, rest)
	return kafka.Message{Key: []byte(id), Value: []byte(v)}
}

// grep returns the files under dir containing any of needles (exact or
// lower case), by reading every byte: independent of governance.ScanBytes.
func grep(t *testing.T, dir string, needles []string) map[string][]string {
	t.Helper()
	hits := map[string][]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		low := strings.ToLower(string(b))
		for _, n := range needles {
			if strings.Contains(string(b), n) || strings.Contains(low, strings.ToLower(n)) {
				rel, _ := filepath.Rel(dir, p)
				hits[n] = append(hits[n], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// runOutage is how long the broker is down in TestRunRidesOutBrokerOutage:
// the 20 s, far past kafka-go's own retries (which made run exit
// after about 6 s) and several back-off intervals (100ms doubling to 5s).
const runOutage = 20 * time.Second

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// getHealth returns /healthz's status code and body (code 0: no answer).
func getHealth(addr string) (int, map[string]string) {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var body map[string]string
	json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// metric reads one unlabelled sample from /metrics (-1: absent, or the
// server not listening yet: callers poll against a deadline).
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// `cxlake run` under load loses its broker for 20 s: it keeps running,
// /healthz says degraded with the reason and /metrics says the broker is
// unreachable; when a broker with the same data is back on the same port,
// run resumes, health is ok again, and every event is stored exactly once.
func TestRunRidesOutBrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20 s broker outage")
	}
	topic := "cx.events"
	brokerDir := t.TempDir()
	start := func(port int) *simulate.Broker {
		b, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 3, Port: port, DataDir: brokerDir, MinSessionTimeout: time.Second}, topic)
		if err != nil {
			t.Fatalf("starting the broker on port %d: %v", port, err)
		}
		return b
	}
	broker := start(0)
	_, portS, _ := net.SplitHostPort(broker.Addrs()[0])
	port, _ := strconv.Atoi(portS)
	produce := func(from, to int) {
		t.Helper()
		w := simulate.NewWriter(broker.Addrs(), topic)
		defer w.Close()
		gen := simulate.New(simulate.Config{Seed: 7, Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Days: 5, PerDay: 5000,
			MalformedRate: -1, DuplicateRate: -1})
		var msgs []kafka.Message
		for i := 0; i < to; i++ {
			m := gen.Next()
			if i >= from {
				msgs = append(msgs, kafka.Message{Key: m.Key, Value: m.Value})
			}
			if len(msgs) == 1000 || (i == to-1 && len(msgs) > 0) {
				if err := w.WriteMessages(context.Background(), msgs...); err != nil {
					t.Fatalf("producing: %v", err)
				}
				msgs = msgs[:0]
			}
		}
	}
	const first, total = 20000, 25000
	produce(0, first)

	httpAddr := freeAddr(t)
	data := filepath.Join(t.TempDir(), "data")
	conf := filepath.Join(t.TempDir(), "cxlake.yaml")
	os.WriteFile(conf, fmt.Appendf(nil, `data: %s
http:
  addr: %s
ingest:
  brokers: [%s]
  group_id: run-outage
  batch_size: 2000
  fetch_size: 500
  batch_wait: 100ms
  session_timeout: 2s
  shutdown_timeout: 20s
`, data, httpAddr, broker.Addrs()[0]), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := capture(t, func() error { return runRun(ctx, []string{"--config", conf}) })
		done <- err
	}()
	deadline := time.Now().Add(60 * time.Second)
	for metric(t, httpAddr, "cxlake_ingest_events_accepted_total") <= 0 {
		select {
		case err := <-done:
			t.Fatalf("run stopped before ingesting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing ingested in 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	broker.Close()
	down := time.Now()
	t.Logf("broker down with %.0f of %d events stored", metric(t, httpAddr, "cxlake_ingest_events_accepted_total"), first)

	var degraded map[string]string
	var noticed time.Duration
	unreachable := false
	for time.Since(down) < runOutage {
		select {
		case err := <-done:
			t.Fatalf("run exited %s into the broker outage: %v", time.Since(down).Round(time.Millisecond), err)
		default:
		}
		code, body := getHealth(httpAddr)
		if code != http.StatusOK {
			t.Fatalf("/healthz during the outage: %d %v; want 200 (degraded is not down)", code, body)
		}
		if body["status"] == "degraded" {
			if degraded == nil {
				noticed = time.Since(down)
			}
			degraded = body
			unreachable = unreachable || metric(t, httpAddr, "cxlake_ingest_broker_reachable") == 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	if degraded == nil || !strings.Contains(degraded["reason"], "kafka") || !unreachable {
		t.Fatalf("/healthz during a %s outage: last degraded %v, broker_reachable went to 0: %v", runOutage, degraded, unreachable)
	}
	t.Logf("/healthz degraded %s into the outage: %s", noticed.Round(time.Millisecond), degraded["reason"])

	broker = start(port)
	defer broker.Close()
	back := time.Now()
	produce(first, total)
	deadline = time.Now().Add(120 * time.Second)
	for {
		n := metric(t, httpAddr, "cxlake_ingest_events_accepted_total")
		code, body := getHealth(httpAddr)
		if n == total && code == http.StatusOK && body["status"] == "ok" && metric(t, httpAddr, "cxlake_ingest_broker_reachable") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the broker came back: %.0f of %d events, /healthz %d %v", n, total, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d events stored and /healthz ok %s after the broker came back", total, time.Since(back).Round(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	wh, err := warehouse.Open(context.Background(), data, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var n, distinct, dead int
	if err := wh.DB.QueryRow(`select count(*), count(distinct event_id), (select count(*) from dead_letters) from events`).Scan(&n, &distinct, &dead); err != nil {
		t.Fatal(err)
	}
	// The generator's messages are all valid, with distinct ids.
	if n != total || distinct != total || dead != 0 {
		t.Fatalf("events %d (distinct %d), dead letters %d; want %d, %d, 0", n, distinct, dead, total, total)
	}
}

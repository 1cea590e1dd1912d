package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// `cxlake run` with sources configured mounts the Chatwoot webhook on its
// HTTP server and consumes the Evolution API and Chatwoot topics.
func TestRunConsumesTheSources(t *testing.T) {
	evoTopic := "evolution.shop.messages.upsert"
	broker, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 1, MinSessionTimeout: time.Second},
		"cx.events", "chatwoot.events", evoTopic, "evolution.shop.send.message")
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(t.TempDir(), "data")
	const secret = "run-test-secret-0123456789"
	conf := filepath.Join(t.TempDir(), "cxlake.yaml")
	os.WriteFile(conf, fmt.Appendf(nil, `data: %s
http:
  addr: %s
ingest:
  brokers: [%s]
  group_id: run-sources
  batch_wait: 50ms
  session_timeout: 2s
sources:
  evolution:
    instances: [shop]
    events: [messages.upsert, send.message]
  chatwoot:
    secret: %s
`, data, addr, broker.Addrs()[0], secret), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := capture(t, func() error { return runRun(ctx, []string{"--config", conf}) })
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the server did not come up: %v (run: %v)", err, <-done)
		}
		time.Sleep(50 * time.Millisecond)
	}

	body := []byte(`{"event":"message_created","id":41,"content":"Oi","created_at":"2026-03-02T13:00:05.000Z","message_type":"incoming",` +
		`"private":false,"sender":{"id":9,"type":"contact"},"conversation":{"id":5,"inbox_id":2,"channel":"Channel::WebWidget",` +
		`"status":"open","meta":{"sender":{"id":9,"type":"contact","email":"bia@example.com"}}}}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/sources/chatwoot", bytes.NewReader(body))
	req.Header.Set("X-Chatwoot-Timestamp", ts)
	req.Header.Set("X-Chatwoot-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d, want 202", res.StatusCode)
	}
	w := simulate.NewWriter(broker.Addrs(), evoTopic)
	err = w.WriteMessages(context.Background(), kafka.Message{Key: []byte("shop"), Value: []byte(`{"event":"messages.upsert","instance":"shop",` +
		`"data":{"key":{"remoteJid":"5511987654321@s.whatsapp.net","fromMe":false,"id":"E1"},"message":{"conversation":"oi"},` +
		`"messageType":"conversation","messageTimestamp":1772452800},"apikey":"run-test-apikey-42"}`)})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Wait until run has stored both, as its own /metrics says: the
	// warehouse itself is locked while run holds it.
	for deadline := time.Now().Add(60 * time.Second); metric(t, addr, "cxlake_ingest_events_accepted_total") < 2; {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("run stored %v of the 2 source events within 60s (run: %v)", metric(t, addr, "cxlake_ingest_events_accepted_total"), <-done)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	wh, err := warehouse.Open(context.Background(), data, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var n int
	if err := wh.DB.QueryRow(`select count(*) from events where event_id in ('chatwoot:msg:41', 'evolution:shop:E1')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d of the 2 source events were stored", n)
	}
}

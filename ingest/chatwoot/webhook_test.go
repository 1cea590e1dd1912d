package chatwoot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

const testSecret = "wh-secret-0123456789abcdef"

// recorder is a Publisher that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	got  [][]byte
	keys []string
	err  error
}

func (r *recorder) Publish(_ context.Context, key, value []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.got = append(r.got, value)
	r.keys = append(r.keys, string(key))
	return nil
}

// sign signs body the way Chatwoot's Webhooks::Trigger does.
func sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type answer struct {
	status     int
	retryAfter string
	body       map[string]string
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("reply %d is not JSON: %s", res.StatusCode, b)
	}
	return r
}

func signed(body []byte, secret string, at time.Time) map[string]string {
	ts := at.Unix()
	return map[string]string{"X-Chatwoot-Timestamp": strconv.FormatInt(ts, 10), "X-Chatwoot-Signature": sign(secret, ts, body),
		"X-Chatwoot-Delivery": "2c6f1a0e-5f7e-4b8e-9b1f-3a0b2c4d5e6f"}
}

func TestWebhookAuthenticationAndValidation(t *testing.T) {
	pub := &recorder{}
	h := NewHandler(Config{Secret: testSecret, Token: "url-token-0123456789"}, pub, nil)
	now := time.Now()
	h.now = func() time.Time { return now }
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := fixture(t, "03_message_created_incoming.json")

	for _, tc := range []struct {
		name   string
		url    string
		body   []byte
		hdr    map[string]string
		status int
		says   string
	}{
		{"signed", srv.URL, body, signed(body, testSecret, now), http.StatusAccepted, "accepted"},
		{"token in the URL", srv.URL + "?token=url-token-0123456789", body, nil, http.StatusAccepted, "accepted"},
		{"no credentials", srv.URL, body, nil, http.StatusUnauthorized, "missing X-Chatwoot-Signature"},
		{"wrong secret", srv.URL, body, signed(body, "another-secret-0123456789", now), http.StatusForbidden, "does not match"},
		{"body changed after signing", srv.URL, append([]byte(" "), body...), signed(body, testSecret, now), http.StatusForbidden, "does not match"},
		{"replayed an hour later", srv.URL, body, signed(body, testSecret, now.Add(-time.Hour)), http.StatusUnauthorized, "from now"},
		{"wrong token", srv.URL + "?token=guess", body, nil, http.StatusForbidden, "token"},
		{"malformed JSON", srv.URL, []byte(`{"event": "message_created",`), signed([]byte(`{"event": "message_created",`), testSecret, now),
			http.StatusBadRequest, "not valid JSON"},
		{"JSON without event", srv.URL, []byte(`{"id": 1}`), signed([]byte(`{"id": 1}`), testSecret, now), http.StatusBadRequest, `no "event"`},
		{"an array", srv.URL, []byte(`[1]`), signed([]byte(`[1]`), testSecret, now), http.StatusBadRequest, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(pub.got)
			r := post(t, tc.url, tc.body, tc.hdr)
			msg := r.body["error"] + r.body["status"]
			if r.status != tc.status || !strings.Contains(msg, tc.says) {
				t.Fatalf("%d %q, want %d saying %q", r.status, msg, tc.status, tc.says)
			}
			published := len(pub.got) - before
			if (tc.status == http.StatusAccepted) != (published == 1) {
				t.Fatalf("published %d messages for a %d", published, r.status)
			}
		})
	}
	// Published as it came but for the pubsub_token, keyed by conversation.
	if string(pub.got[0]) != string(withoutTokens(body)) || pub.keys[0] != "conversation:1:78" {
		t.Fatalf("published %q with key %q, want the body as sent, keyed by its conversation", pub.got[0][:40], pub.keys[0])
	}

	big := NewHandler(Config{Secret: testSecret, MaxBodyBytes: 1024}, pub, nil)
	bsrv := httptest.NewServer(big)
	defer bsrv.Close()
	if r := post(t, bsrv.URL, body, signed(body, testSecret, time.Now())); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversized body: %d, want 413", r.status)
	}
	if res, _ := http.Get(srv.URL); res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d, want 405", res.StatusCode)
	}
}

func TestWebhookRefusesWith503WhenPublishingFails(t *testing.T) {
	pub := &recorder{err: errors.New("kafka: no brokers")}
	srv := httptest.NewServer(NewHandler(Config{Token: "url-token-0123456789"}, pub, nil))
	defer srv.Close()
	r := post(t, srv.URL+"?token=url-token-0123456789", fixture(t, "02_conversation_created.json"), nil)
	if r.status != http.StatusServiceUnavailable || r.retryAfter != strconv.Itoa(RetryAfter) || !strings.Contains(r.body["error"], "retry") {
		t.Fatalf("%+v, want 503 with Retry-After", r)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// With Kafka down the webhook is refused with a retryable status and
// nothing is lost: when Kafka is back, the sender's retry is accepted and
// the event is consumed once.
func TestWebhookKafkaDownThenBack(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	opts := simulate.BrokerOptions{Partitions: 1, Port: port, DataDir: dir, MinSessionTimeout: time.Second}
	broker, err := simulate.StartBroker(opts, DefaultTopic)
	if err != nil {
		t.Fatal(err)
	}
	addrs := broker.Addrs()
	pub := NewKafkaPublisher(addrs, DefaultTopic)
	defer pub.Close()
	h := NewHandler(Config{Secret: testSecret}, pub, nil)
	h.PublishTimeout = 3 * time.Second
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := fixture(t, "03_message_created_incoming.json")

	broker.Close()
	r := post(t, srv.URL, body, signed(body, testSecret, time.Now()))
	if r.status != http.StatusServiceUnavailable || r.retryAfter == "" {
		t.Fatalf("with Kafka down: %d %v (Retry-After %q), want 503 with Retry-After", r.status, r.body, r.retryAfter)
	}

	if broker, err = simulate.StartBroker(opts, DefaultTopic); err != nil {
		t.Fatalf("restarting the broker: %v", err)
	}
	defer broker.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = post(t, srv.URL, body, signed(body, testSecret, time.Now()))
		if r.status == http.StatusAccepted {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("retry: %d %v, want 202 once Kafka is back", r.status, r.body)
		}
		time.Sleep(time.Duration(RetryAfter) * time.Second / 5)
	}

	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = addrs, []string{DefaultTopic}, "g-"+t.Name()
	cfg.BatchWait, cfg.SessionTimeout = 100*time.Millisecond, 2*time.Second
	c := ingest.NewConsumer(cfg, wh, nil).WithSources(New(Config{Secret: testSecret}, event.Decoder{}))
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	// A later webhook is the sentinel: the topic has one partition, so once
	// it is consumed, every copy of the retried one that Kafka holds has
	// been consumed too.
	sentinel := fixture(t, "05_message_created_incoming.json")
	if r := post(t, srv.URL, sentinel, signed(sentinel, testSecret, time.Now())); r.status != http.StatusAccepted {
		t.Fatalf("sentinel: %d %v, want 202", r.status, r.body)
	}
	waitFor := time.Now().Add(30 * time.Second)
	for c.Stats.Accepted.Load() < 2 {
		if time.Now().After(waitFor) {
			t.Fatalf("%d events accepted in 30 s, want the retried webhook and the sentinel", c.Stats.Accepted.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var events, messages int
	wh.DB.QueryRow(`select count(*) from events where event_id = 'chatwoot:msg:9001'`).Scan(&events)
	wh.DB.QueryRow(`select coalesce(sum(messages), 0) from ingest_batches`).Scan(&messages)
	if events != 1 || messages != 2 {
		t.Fatalf("%d events from %d messages, want the retried webhook consumed once", events, messages)
	}
}

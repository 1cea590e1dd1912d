package chatwoot

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bodyReads fails the test if the body is read.
type bodyReads struct{ n atomic.Int64 }

func (b *bodyReads) Read(p []byte) (int, error) {
	b.n.Add(1)
	return copy(p, "{}"), nil
}
func (b *bodyReads) Close() error { return nil }

// Requests that fail a check needing no body are refused without reading it.
func TestWebhookRefusesBeforeReadingTheBody(t *testing.T) {
	h := NewHandler(Config{Secret: testSecret, Token: "url-token-0123456789"}, &recorder{}, slog.New(slog.DiscardHandler))
	now := time.Now()
	for _, tc := range []struct {
		name   string
		query  string
		hdr    map[string]string
		status int
	}{
		{"no credentials", "", nil, http.StatusUnauthorized},
		{"wrong token", "?token=guess-guess-guess-guess", nil, http.StatusForbidden},
		{"stale timestamp", "", map[string]string{"X-Chatwoot-Timestamp": strconv.FormatInt(now.Add(-time.Hour).Unix(), 10),
			"X-Chatwoot-Signature": sign(testSecret, now.Add(-time.Hour).Unix(), nil)}, http.StatusUnauthorized},
		{"malformed signature", "", map[string]string{"X-Chatwoot-Timestamp": strconv.FormatInt(now.Unix(), 10),
			"X-Chatwoot-Signature": "sha256=nothex"}, http.StatusForbidden},
	} {
		body := &bodyReads{}
		req := httptest.NewRequest(http.MethodPost, Path+tc.query, body)
		req.ContentLength = 1 << 20
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || body.n.Load() != 0 {
			t.Errorf("%s: %d after %d body reads; want %d with none", tc.name, rec.Code, body.n.Load(), tc.status)
		}
	}
}

func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// 300 unauthenticated connections, each sending all but the last byte of
// a body of the largest size (the attack that held 345 MB): half with a
// wrong token (refused before the body), half signed with a current
// timestamp and a made-up signature (they pass the cheap checks, and only
// the body budget bounds them). Together they add less than 20 MB to the
// process's RSS, at its peak.
func TestUnauthenticatedConnectionsHoldLittleMemory(t *testing.T) {
	var refused sync.Map
	var refusals atomic.Int64
	h := NewHandler(Config{Secret: testSecret, Token: "url-token-0123456789"}, &recorder{}, slog.New(slog.DiscardHandler))
	h.BodyTimeout = time.Minute
	h.Refused = func(reason string) {
		refusals.Add(1)
		n, _ := refused.LoadOrStore(reason, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	runtime.GC()
	before := vmRSS(t)

	const conns = 300
	size := DefaultMaxBodyBytes
	body := bytes.Repeat([]byte("a"), size-1)
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	fakeSig := "sha256=" + strings.Repeat("ab", 32)
	var writers sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		open = append(open, c)
		var req string
		if i%2 == 0 {
			req = fmt.Sprintf("POST %s?token=wrong-token-%06d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", Path, i, size)
		} else {
			req = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Chatwoot-Timestamp: %d\r\nX-Chatwoot-Signature: %s\r\n\r\n",
				Path, size, time.Now().Unix(), fakeSig)
		}
		writers.Add(1)
		go func() {
			defer writers.Done()
			// A refused connection stops being read: its writes end
			// in an error or in the kernel's buffers.
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Write([]byte(req)); err == nil {
				c.Write(body)
			}
		}()
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()
	holding := func() int { return len(h.budget) / (size/1024 + 1) }
	peak := before
	deadline := time.Now().Add(60 * time.Second)
	for settled := false; !settled; {
		select {
		case <-done:
			settled = int(refusals.Load())+holding() >= conns
		default:
		}
		if rss := vmRSS(t); rss > peak {
			peak = rss
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %d refused, %d holding a body, of %d", refusals.Load(), holding(), conns)
		}
		time.Sleep(20 * time.Millisecond)
	}
	added := peak - before
	counts := map[string]int64{}
	refused.Range(func(k, v any) bool { counts[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d unauthenticated connections sending %d-byte bodies added at most %.1f MB of RSS (%d holding a body; refusals %v)",
		conns, size-1, float64(added)/(1<<20), holding(), counts)
	if added > 20<<20 {
		t.Fatalf("%d unauthenticated connections added %.1f MB of RSS, want < 20 MB", conns, float64(added)/(1<<20))
	}
	if counts[RefusedBadToken] != conns/2 || holding() > DefaultMaxBufferedBytes/size {
		t.Fatalf("refusals %v, %d holding; want %d bad tokens and at most %d holding", counts, holding(), conns/2, DefaultMaxBufferedBytes/size)
	}
}

// A signed request whose body does not arrive within BodyTimeout is cut
// off with 408, and gives its budget back.
func TestSlowWebhookBodyIsCutOff(t *testing.T) {
	h := NewHandler(Config{Secret: testSecret}, &recorder{}, slog.New(slog.DiscardHandler))
	h.BodyTimeout = 300 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nX-Chatwoot-Timestamp: %d\r\nX-Chatwoot-Signature: sha256=%s\r\n\r\n{",
		Path, time.Now().Unix(), strings.Repeat("ab", 32))
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	res.Body.Close()
	if took := time.Since(start); res.StatusCode != http.StatusRequestTimeout || took > 3*time.Second {
		t.Fatalf("slow body: %d after %s, want 408 after about %s", res.StatusCode, took, h.BodyTimeout)
	}
	if len(h.budget) != 0 {
		t.Fatalf("%d budget tokens still held", len(h.budget))
	}
}

// 10,000 refused webhooks from 50 sources, for 3 reasons, add a few lines
// to the log (one per source and reason per minute), not 10,000, and are
// all counted.
func TestRefusalLogsAreRateLimited(t *testing.T) {
	var log bytes.Buffer
	var counted atomic.Int64
	h := NewHandler(Config{Secret: testSecret, Token: "url-token-0123456789"}, &recorder{}, slog.New(slog.NewTextHandler(&log, nil)))
	h.Refused = func(string) { counted.Add(1) }
	queries := []string{"", "?token=guess-guess-guess-guess", "?token=another-guess-000000"}
	const n = 10000
	for i := range n {
		req := httptest.NewRequest(http.MethodPost, Path+queries[i%2], strings.NewReader(`{"event":"x"}`))
		req.RemoteAddr = fmt.Sprintf("192.0.2.%d:%d", i%50, 40000+i%1000)
		if i%7 == 0 {
			req.Header.Set("X-Chatwoot-Timestamp", "yesterday")
			req.Header.Set("X-Chatwoot-Signature", "sha256=00")
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := bytes.Count(log.Bytes(), []byte("\n"))
	t.Logf("%d refused webhooks wrote %d bytes of log in %d lines", n, log.Len(), lines)
	if log.Len() >= 200<<10 {
		t.Fatalf("%d refused webhooks wrote %d bytes of log, want < 200 KB", n, log.Len())
	}
	if lines > 50*3 {
		t.Fatalf("%d lines of log, want at most one per source and reason (150)", lines)
	}
	if counted.Load() != n {
		t.Fatalf("counted %d refusals of %d", counted.Load(), n)
	}
}

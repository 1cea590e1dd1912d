package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/ingest"
)

// testServer starts an httpServer with lim on addr, an echo route that
// reads its body on the webhook mux, a stand-in privacy API on the api mux
// and /metrics on ops.
func testServer(t *testing.T, lim config.HTTP, addr string) *httpServer {
	t.Helper()
	web := newHTTPServer(lim, slog.New(slog.NewTextHandler(io.Discard, nil)))
	web.webhooks.HandleFunc("POST /v1/sources/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading the body failed", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d\n", len(b))
	})
	web.api.HandleFunc("/v1/privacy/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "privacy\n") })
	web.ops.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics\n") })
	if err := web.start(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { web.shutdown(t.Context()) })
	return web
}

// closedWithin reads c until the server closes it, and returns how long
// that took from start (failing after limit).
func closedWithin(t *testing.T, c net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		t.Fatalf("the connection was still open after %s", limit)
	}
	return time.Since(start)
}

// A client that sends its body a byte at a time, and one that keeps an
// idle keep-alive connection, are cut off within the configured times.
func TestHTTPServerCutsOffSlowAndIdleClients(t *testing.T) {
	lim := config.DefaultHTTP()
	lim.ReadHeaderTimeout, lim.ReadTimeout, lim.IdleTimeout = 500*time.Millisecond, time.Second, time.Second
	web := testServer(t, lim, "127.0.0.1:0")
	addr := web.AddrOf("webhooks")

	// Slow body: headers promising 100 bytes, then a byte every 300ms,
	// which would take 30s.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /v1/sources/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	took := closedWithin(t, c, start, 10*time.Second)
	t.Logf("slow body cut off after %s (http.read_timeout %s)", took.Round(time.Millisecond), lim.ReadTimeout)
	if took < lim.ReadTimeout-100*time.Millisecond || took > lim.ReadTimeout+2*time.Second {
		t.Fatalf("slow body cut off after %s, want about %s", took, lim.ReadTimeout)
	}

	// Idle keep-alive: one request answered, then nothing.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c2)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	start = time.Now()
	c2.SetReadDeadline(start.Add(10 * time.Second))
	_, err = io.Copy(io.Discard, br)
	took = time.Since(start)
	if err != nil {
		t.Fatalf("idle connection: %v after %s; want it closed by the server", err, took)
	}
	t.Logf("idle keep-alive connection closed after %s (http.idle_timeout %s)", took.Round(time.Millisecond), lim.IdleTimeout)
	if took > lim.IdleTimeout+2*time.Second {
		t.Fatalf("idle connection closed after %s, want about %s", took, lim.IdleTimeout)
	}
}

// No more than http.max_connections connections are served at once: the
// next is served only when one closes.
func TestHTTPServerCapsConnections(t *testing.T) {
	lim := config.DefaultHTTP()
	lim.MaxConnections = 2
	web := testServer(t, lim, "127.0.0.1:0")
	addr := web.Addr()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Each is accepted: it gets an answer.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr) // the kernel's backlog takes it
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	fmt.Fprintf(third, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(third)
	third.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a third connection was served with http.max_connections 2")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the third connection after one closed: %v", err)
	}
}

// With separate addresses, the webhook listener serves the webhooks only:
// not the privacy API, /metrics or /healthz; and each of the others its own.
func TestSeparateListenAddresses(t *testing.T) {
	lim := config.DefaultHTTP()
	lim.WebhookAddr, lim.APIAddr = "127.0.0.2:0", "127.0.0.3:0"
	web := testServer(t, lim, "127.0.0.1:0")
	hook, api, ops := web.AddrOf("webhooks"), web.AddrOf("api"), web.AddrOf("ops")
	if hook == api || hook == ops || api == ops {
		t.Fatalf("addresses %s, %s, %s are not separate", hook, api, ops)
	}
	for _, tc := range []struct {
		addr, method, path string
		want               int
	}{
		{hook, "POST", "/v1/sources/echo", 200},
		{hook, "GET", "/v1/privacy/requests", 404},
		{hook, "GET", "/metrics", 404},
		{hook, "GET", "/healthz", 404},
		{api, "GET", "/v1/privacy/requests", 200},
		{api, "GET", "/metrics", 404},
		{api, "POST", "/v1/sources/echo", 404},
		{ops, "GET", "/metrics", 200},
		{ops, "GET", "/healthz", 200},
		{ops, "GET", "/v1/privacy/requests", 404},
		{ops, "POST", "/v1/sources/echo", 404},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+tc.addr+tc.path, strings.NewReader("{}"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s %s on %s: %d, want %d", tc.method, tc.path, tc.addr, res.StatusCode, tc.want)
		}
	}
	// Together (the default), one address serves all three.
	one := testServer(t, config.DefaultHTTP(), "127.0.0.1:0")
	for _, p := range []string{"/metrics", "/healthz", "/v1/privacy/requests"} {
		res, err := http.Get("http://" + one.Addr() + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s on the shared address: %d", p, res.StatusCode)
		}
	}
}

// /healthz says ok, degraded (200, with the reason) or stopped (503).
func TestHealthzStates(t *testing.T) {
	web := testServer(t, config.DefaultHTTP(), "127.0.0.1:0")
	var h atomic.Pointer[ingest.Health]
	web.watch(func() ingest.Health { return *h.Load() })
	for _, tc := range []struct {
		h      ingest.Health
		code   int
		status string
	}{
		{ingest.Health{State: ingest.StateOK}, 200, "ok"},
		{ingest.Health{State: ingest.StateDegraded, Reason: "kafka: connection refused"}, 200, "degraded"},
		{ingest.Health{State: ingest.StateStopped, Reason: "ingest stopped: writing batch: no space left on device"}, 503, "stopped"},
	} {
		h.Store(&tc.h)
		res, err := http.Get("http://" + web.Addr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tc.code || body["status"] != tc.status || body["reason"] != tc.h.Reason {
			t.Errorf("health %+v: %d %v, want %d %q with the reason", tc.h, res.StatusCode, body, tc.code, tc.status)
		}
	}
}

// Refused API requests are counted by reason and logged once per source
// and reason per minute: 10,000 failed logins from 50 addresses write less
// than 200 KB of log.
func TestAPIRefusalsCountedAndRateLimited(t *testing.T) {
	m := newMetrics()
	var log bytes.Buffer
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer right-token-0123456789" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	})
	h := m.countRefusals("privacy_api", api, slog.New(slog.NewTextHandler(&log, nil)))
	const n = 10000
	for i := range n {
		req := httptest.NewRequest(http.MethodGet, "/v1/privacy/requests", nil)
		req.RemoteAddr = fmt.Sprintf("198.51.100.%d:%d", i%50, 30000+i)
		req.Header.Set("Authorization", fmt.Sprintf("Bearer guess-%d", i))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	ok := httptest.NewRequest(http.MethodGet, "/v1/privacy/requests", nil)
	ok.Header.Set("Authorization", "Bearer right-token-0123456789")
	h.ServeHTTP(httptest.NewRecorder(), ok)
	fams, _ := scrape(t, m)
	if got := value(t, fams, "cxlake_http_refused_total", map[string]string{"endpoint": "privacy_api", "reason": "unauthorized"}); got != n {
		t.Fatalf("refusals counted: %v, want %d", got, n)
	}
	lines := bytes.Count(log.Bytes(), []byte("\n"))
	t.Logf("%d refused API requests wrote %d bytes of log in %d lines", n, log.Len(), lines)
	if log.Len() >= 200<<10 || lines != 50 {
		t.Fatalf("%d refused requests wrote %d bytes in %d lines; want < 200 KB, one line per source (50)", n, log.Len(), lines)
	}
	if strings.Contains(log.String(), "guess-") {
		t.Fatal("the log holds a presented credential")
	}
}

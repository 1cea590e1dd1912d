package gateway

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Clients that attack the process rather than the data: huge messages,
// idle sockets, Accept errors (docs/gateway.md, "Limits").

// vmRSS reads this process's resident set size in bytes (Linux).
func vmRSS(t testing.TB) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %v", err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// rawStartup dials s and sends a start-up message for user, then reads up
// to the server's SASL request: the connection is then in authentication.
func rawStartup(t testing.TB, s *Server, user string) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": user, "database": DefaultDatabase}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatalf("waiting for the SASL request: %v", err)
	}
	if _, ok := msg.(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("got %T, want AuthenticationSASL", msg)
	}
	return nc, fe
}

// readUntilClosed reads what the server sends until it closes the
// connection and returns the first ErrorResponse among it.
func readUntilClosed(t testing.TB, nc net.Conn, within time.Duration) *pgproto3.ErrorResponse {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(within))
	fe := pgproto3.NewFrontend(nc, io.Discard)
	var first *pgproto3.ErrorResponse
	for {
		msg, err := fe.Receive()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection open for %s", within)
			}
			return first
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok && first == nil {
			c := *e
			first = &c
		}
	}
}

func TestHugeAuthMessageIsRefusedUnread(t *testing.T) {
	s := testServer(t)
	before := vmRSS(t)
	const conns = 3
	for i := 0; i < conns; i++ {
		nc, _ := rawStartup(t, s, "ana")
		// A SASLInitialResponse header announcing about 1 GB, then 32 MiB
		// of it: a server that buffers the message grows by what it reads.
		hdr := []byte{'p', 0, 0, 0, 0}
		binary.BigEndian.PutUint32(hdr[1:], 1<<30)
		if _, err := nc.Write(hdr); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, 64<<10)
			_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			for j := 0; j < 512; j++ {
				if _, err := nc.Write(chunk); err != nil {
					return // the server closed the connection: expected
				}
			}
		}()
		e := readUntilClosed(t, nc, 10*time.Second)
		wg.Wait()
		if e == nil || e.Severity != "FATAL" || e.Code != codeProgramLimit || !strings.Contains(e.Message, "too large") {
			t.Fatalf("connection %d: got %+v, want a FATAL 54000 'message too large'", i, e)
		}
	}
	after := vmRSS(t)
	t.Logf("VmRSS before %d KiB, after %d ×1 GB-announcing auth messages %d KiB (growth %d KiB)", before>>10, conns, after>>10, (after-before)>>10)
	if after-before > 8<<20 {
		t.Fatalf("RSS grew by %d KiB after %d refused auth messages; want under 8 MiB", (after-before)>>10, conns)
	}
	c := connect(t, s, "ana") // the server still serves
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLargeQueryMessageAfterLoginIsRefused(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.MaxMessageBytes = 64 << 10 })
	c := connect(t, s, "ana")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	q := "select '" + strings.Repeat("x", 70<<10) + "'"
	_, err := c.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != codeProgramLimit || !strings.Contains(err.Error(), "max_message_bytes") {
		t.Fatalf("a 70 KiB Query under a 64 KiB limit: %v, want SQLSTATE 54000 naming max_message_bytes", err)
	}
	if !c.IsClosed() && c.Ping(ctx) == nil {
		t.Fatal("the session survived a message over the limit")
	}
	// Under the limit, the same shape runs.
	c2 := connect(t, s, "ana")
	var n int
	if err := c2.QueryRow(ctx, "select length('"+strings.Repeat("x", 30<<10)+"')", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 30<<10 {
		t.Fatalf("a 30 KiB query: %d, %v", n, err)
	}
}

func TestIdleSocketsDoNotLockOutUsers(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.MaxConnections = 4 })
	const idle = 70
	for i := 0; i < idle; i++ {
		rawStartup(t, s, "ana")
	}
	if n := s.Unauthenticated(); n > DefaultMaxUnauthenticated {
		t.Fatalf("%d connections not logged in are held; want at most %d", n, DefaultMaxUnauthenticated)
	}
	if n := s.Sessions(); n != 0 {
		t.Fatalf("%d session slots taken by connections that never logged in", n)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, u := range []string{"ana", "graf", "lead", "comp"} {
		c, err := pgx.Connect(ctx, connString(s, u, u+"-pw"))
		if err != nil {
			t.Fatalf("%s could not log in beside %d idle sockets: %v", u, idle, err)
		}
		defer c.Close(context.Background())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("logging in beside idle sockets took %s", d)
	}
}

func TestAuthTimeoutClosesIdleSockets(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.AuthTimeout = 300 * time.Millisecond })
	nc, _ := rawStartup(t, s, "ana")
	start := time.Now()
	readUntilClosed(t, nc, 5*time.Second)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %s, before the auth timeout", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Unauthenticated() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted as not logged in", s.Unauthenticated())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flakyListener fails Accept with temporary errors, then hands out conns.
type flakyListener struct {
	mu     sync.Mutex
	fails  int
	calls  int
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls++
	if l.fails > 0 {
		l.fails--
		errs := []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED}
		err := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errs[l.fails%3])}
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *flakyListener) Close() error { l.once.Do(func() { close(l.closed) }); return nil }
func (l *flakyListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}

func TestAcceptErrorsAreWaitedOut(t *testing.T) {
	wh := testWarehouse(t)
	s, err := New(context.Background(), wh.DB, Config{Addr: "127.0.0.1:0", Users: testUsers},
		Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{fails: 8, conns: make(chan net.Conn, 1), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	client, server := net.Pipe()
	defer client.Close()
	ln.conns <- server
	// An SSL request is answered 'N' (no TLS configured): the connection
	// accepted after the errors is served.
	_ = client.SetDeadline(time.Now().Add(20 * time.Second))
	req := make([]byte, 8)
	binary.BigEndian.PutUint32(req, 8)
	binary.BigEndian.PutUint32(req[4:], 80877103)
	if _, err := client.Write(req); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(client, b); err != nil || b[0] != 'N' {
		t.Fatalf("after 8 Accept errors: read %q, %v; want 'N'", b, err)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v after temporary errors", err)
	default:
	}
	ln.mu.Lock()
	calls := ln.calls
	ln.mu.Unlock()
	if calls < 9 {
		t.Fatalf("Accept was called %d times; want the 8 failures and the connection", calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client.Close()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestQueryTextLimits(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.MaxQueryBytes = 2048; c.Limits.MaxStatements = 3 })
	c := connect(t, s, "ana")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	long := "select '" + strings.Repeat("x", 3000) + "'"
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		_, err := c.Exec(ctx, long, mode)
		if pgCode(err) != codeProgramLimit || !strings.Contains(err.Error(), "gateway.limits.max_query_bytes") {
			t.Fatalf("%s: a 3 kB query under a 2 kB limit: %v", mode, err)
		}
	}
	_, err := c.Exec(ctx, "select 1; select 2; select 3; select 4", pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != codeProgramLimit || !strings.Contains(err.Error(), "gateway.limits.max_statements") {
		t.Fatalf("4 statements under a limit of 3: %v", err)
	}
	// Semicolons inside literals are not statements.
	if _, err := c.Exec(ctx, "select ';;;;'; select 2; select 3", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("3 statements, one with semicolons in a literal: %v", err)
	}
}

func TestConcurrentQueriesWaitForAPlace(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.MaxConcurrentQueries, c.Limits.MaxSleep = 1, 5*time.Second })
	a, b := connect(t, s, "ana"), connect(t, s, "graf")
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() { _, err := a.Exec(ctx, "select pg_sleep(2)"); errc <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Running() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first query never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The second waits for the place; its client's cancel ends the wait.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Exec(wctx, "select 1")
	if err == nil {
		t.Fatal("a second query ran beside the first with max_concurrent_queries 1")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("the waiting query's cancel took %s", d)
	}
	select {
	case err := <-errc:
		t.Fatalf("the first query ended (%v) before the second gave up: the wait proves nothing", err)
	default:
	}
	if err := <-errc; err != nil {
		t.Fatalf("the first query: %v", err)
	}
	var one int // pgx closes a connection whose context ended mid-query
	if err := connect(t, s, "graf").QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("the second session once the place is free: %v", err)
	}
}

func TestParseDuckDBBytes(t *testing.T) {
	for in, want := range map[string]int64{"488.2 MiB": 511_914_803, "256.0 MiB": 256 << 20, "1.5 GiB": 3 << 29, "512.0 MB": 512_000_000, "0 bytes": 0} {
		if got, err := parseDuckDBBytes(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "12 furlongs", "-1 MiB"} {
		if _, err := parseDuckDBBytes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

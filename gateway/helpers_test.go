package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The tests run real clients (pgx, psql) over TCP against a gateway on
// 127.0.0.1:0, over one small warehouse of simulated traffic built through
// the same path as ingest and the models.

var shared struct {
	once sync.Once
	dir  string
	wh   *warehouse.Warehouse
	cfg  models.Config
	gen  *simulate.Generator
	asm  ingest.Assembler
	off  int64
	mu   sync.Mutex // serializes addEvents
	err  error
}

const testMessages = 6000

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.wh != nil {
		shared.wh.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// testWarehouse returns the shared warehouse, built on first use.
func testWarehouse(t testing.TB) *warehouse.Warehouse {
	t.Helper()
	shared.once.Do(func() {
		ctx := context.Background()
		shared.dir, shared.err = os.MkdirTemp("", "cxlake-gateway-test-")
		if shared.err != nil {
			return
		}
		shared.wh, shared.err = warehouse.Open(ctx, shared.dir, warehouse.Options{})
		if shared.err != nil {
			return
		}
		shared.cfg = models.Config{HashKey: shared.wh.HashKey()}
		shared.gen = simulate.New(simulate.Config{Seed: 7, PerDay: simulate.PerDayFor(testMessages*4, 30)})
		if shared.err = addEvents(ctx, testMessages); shared.err != nil {
			return
		}
		_, shared.err = models.Rebuild(ctx, shared.wh.DB, shared.cfg)
	})
	if shared.err != nil {
		t.Fatalf("building the test warehouse: %v", shared.err)
	}
	return shared.wh
}

// addEvents writes n more simulated messages, as ingest would.
func addEvents(ctx context.Context, n int) error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	msgs := make([]ingest.Message, 0, n)
	for range n {
		m := shared.gen.Next()
		msgs = append(msgs, ingest.Message{Topic: "test", Offset: shared.off, Key: m.Key, Value: m.Value})
		shared.off++
	}
	_, err := shared.wh.Write(ctx, shared.asm.Assemble(msgs))
	return err
}

// testUsers are one user per role; the password is the user name + "-pw".
var testUsers = []User{
	{Name: "lead", Role: RoleLeadership, Password: "lead-pw"},
	{Name: "graf", Role: RoleGrafana, Password: "graf-pw"},
	{Name: "ana", Role: RoleAnalyst, Password: "ana-pw"},
	{Name: "comp", Role: RoleCompliance, Password: "comp-pw"},
}

// testServer starts a gateway over the shared warehouse. Options and the
// config can be adjusted by the callers' functions.
func testServer(t testing.TB, adjust ...func(*Config, *Options)) *Server {
	t.Helper()
	wh := testWarehouse(t)
	cfg := Config{Addr: "127.0.0.1:0", Users: testUsers}
	opts := Options{Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, f := range adjust {
		f(&cfg, &opts)
	}
	ctx := context.Background()
	s, err := New(ctx, wh.DB, cfg, opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	for deadline := time.Now().Add(10 * time.Second); s.Addr() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not start serving within 10 s")
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// connString is a pgx/libpq URL for user on s.
func connString(s *Server, user, password string) string {
	host, port, _ := net.SplitHostPort(s.Addr())
	return fmt.Sprintf("postgres://%s:%s@%s:%s/cxlake?sslmode=disable", user, password, host, port)
}

// connect opens a pgx connection as one of testUsers.
func connect(t testing.TB, s *Server, user string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, connString(s, user, user+"-pw"))
	if err != nil {
		t.Fatalf("connecting as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// mustContain fails unless err's message contains every want.
func mustContain(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}

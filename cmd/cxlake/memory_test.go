package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/internal/membench"
	"github.com/cxlake/cxlake/warehouse"
)

func TestLagMetrics(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	ndjson := `{"schema":"cx.event/v1","event_id":"lag-1","type":"message","occurred_at":"2026-11-21T14:03:05Z","source":"test","channel":"email","conversation_id":"c-1","contact":{"email":"a@example.com"},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"oi"}}
{"schema":"cx.event/v1","event_id":"lag-2","type":"message","occurred_at":"2026-11-22T14:03:05Z","source":"test","channel":"sms","conversation_id":"c-2","contact":{"phone":"+5511987654321"},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"oi"}}
`
	var stats ingest.Stats
	if err := ingest.Load(ctx, wh, strings.NewReader(ndjson), "t.ndjson", 100, 1<<20, &stats); err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	fams, _ := scrape(t, m)
	if _, ok := fams["cxlake_lake_publication_lag_events"]; ok {
		t.Fatal("lake lag reported before anything is watched")
	}
	m.watchLags(wh.PublicationLag, func(context.Context) (int64, error) { return 7, nil })
	fams, _ = scrape(t, m)
	if got := value(t, fams, "cxlake_lake_publication_lag_events", nil); got != 2 {
		t.Errorf("lake lag before publishing = %v events, want 2", got)
	}
	if got := value(t, fams, "cxlake_audit_mirror_lag_records", nil); got != 7 {
		t.Errorf("audit mirror lag = %v, want 7", got)
	}
	if _, err := wh.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	fams, _ = scrape(t, m)
	if ev, s := value(t, fams, "cxlake_lake_publication_lag_events", nil), value(t, fams, "cxlake_lake_publication_lag_seconds", nil); ev != 0 || s != 0 {
		t.Errorf("lake lag after publishing = %v events, %v s; want 0, 0", ev, s)
	}
	// A lag that cannot be read is left out, never an error of /metrics.
	m.watchLags(nil, func(context.Context) (int64, error) { return 0, errors.New("closed") })
	fams, _ = scrape(t, m)
	if _, ok := fams["cxlake_audit_mirror_lag_records"]; ok {
		t.Error("an unreadable mirror lag was reported")
	}
}

func TestMemoryFlag(t *testing.T) {
	fs := newFlags("x", "x")
	mem := addMemoryFlag(fs)
	if err := fs.Parse([]string{"--memory", "2GiB"}); err != nil {
		t.Fatal(err)
	}
	got, err := mem.settings(warehouse.Memory{Budget: 1 << 30, TempDirectory: "/var/tmp/x"})
	if err != nil || got.Budget != 2<<30 || got.TempDirectory != "/var/tmp/x" {
		t.Fatalf("--memory 2GiB over memory.budget 1GiB: %+v, %v", got, err)
	}
	// The Go runtime's soft limit is its quarter of the budget, 512 MiB,
	// unless GOMEMLIMIT is set (then settings leaves it alone).
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
		if lim := debug.SetMemoryLimit(-1); lim != 512<<20 {
			t.Errorf("--memory 2GiB set the Go memory limit to %d, want 536870912", lim)
		}
	}
	for _, bad := range []string{"lots", "10MiB"} {
		fs := newFlags("x", "x")
		mem := addMemoryFlag(fs)
		if err := fs.Parse([]string{"--memory", bad}); err != nil {
			t.Fatal(err)
		}
		if _, err := mem.settings(warehouse.Memory{}); err == nil || !strings.Contains(err.Error(), "--memory") {
			t.Errorf("--memory %s: %v, want an error naming --memory", bad, err)
		}
	}
}

type failingCloser struct{ err error }

func (c failingCloser) Close() error { return c.err }

// A command whose warehouse fails to close (the last checkpoint on a full
// disk) fails, keeping its own error if it had one.
func TestFailedCloseFailsTheCommand(t *testing.T) {
	full := errors.New("checkpointing warehouse: No space left on device")
	run := func(own error, c failingCloser) (err error) {
		defer closeAtEnd(c, &err)
		return own
	}
	if err := run(nil, failingCloser{full}); !errors.Is(err, full) {
		t.Fatalf("a failed close was dropped: %v", err)
	}
	own := errors.New("refreshing models: boom")
	if err := run(own, failingCloser{full}); !errors.Is(err, own) || !errors.Is(err, full) {
		t.Fatalf("want both errors, got %v", err)
	}
	if err := run(nil, failingCloser{}); err != nil {
		t.Fatalf("a clean close failed the command: %v", err)
	}
}

// An out-of-memory error from DuckDB reaches the user naming the setting.
func TestOutOfMemoryNamesTheSetting(t *testing.T) {
	err := warehouse.ExplainMemory(errors.New(`building model x: Out of Memory Error: failed to pin block of size 256.0 KiB (30.4 MiB/30.5 MiB used)`))
	if !strings.Contains(err.Error(), "memory.budget") || !strings.Contains(err.Error(), "--memory") {
		t.Fatalf("%v", err)
	}
	if other := errors.New("no such table"); warehouse.ExplainMemory(other) != other {
		t.Fatal("an unrelated error was changed")
	}
}

// TestDemoMemTrace: demo --mem-trace writes a sample of every part of the
// breakdown, DuckDB's buffer manager read from the demo's own warehouse,
// and the Go heap profile.
func TestDemoMemTrace(t *testing.T) {
	tmp := t.TempDir()
	trace := filepath.Join(tmp, "mem.csv")
	out, err := capture(t, func() error {
		return runDemo(context.Background(), []string{"--once", "--events", "2000", "--data", filepath.Join(tmp, "demo"),
			"--pg-addr", "127.0.0.1:0", "--mem-trace", trace})
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 || lines[0] != membench.TraceHeader+",broker,duckdb_tags" {
		t.Fatalf("trace:\n%s", b)
	}
	// The first sample is taken right after Open: DuckDB answers, and its
	// buffer manager holds something (the catalog's blocks), never -1.
	f := strings.Split(lines[1], ",")
	if len(f) != 9 || f[5] == "-1" || f[5] == "0" {
		t.Errorf("first sample %q: want 9 fields and DuckDB's memory read", lines[1])
	}
	if fi, err := os.Stat(trace + ".heap"); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile: %v", err)
	}
}

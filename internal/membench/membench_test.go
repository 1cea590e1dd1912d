package membench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	// Worked by hand: sorted 1 3 7 9 12 -> 7; sorted 2 4 8 10 -> lower middle 4.
	if got := median([]int64{9, 1, 12, 7, 3}); got != 7 {
		t.Errorf("median of five = %d, want 7", got)
	}
	if got := median([]time.Duration{10, 2, 8, 4}); got != 4 {
		t.Errorf("median of four = %d, want 4", got)
	}
	if got := median([]int64(nil)); got != 0 {
		t.Errorf("median of none = %d, want 0", got)
	}
}

func TestSplitKeepsEveryLineInOrder(t *testing.T) {
	dir := t.TempDir()
	first, rest := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := split(strings.NewReader("1\n2\n3\n4\n5"), 3, first, rest); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(rest)
	if string(a) != "1\n2\n3\n" || string(b) != "4\n5" {
		t.Errorf("split gave %q and %q, want \"1\\n2\\n3\\n\" and \"4\\n5\"", a, b)
	}
}

func TestDemoAddrsReadsTheDemosOutput(t *testing.T) {
	out := "  metrics   http://127.0.0.1:41234/metrics (Prometheus)\ncxlake demo\n\nDone in 3s\n" +
		"\nSQL gateway  postgres://127.0.0.1:5555/cxlake (Postgres wire protocol; psql, Grafana, DBeaver)\n"
	m, gw, err := demoAddrs(strings.NewReader(out))
	if err != nil || m != "http://127.0.0.1:41234/metrics" || gw != "127.0.0.1:5555" {
		t.Errorf("demoAddrs = %q, %q, %v", m, gw, err)
	}
	if _, _, err := demoAddrs(strings.NewReader("  metrics   http://127.0.0.1:1/metrics\n")); err == nil {
		t.Error("a demo that exits before its gateway's address gave no error")
	}
}

func TestReportOverBudget(t *testing.T) {
	r := Report{Budget: 100, Steps: []Step{{Name: "load", MaxRSS: 101}, {Name: "refresh", MaxRSS: 100}}}
	if got := r.OverBudget(); len(got) != 1 || got[0] != "load" {
		t.Errorf("OverBudget = %v, want [load]", got)
	}
}

// TestTraceSamplesThisProcess: one sample of Trace (its context is already
// done), without a DuckDB: the CSV has its header and one line whose
// figures are this process's, the extra column is read, and the heap
// profile is written.
func TestTraceSamplesThisProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	heap := filepath.Join(t.TempDir(), "heap")
	peak, err := Trace(ctx, TraceConfig{Out: &out, HeapProfile: heap, Extra: map[string]func() int64{"broker": func() int64 { return 42 }}})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != TraceHeader+",broker,duckdb_tags" {
		t.Fatalf("trace = %q, want the header and one sample", out.String())
	}
	f := strings.Split(lines[1], ",")
	if len(f) != 9 || f[7] != "42" || f[5] != "-1" {
		t.Errorf("sample %q: want 9 fields, broker 42, duckdb -1 (none)", lines[1])
	}
	if peak.RSSAnon <= 0 || peak.RSSFile <= 0 || peak.GoHeap <= 0 || peak.GoMapped < peak.GoHeap {
		t.Errorf("sample %+v: want positive RSS parts and Go heap within what Go maps", peak)
	}
	if fi, err := os.Stat(heap); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile: %v", err)
	}
}

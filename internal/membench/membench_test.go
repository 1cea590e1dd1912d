package membench

import (
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

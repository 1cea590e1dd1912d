package models

import (
	"context"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/cxlake/cxlake/simulate"
)

// TestMeasureModels measures a full rebuild over N simulated events and an
// incremental refresh after 10,000 more, the figures `cxlake bench models`
// reports. It runs only when CXLAKE_BENCH_EVENTS is set:
//
//	CXLAKE_BENCH_EVENTS=500000 go test -run TestMeasureModels -v -timeout 1h ./models/
func TestMeasureModels(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CXLAKE_BENCH_EVENTS"))
	if n <= 0 {
		t.Skip("set CXLAKE_BENCH_EVENTS to the number of events to measure with")
	}
	ctx := context.Background()
	cfg := testConfig()
	w := openWarehouse(t)
	// The stream is sized for all the events this test writes, so that the
	// refreshes' events are the latest in time, as in a live stream (past its
	// 30 days the generator starts over at day 1).
	g := simulate.New(simulate.Config{Seed: 1, PerDay: simulate.PerDayFor(int64(n+3*10000), 30)})
	start := time.Now()
	loaded := loadFrom(t, w, g, 0, n, 10000)
	t.Logf("loaded %d events in %s", loaded, time.Since(start).Round(time.Millisecond))

	for i := 0; i < 2; i++ {
		st, err := Rebuild(ctx, w.DB, cfg)
		if err != nil {
			t.Fatal(err)
		}
		logStats(t, "full rebuild", st)
	}
	for i := 0; i < 3; i++ {
		loadFrom(t, w, g, n+i*10000, 10000, 10000)
		st, err := Refresh(ctx, w.DB, cfg)
		if err != nil {
			t.Fatal(err)
		}
		logStats(t, "incremental refresh after 10,000 events", st)
	}
	mustPassDataTests(t, w)
}

func logStats(t *testing.T, what string, st Stats) {
	t.Helper()
	t.Logf("%s: %s (new events %d, conversations recomputed %d, contacts %d)", what, st.Took.Round(time.Millisecond), st.NewEvents, st.Conversations, st.Contacts)
	steps := append([]StepTiming(nil), st.Steps...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].Took > steps[j].Took })
	for _, s := range steps[:min(6, len(steps))] {
		t.Logf("    %-40s %s", s.Name, s.Took.Round(time.Millisecond))
	}
}

// BenchmarkRefresh measures incremental refreshes of 10,000 events over a
// warehouse of CXLAKE_BENCH_EVENTS (default 100,000) simulated events.
func BenchmarkRefresh(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("CXLAKE_BENCH_EVENTS"))
	if n <= 0 {
		n = 100000
	}
	ctx := context.Background()
	w := openWarehouse(b)
	g := simulate.New(simulate.Config{Seed: 1, PerDay: simulate.PerDayFor(int64(n+b.N*10000), 30)})
	loadFrom(b, w, g, 0, n, 10000)
	if _, err := Rebuild(ctx, w.DB, testConfig()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		loadFrom(b, w, g, n+i*10000, 10000, 10000)
		b.StartTimer()
		if _, err := Refresh(ctx, w.DB, testConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuild measures full rebuilds over CXLAKE_BENCH_EVENTS (default
// 100,000) simulated events.
func BenchmarkRebuild(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("CXLAKE_BENCH_EVENTS"))
	if n <= 0 {
		n = 100000
	}
	w := openWarehouse(b)
	loadSimulated(b, w, n, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Rebuild(context.Background(), w.DB, testConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

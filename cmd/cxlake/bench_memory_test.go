package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/internal/membench"
)

// asCxlakeEnv makes the test binary run as cxlake (TestMain), so the soak
// can start the demo as a child process without building the binary.
const asCxlakeEnv = "CXLAKE_TEST_AS_CXLAKE"

// TestSoakTwentyClients is the 20-client soak of issue 14 at a small
// scale: a live demo under 20 gateway clients sending the dashboards'
// queries keeps its RSS within the budget, answers every query, ingests in
// every window, and its audit mirror catches up. `cxlake bench memory
// --soak 10m --events 100000` is the full size.
//
// The budget was 512 MiB until stop 36, where the models and panels added
// that stop (repetition's text tokens, conversations drawn in SQL, the
// Chatwoot and cost panels) and the gateway's PostgreSQL catalog (848 KiB
// per session, from 320) took the peak from 434-437 MiB to 531-566 MiB
// (bisected, docs/memory.md). It runs at 640 MiB, that peak and about 15%,
// until the cause is found (issue 14); the test still fails on any growth
// past it.
func TestSoakTwentyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("a soak of 25 s")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The whole test: the demo's backfill, 25 s of clients, the mirror's
	// turn (1 minute), and a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const budget = 640 << 20
	r, err := membench.Soak(ctx, membench.SoakConfig{
		Binary:   membench.Binary{Path: exe, Env: []string{asCxlakeEnv + "=1"}},
		Dir:      filepath.Join(t.TempDir(), "demo"),
		Events:   5000,
		Rate:     50,
		Clients:  20,
		Duration: 25 * time.Second,
		Memory:   "640MiB",
	})
	if err != nil {
		t.Fatalf("soak: %v", err)
	}
	t.Logf("%d queries, errors %v, RSS %d/%d/%d MiB (start/max/end), peak %d MiB, ingest %.0f -> %.0f, %d/%d stalled windows, mirror lag max %.0f, caught up after %s",
		r.Queries, r.Errors, r.RSSAtStart>>20, r.RSSMax>>20, r.RSSAtEnd>>20, r.PeakRSS>>20, r.IngestStart, r.IngestEnd, r.Stalled, r.Windows, r.MirrorLagMax, r.MirrorCaught)
	if r.Budget != budget {
		t.Fatalf("the soak ran under a budget of %d bytes, want %d", r.Budget, budget)
	}
	if len(r.Errors) > 0 {
		t.Errorf("ordinary dashboard queries failed (by SQLSTATE): %v", r.Errors)
	}
	if r.Queries < 20 {
		t.Errorf("%d queries answered in 25 s by 20 clients", r.Queries)
	}
	if r.RSSMax > budget || r.PeakRSS > budget || r.PeakRSS == 0 {
		t.Errorf("RSS went to %d MiB during the soak and %d MiB over the demo's life, budget %d MiB", r.RSSMax>>20, r.PeakRSS>>20, budget>>20)
	}
	if r.Windows < 2 || r.Stalled > 0 || r.ScrapeErrors > 0 || r.IngestEnd <= r.IngestStart {
		t.Errorf("ingest did not grow in %d of %d windows, /metrics unread in %d (%.0f -> %.0f messages)", r.Stalled, r.Windows, r.ScrapeErrors, r.IngestStart, r.IngestEnd)
	}
	if r.MirrorCaught < 0 {
		t.Errorf("the audit mirror still lagged 2 minutes after the last query (%.0f records at the end of the soak)", r.MirrorLag)
	}
}

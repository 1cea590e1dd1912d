package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cxlake/cxlake/internal/membench"
)

// benchMemory runs cxlake's commands as child processes and reports their
// peak RSS against the memory budget (internal/membench): the commands of a
// month's backfill (--events), or with --soak a live demo under gateway
// clients.
func benchMemory(ctx context.Context, args []string) error {
	fs := newFlags("bench memory", "bench memory --events N [--runs 5] [--memory SIZE] [--demo-events N] [--json] | bench memory --soak 10m [--clients 20] [--events 100000]")
	n := fs.Int("events", 1_000_000, "messages loaded (with --soak: the demo's backfill)")
	runs := fs.Int("runs", 5, "runs of every command; the table gives medians")
	add := fs.Int("add", 10_000, "messages loaded after the full rebuild, for the incremental refresh")
	demoEvents := fs.Int("demo-events", -1, "messages of the demo --once step (default --events; 0 for none)")
	memory := fs.String("memory", "", "--memory of every child (default: the default budget)")
	soak := fs.Duration("soak", 0, "instead: run cxlake demo under gateway clients this long (e.g. 10m)")
	clients := fs.Int("clients", 20, "gateway clients of the soak (the grafana role, the dashboards' queries)")
	rate := fs.Float64("rate", 50, "live messages per second during the soak")
	asJSON := fs.Bool("json", false, "print one JSON object")
	keep := fs.String("dir", "", "work in this folder and keep it (default: a temporary folder, removed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the cxlake binary to run: %w", err)
	}
	dir, cleanup, err := benchDir(*keep)
	if err != nil {
		return err
	}
	defer cleanup()
	var log io.Writer = os.Stderr
	if *asJSON {
		log = nil
	}
	bin := membench.Binary{Path: exe}
	if *soak > 0 {
		if *clients < 1 || *n < 1 || *rate <= 0 {
			return fmt.Errorf("--clients, --events and --rate must be positive")
		}
		r, err := membench.Soak(ctx, membench.SoakConfig{Binary: bin, Dir: filepath.Join(dir, "demo"), Events: *n, Rate: *rate,
			Clients: *clients, Duration: *soak, Memory: *memory, Log: log})
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(os.Stdout).Encode(r)
		}
		printSoak(r)
		return nil
	}
	if *demoEvents < 0 {
		*demoEvents = *n
	}
	r, err := membench.Measure(ctx, membench.Config{Binary: bin, Dir: dir, Events: *n, Add: *add, DemoEvents: *demoEvents,
		Runs: *runs, Memory: *memory, Log: log})
	if err != nil {
		return err
	}
	if *asJSON {
		err = json.NewEncoder(os.Stdout).Encode(r)
	} else {
		r.Print(os.Stdout)
	}
	if over := r.OverBudget(); err == nil && len(over) > 0 {
		err = fmt.Errorf("over the memory budget: %s", strings.Join(over, ", "))
	}
	return err
}

func printSoak(r membench.SoakResult) {
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Printf("soak: %d gateway clients (grafana role, the dashboards' queries) for %s, budget %.0f MiB\n", r.Clients, r.Duration, mib(r.Budget))
	fmt.Printf("queries            %d (%.1f/s); errors by SQLSTATE %v\n", r.Queries, float64(r.Queries)/r.Duration.Seconds(), r.Errors)
	fmt.Printf("RSS                %.0f MiB at start, %.0f MiB max, %.0f MiB at end; demo's peak %.0f MiB\n", mib(r.RSSAtStart), mib(r.RSSMax), mib(r.RSSAtEnd), mib(r.PeakRSS))
	fmt.Printf("ingest             %.0f -> %.0f messages; %d of %d windows without growth\n", r.IngestStart, r.IngestEnd, r.Stalled, r.Windows)
	fmt.Printf("lake lag at end    %.0f events, %.0f s\n", r.LakeLag, r.LakeLagS)
	caught := "not within 2 minutes"
	if r.MirrorCaught >= 0 {
		caught = "caught up " + r.MirrorCaught.Round(100*time.Millisecond).String() + " after the last query"
	}
	fmt.Printf("audit mirror lag   %.0f records at end, %.0f at most; %s\n", r.MirrorLag, r.MirrorLagMax, caught)
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cxlake/cxlake/simulate"
)

// runSimulate writes the simulator's traffic as NDJSON to stdout, for
// `cxlake load` (a realistic month in one command) and the benchmarks.
func runSimulate(ctx context.Context, args []string) error {
	fs := newFlags("simulate", "simulate --events N [--seed S] [--days D]")
	events := fs.Int64("events", 100_000, "messages to write (about 0.7% are deliberately malformed or re-sent, as in the demo)")
	seed := fs.Uint64("seed", 1, "generator seed: the same seed and sizes give the same output")
	days := fs.Int("days", 30, "days of history the conversations open over")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q: simulate writes to stdout, e.g. cxlake simulate --events 1000000 | cxlake load -", fs.Arg(0))
	case *events < 1:
		return fmt.Errorf("--events is %d: give a positive number of messages", *events)
	case *days < 1 || *days > 3650:
		return fmt.Errorf("--days is %d: use 1 to 3650", *days)
	}
	// The benchmarks' start (simulate.DefaultStart) when its days and the
	// follow-ups after them (a week) are past; otherwise the window ends a
	// week ago, so that no event lies in the future (a dead letter).
	start := simulate.DefaultStart
	if latest := time.Now().UTC().AddDate(0, 0, -*days-7); start.After(latest) {
		start = latest.Truncate(24 * time.Hour)
	}
	gen := simulate.New(simulate.Config{Seed: *seed, Start: start, Days: *days, PerDay: simulate.PerDayFor(*events, *days)})
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	for i := int64(0); i < *events; i++ {
		if i%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		m := gen.Next()
		out.Write(m.Value)
		if err := out.WriteByte('\n'); err != nil {
			return fmt.Errorf("writing to stdout: %w", err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

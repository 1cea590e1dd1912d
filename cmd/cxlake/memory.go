package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/cxlake/cxlake/internal/membench"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// memoryFlag is --memory, the process's memory budget, on every command
// that opens the warehouse (docs/memory.md).
type memoryFlag struct{ budget string }

// addMemoryFlag registers --memory on fs.
func addMemoryFlag(fs *flag.FlagSet) *memoryFlag {
	m := &memoryFlag{}
	fs.StringVar(&m.budget, "memory", "", "memory budget of the process, e.g. 1GiB or 2GiB (overrides memory.budget; default "+
		warehouse.FormatBytes(warehouse.DefaultBudget)+"; see docs/memory.md)")
	return m
}

// settings returns cfg (the config's memory section) with --memory over
// its budget, and gives the Go runtime its share of the budget as a soft
// limit unless GOMEMLIMIT says otherwise.
func (m *memoryFlag) settings(cfg warehouse.Memory) (warehouse.Memory, error) {
	if m.budget != "" {
		n, err := warehouse.ParseBytes(m.budget)
		if err != nil {
			return cfg, fmt.Errorf("--memory is %q, not a size: write e.g. 1GiB, 512MiB or a number of bytes", m.budget)
		}
		cfg.Budget = n
	}
	if err := cfg.Validate(); err != nil {
		if m.budget != "" {
			return cfg, fmt.Errorf("--memory: %w", err)
		}
		return cfg, err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(warehouse.GoShare(cfg.Budget))
	}
	return cfg, nil
}

// closeAtEnd closes c when a command returns; a failed close (the
// warehouse's last checkpoint, the audit log's) becomes the command's
// error, so the command exits non-zero and says why.
func closeAtEnd(c io.Closer, err *error) {
	if cerr := c.Close(); cerr != nil {
		*err = errors.Join(*err, cerr)
	}
}

// closerFunc adapts a close function to io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// startMemTrace samples the process's memory into the CSV file path (and
// the Go heap profile at its highest RSS into path.heap) until the
// returned stop is called, which prints the highest sample to stderr.
func startMemTrace(ctx context.Context, path string, wh *warehouse.Warehouse, broker *simulate.Broker) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--mem-trace: %w", err)
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var peak membench.TraceSample
	var terr error
	go func() {
		defer close(done)
		peak, terr = membench.Trace(tctx, membench.TraceConfig{DB: wh.DB, Out: f, HeapProfile: path + ".heap",
			Extra: map[string]func() int64{"broker": func() int64 { _, n := broker.Held(demoTopic); return n }}})
	}()
	return func() {
		cancel()
		<-done
		if err := f.Close(); err != nil && terr == nil {
			terr = err
		}
		if terr != nil {
			slog.Warn("memory trace failed", "err", terr)
			return
		}
		mib := func(n int64) float64 { return float64(n) / (1 << 20) }
		fmt.Fprintf(os.Stderr, "memory trace: highest RSS %.0f MiB at %.0f s: anonymous %.0f (Go runtime %.0f, of which heap objects %.0f; DuckDB buffer manager %.0f; rest %.0f), file-backed %.0f\n",
			mib(peak.RSS()), peak.Elapsed.Seconds(), mib(peak.RSSAnon), mib(peak.GoMapped), mib(peak.GoHeap), mib(peak.DuckDB), mib(peak.Rest()), mib(peak.RSSFile))
	}, nil
}

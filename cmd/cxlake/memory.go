package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

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

package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// This file holds the process's memory budget as the warehouse applies it:
// DuckDB's memory_limit is derived from it, DuckDB spills what does not fit
// to a temporary directory outside the data directory, with a cap, and an
// out-of-memory error names the setting to raise (docs/memory.md).

// Memory is the memory budget of a process and where DuckDB spills.
type Memory struct {
	// Budget is what the whole process may use, in bytes (RSS); 0 means
	// DefaultBudget.
	Budget int64
	// TempDirectory is where DuckDB spills operators that do not fit in
	// its share; "" means DefaultTempDirectory(data directory).
	TempDirectory string
	// MaxTempSize caps the spill, in bytes; 0 means DefaultMaxTempSize.
	MaxTempSize int64
}

const (
	// DefaultBudget fits a 2 GB machine: the process stays within 1 GiB.
	DefaultBudget int64 = 1 << 30
	// DefaultMaxTempSize caps DuckDB's spill (its own default is 90% of
	// the free disk).
	DefaultMaxTempSize int64 = 8 << 30
	// MinBudget is the smallest budget accepted: below it DuckDB's share
	// cannot hold one batch being written.
	MinBudget int64 = 256 << 20
)

// DuckDBShare is the part of a budget given to DuckDB's memory_limit: one
// half. The rest is the Go heap (ingest batches in flight, the audit log,
// gateway result buffers), what DuckDB allocates outside its buffer
// manager, which memory_limit does not cover, and the binary's own pages.
func DuckDBShare(budget int64) int64 {
	if budget <= 0 {
		budget = DefaultBudget
	}
	return budget / 2
}

// GoShare is the part of a budget left to the Go runtime: a soft limit
// (runtime/debug.SetMemoryLimit) on all the memory it maps, one quarter.
// The last quarter is what neither limit covers, measured in the 1M demo
// at 90 MiB of the binary's resident pages and 128 MiB of DuckDB's
// allocations outside its buffer manager at the highest RSS
// (docs/memory.md, "Where the memory is"). It was an eighth, less than those two alone, and a Go heap
// kept at its limit then took the 1M demo over the budget.
func GoShare(budget int64) int64 {
	if budget <= 0 {
		budget = DefaultBudget
	}
	// A quarter is left outside both limits: the binary's pages, DuckDB's
	// allocations outside its buffer manager, C stacks.
	return budget - DuckDBShare(budget) - budget/4
}

// Validate names the setting that is wrong.
func (m Memory) Validate() error {
	if m.Budget != 0 && m.Budget < MinBudget {
		return fmt.Errorf("memory.budget is %d bytes: use at least %s, e.g. 1GiB", m.Budget, FormatBytes(MinBudget))
	}
	if m.MaxTempSize < 0 {
		return fmt.Errorf("memory.max_temp_size is negative: write a size, e.g. 8GiB")
	}
	if m.TempDirectory != "" && !filepath.IsAbs(m.TempDirectory) {
		return fmt.Errorf("memory.temp_directory must be an absolute path, e.g. /var/tmp/cxlake-spill")
	}
	return nil
}

// ParseBytes reads a size such as 1073741824, 1GiB, 512MiB or 512MB.
func ParseBytes(s string) (int64, error) { return parseBytes(s) }

// FormatBytes writes n the way ParseBytes and DuckDB read it, in MiB.
func FormatBytes(n int64) string {
	if n%(1<<30) == 0 {
		return fmt.Sprintf("%dGiB", n>>30)
	}
	return fmt.Sprintf("%dMiB", n>>20)
}

// DefaultTempDirectory is where DuckDB spills for the data directory dir
// when memory.temp_directory is not set: a folder of the system's
// temporary directory named after dir's absolute path, so spill never
// fills the data disk (nor lands in its backups), and two data
// directories never share one.
func DefaultTempDirectory(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), "cxlake-spill-"+hex.EncodeToString(sum[:6]))
}

// spillDirectory creates the spill folder, readable by this user only
// (spilled pages hold event content). A read-only process (query, report)
// gets its own subfolder, removed at Close, so that it never shares
// DuckDB's temporary files with the writer.
func spillDirectory(dir string, m Memory, readOnly bool) (string, error) {
	base := m.TempDirectory
	if base == "" {
		base = DefaultTempDirectory(dir)
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("creating memory.temp_directory: %w", err)
	}
	// MkdirAll keeps an existing folder's mode: refuse one others can enter.
	if fi, err := os.Stat(base); err != nil {
		return "", fmt.Errorf("checking memory.temp_directory: %w", err)
	} else if fi.Mode().Perm()&0o077 != 0 && m.TempDirectory == "" {
		if err := os.Chmod(base, 0o700); err != nil {
			return "", fmt.Errorf("restricting memory.temp_directory to its owner: %w", err)
		}
	}
	if !readOnly {
		return base, nil
	}
	ro, err := os.MkdirTemp(base, "reader-")
	if err != nil {
		return "", fmt.Errorf("creating a spill folder in memory.temp_directory: %w", err)
	}
	return ro, nil
}

// OutOfMemoryError is an error of DuckDB running out of its share of the
// budget, or of spill space: Error names the setting to raise.
type OutOfMemoryError struct {
	// Spill is true when the spill cap (memory.max_temp_size) was hit.
	Spill bool
	Err   error
}

func (e *OutOfMemoryError) Error() string {
	if e.Spill {
		return fmt.Sprintf("out of spill space (raise memory.max_temp_size, or free space in memory.temp_directory; see docs/memory.md): %v", e.Err)
	}
	return fmt.Sprintf("out of memory (raise memory.budget in the config, or --memory, e.g. --memory 2GiB; see docs/memory.md): %v", e.Err)
}

func (e *OutOfMemoryError) Unwrap() error { return e.Err }

// ExplainMemory returns err as an *OutOfMemoryError when DuckDB ran out
// of memory or spill space, and err unchanged otherwise.
func ExplainMemory(err error) error {
	if err == nil {
		return nil
	}
	var oom *OutOfMemoryError
	if errors.As(err, &oom) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "max_temp_directory_size") || strings.Contains(msg, "Maximum temp directory size"):
		return &OutOfMemoryError{Spill: true, Err: err}
	case strings.Contains(msg, "Out of Memory Error") || strings.Contains(msg, "failed to pin block") ||
		strings.Contains(msg, "could not allocate block") ||
		// The appender's allocation failure says only this.
		strings.Contains(msg, "failed to allocate data of size"):
		return &OutOfMemoryError{Err: err}
	}
	return err
}

// removeReaderSpill removes a read-only process's spill folder.
func removeReaderSpill(dir string, readOnly bool) {
	if readOnly && dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// MemoryLimit is DuckDB's memory_limit in bytes, as set at Open.
func (w *Warehouse) MemoryLimit() int64 { return w.memoryLimit }

package membench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// This file is the in-process side of the benchmark: Trace samples where
// a running cxlake's memory is (RSS, the Go runtime's own accounts,
// DuckDB's buffer manager), so that a peak RSS can be broken down
// (docs/memory.md, "Where the memory is").

// TraceConfig is what Trace samples and where it writes.
type TraceConfig struct {
	// DB is the warehouse's DuckDB: duckdb_memory() is read from it.
	DB *sql.DB
	// Out receives one CSV line per sample, after a header.
	Out io.Writer
	// Every is the sampling interval; 0 means one second.
	Every time.Duration
	// HeapProfile, when set, is rewritten with the Go heap profile each
	// time RSS reaches a new high (by 16 MiB or more), so that it shows
	// the Go heap at the peak.
	HeapProfile string
	// Extra are further figures sampled each time (the demo's broker),
	// in bytes, by column name.
	Extra map[string]func() int64
}

// TraceHeader is Trace's CSV header. All figures are bytes.
//   - rss_anon, rss_file: the process's anonymous and file-backed resident
//     memory (/proc/self/smaps_rollup); their sum is RSS. rss_file is
//     mostly the binary's own pages.
//   - go_mapped: what the Go runtime holds from the OS and has not
//     returned (runtime/metrics: total minus heap released); go_heap: live
//     and not yet swept heap objects within it.
//   - duckdb: DuckDB's buffer manager (duckdb_memory(), every tag), which
//     memory_limit bounds; duckdb_tags: its non-zero tags in MiB.
//   - rest: rss_anon - go_mapped - duckdb, what neither accounts for
//     (DuckDB's allocations outside its buffer manager, jemalloc's cached
//     pages, C stacks).
const TraceHeader = "elapsed_s,rss_anon,rss_file,go_mapped,go_heap,duckdb,rest"

// Trace samples until ctx ends, one CSV line per interval, and returns the
// sample at which RSS was highest. A sample whose DuckDB query fails (the
// warehouse closing) records duckdb as -1.
func Trace(ctx context.Context, c TraceConfig) (TraceSample, error) {
	every := c.Every
	if every <= 0 {
		every = time.Second
	}
	extra := make([]string, 0, len(c.Extra))
	for name := range c.Extra {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	header := TraceHeader
	for _, name := range extra {
		header += "," + name
	}
	if _, err := fmt.Fprintln(c.Out, header+",duckdb_tags"); err != nil {
		return TraceSample{}, fmt.Errorf("writing the memory trace: %w", err)
	}
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	var peak TraceSample
	var profiledAt int64
	for {
		s, err := SampleSelf(ctx, c.DB)
		if err != nil {
			return peak, err
		}
		s.Elapsed = time.Since(start)
		line := s.csv()
		for _, name := range extra {
			line += fmt.Sprintf(",%d", c.Extra[name]())
		}
		if _, err := fmt.Fprintln(c.Out, line+","+s.tags()); err != nil {
			return peak, fmt.Errorf("writing the memory trace: %w", err)
		}
		if s.RSS() > peak.RSS() {
			peak = s
		}
		if c.HeapProfile != "" && s.RSS() >= profiledAt+16<<20 {
			if err := writeHeapProfile(c.HeapProfile); err != nil {
				return peak, err
			}
			profiledAt = s.RSS()
		}
		select {
		case <-ctx.Done():
			return peak, nil
		case <-tick.C:
		}
	}
}

// TraceSample is one sample of Trace.
type TraceSample struct {
	Elapsed  time.Duration
	RSSAnon  int64
	RSSFile  int64
	GoMapped int64
	GoHeap   int64
	DuckDB   int64            // -1 when it could not be read
	Tags     map[string]int64 // DuckDB's non-zero tags
}

// RSS is the sample's resident set.
func (s TraceSample) RSS() int64 { return s.RSSAnon + s.RSSFile }

// Rest is the anonymous memory neither the Go runtime nor DuckDB's buffer
// manager accounts for.
func (s TraceSample) Rest() int64 { return s.RSSAnon - s.GoMapped - max(s.DuckDB, 0) }

func (s TraceSample) csv() string {
	return fmt.Sprintf("%.1f,%d,%d,%d,%d,%d,%d", s.Elapsed.Seconds(), s.RSSAnon, s.RSSFile, s.GoMapped, s.GoHeap, s.DuckDB, s.Rest())
}

// tags writes the DuckDB tags as tag=MiB separated by spaces.
func (s TraceSample) tags() string {
	names := make([]string, 0, len(s.Tags))
	for t := range s.Tags {
		names = append(names, t)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, t := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%.0f", t, float64(s.Tags[t])/(1<<20))
	}
	return b.String()
}

// SampleSelf takes one sample of this process; db may be nil (no DuckDB).
func SampleSelf(ctx context.Context, db *sql.DB) (TraceSample, error) {
	var s TraceSample
	var err error
	if s.RSSAnon, s.RSSFile, err = selfRSS(); err != nil {
		return s, err
	}
	ms := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(ms)
	s.GoMapped = int64(ms[0].Value.Uint64() - ms[1].Value.Uint64())
	s.GoHeap = int64(ms[2].Value.Uint64())
	s.DuckDB = -1
	if db == nil {
		return s, nil
	}
	rows, err := db.QueryContext(ctx, "select tag, memory_usage_bytes from duckdb_memory() where memory_usage_bytes > 0")
	if err != nil {
		return s, nil //nolint:nilerr // the warehouse closing: recorded as -1
	}
	defer rows.Close()
	s.Tags = map[string]int64{}
	var sum int64
	for rows.Next() {
		var tag string
		var n int64
		if err := rows.Scan(&tag, &n); err != nil {
			return s, nil //nolint:nilerr // as above
		}
		s.Tags[strings.ToLower(tag)] = n
		sum += n
	}
	if rows.Err() == nil {
		s.DuckDB = sum
	}
	return s, nil
}

// selfRSS reads this process's anonymous and file-backed resident memory.
func selfRSS() (anon, file int64, err error) {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errNoProc, err)
	}
	var gotAnon, gotFile bool
	for _, line := range bytes.Split(b, []byte("\n")) {
		var kb int64
		if n, _ := fmt.Sscanf(string(line), "Anonymous: %d kB", &kb); n == 1 {
			anon, gotAnon = kb*1024, true
		} else if n, _ := fmt.Sscanf(string(line), "Rss: %d kB", &kb); n == 1 {
			file, gotFile = kb*1024, true // all of RSS, for now
		}
	}
	if !gotAnon || !gotFile {
		return 0, 0, fmt.Errorf("%w: no Rss or Anonymous line in smaps_rollup", errNoProc)
	}
	return anon, file - anon, nil
}

func writeHeapProfile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return nil
}

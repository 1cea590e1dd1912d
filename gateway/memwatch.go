package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Gateway queries' places (Limits.MaxConcurrentQueries), their memory
// share (Limits.MemoryShare) and their spill share (Limits.TempShare).
// DuckDB has one buffer pool and one spill cap for the whole process: a
// reader that fills either makes ingest's next commit fail. While gateway
// queries run, a watchdog samples DuckDB's query memory and its temporary
// files every 100 ms; above the gateway's share of memory_limit it cancels
// the longest-running gateway query with SQLSTATE 53200, above its share
// of max_temp_directory_size with SQLSTATE 53100. Ingest and the model
// refresh are never canceled.

// memorySampleEvery is the watchdog's period while gateway queries run.
const memorySampleEvery = 100 * time.Millisecond

// queryMemorySQL is DuckDB's memory held by running queries: what
// duckdb_memory() reports under every tag but those of stored data (table
// blocks, indexes, metadata, the transaction's own), which a reader does
// not grow. Measured at about 1 ms.
const queryMemorySQL = `select coalesce(sum(memory_usage_bytes), 0)::bigint from duckdb_memory()
	where tag not in ('BASE_TABLE', 'IN_MEMORY_TABLE', 'ART_INDEX', 'METADATA', 'TRANSACTION', 'EXTERNAL_FILE_CACHE', 'EXTENSION')`

// tempFilesSQL is the size of DuckDB's spill files now, every reader's
// and writer's.
const tempFilesSQL = `select coalesce(sum(size), 0)::bigint from duckdb_temporary_files()`

// runningQuery is one gateway statement holding (or waiting for) a place.
type runningQuery struct {
	start    time.Time
	cancel   context.CancelCauseFunc
	held     bool
	canceled bool
}

// startQuery waits for a place for a statement whose context is ctx.
func (s *Server) startQuery(ctx context.Context, cancel context.CancelCauseFunc) *runningQuery {
	r := &runningQuery{start: time.Now(), cancel: cancel}
	select {
	case s.slots <- struct{}{}:
		r.held = true
	case <-ctx.Done():
		return r
	}
	s.runMu.Lock()
	s.running[r] = struct{}{}
	first := len(s.running) == 1
	s.runMu.Unlock()
	if first {
		select {
		case s.memWake <- struct{}{}:
		default:
		}
	}
	return r
}

// endQuery gives r's place back.
func (s *Server) endQuery(r *runningQuery) {
	if !r.held {
		return
	}
	s.runMu.Lock()
	delete(s.running, r)
	s.runMu.Unlock()
	<-s.slots
}

// Running returns the gateway statements holding a place now.
func (s *Server) Running() int {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	return len(s.running)
}

// readSizeSetting reads one of DuckDB's size settings (memory_limit,
// max_temp_directory_size) in bytes; 0 if unknown, and then the share
// that depends on it, named by key, is not enforced.
func (s *Server) readSizeSetting(ctx context.Context, setting, key string) int64 {
	var v string
	if err := s.db.QueryRowContext(ctx, "select current_setting('"+setting+"')").Scan(&v); err != nil {
		s.log.Warn("SQL gateway: cannot read a DuckDB setting; "+key+" is not enforced", "setting", setting, "err", err)
		return 0
	}
	n, err := parseDuckDBBytes(v)
	if err != nil {
		s.log.Warn("SQL gateway: cannot read a DuckDB setting; "+key+" is not enforced", "setting", setting, "value", v, "err", err)
		return 0
	}
	return n
}

// parseDuckDBBytes reads DuckDB's rendering of a size: "488.2 MiB", "1.0 GB", "256 bytes".
func parseDuckDBBytes(v string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a size: %q", v)
	}
	mult := map[string]float64{"": 1, "bytes": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(strings.TrimSpace(unit))]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit in %q", v)
	}
	return int64(f * mult), nil
}

// watchMemory runs until shutdown: idle while no gateway query runs,
// sampling every memorySampleEvery while some do.
func (s *Server) watchMemory() {
	share := int64(float64(s.memLimit) * s.cfg.Limits.MemoryShare)
	tempShare := int64(float64(s.tempLimit) * s.cfg.Limits.TempShare)
	t := time.NewTicker(memorySampleEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.memWake:
		}
		for s.Running() > 0 {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
			if used := s.sampleIf(s.memLimit > 0, queryMemorySQL); used > share {
				s.cancelLongest("queries over their memory share", used, share, &pgError{Code: codeOutOfMemory,
					Message: fmt.Sprintf("canceling statement: queries hold %d MiB of DuckDB's memory, over the gateway's share (gateway.limits.memory_share %g of memory_limit, %d MiB)",
						used>>20, s.cfg.Limits.MemoryShare, share>>20),
					Hint: "filter or aggregate before collecting large values, or raise gateway.limits.memory_share or the memory limit"})
				continue
			}
			if spilled := s.sampleIf(s.tempLimit > 0, tempFilesSQL); spilled > tempShare {
				s.cancelLongest("spill over the gateway's share", spilled, tempShare, &pgError{Code: codeDiskFull,
					Message: fmt.Sprintf("canceling statement: DuckDB's spill files hold %d MiB, over the gateway's share (gateway.limits.temp_share %g of memory.max_temp_size, %d MiB)",
						spilled>>20, s.cfg.Limits.TempShare, tempShare>>20),
					Hint: "filter or aggregate before sorting or joining large results, or raise gateway.limits.temp_share or memory.max_temp_size"})
			}
		}
	}
}

// sampleIf runs one of the watchdog's size queries when its limit is
// known (enforced); 0 when it is not, or when the query fails.
func (s *Server) sampleIf(enforced bool, query string) int64 {
	if !enforced {
		return 0
	}
	ctx, cancel := context.WithTimeout(s.ctx, time.Second)
	defer cancel()
	var n int64
	if err := s.db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0
	}
	return n
}

// cancelLongest cancels the longest-running gateway statement not yet
// canceled, with err: DuckDB cannot say which query holds the memory or
// the spill, and the longest running has usually gathered the most.
func (s *Server) cancelLongest(why string, used, share int64, err *pgError) {
	s.runMu.Lock()
	var victim *runningQuery
	for r := range s.running {
		if !r.canceled && (victim == nil || r.start.Before(victim.start)) {
			victim = r
		}
	}
	if victim != nil {
		victim.canceled = true
	}
	s.runMu.Unlock()
	if victim == nil {
		return
	}
	s.log.Warn("SQL gateway: "+why+"; canceling the longest-running query",
		"used_bytes", used, "share_bytes", share, "running_for", time.Since(victim.start).Round(time.Millisecond))
	victim.cancel(err)
}

// Package warehouse owns the DuckDB file and the Parquet lake under a data
// directory: the raw-layer schema (events, dead_letters, ingest_batches), the
// idempotent batch writer that ingest commits through, and publication of
// events to Hive-partitioned Parquet. It is the only package that writes the
// raw layer.
package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/privacy"
)

// DBFile is the DuckDB file's name inside a data directory.
const DBFile = "cxlake.duckdb"

// Warehouse is an open data directory. It holds the single writer connection
// DuckDB allows per file; open it once per process.
type Warehouse struct {
	Dir  string
	DB   *sql.DB
	conn *duckdb.Connector

	// gate: batch writes hold it shared, so several run at once;
	// Exclusive holds it alone (erasure, retention, checkpoints).
	gate sync.RWMutex
	// reviseMu: message revisions are applied one batch at a time (revise.go).
	reviseMu sync.Mutex
	// lakeMu is held by Publish and Exclusive: a publication never copies
	// rows an erasure or a retention run is deleting.
	lakeMu sync.Mutex
	// mu guards the write bookkeeping below (writes.go) and known.
	mu          sync.Mutex
	seen        seenIDs
	pendingRevs pendingRevisions // messages with a pending revision (revise.go)
	pending     pendingWrites
	nextBatchID int64
	lastTurn    chan struct{} // closed when the last reserved batch has finished

	sink    string
	hashKey []byte
	hashers privacy.HasherPool
	walFile string
	// checkpointBytes: a WAL larger than this is checkpointed after a batch.
	checkpointBytes int64
	// memoryLimit is DuckDB's memory_limit in bytes: publication sizes its
	// steps to it (lake.go). readerSpill is a read-only process's own
	// spill folder, removed at Close.
	memoryLimit int64
	readerSpill string
	// testHook, when set by a test, runs at the named points of a
	// publication (lake.go); an error it returns stops there.
	testHook func(point string, n int) error
	// publishChunkEvents, when set by a test, overrides the chunk size.
	publishChunkEvents int64
	// mergeFiles, when set by a test, overrides the files of a compaction round.
	mergeFiles int

	// Governance (governed.go, sealing.go, rules.go): the data keys that
	// seal personal data, the identifiers already stored (guarded by mu),
	// and the rules ingest enforces.
	keys  *privacy.KeyStore
	known knownIdentifiers
	rules ruleGate
}

// Options tune Open.
type Options struct {
	// Sink selects how batches move into DuckDB: "appender" (default) or
	// "arrow" (only in builds with the duckdb_arrow tag).
	Sink string
	// ReadOnly opens the file without write access (for query tools).
	ReadOnly bool
	// Memory is the process's budget and DuckDB's spill folder (memory.go).
	Memory Memory
	// MemoryLimit, when set, is DuckDB's memory_limit (e.g. "512MB")
	// instead of its share of Memory.Budget (benchmarks and tests).
	MemoryLimit string
	// CheckpointThreshold is the WAL size that triggers a checkpoint, e.g.
	// "256MB"; "" means DefaultCheckpointThreshold.
	CheckpointThreshold string
	// HashKey is the key of the identifier hashes (at least 16 bytes); nil
	// means the data directory's own (privacy.LoadOrCreateKey).
	HashKey []byte
}

// DefaultCheckpointThreshold lets the WAL grow past a few row groups
// (122,880 rows each) between checkpoints. With DuckDB's 16MB default a
// checkpoint comes every ~25,000 events and rewrites the unfinished row
// group each time, compressing every row several times (docs/ingest.md).
const DefaultCheckpointThreshold = "256MB"

// DefaultMemoryLimit is DuckDB's share of the default budget (DuckDB's own
// default is 80% of RAM).
var DefaultMemoryLimit = FormatBytes(DuckDBShare(DefaultBudget))

// initConn runs on every connection DuckDB opens for the warehouse: days,
// casts to date and date_trunc follow UTC whatever the process's TZ
// (DESIGN.md: every DuckDB session runs in UTC).
func initConn(execer driver.ExecerContext) error {
	if _, err := execer.ExecContext(context.Background(), "set TimeZone = 'UTC'", nil); err != nil {
		return fmt.Errorf("setting the connection's time zone to UTC: %w", err)
	}
	return nil
}

// Open opens or creates the warehouse in dir and applies the schema.
// If another process holds the file, the error is a *LockedError. A
// read-only open never creates anything: without a warehouse in dir the
// error is a *NoWarehouseError.
func Open(ctx context.Context, dir string, opts Options) (*Warehouse, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
			return nil, &NoWarehouseError{Dir: dir, Err: err}
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, DBFile)
	// No extension is ever installed or loaded on demand: a cast to an
	// extension's type must fail, not download code (DuckDB 2.0 tried for
	// inet). parquet, json and icu are linked in.
	dsn := path + "?autoinstall_known_extensions=false&autoload_known_extensions=false"
	if opts.ReadOnly {
		dsn += "&access_mode=read_only"
	}
	if err := opts.Memory.Validate(); err != nil {
		return nil, err
	}
	limit := opts.MemoryLimit
	if limit == "" {
		limit = FormatBytes(DuckDBShare(opts.Memory.Budget))
	}
	limitBytes, err := parseBytes(limit)
	if err != nil {
		return nil, fmt.Errorf("DuckDB memory limit %q: %w", limit, err)
	}
	maxTemp := opts.Memory.MaxTempSize
	if maxTemp == 0 {
		maxTemp = DefaultMaxTempSize
	}
	spill, err := spillDirectory(dir, opts.Memory, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	conn, err := duckdb.NewConnector(dsn, initConn)
	if err != nil {
		removeReaderSpill(spill, opts.ReadOnly)
		return nil, lockedOr(dir, fmt.Errorf("opening %s: %w", path, err))
	}
	db := sql.OpenDB(conn)
	// fail closes what Open opened so far and returns err.
	fail := func(err error) (*Warehouse, error) {
		db.Close()
		removeReaderSpill(spill, opts.ReadOnly)
		return nil, err
	}
	threshold := opts.CheckpointThreshold
	if threshold == "" {
		threshold = DefaultCheckpointThreshold
	}
	for _, set := range [][2]string{{"memory_limit", limit}, {"checkpoint_threshold", threshold},
		{"temp_directory", spill}, {"max_temp_directory_size", FormatBytes(maxTemp)}} {
		if _, err := db.ExecContext(ctx, "set "+set[0]+" = '"+strings.ReplaceAll(set[1], "'", "''")+"'"); err != nil {
			return fail(fmt.Errorf("setting DuckDB %s: %w", set[0], err))
		}
	}
	w := &Warehouse{Dir: dir, DB: db, conn: conn, sink: opts.Sink, hashKey: opts.HashKey,
		walFile: path + ".wal", pending: newPendingWrites(), memoryLimit: limitBytes}
	if opts.ReadOnly {
		w.readerSpill = spill
	}
	w.lastTurn = make(chan struct{})
	close(w.lastTurn)
	if w.checkpointBytes, err = parseBytes(threshold); err != nil {
		return fail(fmt.Errorf("checkpoint threshold %q: %w", threshold, err))
	}
	if w.sink == "" {
		w.sink = defaultSink
	}
	if _, ok := sinks[w.sink]; !ok {
		return fail(fmt.Errorf("unknown ingest sink %q: this build has %s", w.sink, strings.Join(sinkNames(), ", ")))
	}
	// Schema versions first, before anything is written (migrate.go).
	plan, err := planMigrations(ctx, db, dir)
	if err != nil {
		return fail(err)
	}
	if opts.ReadOnly && len(plan.Pending) > 0 {
		return fail(&MigrationsPendingError{Dir: dir, Pending: plan.Pending})
	}
	if err := checkLakeFormat(dir, !opts.ReadOnly); err != nil {
		return fail(err)
	}
	if !opts.ReadOnly {
		if err := applyMigrations(ctx, db, plan, slog.Default()); err != nil {
			return fail(err)
		}
		if err := checkShapes(ctx, db); err != nil {
			return fail(err)
		}
		// A publication killed half way is finished or undone before
		// anything else (an erasure) can touch the lake.
		if err := w.recoverLake(ctx); err != nil {
			return fail(err)
		}
		// A lake made before manifests existed gets one (lake_manifest.go).
		if err := ensureLakeManifest(ctx, dir); err != nil {
			return fail(err)
		}
		if err := w.initKey(ctx); err != nil {
			return fail(err)
		}
	}
	if err := db.QueryRowContext(ctx, "select coalesce(max(batch_id), 0) + 1 from ingest_batches").Scan(&w.nextBatchID); err != nil {
		return fail(fmt.Errorf("reading last batch id: %w", err))
	}
	if !opts.ReadOnly {
		if w.seen, err = loadSeen(ctx, w); err != nil {
			return fail(err)
		}
		if w.pendingRevs, err = loadPendingRevisions(ctx, db); err != nil {
			return fail(err)
		}
	}
	if err := w.initGovernance(ctx, opts.ReadOnly); err != nil {
		return fail(err)
	}
	if !opts.ReadOnly {
		rewrite, err := w.resealFreeText(ctx, slog.Default())
		if err != nil {
			return fail(err)
		}
		if rewrite {
			if err := w.rewriteFile(ctx); err != nil {
				return nil, fmt.Errorf("rewriting %s after sealing free text: %w", DBFile, err)
			}
			return Open(ctx, dir, opts)
		}
		if err := w.aliasIdentifiers(ctx, slog.Default()); err != nil {
			return fail(err)
		}
		if err := w.keyActors(ctx, slog.Default()); err != nil {
			return fail(err)
		}
	}
	return w, nil
}

// Close checkpoints and closes the DuckDB file.
func (w *Warehouse) Close() error {
	_, cerr := w.DB.Exec("checkpoint")
	if err := w.DB.Close(); err != nil {
		return fmt.Errorf("closing warehouse: %w", err)
	}
	removeReaderSpill(w.readerSpill, w.readerSpill != "")
	if w.keys != nil {
		if err := w.keys.Close(); err != nil {
			return fmt.Errorf("closing the key store: %w", err)
		}
	}
	if cerr != nil && !strings.Contains(cerr.Error(), "read-only") {
		return fmt.Errorf("checkpointing warehouse: %w", cerr)
	}
	return nil
}

// NoWarehouseError is a read-only open of a directory that holds no
// warehouse: a typo in --data, or a directory nothing has written yet.
// Reading commands answer with it rather than report an empty warehouse.
type NoWarehouseError struct {
	Dir string
	Err error
}

func (e *NoWarehouseError) Error() string {
	return fmt.Sprintf("no warehouse in %s (no %s): give the data directory of a cxlake that has ingested data, "+
		"or make one with `cxlake demo --once --data %s` or `cxlake load --data %s FILE`", e.Dir, DBFile, e.Dir, e.Dir)
}

func (e *NoWarehouseError) Unwrap() error { return e.Err }

// LockedError means another process holds the DuckDB file: DuckDB allows one
// writer process per file.
type LockedError struct {
	Dir string
	PID string // the holder's process id when DuckDB names it
	Err error
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID != "" {
		holder = "process " + e.PID
	}
	return fmt.Sprintf("data directory %s is in use by %s (DuckDB allows one process per file). "+
		"Stop that process first (Ctrl-C flushes and exits cleanly), or read the published Parquet lake "+
		"from any tool: select * from read_parquet('%s/lake/events/**/*.parquet', hive_partitioning = true)",
		e.Dir, holder, e.Dir)
}

func (e *LockedError) Unwrap() error { return e.Err }

var pidRE = regexp.MustCompile(`PID (\d+)`)

func lockedOr(dir string, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "Could not set lock") && !strings.Contains(msg, "Conflicting lock") {
		return err
	}
	le := &LockedError{Dir: dir, Err: err}
	if m := pidRE.FindStringSubmatch(msg); m != nil {
		le.PID = m[1]
	}
	return le
}

// IsLocked reports whether err says the data directory is held by another process.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}

// Exclusive runs fn while no batch write and no lake publication is in
// flight and none can start: erasure and retention use it so that they
// never race with ingest. fn gets the warehouse's database; it should do
// its own transactions.
func (w *Warehouse) Exclusive(ctx context.Context, fn func(ctx context.Context, db *sql.DB) error) error {
	w.gate.Lock()
	defer w.gate.Unlock()
	w.lakeMu.Lock()
	defer w.lakeMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(ctx, w.DB)
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

type ingestBench struct {
	Events             int     `json:"events"`
	IngestEventsPerS   float64 `json:"ingest_events_per_s"`
	ReadJSONEventsPerS float64 `json:"read_json_events_per_s"`
	Ratio              float64 `json:"ratio"`
	PeakRSSBytes       int64   `json:"peak_rss_bytes"`
	IngestS            float64 `json:"ingest_s"`
	FinalCheckpointS   float64 `json:"final_checkpoint_s"`
	// RatioWithCheckpoint counts the final checkpoint in ingest's time.
	RatioWithCheckpoint float64 `json:"ratio_with_checkpoint"`
	CheckpointThreshold string  `json:"checkpoint_threshold"`
	// IngestCheckpoints and IngestCheckpointS are the checkpoints ingest
	// ran between batches (inside ingest_s): writers wait for them.
	IngestCheckpoints int     `json:"ingest_checkpoints"`
	IngestCheckpointS float64 `json:"ingest_checkpoint_s"`
	ReadJSONS         float64 `json:"read_json_s"`
	NDJSONBytes       int64   `json:"ndjson_bytes"`
	Sink              string  `json:"sink"`
	BatchSize         int     `json:"batch_size"`
	FetchSize         int     `json:"fetch_size"`
	Partitions        int     `json:"partitions"`
}

// benchIngest times the real consumer from start until every event is
// durable in DuckDB, and DuckDB's own read_json on the same events as the
// reference. The broker runs in a child process so peak RSS is cxlake's own.
func benchIngest(ctx context.Context, args []string) error {
	fs := newFlags("bench ingest", "bench ingest --events N [--json]")
	n := fs.Int("events", 1_000_000, "events to produce and ingest")
	asJSON := fs.Bool("json", false, "print one JSON object")
	parts := fs.Int("partitions", 3, "partitions of the topic")
	batch := fs.Int("batch-size", ingest.Defaults().BatchSize, "most messages per DuckDB transaction (default: the production default)")
	fetch := fs.Int("fetch-size", ingest.Defaults().FetchSize, "most messages fetched and appended at a time (default: the production default)")
	writers := fs.Int("writers", ingest.Defaults().Writers, "batches written to DuckDB at once")
	sink := fs.String("sink", "", "appender (default) or arrow (needs -tags duckdb_arrow)")
	memLimit := fs.String("duckdb-memory", warehouse.DefaultMemoryLimit, "DuckDB memory_limit for the ingest warehouse")
	ckpt := fs.String("checkpoint-threshold", warehouse.DefaultCheckpointThreshold, "DuckDB checkpoint_threshold (WAL size between checkpoints)")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	keep := fs.String("dir", "", "work in this folder and keep it (default: a temporary folder, removed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("--events is %d: give a positive number", *n)
	}
	dir, cleanup, err := benchDir(*keep)
	if err != nil {
		return err
	}
	defer cleanup()
	say := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(os.Stderr, format+"\n", a...)
		}
	}

	addr, stopBroker, err := startBrokerProcess(ctx, *parts)
	if err != nil {
		return err
	}
	defer stopBroker()
	say("broker (child process) on %s; producing %d events…", addr, *n)
	ndjson := filepath.Join(dir, "events.ndjson")
	size, err := produceAndWrite(ctx, []string{addr}, ndjson, *n)
	if err != nil {
		return err
	}

	wh, err := warehouse.Open(ctx, filepath.Join(dir, "data"), warehouse.Options{Sink: *sink, MemoryLimit: *memLimit, CheckpointThreshold: *ckpt})
	if err != nil {
		return err
	}
	defer wh.Close()
	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID, cfg.BatchSize, cfg.FetchSize, cfg.Writers = []string{addr}, []string{demoTopic}, "bench", *batch, *fetch, *writers
	c := ingest.NewConsumer(cfg, wh, slog.Default())
	resetPeakRSS()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return fmt.Errorf("creating CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting CPU profile: %w", err)
		}
	}
	say("consuming…")
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- c.Run(cctx) }()
	for c.Stats.Messages.Load() < int64(*n) {
		select {
		case err := <-done:
			cancel()
			return fmt.Errorf("consumer stopped early: %v", err)
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	ingestTook := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	// Durable means in the WAL; a checkpoint moves it into the compressed
	// table. Timed too, so a large checkpoint_threshold cannot hide work.
	ckStart := time.Now()
	if _, err := wh.DB.ExecContext(ctx, "checkpoint"); err != nil {
		return fmt.Errorf("final checkpoint: %w", err)
	}
	checkpointTook := time.Since(ckStart)
	peak := peakRSS()
	pprof.StopCPUProfile()
	var stored int
	if err := wh.DB.QueryRowContext(ctx, "select count(*) from events").Scan(&stored); err != nil {
		return err
	}
	if stored != *n {
		return fmt.Errorf("ingest stored %d events, want %d", stored, *n)
	}
	say("ingest: %d events in %s; reference: read_json…", stored, ingestTook.Round(time.Millisecond))
	refTook, err := readJSONReference(ctx, filepath.Join(dir, "ref.duckdb"), ndjson, *n)
	if err != nil {
		return err
	}
	r := ingestBench{
		Events: *n, IngestS: ingestTook.Seconds(), ReadJSONS: refTook.Seconds(),
		IngestEventsPerS: float64(*n) / ingestTook.Seconds(), ReadJSONEventsPerS: float64(*n) / refTook.Seconds(),
		PeakRSSBytes: peak, NDJSONBytes: size, Sink: *sink, BatchSize: *batch, FetchSize: *fetch, Partitions: *parts,
		FinalCheckpointS: checkpointTook.Seconds(), CheckpointThreshold: *ckpt,
		IngestCheckpoints: int(c.Stats.Checkpoints.Load()), IngestCheckpointS: time.Duration(c.Stats.CheckpointNanos.Load()).Seconds(),
	}
	if r.Sink == "" {
		r.Sink = "appender"
	}
	r.Ratio = r.IngestEventsPerS / r.ReadJSONEventsPerS
	r.RatioWithCheckpoint = (float64(*n) / (r.IngestS + r.FinalCheckpointS)) / r.ReadJSONEventsPerS
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("events              %d (%.0f MB as NDJSON)\n", r.Events, float64(size)/1e6)
	fmt.Printf("ingest (kafka→duckdb) %8.0f events/s  (%.2f s, sink %s, batch %d)\n", r.IngestEventsPerS, r.IngestS, r.Sink, r.BatchSize)
	fmt.Printf("read_json reference %8.0f events/s  (%.2f s)\n", r.ReadJSONEventsPerS, r.ReadJSONS)
	fmt.Printf("ratio               %.2f (ingest ÷ read_json)\n", r.Ratio)
	fmt.Printf("checkpoints         %d during ingest (%.2f s, inside the ingest time); final %.2f s (ratio counting it: %.2f; checkpoint_threshold %s)\n",
		r.IngestCheckpoints, r.IngestCheckpointS, r.FinalCheckpointS, r.RatioWithCheckpoint, r.CheckpointThreshold)
	fmt.Printf("peak RSS (ingest)   %.0f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	return nil
}

// startBrokerProcess runs `cxlake broker` as a child on a free port.
func startBrokerProcess(ctx context.Context, partitions int) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("finding own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "broker", "--addr", "127.0.0.1:0", "--topic", demoTopic, "--partitions", strconv.Itoa(partitions))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting broker process: %w", err)
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("broker process did not start: %w", err)
	}
	f := strings.Fields(line) // "broker listening on 127.0.0.1:PORT with …"
	if len(f) < 4 {
		stop()
		return "", nil, fmt.Errorf("unexpected broker output %q", line)
	}
	return f[3], stop, nil
}

// produceAndWrite produces n generated events (no duplicates or malformed
// ones, so both sides load the same n rows) and writes the same bytes as NDJSON.
func produceAndWrite(ctx context.Context, addrs []string, path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 4<<20)
	gen := simulate.New(simulate.Config{Seed: 7, PerDay: simulate.PerDayFor(int64(n), 30), MalformedRate: -1, DuplicateRate: -1})
	w := simulate.NewWriter(addrs, demoTopic)
	defer w.Close()
	buf := make([]kafka.Message, 0, 5000)
	var size int64
	for done := 0; done < n; {
		buf = buf[:0]
		for len(buf) < cap(buf) && done+len(buf) < n {
			m := gen.Next()
			buf = append(buf, kafka.Message{Key: m.Key, Value: m.Value})
			bw.Write(m.Value)
			bw.WriteByte('\n')
			size += int64(len(m.Value)) + 1
		}
		if err := w.WriteMessages(ctx, buf...); err != nil {
			return 0, fmt.Errorf("producing: %w", err)
		}
		done += len(buf)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("writing NDJSON: %w", err)
	}
	return size, nil
}

func readJSONReference(ctx context.Context, dbPath, ndjson string, n int) (time.Duration, error) {
	conn, err := duckdb.NewConnector(dbPath, nil)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	start := time.Now()
	q := fmt.Sprintf("create table ref as select * from read_json('%s', format = 'newline_delimited')", strings.ReplaceAll(ndjson, "'", "''"))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("read_json reference: %w", err)
	}
	took := time.Since(start)
	var got int
	if err := db.QueryRowContext(ctx, "select count(*) from ref").Scan(&got); err != nil || got != n {
		return 0, fmt.Errorf("read_json loaded %d rows, want %d (%v)", got, n, err)
	}
	return took, nil
}

// resetPeakRSS restarts the kernel's peak-RSS counter (Linux), so the
// figure covers ingest only, not event generation.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status, in bytes (0 where unavailable).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

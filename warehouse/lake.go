package warehouse

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// LakeDir is the Parquet lake's folder inside a data directory.
const LakeDir = "lake"

// lakeColumns are the event columns published to Parquet: every column but
// the sealed content. The lake holds no personal data in any form but
// keyed hashes, so a lake file copied elsewhere never carries an identifier
// or a text; erasure and retention still rewrite the files holding a
// person's or an expired day's rows (governance).
const lakeColumns = `event_id, type, occurred_at, source, conversation_id,
	actor_kind, actor_id, actor_team, message_direction, message_private, message_intent,
	handoff_reason, handoff_to_team, handoff_next_action, handoff_owner, handoff_sla_s, handoff_has_context,
	survey_kind, survey_score, consent_purpose, consent_granted, consent_basis, consent_source,
	kafka_topic, kafka_partition, kafka_offset, batch_id, ingested_at,
	contact_phone_hash, contact_email_hash, contact_ids_hash, link_phone_hash, link_email_hash, link_ids_hash, subject_hash`

// LakeColumns lists the columns of lake files (plus the date and channel
// partition columns), for code that rewrites them.
const LakeColumns = lakeColumns

// Publication says what one Publish call wrote.
type Publication struct {
	// FromBatchID is the last batch published before this call; the call
	// published the batches after it up to ToBatchID.
	FromBatchID, ToBatchID int64
	Events                 int64
	// Chunks are the batch ranges recorded (each all or nothing), Steps
	// the COPY statements run, Files the Parquet files added.
	Chunks, Steps, Files int
}

// Publish writes the events of batches not yet published to the Parquet lake
// at DIR/lake/events/date=YYYY-MM-DD/channel=NAME/*.parquet (Hive
// partitioning; events without a channel go to channel=none).
//
// The work is bounded by DuckDB's memory limit, not by what is unpublished:
// batches are taken in chunks of at most chunkEvents events, and each chunk
// is written in steps of a few (day, channel) partitions, so a step holds a
// few Parquet writers at a time. A chunk's files are written under
// DIR/lake/_staging (which readers' globs over lake/events do not match),
// synced, marked ready, renamed into place and then recorded in
// lake_publications. A file a reader can match is therefore always whole;
// after a kill or an error at any point, the next Open or Publish finishes
// a chunk that was marked ready (so its events appear exactly once) and
// removes one that was not.
func (w *Warehouse) Publish(ctx context.Context) (Publication, error) {
	// Erasure and retention rewrite lake files under Exclusive: a
	// publication must not copy rows they are deleting.
	w.lakeMu.Lock()
	defer w.lakeMu.Unlock()
	var p Publication
	if err := w.recoverLake(ctx); err != nil {
		return p, err
	}
	last, err := w.lastPublished(ctx)
	if err != nil {
		return p, err
	}
	p.FromBatchID, p.ToBatchID = last, last
	chunks, err := w.unpublishedChunks(ctx, last)
	if err != nil || len(chunks) == 0 {
		return p, err
	}
	conn, err := w.lakeWriterConn(ctx)
	if err != nil {
		return p, fmt.Errorf("publishing to the lake: %w", err)
	}
	defer conn.Close()
	for _, c := range chunks {
		steps, files, err := w.publishChunk(ctx, conn, c)
		p.Steps += steps
		if err != nil {
			return p, ExplainMemory(fmt.Errorf("publishing batches %d to %d to the lake: %w", c.from, c.to, err))
		}
		p.Chunks++
		p.Files += files
		p.ToBatchID = c.to
		p.Events += c.events
	}
	return p, nil
}

// chunk is a range of batches published all or nothing.
type chunk struct {
	from, to, events int64
	// files: a staged chunk's files as its READY marker lists them.
	files []LakeFile
}

func (w *Warehouse) lastPublished(ctx context.Context) (int64, error) {
	var last int64
	if err := w.DB.QueryRowContext(ctx, `select coalesce(max(to_batch_id), 0) from lake_publications`).Scan(&last); err != nil {
		return 0, fmt.Errorf("reading last publication: %w", err)
	}
	return last, nil
}

// Publication sizes, from DuckDB's memory limit: a step holds about one
// Parquet writer (row-group buffers of 35 columns) per partition it
// writes, and the rows it reads.
const (
	bytesPerPartition = 1 << 20
	bytesPerStepRow   = 2 << 10
	bytesPerChunkRow  = 1 << 10
)

func (w *Warehouse) sizes() (chunkEvents, stepEvents, stepPartitions int64) {
	limit := w.memoryLimit
	chunkEvents = max(limit/bytesPerChunkRow, 1000)
	if w.publishChunkEvents > 0 {
		chunkEvents = w.publishChunkEvents
	}
	return chunkEvents, max(limit/bytesPerStepRow, 1000), max(limit/4/bytesPerPartition, 1)
}

// unpublishedChunks groups the batches after last into chunks of at most
// chunkEvents events (a larger batch is a chunk of its own; its steps
// still bound the memory).
func (w *Warehouse) unpublishedChunks(ctx context.Context, last int64) ([]chunk, error) {
	rows, err := w.DB.QueryContext(ctx, `select batch_id, count(*) from events where batch_id > ? group by batch_id order by batch_id`, last)
	if err != nil {
		return nil, fmt.Errorf("finding unpublished events: %w", err)
	}
	defer rows.Close()
	limit, _, _ := w.sizes()
	var out []chunk
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("finding unpublished events: %w", err)
		}
		if k := len(out) - 1; k >= 0 && out[k].events+n <= limit {
			out[k].to, out[k].events = id, out[k].events+n
			continue
		}
		out = append(out, chunk{from: id, to: id, events: n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding unpublished events: %w", err)
	}
	// A chunk starts after the last published batch, so that the next
	// chunk's first batch is always last+1 in lake_publications.
	if len(out) > 0 {
		out[0].from = last + 1
	}
	for i := 1; i < len(out); i++ {
		out[i].from = out[i-1].to + 1
	}
	return out, nil
}

// partitionExpr is the lake's partition of an events row.
const partitionExpr = `strftime(occurred_at at time zone 'UTC', '%Y-%m-%d') as date, coalesce(channel, 'none') as channel`

// partitionKey is the same partition as one "date/channel" string, written
// over the events' own columns: in the select list beside partitionExpr,
// "channel" would name the events column, null for an event without one.
const partitionKey = `strftime(occurred_at at time zone 'UTC', '%Y-%m-%d') || '/' || coalesce(channel, 'none')`

// step is a run of consecutive (date, channel) partitions, inclusive.
type step struct{ lo, hi string } // date || '/' || channel

// steps splits a chunk into runs of partitions that stay within the sizes.
func (w *Warehouse) steps(ctx context.Context, conn *sql.Conn, c chunk) ([]step, error) {
	rows, err := conn.QueryContext(ctx, `select date || '/' || channel as k, count(*) from (select `+partitionExpr+`
		from events where batch_id between ? and ?) group by k order by k`, c.from, c.to)
	if err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	defer rows.Close()
	_, maxRows, maxParts := w.sizes()
	var out []step
	var n, parts int64
	for rows.Next() {
		var k string
		var cnt int64
		if err := rows.Scan(&k, &cnt); err != nil {
			return nil, fmt.Errorf("listing partitions: %w", err)
		}
		if len(out) > 0 && n+cnt <= maxRows && parts < maxParts {
			out[len(out)-1].hi = k
			n, parts = n+cnt, parts+1
			continue
		}
		out = append(out, step{lo: k, hi: k})
		n, parts = cnt, 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing partitions: %w", err)
	}
	return out, nil
}

// readyFile marks a staged chunk whose files are complete and synced; it
// holds the chunk's record.
const readyFile = "READY"

// StagingDir is where publication writes files before they are renamed
// into lake/events (inside the lake, on the same file system, outside
// every reader's glob).
const StagingDir = "_staging"

func (w *Warehouse) publishChunk(ctx context.Context, conn *sql.Conn, c chunk) (steps, files int, err error) {
	stage := filepath.Join(w.Dir, LakeDir, StagingDir, fmt.Sprintf("b%d_%d", c.from, c.to))
	if err := os.RemoveAll(stage); err != nil {
		return 0, 0, fmt.Errorf("clearing the staging folder: %w", err)
	}
	if err := os.MkdirAll(stage, 0o750); err != nil {
		return 0, 0, fmt.Errorf("creating the staging folder: %w", err)
	}
	ready := false
	defer func() {
		if !ready { // a chunk not marked ready is written again from the start
			_ = os.RemoveAll(stage)
		}
	}()
	parts, err := w.steps(ctx, conn, c)
	if err != nil {
		return 0, 0, err
	}
	for i, s := range parts {
		q := fmt.Sprintf(`copy (
			select * exclude (k) from (
				select %s, %s, %s as k
				from events where batch_id between %d and %d)
			where k between '%s' and '%s'
		) to '%s' (format parquet, partition_by (date, channel), append true,
		           filename_pattern 'b%d_%d_{uuid}', compression zstd)`,
			lakeColumns, partitionExpr, partitionKey, c.from, c.to, quote(s.lo), quote(s.hi), quote(stage), c.from, c.to)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return i, 0, fmt.Errorf("writing events to the lake: %w", err)
		}
		if err := w.hook("step", i+1); err != nil {
			return i + 1, 0, err
		}
	}
	staged, err := syncTree(stage)
	if err != nil {
		return len(parts), 0, err
	}
	// The marker records each file as the manifest will (relative to
	// lake/), so that finishing the chunk after a kill records the files
	// already renamed too.
	described := make([]LakeFile, len(staged))
	for i, rel := range staged {
		f, err := describeLakeFile(stage, filepath.ToSlash(rel))
		if err != nil {
			return len(parts), 0, err
		}
		f.Path = "events/" + f.Path
		described[i] = f
	}
	if err := writeReady(stage, c, described); err != nil {
		return len(parts), 0, err
	}
	ready = true
	if err := w.hook("ready", 0); err != nil {
		return len(parts), 0, err
	}
	if err := w.finishChunk(ctx, stage, c, staged, described); err != nil {
		return len(parts), 0, err
	}
	return len(parts), len(staged), nil
}

// finishChunk moves a ready chunk's files into lake/events, adds them to
// the manifest (described: every file of the chunk, moved before or now),
// records the chunk and removes its staging folder. Run again after a
// failure, it moves what is left and records the chunk once.
func (w *Warehouse) finishChunk(ctx context.Context, stage string, c chunk, files []string, described []LakeFile) error {
	lake := filepath.Join(w.Dir, LakeDir, "events")
	dirs := map[string]bool{}
	for i, rel := range files {
		dst := filepath.Join(lake, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return fmt.Errorf("creating a lake partition folder: %w", err)
		}
		if err := os.Rename(filepath.Join(stage, rel), dst); err != nil {
			return fmt.Errorf("moving a staged file into the lake: %w", err)
		}
		dirs[filepath.Dir(dst)] = true
		if err := w.hook("renamed", i+1); err != nil {
			return err
		}
	}
	for d := range dirs { // the renames, and new partition folders, survive a crash
		for _, x := range []string{d, filepath.Dir(d), filepath.Dir(filepath.Dir(d))} {
			if err := syncDir(x); err != nil {
				return err
			}
		}
	}
	if err := editLakeManifest(w.Dir, func(m map[string]LakeFile) error {
		for _, f := range described {
			m[f.Path] = f
		}
		return nil
	}); err != nil {
		return fmt.Errorf("recording published files in the lake manifest: %w", err)
	}
	if err := w.hook("manifest", 0); err != nil {
		return err
	}
	last, err := w.lastPublished(ctx)
	if err != nil {
		return err
	}
	switch {
	case last >= c.to: // recorded before a crash
	case last != c.from-1:
		return fmt.Errorf("staged lake chunk of batches %d to %d does not follow the last publication (batch %d): "+
			"move %s aside and run again", c.from, c.to, last, stage)
	default:
		if _, err := w.DB.ExecContext(ctx, `insert into lake_publications
			select coalesce(max(publication_id), 0) + 1, ?, ?, ?, ? from lake_publications`,
			c.from, c.to, c.events, time.Now().UTC()); err != nil {
			return fmt.Errorf("recording publication: %w", err)
		}
	}
	if err := w.hook("recorded", 0); err != nil {
		return err
	}
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("removing the staging folder: %w", err)
	}
	return nil
}

// recoverLake finishes or undoes a killed compaction, finishes the chunks
// a killed or failed publication marked ready, removes staged files of chunks it did not, and removes lake files
// left by a publication of an earlier release that failed before
// recording them (they carry the next batch's number).
func (w *Warehouse) recoverLake(ctx context.Context) error {
	root := filepath.Join(w.Dir, LakeDir, StagingDir)
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading the lake's staging folder: %w", err)
	}
	var readyChunks []chunk
	for _, e := range entries {
		stage := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), compactPrefix) { // lake_compact.go
			if err := w.recoverCompaction(stage); err != nil {
				return err
			}
			continue
		}
		c, ok, err := readReady(stage)
		if err != nil {
			return err
		}
		if !ok {
			if err := os.RemoveAll(stage); err != nil {
				return fmt.Errorf("removing an unfinished staged chunk: %w", err)
			}
			continue
		}
		readyChunks = append(readyChunks, c)
	}
	sort.Slice(readyChunks, func(i, j int) bool { return readyChunks[i].from < readyChunks[j].from })
	for _, c := range readyChunks {
		stage := filepath.Join(root, fmt.Sprintf("b%d_%d", c.from, c.to))
		files, err := listFiles(stage)
		if err != nil {
			return err
		}
		described, err := w.describeChunk(c)
		if err != nil {
			return err
		}
		if err := w.finishChunk(ctx, stage, c, files, described); err != nil {
			return fmt.Errorf("finishing a staged lake chunk: %w", err)
		}
	}
	last, err := w.lastPublished(ctx)
	if err != nil {
		return err
	}
	stale, _ := filepath.Glob(filepath.Join(w.Dir, LakeDir, "events", "*", "*", fmt.Sprintf("b%d_*.parquet", last+1)))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("removing an unrecorded lake file: %w", err)
		}
	}
	return nil
}

// readyMarker is the content of a staged chunk's READY file.
type readyMarker struct {
	FromBatch int64 `json:"from_batch"`
	ToBatch   int64 `json:"to_batch"`
	Events    int64 `json:"events"`
	// Files (absent in markers of releases before the manifest) are the
	// chunk's files as the manifest records them.
	Files []LakeFile `json:"files,omitempty"`
}

func writeReady(stage string, c chunk, files []LakeFile) error {
	b, _ := json.Marshal(readyMarker{FromBatch: c.from, ToBatch: c.to, Events: c.events, Files: files})
	f, err := os.OpenFile(filepath.Join(stage, readyFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("marking a staged chunk ready: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("marking a staged chunk ready: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("marking a staged chunk ready: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("marking a staged chunk ready: %w", err)
	}
	return syncDir(stage)
}

// readReady reads a staged chunk's marker; ok is false when there is none
// (the chunk was not complete).
func readReady(stage string) (chunk, bool, error) {
	b, err := os.ReadFile(filepath.Join(stage, readyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return chunk{}, false, nil
	}
	if err != nil {
		return chunk{}, false, fmt.Errorf("reading a staged chunk's marker: %w", err)
	}
	var m readyMarker
	if err := json.Unmarshal(b, &m); err != nil || m.FromBatch < 1 || m.ToBatch < m.FromBatch {
		// A marker is written whole and synced before it counts; one that
		// does not parse is not one this code wrote.
		return chunk{}, false, fmt.Errorf("staged lake chunk %s has an unreadable %s marker: move the folder aside and run again", filepath.Base(stage), readyFile)
	}
	c := chunk{from: m.FromBatch, to: m.ToBatch, events: m.Events, files: m.Files}
	if filepath.Base(stage) != fmt.Sprintf("b%d_%d", c.from, c.to) {
		return chunk{}, false, fmt.Errorf("staged lake chunk %s does not match its %s marker: move the folder aside and run again", filepath.Base(stage), readyFile)
	}
	return c, true, nil
}

// listFiles lists the Parquet files under stage, relative to it.
func listFiles(stage string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, err := filepath.Rel(stage, p)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing staged lake files: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// syncTree fsyncs every staged file and folder, and lists the files.
func syncTree(stage string) ([]string, error) {
	files, err := listFiles(stage)
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{stage: true}
	for _, rel := range files {
		p := filepath.Join(stage, rel)
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("syncing a staged lake file: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("syncing a staged lake file: %w", err)
		}
		for d := filepath.Dir(p); d != stage && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing a lake folder: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing a lake folder: %w", err)
	}
	return nil
}

func quote(s string) string { return strings.ReplaceAll(s, "'", "''") }

func (w *Warehouse) hook(point string, n int) error {
	if w.testHook == nil {
		return nil
	}
	return w.testHook(point, n)
}

// PublicationLag is how far the lake is behind DuckDB: the events accepted
// in batches not yet published, and the age of the oldest such batch (0
// when the lake is current). /metrics reads it.
func (w *Warehouse) PublicationLag(ctx context.Context) (events int64, age time.Duration, err error) {
	var oldest sql.NullTime
	if err := w.DB.QueryRowContext(ctx, `select coalesce(sum(accepted), 0), min(committed_at) from ingest_batches
		where accepted > 0 and batch_id > (select coalesce(max(to_batch_id), 0) from lake_publications)`).Scan(&events, &oldest); err != nil {
		return 0, 0, fmt.Errorf("reading the publication lag: %w", err)
	}
	if oldest.Valid {
		age = max(time.Since(oldest.Time), 0)
	}
	return events, age, nil
}

// lakeWriterConn is a connection for writing lake files (publication and
// compaction). Lake files have no order, so DuckDB need not hold rows back
// to keep one.
func (w *Warehouse) lakeWriterConn(ctx context.Context) (*sql.Conn, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "set session preserve_insertion_order = false"); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

package warehouse

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Compaction merges a partition's small files into one file, or files of a
// target size, so that the lake stays a few files per partition however
// often it is published. A reader's glob over lake/events never sees the
// old files and the new ones together, nor neither:
//
//  1. the merged files are written into a new folder under lake/_staging
//     (outside every glob), beside hard links of the partition's files that
//     are kept as they are, synced, and checked to hold exactly the rows of
//     the files they replace;
//  2. a marker records the old and the new file names;
//  3. the new folder and the partition folder are swapped in one step
//     (renameat2 with RENAME_EXCHANGE): a reader lists either the old
//     folder or the new one;
//  4. the manifest is rewritten, and the old folder (now in staging)
//     removed.
//
// A kill before step 3 leaves the partition as it was (the staged folder
// is removed at the next Open or compaction); after it, the next Open or
// compaction finishes steps 4. A reader that listed the old folder and
// opens one of its files after the swap gets "file not found" and reads
// again; it never counts a row twice or misses one.

// CompactOptions says which partitions compaction merges.
type CompactOptions struct {
	// Now is the clock (time.Now when zero).
	Now time.Time
	// Grace: a day's partitions are closed once the day plus Grace has
	// passed; a closed partition's small files are merged.
	Grace time.Duration
	// MaxFiles: a partition, closed or not, with more files than this is
	// merged (0: only closed partitions).
	MaxFiles int
	// TargetBytes: merged files are at most about this size; files of this
	// size or more are kept as they are.
	TargetBytes int64
}

// DefaultCompactOptions are the defaults of the lake.compact_* keys.
func DefaultCompactOptions() CompactOptions {
	return CompactOptions{Grace: 6 * time.Hour, MaxFiles: 64, TargetBytes: 128 << 20}
}

// Compaction says what one CompactLake call did.
type Compaction struct {
	Partitions              int
	FilesBefore, FilesAfter int
	Rows                    int64
	// Rounds counts the merges (each one COPY of at most a round's files,
	// mergeRound), and FilesRead the files they read, merged files read
	// again by a later round included.
	Rounds, FilesRead int
}

// compactMarker is the marker of a staged compaction.
type compactMarker struct {
	Partition string     `json:"partition"` // events/date=D/channel=C
	Old       []string   `json:"old"`       // names of the files replaced
	New       []LakeFile `json:"new"`
}

const compactPrefix = "compact_"

var partitionDirRE = regexp.MustCompile(`^events/date=(\d{4}-\d{2}-\d{2})/channel=([a-z0-9_-]{1,64})$`)

// CompactLake merges the small files of the partitions opts selects. It
// holds the lake (as a publication does) one partition at a time, so
// publication goes on between partitions.
func (w *Warehouse) CompactLake(ctx context.Context, opts CompactOptions) (Compaction, error) {
	var res Compaction
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.TargetBytes <= 0 {
		opts.TargetBytes = DefaultCompactOptions().TargetBytes
	}
	w.lakeMu.Lock()
	err := w.recoverLake(ctx)
	var parts []string
	if err == nil {
		parts, err = w.compactionCandidates(opts)
	}
	w.lakeMu.Unlock()
	if err != nil {
		return res, err
	}
	conn, err := w.lakeWriterConn(ctx)
	if err != nil {
		return res, fmt.Errorf("compacting the lake: %w", err)
	}
	defer conn.Close()
	restore, err := withoutFileCache(ctx, conn)
	if err != nil {
		return res, fmt.Errorf("compacting the lake: %w", err)
	}
	defer restore()
	maxFiles, maxBytes := w.mergeRound()
	for _, p := range parts {
		// Rounds of at most maxFiles files and maxBytes: each merges the
		// oldest small files (a round's own output among them) until the
		// partition needs no more.
		originals := 0
		made := map[string]LakeFile{} // merged files now in the partition
		for {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			old, fresh, err := w.compactOne(ctx, conn, p, opts, maxFiles, maxBytes)
			if err != nil {
				return res, ExplainMemory(fmt.Errorf("compacting lake partition %s: %w", p, err))
			}
			if len(old) == 0 {
				break
			}
			res.Rounds++
			res.FilesRead += len(old)
			for _, name := range old {
				if _, ok := made[name]; ok {
					delete(made, name)
				} else {
					originals++
				}
			}
			for _, f := range fresh {
				made[path.Base(f.Path)] = f
			}
			if len(fresh) >= len(old) {
				break // no fewer files: another round would not help
			}
		}
		if originals > 0 {
			res.Partitions++
			res.FilesBefore += originals
			res.FilesAfter += len(made)
			for _, f := range made {
				res.Rows += f.Rows
			}
		}
	}
	return res, nil
}

// mergeRound is how many files, and how many bytes of them, one merge
// reads at most: DuckDB's memory grows with the files a read_parquet
// opens (a day of minute publications is 1,440 files a partition, and
// merging them at once peaked at 959 MiB), so a partition is merged in
// rounds, inside a quarter of DuckDB's share (docs/memory.md).
func (w *Warehouse) mergeRound() (files int, bytes int64) {
	if w.mergeFiles > 0 {
		return w.mergeFiles, w.memoryLimit / 4
	}
	return max(int(w.memoryLimit/4/bytesPerMergedFile), 2), max(w.memoryLimit/4, 1<<20)
}

// withoutFileCache turns DuckDB's external file cache off until restore
// is called (which turns it back on if it was). The cache keeps in memory
// what read_parquet read, up to memory_limit: compaction reads every small
// file of the lake once and never again, so all the cache did was hold
// DuckDB's whole share on top of the merge itself. Measured on a day of
// minute files (`cxlake bench lake --days 1`'s lake, 12,960 files),
// compaction's peak RSS was 849 MiB with the cache and 128 MiB without
// (docs/tables.md). The setting is global, so readers running meanwhile
// read uncached too (from the OS page cache) for as long as it lasts.
func withoutFileCache(ctx context.Context, conn *sql.Conn) (restore func(), err error) {
	var on bool
	if err := conn.QueryRowContext(ctx, `select current_setting('enable_external_file_cache')`).Scan(&on); err != nil {
		return nil, fmt.Errorf("reading DuckDB's external file cache setting: %w", err)
	}
	if !on {
		return func() {}, nil
	}
	if _, err := conn.ExecContext(ctx, `set global enable_external_file_cache = false`); err != nil {
		return nil, fmt.Errorf("turning DuckDB's external file cache off: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `set global enable_external_file_cache = true`)
	}, nil
}

// bytesPerMergedFile is what DuckDB holds per file a merge reads (its
// metadata, reader state and buffers): about 128 files a round at the
// default budget.
const bytesPerMergedFile = 1 << 20

// partitionFiles groups the manifest's files by partition folder.
func partitionFiles(m LakeManifest) map[string][]LakeFile {
	out := map[string][]LakeFile{}
	for _, f := range m.Files {
		d := path.Dir(f.Path)
		out[d] = append(out[d], f)
	}
	return out
}

// selectSmall returns the files of a partition compaction would merge, or
// nil when the partition needs none.
func selectSmall(dir string, files []LakeFile, opts CompactOptions) []LakeFile {
	m := partitionDirRE.FindStringSubmatch(dir)
	if m == nil {
		return nil // not a partition this code wrote: left alone
	}
	day, err := time.Parse(time.DateOnly, m[1])
	if err != nil {
		return nil
	}
	var small []LakeFile
	var rows int64
	for _, f := range files {
		if f.Bytes < opts.TargetBytes {
			small = append(small, f)
			rows += f.Rows
		}
	}
	closed := !opts.Now.Before(day.Add(24*time.Hour + opts.Grace))
	crowded := opts.MaxFiles > 0 && len(files) > opts.MaxFiles
	if len(small) < 2 || rows == 0 || !(closed || crowded) {
		return nil
	}
	return small
}

func (w *Warehouse) compactionCandidates(opts CompactOptions) ([]string, error) {
	m, ok, err := ReadLakeManifest(w.Dir)
	if err != nil || !ok {
		return nil, err
	}
	var out []string
	for dir, files := range partitionFiles(m) {
		if selectSmall(dir, files, opts) != nil {
			out = append(out, dir)
		}
	}
	slices.Sort(out)
	return out, nil
}

// compactOne merges one round of a partition's small files, holding the
// lake: the first by name (publications' files in batch order, then
// merged ones), at most maxFiles of them and
// maxBytes (at least two). It returns the names of the files replaced
// and the files that replace them.
func (w *Warehouse) compactOne(ctx context.Context, conn *sql.Conn, dir string, opts CompactOptions, maxFiles int, maxBytes int64) (old []string, made []LakeFile, err error) {
	w.lakeMu.Lock()
	defer w.lakeMu.Unlock()
	m, ok, err := ReadLakeManifest(w.Dir)
	if err != nil || !ok {
		return nil, nil, err
	}
	files := partitionFiles(m)[dir]
	small := roundOf(selectSmall(dir, files, opts), maxFiles, maxBytes)
	if small == nil {
		return nil, nil, nil
	}
	lake := filepath.Join(w.Dir, LakeDir)
	partDir := filepath.Join(lake, filepath.FromSlash(dir))
	// The folder must hold exactly the files the manifest lists: the swap
	// replaces the whole folder, and a file nobody recorded would be lost.
	onDisk, err := os.ReadDir(partDir)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the partition: %w", err)
	}
	var names []string
	for _, e := range onDisk {
		names = append(names, e.Name())
	}
	var listed []string
	for _, f := range files {
		listed = append(listed, path.Base(f.Path))
	}
	slices.Sort(names)
	slices.Sort(listed)
	if !slices.Equal(names, listed) {
		return nil, nil, fmt.Errorf("the partition's files are not those of the lake manifest: run `cxlake lake verify`")
	}
	stage := filepath.Join(lake, StagingDir, compactPrefix+strings.NewReplacer("/", "_", "=", "-").Replace(dir))
	if err := os.RemoveAll(stage); err != nil {
		return nil, nil, fmt.Errorf("clearing the staging folder: %w", err)
	}
	newDir := filepath.Join(stage, "new")
	if err := os.MkdirAll(newDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("creating the staging folder: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped { // not yet visible: the partition is as it was
			_ = os.RemoveAll(stage)
		}
	}()
	var oldRows, lo, hi int64
	list := make([]string, len(small))
	oldNames := make([]string, len(small))
	for i, f := range small {
		p := filepath.Join(lake, filepath.FromSlash(f.Path))
		n, _, _, err := parquetFooter(p)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", f.Path, err)
		}
		oldRows += n
		if lo == 0 || (f.FromBatch > 0 && f.FromBatch < lo) {
			lo = f.FromBatch
		}
		hi = max(hi, f.ToBatch)
		list[i] = "'" + quote(p) + "'"
		oldNames[i] = path.Base(f.Path)
	}
	q := fmt.Sprintf(`copy (select * from read_parquet([%s], union_by_name = true))
		to '%s' (format parquet, compression zstd, file_size_bytes %d, filename_pattern 'c%d_%d_{uuid}')`,
		strings.Join(list, ", "), quote(filepath.Join(newDir, "merged")), opts.TargetBytes, lo, hi)
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return nil, nil, fmt.Errorf("merging files: %w", err)
	}
	// DuckDB writes the files into a folder of its own: move them up.
	merged, err := os.ReadDir(filepath.Join(newDir, "merged"))
	if err != nil {
		return nil, nil, fmt.Errorf("listing merged files: %w", err)
	}
	var fresh []LakeFile
	var newRows int64
	for _, e := range merged {
		if err := os.Rename(filepath.Join(newDir, "merged", e.Name()), filepath.Join(newDir, e.Name())); err != nil {
			return nil, nil, fmt.Errorf("staging merged files: %w", err)
		}
		if err := syncFilePath(filepath.Join(newDir, e.Name())); err != nil {
			return nil, nil, err
		}
		f, err := describeLakeFile(newDir, e.Name())
		if err != nil {
			return nil, nil, err
		}
		f.Path = dir + "/" + e.Name()
		newRows += f.Rows
		fresh = append(fresh, f)
	}
	if err := os.Remove(filepath.Join(newDir, "merged")); err != nil {
		return nil, nil, fmt.Errorf("staging merged files: %w", err)
	}
	if newRows != oldRows || len(fresh) == 0 {
		return nil, nil, fmt.Errorf("merged files hold %d rows, the files they replace %d: nothing changed", newRows, oldRows)
	}
	// Files kept as they are (of the target size) go into the new folder
	// as hard links: the swap replaces the whole folder.
	for _, f := range files {
		if slices.Contains(oldNames, path.Base(f.Path)) {
			continue
		}
		if err := os.Link(filepath.Join(partDir, path.Base(f.Path)), filepath.Join(newDir, path.Base(f.Path))); err != nil {
			return nil, nil, fmt.Errorf("linking a kept file: %w", err)
		}
	}
	if err := syncDir(newDir); err != nil {
		return nil, nil, err
	}
	if err := w.hook("compact-staged", 0); err != nil {
		return nil, nil, err
	}
	if err := writeCompactMarker(stage, compactMarker{Partition: dir, Old: oldNames, New: fresh}); err != nil {
		return nil, nil, err
	}
	if err := w.hook("compact-ready", 0); err != nil {
		return nil, nil, err
	}
	if err := unix.Renameat2(unix.AT_FDCWD, newDir, unix.AT_FDCWD, partDir, unix.RENAME_EXCHANGE); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return nil, nil, fmt.Errorf("the lake's file system does not support an atomic folder swap (renameat2 RENAME_EXCHANGE; ext4, xfs, btrfs and tmpfs do): %w", err)
		}
		return nil, nil, fmt.Errorf("swapping the partition folder: %w", err)
	}
	swapped = true
	if err := syncDir(filepath.Dir(partDir)); err != nil {
		return nil, nil, err
	}
	if err := syncDir(stage); err != nil {
		return nil, nil, err
	}
	if err := w.hook("compact-swapped", 0); err != nil {
		return nil, nil, err
	}
	if err := w.finishCompaction(stage, compactMarker{Partition: dir, Old: oldNames, New: fresh}); err != nil {
		return nil, nil, err
	}
	return oldNames, fresh, nil
}

// roundOf is the first files of small, by name, up to maxFiles files and
// maxBytes (but at least two), or nil when small is nil.
func roundOf(small []LakeFile, maxFiles int, maxBytes int64) []LakeFile {
	if small == nil {
		return nil
	}
	small = slices.Clone(small)
	slices.SortFunc(small, func(a, b LakeFile) int { return strings.Compare(a.Path, b.Path) })
	var n int
	var bytes int64
	for n < len(small) && (n < 2 || (n < maxFiles && bytes+small[n].Bytes <= maxBytes)) {
		bytes += small[n].Bytes
		n++
	}
	return small[:n]
}

// finishCompaction records a swapped compaction in the manifest and removes
// its staging folder (which holds the old files). Run again, it does the
// same.
func (w *Warehouse) finishCompaction(stage string, m compactMarker) error {
	if err := editLakeManifest(w.Dir, func(files map[string]LakeFile) error {
		for _, name := range m.Old {
			delete(files, m.Partition+"/"+name)
		}
		for _, f := range m.New {
			files[f.Path] = f
		}
		return nil
	}); err != nil {
		return fmt.Errorf("recording a compaction in the lake manifest: %w", err)
	}
	if err := w.hook("compact-recorded", 0); err != nil {
		return err
	}
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("removing a compaction's old files: %w", err)
	}
	return nil
}

func writeCompactMarker(stage string, m compactMarker) error {
	b, _ := json.Marshal(m)
	p := filepath.Join(stage, readyFile)
	if err := os.WriteFile(p, b, 0o640); err != nil {
		return fmt.Errorf("marking a compaction ready: %w", err)
	}
	if err := syncFilePath(p); err != nil {
		return err
	}
	return syncDir(stage)
}

// recoverCompaction finishes a staged compaction that swapped its folder
// and removes one that did not (the partition is then as it was).
func (w *Warehouse) recoverCompaction(stage string) error {
	b, err := os.ReadFile(filepath.Join(stage, readyFile))
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.RemoveAll(stage); err != nil {
			return fmt.Errorf("removing an unfinished compaction: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading a compaction's marker: %w", err)
	}
	var m compactMarker
	if err := json.Unmarshal(b, &m); err != nil || !partitionDirRE.MatchString(m.Partition) || len(m.New) == 0 {
		return fmt.Errorf("staged compaction %s has an unreadable %s marker: move the folder aside and run again", filepath.Base(stage), readyFile)
	}
	partDir := filepath.Join(w.Dir, LakeDir, filepath.FromSlash(m.Partition))
	swapped := true
	for _, f := range m.New {
		if path.Dir(f.Path) != m.Partition {
			return fmt.Errorf("staged compaction %s names a file outside its partition: move the folder aside and run again", filepath.Base(stage))
		}
		if _, err := os.Stat(filepath.Join(partDir, path.Base(f.Path))); err != nil {
			swapped = false
		}
	}
	if !swapped {
		if err := os.RemoveAll(stage); err != nil {
			return fmt.Errorf("removing an unfinished compaction: %w", err)
		}
		return nil
	}
	return w.finishCompaction(stage, m)
}

func syncFilePath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("syncing a lake file: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing a lake file: %w", err)
	}
	return nil
}

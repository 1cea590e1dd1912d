package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// The lake's manifest, lake/MANIFEST.json, lists every Parquet file under
// lake/events with its row count, size and the range of ingest batches its
// rows came from. Publication, compaction, erasure and retention keep it
// true: each changes files and then rewrites the manifest (written aside,
// synced, renamed). `cxlake lake verify` compares the files on disk with
// it, so a deleted, truncated or stray file is noticed; erasure and
// retention may use it to find candidate files without listing every
// folder. It is the step toward an Iceberg snapshot.

// LakeManifestFile is the manifest's name inside lake/.
const LakeManifestFile = "MANIFEST.json"

// LakeFile is one file of the lake as the manifest records it.
type LakeFile struct {
	// Path is relative to lake/, e.g.
	// events/date=2026-12-01/channel=whatsapp/b3_7_<uuid>.parquet.
	Path  string `json:"path"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	// FromBatch and ToBatch bound the ingest batches of the file's rows (0
	// when the file has none or its statistics do not say).
	FromBatch int64 `json:"from_batch"`
	ToBatch   int64 `json:"to_batch"`
}

// LakeManifest is the content of lake/MANIFEST.json.
type LakeManifest struct {
	FormatVersion int        `json:"format_version"`
	Files         []LakeFile `json:"files"` // sorted by Path
}

// manifestMu serialises read-modify-write of a manifest within a process;
// across processes, the DuckDB file's lock admits one writer.
var manifestMu sync.Mutex

func manifestPath(dataDir string) string {
	return filepath.Join(dataDir, LakeDir, LakeManifestFile)
}

// ReadLakeManifest reads a data directory's lake manifest; ok is false when
// the lake has none yet.
func ReadLakeManifest(dataDir string) (m LakeManifest, ok bool, err error) {
	b, err := os.ReadFile(manifestPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("reading the lake manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.FormatVersion < 1 {
		return m, false, fmt.Errorf("the lake manifest %s is not valid JSON of format_version 1: rebuild it with `cxlake lake verify --rebuild`", LakeManifestFile)
	}
	if m.FormatVersion > LakeFormatVersion {
		return m, false, fmt.Errorf("the lake manifest is of format %d, this cxlake knows %d: a newer cxlake wrote it", m.FormatVersion, LakeFormatVersion)
	}
	return m, true, nil
}

func writeLakeManifest(dataDir string, m LakeManifest) error {
	m.FormatVersion = LakeFormatVersion
	slices.SortFunc(m.Files, func(a, b LakeFile) int { return strings.Compare(a.Path, b.Path) })
	if m.Files == nil {
		m.Files = []LakeFile{}
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("writing the lake manifest: %w", err)
	}
	p := manifestPath(dataDir)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("writing the lake manifest: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the lake manifest: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

// editLakeManifest applies edit to the manifest's files, keyed by path, and
// writes it. With no manifest, it does nothing: the next Open builds one
// from the files on disk.
func editLakeManifest(dataDir string, edit func(files map[string]LakeFile) error) error {
	manifestMu.Lock()
	defer manifestMu.Unlock()
	m, ok, err := ReadLakeManifest(dataDir)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	files := make(map[string]LakeFile, len(m.Files))
	for _, f := range m.Files {
		files[f.Path] = f
	}
	if err := edit(files); err != nil {
		return err
	}
	m.Files = m.Files[:0]
	for _, f := range files {
		m.Files = append(m.Files, f)
	}
	return writeLakeManifest(dataDir, m)
}

// RecordLakeChanges brings the manifest's entries for the given files up to
// date after they were rewritten or removed (erasure, retention). Paths are
// relative to the data directory (lake/events/...) or absolute. A file
// that no longer exists leaves the manifest; one that does is described
// again from its footer.
func RecordLakeChanges(dataDir string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	lake := filepath.Join(dataDir, LakeDir)
	return editLakeManifest(dataDir, func(files map[string]LakeFile) error {
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dataDir, p)
			}
			rel, err := filepath.Rel(lake, p)
			if err != nil {
				return fmt.Errorf("recording lake changes: %w", err)
			}
			rel = filepath.ToSlash(rel)
			info, err := describeLakeFile(lake, rel)
			if errors.Is(err, fs.ErrNotExist) {
				delete(files, rel)
				continue
			}
			if err != nil {
				return err
			}
			files[rel] = info
		}
		return nil
	})
}

// chunkName matches the batch range in a published file's name.
var chunkName = regexp.MustCompile(`^[bc](\d+)_(\d+)_`)

// describeLakeFile reads a lake file's footer: its rows, size and the range
// of batch_id its statistics give (or its name, for files without them).
func describeLakeFile(lake, rel string) (LakeFile, error) {
	p := filepath.Join(lake, filepath.FromSlash(rel))
	st, err := os.Stat(p)
	if err != nil {
		return LakeFile{}, err
	}
	rows, lo, hi, err := parquetFooter(p)
	if err != nil {
		return LakeFile{}, fmt.Errorf("reading lake file %s: %w", rel, err)
	}
	if lo == 0 && hi == 0 {
		if m := chunkName.FindStringSubmatch(filepath.Base(p)); m != nil {
			lo, _ = strconv.ParseInt(m[1], 10, 64)
			hi, _ = strconv.ParseInt(m[2], 10, 64)
		}
	}
	return LakeFile{Path: rel, Rows: rows, Bytes: st.Size(), FromBatch: lo, ToBatch: hi}, nil
}

// errFooter means a Parquet file's footer cannot be read: the file is
// truncated or is no Parquet file.
var errFooter = errors.New("unreadable Parquet footer")

// parquetFooter reads a Parquet file's row count and the min and max of its
// batch_id column from the footer alone (no data pages).
func parquetFooter(path string) (rows, minBatch, maxBatch int64, err error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, 0, 0, err
		}
		return 0, 0, 0, fmt.Errorf("%w: %v", errFooter, err)
	}
	defer r.Close()
	md := r.MetaData()
	rows = r.NumRows()
	col := md.Schema.ColumnIndexByName("batch_id")
	if col < 0 {
		return rows, 0, 0, nil
	}
	for i := 0; i < md.NumRowGroups(); i++ {
		cc, err := md.RowGroup(i).ColumnChunk(col)
		if err != nil {
			return rows, 0, 0, nil
		}
		st, err := cc.Statistics()
		s, ok := st.(*metadata.Int64Statistics)
		if err != nil || !ok || !s.HasMinMax() {
			return rows, 0, 0, nil
		}
		if minBatch == 0 || s.Min() < minBatch {
			minBatch = s.Min()
		}
		maxBatch = max(maxBatch, s.Max())
	}
	return rows, minBatch, maxBatch, nil
}

// lakeEventFiles lists the Parquet files under lake/events, relative to
// lake/ with forward slashes, sorted.
func lakeEventFiles(dataDir string) ([]string, error) {
	lake := filepath.Join(dataDir, LakeDir)
	var out []string
	err := filepath.WalkDir(filepath.Join(lake, "events"), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".parquet" {
			rel, err := filepath.Rel(lake, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing lake files: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// ensureLakeManifest builds the manifest of a lake that has none (one made
// before manifests existed) from the files on disk. A file whose footer
// cannot be read stops the upgrade: it is named, to be restored or moved
// aside, rather than left out of the record.
func ensureLakeManifest(ctx context.Context, dataDir string) error {
	if _, ok, err := ReadLakeManifest(dataDir); err != nil || ok {
		return err
	}
	return RebuildLakeManifest(ctx, dataDir)
}

// RebuildLakeManifest writes the manifest afresh from the files on disk
// (the upgrade of a lake without one, and `cxlake lake verify --rebuild`
// after an operator has dealt with what verify found).
func RebuildLakeManifest(ctx context.Context, dataDir string) error {
	rels, err := lakeEventFiles(dataDir)
	if err != nil {
		return err
	}
	lake := filepath.Join(dataDir, LakeDir)
	m := LakeManifest{Files: make([]LakeFile, 0, len(rels))}
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := describeLakeFile(lake, rel)
		if err != nil {
			return fmt.Errorf("building the lake manifest: %w (restore the file or move it out of lake/events)", err)
		}
		m.Files = append(m.Files, f)
	}
	manifestMu.Lock()
	defer manifestMu.Unlock()
	if err := os.MkdirAll(lake, 0o750); err != nil {
		return fmt.Errorf("creating the lake folder: %w", err)
	}
	return writeLakeManifest(dataDir, m)
}

// describeChunk lists a ready chunk's files for the manifest: from its
// marker, or, for a marker of a release before the manifest, from the
// files of the chunk's name already in lake/events and still staged.
func (w *Warehouse) describeChunk(c chunk) ([]LakeFile, error) {
	if len(c.files) > 0 {
		return c.files, nil
	}
	lake := filepath.Join(w.Dir, LakeDir)
	stage := filepath.Join(lake, StagingDir, fmt.Sprintf("b%d_%d", c.from, c.to))
	pattern := fmt.Sprintf("b%d_%d_*.parquet", c.from, c.to)
	var out []LakeFile
	for _, where := range []struct{ base, glob, prefix string }{
		{lake, filepath.Join(lake, "events", "*", "*", pattern), ""},
		{stage, filepath.Join(stage, "*", "*", pattern), "events/"},
	} {
		found, err := filepath.Glob(where.glob)
		if err != nil {
			return nil, fmt.Errorf("listing a staged chunk's files: %w", err)
		}
		for _, p := range found {
			rel, err := filepath.Rel(where.base, p)
			if err != nil {
				return nil, fmt.Errorf("listing a staged chunk's files: %w", err)
			}
			f, err := describeLakeFile(where.base, filepath.ToSlash(rel))
			if err != nil {
				return nil, err
			}
			f.Path = where.prefix + f.Path
			out = append(out, f)
		}
	}
	return out, nil
}

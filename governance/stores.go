package governance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// Store is one place event rows live that erasure and retention act on:
// the events table in DuckDB (EventsTable) and the Parquet lake (Lake).
// Both must behave alike; storetest.TestStore checks that they do.
type Store interface {
	// Name says where, for receipts and retention_runs: "duckdb:events", "lake".
	Name() string
	// Erase removes every row naming any of hashes (identifier hashes, in
	// any identifier column). Rows of other people are untouched.
	Erase(ctx context.Context, hashes []string) (Removal, error)
	// Expire removes every row that occurred before cutoff.
	Expire(ctx context.Context, cutoff time.Time) (Removal, error)
	// Count counts the rows naming any of hashes (nil: every row) that
	// occurred before before (zero: any time). An error is only returned
	// for problems reading the store.
	Count(ctx context.Context, hashes []string, before time.Time) (int64, error)
}

// Removal says what a Store removed.
type Removal struct {
	Rows           int64    `json:"rows"`
	FilesRemoved   int      `json:"files_removed,omitempty"`
	FilesRewritten int      `json:"files_rewritten,omitempty"`
	Files          []string `json:"files,omitempty"` // relative to the data directory
}

// EventsTable is the events table, through q (a connection inside a
// transaction, or the database).
type EventsTable struct {
	Q querier
	// Whole says the hashes given are a whole resolved person's: then the
	// subject column alone finds their rows (one column scanned, not seven).
	Whole bool
}

// filter returns the SQL filter and arguments of rows naming hashes.
func filter(hashes []string, whole bool) (string, []any) {
	if whole {
		return personOnly, []any{hashes}
	}
	return eventsOfPerson, eventsOfPersonArgs(hashes)
}

func (EventsTable) Name() string { return "duckdb:events" }

func (t EventsTable) Erase(ctx context.Context, hashes []string) (Removal, error) {
	if len(hashes) == 0 {
		return Removal{}, nil
	}
	where, args := filter(hashes, t.Whole)
	res, err := t.Q.ExecContext(ctx, `delete from events where `+where, args...)
	if err != nil {
		return Removal{}, fmt.Errorf("deleting the person's events: %w", err)
	}
	n, _ := res.RowsAffected()
	return Removal{Rows: n}, nil
}

func (t EventsTable) Expire(ctx context.Context, cutoff time.Time) (Removal, error) {
	res, err := t.Q.ExecContext(ctx, `delete from events where occurred_at < ?`, cutoff.UTC())
	if err != nil {
		return Removal{}, fmt.Errorf("deleting expired events: %w", err)
	}
	n, _ := res.RowsAffected()
	return Removal{Rows: n}, nil
}

func (t EventsTable) Count(ctx context.Context, hashes []string, before time.Time) (int64, error) {
	n, err := countRows(ctx, t.Q, "events", hashes, t.Whole, before)
	if err != nil {
		return 0, fmt.Errorf("counting events: %w", err)
	}
	return n, nil
}

// countRows counts the rows of relation that name hashes (nil: any row; an
// empty list: none) and happened before before (zero: any time). The events
// table and the lake's files have the same columns, so one query serves both.
func countRows(ctx context.Context, q querier, relation string, hashes []string, whole bool, before time.Time) (int64, error) {
	query, args := "select count(*) from "+relation+" where true", []any{}
	if hashes != nil {
		if len(hashes) == 0 {
			return 0, nil
		}
		where, a := filter(hashes, whole)
		query += " and " + where
		args = append(args, a...)
	}
	if !before.IsZero() {
		query += " and occurred_at < ?"
		args = append(args, before.UTC())
	}
	var n int64
	err := q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// Lake is the Parquet lake under a data directory
// (DIR/lake/events/date=D/channel=C/*.parquet). It reads and rewrites files
// with DuckDB (Q). A rewrite writes the kept rows to a new file beside the
// old one, then renames it over the old: a reader sees the old file or the
// new one, whole. Only files holding removed rows are rewritten; a file
// left empty is deleted.
type Lake struct {
	Dir string // the data directory
	Q   querier
	// Whole: as EventsTable.Whole.
	Whole bool
	// Log says where erasure and retention took the lake's files from
	// (filesIn); nil: slog.Default().
	Log *slog.Logger
}

func (Lake) Name() string { return "lake" }

func (l Lake) root() string { return filepath.Join(l.Dir, warehouse.LakeDir, "events") }

// files lists the lake's Parquet files, sorted.
func (l Lake) files() ([]string, error) {
	var out []string
	err := filepath.WalkDir(l.root(), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing lake files: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// Where filesIn took a list of lake files from.
const (
	lakeFromManifest = "manifest"
	lakeFromFolders  = "folders"
)

// lakeListing is the lake's files under some folders.
type lakeListing struct {
	files []string // absolute paths, sorted
	rows  int64    // their rows as the manifest records them; -1 when listed from the folders
	from  string   // lakeFromManifest or lakeFromFolders
}

// filesIn lists the lake files under folders (relative to lake/events:
// "date=D" or "date=D/channel=C"). It takes them from the manifest when,
// folder by folder, the manifest names exactly the Parquet files on disk,
// each at its size (warehouse.LakeFilesIn); then their row counts are
// known without opening them. Otherwise (no manifest, an unreadable one,
// any difference) it fails closed: the files are those the folders hold,
// as before manifests existed, and the difference is logged. Checking
// costs the same listing as the fallback: what the manifest saves is
// reading the files. purpose names the caller in the log, which holds
// counts only.
func (l Lake) filesIn(ctx context.Context, purpose string, folders []string) (lakeListing, error) {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	mf, findings, err := warehouse.LakeFilesIn(ctx, l.Dir, folders)
	if err == nil && len(findings) == 0 {
		out := lakeListing{files: make([]string, len(mf)), from: lakeFromManifest}
		for i, f := range mf {
			out.files[i] = filepath.Join(l.Dir, warehouse.LakeDir, filepath.FromSlash(f.Path))
			out.rows += f.Rows
		}
		slices.Sort(out.files)
		log.Info("lake files taken from the manifest", "purpose", purpose, "lake_files_from", lakeFromManifest,
			"folders", len(folders), "files", len(out.files))
		return out, nil
	}
	if ctx.Err() != nil {
		return lakeListing{}, ctx.Err()
	}
	why := map[string]int{}
	switch {
	case errors.Is(err, warehouse.ErrNoLakeManifest):
		why["no_manifest"] = 1
	case err != nil:
		why["unreadable_manifest"] = 1
	}
	for _, f := range findings {
		why[strings.ReplaceAll(string(f.Problem), " ", "_")]++
	}
	out := lakeListing{rows: -1, from: lakeFromFolders}
	for _, folder := range folders {
		files, err := filesUnder(filepath.Join(l.root(), folder))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a folder that is gone holds nothing
		}
		if err != nil {
			return lakeListing{}, err
		}
		out.files = append(out.files, files...)
	}
	slices.Sort(out.files)
	out.files = slices.Compact(out.files)
	args := []any{"purpose", purpose, "lake_files_from", lakeFromFolders, "folders", len(folders), "files", len(out.files)}
	for _, k := range slices.Sorted(maps.Keys(why)) {
		args = append(args, k, why[k])
	}
	log.Warn("lake files listed from the folders, not the manifest (none, or it differs from them)", args...)
	return out, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// filesHolding returns the files with at least one row matching where.
func (l Lake) filesHolding(ctx context.Context, files []string, where string, args []any) ([]string, error) {
	if len(files) == 0 {
		return nil, nil
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = sqlString(f)
	}
	rows, err := l.Q.QueryContext(ctx, `select distinct filename from read_parquet([`+strings.Join(list, ", ")+`], filename = true, union_by_name = true)
		where `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("scanning lake files: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("scanning lake files: %w", err)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out, rows.Err()
}

// rewrite rewrites each file keeping only rows not matching where.
func (l Lake) rewrite(ctx context.Context, files []string, where string, args []any) (Removal, error) {
	var r Removal
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		var total, gone int64
		if err := l.Q.QueryRowContext(ctx, `select count(*), count(*) filter (where `+where+`) from read_parquet(`+sqlString(f)+`)`, args...).Scan(&total, &gone); err != nil {
			return r, fmt.Errorf("reading lake file %s: %w", filepath.Base(f), err)
		}
		if gone == 0 {
			continue
		}
		rel, _ := filepath.Rel(l.Dir, f)
		r.Rows += gone
		r.Files = append(r.Files, rel)
		if gone == total {
			if err := os.Remove(f); err != nil {
				return r, fmt.Errorf("removing lake file: %w", err)
			}
			r.FilesRemoved++
			continue
		}
		tmp := f + ".rewrite"
		if _, err := l.Q.ExecContext(ctx, `copy (select * from read_parquet(`+sqlString(f)+`) where (`+where+`) is not true)
			to `+sqlString(tmp)+` (format parquet, compression zstd)`, args...); err != nil {
			os.Remove(tmp)
			return r, fmt.Errorf("rewriting lake file %s: %w", filepath.Base(f), err)
		}
		if err := syncFile(tmp); err != nil {
			os.Remove(tmp)
			return r, err
		}
		if err := os.Rename(tmp, f); err != nil {
			os.Remove(tmp)
			return r, fmt.Errorf("replacing lake file: %w", err)
		}
		r.FilesRewritten++
	}
	return r, nil
}

func (l Lake) Erase(ctx context.Context, hashes []string) (Removal, error) {
	if len(hashes) == 0 {
		return Removal{}, nil
	}
	files, err := l.files()
	if err != nil {
		return Removal{}, err
	}
	return l.EraseIn(ctx, files, hashes)
}

// EraseIn is Erase limited to candidate files (those that may hold the
// rows, e.g. found from the events table); it still rewrites only the
// candidates that do.
func (l Lake) EraseIn(ctx context.Context, candidates []string, hashes []string) (Removal, error) {
	if len(hashes) == 0 {
		return Removal{}, nil // nobody: an empty id-map pattern would match every row
	}
	where, args := filter(hashes, l.Whole)
	holding, err := l.filesHolding(ctx, candidates, where, args)
	if err != nil {
		return Removal{}, err
	}
	r, err := l.rewrite(ctx, holding, where, args)
	// The manifest follows every file rewritten or removed, also those
	// done before an error.
	if merr := warehouse.RecordLakeChanges(l.Dir, r.Files); err == nil {
		err = merr
	}
	if err != nil {
		return r, err
	}
	return r, syncDirs(l.Dir, r.Files)
}

// Expire removes whole date partitions older than cutoff's day, and
// rewrites the files of cutoff's own day when cutoff is not midnight. The
// lake's manifest follows every file it rewrote or removed. A day's files,
// and the rows of a removed day, are taken from the manifest when it
// agrees with the day's folder (filesIn).
func (l Lake) Expire(ctx context.Context, cutoff time.Time) (r Removal, err error) {
	defer func() {
		if merr := warehouse.RecordLakeChanges(l.Dir, r.Files); err == nil {
			err = merr
		}
	}()
	cutoff = cutoff.UTC()
	day := cutoff.Format(time.DateOnly)
	entries, err := os.ReadDir(l.root())
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("listing lake partitions: %w", err)
	}
	for _, e := range entries {
		// Partitions compare as dates, never as strings ("10000-01-01" sorts
		// before "2026-03-10"); a name that is no date is left alone.
		d, ok := strings.CutPrefix(e.Name(), "date=")
		pday, err := time.Parse(time.DateOnly, d)
		if !e.IsDir() || !ok || err != nil || pday.After(cutoff.Truncate(Day)) {
			continue
		}
		if d == day && cutoff.Equal(cutoff.Truncate(Day)) {
			continue // the cutoff's day is kept whole
		}
		part := filepath.Join(l.root(), e.Name())
		ls, err := l.filesIn(ctx, "retention", []string{e.Name()})
		if err != nil {
			return r, err
		}
		if d == day {
			rr, err := l.rewrite(ctx, ls.files, "occurred_at < ?", []any{cutoff})
			if err != nil {
				return r, err
			}
			r.Rows += rr.Rows
			r.FilesRemoved += rr.FilesRemoved
			r.FilesRewritten += rr.FilesRewritten
			r.Files = append(r.Files, rr.Files...)
			continue
		}
		if len(ls.files) > 0 {
			n := ls.rows // the manifest's count, when it agreed with the folder
			if n < 0 {
				list := make([]string, len(ls.files))
				for i, f := range ls.files {
					list[i] = sqlString(f)
				}
				if err := l.Q.QueryRowContext(ctx, `select count(*) from read_parquet([`+strings.Join(list, ", ")+`])`).Scan(&n); err != nil {
					return r, fmt.Errorf("counting expired lake rows: %w", err)
				}
			}
			r.Rows += n
			r.FilesRemoved += len(ls.files)
			for _, f := range ls.files {
				rel, _ := filepath.Rel(l.Dir, f)
				r.Files = append(r.Files, rel)
			}
		}
		if err := os.RemoveAll(part); err != nil {
			return r, fmt.Errorf("removing expired lake partition %s: %w", e.Name(), err)
		}
	}
	return r, syncDir(l.root())
}

func (l Lake) Count(ctx context.Context, hashes []string, before time.Time) (int64, error) {
	files, err := l.files()
	if err != nil {
		return 0, err
	}
	return l.CountIn(ctx, files, hashes, before)
}

// CountIn is Count over the given files only.
func (l Lake) CountIn(ctx context.Context, files []string, hashes []string, before time.Time) (int64, error) {
	if len(files) == 0 {
		return 0, nil
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = sqlString(f)
	}
	n, err := countRows(ctx, l.Q, `read_parquet([`+strings.Join(list, ", ")+`], union_by_name = true)`, hashes, l.Whole, before)
	if err != nil {
		return 0, fmt.Errorf("counting lake rows: %w", err)
	}
	return n, nil
}

func filesUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing lake files: %w", err)
	}
	return out, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// syncDirs syncs the directories of the files (relative to base).
func syncDirs(base string, files []string) error {
	done := map[string]bool{}
	for _, f := range files {
		d := filepath.Dir(filepath.Join(base, f))
		if done[d] {
			continue
		}
		done[d] = true
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

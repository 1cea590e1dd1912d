package warehouse

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LakeProblem is the kind of a difference between the lake's files and
// its manifest.
type LakeProblem string

const (
	// LakeMissing: the manifest lists the file; it is not on disk.
	LakeMissing LakeProblem = "missing"
	// LakeExtra: a Parquet file under lake/events the manifest does not list.
	LakeExtra LakeProblem = "extra"
	// LakeTruncated: the file's Parquet footer cannot be read.
	LakeTruncated LakeProblem = "truncated"
	// LakeRowsDiffer: the footer's row count is not the manifest's.
	LakeRowsDiffer LakeProblem = "rows differ"
	// LakeSizeDiffers: rows agree but the size does not (the file was
	// replaced by other content).
	LakeSizeDiffers LakeProblem = "size differs"
)

// LakeFinding is one difference verify found. Path is relative to lake/;
// lake paths hold dates, channel names and batch numbers, no personal data
// (String quotes it: an extra file's name is anyone's).
type LakeFinding struct {
	Path    string
	Problem LakeProblem
	// Want and Got are the manifest's and the file's row counts (for
	// LakeRowsDiffer) or sizes (for LakeSizeDiffers).
	Want, Got int64
}

func (f LakeFinding) String() string {
	switch f.Problem {
	case LakeRowsDiffer:
		return fmt.Sprintf("%q: %s (manifest %d, file %d)", f.Path, f.Problem, f.Want, f.Got)
	case LakeSizeDiffers:
		return fmt.Sprintf("%q: %s (manifest %d bytes, file %d)", f.Path, f.Problem, f.Want, f.Got)
	}
	return fmt.Sprintf("%q: %s", f.Path, f.Problem)
}

// ErrNoLakeManifest means the lake has no manifest yet: any command that
// opens the data directory for writing builds it.
var ErrNoLakeManifest = errors.New("the lake has no manifest yet: open the data directory once with a writing command (e.g. `cxlake migrate`), or run `cxlake lake verify --rebuild`")

// VerifyLake compares the Parquet files under DIR/lake/events with the
// lake's manifest and returns every difference, sorted by path. It reads
// footers only, needs no DuckDB and no lock: run it while nothing writes
// the lake (a publication that runs meanwhile shows as a passing "extra"
// file; run it again).
func VerifyLake(ctx context.Context, dataDir string) ([]LakeFinding, error) {
	m, ok, err := ReadLakeManifest(dataDir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoLakeManifest
	}
	onDisk, err := lakeEventFiles(dataDir)
	if err != nil {
		return nil, err
	}
	present := make(map[string]bool, len(onDisk))
	for _, p := range onDisk {
		present[p] = true
	}
	lake := filepath.Join(dataDir, LakeDir)
	var out []LakeFinding
	listed := make(map[string]bool, len(m.Files))
	for _, want := range m.Files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		listed[want.Path] = true
		p := filepath.Join(lake, filepath.FromSlash(want.Path))
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			out = append(out, LakeFinding{Path: want.Path, Problem: LakeMissing})
			continue
		}
		if err != nil {
			return out, fmt.Errorf("verifying the lake: %w", err)
		}
		rows, _, _, err := parquetFooter(p)
		switch {
		case errors.Is(err, errFooter):
			out = append(out, LakeFinding{Path: want.Path, Problem: LakeTruncated, Want: want.Bytes, Got: st.Size()})
		case err != nil:
			return out, fmt.Errorf("verifying the lake: %w", err)
		case rows != want.Rows:
			out = append(out, LakeFinding{Path: want.Path, Problem: LakeRowsDiffer, Want: want.Rows, Got: rows})
		case st.Size() != want.Bytes:
			out = append(out, LakeFinding{Path: want.Path, Problem: LakeSizeDiffers, Want: want.Bytes, Got: st.Size()})
		}
	}
	for _, p := range onDisk {
		if !listed[p] {
			out = append(out, LakeFinding{Path: p, Problem: LakeExtra})
		}
	}
	slices.SortStableFunc(out, func(a, b LakeFinding) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// LakeFilesIn returns the manifest's files under the given folders of
// lake/events ("date=D" or "date=D/channel=C"), after checking them
// against the folders on disk: each folder must hold exactly the Parquet
// files the manifest lists under it, each of the manifest's size. Any
// difference is returned as findings (missing, extra, size differs), and
// then the files must not be taken from the manifest: the caller lists
// the folders instead (erasure and retention fail closed this way). It
// returns ErrNoLakeManifest when the lake has no manifest. A folder that
// is not on disk must have no file in the manifest. Unlike VerifyLake it
// reads no footer: a file of the manifest's size is taken for the file
// the manifest describes.
func LakeFilesIn(ctx context.Context, dataDir string, folders []string) ([]LakeFile, []LakeFinding, error) {
	m, ok, err := ReadLakeManifest(dataDir)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, ErrNoLakeManifest
	}
	lake := filepath.Join(dataDir, LakeDir)
	var files []LakeFile
	var findings []LakeFinding
	seen := map[string]bool{}
	for _, folder := range folders {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		prefix := "events/" + strings.Trim(filepath.ToSlash(folder), "/") + "/"
		if seen[prefix] {
			continue
		}
		seen[prefix] = true
		onDisk := map[string]int64{}
		err := filepath.WalkDir(filepath.Join(lake, filepath.FromSlash(prefix)), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || filepath.Ext(p) != ".parquet" {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(lake, p)
			if err != nil {
				return err
			}
			onDisk[filepath.ToSlash(rel)] = info.Size()
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("listing lake folder %s: %w", folder, err)
		}
		for _, want := range m.Files {
			if !strings.HasPrefix(want.Path, prefix) {
				continue
			}
			size, there := onDisk[want.Path]
			switch {
			case !there:
				findings = append(findings, LakeFinding{Path: want.Path, Problem: LakeMissing})
			case size != want.Bytes:
				findings = append(findings, LakeFinding{Path: want.Path, Problem: LakeSizeDiffers, Want: want.Bytes, Got: size})
			default:
				files = append(files, want)
			}
			delete(onDisk, want.Path)
		}
		for p := range onDisk {
			findings = append(findings, LakeFinding{Path: p, Problem: LakeExtra})
		}
	}
	slices.SortFunc(files, func(a, b LakeFile) int { return strings.Compare(a.Path, b.Path) })
	slices.SortStableFunc(findings, func(a, b LakeFinding) int { return strings.Compare(a.Path, b.Path) })
	return files, findings, nil
}

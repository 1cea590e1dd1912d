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

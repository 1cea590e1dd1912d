package warehouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The lake's format version. Other engines read the lake's Parquet files
// directly, so its layout (columns, partitioning, file naming) is a
// contract of its own, versioned apart from the DuckDB schema: the file
// lake/FORMAT.json says which layout the files follow. A new binary that
// changes the layout bumps LakeFormatVersion and ships the rewrite with
// `cxlake migrate`; a binary never writes into a lake of a newer format.

// LakeFormatVersion is the lake layout this binary writes: Hive partitions
// date=YYYY-MM-DD/channel=NAME under lake/events, one Parquet file per
// partition and publication, with the columns of LakeColumns.
const LakeFormatVersion = 1

// LakeFormatFile is the format file's name inside lake/.
const LakeFormatFile = "FORMAT.json"

type lakeFormat struct {
	FormatVersion int    `json:"format_version"`
	Layout        string `json:"layout"`
}

// LakeFormatError means the lake was written in a format this binary does
// not know.
type LakeFormatError struct {
	Dir         string
	Found, Know int
}

func (e *LakeFormatError) Error() string {
	return fmt.Sprintf("the lake in %s is in format %d, but this cxlake (%s) writes format %d: a newer cxlake wrote it (docs/upgrading.md)",
		e.Dir, e.Found, BinaryVersion(), e.Know)
}

// checkLakeFormat reads lake/FORMAT.json; with create, it writes the file
// when the lake has none (a new lake, or one made before the file existed,
// which is format 1).
func checkLakeFormat(dir string, create bool) error {
	p := filepath.Join(dir, LakeDir, LakeFormatFile)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return fmt.Errorf("creating the lake folder: %w", err)
		}
		out, _ := json.MarshalIndent(lakeFormat{FormatVersion: LakeFormatVersion,
			Layout: "events/date=YYYY-MM-DD/channel=NAME/*.parquet (docs/tables.md)"}, "", "  ")
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, append(out, '\n'), 0o640); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading the lake's format: %w", err)
	}
	var f lakeFormat
	if err := json.Unmarshal(b, &f); err != nil || f.FormatVersion < 1 {
		return fmt.Errorf("the lake's format file %s is not valid: restore it from a backup, or write {\"format_version\": 1} if the lake was made by cxlake 1", p)
	}
	if f.FormatVersion > LakeFormatVersion {
		return &LakeFormatError{Dir: dir, Found: f.FormatVersion, Know: LakeFormatVersion}
	}
	return nil
}

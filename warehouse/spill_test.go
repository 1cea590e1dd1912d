package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSpillLandsOutsideTheDataDirectory (issue 12, B11): with no
// memory.temp_directory, DuckDB's spill folder is the per-directory folder
// under the system's temporary directory, never inside the data
// directory, readable by its owner only, and capped by
// memory.max_temp_size. DuckDB's own default would be <database>.tmp next
// to the database file, on the data disk.
func TestSpillLandsOutsideTheDataDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Setenv("TMPDIR", t.TempDir())
	dir := t.TempDir()
	wh, err := Open(ctx, dir, Options{Memory: Memory{MaxTempSize: 300 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var spill, capText string
	if err := wh.DB.QueryRowContext(ctx, "select current_setting('temp_directory'), current_setting('max_temp_directory_size')").Scan(&spill, &capText); err != nil {
		t.Fatal(err)
	}
	absDir, _ := filepath.Abs(dir)
	if rel, err := filepath.Rel(absDir, spill); err == nil && !strings.HasPrefix(rel, "..") {
		t.Fatalf("spill folder %s is inside the data directory %s", spill, absDir)
	}
	if !strings.HasPrefix(spill, os.Getenv("TMPDIR")+string(filepath.Separator)+"cxlake-spill-") {
		t.Fatalf("spill folder %s is not a cxlake-spill-<hash> folder of TMPDIR", spill)
	}
	fi, err := os.Stat(spill)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("spill folder mode %v, want 0700 (spilled pages hold event content)", fi.Mode().Perm())
	}
	if !strings.HasPrefix(capText, "300") && !strings.HasPrefix(capText, "314") {
		t.Fatalf("max_temp_directory_size is %q, want memory.max_temp_size's 300 MiB", capText)
	}
}

package warehouse

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func manifestRows(t *testing.T, dir string) int64 {
	t.Helper()
	m, ok, err := ReadLakeManifest(dir)
	if err != nil || !ok {
		t.Fatalf("reading the manifest: ok %v, %v", ok, err)
	}
	var n int64
	for _, f := range m.Files {
		n += f.Rows
	}
	return n
}

// Every publication records its files; verify names a deleted, an extra
// and a truncated file, and a file whose rows differ, each by path.
func TestLakeVerifyNamesEachProblem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeSpread(t, w, 900, 2) // 18 partitions
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	m, ok, err := ReadLakeManifest(dir)
	if err != nil || !ok {
		t.Fatalf("no manifest after a publication: %v", err)
	}
	if len(m.Files) != 18 || manifestRows(t, dir) != 900 {
		t.Fatalf("manifest has %d files and %d rows, want 18 and 900", len(m.Files), manifestRows(t, dir))
	}
	for _, f := range m.Files {
		if f.FromBatch != 1 || f.ToBatch != 1 || f.Rows != 50 || f.Bytes == 0 {
			t.Fatalf("entry %+v: want rows 50 of batch 1", f)
		}
	}
	if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
		t.Fatalf("verify of an intact lake: %v %v", found, err)
	}
	lake := filepath.Join(dir, LakeDir)
	deleted, truncated, swapped := m.Files[0].Path, m.Files[1].Path, m.Files[2].Path
	if err := os.Remove(filepath.Join(lake, deleted)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(lake, truncated), m.Files[1].Bytes/2); err != nil {
		t.Fatal(err)
	}
	// A stray copy of a file in another partition is an extra file.
	b, err := os.ReadFile(filepath.Join(lake, m.Files[3].Path))
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.ToSlash(filepath.Join(filepath.Dir(m.Files[4].Path), "stray.parquet"))
	if err := os.WriteFile(filepath.Join(lake, extra), b, 0o640); err != nil {
		t.Fatal(err)
	}
	// A file replaced by one with other rows: its row count differs.
	if err := os.WriteFile(filepath.Join(lake, swapped), b, 0o640); err != nil {
		t.Fatal(err)
	}
	found, err := VerifyLake(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]LakeProblem{deleted: LakeMissing, truncated: LakeTruncated, extra: LakeExtra}
	// The swapped file has the same 50 rows as the copy: its size tells.
	// Rows differ is checked below on a file with fewer rows.
	want[swapped] = LakeSizeDiffers
	if len(found) != len(want) {
		t.Fatalf("verify found %v, want %v", found, want)
	}
	for _, f := range found {
		if want[f.Path] != f.Problem {
			t.Fatalf("verify found %v, want %v", found, want)
		}
	}
}

// A rewrite that drops rows (as erasure does) without telling the manifest
// shows as rows that differ; RecordLakeChanges makes the manifest true
// again, and drops the entry of a removed file.
func TestLakeManifestFollowsRewrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	writeSpread(t, w, 90, 1) // 9 partitions of 10 rows
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	m, _, _ := ReadLakeManifest(dir)
	lake := filepath.Join(dir, LakeDir)
	rewritten := filepath.Join(lake, m.Files[0].Path)
	q := `copy (select * from read_parquet('` + quote(rewritten) + `') limit 3) to '` + quote(rewritten+".tmp") + `' (format parquet)`
	if _, err := w.DB.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(rewritten+".tmp", rewritten); err != nil {
		t.Fatal(err)
	}
	removed := filepath.Join(lake, m.Files[1].Path)
	if err := os.Remove(removed); err != nil {
		t.Fatal(err)
	}
	found, _ := VerifyLake(ctx, dir)
	if len(found) != 2 || found[0].Problem != LakeRowsDiffer || found[0].Want != 10 || found[0].Got != 3 || found[1].Problem != LakeMissing {
		t.Fatalf("verify before recording: %v", found)
	}
	rel, _ := filepath.Rel(dir, rewritten)
	if err := RecordLakeChanges(dir, []string{rel, removed}); err != nil {
		t.Fatal(err)
	}
	if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
		t.Fatalf("verify after recording: %v %v", found, err)
	}
	if got := manifestRows(t, dir); got != 90-10-7 {
		t.Fatalf("manifest rows %d, want 73", got)
	}
}

// A lake published before manifests existed gets one at the next Open,
// built from its files.
func TestLakeManifestBuiltOnUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeSpread(t, w, 180, 2)
	if _, err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, LakeDir, LakeManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyLake(ctx, dir); !errors.Is(err, ErrNoLakeManifest) {
		t.Fatalf("verify without a manifest: %v", err)
	}
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m, ok, err := ReadLakeManifest(dir)
	if err != nil || !ok || len(m.Files) != 18 || manifestRows(t, dir) != 180 {
		t.Fatalf("manifest after upgrade: %d files, ok %v, %v", len(m.Files), ok, err)
	}
	if found, err := VerifyLake(ctx, dir); err != nil || len(found) != 0 {
		t.Fatalf("verify after upgrade: %v %v", found, err)
	}
}

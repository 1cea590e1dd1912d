package governance_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/warehouse"
)

// editManifest rewrites the lake's MANIFEST.json through edit, as a fault
// or a stray process would leave it.
func editManifest(t *testing.T, dir string, edit func(m *warehouse.LakeManifest)) {
	t.Helper()
	p := filepath.Join(dir, warehouse.LakeDir, warehouse.LakeManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m warehouse.LakeManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// lakeFileOf is the lake file (relative to lake/) holding the event id.
func lakeFileOf(t *testing.T, e *env, id string) string {
	t.Helper()
	var f string
	if err := e.wh.DB.QueryRow(`select filename from read_parquet(?, filename = true) where event_id = ?`,
		e.dir+"/lake/events/**/*.parquet", id).Scan(&f); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Join(e.dir, warehouse.LakeDir), f)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

// listingsFrom counts the log's lines saying where purpose took its lake
// files from ("manifest" or "folders").
func listingsFrom(t *testing.T, e *env, purpose string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "cxlake.log"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "purpose="+purpose+" ") {
			continue
		}
		for _, from := range []string{"manifest", "folders"} {
			if strings.Contains(line, "lake_files_from="+from+" ") {
				out[from]++
			}
		}
	}
	return out
}

// TestErasureTakesLakeFilesFromACheckedManifest: with a manifest that
// agrees with the folders, erasure's three listings (plan, rewrite,
// verification) come from it; with a file of another size, a file missing
// or one the manifest does not list (a copy holding Ana's rows, which a
// trusted manifest would leave behind), or no manifest at all, erasure
// lists the folders, and still leaves nothing of Ana.
func TestErasureTakesLakeFilesFromACheckedManifest(t *testing.T) {
	cases := []struct {
		name  string
		fault func(t *testing.T, e *env)
		from  string
	}{
		{"consistent", func(t *testing.T, e *env) {}, "manifest"},
		{"wrong size", func(t *testing.T, e *env) {
			f := lakeFileOf(t, e, "ana-1")
			editManifest(t, e.dir, func(m *warehouse.LakeManifest) {
				for i := range m.Files {
					if m.Files[i].Path == f {
						m.Files[i].Bytes++
					}
				}
			})
		}, "folders"},
		{"missing file", func(t *testing.T, e *env) {
			f := lakeFileOf(t, e, "ana-1")
			editManifest(t, e.dir, func(m *warehouse.LakeManifest) {
				m.Files = append(m.Files, warehouse.LakeFile{Path: filepath.ToSlash(filepath.Dir(f)) + "/b1_1_gone.parquet", Rows: 3, Bytes: 900})
			})
		}, "folders"},
		{"extra file", func(t *testing.T, e *env) {
			src := filepath.Join(e.dir, warehouse.LakeDir, filepath.FromSlash(lakeFileOf(t, e, "ana-1")))
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(src), "stray-copy.parquet"), b, 0o640); err != nil {
				t.Fatal(err)
			}
		}, "folders"},
		{"no manifest", func(t *testing.T, e *env) {
			if err := os.Remove(filepath.Join(e.dir, warehouse.LakeDir, warehouse.LakeManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, "folders"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, governance.Defaults())
			e.background(300)
			at := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4).Add(15 * time.Hour)
			ana := anaMessages(at)
			e.produce(ana...)
			e.consume("first", int64(300+len(ana)))
			e.refresh()
			if f, err := warehouse.VerifyLake(ctx, e.dir); err != nil || len(f) != 0 {
				t.Fatalf("fixture: the manifest does not match the lake: %v %v", f, err)
			}
			c.fault(t, e)
			lakeAna := `select count(*) from read_parquet('` + e.dir + `/lake/events/**/*.parquet') where event_id like 'ana-%'`
			// Her 8 events are 8 lake rows (the consent event's partition is
			// channel=none), plus those of the stray copy.
			want := int64(8)
			if c.name == "extra file" {
				want += e.count(`select count(*) from read_parquet('` + e.dir + `/lake/events/**/stray-copy.parquet') where event_id like 'ana-%'`)
				if want == 8 {
					t.Fatal("fixture: the stray copy holds none of Ana's rows")
				}
			}
			if n := e.count(lakeAna); n != want {
				t.Fatalf("fixture: %d of Ana's rows in the lake, want %d", n, want)
			}
			id, err := governance.ParseEmail(anaEmail)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := e.gov.Erase(ctx, governance.ErasureRequest{Identifier: id, Reason: "data subject request", Actor: "test", VerifyBytes: true})
			if err != nil {
				t.Fatalf("Erase: %v\n%s", err, rc.Text())
			}
			got := listingsFrom(t, e, "erasure")
			switch c.from {
			case "manifest":
				if got["manifest"] != 3 || got["folders"] != 0 {
					t.Errorf("listings %v, want all 3 (plan, rewrite, verification) from the manifest", got)
				}
			case "folders":
				// The plan saw the difference; the rewrite may have mended
				// the manifest's entry for the files it rewrote.
				if got["folders"] < 1 || got["manifest"]+got["folders"] != 3 {
					t.Errorf("listings %v, want the plan's from the folders", got)
				}
			}
			if !rc.Verification.Passed || rc.Verification.Bytes == nil || len(rc.Verification.Bytes.Hits) != 0 {
				t.Errorf("verification %+v", rc.Verification)
			}
			if n := e.count(lakeAna); n != 0 {
				t.Errorf("%d of Ana's rows left in the lake", n)
			}
			if hits := grep(t, e.dir, anaSecrets); len(hits) > 0 {
				t.Errorf("after erasure: %v", hits)
			}
		})
	}
}

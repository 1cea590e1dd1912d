package warehouse

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// dirDigest hashes every file under dir, names and bytes.
func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func execSQL(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := w.DB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFreshDirectoryRecordsEveryMigration(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := Migrations()
	if len(want) == 0 {
		t.Fatal("no migrations registered")
	}
	for _, m := range want {
		var sum, bin string
		if err := w.DB.QueryRow(`select checksum, binary_version from schema_migrations where component = ? and version = ?`,
			m.Component, m.Version).Scan(&sum, &bin); err != nil {
			t.Fatalf("%s %04d not recorded: %v", m.Component, m.Version, err)
		}
		if sum != m.Checksum || bin == "" {
			t.Errorf("%s %04d recorded with checksum %s and binary %q", m.Component, m.Version, sum, bin)
		}
	}
	plan, err := planMigrations(context.Background(), w.DB, dir)
	if err != nil || len(plan.Pending) != 0 || plan.Fresh {
		t.Fatalf("after open: plan %+v, %v; want nothing pending", plan, err)
	}
}

// A directory written by a newer cxlake is refused with both versions named,
// and not one byte of it changes: neither a read-write nor a read-only open
// writes to it.
func TestNewerDirectoryRefusedAndUnchanged(t *testing.T) {
	dir := t.TempDir()
	execSQL(t, dir, `insert into schema_migrations values ('warehouse', 99, 'from_the_future', 'x', now(), 'v9')`)
	before := dirDigest(t, dir)
	for _, ro := range []bool{false, true} {
		_, err := Open(context.Background(), dir, Options{ReadOnly: ro})
		var ve *SchemaVersionError
		if !errors.As(err, &ve) || ve.Found != 99 || ve.Known != len(components[ComponentWarehouse]) || ve.Component != ComponentWarehouse {
			t.Fatalf("read-only %v: got %v, want a SchemaVersionError naming version 99 and %d", ro, err, len(components[ComponentWarehouse]))
		}
		if msg := err.Error(); !strings.Contains(msg, "version 99") || !strings.Contains(msg, "newer cxlake") {
			t.Errorf("message %q does not name the version and the cause", msg)
		}
	}
	if _, err := PlanMigrations(context.Background(), dir); err == nil {
		t.Error("PlanMigrations accepted a newer directory")
	}
	after := dirDigest(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s changed", p)
		}
	}
}

// A directory made before schema versions existed has the tables but no
// schema_migrations rows: a read-only open asks for cxlake migrate, and a
// read-write open applies version 1 over what is there, keeping the rows.
func TestUnversionedDirectoryMigrates(t *testing.T) {
	dir := t.TempDir()
	execSQL(t, dir, `drop table schema_migrations`,
		`insert into warehouse_meta values ('probe', 'kept')`)
	_, err := Open(context.Background(), dir, Options{ReadOnly: true})
	var pe *MigrationsPendingError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "cxlake migrate --data") {
		t.Fatalf("read-only open: %v, want a MigrationsPendingError naming cxlake migrate", err)
	}
	plan, err := PlanMigrations(context.Background(), dir)
	if err != nil || len(plan.Pending) != len(Migrations()) || plan.Fresh {
		t.Fatalf("plan %+v, %v; want every migration pending on an existing warehouse", plan, err)
	}
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var v string
	if err := w.DB.QueryRow(`select value from warehouse_meta where name = 'probe'`).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("row lost by the migration: %q, %v", v, err)
	}
	if n := count(t, w, `select count(*) from schema_migrations`); n != len(Migrations()) {
		t.Errorf("%d migrations recorded, want %d", n, len(Migrations()))
	}
}

// The writers check the tables' shape: a column added, or a type changed,
// outside the migrations stops Open before the first append.
func TestShapeDifferenceRefused(t *testing.T) {
	for name, stmt := range map[string]string{
		"added":   `alter table events add column extra integer`,
		"retyped": `alter table identifiers alter batch_id type integer`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			execSQL(t, dir, stmt)
			_, err := Open(context.Background(), dir, Options{})
			var se *ShapeError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "outside cxlake's migrations") {
				t.Fatalf("got %v, want a ShapeError", err)
			}
		})
	}
}

func TestRegisterSchemaRefusesGaps(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a set numbered 0001, 0003 was accepted")
		}
	}()
	RegisterSchema("gappy", fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte("select 1")},
		"migrations/0003_c.sql": {Data: []byte("select 1")},
	})
}

// A migration killed half-way leaves the directory at the previous version
// (its transaction never committed), and the next open completes it.
func TestKilledMigrationLeavesPreviousVersion(t *testing.T) {
	if dir := os.Getenv("CXLAKE_MIGRATE_CHILD"); dir != "" {
		// A second component whose one migration is slow when asked to be:
		// the cross join keeps DuckDB busy long after the log line.
		slow := `create table slow_probe as select sum(a.range + b.range) as n from range(200000) a, range(200000) b;`
		if os.Getenv("CXLAKE_MIGRATE_FAST") != "" {
			slow = `create table slow_probe as select 1 as n;`
		}
		RegisterSchema("zz_probe", fstest.MapFS{"migrations/0001_probe.sql": {Data: []byte(slow)}})
		w, err := Open(context.Background(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		return
	}
	dir := t.TempDir()
	execSQL(t, dir) // a warehouse at the latest version of every component here
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMigrationLeavesPreviousVersion$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CXLAKE_MIGRATE_CHILD="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "applying schema migration") && strings.Contains(sc.Text(), "zz_probe") && !seen {
				seen = true
				started <- true
			}
		}
		if !seen {
			started <- false
		}
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatal("the child ended without starting the probe migration")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the child did not start the probe migration within 2 minutes")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, w, `select count(*) from schema_migrations where component = 'zz_probe'`); n != 0 {
		t.Fatalf("the killed migration is recorded (%d rows)", n)
	}
	if n := count(t, w, `select count(*) from duckdb_tables() where table_name = 'slow_probe'`); n != 0 {
		t.Fatal("the killed migration's table exists")
	}
	w.Close()

	// The next open of a binary that has the migration completes it.
	done := exec.Command(os.Args[0], "-test.run=^TestKilledMigrationLeavesPreviousVersion$", "-test.count=1")
	done.Env = append(os.Environ(), "CXLAKE_MIGRATE_CHILD="+dir, "CXLAKE_MIGRATE_FAST=1")
	if out, err := done.CombinedOutput(); err != nil {
		t.Fatalf("completing the migration: %v\n%s", err, out)
	}
	w, err = Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if n := count(t, w, `select count(*) from schema_migrations where component = 'zz_probe' and version = 1`); n != 1 {
		t.Fatal("the next open did not complete the migration")
	}
}

// The lake records its format; a lake of a newer format is refused, a lake
// without the file (made before it existed) is format 1.
func TestLakeFormatVersion(t *testing.T) {
	dir := t.TempDir()
	execSQL(t, dir)
	p := filepath.Join(dir, LakeDir, LakeFormatFile)
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), `"format_version": 1`) {
		t.Fatalf("format file: %q, %v", b, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	execSQL(t, dir) // an older lake gets the file
	if _, err := os.Stat(p); err != nil {
		t.Fatal("the format file was not written for a lake without one")
	}
	if err := os.WriteFile(p, []byte(`{"format_version": 2}`), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := Open(context.Background(), dir, Options{ReadOnly: ro})
		var le *LakeFormatError
		if !errors.As(err, &le) || le.Found != 2 {
			t.Errorf("read-only %v: %v, want a LakeFormatError for format 2", ro, err)
		}
	}
}

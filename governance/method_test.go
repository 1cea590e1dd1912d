package governance_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestDuckDBKeepsDeletedBytes is the premise of crypto-shredding
// (docs/governance.md): DuckDB keeps a deleted row's bytes in the file after
// delete, checkpoint, vacuum and even a rewrite of the table; only a copy
// of the database into a new file drops them. Should a DuckDB upgrade make
// this test fail, deletion alone may have become physical: revisit the method.
func TestDuckDBKeepsDeletedBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200,000-row DuckDB file")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const target = "person-4242@example.com"
	for _, q := range []string{
		// Uncompressed, so that the byte search can see stored strings at all.
		"pragma force_compression='uncompressed'",
		`create table events as select i as id, 'person-' || (i % 50000) || '@example.com' as email,
			md5(i::varchar) as text from range(200000) t(i)`,
		"checkpoint",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	copies := func() int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(b, []byte(target))
	}
	if copies() == 0 {
		t.Fatal("the byte search does not see the stored e-mail: the test would prove nothing")
	}
	for _, q := range []string{
		fmt.Sprintf("delete from events where email = '%s'", target),
		"checkpoint",
		"force checkpoint",
		"vacuum events",
		"create or replace table events as select * from events",
		"checkpoint",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		if copies() == 0 {
			t.Fatalf("after %q the deleted e-mail left the file: deletion may be physical now", q)
		}
	}
	var n int
	if err := db.QueryRow("select count(*) from events where email = ?", target).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows still readable: %d %v", n, err)
	}
}

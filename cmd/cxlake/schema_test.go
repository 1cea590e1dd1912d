package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// schemaSnapshot is the stored schema after every migration, with the
// migrations that made it: a change to what is stored that comes without a
// new migration, or an edit of a released migration, changes it.
const schemaSnapshot = "testdata/schema.snapshot"

// envUpdateSnapshot rewrites the snapshot after a new migration was added.
const envUpdateSnapshot = "CXLAKE_UPDATE_SCHEMA_SNAPSHOT"

func dumpSchema(t *testing.T) (migrations, schema []string) {
	t.Helper()
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	for _, m := range warehouse.Migrations() {
		migrations = append(migrations, fmt.Sprintf("%s %04d_%s %s", m.Component, m.Version, m.Name, m.Checksum))
	}
	// Stored tables only: the models' tables are derived, rebuilt from their
	// SQL (models/), and not versioned here.
	rows, err := wh.DB.QueryContext(ctx, `
		select 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type || case when c.is_nullable then '' else ' not null' end
		from duckdb_columns() as c
		where c.schema_name = 'main' and c.table_name in (select table_name from duckdb_tables() where schema_name = 'main')
		  and c.table_name in (select distinct unnest(?::varchar[]))
		union all
		select 'constraint ' || table_name || ' ' || constraint_type || ' ' || array_to_string(constraint_column_names, ',')
		from duckdb_constraints() where schema_name = 'main' and constraint_type in ('PRIMARY KEY', 'UNIQUE')
		  and table_name in (select distinct unnest(?::varchar[]))
		union all
		select 'sequence ' || sequence_name from duckdb_sequences() where schema_name = 'main'
		order by 1`, storedTables(), storedTables())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		schema = append(schema, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return migrations, schema
}

// storedTables are the tables the migrations create: every table of a fresh
// directory before any model is built.
func storedTables() []string {
	return []string{"audit_log", "audit_verifications", "consent_state", "dead_letters", "events", "gateway_chain_losses", "gateway_logins", "gateway_queries",
		"erasure_plans", "identifier_aliases", "identifier_rules", "identifiers", "ingest_batches", "lake_publications", "message_revisions", "privacy_requests", "retention_runs",
		"schema_migrations", "skipped_messages", "warehouse_meta"}
}

// The schema after all migrations equals the committed snapshot, and a
// released migration never changes. After adding a migration, rewrite the
// snapshot with CXLAKE_UPDATE_SCHEMA_SNAPSHOT=1 go test ./cmd/cxlake -run TestSchemaSnapshot.
func TestSchemaSnapshot(t *testing.T) {
	migrations, schema := dumpSchema(t)
	// Every table of a fresh directory is listed as stored, so a table added
	// by a migration cannot escape the snapshot.
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	r, err := wh.DB.Query(`select table_name from duckdb_tables() where schema_name = 'main' and not (table_name = any(?::varchar[]))`, storedTables())
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n string
		_ = r.Scan(&n)
		extra = append(extra, n)
	}
	r.Close()
	wh.Close()
	if len(extra) > 0 {
		t.Fatalf("tables %v are created by a migration but not listed in storedTables", extra)
	}

	got := "# migrations\n" + strings.Join(migrations, "\n") + "\n# schema\n" + strings.Join(schema, "\n") + "\n"
	old, err := os.ReadFile(schemaSnapshot)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// A released migration (one the snapshot lists) must keep its checksum.
	released := map[string]string{}
	for _, line := range strings.Split(string(old), "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "column") {
			released[f[0]+" "+f[1]] = f[2]
		}
	}
	for _, m := range migrations {
		f := strings.Fields(m)
		if sum, ok := released[f[0]+" "+f[1]]; ok && sum != f[2] {
			t.Errorf("migration %s %s changed after its release: a data directory that applied it keeps the old schema; revert it and add a new migration", f[0], f[1])
		}
	}
	if os.Getenv(envUpdateSnapshot) != "" {
		if t.Failed() {
			t.Fatal("not rewriting the snapshot over a changed released migration")
		}
		if err := os.WriteFile(schemaSnapshot, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", filepath.Clean(schemaSnapshot))
		return
	}
	if string(old) != got {
		t.Errorf("the stored schema differs from %s.\nA change to what is stored ships a new migration (docs/upgrading.md); once it does, run\n  %s=1 go test ./cmd/cxlake -run TestSchemaSnapshot\nand commit the snapshot.\ngot:\n%s", schemaSnapshot, envUpdateSnapshot, got)
	}
}

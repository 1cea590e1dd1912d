package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// upgradeTestKey is the hash key the version-1 rows of testdata/upgrade/v1
// were made with: a test key, written into the test's data directory.
const upgradeTestKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// buildV1Dir builds a data directory as cxlake's first versioned release
// left it: its schema (testdata/upgrade/v1/schema.sql, frozen), rows in every
// table (data.sql) and the lake files that release published from them.
// Nothing of it is a committed database or key.
func buildV1Dir(t *testing.T) (dir string, rows map[string]int) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(upgradeTestKey)
	if err := os.WriteFile(filepath.Join(dir, privacy.KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("testdata/upgrade/v1/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/upgrade/v1/data.sql")
	if err != nil {
		t.Fatal(err)
	}
	rows = map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^insert into (\w+) `).FindAllStringSubmatch(string(data), -1) {
		rows[m[1]]++
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, warehouse.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, part := range [][]byte{schema, data} {
		if _, err := db.Exec(string(part)); err != nil {
			t.Fatalf("building the version-1 directory: %v", err)
		}
	}
	lake := filepath.Join(dir, warehouse.LakeDir, "events")
	if err := os.MkdirAll(lake, 0o750); err != nil {
		t.Fatal(err)
	}
	// The lake as version 1 published it: Hive partitions by UTC date and
	// channel, one file per partition and publication.
	if _, err := db.Exec(fmt.Sprintf(`copy (
		select %s, strftime(occurred_at at time zone 'UTC', '%%Y-%%m-%%d') as date, coalesce(channel, 'none') as channel
		from events) to '%s' (format parquet, partition_by (date, channel), filename_pattern 'b1_3_{uuid}', compression zstd)`,
		warehouse.LakeColumns, lake)); err != nil {
		t.Fatal(err)
	}
	return dir, rows
}

// A data directory of the first versioned schema, with rows in every table
// and lake files, opens in this binary: it is migrated, every row is still
// there and readable through the gateway, and ingest, refresh and erasure
// work on it.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	dir, rows := buildV1Dir(t)
	for _, table := range []string{"events", "identifiers", "identifier_rules", "dead_letters", "ingest_batches", "skipped_messages",
		"lake_publications", "consent_state", "privacy_requests", "retention_runs", "audit_log", "audit_verifications", "gateway_queries"} {
		if rows[table] == 0 {
			t.Fatalf("testdata has no row of %s: the test must cover every table", table)
		}
	}

	out, err := capture(t, func() error { return runMigrate(ctx, []string{"--data", dir, "--dry-run"}) })
	if err != nil || !strings.Contains(out, "warehouse    at version 1") {
		t.Fatalf("migrate --dry-run: %v\n%s", err, out)
	}
	if out, err = capture(t, func() error { return runMigrate(ctx, []string{"--data", dir}) }); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	plan, err := warehouse.PlanMigrations(ctx, dir)
	if err != nil || len(plan.Pending) != 0 {
		t.Fatalf("after migrate: %+v, %v; want nothing pending", plan, err)
	}

	// Every row is still there, read through the gateway as compliance.
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := startSQLGateway(ctx, wh, gateway.Config{Addr: "127.0.0.1:0",
		Users: []gateway.User{{Name: "officer", Role: gateway.RoleCompliance, Password: "pw-upgrade-test"}}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://officer:pw-upgrade-test@%s/cxlake?sslmode=disable", gw.srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	tables := make([]string, 0, len(rows))
	for table := range rows {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		var n int
		if err := conn.QueryRow(ctx, "select count(*) from "+table).Scan(&n); err != nil {
			t.Fatalf("reading %s through the gateway: %v", table, err)
		}
		// gateway_queries also holds this test's own queries once audited;
		// the lake was published again by the free-text upgrade
		// (warehouse/reseal.go), under new publication rows.
		if table == "lake_publications" {
			if n == 0 {
				t.Error("lake_publications is empty after the upgrade published the lake again")
			}
			continue
		}
		want := rows[table]
		if table == "warehouse_meta" {
			// free_text_sealed, identifier_aliases_done and
			// actor_keys_done: the upgrades are recorded as done
			want += 3
		}
		if n < want || (table != "gateway_queries" && n != want) {
			t.Errorf("%s holds %d rows after the upgrade, want %d", table, n, want)
		}
	}
	var lakeRows int
	if err := wh.DB.QueryRow(fmt.Sprintf("select count(*) from read_parquet('%s/lake/events/**/*.parquet')", dir)).Scan(&lakeRows); err != nil || lakeRows != rows["events"] {
		t.Errorf("lake: %d rows, %v; want %d", lakeRows, err, rows["events"])
	}
	// Version 1 kept producer free text in clear columns and conversation
	// ids as built from phones; the upgrade sealed or dropped the one
	// (these rows have no readable content, so it is dropped) and keyed the
	// other, in DuckDB and in the lake (issue 24 item 3).
	var clear int
	if err := wh.DB.QueryRow(`select count(*) from events where coalesce(actor_id, message_intent, handoff_reason, handoff_next_action, handoff_owner) is not null
		or (regexp_matches(conversation_id, '` + privacy.ConversationNotOpaqueRE + `') and not regexp_full_match(conversation_id, '` + privacy.ConversationKeyedRE + `'))`).Scan(&clear); err != nil || clear != 0 {
		t.Errorf("%d events keep free text or a non-opaque conversation id after the upgrade (%v)", clear, err)
	}
	for _, v := range []string{"open_carrier_claim", "customer_requested_human", "lia-bot"} {
		if !strings.Contains(string(mustRead(t, "testdata/upgrade/v1/data.sql")), "'"+v+"'") {
			t.Fatalf("testdata no longer holds %q: the search below would prove nothing", v)
		}
		if hits := lakeFilesContaining(t, filepath.Join(dir, warehouse.LakeDir), v); len(hits) > 0 {
			t.Errorf("the lake still holds %q in clear: %v", v, hits)
		}
	}
	conn.Close(ctx)
	if err := gw.stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}

	// Ingest, refresh and erasure work on it.
	ndjson := filepath.Join(t.TempDir(), "new.ndjson")
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, `{"schema":"cx.event/v1","event_id":"upgrade-%d","type":"message","occurred_at":"2026-12-01T10:00:0%dZ","source":"test","channel":"whatsapp","conversation_id":"up-1","contact":{"phone":"+5511987650123","email":"upgrade.person@example.org"},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"pedido 4242 atrasado"}}`+"\n", i, i)
	}
	// A handoff between the second and third message: the third repeats
	// the order (pedido, 4242, atrasado), so up-1 is repeated_after_handoff.
	b.WriteString(`{"schema":"cx.event/v1","event_id":"upgrade-h","type":"handoff","occurred_at":"2026-12-01T10:00:02.5Z","source":"test","channel":"whatsapp","conversation_id":"up-1","contact":{"phone":"+5511987650123"},"actor":{"kind":"bot","id":"b"},"handoff":{"to_team":"support"}}` + "\n")
	if err := os.WriteFile(ndjson, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := capture(t, func() error { return runLoad(ctx, []string{"--data", dir, ndjson}) }); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	// Version 2 keeps each new event's content hash: the same id with
	// another text is a dead letter; an id stored by version 1 (no content
	// hash) stays a duplicate whatever comes.
	reused := filepath.Join(t.TempDir(), "reused.ndjson")
	if err := os.WriteFile(reused, []byte(strings.Replace(strings.SplitAfter(b.String(), "\n")[0], "pedido 4242 atrasado", "outro texto", 1)+
		`{"schema":"cx.event/v1","event_id":"01M66B8R690QJXQMHRJWX2P54A","type":"message","occurred_at":"2026-10-30T12:06:33.929Z","source":"chatwoot","channel":"messenger","conversation_id":"fb-1","contact":{"ids":{"messenger":"someone"}},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"changed"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := capture(t, func() error { return runLoad(ctx, []string{"--data", dir, reused}) }); err != nil {
		t.Fatalf("load of a reused id: %v\n%s", err, out)
	}
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv", "select count(*) filter (where reason_code = 'event_id_reused'), count(*) from dead_letters"})
	})
	if err != nil || !strings.Contains(out, fmt.Sprintf("\n1,%d", rows["dead_letters"]+1)) {
		t.Fatalf("after loading a reused id and an old id: want 1 event_id_reused dead letter of %d: %v\n%s", rows["dead_letters"]+1, err, out)
	}
	if out, err := capture(t, func() error { return runRefresh(ctx, []string{"--data", dir, "--full"}) }); err != nil {
		t.Fatalf("refresh: %v\n%s", err, out)
	}
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv", "select count(*) from conversations where conversation_id = 'up-1'"})
	})
	if err != nil || !strings.Contains(out, "\n1") {
		t.Fatalf("the new conversation is not in the models: %v\n%s", err, out)
	}
	// Repetition over the upgraded directory: read from the sealed content
	// the directory already had, nothing migrated. The version-1 rows'
	// texts are unreadable, so none of their conversations is repeated.
	out, err = capture(t, func() error {
		return runQuery(ctx, []string{"--data", dir, "--format", "csv", `select
			count(*) filter (where conversation_id = 'up-1' and repeated_after_handoff),
			count(*) filter (where conversation_id <> 'up-1' and (repeated_after_handoff or repeated_after_switch))
			from conversations`})
	})
	if err != nil || !strings.Contains(out, "\n1,0") {
		t.Fatalf("repetition after the upgrade: want up-1 repeated and no version-1 conversation: %v\n%s", err, out)
	}
	out, err = capture(t, func() error {
		return runErase(ctx, []string{"--data", dir, "--email", "upgrade.person@example.org", "--reason", "upgrade test", "--verify-bytes"})
	})
	if err != nil || !strings.Contains(out, "PASSED") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
}

// A directory claiming a newer schema is refused by every command, with
// both versions named, and not changed.
func TestNewerDirectoryRefusedByCommands(t *testing.T) {
	ctx := context.Background()
	dir, _ := buildV1Dir(t)
	db, err := sql.Open("duckdb", filepath.Join(dir, warehouse.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`insert into schema_migrations values ('governance', 42, 'future', 'x', now(), 'v99')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, run := range map[string]func() error{
		"migrate": func() error { return runMigrate(ctx, []string{"--data", dir}) },
		"query":   func() error { return runQuery(ctx, []string{"--data", dir, "select 1"}) },
		"refresh": func() error { return runRefresh(ctx, []string{"--data", dir}) },
	} {
		_, err := capture(t, run)
		var ve *warehouse.SchemaVersionError
		if !errors.As(err, &ve) || ve.Found != 42 || ve.Component != "governance" {
			t.Errorf("%s: %v, want a SchemaVersionError for governance version 42", name, err)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lakeFilesContaining returns the files under dir whose bytes contain v.
func lakeFilesContaining(t *testing.T, dir, v string) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if strings.Contains(string(mustRead(t, p)), v) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// auditRows returns the audit records of one session, oldest first.
func auditRows(t *testing.T, s *Server, pid uint32) []QueryRecord {
	t.Helper()
	ctx := context.Background()
	if err := s.owned.Flush(ctx); err != nil {
		t.Fatalf("flushing the audit: %v", err)
	}
	rows, err := s.db.QueryContext(ctx, `select user_name, role, statement, array_to_string(relations, ','), outcome, sqlstate,
		coalesce(reason, ''), row_count from gateway_queries where session_id = ? order by received_at`, int64(pid))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []QueryRecord
	for rows.Next() {
		var r QueryRecord
		var role, rels, outcome string
		if err := rows.Scan(&r.User, &role, &r.Statement, &rels, &outcome, &r.Code, &r.Reason, &r.Rows); err != nil {
			t.Fatal(err)
		}
		r.Role, r.Outcome = Role(role), Outcome(outcome)
		if rels != "" {
			r.Relations = strings.Split(rels, ",")
		}
		out = append(out, r)
	}
	return out
}

// TestSandboxEscapesAreRefusedAndAudited tries each way out of the
// sandbox, as compliance (the role that reads the most), over both
// protocols, and checks that none ran and each is in the audit.
func TestSandboxEscapesAreRefusedAndAudited(t *testing.T) {
	s := testServer(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "leak")
	lakeFile := filepath.Join(dir, "outside.parquet")
	escapes := []struct{ name, sql, want string }{
		{"read_csv", "select * from read_csv('/etc/passwd')", "table function read_csv"},
		{"read_csv_auto in a CTE", "with x as (select * from read_csv_auto('/etc/passwd')) select * from x", "table function read_csv_auto"},
		{"read_parquet outside the lake", "select * from read_parquet('" + lakeFile + "')", "table function read_parquet"},
		{"read_json", "select * from read_json('/etc/hostname')", "table function read_json"},
		{"read_text", "select * from read_text('/etc/passwd')", "read_text"},
		{"read_blob in a subquery", "select (select content from read_blob('/etc/passwd'))", "read_blob"},
		{"glob", "select * from glob('/etc/*')", "glob"},
		{"replacement scan of a file", "select * from '/etc/passwd'", `relation "/etc/passwd"`},
		{"parquet_metadata", "select * from parquet_metadata('" + lakeFile + "')", "parquet_metadata"},
		{"query()", "select * from query('select 42')", "table function query"},
		{"json_execute_serialized_sql", "select * from json_execute_serialized_sql(json_serialize_sql('select 1'))", "json_execute_serialized_sql"},
		{"duckdb_settings", "select * from duckdb_settings()", "duckdb_settings"},
		{"write_log", "select write_log('x')", "write_log"},
		{"a type from an extension", "select '127.0.0.1'::inet", "type inet does not exist"},
		{"a function from an extension", "select st_point(1, 2)", "function st_point does not exist"},
		{"COPY TO", "copy kpi_daily to '" + out + ".csv'", "only SELECT"},
		{"COPY query TO", "copy (select * from kpi_daily) to '" + out + ".parquet' (format parquet)", "only SELECT"},
		{"COPY FROM", "copy kpi_daily from '/etc/passwd'", "only SELECT"},
		{"ATTACH", "attach '" + out + ".duckdb' as other", "only SELECT"},
		{"DETACH", "detach cxlake", "only SELECT"},
		{"INSTALL", "install httpfs", "only SELECT"},
		{"LOAD", "load httpfs", "only SELECT"},
		{"SET", "set memory_limit = '8GB'", "only SELECT"},
		{"SET GLOBAL", "set global enable_external_access = true", "only SELECT"},
		{"RESET", "reset memory_limit", "only SELECT"},
		{"PRAGMA", "pragma enable_profiling", "only SELECT"},
		{"PRAGMA table_info", "pragma table_info('events')", "only SELECT"},
		{"CREATE TABLE", "create table stolen as select 1", "only SELECT"},
		{"CREATE MACRO", "create macro m(x) as x", "only SELECT"},
		{"INSERT", "insert into kpi_daily select * from kpi_daily", "only SELECT"},
		{"UPDATE", "update kpi_daily set conversations = 0", "only SELECT"},
		{"DELETE", "delete from kpi_daily", "only SELECT"},
		{"DROP", "drop table kpi_daily", "only SELECT"},
		{"EXPORT DATABASE", "export database '" + out + "'", "only SELECT"},
		{"CALL", "call pragma_table_info('events')", "only SELECT"},
		{"CHECKPOINT", "force checkpoint", "only SELECT"},
		{"multi-statement hiding COPY", "select 1; copy kpi_daily to '" + out + "2.csv'", "COPY"},
		{"multi-statement hiding ATTACH", "select 1 as a; attach '" + out + "2.duckdb' as x; select 2", "ATTACH"},
		{"multi-statement hiding DELETE", "select * from kpi_daily limit 1; delete from kpi_daily", "DELETE"},
		{"multi-statement hiding INSTALL", "select 1;install httpfs;", "INSTALL"},
		{"multi-statement hiding SET", "select 1; set threads = 1", "SET"},
		{"multi-statement hiding a file read", "select 1; select * from read_csv('/etc/passwd')", "read_csv"},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			c := connect(t, s, "comp")
			ctx := context.Background()
			for _, e := range escapes {
				_, err := c.Exec(ctx, e.sql, mode)
				if err == nil {
					t.Errorf("%s: ran", e.name)
					continue
				}
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || !strings.Contains(pe.Message, e.want) {
					t.Errorf("%s: error %v, want it to mention %q", e.name, err, e.want)
				}
				if pe != nil && pe.Code != codeReadOnly && pe.Code != codeInsufficientPriv && pe.Code != codeUndefinedTable &&
					pe.Code != codeUndefinedObject && pe.Code != codeUndefinedFunc {
					t.Errorf("%s: SQLSTATE %s", e.name, pe.Code)
				}
			}
			if _, err := c.Exec(ctx, "select 1", mode); err != nil {
				t.Fatalf("the session did not survive the refusals: %v", err)
			}
			recs := auditRows(t, s, c.PgConn().PID())
			refused := 0
			for _, r := range recs {
				if r.Outcome == OutcomeRefused {
					refused++
				}
				for _, secret := range []string{"/etc/passwd", out, lakeFile, "8GB"} {
					if strings.Contains(r.Statement, secret) || strings.Contains(r.Reason, secret) {
						t.Errorf("the audit kept the literal %q: %+v", secret, r)
					}
				}
			}
			if refused != len(escapes) {
				t.Errorf("%d refusals audited, want %d", refused, len(escapes))
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("an escape wrote %d files: %v", len(entries), entries[0].Name())
	}
	var n int
	if err := s.db.QueryRow("select count(*) from kpi_daily").Scan(&n); err != nil || n == 0 {
		t.Fatalf("kpi_daily after the escapes: %d rows, %v", n, err)
	}
	var settingsSame bool
	if err := s.db.QueryRow("select current_setting('memory_limit') <> '8.0 GiB'").Scan(&settingsSame); err != nil || !settingsSame {
		t.Fatalf("a setting changed: %v", err)
	}
}

// TestSandboxRelationsThroughEveryPath: relations are checked wherever
// they appear, and CTE names shadow relations only where DuckDB resolves
// them as CTEs.
func TestSandboxRelationsThroughEveryPath(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	allowed := []string{
		"select count(*) from conversations",
		"with events as (select 1 as x) select * from events",
		"with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
		"with a as (select * from kpi_daily), b as (select * from a) select count(*) from b",
		"select * from (select channel from kpi_daily) k join (select channel from conversations limit 5) c using (channel) limit 1",
		"describe conversations",
		"summarize kpi_daily",
		"from timeline limit 1",
		"select * from range(3) r, unnest([1, 2]) u",
		"select count(*) from CONVERSATIONS",
		`select count(*) from "kpi_daily"`,
		"select count(*) from cxlake.main.kpi_daily",
		"values (1), (2)",
		"select '{\"a\": 1}'::json, 1::int8, 'x'::text, [1]::integer[], {'a': 1}::struct(a int), 1.5::decimal(4,1), '2026-01-01'::timestamptz",
		"select setting from pg_settings where name = 'server_version_num'",
		"select * from kpi_daily union all select * from kpi_daily limit 1",
	}
	for _, q := range allowed {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	refused := []struct{ sql, relation string }{
		{"select * from events", "events"},
		{"select * from main.events", "events"},
		{"select * from cxlake.main.events", "events"},
		{`select * from "EVENTS"`, "events"},
		{"select * from contact_identities", "contact_identities"},
		{"select (select count(*) from events)", "events"},
		{"select * from kpi_daily where channel in (select channel from dead_letters)", "dead_letters"},
		{"with kpi_daily as (select * from events) select * from kpi_daily", "events"},
		{"with events as (select * from events) select * from events", "events"},
		{"with a as (select * from b), b as (select 1) select * from a", "b"},
		{"select * from kpi_daily union select * from int_kpi_facts_unioned", "int_kpi_facts_unioned"},
		{"describe events", "events"},
		{"summarize dead_letters", "dead_letters"},
		{"select * from conversations c join lateral (select * from events e where e.conversation_id = c.conversation_id) x on true", "events"},
		{"select * from system.main.duckdb_tables", "system.main.duckdb_tables"},
		{"select * from temp.main.gw_visible", "temp.main.gw_visible"},
		{"select * from pg_catalog.pg_stat_activity", "pg_catalog.pg_stat_activity"},
		{"select * from gateway_queries", "gateway_queries"},
	}
	for _, r := range refused {
		_, err := c.Exec(ctx, r.sql)
		if err == nil {
			t.Errorf("%s: ran", r.sql)
			continue
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != codeInsufficientPriv {
			t.Errorf("%s: %v, want SQLSTATE 42501", r.sql, err)
			continue
		}
		if !strings.Contains(pe.Message, `relation "`+r.relation+`" is not available to role analyst`) {
			t.Errorf("%s: message %q does not name relation %q and the role", r.sql, pe.Message, r.relation)
		}
		if !strings.Contains(pe.Hint, "conversations") {
			t.Errorf("%s: hint %q does not say what analyst can read", r.sql, pe.Hint)
		}
	}
	// DuckDB's PIVOT statement is refused whichever way it is read.
	if _, err := c.Exec(ctx, "pivot events on channel using count(*)"); err == nil {
		t.Error("pivot over events ran")
	}
}

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The escape corpus (issue 12): every way out of the sandbox that was
// found, and variants of each, run as every role over both protocols. Each
// must be refused, and no result may hold personal data or a host file's
// content. Beside it, ordinary queries each role must still be answered,
// so that closing the sandbox does not close the gateway.

// escape is one attempt. It must be refused for every role, or only for
// the roles that may not read what it reads (readers may run it).
type escape struct {
	name string
	sql  string
	// readers may run it: it reads relations or calls functions they are
	// granted (compliance reads every relation and unseals).
	readers []Role
}

// allRoles may run an attempt that must only not leak.
var allRoles = []Role{RoleLeadership, RoleGrafana, RoleAnalyst, RoleCompliance}

// mayFail marks an attempt DuckDB itself rejects after the sandbox let it
// through (a binder error): it must not run, with any error.
const mayFail Role = "(any error)"

// refusedCodes are the SQLSTATEs of a sandbox refusal.
var refusedCodes = map[string]bool{codeInsufficientPriv: true, codeFeature: true, codeUndefinedFunc: true,
	codeUndefinedTable: true, codeUndefinedObject: true, codeReadOnly: true}

// personalData unseals, straight from the warehouse (not through the
// gateway), the phones, e-mail addresses, names and message texts the
// test warehouse holds: no escape's result may contain any of them.
func personalData(t *testing.T) []string {
	t.Helper()
	db := testWarehouse(t).DB
	ctx := context.Background()
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= 8 && !seen[s] { // short values (a first name) could occur in any text
			seen[s] = true
			out = append(out, s)
		}
	}
	rows, err := db.QueryContext(ctx, `select identifier_kind, cx_identifier_value(identifier_hash, sealed_value)
		from identifiers where cx_identifier_value(identifier_hash, sealed_value) is not null limit 200`)
	if err != nil {
		t.Fatalf("unsealing identifiers: %v", err)
	}
	kinds := map[string]int{}
	for rows.Next() {
		var kind, v string
		if err := rows.Scan(&kind, &v); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		add(v)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `select cx_content(event_id, subject_hash, occurred_at, content) from events
		where content is not null limit 300`)
	if err != nil {
		t.Fatalf("unsealing events: %v", err)
	}
	var names, texts int
	for rows.Next() {
		var doc *string
		if err := rows.Scan(&doc); err != nil {
			t.Fatal(err)
		}
		if doc == nil {
			continue
		}
		var c struct {
			ContactName string `json:"contact_name"`
			MessageText string `json:"message_text"`
		}
		if err := json.Unmarshal([]byte(*doc), &c); err != nil {
			t.Fatalf("reading unsealed content: %v", err)
		}
		if c.ContactName != "" {
			names++
			add(c.ContactName)
		}
		if c.MessageText != "" {
			texts++
			add(c.MessageText)
		}
	}
	rows.Close()
	if len(kinds) < 2 || names == 0 || texts == 0 {
		t.Fatalf("the test warehouse holds too little personal data to test with: identifier kinds %v, %d names, %d texts", kinds, names, texts)
	}
	return out
}

// escapeCorpus is the corpus; dir holds the host files it tries to read.
func escapeCorpus(dir, lakeDir string) []escape {
	comp := []Role{RoleCompliance}
	csv := filepath.Join(dir, "host.csv")
	ndjson := filepath.Join(dir, "host.ndjson")
	jsonf := filepath.Join(dir, "host.json")
	parquet := filepath.Join(dir, "host.parquet")
	glob := filepath.Join(dir, "*.csv")
	lake := filepath.Join(lakeDir, "**", "*.parquet")
	rec := func(name, anchor string) string { // a recursive CTE whose anchor reads anchor
		return fmt.Sprintf("with recursive %s as (select * from %s union all select * from %s where false) select * from %s",
			name, anchor, name, name)
	}
	var c []escape
	add := func(name, sql string, readers ...Role) { c = append(c, escape{name, sql, readers}) }

	// B1: a recursive CTE's anchor binds the real relation.
	add("B1 identifiers unsealed", "with recursive identifiers as (select * from identifiers union all select * from identifiers where false) "+
		"select identifier_kind, cx_identifier_value(identifier_hash, sealed_value) from identifiers limit 6", comp...)
	add("B1 events unsealed", "with recursive events as (select * from events union all select * from events where false) "+
		"select cx_content(event_id, subject_hash, occurred_at, content) from events limit 6", comp...)
	add("B1 contact_identities", rec("contact_identities", "contact_identities")+" limit 6", comp...)
	add("B1 identifiers raw", rec("identifiers", "identifiers"), comp...)
	add("B1 dead letters unsealed", "with recursive dead_letters as (select * from dead_letters union all select * from dead_letters where false) "+
		"select cx_dead_letter_raw(topic, \"partition\", \"offset\", raw) from dead_letters", comp...)
	add("B1 under an allowed name", "with recursive kpi_daily as (select * from events union all select * from kpi_daily where false) select * from kpi_daily", comp...)
	add("B1 quoted", `with recursive "events" as (select * from "events" union all select * from "events" where false) select * from "events"`, comp...)
	add("B1 upper case", `with recursive EVENTS as (select * from "EVENTS" union all select * from Events where false) select * from events`, comp...)
	add("B1 column list", "with recursive identifiers(a, b, c, d) as (select identifier_hash, identifier_kind, sealed_value, first_seen_at from identifiers "+
		"union all select * from identifiers where false) select * from identifiers", comp...)
	add("B1 UNION (not ALL)", "with recursive events as (select * from events union select * from events where false) select * from events", comp...)
	add("B1 USING KEY", "with recursive events using key (event_id) as (select * from events union all select * from events where false) select count(*) from events", comp...)
	add("B1 in a subquery", "select * from ("+rec("events", "events")+") x limit 1", comp...)
	add("B1 select * from (with recursive ...)", "select * from (with recursive t as (select * from events union all select * from t where false) select * from t)", comp...)
	add("B1 in LATERAL", "select * from kpi_daily k, lateral ("+rec("events", "events")+") x limit 1", comp...)
	add("B1 in a UNION branch", "select channel from kpi_daily union all select channel from ("+rec("events", "events")+")", comp...)
	add("B1 as a second CTE", "with recursive a as (select 1 as x), events as (select * from events union all select * from events where false) select * from events", comp...)
	add("B1 in a scalar subquery in WHERE", "select * from kpi_daily where 0 < (with recursive e as (select * from events union all select * from e where false) select count(*) from e)", comp...)
	add("B1 in EXISTS", "select 1 where exists ("+rec("identifiers", "identifiers")+")", comp...)
	add("B1 in IN", "select * from kpi_daily where channel in (with recursive e as (select channel from events union all select channel from e where false) select channel from e)", comp...)
	add("B1 nested twice", "with recursive a as (select 1 as x union all select x from a where false) select * from ("+rec("a", "events")+")", comp...)
	add("B1 anchor join", "with recursive t as (select e.* from (select 1) k, events e union all select * from t where false) select * from t", comp...)
	add("B1 anchor subquery", "with recursive t as (select * from (select * from identifiers) union all select * from t where false) select * from t", comp...)
	add("B1 anchor scalar subquery", "with recursive t as (select (select count(*) from events) as n union all select n from t where false) select * from t", comp...)
	add("B1 in a VALUES subquery", "values ((with recursive e as (select * from events union all select * from e where false) select count(*) from e))", comp...)
	add("B1 inside another recursive CTE's branch", "with recursive t as (select channel from kpi_daily union all select * from ("+
		"with recursive events as (select channel from events union all select channel from events where false) select * from events) where false) select * from t", comp...)
	add("B1 in a window", "select count(*) over (), * from ("+rec("events", "events")+") limit 1", comp...)

	// COPY: only COPY (SELECT ...) TO STDOUT with CSV/HEADER/FORMAT is
	// taken (copy.go); everything else stays refused.
	add("COPY query to a file", fmt.Sprintf("copy (select * from kpi_daily) to '%s'", filepath.Join(dir, "out.csv")))
	add("COPY table to stdout", "copy kpi_daily to stdout")
	add("COPY query to program", "copy (select 1) to program 'id'")
	add("COPY to stdout as parquet", "copy (select * from kpi_daily) to stdout (format parquet)")
	add("COPY to stdout then attach", fmt.Sprintf("copy (select 1) to stdout; attach '%s' as x", filepath.Join(dir, "x.duckdb")))
	add("COPY from stdin", "copy kpi_daily from stdin")

	// A second CTE or a CTE body naming a relation the role may not read.
	add("CTE shadows an allowed name", "with kpi_daily as (select * from events) select * from kpi_daily", comp...)
	add("second CTE shadows", "with a as (select 1 as x), kpi_daily as (select * from identifiers) select * from kpi_daily", comp...)
	add("CTE reads itself, not recursive", "with events as (select * from events) select * from events", comp...)
	add("materialized CTE", "with events as materialized (select * from events) select * from events", comp...)
	add("CTE then qualified name", "with events as (select 1 as x) select * from main.events", comp...)
	add("recursive CTE then qualified name", "with recursive events as (select 1 as x union all select x from events where false) select * from main.events", comp...)

	// Plain references, quoted and qualified.
	for _, ref := range []string{"events", `"events"`, "main.events", `"main"."events"`, "cxlake.main.events", `"CXLAKE"."MAIN"."EVENTS"`,
		"identifiers", "contact_identities", "dead_letters", "gateway_queries", "stg_cx__identifiers"} {
		add("reference "+ref, "select * from "+ref+" limit 1", comp...)
	}
	add("FROM-first", "from events", comp...)
	add("FROM-first select", "from identifiers select identifier_kind", comp...)
	add("TABLE", "table events", comp...)
	add("VALUES with a subquery", "values ((select count(*) from events))", comp...)
	add("scalar subquery in WHERE", "select * from kpi_daily where day > (select min(occurred_at) from events)", comp...)
	add("EXISTS", "select 1 where exists (select 1 from identifiers)", comp...)
	add("IN", "select * from kpi_daily where channel in (select channel from events)", comp...)
	add("LATERAL", "select * from kpi_daily k, lateral (select * from events e where e.channel = k.channel) x limit 1", comp...)
	add("UNION", "select channel from kpi_daily union all select channel from events", comp...)
	add("join", "select * from kpi_daily, identifiers limit 1", comp...)
	add("window", "select row_number() over (partition by channel) from events", comp...)
	add("PIVOT", "pivot events on channel in ('whatsapp') using count(*)", comp...)
	add("PIVOT in FROM", "select * from events pivot (count(*) for channel in ('whatsapp'))", comp...)
	add("UNPIVOT", "unpivot identifiers on identifier_kind into name k value v", comp...)
	add("UNPIVOT in FROM", "select * from identifiers unpivot (v for k in (identifier_kind))", comp...)
	add("DESCRIBE", "describe events", comp...)
	add("DESCRIBE a query", "describe select * from identifiers", comp...)
	add("SUMMARIZE", "summarize identifiers", comp...)
	add("json_each over a subquery", "select * from json_each((select to_json(list(i)) from identifiers i))", comp...)

	// Unsealing functions, for every role but compliance.
	add("cx_identifier_value", "select cx_identifier_value('x', ''::blob)", comp...)
	add("cx_content", "select cx_content('x', 'y', now(), ''::blob)", comp...)
	add("cx_dead_letter_raw", "select cx_dead_letter_raw('x', 0, 0, ''::blob)", comp...)
	add("cx_content upper case", "select CX_CONTENT('x', 'y', now(), ''::blob)", comp...)
	add("cx_content qualified", "select main.cx_content('x', 'y', now(), ''::blob)", comp...)
	add("cx_content over a mart", "select cx_identifier_value(channel, ''::blob) from kpi_daily limit 1", comp...)
	add("cx_content in a subquery", "select (select cx_identifier_value('x', ''::blob))", comp...)
	add("cx_content in a lambda", "select list_transform(['x'], lambda v: cx_identifier_value(v, ''::blob))", comp...)
	add("cx_content as a window aggregate", "select cx_identifier_value('x', ''::blob) over ()", comp...)

	// B2: host files and the lake, for every role.
	for _, p := range []string{csv, ndjson, jsonf, parquet, glob, lake} {
		q := `"` + p + `"`
		add("B2 recursive CTE over "+filepath.Base(p), fmt.Sprintf("with recursive %s as (select * from '%s' union all select * from %s where false) select * from %s", q, p, q, q))
		add("B2 replacement scan of "+filepath.Base(p), fmt.Sprintf("select * from '%s'", p))
		// DuckDB binds the CTE here, not the file: it may run, and must
		// not return the file's content.
		add("B2 CTE named like "+filepath.Base(p), fmt.Sprintf("with %s as (select 1 as x) select * from '%s'", q, p), allRoles...)
	}
	add("B2 recursive CTE over a file, anchor nested", fmt.Sprintf("with recursive t as (select * from (select * from '%s') union all select * from t where false) select * from t", csv))
	for _, f := range []string{"read_csv", "read_csv_auto", "read_parquet", "read_json", "read_json_auto", "read_ndjson", "read_text", "read_blob",
		"glob", "sniff_csv", "parquet_metadata", "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata"} {
		add("table function "+f, fmt.Sprintf("select * from %s('%s')", f, csv))
	}
	add("query", "select * from query('select * from events')")
	add("query_table", "select * from query_table('events')")
	add("json_serialize_plan of a relation", "select json_serialize_plan('select * from events')")
	add("json_serialize_plan of a file", fmt.Sprintf("select json_serialize_plan('select * from read_parquet(''%s'')')", parquet))
	add("json_execute_serialized_sql", "select * from json_execute_serialized_sql(json_serialize_sql('select * from events'))")
	add("duckdb_settings", "select * from duckdb_settings()")
	add("duckdb_secrets", "select * from duckdb_secrets()")
	add("which_secret", "select * from which_secret('s3://x', 's3')")
	add("pragma_table_info", "select * from pragma_table_info('events')")
	add("duckdb_views", "select * from duckdb_views()")
	add("duckdb_tables as a view", "select * from duckdb_tables")
	add("system catalog", "select * from system.main.duckdb_views")
	add("temp catalog", "select * from temp.main.gw_visible")
	add("histogram table macro", "select * from histogram(events, channel)", mayFail)
	add("time travel", "select * from kpi_daily at (version => 1)")

	// Settings and the environment.
	for _, name := range []string{"temp_directory", "memory_limit", "home_directory", "extension_directory", "secret_directory",
		"TEMP_DIRECTORY", "max_temp_directory_size", "threads", "custom_extension_repository"} {
		add("current_setting "+name, "select current_setting('"+name+"')")
	}
	add("current_setting missing_ok", "select current_setting('temp_directory', true)")
	add("current_setting qualified", "select pg_catalog.current_setting('temp_directory')")
	add("current_setting of a column", "select current_setting(s) from (values ('temp_directory')) v(s)")
	add("current_setting in a subquery", "select (select current_setting('memory_limit'))")
	add("getvariable", "select getvariable('x')")
	add("getenv", "select getenv('HOME')")

	// Spatial and extension types.
	for _, typ := range []string{"geometry", "GEOMETRY", "geometry[]", "struct(a geometry)", "map(varchar, geometry)", "inet", "point_2d"} {
		add("type "+typ, "select cast(null as "+typ+")")
	}
	add("TRY_CAST geometry", "select try_cast('POINT(1 2)' as geometry)")
	add(":: geometry", "select 'POINT(1 2)'::geometry")
	add("geometry in a CTE column", "with t as (select 'POINT(1 2)'::geometry as g) select * from t")
	return c
}

// writeHostFiles writes files holding marker under dir, in each format a
// replacement scan reads.
func writeHostFiles(t *testing.T, dir, marker string) {
	t.Helper()
	files := map[string]string{
		"host.csv":    "secret\n" + marker + "\n",
		"host.ndjson": `{"secret": "` + marker + `"}` + "\n",
		"host.json":   `[{"secret": "` + marker + `"}]`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The Parquet file is written by DuckDB itself, outside the gateway.
	p := filepath.Join(dir, "host.parquet")
	if _, err := testWarehouse(t).DB.Exec(fmt.Sprintf("copy (select '%s' as secret) to '%s' (format parquet)", marker, p)); err != nil {
		t.Fatalf("writing the Parquet host file: %v", err)
	}
}

// ordinaryQueries are queries each role must still be answered.
func ordinaryQueries(role Role) []string {
	q := []string{
		"select * from kpi_daily limit 5",
		"select channel, sum(conversations) from kpi_daily group by all order by 1",
		"select day, channel, row_number() over (partition by channel order by day) from kpi_daily limit 5",
		"with k as (select * from kpi_daily), t as (select channel, count(*) as n from k group by channel) select * from t",
		"with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select * from r",
		"with recursive days(d) as (select date '2026-01-01' union all select d + 1 from days where d < date '2026-01-07') select d from days",
		"select * from (select channel from kpi_daily) x where exists (select 1 from kpi_daily k where k.channel = x.channel) limit 3",
		"select * from kpi_daily where day in (select max(day) from kpi_daily)",
		"select * from kpi_daily k, lateral (select k.conversations * 2 as twice) x limit 2",
		"select channel from kpi_daily union select channel from kpi_daily_team",
		"select * from kpi_daily pivot (sum(conversations) for channel in ('whatsapp', 'email')) limit 2",
		"from kpi_daily select day limit 1",
		"describe kpi_daily",
		"select current_setting('server_version_num'), current_setting('search_path', true), version()",
		"select '{\"a\": 1}'::json, [1, 2]::integer[], {'a': 1}::struct(a int), 1.5::decimal(4,1), '2026-01-01'::timestamptz",
		"select relname from pg_class where relkind in ('r', 'v') order by 1",
		"select table_name from information_schema.tables order by 1",
		"select viewname, definition from pg_views",
		"select pg_get_viewdef(oid) from pg_class where relname = 'kpi_daily'",
		"select count(*) from pg_attrdef, pg_description, pg_depend",
		"select * from range(3) r, generate_series(1, 2) g, unnest([1, 2]) u(v)",
		"select count(*) filter (where conversations > 0), quantile_cont(conversations, 0.5) from kpi_daily",
		"select list_transform([1, 2], lambda x: x + 1), string_agg(channel, ',' order by channel) from kpi_daily",
		"select channel, grouping(channel), sum(conversations) from kpi_daily group by rollup (channel)",
		"select * from kpi_daily qualify row_number() over (partition by channel order by day desc) = 1",
	}
	switch role {
	case RoleAnalyst:
		q = append(q, "select count(*) from conversations", "select * from timeline limit 3", "select count(*) from contacts",
			"with c as (select * from conversations) select channel, count(*) from c group by 1")
	case RoleCompliance:
		q = append(q, "select count(*) from events", "select count(*) from contact_identities",
			"with recursive identifiers as (select * from identifiers union all select * from identifiers where false) select count(*) from identifiers")
	}
	return q
}

// TestEscapeCorpus runs the corpus as every role over the simple and the
// extended protocol.
func TestEscapeCorpus(t *testing.T) {
	s := testServer(t)
	secrets := personalData(t)
	dir := t.TempDir()
	marker := fmt.Sprintf("cxlake-host-file-marker-%d", time.Now().UnixNano())
	writeHostFiles(t, dir, marker)
	corpus := escapeCorpus(dir, shared.dir)
	modes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec}
	leaks := func(text string, role Role) string {
		if strings.Contains(text, marker) {
			return "a host file's content"
		}
		if role == RoleCompliance {
			return ""
		}
		for _, p := range secrets {
			if strings.Contains(text, p) {
				return "personal data"
			}
		}
		if strings.Contains(text, shared.dir) {
			return "the data directory's path"
		}
		return ""
	}
	for _, u := range testUsers {
		for _, mode := range modes {
			t.Run(u.Name+"/"+mode.String(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				c := connect(t, s, u.Name)
				for _, e := range corpus {
					reader := false
					for _, r := range e.readers {
						reader = reader || r == u.Role
					}
					began := time.Now()
					text, err := queryText(ctx, c, e.sql, mode)
					if d := time.Since(began); d > 2*time.Second {
						t.Logf("%s took %s", e.name, d)
					}
					if what := leaks(text, u.Role); what != "" {
						t.Errorf("%s: the result holds %s", e.name, what)
					}
					if reader {
						continue
					}
					anyError := len(e.readers) == 1 && e.readers[0] == mayFail
					var pe *pgconn.PgError
					switch {
					case err == nil:
						t.Errorf("%s: ran as %s", e.name, u.Role)
					case anyError:
					case !errors.As(err, &pe):
						t.Errorf("%s: %v, want a refusal", e.name, err)
					case !refusedCodes[pe.Code]:
						t.Errorf("%s: SQLSTATE %s (%s), want a sandbox refusal", e.name, pe.Code, pe.Message)
					}
				}
				for _, q := range ordinaryQueries(u.Role) {
					text, err := queryText(ctx, c, q, mode)
					if err != nil {
						t.Errorf("ordinary query refused or failed as %s: %s: %v", u.Role, q, err)
					}
					if what := leaks(text, u.Role); what != "" {
						t.Errorf("ordinary query %s: the result holds %s", q, what)
					}
				}
			})
		}
	}
}

// queryText runs sql and returns every value of its result as text.
func queryText(ctx context.Context, c *pgx.Conn, sql string, mode pgx.QueryExecMode) (string, error) {
	rows, err := c.Query(ctx, sql, mode)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return b.String(), err
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%v\x00", v)
			if raw, ok := v.([]byte); ok {
				b.Write(raw)
				b.WriteByte(0)
			}
		}
	}
	return b.String(), rows.Err()
}

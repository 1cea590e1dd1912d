package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The corpus of ordinary analytical SQL (issue 25): each query runs
// through the gateway as each role it is meant for, and on DuckDB
// directly; the results must agree in column names, column order and
// values. The escape corpus (escape_test.go) sits beside it: a change to
// the sandbox that refuses one of these fails the build, the same as one
// that lets an escape through.
//
// The values are compared without the gateway's encoder: DuckDB's own
// to_json of each column is the reference, and the gateway's PostgreSQL
// text is read back (t/f, numbers, JSON for nested values) and compared
// token by token, so key order inside a MAP or STRUCT counts.

// corpusQueries are queries every role that reads the KPI marts must be
// answered.
var corpusQueries = []string{
	// window functions, QUALIFY
	"select day, channel, conversations, sum(conversations) over (partition by channel order by day rows between 6 preceding and current row) as rolling from kpi_daily",
	"select channel, day, rank() over (partition by channel order by conversations desc) as r, lag(conversations) over (partition by channel order by day) as prev from kpi_daily",
	"select * from kpi_daily qualify row_number() over (partition by channel order by day desc) = 1",
	"select channel, ntile(4) over (order by conversations, channel, day) as q, first_value(day) over w as first_day from kpi_daily window w as (partition by channel order by day)",
	// grouping sets
	"select channel, grouping(channel) as g, sum(conversations) as n from kpi_daily group by rollup (channel)",
	"select channel, date_trunc('week', day) as wk, sum(conversations) as n from kpi_daily group by cube (channel, date_trunc('week', day))",
	"select channel, day, count(*) as n from kpi_daily group by grouping sets ((channel), (day), ())",
	// PIVOT and UNPIVOT
	"select * from kpi_daily pivot (sum(conversations) for channel in ('whatsapp', 'email') group by day)",
	"pivot kpi_daily on channel using sum(conversations) group by day",
	"pivot (select range % 12 as x, range as y from range(24)) on x using sum(y)",
	"with k as (select day, channel, conversations from kpi_daily where conversations > 0) pivot k on channel using sum(conversations) group by day",
	"pivot kpi_daily on channel in ('email', 'sms'), dayofweek(day) using count(*)",
	"unpivot (select day, channel, conversations, csat_responses from kpi_daily) on conversations, csat_responses into name metric value v",
	// CTEs that reference each other, a recursive calendar
	"with k as (select * from kpi_daily), c as (select channel, sum(conversations) as n from k group by 1), t as (select sum(n) as total from c) select c.channel, c.n, round(c.n / t.total, 4) as share from c, t",
	"with recursive cal(d) as (select min(day) from kpi_daily union all select d + 1 from cal where d < (select max(day) from kpi_daily)) select cal.d, coalesce(sum(k.conversations), 0) as n from cal left join kpi_daily k on k.day = cal.d group by cal.d",
	"select g.d::date as d, count(k.day) as days from generate_series(date '2026-01-01', date '2026-01-10', interval 1 day) g(d) left join kpi_daily k on k.day = g.d::date group by 1",
	// lateral joins
	"select k.channel, k.day, x.twice from kpi_daily k, lateral (select k.conversations * 2 as twice) x",
	"select c.channel, top.day, top.conversations from (select distinct channel from kpi_daily) c cross join lateral (select day, conversations from kpi_daily k where k.channel = c.channel order by conversations desc, day limit 2) top",
	// list, struct and map functions
	"select channel, list(day order by day)[1] as first_day, list_distinct(list(conversations)) is not null as l, {'channel': channel, 'n': count(*)} as s from kpi_daily group by channel",
	"select histogram(conversations, [5, 10, 15, 20, 25, 30, 35, 40]) as h from kpi_daily",
	"select day, date_part(['year', 'month', 'day'], day) as parts from kpi_daily",
	"select map([3, 1, 2], ['c', 'a', 'b']) as m, {'zeta': 1, 'alpha': {'y': 2, 'b': 3}} as s, [{'k': 2, 'a': 1}] as ls",
	"select list_transform([1, 2, 3], lambda x: x * 2) as l, list_filter([1, 2, 3], lambda x: x > 1) as f, unnest([1, 2]) as u",
	// percentiles and statistics
	"select channel, quantile_cont(conversations, 0.5) as p50, quantile_disc(conversations, [0.1, 0.9]) as pq, approx_count_distinct(day) >= 1 as d, median(conversations) as med, stddev_samp(conversations) is not null as sd from kpi_daily group by channel",
	"select count(*) filter (where conversations > 0) as busy, avg(conversations) as mean, mode(channel) is not null as m from kpi_daily",
	// string and date functions
	"select upper(channel) as u, left(channel, 3) as l, length(channel) as n, regexp_replace(channel, '[aeiou]', '_', 'g') as r, channel || '-' || day as k, strftime(day, '%Y/%m') as ym from kpi_daily",
	"select day, dayname(day) as dn, extract(dow from day) as dow, day + interval 7 day as next_week, date_diff('day', day, date '2027-01-01') as left_days, date_trunc('month', day) as mon from kpi_daily",
	"select string_agg(distinct channel, ',' order by channel) as chans, concat_ws('/', 'a', 'b') as cw, format('{}-{}', 1, 'x') as f, printf('%05d', 42) as p from kpi_daily",
	// set operations, subqueries, FROM-first, VALUES
	"select channel from kpi_daily union select channel from kpi_daily_team except select 'nothing'",
	"select * from kpi_daily where day = (select max(day) from kpi_daily)",
	"from kpi_daily select channel, max(day) as last_day group by all",
	"select * from (values (1, 'a'), (2, 'b')) v(n, s)",
}

// corpusByRole are the marts beyond the KPIs each role reads.
var corpusByRole = map[Role][]string{
	RoleAnalyst: {
		"select channel, count(*) as n, quantile_cont(frt_s, 0.9) as frt_p90 from conversations group by channel",
		"with c as (select contact_key, count(*) as n from conversations group by 1) select n, count(*) as contacts from c group by n",
		"select channel, count(*) as n from timeline group by channel",
		"select count(*) as n from contacts",
		"pivot conversations on csat_score using count(*) group by channel",
	},
	RoleCompliance: {
		"select count(*) as n from events",
		"select identifier_kind, count(*) as n from contact_identities group by 1",
	},
}

// catalogQueries are what psql, pgjdbc, psycopg/SQLAlchemy and node-pg
// send; they must be answered (their oids are the gateway's, so they are
// not compared with DuckDB).
var catalogQueries = []string{
	// psql \dt, \d kpi_daily
	`SELECT n.nspname as "Schema", c.relname as "Name" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','') AND n.nspname <> 'pg_catalog' ORDER BY 1,2`,
	`SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'kpi_daily'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
	// pgjdbc getTables / getColumns / getPrimaryKeys
	`SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v') ORDER BY TABLE_SCHEM, TABLE_NAME`,
	`SELECT a.attname, a.atttypid, t.typname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON a.atttypid = t.oid WHERE a.attrelid = 'kpi_daily_team'::regclass::oid AND a.attnum > 0`,
	`SELECT 'int4'::regtype::oid, 'kpi_daily'::regclass::text`,
	// psycopg / SQLAlchemy
	`select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relkind = any(array['r', 'v', 'm', 'f', 'p'])`,
	`select current_schema(), current_setting('server_version_num'), version()`,
	`SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'`,
	// node-pg / generic
	`select table_name, column_name, data_type from information_schema.columns where table_schema = 'main' order by table_name, ordinal_position`,
	`select 1 as ping`,
}

func TestOrdinaryCorpus(t *testing.T) {
	s := testServer(t)
	wh := testWarehouse(t)
	runs := 0
	for _, u := range testUsers {
		qs := append(append([]string{}, corpusQueries...), corpusByRole[u.Role]...)
		t.Run(u.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			c := connect(t, s, u.Name)
			for _, q := range qs {
				runs++
				gotCols, gotRows, err := gatewayText(ctx, c, q)
				if err != nil {
					t.Errorf("%s: refused or failed as %s: %v", q, u.Role, err)
					continue
				}
				wantCols, wantRows, err := duckdbJSON(ctx, wh.DB, q)
				if err != nil {
					t.Fatalf("%s on DuckDB directly: %v", q, err)
				}
				if !sameColumns(gotCols, wantCols) {
					t.Errorf("%s: columns %v, DuckDB %v", q, gotCols, wantCols)
					continue
				}
				if len(gotRows) != len(wantRows) {
					t.Errorf("%s: %d rows, DuckDB %d", q, len(gotRows), len(wantRows))
					continue
				}
				// Rows compared as multisets: their keys are the DuckDB JSON
				// rendering, the gateway's text turned to the same form.
				var got, want []string
				for _, r := range gotRows {
					got = append(got, rowKey(r, true))
				}
				for _, r := range wantRows {
					want = append(want, rowKey(r, false))
				}
				sort.Strings(got)
				sort.Strings(want)
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("%s: row %q, DuckDB %q", q, got[i], want[i])
						break
					}
				}
			}
			// The extended protocol answers the same columns.
			for _, q := range qs {
				rows, err := c.Query(ctx, q, pgx.QueryExecModeDescribeExec)
				if err != nil {
					t.Errorf("%s: extended protocol as %s: %v", q, u.Role, err)
					continue
				}
				var names []string
				for _, f := range rows.FieldDescriptions() {
					names = append(names, f.Name)
				}
				for rows.Next() {
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					t.Errorf("%s: extended protocol as %s: %v", q, u.Role, err)
				}
				if want, _, err := duckdbJSON(ctx, wh.DB, q); err == nil && !sameColumns(names, want) {
					t.Errorf("%s: extended protocol columns %v, DuckDB %v", q, names, want)
				}
			}
			for _, q := range catalogQueries {
				for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
					if _, err := queryText(ctx, c, q, mode); err != nil {
						t.Errorf("catalog query as %s (%s): %s: %v", u.Role, mode, q, err)
					}
				}
			}
		})
	}
	t.Logf("%d corpus runs compared with DuckDB", runs)
}

// gatewayText runs q over the simple protocol and returns the column
// names and each row as a JSON array of its values read back from
// PostgreSQL's text: NULL as null, everything else as a string.
func gatewayText(ctx context.Context, c *pgx.Conn, q string) ([]string, []string, error) {
	rows, err := c.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, 0, len(cols))
		for _, raw := range rows.RawValues() {
			if raw == nil {
				vals = append(vals, nil)
			} else {
				vals = append(vals, string(raw))
			}
		}
		b, _ := json.Marshal(vals)
		out = append(out, string(b))
	}
	return cols, out, rows.Err()
}

// duckdbJSON runs q on DuckDB directly and returns its column names and
// each row as a JSON array of DuckDB's to_json of each value.
func duckdbJSON(ctx context.Context, db *sql.DB, q string) ([]string, []string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return nil, nil, err
	}
	rows, err = db.QueryContext(ctx, "select to_json(columns(*))::varchar from ("+q+")")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = "null"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, "["+strings.Join(parts, ",")+"]")
	}
	return cols, out, rows.Err()
}

// canonical turns one JSON value into a comparable string: numbers to 12
// significant digits, true/false as PostgreSQL's t/f, nested values as
// their token stream (order kept), strings that hold a number or nested
// JSON as that. fromText says the value is the gateway's PostgreSQL text.
func canonical(raw json.RawMessage, fromText bool) string {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "?" + string(raw)
	}
	switch x := tok.(type) {
	case nil:
		return "\x00NULL"
	case bool:
		if x {
			return "t"
		}
		return "f"
	case json.Number:
		return number(string(x))
	case string:
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			if json.Valid([]byte(t)) {
				return tokens(t)
			}
			if fromText && strings.HasPrefix(t, "{") {
				return tokens(pgArrayJSON(t))
			}
		}
		if _, err := strconv.ParseFloat(x, 64); err == nil {
			return number(x)
		}
		return x
	default:
		return tokens(string(raw))
	}
}

// pgArrayJSON reads a one-dimensional PostgreSQL array literal
// ({1,2}, {"a b",NULL}) as a JSON array; an element that is JSON (a
// nested value) stays JSON.
func pgArrayJSON(t string) string {
	body := t[1 : len(t)-1]
	var elems []string
	for i := 0; i < len(body); {
		var e string
		quoted := false
		if body[i] == '"' {
			quoted = true
			var b strings.Builder
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				b.WriteByte(body[i])
			}
			i++
			e = b.String()
		} else {
			j := strings.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			e = body[i : i+j]
			i += j
		}
		switch {
		case !quoted && e == "NULL":
			elems = append(elems, "null")
		case json.Valid([]byte(e)) && (strings.HasPrefix(e, "{") || strings.HasPrefix(e, "[") || !quoted):
			elems = append(elems, e)
		default:
			q, _ := json.Marshal(e)
			elems = append(elems, string(q))
		}
		if i < len(body) && body[i] == ',' {
			i++
		}
	}
	return "[" + strings.Join(elems, ",") + "]"
}

func number(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}

// tokens is a nested JSON value's token stream, keys in their order.
func tokens(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return b.String()
		}
		switch x := tok.(type) {
		case json.Number:
			b.WriteString(number(string(x)))
		case string:
			fmt.Fprintf(&b, "%q", x)
		default:
			fmt.Fprintf(&b, "%v", x)
		}
		b.WriteByte(' ')
	}
}

// rowKey is a row's canonical form.
func rowKey(row string, fromText bool) string {
	var vals []json.RawMessage
	if err := json.Unmarshal([]byte(row), &vals); err != nil {
		return "?" + row
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = canonical(v, fromText)
	}
	return strings.Join(parts, "\x1f")
}

// TestRefusedOnPurpose: constructs of ordinary SQL the gateway refuses on
// purpose; each refusal names the construct and the reason, and
// docs/gateway.md lists them.
func TestRefusedOnPurpose(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	c := connect(t, s, "ana")
	for q, want := range map[string][]string{
		"explain (format json) select 1":                                 {"EXPLAIN option FORMAT other than TEXT"},
		"explain select 1; select 2":                                     {"EXPLAIN takes one SELECT statement"},
		"attach 'x.db'":                                                  {"only SELECT queries", "ATTACH"},
		"select * from kpi_daily at (version => 1)":                      {"AT (time travel)"},
		"select * from read_csv('x.csv')":                                {"table function read_csv", "not available"},
		"select current_setting('memory_limit')":                         {"current_setting", "PostgreSQL's client settings only"},
		"select 1::geometry":                                             {"type geometry does not exist"},
		"pivot (select range as x from range(2000)) on x using count(*)": {"PIVOT without IN over more than 1000 distinct values"},
		"copy kpi_daily to 'x.csv'":                                      {"only SELECT queries", "COPY"},
	} {
		_, err := queryText(ctx, c, q, pgx.QueryExecModeSimpleProtocol)
		if err == nil {
			t.Errorf("%s: ran, want a refusal", q)
			continue
		}
		mustContainAll(t, q, err, want)
	}
}

func mustContainAll(t *testing.T, q string, err error, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", q, err, w)
		}
	}
}

// sameColumns compares the gateway's column names with DuckDB's. They are
// equal, except where DuckDB names an unaliased function call by its text
// and the gateway, as PostgreSQL does and clients expect, by the function:
// DuckDB's "min(\"day\")" is "min", "count_star()" is "count", and a cast
// "CAST(f(x) AS T)" is f (rows.go, pgColumnName).
func sameColumns(gateway, duck []string) bool {
	if len(gateway) != len(duck) {
		return false
	}
	for i, g := range gateway {
		d := duck[i]
		for strings.HasPrefix(d, "CAST(") {
			d = d[len("CAST("):]
		}
		switch {
		case g == duck[i]:
		case g == "count" && strings.HasPrefix(d, "count_star("):
		case strings.HasPrefix(d, g+"(") && strings.HasSuffix(d, ")"):
		default:
			return false
		}
	}
	return true
}

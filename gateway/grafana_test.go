package gateway

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Grafana's PostgreSQL data source expands its macros and sends the query
// text through pgx's PgConn().Exec (simple protocol, text results). These
// are such queries, expanded as Grafana expands them, for a 30-day range.
const (
	grafanaFrom = "'2026-10-01T00:00:00Z'"
	grafanaTo   = "'2026-10-31T00:00:00Z'"
)

var grafanaPanels = []struct {
	name, query string
	cols        []string
}{
	{"time series grouped by interval ($__timeGroupAlias(day,1d), $__timeFilter(day))",
		`SELECT floor(extract(epoch from day)/86400)*86400 AS "time", channel AS metric, sum(conversations) AS value
		 FROM kpi_daily WHERE day BETWEEN ` + grafanaFrom + ` AND ` + grafanaTo + `
		 GROUP BY 1, 2 ORDER BY 1, 2`, []string{"time", "metric", "value"}},
	{"time series by team, 1w interval",
		`SELECT floor(extract(epoch from day)/604800)*604800 AS "time", avg(escalation_rate) AS "escalation"
		 FROM kpi_daily_team WHERE day BETWEEN ` + grafanaFrom + ` AND ` + grafanaTo + ` AND team <> 'none'
		 GROUP BY 1 ORDER BY 1`, []string{"time", "escalation"}},
	{"table",
		`SELECT channel, sum(conversations) AS conversations, avg(fcr_rate) AS fcr, avg(csat) AS csat
		 FROM kpi_daily WHERE day BETWEEN ` + grafanaFrom + ` AND ` + grafanaTo + `
		 GROUP BY channel ORDER BY conversations DESC`, []string{"channel", "conversations", "fcr", "csat"}},
	{"multi-value template variable ($channel = whatsapp, email)",
		`SELECT day AS "time", channel AS metric, frt_p50_s AS value FROM kpi_daily
		 WHERE day BETWEEN ` + grafanaFrom + ` AND ` + grafanaTo + ` AND channel IN ('whatsapp','email')
		 ORDER BY 1, 2`, []string{"time", "metric", "value"}},
	{"template variable query", `SELECT DISTINCT channel FROM kpi_daily ORDER BY 1`, []string{"channel"}},
}

func TestGrafanaPanelQueries(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "graf")
	ctx := context.Background()
	wh := testWarehouse(t)
	for _, p := range grafanaPanels {
		t.Run(p.name, func(t *testing.T) {
			results, err := c.PgConn().Exec(ctx, p.query).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 1 {
				t.Fatalf("%d results", len(results))
			}
			r := results[0]
			var cols []string
			for _, f := range r.FieldDescriptions {
				cols = append(cols, f.Name)
			}
			if strings.Join(cols, ",") != strings.Join(p.cols, ",") {
				t.Errorf("columns %v, want %v", cols, p.cols)
			}
			// The reference is DuckDB's own text of the same query in
			// process (each column cast to VARCHAR), not the gateway's
			// encoder: rows compared as sorted lists, numbers by value.
			rows, err := wh.DB.QueryContext(ctx, "SELECT COLUMNS(*)::VARCHAR FROM ("+p.query+")")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var want []string
			for rows.Next() {
				vals := make([]*string, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				want = append(want, textRowKey(vals))
			}
			var got []string
			for _, r := range r.Rows {
				vals := make([]*string, len(r))
				for i, v := range r {
					if v != nil {
						s := string(v)
						vals[i] = &s
					}
				}
				got = append(got, textRowKey(vals))
			}
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("%d rows over the wire, %d in process", len(got), len(want))
			}
			slices.Sort(want)
			slices.Sort(got)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row over the wire %q, in process %q", got[i], want[i])
				}
			}
		})
	}
}

// textRowKey renders a text row for comparison: NULL as \N, numbers normalised by
// value (DuckDB writes 1e-05 where PostgreSQL writes 1e-05 or 0.00001).
func textRowKey(vals []*string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch {
		case v == nil:
			parts[i] = `\N`
		default:
			if f, err := strconv.ParseFloat(*v, 64); err == nil {
				parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
			} else {
				parts[i] = *v
			}
		}
	}
	return strings.Join(parts, "|")
}

// The wire text of each PostgreSQL type Grafana reads, worked out by hand
// from PostgreSQL's output functions (date_out, float8out, boolout, ...).
func TestGrafanaWireText(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "graf")
	results, err := c.PgConn().Exec(context.Background(), `SELECT DATE '2026-10-01' AS "time", 'whatsapp' AS metric,
		0.25::DOUBLE AS rate, 1234::BIGINT AS n, true AS yes, false AS no, NULL::DOUBLE AS missing,
		TIMESTAMP '2026-10-01 13:45:00' AS ts, 1.5::DECIMAL(10,2) AS money`).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-10-01", "whatsapp", "0.25", "1234", "t", "f", "", "2026-10-01 13:45:00", "1.50"}
	row := results[0].Rows[0]
	if len(row) != len(want) {
		t.Fatalf("%d columns, want %d", len(row), len(want))
	}
	for i, w := range want {
		if i == 6 {
			if row[i] != nil {
				t.Errorf("NULL came as %q", row[i])
			}
			continue
		}
		if string(row[i]) != w {
			t.Errorf("column %s: %q, want %q", results[0].FieldDescriptions[i].Name, row[i], w)
		}
	}
}

// Grafana's query editor lists tables and columns with these queries.
func TestGrafanaEditorMetadataQueries(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "graf")
	ctx := context.Background()
	exec := func(q string) [][]string {
		t.Helper()
		results, err := c.PgConn().Exec(ctx, q).ReadAll()
		if err != nil {
			t.Fatalf("%s\n%v", q, err)
		}
		var out [][]string
		for _, r := range results[len(results)-1].Rows {
			var row []string
			for _, v := range r {
				row = append(row, string(v))
			}
			out = append(out, row)
		}
		return out
	}
	if v := exec("SELECT current_setting('server_version_num')::int/100 AS version"); v[0][0] != "1500" {
		t.Errorf("version: %v", v)
	}
	if v := exec("select 1 from pg_extension where extname = 'timescaledb'"); len(v) != 0 {
		t.Errorf("timescaledb: %v", v)
	}
	schemaConstraint := `quote_ident(table_schema) IN (
	  SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
	  FROM generate_series(
	    array_lower(string_to_array(current_setting('search_path'),','),1),
	    array_upper(string_to_array(current_setting('search_path'),','),1)
	  ) as i,
	  string_to_array(current_setting('search_path'),',') s
	)`
	tables := exec(`select quote_ident(table_name) as "table" from information_schema.tables
	  where quote_ident(table_schema) not in ('information_schema', 'pg_catalog', '_timescaledb_cache', '_timescaledb_catalog',
	    '_timescaledb_internal', '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental')
	    and table_type = 'BASE TABLE' and ` + schemaConstraint + ` order by 1`)
	if fmt.Sprint(tables) != "[[kpi_daily] [kpi_daily_team]]" {
		t.Errorf("tables listed for grafana: %v", tables)
	}
	cols := exec(`select quote_ident(column_name) as "column", data_type as "type" from information_schema.columns
	  where quote_ident(table_name) = 'kpi_daily' and ` + schemaConstraint + ` order by 1`)
	types := map[string]string{}
	for _, r := range cols {
		types[r[0]] = r[1]
	}
	if types["day"] != "date" || types["conversations"] != "bigint" || types["fcr_rate"] != "double precision" || types["channel"] != "character varying" {
		t.Errorf("columns: %v", types)
	}
	parsed := exec(`SELECT quote_ident(column_name) AS column_name, data_type FROM information_schema.columns
	  WHERE table_schema = (parse_ident('main.kpi_daily'))[1] AND table_name = (parse_ident('main.kpi_daily'))[2]
	  AND data_type IN ('timestamp without time zone', 'timestamp with time zone', 'date') ORDER BY 1`)
	if fmt.Sprint(parsed) != "[[day date]]" {
		t.Errorf("time columns via parse_ident: %v", parsed)
	}
	if v := exec(`select quote_ident('kpi_daily'), quote_ident('Mixed Case'), array_length(string_to_array('a,b,c', ','), 1)`); fmt.Sprint(v) != `[[kpi_daily "Mixed Case" 3]]` {
		t.Errorf("quote_ident / string_to_array: %v", v)
	}
}

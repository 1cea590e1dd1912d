package gateway

import "testing"

func TestParseCopyOut(t *testing.T) {
	for _, c := range []struct {
		sql          string
		query        string
		csv, header  bool
		ok, hasError bool
	}{
		{sql: "COPY (select 1) TO STDOUT", query: "select 1", ok: true},
		{sql: "copy ( select (1) ) to stdout with csv header;", query: " select (1) ", csv: true, header: true, ok: true},
		{sql: "COPY (select ')') TO STDOUT (FORMAT csv, HEADER true)", query: "select ')'", csv: true, header: true, ok: true},
		{sql: "COPY (select 1) TO STDOUT (FORMAT 'text')", query: "select 1", ok: true},
		{sql: "COPY (select 1) TO STDOUT (FORMAT parquet)", ok: true, hasError: true},
		{sql: "COPY (select 1) TO STDOUT WITH DELIMITER ';'", ok: true, hasError: true},
		{sql: "COPY (select 1) TO STDOUT HEADER", ok: true, hasError: true},
		// Not recognized: left to the sandbox, which refuses every COPY.
		{sql: "COPY (select 1; attach 'x' as y) TO STDOUT"},
		{sql: "COPY (select 1) TO STDOUT; select 2"},
		{sql: "COPY (select 1) TO '/tmp/x'"},
		{sql: "COPY (select 1) TO PROGRAM 'id'"},
		{sql: "COPY kpi_daily TO STDOUT"},
		{sql: "COPY kpi_daily FROM STDIN"},
		{sql: "COPY (select 1 TO STDOUT"},
		{sql: "select 1"},
	} {
		got, ok, err := parseCopyOut(c.sql)
		if ok != c.ok || (err != nil) != c.hasError {
			t.Errorf("%s: recognized %v, error %v; want %v, error %v", c.sql, ok, err, c.ok, c.hasError)
			continue
		}
		if ok && err == nil && (got.query != c.query || got.csv != c.csv || got.header != c.header) {
			t.Errorf("%s: %+v, want query %q csv %v header %v", c.sql, got, c.query, c.csv, c.header)
		}
	}
}

package gateway

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestExplain is issue 25's EXPLAIN: the statement inside is checked as
// any query of the role, EXPLAIN ANALYZE is audited like the query it
// runs, and the plan names no relation the role cannot read and no path.
func TestExplain(t *testing.T) {
	s, table, ca, _ := chainSetup(t, nil, nil)
	ctx := context.Background()
	wh := testWarehouse(t)
	// Every relation of the warehouse the analyst may not read, by name.
	var hidden []string
	rows, err := wh.DB.QueryContext(ctx, `select table_name from duckdb_tables() where schema_name = 'main' and not temporary
		union all select view_name from duckdb_views() where schema_name = 'main' and not temporary and not internal`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if !s.policy.allows(RoleAnalyst, n) {
			hidden = append(hidden, n)
		}
	}
	rows.Close()
	if len(hidden) == 0 || !slices.Contains(hidden, "int_conversations_joined") {
		t.Fatalf("the test warehouse has no hidden relation under conversations: %v", hidden)
	}
	ana, lead := connect(t, s, "ana"), connect(t, s, "lead")
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
		for _, q := range []string{
			"explain select channel, count(*) from conversations where channel <> 'zz' group by 1",
			"EXPLAIN ANALYZE select channel, count(*) from conversations where channel <> 'zz' group by 1",
			"explain (analyze, verbose, format text) select c.channel, k.day from conversations c join kpi_daily k using (channel) limit 3",
		} {
			plan, err := planText(ctx, ana, q, mode)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if !strings.Contains(plan, "SEQ_SCAN on (a relation inside a view)") {
				t.Errorf("%s: the scan under the view is not shown as hidden:\n%s", q, plan)
			}
			for _, h := range hidden {
				if regexp.MustCompile(`\b` + regexp.QuoteMeta(h) + `\b`).MatchString(plan) {
					t.Errorf("%s: the plan names %s, which the analyst cannot read:\n%s", q, h, plan)
				}
			}
			for _, leak := range []string{shared.dir, "zz", "/", "contact_key"} {
				if strings.Contains(plan, leak) {
					t.Errorf("%s: the plan holds %q:\n%s", q, leak, plan)
				}
			}
			if strings.Contains(strings.ToLower(q), "analyze") != strings.Contains(plan, "actual rows=") {
				t.Errorf("%s: actual rows shown only with ANALYZE:\n%s", q, plan)
			}
		}
		plan, err := planText(ctx, ana, "explain select day from kpi_daily", mode)
		if err != nil || !strings.Contains(plan, "SEQ_SCAN on kpi_daily") {
			t.Errorf("a relation the analyst reads is named in its plan: %v\n%s", err, plan)
		}
		// What the role may not run, it may not explain; the error is the
		// query's own.
		for _, q := range []string{"select * from conversations", "select * from read_csv('/etc/passwd')"} {
			_, qerr := planText(ctx, lead, q, mode)
			_, eerr := planText(ctx, lead, "explain analyze "+q, mode)
			var qe, ee *pgconn.PgError
			if !errors.As(qerr, &qe) || !errors.As(eerr, &ee) || qe.Code != ee.Code || qe.Message != ee.Message {
				t.Errorf("%s as leadership: query %v, explain %v; want the same refusal", q, qerr, eerr)
			}
		}
		for _, q := range []string{"explain delete from kpi_daily", "explain (format json) select 1",
			`explain ("maria@example.org") select 1`, "explain select 1; select 2", "explain explain select 1"} {
			_, err := planText(ctx, ana, q, mode)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || !refusedCodes[pe.Code] && pe.Code != codeReadOnly {
				t.Errorf("%s: %v, want a refusal", q, err)
			} else if strings.Contains(pe.Message, "maria") {
				t.Errorf("%s: the refusal quotes the unknown option: %s", q, pe.Message)
			}
		}
	}
	ca.Flush(ctx)
	recs := tableRecords(t, s, table, ana.PgConn().PID())
	var analyzed int
	for _, r := range recs {
		if strings.HasPrefix(r.Statement, "EXPLAIN ANALYZE SELECT") && r.Outcome == OutcomeOK {
			analyzed++
			if !slices.Contains(r.Relations, "main.conversations") {
				t.Errorf("EXPLAIN ANALYZE audited without its relations: %+v", r)
			}
			if strings.Contains(r.Statement, "zz") {
				t.Errorf("EXPLAIN ANALYZE audited with its constants: %s", r.Statement)
			}
		}
	}
	if analyzed != 4 {
		t.Errorf("%d EXPLAIN ANALYZE records in gateway_queries, want 4: %+v", analyzed, recs)
	}
}

// planText runs an EXPLAIN and returns its lines, checking the column is
// PostgreSQL's "QUERY PLAN".
func planText(ctx context.Context, c *pgx.Conn, q string, mode pgx.QueryExecMode) (string, error) {
	rows, err := c.Query(ctx, q, mode)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", err
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if fd := rows.FieldDescriptions(); strings.HasPrefix(strings.ToLower(q), "explain") && (len(fd) != 1 || fd[0].Name != "QUERY PLAN") {
		return "", errors.New("the plan's column is not QUERY PLAN")
	}
	return strings.Join(lines, "\n"), nil
}

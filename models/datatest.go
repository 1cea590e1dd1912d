package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// DataTestFailure is a data test that found failing rows. It names the test
// and counts the rows, never shows them: they may hold personal data.
type DataTestFailure struct {
	Test string // e.g. "unique(conversations.conversation_id)" or "assert_kpi_daily_reconciles"
	Rows int64
}

func (f DataTestFailure) String() string { return fmt.Sprintf("%s: %d failing rows", f.Test, f.Rows) }

// Test runs the data tests over the last build: the generic ones each model
// declares in its header (unique, not_null, accepted_values, relationships)
// and the singular ones in tests/ (reconciliations). It returns the tests
// that failed; an error means a test could not run (for example, the models
// were never built).
func Test(ctx context.Context, db *sql.DB) ([]DataTestFailure, error) {
	p, err := theProject()
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting a connection for data tests: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "set session TimeZone = 'UTC'"); err != nil {
		return nil, fmt.Errorf("preparing data tests: %w", err)
	}
	var failures []DataTestFailure
	for _, t := range p.allTests() {
		var n int64
		if err := conn.QueryRowContext(ctx, "select count(*) from (\n"+t.sql+"\n)").Scan(&n); err != nil {
			return failures, fmt.Errorf("running data test %s: %w", t.name, err)
		}
		if n > 0 {
			failures = append(failures, DataTestFailure{Test: t.name, Rows: n})
		}
	}
	return failures, nil
}

// allTests returns the generic tests of every persistent model, then the
// singular tests.
func (p *project) allTests() []singularTest {
	var out []singularTest
	for _, m := range p.models {
		if m.mat == matEphemeral || m.mat == matTemp {
			continue
		}
		for _, t := range m.tests {
			out = append(out, t.queries(m.name)...)
		}
	}
	return append(out, p.tests...)
}

func (t columnTest) queries(model string) []singularTest {
	cols := strings.Join(t.columns, ", ")
	name := fmt.Sprintf("%s(%s.%s)", t.kind, model, strings.Join(t.columns, "+"))
	switch t.kind {
	case "unique":
		return []singularTest{{name: name, sql: fmt.Sprintf("select %s from %s group by all having count(*) > 1", cols, model)}}
	case "not_null":
		out := make([]singularTest, 0, len(t.columns))
		for _, c := range t.columns {
			out = append(out, singularTest{name: fmt.Sprintf("not_null(%s.%s)", model, c), sql: fmt.Sprintf("select 1 from %s where %s is null", model, c)})
		}
		return out
	case "accepted_values":
		vals := strings.Split(strings.Join(t.values, ","), ",")
		quoted := make([]string, len(vals))
		for i, v := range vals {
			quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return []singularTest{{name: name, sql: fmt.Sprintf("select 1 from %s where %s not in (%s)", model, cols, strings.Join(quoted, ", "))}}
	case "relationships":
		other, col, _ := strings.Cut(t.values[0], ".")
		return []singularTest{{name: name + "->" + t.values[0], sql: fmt.Sprintf("select 1 from %s where %s is not null and %s not in (select %s from %s)", model, cols, cols, col, other)}}
	}
	return nil
}

package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRefusalReasonsKeepNoUnknownName is issue 12's last leak: a refusal
// quotes the name the client typed (the client must see what was
// refused), but the reason stored in gateway_queries and the audit chain
// keeps only names the catalog knows. Each query plants a name that looks
// like personal data where the walker would quote it.
func TestRefusalReasonsKeepNoUnknownName(t *testing.T) {
	s, table, ca, dir := chainSetup(t, nil, nil)
	ctx := context.Background()
	c := connect(t, s, "ana")
	cases := []struct {
		sql     string
		planted string
		kept    string // a word the stored reason must still hold: the construct refused
	}{
		{`select "maria.q@example.org"(1)`, "maria.q@example.org", "function"},
		{`select "+4915112345678"(1)`, "+4915112345678", "function"},
		{`select 1::"anna.k@example.org"`, "anna.k@example.org", "type"},
		{`select * from "jon.d@example.org"(1)`, "jon.d@example.org", "table function"},
		{`select * from "lisa.m@example.org".range(1)`, "lisa.m@example.org", "table function"},
		{`select "tom.b@example.org".lower('x')`, "tom.b@example.org", "function"},
		{`select sum(1) over () from "ida.p@example.org".kpi_daily`, "ida.p@example.org", "relation"},
		{`select "eva.s@example.org".sum(1) over ()`, "eva.s@example.org", "window function"},
		{`select "+4930123456789"(2)`, "+4930123456789", "does not exist"},
	}
	for _, tc := range cases {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
			_, err := queryText(ctx, c, tc.sql, mode)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || !refusedCodes[pe.Code] {
				t.Fatalf("%s: %v, want a refusal", tc.sql, err)
			}
			// The client is told what it typed, so it can correct it.
			if !strings.Contains(pe.Message, tc.planted) {
				t.Errorf("%s: the client's error %q does not name what was refused", tc.sql, pe.Message)
			}
		}
	}
	ca.Flush(ctx)
	recs := tableRecords(t, s, table, c.PgConn().PID())
	if len(recs) != 2*len(cases) {
		t.Fatalf("%d rows in gateway_queries, want %d", len(recs), 2*len(cases))
	}
	var planted []string
	for _, tc := range cases {
		planted = append(planted, tc.planted)
	}
	for i, r := range recs {
		if r.Outcome != OutcomeRefused {
			t.Errorf("row %d: outcome %s, want refused", i, r.Outcome)
		}
		noPersonalData(t, "gateway_queries", r.Statement+" "+r.Reason, planted...)
		if want := cases[i/2].kept; !strings.Contains(r.Reason, want) {
			t.Errorf("row %d: reason %q does not name the construct (%s)", i, r.Reason, want)
		}
	}
	chain := chainRecords(t, dir, c.PgConn().PID())
	for _, r := range chain[c.PgConn().PID()] {
		reason, _ := r.Detail["reason"].(string)
		stmt, _ := r.Detail["statement"].(string)
		noPersonalData(t, "the audit chain", stmt+" "+reason, planted...)
	}
	if len(chain[c.PgConn().PID()]) != 2*len(cases) {
		t.Errorf("%d chain records, want %d", len(chain[c.PgConn().PID()]), 2*len(cases))
	}
}

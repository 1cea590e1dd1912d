package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The sleep functions' own bound, as an attack corpus: every way to sleep
// longer than gateway.limits.max_sleep must be refused before DuckDB runs
// it, or cut at twice max_sleep, as every role over both protocols, while
// the statement timeout (a minute here) would let it run.

// testMaxSleep is the bound the corpus runs under.
const testMaxSleep = 200 * time.Millisecond

// sleepAttempts are refused by the walker (SQLSTATE 54000, naming
// gateway.limits.max_sleep or asking for a constant).
var sleepAttempts = []struct{ name, sql string }{
	{"over the bound", "select pg_sleep(5)"},
	{"sleep_ms over the bound", "select sleep_ms(5000)"},
	{"a decimal over the bound", "select pg_sleep(0.25)"},
	{"a double over the bound", "select pg_sleep(1e3)"},
	{"qualified", "select pg_catalog.pg_sleep(5)"},
	{"quoted, upper case", `select "PG_SLEEP"(5)`},
	{"a text argument", "select pg_sleep('5')"},
	{"a cast argument", "select pg_sleep(cast(5 as integer))"},
	{"a column argument", "select pg_sleep(x) from (select 5 as x) s"},
	{"an expression argument", "select pg_sleep(0.1 * 50)"},
	{"a subquery argument", "select pg_sleep((select 5))"},
	{"two arguments", "select sleep_ms(10, 10)"},
	{"in a subquery", "select * from (select pg_sleep(5)) s"},
	{"in a second CTE", "with a as (select 1 as x), b as (select pg_sleep(5) as z from a) select * from b"},
	{"in a recursive CTE", "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3 and pg_sleep(5) is null) select * from r"},
	{"in LATERAL", "select * from range(2) r, lateral (select sleep_ms(5000)) l"},
	{"in a UNION", "select null union all select pg_sleep(5)"},
	{"in a WHERE", "select 1 where pg_sleep(5) is null"},
	{"in EXPLAIN ANALYZE", "explain analyze select pg_sleep(5)"},
}

// sleepsCut pass the walker, each call within the bound, but sleep longer
// in all: the statement is canceled at twice max_sleep.
var sleepsCut = []struct{ name, sql string }{
	{"a sleep per row", "select pg_sleep(0.2) from range(1000)"},
	{"sleep_ms per row in LATERAL", "select * from range(1000) r, lateral (select sleep_ms(150) as z where r.range >= 0) l"},
	{"sleeps in a UNION", "select pg_sleep(0.2) union all select pg_sleep(0.2) union all select pg_sleep(0.2) union all select pg_sleep(0.2) union all select pg_sleep(0.2)"},
}

func TestSleepIsBounded(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) {
		c.StatementTimeout, c.Limits.MaxSleep = time.Minute, testMaxSleep
	})
	modes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec}
	for _, u := range testUsers {
		for _, mode := range modes {
			t.Run(u.Name+"/"+mode.String(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				c := connect(t, s, u.Name)
				for _, a := range sleepAttempts {
					began := time.Now()
					_, err := c.Exec(ctx, a.sql, mode)
					var pe *pgconn.PgError
					switch {
					case err == nil:
						t.Errorf("%s: ran as %s", a.name, u.Role)
					case !errors.As(err, &pe) || pe.Code != codeProgramLimit:
						t.Errorf("%s: %v, want SQLSTATE 54000", a.name, err)
					case !strings.Contains(pe.Message+pe.Hint, "max_sleep") && !strings.Contains(pe.Message+pe.Hint, "constant"):
						t.Errorf("%s: %q does not say what bounds the sleep", a.name, pe.Message+" / "+pe.Hint)
					}
					if d := time.Since(began); d >= 5*time.Second {
						t.Errorf("%s: the refusal took %s: it slept", a.name, d)
					}
				}
				for _, a := range sleepsCut {
					began := time.Now()
					_, err := c.Exec(ctx, a.sql, mode)
					d := time.Since(began)
					if pgCode(err) != codeCanceled || !strings.Contains(err.Error(), "sleep limit") {
						t.Errorf("%s: %v, want 57014 for the sleep limit", a.name, err)
					}
					// 2 x 200 ms, then DuckDB's interrupt; the statement
					// timeout (1 min) and the sleeps asked (150 s, 1 s) are
					// far longer.
					if d < 2*testMaxSleep || d > 5*time.Second {
						t.Errorf("%s: canceled after %s, want from 400ms to a few seconds", a.name, d)
					}
				}
				// Within the bound a sleep runs, and the session goes on.
				for _, q := range []string{"select pg_sleep(0.1)", "select sleep_ms(200)", "select pg_sleep(0)", "select pg_sleep(-3)", "select pg_sleep(null)"} {
					if _, err := c.Exec(ctx, q, mode); err != nil {
						t.Errorf("%s within the bound: %v", q, err)
					}
				}
				// The audit keeps each cut statement as a timeout by max_sleep.
				cut := 0
				for _, r := range auditRows(t, s, c.PgConn().PID()) {
					if r.Outcome == OutcomeTimeout && r.Reason == "max_sleep" {
						cut++
					}
				}
				if cut != len(sleepsCut) {
					t.Errorf("%d audit records of statements cut by max_sleep, want %d", cut, len(sleepsCut))
				}
			})
		}
	}
}

// TestSleepIsBoundedInACursor reads a sleeping query through an Execute
// with a row limit (a JDBC fetch size), whose rows run under contexts of
// their own: the bound holds there too.
func TestSleepIsBoundedInACursor(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) {
		c.StatementTimeout, c.Limits.MaxSleep = time.Minute, testMaxSleep
	})
	c := connect(t, s, "ana")
	hc, err := c.PgConn().Hijack()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Conn.Close()
	fe := hc.Frontend
	fe.Send(&pgproto3.Parse{Name: "s1", Query: "select pg_sleep(0.2) as z from range(1000)"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "p1", PreparedStatement: "s1"})
	fe.Send(&pgproto3.Execute{Portal: "p1", MaxRows: 1})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var got *pgproto3.ErrorResponse
	for done := false; !done; {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			e := *m
			got = &e
		case *pgproto3.DataRow:
			t.Fatal("a row of 1000 sleeps of 200 ms came back under a bound of 200 ms")
		case *pgproto3.ReadyForQuery:
			done = true
		}
	}
	if d := time.Since(began); got == nil || got.Code != codeCanceled || !strings.Contains(got.Message, "sleep limit") || d > 5*time.Second {
		t.Fatalf("after %s: %+v, want 57014 for the sleep limit", time.Since(began), got)
	}
}

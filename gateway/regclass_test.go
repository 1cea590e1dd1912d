package gateway

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRegclassCasts is issue 25's regclass: the casts JDBC, SQLAlchemy
// and DBeaver send resolve to the oids pg_class and pg_type report, and a
// relation the role cannot read is as unknown as one that does not exist.
func TestRegclassCasts(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	c := connect(t, s, "lead")
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
		var teamOID, dailyOID, int4OID, varcharOID int64
		if err := c.QueryRow(ctx, "select oid from pg_class where relname = 'kpi_daily_team'", mode).Scan(&teamOID); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "select oid from pg_class where relname = 'kpi_daily'", mode).Scan(&dailyOID); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "select oid from pg_type where typname = 'int4'", mode).Scan(&int4OID); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "select oid from pg_type where typname = 'varchar'", mode).Scan(&varcharOID); err != nil {
			t.Fatal(err)
		}
		if teamOID == dailyOID || int4OID == varcharOID {
			t.Fatalf("oids not distinct: %d %d %d %d", teamOID, dailyOID, int4OID, varcharOID)
		}
		for q, want := range map[string]string{
			"select 'kpi_daily_team'::regclass":                   strconv.FormatInt(teamOID, 10),
			"select 'kpi_daily'::regclass::oid":                   strconv.FormatInt(dailyOID, 10),
			"select 'public.kpi_daily'::pg_catalog.regclass::oid": strconv.FormatInt(dailyOID, 10),
			`select '"kpi_daily"'::regclass::oid`:                 strconv.FormatInt(dailyOID, 10),
			"select 'int4'::regtype::oid":                         strconv.FormatInt(int4OID, 10),
			"select 'integer'::regtype::oid":                      strconv.FormatInt(int4OID, 10),
			"select 'text'::regtype::oid":                         "25", // PostgreSQL's text
			"select 'kpi_daily'::regclass::text":                  "kpi_daily",
			"select 'KPI_DAILY'::regclass::varchar":               "kpi_daily",
			"select count(*) from pg_attribute where attrelid = 'kpi_daily'::regclass and attname = 'channel'": "1",
			"select c.oid::regclass::text from pg_class c where c.relname = 'kpi_daily_team'":                  "kpi_daily_team",
			"select relname from pg_class where oid = 'kpi_daily_team'::regclass":                              "kpi_daily_team",
		} {
			var got string
			if err := c.QueryRow(ctx, "select ("+q+")::text", mode).Scan(&got); err != nil {
				t.Errorf("%s: %v", q, err)
				continue
			}
			if got != want {
				t.Errorf("%s = %s, want %s", q, got, want)
			}
		}
		// conversations exists, but leadership cannot read it: the same
		// error as a name that exists nowhere.
		var msgs []string
		for _, name := range []string{"conversations", "no_such_relation_xyz"} {
			var oid int64
			err := c.QueryRow(ctx, "select '"+name+"'::regclass::oid", mode).Scan(&oid)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				t.Fatalf("%s::regclass as leadership: %v, want an error", name, err)
			}
			msgs = append(msgs, pe.Code+" "+pe.Message[:len(pe.Message)-len(name)-len(`" does not exist`)])
		}
		if msgs[0] != msgs[1] {
			t.Errorf("a hidden relation's error differs from a missing one's: %q vs %q", msgs[0], msgs[1])
		}
	}
	// The analyst reads conversations: its oid resolves.
	a := connect(t, s, "ana")
	var viaCast, viaClass int64
	if err := a.QueryRow(ctx, "select 'conversations'::regclass::oid").Scan(&viaCast); err != nil {
		t.Fatal(err)
	}
	if err := a.QueryRow(ctx, "select oid from pg_class where relname = 'conversations'").Scan(&viaClass); err != nil || viaCast != viaClass {
		t.Fatalf("conversations as analyst: cast %d, pg_class %d, %v", viaCast, viaClass, err)
	}
}

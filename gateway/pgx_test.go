package gateway

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestPgxResultTypes checks the type OIDs of results and that pgx decodes
// the values, over both protocols: the extended one (binary results) and
// the simple one (text results).
func TestPgxResultTypes(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	const q = `select
		'2026-11-21 14:03:05.123456+00'::timestamptz as ts,
		170141183460469231731687303715884105727::hugeint as huge,
		true as yes,
		interval '1 day 02:03:04.5' + interval '2 months' as iv,
		date '2026-11-21' as d,
		1.25::double as f8,
		9007199254740993::bigint as i8,
		42::integer as i4,
		7::smallint as i2,
		'olá'::varchar as txt,
		123.450::decimal(18,3) as dec,
		[1, 2, null]::bigint[] as arr,
		['a', 'b c']::varchar[] as tarr,
		null::integer as nothing,
		'2026-11-21 14:03:05'::timestamp as tsl`
	want := map[string]uint32{"ts": 1184, "huge": 1700, "yes": 16, "iv": 1186, "d": 1082, "f8": 701, "i8": 20,
		"i4": 23, "i2": 21, "txt": 25, "dec": 1700, "arr": 1016, "tarr": 1009, "nothing": 23, "tsl": 1114}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			rows, err := c.Query(ctx, q, mode)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rows.FieldDescriptions() {
				if want[f.Name] != f.DataTypeOID {
					t.Errorf("column %s: type OID %d, want %d", f.Name, f.DataTypeOID, want[f.Name])
				}
			}
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			var (
				ts, tsl   time.Time
				huge, dec pgtype.Numeric
				yes       bool
				iv        pgtype.Interval
				d         pgtype.Date
				f8        float64
				i8        int64
				i4        int32
				i2        int16
				txt       string
				arr       []*int64
				tarr      []string
				nothing   *int32
			)
			if err := rows.Scan(&ts, &huge, &yes, &iv, &d, &f8, &i8, &i4, &i2, &txt, &dec, &arr, &tarr, &nothing, &tsl); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			if !ts.Equal(time.Date(2026, 11, 21, 14, 3, 5, 123456000, time.UTC)) {
				t.Errorf("timestamptz: %v", ts)
			}
			maxHuge, _ := new(big.Int).SetString("170141183460469231731687303715884105727", 10)
			if huge.Int.Cmp(maxHuge) != 0 || huge.Exp != 0 {
				t.Errorf("hugeint: %v e%d", huge.Int, huge.Exp)
			}
			if !yes || iv.Months != 2 || iv.Days != 1 || iv.Microseconds != (2*3600+3*60+4)*1e6+5e5 {
				t.Errorf("bool %v, interval %+v", yes, iv)
			}
			if !d.Time.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) || f8 != 1.25 || i8 != 9007199254740993 || i4 != 42 || i2 != 7 || txt != "olá" {
				t.Errorf("date %v float %v int8 %v int4 %v int2 %v text %q", d.Time, f8, i8, i4, i2, txt)
			}
			if v, _ := dec.Value(); v != "123.450" {
				t.Errorf("decimal: %v", v)
			}
			if len(arr) != 3 || *arr[0] != 1 || *arr[1] != 2 || arr[2] != nil || strings.Join(tarr, "|") != "a|b c" || nothing != nil {
				t.Errorf("arrays %v %v, null %v", arr, tarr, nothing)
			}
			if !tsl.Equal(time.Date(2026, 11, 21, 14, 3, 5, 0, time.UTC)) {
				t.Errorf("timestamp: %v", tsl)
			}
		})
	}
}

// TestPgxParameterTypes checks that the gateway describes the parameter
// types DuckDB infers, so that pgx encodes each argument in its real type,
// and that arguments of each type arrive intact.
func TestPgxParameterTypes(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	sd, err := c.Prepare(ctx, "by_filters", `select count(*) from conversations
		where opened_at >= $1 and channel = $2 and coalesce(frt_s, 0) >= $3 and bot_handled = $4 and event_count >= $5`)
	if err != nil {
		t.Fatal(err)
	}
	wantOIDs := []uint32{1184, 25, 701, 16, 20}
	for i, o := range sd.ParamOIDs {
		if o != wantOIDs[i] {
			t.Errorf("parameter $%d: OID %d, want %d", i+1, o, wantOIDs[i])
		}
	}
	var viaParams, viaLiterals int64
	since := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	if err := c.QueryRow(ctx, "by_filters", since, "whatsapp", 1.5, true, int64(2)).Scan(&viaParams); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `select count(*) from conversations where opened_at >= '2026-10-05T00:00:00Z'
		and channel = 'whatsapp' and coalesce(frt_s, 0) >= 1.5 and bot_handled and event_count >= 2`).Scan(&viaLiterals); err != nil {
		t.Fatal(err)
	}
	if viaParams != viaLiterals || viaParams == 0 {
		t.Fatalf("with parameters %d rows, with literals %d", viaParams, viaLiterals)
	}

	// Each type round-trips through a parameter, in both protocols.
	iv := pgtype.Interval{Months: 1, Days: 2, Microseconds: 3_000_000, Valid: true}
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	num := pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeSimpleProtocol} {
		var (
			i2   int16
			i4   int32
			i8   int64
			f8   float64
			b    bool
			txt  string
			d    time.Time
			ts   time.Time
			gotI pgtype.Interval
			n    pgtype.Numeric
			null *string
		)
		err := c.QueryRow(ctx, `select $1::smallint, $2::integer, $3::bigint, $4::double, $5::boolean, $6::varchar,
			$7::date, $8::timestamptz, $9::interval, $10::decimal(10,2), $11::varchar`,
			mode, int16(-7), int32(1<<30), int64(1)<<40, 2.5, true, "ana's 'quote'", day, day.Add(90*time.Minute), iv, num, nil).
			Scan(&i2, &i4, &i8, &f8, &b, &txt, &d, &ts, &gotI, &n, &null)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		nv, _ := n.Value()
		if i2 != -7 || i4 != 1<<30 || i8 != 1<<40 || f8 != 2.5 || !b || txt != "ana's 'quote'" || !d.Equal(day) ||
			!ts.Equal(day.Add(90*time.Minute)) || gotI != iv || nv != "123.45" || null != nil {
			t.Errorf("%s: got %v %v %v %v %v %q %v %v %+v %v %v", mode, i2, i4, i8, f8, b, txt, d, ts, gotI, nv, null)
		}
	}
}

// TestPgxPingAndStartup: pgx's ping is the empty query "-- ping", and the
// start-up parameters tell clients how to quote.
func TestPgxPingAndStartup(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "graf")
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	res := c.PgConn().Exec(ctx, "-- ping")
	results, err := res.ReadAll()
	if err != nil || len(results) != 1 || len(results[0].Rows) != 0 {
		t.Fatalf("-- ping: %v %v", results, err)
	}
	pc := c.PgConn()
	if v := pc.ParameterStatus("standard_conforming_strings"); v != "on" {
		t.Errorf("standard_conforming_strings = %q", v)
	}
	if v := pc.ParameterStatus("server_version"); !strings.HasPrefix(v, "15") {
		t.Errorf("server_version = %q", v)
	}
	if pc.PID() == 0 || len(pc.SecretKey()) == 0 {
		t.Errorf("no backend key data")
	}
	// Backslashes are literal in standard strings, as the client assumes.
	var got string
	if err := c.QueryRow(ctx, `select 'a\b'`, pgx.QueryExecModeSimpleProtocol).Scan(&got); err != nil || got != `a\b` {
		t.Errorf(`select 'a\b': %q %v`, got, err)
	}
}

// TestPgxSessionCommands: transaction blocks, SET and SHOW as drivers send them.
func TestPgxSessionCommands(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(ctx, "select count(*) from kpi_daily").Scan(&n); err != nil || n == 0 {
		t.Fatalf("in a transaction: %d %v", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "set application_name = 'grafana-test'"); err != nil {
		t.Fatal(err)
	}
	var app, iso string
	if err := c.QueryRow(ctx, "show application_name").Scan(&app); err != nil || app != "grafana-test" {
		t.Fatalf("show application_name: %q %v", app, err)
	}
	if err := c.QueryRow(ctx, "show transaction isolation level").Scan(&iso); err != nil || iso != "read committed" {
		t.Fatalf("show transaction isolation level: %q %v", iso, err)
	}
	// An error inside a block fails the block until ROLLBACK.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "select * from events"); err == nil {
		t.Fatal("analyst read events")
	}
	_, err = tx.Exec(ctx, "select 1")
	mustContain(t, err, "current transaction is aborted")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, "select 1").Scan(&n); err != nil {
		t.Fatalf("after rollback: %v", err)
	}
}

// TestPgxMultipleStatements: a simple Query may hold several SELECTs; each
// returns its own result.
func TestPgxMultipleStatements(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "lead")
	results, err := c.PgConn().Exec(context.Background(), "select 1 as a; select count(*) as n from kpi_daily; select 'x' as s").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || string(results[0].Rows[0][0]) != "1" || string(results[2].Rows[0][0]) != "x" ||
		results[1].CommandTag.String() != "SELECT 1" {
		t.Fatalf("results: %+v", results)
	}
}

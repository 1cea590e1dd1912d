package gateway

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The catalog's types (pgtypes.go), on an in-memory DuckDB with the
// session's setup, against oids and format_type strings written down
// from PostgreSQL 15's pg_type and format_type.

func pgTypesDB(t *testing.T) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := NewPolicy()
	p.Allow(RoleAnalyst, "shown")
	if _, err := conn.ExecContext(ctx, `create table shown(a integer, b varchar, c decimal(10,2), d double, e varchar[],
		f timestamptz, g date, h bigint, i boolean, j integer[], k decimal(38,10), l struct(x int), m integer[][],
		n hugeint, o blob, p uuid, q interval, r time, s timestamp, u float, v smallint, w tinyint, x json, y decimal(10,2)[]);
		create table hidden(secret_column varchar)`); err != nil {
		t.Fatal(err)
	}
	for _, setup := range []string{sessionSetup(p, RoleAnalyst, "memory", "ana", 1), regclassSetup()} {
		if _, err := conn.ExecContext(ctx, setup); err != nil {
			t.Fatalf("session setup: %v", err)
		}
	}
	return conn
}

func TestCatalogColumnTypes(t *testing.T) {
	conn := pgTypesDB(t)
	// column: atttypid, atttypmod, format_type, pg_type.typname
	want := map[string]struct {
		oid    int64
		typmod int64
		format string
		name   string
	}{
		"a": {23, -1, "integer", "int4"},
		"b": {1043, -1, "character varying", "varchar"},
		"c": {1700, 655366, "numeric(10,2)", "numeric"}, // (10<<16 | 2) + 4
		"d": {701, -1, "double precision", "float8"},
		"e": {1015, -1, "character varying[]", "_varchar"},
		"f": {1184, -1, "timestamp with time zone", "timestamptz"},
		"g": {1082, -1, "date", "date"},
		"h": {20, -1, "bigint", "int8"},
		"i": {16, -1, "boolean", "bool"},
		"j": {1007, -1, "integer[]", "_int4"},
		"k": {1700, 2490382, "numeric(38,10)", "numeric"}, // (38<<16 | 10) + 4
		"l": {25, -1, "text", "text"},                     // a struct is sent as text
		"m": {25, -1, "text", "text"},                     // so is a list of lists
		"n": {1700, -1, "numeric", "numeric"},
		"o": {17, -1, "bytea", "bytea"},
		"p": {2950, -1, "uuid", "uuid"},
		"q": {1186, -1, "interval", "interval"},
		"r": {1083, -1, "time without time zone", "time"},
		"s": {1114, -1, "timestamp without time zone", "timestamp"},
		"u": {700, -1, "real", "float4"},
		"v": {21, -1, "smallint", "int2"},
		"w": {21, -1, "smallint", "int2"},
		"x": {114, -1, "json", "json"},
		"y": {1231, 655366, "numeric(10,2)[]", "_numeric"},
	}
	rows, err := conn.QueryContext(context.Background(), `select a.attname, a.atttypid, a.atttypmod,
		gw_format_type(a.atttypid, a.atttypmod), t.typname
		from temp.main.gw_pg_attribute a join temp.main.gw_pg_type t on t.oid = a.atttypid
		join temp.main.gw_pg_class c on c.oid = a.attrelid where c.relname = 'shown'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var name, format, typname string
		var oid, typmod int64
		if err := rows.Scan(&name, &oid, &typmod, &format, &typname); err != nil {
			t.Fatal(err)
		}
		seen++
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected column %s", name)
			continue
		}
		if oid != w.oid || typmod != w.typmod || format != w.format || typname != w.name {
			t.Errorf("column %s: oid %d typmod %d format %q typname %q; want %d %d %q %q",
				name, oid, typmod, format, typname, w.oid, w.typmod, w.format, w.name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("%d columns of shown in pg_attribute, want %d", seen, len(want))
	}
	// The role does not read hidden: its columns are not listed.
	var n int
	if err := conn.QueryRowContext(context.Background(),
		"select count(*) from temp.main.gw_pg_attribute where attname = 'secret_column'").Scan(&n); err != nil || n != 0 {
		t.Errorf("hidden's column in pg_attribute: %d, %v; want 0", n, err)
	}
}

func TestFormatType(t *testing.T) {
	conn := pgTypesDB(t)
	for _, c := range []struct {
		q    string
		want sql.NullString
	}{
		{"gw_format_type(23, -1)", sql.NullString{String: "integer", Valid: true}},
		{"gw_format_type(23, null)", sql.NullString{String: "integer", Valid: true}},
		{"gw_format_type(1007, -1)", sql.NullString{String: "integer[]", Valid: true}},
		{"gw_format_type(1009, -1)", sql.NullString{String: "text[]", Valid: true}},
		{"gw_format_type(1700, 655366)", sql.NullString{String: "numeric(10,2)", Valid: true}},
		{"gw_format_type(1700, -1)", sql.NullString{String: "numeric", Valid: true}},
		{"gw_format_type(1043, 14)", sql.NullString{String: "character varying(10)", Valid: true}},
		{"gw_format_type(1042, 9)", sql.NullString{String: "character(5)", Valid: true}},
		{"gw_format_type(1042, -1)", sql.NullString{String: "bpchar", Valid: true}},
		{"gw_format_type(1184, 3)", sql.NullString{String: "timestamp(3) with time zone", Valid: true}},
		{"gw_format_type(1083, 0)", sql.NullString{String: "time(0) without time zone", Valid: true}},
		{"gw_format_type(18, -1)", sql.NullString{String: `"char"`, Valid: true}},
		{"gw_format_type(1562, -1)", sql.NullString{String: "bit varying", Valid: true}},
		{"gw_format_type(99999, -1)", sql.NullString{String: "???", Valid: true}},
		{"gw_format_type(null, -1)", sql.NullString{}},
		{"gw_regtype_oid('text')", sql.NullString{String: "25", Valid: true}},
		{"gw_regtype_oid('integer')", sql.NullString{String: "23", Valid: true}},
		{"gw_regtype_oid('character varying')", sql.NullString{String: "1043", Valid: true}},
		{"(select typarray from temp.main.gw_pg_type where typname = 'int8')", sql.NullString{String: "1016", Valid: true}},
		{"(select typelem from temp.main.gw_pg_type where typname = '_timestamptz')", sql.NullString{String: "1184", Valid: true}},
		{"(select count(*) from temp.main.gw_pg_type where oid is null or typnamespace is null)", sql.NullString{String: "0", Valid: true}},
	} {
		var got sql.NullString
		if err := conn.QueryRowContext(context.Background(), "select ("+c.q+")::varchar").Scan(&got); err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestNumericTypmod(t *testing.T) {
	for name, want := range map[string]int32{
		"DECIMAL(10,2)": 655366, "DECIMAL(18,3)": 1179655, "DECIMAL(38,10)": 2490382,
		"DOUBLE": -1, "VARCHAR": -1, "DECIMAL(10,2)[]": -1, "BIGINT": -1,
	} {
		if got := typmodOfName(name); got != want {
			t.Errorf("typmodOfName(%s) = %d, want %d", name, got, want)
		}
	}
}

// TestCatalogColumnsFollowTheRole: pg_attribute with PostgreSQL's types
// lists no more than before, whatever the route. Leadership reads the two
// KPI marts only; contact_key is a column of conversations, contacts and
// timeline, which the analyst reads. Knowing conversations' oid (from an
// analyst's session) does not give leadership its columns.
func TestCatalogColumnsFollowTheRole(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	ana, lead := connect(t, s, "ana"), connect(t, s, "lead")
	var convOID int64
	if err := ana.QueryRow(ctx, "select oid from pg_class where relname = 'conversations'").Scan(&convOID); err != nil {
		t.Fatal(err)
	}
	count := func(c interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}, q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := c.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count(ana, "select count(*) from pg_attribute where attname = 'contact_key'"); n != 3 {
		t.Errorf("analyst sees contact_key in %d relations, want 3", n)
	}
	if n := count(lead, "select count(*) from pg_attribute where attname = 'contact_key'"); n != 0 {
		t.Errorf("leadership sees contact_key in %d relations, want 0", n)
	}
	if n := count(lead, "select count(distinct attrelid) from pg_attribute"); n != 2 {
		t.Errorf("leadership sees columns of %d relations, want 2 (kpi_daily, kpi_daily_team)", n)
	}
	q := "select count(*) from pg_attribute a join pg_type t on t.oid = a.atttypid where a.attrelid = $1 and format_type(a.atttypid, a.atttypmod) is not null"
	if n := count(lead, q, convOID); n != 0 {
		t.Errorf("leadership read %d columns of conversations by its oid, want 0", n)
	}
	if n := count(ana, q, convOID); n == 0 {
		t.Errorf("the analyst reads no column of conversations by its oid")
	}
}

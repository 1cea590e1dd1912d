package gateway

import (
	"math/big"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestStatementKinds(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"select 1", "SELECT"},
		{"  -- a comment; copy\n select ';copy' ; ATTACH 'x' as y;", "SELECT;ATTACH"},
		{"/* nested /* comment; */ still */ copy t to 'f'", "COPY"},
		{"with x as (select 1) select * from x; install httpfs", "SELECT;INSTALL"},
		{"select $$ ; drop table x; $$; load y", "SELECT;LOAD"},
		{`select "a;b" from t;;; set x = 1`, "SELECT;SET"},
		{"select E'\\'; copy'", "SELECT"},
		{"-- ping", ""},
	} {
		if got := statementKinds(tc.sql); got != tc.want {
			t.Errorf("statementKinds(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}

func TestParseControl(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		kind controlKind
		name string
	}{
		{"-- ping", ctlEmpty, ""},
		{" ; ", ctlEmpty, ""},
		{"BEGIN", ctlBegin, ""},
		{"begin isolation level repeatable read;", ctlBegin, ""},
		{"start transaction read only", ctlBegin, ""},
		{"commit", ctlCommit, ""},
		{"END", ctlCommit, ""},
		{"rollback", ctlRollback, ""},
		{"rollback to savepoint s1", ctlSavepoint, ""},
		{"SET application_name = 'psql'", ctlSet, "application_name"},
		{"set session extra_float_digits to 3", ctlSet, "extra_float_digits"},
		{"SET TIME ZONE 'UTC'", ctlSet, "timezone"},
		{"show transaction isolation level", ctlShow, "transaction_isolation"},
		{"SHOW search_path", ctlShow, "search_path"},
		{"DEALLOCATE pdo_stmt_1", ctlDeallocate, "pdo_stmt_1"},
		{"discard all", ctlDiscard, ""},
		// Everything else goes to the sandbox, which refuses it.
		{"set memory_limit = '8GB'", ctlNone, ""},
		{"set global threads = 1", ctlNone, ""},
		{"begin; copy t to 'x'", ctlNone, ""},
		{"select 1", ctlNone, ""},
		{"commit prepared 'x'", ctlNone, ""},
	} {
		c := parseControl(tc.sql)
		if c.kind != tc.kind || c.name != tc.name {
			t.Errorf("parseControl(%q) = %v %q, want %v %q", tc.sql, c.kind, c.name, tc.kind, tc.name)
		}
	}
	if c := parseControl("SET application_name = 'Ana''s laptop'"); c.value != "Ana's laptop" || c.String() != "SET application_name" {
		t.Errorf("SET value %q, audit %q", c.value, c.String())
	}
	// SHOW takes any words; the audit keeps only the names it knows.
	for sql, want := range map[string]string{
		`show "maria.q12@example.org"`: "SHOW ?",
		"show server_version":          "SHOW server_version",
		"show DateStyle":               "SHOW datestyle",
	} {
		if got := parseControl(sql).String(); got != want {
			t.Errorf("parseControl(%q).String() = %q, want %q", sql, got, want)
		}
	}
}

func TestNormalizeCatalogSyntax(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default AND x",
			"WHERE c.relname ~ '^(t)$'  AND x"},
		{"c.reloftype::pg_catalog.regtype::pg_catalog.text", "c.reloftype::regtype::text"},
		{"CAST(pgc.conname AS pg_catalog.text) as name", "CAST(pgc.conname AS text) as name"},
		{"select 1 as pg_catalog", "select 1 as pg_catalog"},
		{"select 'OPERATOR(pg_catalog.~)'", "select 'OPERATOR(pg_catalog.~)'"},
		{"select 1", "select 1"},
	} {
		if got := normalizeCatalogSyntax(tc.in); got != tc.want {
			t.Errorf("normalizeCatalogSyntax(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNumericBinaryDecodesInPgx(t *testing.T) {
	m := pgtype.NewMap()
	for _, tc := range []struct {
		v    any
		want string
	}{
		{big.NewInt(0), "0"},
		{big.NewInt(-12345678901), "-12345678901"},
		{duckdb.Decimal{Width: 18, Scale: 3, Value: big.NewInt(123450)}, "123.450"},
		{duckdb.Decimal{Width: 18, Scale: 4, Value: big.NewInt(-5)}, "-0.0005"},
		{duckdb.Decimal{Width: 38, Scale: 2, Value: new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)}, "10000000000000000000000000000.00"},
		{uint64(18446744073709551615), "18446744073709551615"},
		{0.1, "0.1"},
	} {
		b, err := appendBinary(nil, oidNumeric, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		var n pgtype.Numeric
		if err := m.Scan(oidNumeric, binaryFormat, b, &n); err != nil {
			t.Fatalf("%v: %v", tc.v, err)
		}
		got, _ := n.Value()
		if got != tc.want {
			t.Errorf("%v: pgx reads %v, want %s", tc.v, got, tc.want)
		}
		txt, _ := appendText(nil, oidNumeric, tc.v)
		if string(txt) != tc.want {
			t.Errorf("%v: text %s, want %s", tc.v, txt, tc.want)
		}
	}
}

func TestTextFormats(t *testing.T) {
	for _, tc := range []struct {
		oid  uint32
		v    any
		want string
	}{
		{oidFloat8, 1790812800.0, "1790812800"},
		{oidFloat8, 1e20, "1e+20"},
		{oidFloat8, 0.00001, "1e-05"},
		{oidFloat8, 0.25, "0.25"},
		{oidInterval, duckdb.Interval{Months: 14, Days: 3, Micros: 3_723_500_000}, "1 year 2 mons 3 days 01:02:03.5"},
		{oidInterval, duckdb.Interval{}, "00:00:00"},
		{oidInterval, duckdb.Interval{Days: -1, Micros: -60_000_000}, "-1 days -00:01:00"},
		{oidBool, true, "t"},
		{1009, []any{"a", "b c", nil, "", `q"`}, `{a,"b c",NULL,"","q\""}`},
		{oidText, map[string]any{"k": int32(1)}, `{"k":1}`},
	} {
		got, err := appendText(nil, tc.oid, tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("text of %v as %d: %q %v, want %q", tc.v, tc.oid, got, err, tc.want)
		}
	}
}

func TestVerifierRoundTrip(t *testing.T) {
	v, err := NewVerifier("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseVerifier(v)
	if err != nil || p.String() != v {
		t.Fatalf("parse(%q) = %v, %v", v, p, err)
	}
	again, _ := deriveVerifier("correct horse", p.salt, p.iterations)
	if again.String() != v {
		t.Fatal("the verifier does not derive from its password")
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$4096:c2FsdA==$a:b", "SCRAM-SHA-256$x:c2FsdA==$" + p.String()[40:]} {
		if _, err := parseVerifier(bad); err == nil {
			t.Errorf("parseVerifier(%q) accepted", bad)
		}
	}
}

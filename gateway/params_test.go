package gateway

import (
	"context"
	"testing"
	"time"
)

// Text date/time parameters in the spellings real clients send, read as
// PostgreSQL's input functions read them.
func TestParseDateTimeClientSpellings(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, c := range []struct {
		in   string
		oid  uint32
		want time.Time
	}{
		{"2026-11-01 +00", oidDate, utc(2026, 11, 1, 0, 0, 0, 0)},                        // JDBC setDate
		{"2026-11-10 00:00:00+00", oidDate, utc(2026, 11, 10, 0, 0, 0, 0)},               // lib/pq time.Time for a date
		{"2026-11-10 23:30:00-05", oidDate, utc(2026, 11, 10, 0, 0, 0, 0)},               // a date ignores time and zone
		{"2026-11-10 01:02:03+00", oidTimestamp, utc(2026, 11, 10, 1, 2, 3, 0)},          // JDBC setTimestamp
		{"2026-11-10 01:02:03+05:30", oidTimestamp, utc(2026, 11, 10, 1, 2, 3, 0)},       // timestamp ignores the zone
		{"2026-11-20T00:00:00.000+00:00", oidTimestamptz, utc(2026, 11, 20, 0, 0, 0, 0)}, // node-pg Date
		{"2026-11-20T01:00:00.5+01:00", oidTimestamptz, utc(2026, 11, 20, 0, 0, 0, 5e8)}, // offset applied
		{"2026-11-20 01:02:03.123456-0230", oidTimestamptz, utc(2026, 11, 20, 3, 32, 3, 123456000)},
		{"2026-11-20 01:02", oidTimestamptz, utc(2026, 11, 20, 1, 2, 0, 0)}, // no zone: UTC, the session's
		{"2026-11-20Z", oidTimestamptz, utc(2026, 11, 20, 0, 0, 0, 0)},
		{"2026-11-20 24:00:00", oidTimestamp, utc(2026, 11, 21, 0, 0, 0, 0)},
	} {
		got, err := parseDateTime(c.in, c.oid)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseDateTime(%q, %s) = %v, %v; want %v", c.in, typeLabel(c.oid), got, err, c.want)
		}
	}
	for _, bad := range []string{"", "infinity", "2026-13-01", "2026-02-30", "2026-11-20 25:00", "2026-11-20 24:00:01",
		"20261120", "2026-11-20 01:02:03+16", "2026-11-20; drop table x", "2026-11-20 01:02:03 +00 x"} {
		if got, err := parseDateTime(bad, oidTimestamptz); err == nil {
			t.Errorf("parseDateTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestCastDeclaredParams(t *testing.T) {
	for _, c := range []struct {
		q        string
		declared []uint32
		want     string
	}{
		{"select $1 * 2 as x", []uint32{oidNumeric}, "select CAST($1 AS DECIMAL(38,10)) * 2 as x"},
		{"select $1 as t, $2 as s", []uint32{oidTimestamp, oidText}, "select CAST($1 AS TIMESTAMP) as t, $2 as s"},
		{"select $2, '$1', $1 -- $1\n", []uint32{oidInt4, oidDate}, "select CAST($2 AS DATE), '$1', CAST($1 AS INTEGER) -- $1\n"},
		{"select $10", []uint32{oidInt4}, "select $10"},  // undeclared: left to DuckDB
		{"select $1", []uint32{0}, "select $1"},          // unspecified
		{"select $1", []uint32{oidVarchar}, "select $1"}, // text is not cast
		{"select $1", nil, "select $1"},
	} {
		if got := castDeclaredParams(c.q, c.declared); got != c.want {
			t.Errorf("castDeclaredParams(%q, %v) = %q, want %q", c.q, c.declared, got, c.want)
		}
	}
}

// An untyped parameter that is the whole operand of ANY/ALL/SOME is a text
// array (1009); anything declared, cast, or elsewhere is left alone.
func TestListParamTypes(t *testing.T) {
	for _, c := range []struct {
		q        string
		declared []uint32
		want     []uint32
	}{
		{"select 1 where c = any($1)", nil, []uint32{1009}},                          // node-pg: no types
		{"select 1 where c = ANY ( $1 )", []uint32{0}, []uint32{1009}},               // psycopg 3: unspecified
		{"select 1 where c <> all($2) and d = $1", []uint32{23}, []uint32{23, 1009}}, // $1 declared int4
		{"select 1 where c = some($1)", []uint32{oidUnknown}, []uint32{1009}},
		{"select 1 where c = any($1)", []uint32{1007}, []uint32{1007}}, // int4[] declared
		{"select 1 where c = any($1::int[])", nil, nil},                // the query says the type
		{"select 1 where c = any(array[$1])", nil, nil},                // not the whole operand
		{"select 1 where c = $1", nil, nil},                            // not a list
		{"select 'any($1)' -- any($1)\n", nil, nil},                    // a string and a comment
		{"select 1 where c = any($70000)", nil, nil},                   // beyond the protocol's bound
	} {
		got := listParamTypes(c.q, c.declared)
		if len(got) != len(c.want) {
			t.Errorf("listParamTypes(%q, %v) = %v, want %v", c.q, c.declared, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("listParamTypes(%q, %v) = %v, want %v", c.q, c.declared, got, c.want)
				break
			}
		}
	}
	// The cast that follows: text arrays become VARCHAR[].
	q := "select 1 where c = any($1)"
	if got, want := castDeclaredParams(q, listParamTypes(q, nil)), "select 1 where c = any(CAST($1 AS VARCHAR[]))"; got != want {
		t.Errorf("cast = %q, want %q", got, want)
	}
}

// json_build_object (SQLAlchemy's column reflection calls it) is renamed to
// DuckDB's json_object and then checked as that call: it works where the
// role may read, and naming a relation inside it reaches nothing more.
func TestJSONBuildObjectIsRenamedThenChecked(t *testing.T) {
	s := testServer(t)
	ana := connect(t, s, "ana")
	ctx := context.Background()
	var got string
	if err := ana.QueryRow(ctx, "select json_build_object('k', 1, 'v', 'x')::varchar").Scan(&got); err != nil || got != `{"k":1,"v":"x"}` {
		t.Fatalf("json_build_object = %q, %v; want {\"k\":1,\"v\":\"x\"}", got, err)
	}
	for _, q := range []string{
		"select json_build_object('p', (select list(phones) from contact_identities))",
		"select pg_catalog.json_build_object('p', e.content) from events e",
		"select json_build_array(x) from (select * from contact_identities) x",
	} {
		err := ana.QueryRow(ctx, q).Scan(&got)
		if code := pgCode(err); code != codeInsufficientPriv {
			t.Errorf("%s: %v (SQLSTATE %s), want 42501", q, err, code)
		}
	}
}

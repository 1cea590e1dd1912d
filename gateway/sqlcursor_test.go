package gateway

import "testing"

func TestParseSQLCursor(t *testing.T) {
	for _, c := range []struct {
		sql     string
		want    sqlCursorCmd
		ok, bad bool
	}{
		{sql: `DECLARE "Named" CURSOR WITHOUT HOLD FOR select 1`, want: sqlCursorCmd{kind: "DECLARE", name: "Named", query: " select 1"}, ok: true},
		{sql: "declare _psql_cursor no scroll cursor for select x from t;", want: sqlCursorCmd{kind: "DECLARE", name: "_psql_cursor", query: " select x from t"}, ok: true},
		{sql: "DECLARE c BINARY CURSOR FOR select 1", ok: true, bad: true},
		{sql: "FETCH FORWARD 100 FROM _psql_cursor", want: sqlCursorCmd{kind: "FETCH", name: "_psql_cursor", count: 100}, ok: true},
		{sql: `FETCH FORWARD 2000 FROM "Named"`, want: sqlCursorCmd{kind: "FETCH", name: "Named", count: 2000}, ok: true},
		{sql: "FETCH ALL FROM c", want: sqlCursorCmd{kind: "FETCH", name: "c"}, ok: true},
		{sql: "FETCH NEXT FROM c", want: sqlCursorCmd{kind: "FETCH", name: "c", count: 1}, ok: true},
		{sql: "FETCH c", want: sqlCursorCmd{kind: "FETCH", name: "c", count: 1}, ok: true},
		{sql: "FETCH BACKWARD 1 FROM c", ok: true, bad: true},
		{sql: "FETCH ABSOLUTE 5 FROM c", ok: true, bad: true},
		{sql: "CLOSE c", want: sqlCursorCmd{kind: "CLOSE", name: "c"}, ok: true},
		{sql: "CLOSE ALL", want: sqlCursorCmd{kind: "CLOSE"}, ok: true},
		// Not recognized: the sandbox refuses them.
		{sql: "DECLARE c CURSOR FOR select 1; attach 'x' as y"},
		{sql: "select 1"},
	} {
		got, ok, err := parseSQLCursor(c.sql)
		if ok != c.ok || (err != nil) != c.bad {
			t.Errorf("%s: recognized %v, error %v; want %v, error %v", c.sql, ok, err, c.ok, c.bad)
			continue
		}
		if ok && err == nil && got != c.want {
			t.Errorf("%s: %+v, want %+v", c.sql, got, c.want)
		}
	}
}

package gateway

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// parseTree asks DuckDB for the parse tree of query.
func parseTree(t *testing.T, query string) map[string]any {
	t.Helper()
	var raw string
	if err := testWarehouse(t).DB.QueryRow("select json_serialize_sql(?::varchar)::varchar", query).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	root, err := decodeAST(raw)
	if err != nil {
		t.Fatal(err)
	}
	if isTrue(root["error"]) {
		t.Fatalf("DuckDB did not parse %q: %v", query, root["error_message"])
	}
	return root
}

// walkServer is a Server with DuckDB's functions and types loaded, shared
// by the walk tests.
var walkServer struct {
	once sync.Once
	s    *Server
	err  error
}

// walkTree walks root as role analyst on a server that knows DuckDB's
// functions and types, without a session.
func walkTree(t *testing.T, root map[string]any) error {
	t.Helper()
	walkServer.once.Do(func() {
		walkServer.s = &Server{policy: DefaultPolicy(), dbName: "cxlake", db: testWarehouse(t).DB}
		walkServer.err = walkServer.s.loadCatalog(context.Background())
	})
	if walkServer.err != nil {
		t.Fatal(walkServer.err)
	}
	s := walkServer.s
	conn, err := s.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := &walker{c: &checker{srv: s, role: RoleAnalyst, conn: conn}, rels: map[string]bool{}, refused: map[string]bool{}, unknown: map[string]bool{}}
	if w.knownShape(root, "root", "", "") {
		stmts, _ := root["statements"].([]any)
		for _, st := range stmts {
			w.walk(st, nil, "root", "statements")
		}
	}
	return w.err
}

// selectNodeOf is the SELECT_NODE of a one-statement tree.
func selectNodeOf(root map[string]any) map[string]any {
	st := root["statements"].([]any)[0].(map[string]any)
	return st["node"].(map[string]any)
}

// hidden is a reference to a relation analyst may not read, and a call of
// an unsealing function, as DuckDB serializes them.
func hiddenRelation() map[string]any {
	return map[string]any{"type": "BASE_TABLE", "alias": "", "sample": nil, "query_location": 0, "schema_name": "",
		"table_name": "events", "column_name_alias": []any{}, "catalog_name": "", "at_clause": nil}
}

// TestWalkFailsClosed: a parse tree with a kind, a class or a key the walker
// does not list is refused, so that a future DuckDB that serializes a
// relation or a function somewhere new cannot hide it from the walk.
func TestWalkFailsClosed(t *testing.T) {
	const base = "select channel, sum(conversations) over (partition by channel) from kpi_daily where day > now() - interval 1 day"
	if err := walkTree(t, parseTree(t, base)); err != nil {
		t.Fatalf("the unmodified tree is refused: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(n map[string]any)
		want   string
	}{
		{"an unknown key on a SELECT node holding a relation", func(n map[string]any) {
			n["extra_from"] = hiddenRelation()
		}, `key "extra_from" of node:SELECT_NODE`},
		{"an unknown key on a SELECT node holding a plain value", func(n map[string]any) {
			n["new_flag"] = true
		}, `key "new_flag" of node:SELECT_NODE`},
		{"an unknown key on a function", func(n map[string]any) {
			fn := n["select_list"].([]any)[1].(map[string]any)
			fn["extra_args"] = []any{call("cx_content", "")}
		}, `key "extra_args" of expr:WINDOW`},
		{"an unknown expression class", func(n map[string]any) {
			n["where_clause"] = map[string]any{"class": "NEW_CLASS", "type": "NEW", "alias": "", "child": hiddenRelation()}
		}, "expression class NEW_CLASS"},
		{"an unknown FROM item", func(n map[string]any) {
			n["from_table"] = map[string]any{"type": "NEW_REF", "alias": "", "sample": nil, "inner": hiddenRelation()}
		}, "element NEW_REF"},
		{"an unknown query node", func(n map[string]any) {
			n["from_table"] = map[string]any{"type": "SUBQUERY", "alias": "", "sample": nil, "query_location": 0, "column_name_alias": []any{},
				"subquery": map[string]any{"named_param_map": []any{}, "node": map[string]any{"type": "NEW_NODE", "from": hiddenRelation()}}}
		}, "element NEW_NODE"},
		{"a map without a kind under a known key", func(n map[string]any) {
			n["where_clause"] = map[string]any{"relation": hiddenRelation()}
		}, "under node:SELECT_NODE.where_clause"},
		{"a recursive CTE node outside a WITH", func(n map[string]any) {
			n["from_table"] = map[string]any{"type": "SUBQUERY", "alias": "", "sample": nil, "query_location": 0, "column_name_alias": []any{},
				"subquery": map[string]any{"named_param_map": []any{}, "node": map[string]any{"type": "RECURSIVE_CTE_NODE",
					"cte_name": "events", "left": selectNode(constant("x", "")), "right": selectNode(constant("y", ""))}}}
		}, "a recursive CTE outside a WITH clause"},
		{"a time-travel clause", func(n map[string]any) {
			n["from_table"].(map[string]any)["at_clause"] = map[string]any{"unit": "version", "expr": constant("1", "")}
		}, "AT (time travel)"},
	}
	for _, c := range cases {
		root := parseTree(t, base)
		c.mutate(selectNodeOf(root))
		err := walkTree(t, root)
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want a refusal", c.name, err)
			continue
		}
		if re.Code != codeFeature || !strings.Contains(re.Reason, c.want) {
			t.Errorf("%s: refused with %s %q, want 0A000 naming %q", c.name, re.Code, re.Reason, c.want)
		}
	}
}

// TestRecursiveCTEScope checks, on DuckDB's own binding, which references
// of a recursive CTE are the CTE: the recursive branch's, never the
// anchor's.
func TestRecursiveCTEScope(t *testing.T) {
	db := testWarehouse(t).DB
	// What DuckDB binds: the anchor's "kpi_daily" is the mart (rows), the
	// recursive branch's is the CTE (the anchor's one row, filtered out).
	var n int
	if err := db.QueryRow(`with recursive kpi_daily as ((select 1 as x from kpi_daily limit 1)
		union all select x + 1 from kpi_daily where x < 3) select count(*) from kpi_daily`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("DuckDB counts %d rows (%v), want 3: the anchor reads the mart, the branch the CTE", n, err)
	}
	allowed := []string{
		"with recursive events as (select 1 as x union all select x + 1 from events where x < 3) select * from events",
		"with recursive t as (select 1 as x union all select x + 1 from t, lateral (select * from t) y where t.x < 3) select * from t",
		"with recursive t as (select 1 as x union all select x + 1 from t where exists (select 1 from t) and x < 3) select * from t",
	}
	refused := []string{
		"with recursive events as (select * from events union all select * from events where false) select * from events",
		"with recursive events as (select 1 as x union all select 1 from events where false) select * from main.events",
		"with recursive a as (select * from b union all select * from a where false), b as (select 1) select * from a",
	}
	for _, q := range allowed {
		if err := walkTree(t, parseTree(t, q)); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	for _, q := range refused {
		err := walkTree(t, parseTree(t, q))
		var re *RefusedError
		if !errors.As(err, &re) || re.Code != codeInsufficientPriv {
			t.Errorf("%s: %v, want a refusal of a relation", q, err)
		}
	}
}

// TestRefusedQueriesRecordRelations: the audit of a refused query lists
// the relations of the warehouse it named (issue 29, item 5), never a name
// that is no relation.
func TestRefusedQueriesRecordRelations(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	queries := []struct {
		sql  string
		want string
	}{
		{"with recursive identifiers as (select * from identifiers union all select * from identifiers where false) " +
			"select cx_identifier_value(identifier_hash, sealed_value) from identifiers", "main.identifiers"},
		{"select * from conversations c join events e using (conversation_id)", "main.conversations,main.events"},
		{"select * from events, '/etc/passwd', dead_letters", "main.dead_letters,main.events"},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
		c := connect(t, s, "ana")
		for _, q := range queries {
			if _, err := c.Exec(ctx, q.sql, mode); err == nil {
				t.Fatalf("%s: ran", q.sql)
			}
		}
		recs := auditRows(t, s, c.PgConn().PID())
		if len(recs) != len(queries) {
			t.Fatalf("%s: %d audit records, want %d", mode, len(recs), len(queries))
		}
		for i, r := range recs {
			if r.Outcome != OutcomeRefused {
				t.Errorf("%s: %s: outcome %s", mode, queries[i].sql, r.Outcome)
			}
			if got := strings.Join(r.Relations, ","); got != queries[i].want {
				t.Errorf("%s: %s: relations %q, want %q", mode, queries[i].sql, got, queries[i].want)
			}
			if strings.Contains(r.Statement, "passwd") {
				t.Errorf("the audit kept a name that is no relation: %q", r.Statement)
			}
		}
	}
}

// TestCatalogHidesOtherRelations: the catalogs name no relation, column or
// view definition a role may not read.
func TestCatalogHidesOtherRelations(t *testing.T) {
	s := testServer(t)
	ctx := context.Background()
	db := testWarehouse(t).DB
	// Every view's oid, and a column of a table with a default, straight
	// from DuckDB.
	rows, err := db.Query(`select view_oid, view_name from duckdb_views() where not internal and database_name = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	views := map[int64]string{}
	for rows.Next() {
		var oid int64
		var name string
		if err := rows.Scan(&oid, &name); err != nil {
			t.Fatal(err)
		}
		views[oid] = name
	}
	rows.Close()
	if len(views) < 3 {
		t.Fatalf("the test warehouse has %d views", len(views))
	}
	for _, user := range []string{"lead", "graf", "ana", "comp"} {
		c := connect(t, s, user)
		role := Role("")
		for _, u := range testUsers {
			if u.Name == user {
				role = u.Role
			}
		}
		for oid, name := range views {
			var def *string
			if err := c.QueryRow(ctx, "select pg_get_viewdef($1::bigint)", oid).Scan(&def); err != nil {
				t.Fatalf("%s: pg_get_viewdef(%s): %v", user, name, err)
			}
			switch {
			case role == RoleCompliance && def == nil:
				t.Errorf("compliance gets no definition of view %s", name)
			case role != RoleCompliance && def != nil:
				t.Errorf("%s gets the SQL of view %s", role, name)
			}
		}
		var n int
		if err := c.QueryRow(ctx, "select count(*) from pg_views where definition is not null").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (role == RoleCompliance) != (n > 0) {
			t.Errorf("%s: %d view definitions in pg_views", role, n)
		}
		if err := c.QueryRow(ctx, "select count(*) from information_schema.views where view_definition is not null").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (role == RoleCompliance) != (n > 0) {
			t.Errorf("%s: %d view definitions in information_schema.views", role, n)
		}
		// pg_attrdef, pg_description and pg_depend name only relations the
		// role reads (the oids pg_class lists for it).
		for _, q := range []string{
			"select count(*) from pg_attrdef where adrelid not in (select oid from pg_class)",
			"select count(*) from pg_description where objoid not in (select oid from pg_class)",
			"select count(*) from pg_depend where objid not in (select oid from pg_class) or refobjid not in (select oid from pg_class)",
		} {
			if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %s: %v", user, q, err)
			}
			if n != 0 {
				t.Errorf("%s: %s: %d rows name a relation the role does not see", role, q, n)
			}
		}
		if role != RoleCompliance {
			var hidden int
			if err := c.QueryRow(ctx, "select count(*) from pg_class where relname in ('events', 'identifiers', 'contact_identities')").Scan(&hidden); err != nil || hidden != 0 {
				t.Errorf("%s: pg_class lists %d hidden relations (%v)", role, hidden, err)
			}
		}
	}
	// The unfiltered DuckDB catalogs have rows the filtered ones drop, so
	// the checks above could fail.
	var all int
	if err := db.QueryRow("select count(*) from pg_catalog.pg_description").Scan(&all); err != nil || all == 0 {
		t.Fatalf("pg_description has %d rows in DuckDB (%v)", all, err)
	}
}

// TestComplianceUnseals: compliance still reads identifiers in clear
// through the gateway, and the other roles are refused the functions by name.
func TestComplianceUnseals(t *testing.T) {
	s := testServer(t)
	secrets := map[string]bool{}
	for _, p := range personalData(t) {
		secrets[p] = true
	}
	ctx := context.Background()
	c := connect(t, s, "comp")
	rows, err := c.Query(ctx, "select cx_identifier_value(identifier_hash, sealed_value) from identifiers where sealed_value is not null limit 50")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for rows.Next() {
		var v *string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != nil && secrets[*v] {
			found++
		}
	}
	if rows.Err() != nil || found == 0 {
		t.Fatalf("compliance unsealed no known identifier (%v)", rows.Err())
	}
	for _, user := range []string{"lead", "graf", "ana"} {
		_, err := connect(t, s, user).Exec(ctx, "select cx_identifier_value('x', ''::blob)")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != codeInsufficientPriv || !strings.Contains(pe.Message, "cx_identifier_value is not available to role") {
			t.Errorf("%s calling cx_identifier_value: %v", user, err)
		}
	}
}

// TestWalkKnowsOrdinaryConstructs: the shapes the walker lists cover the
// SQL analysts write, so failing closed does not refuse ordinary queries.
func TestWalkKnowsOrdinaryConstructs(t *testing.T) {
	queries := []string{
		"select count(*) filter (where x > 1) over (partition by y order by z rows between 1 preceding and current row) from (select 1 x, 2 y, 3 z) t",
		"select row_number() over w, lag(x, 1, 0) over (order by x), first_value(x ignore nulls) over (order by x range between unbounded preceding and unbounded following exclude current row) from (select 1 x) t window w as (order by x) qualify row_number() over w = 1",
		"select sum(x) over (order by x groups between 1 preceding and 1 following), ntile(2) over (order by x), nth_value(x, 1) over (order by x) from (select 1 x) t",
		"select x, sum(y) from (select 1 x, 2 y) t group by grouping sets ((x), ()) having sum(y) > 0",
		"select x, sum(y) from (select 1 x, 2 y) t group by rollup (x)",
		"select x, sum(y) from (select 1 x, 2 y) t group by cube (x)",
		"select x, sum(y) from (select 1 x, 2 y) t group by all order by all",
		"select distinct on (x) x from (select 1 x) t",
		"select * from (select 1 x) a join (select 1 x) b using (x)",
		"select * from (select 1 x) a left join (select 1 x) b on a.x = b.x",
		"select * from (select 1 x) a natural join (select 1 x) b",
		"select * from (select 1 x) a positional join (select 1 y) b",
		"select * from (select 1 x) a asof join (select 1 x) b on a.x >= b.x",
		"select * from (select 1 x) a semi join (select 1 x) b on a.x = b.x",
		"select * from (select 1 x) a anti join (select 1 x) b on a.x = b.x",
		"select * from (select 1 x) a, lateral (select a.x + 1 y) b",
		"select 1 union select 2 except select 3 intersect select 4",
		"select 1 as a union all by name select 2 as a",
		"select x from (select 1 x) t order by x nulls first limit 10 offset 1",
		"select x from (select 1 x) t limit 10 %",
		"select x::decimal(10,2), x::varchar, x::timestamptz, '{}'::json, [1]::int[3], {'a': 1}::struct(a int), map {'a': 1}, x::map(varchar, int), x::union(a int, b varchar) from (select 1 x) t",
		"select 'x' collate nocase, -x, 1 is distinct from 2, #1, [y for y in [1, 2] if y > 1], x.a from (select {'a': 1} x) t",
		"select 1 where 1 in (select 1) and exists (select 1) and 1 = any (select 1) and 1 > all (select 1) or not exists (select 1)",
		"select * from (values (1, 'a'), (2, 'b')) v(a, b)",
		"from (select 1 x) t select x",
		"select * from (select 1 x, 2 y) unpivot (v for k in (x, y))",
		"select * from (select 1 x, 2 y) pivot (sum(y) for x in (1, 2))",
		"describe select 1",
		"summarize select 1",
		"select count(distinct x order by x), string_agg(x::varchar, ',' order by x desc) from (select 1 x) t",
		"select * exclude (x) replace (y + 1 as y) from (select 1 x, 2 y) t",
		"select * rename (x as z) from (select 1 x) t",
		"select columns(c -> c like 'x%') from (select 1 x) t",
		"with a as (select 1 x), b as (select * from a) select * from b",
		"with a as materialized (select 1 x) select * from a",
		"with a(x) as (select 1) select * from a",
		"select interval '1 day', date '2024-01-01', x::date + interval (x) day from (select 1 x) t",
		"select * from (select 1 x) t using sample 10",
		"select * from (select 1 x) t tablesample bernoulli (10 percent) repeatable (42)",
		"select extract(year from now()), date_part(['year', 'month'], now()), trim(both 'x' from 'xax'), position('a' in 'ba')",
		"select coalesce(null, 1), nullif(1, 2), greatest(1, 2), case when true then 1 else 2 end, 1 between 0 and 2",
		"select $1::int, $2",
		"select list(x) filter (x > 0), arg_max(x, x), quantile_cont(x, 0.5), percentile_cont(0.5) within group (order by x), mode() within group (order by x) from (select 1 x) t",
		"select list_transform([1, 2], lambda v: v * 2)",
		"select * from range(3) r(i), generate_series(1, 2) g, unnest([1, 2]) u(v)",
		"select * from kpi_daily where day > (select max(day) from kpi_daily) - interval 7 day",
	}
	for _, q := range queries {
		if err := walkTree(t, parseTree(t, q)); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

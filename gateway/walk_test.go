package gateway

import (
	"context"
	"errors"
	"strings"
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

// walkTree walks root as role analyst on a server that knows DuckDB's
// functions and types, without a session.
func walkTree(t *testing.T, root map[string]any) error {
	t.Helper()
	s := &Server{policy: DefaultPolicy(), dbName: "cxlake"}
	s.db = testWarehouse(t).DB
	if err := s.loadCatalog(context.Background()); err != nil {
		t.Fatal(err)
	}
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

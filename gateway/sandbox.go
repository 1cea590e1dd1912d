package gateway

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// The sandbox: what a query may do is decided on DuckDB's own parse tree,
// never on the SQL text. The gateway asks DuckDB to parse the query
// (json_serialize_sql, which parses without binding or running anything and
// serializes SELECT statements only), then walks the tree:
//
//   - Statement type: only SELECT (with its forms: VALUES, FROM-first,
//     DESCRIBE and SUMMARIZE of a query). Any other statement, alone or in a
//     multi-statement string, makes json_serialize_sql fail, and the whole
//     string is refused.
//   - Relations: every table reference (FROM, JOIN, subqueries, CTE bodies,
//     set operations, DESCRIBE) must be a CTE in scope, a catalog relation,
//     or a relation of schema main the role may read (Policy). Anything
//     else, including a file path DuckDB would read through a replacement
//     scan, is refused by name.
//   - Table functions: an allow-list of pure generators (range,
//     generate_series, unnest, json_each, json_tree). read_csv, read_parquet,
//     read_json, read_text, read_blob, glob, query, query_table,
//     parquet_metadata and the rest are refused.
//   - Scalar functions: they must be DuckDB's own (listed at start-up as
//     internal, so a name never triggers an extension to be installed or
//     loaded, and a function the application registered is not among them)
//     and not one of those that act outside the query or reveal the
//     server (write_log, nextval, getenv, getvariable, ...), or granted to
//     the role by the Policy (the unsealing functions, compliance only).
//   - Types: DuckDB's built-in types; GEOMETRY and extension types are refused.
//   - Anything in the tree the gateway does not know (a kind of node, table
//     reference or expression, or a key of one, that walk.go does not
//     list) is refused rather than guessed at.
//
// The same walk rewrites the few catalog spellings DuckDB lacks (catalog.go)
// and, on a second copy of the tree, masks for the audit every constant and
// every name that is not the catalog's (mask.go).

// plan is a query that passed the sandbox, ready to run.
type plan struct {
	stmts     []string    // SQL DuckDB runs, one statement each
	relations []string    // relations referenced, "schema.name", sorted
	masked    string      // the query with its constants replaced by $n, for the audit
	unseals   bool        // it calls an unsealing function: audited before it runs
	sleeps    bool        // it calls a sleep function: bounded by Limits.MaxSleep (sleep.go)
	explain   explainMode // an EXPLAIN of stmts[0] (explain.go)
}

// tableFunctions may appear in FROM: they generate values and read nothing.
var tableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
}

// deniedFunctions are DuckDB functions that act outside the query: they
// write (write_log), change state (nextval, setval), bypass the relation
// check (json_execute_serialized_sql, json_serialize_plan, query,
// query_table), or reveal the
// server's environment and configuration (getenv, getvariable, the
// settings and secrets functions). current_setting is answered for
// PostgreSQL's client settings only (walk.go).
var deniedFunctions = map[string]bool{
	"write_log": true, "nextval": true, "setval": true, "currval": true,
	"json_execute_serialized_sql": true, "query": true, "query_table": true,
	"getenv": true, "read_text": true, "read_blob": true, "glob": true,
	"getvariable": true, "duckdb_settings": true, "which_secret": true, "duckdb_secrets": true,
	"current_setting_value": true, "get_block_size": true, "duckdb_profiling_settings": true,
	// Binds the SQL string it is given: its plan names the columns and
	// types of any relation or file, whatever the role.
	"json_serialize_plan": true,
}

// catalogFunctions are DuckDB catalog functions replaced by the session's
// role-filtered macros (catalog.go): DuckDB's own read the SQL of every
// view and the constraints of every table, whatever the role.
var catalogFunctions = map[string]string{
	"pg_get_viewdef": "gw_pg_get_viewdef", "pg_get_constraintdef": "gw_pg_get_constraintdef",
	// DuckDB's knows its own type ids, not PostgreSQL's oids (pgtypes.go).
	"format_type": "gw_format_type",
}

// renamedFunctions are PostgreSQL functions DuckDB has under another name
// with the same arguments and meaning (SQLAlchemy's column reflection
// calls json_build_object). The call is renamed, then checked as a call of
// DuckDB's function: a rename never reaches anything the role could not
// call by DuckDB's name.
var renamedFunctions = map[string]string{
	"json_build_object": "json_object", "json_build_array": "json_array",
}

// specialFunctions are names DuckDB's binder handles itself, not listed
// among its functions.
var specialFunctions = map[string]bool{"unnest": true, "unlist": true, "row": true, "columns": true, "grouping": true, "grouping_id": true}

// checker checks queries of one role on one session's DuckDB connection.
type checker struct {
	srv  *Server
	role Role
	conn *sql.Conn
}

// check parses sql with DuckDB and returns its plan, or an error the client
// can act on: *RefusedError for the sandbox, *pgError for a syntax error.
func (c *checker) check(ctx context.Context, query string) (*plan, error) {
	if p := c.srv.plans.get(c.role, query); p != nil {
		return p, nil
	}
	if inner, mode, err := splitExplain(query); err != nil {
		err.(*RefusedError).Role = c.role
		return nil, err
	} else if mode != explainNone {
		p, err := c.checkExplain(ctx, inner, mode)
		if err != nil {
			return nil, err
		}
		c.srv.plans.put(c.role, query, p)
		return p, nil
	}
	if rewritten, err := c.pivotInLists(ctx, query); err != nil {
		return nil, err
	} else if rewritten != query {
		if _, _, again := splitPivot(rewritten); len(again) > 0 {
			return nil, &RefusedError{Role: c.role, Code: codeFeature, Statement: "PIVOT",
				Reason: "a PIVOT without IN the gateway could not complete", Hint: "write the IN list"}
		}
		// Not cached under query: its IN lists depend on the data.
		return c.check(ctx, rewritten)
	}
	text := normalizeCatalogSyntax(query)
	var raw string
	if err := c.conn.QueryRowContext(ctx, "select json_serialize_sql(?::varchar)::varchar", text).Scan(&raw); err != nil {
		return nil, fmt.Errorf("parsing the query: %w", err)
	}
	root, err := decodeAST(raw)
	if err != nil {
		return nil, err
	}
	if isTrue(root["error"]) {
		msg, _ := root["error_message"].(string)
		if strings.Contains(msg, "Only SELECT statements") {
			return nil, &RefusedError{Role: c.role, Code: codeReadOnly,
				Reason: fmt.Sprintf("only SELECT queries run through the cxlake gateway; refused: %s", keywordsOnly(statementKinds(text))),
				Hint:   "the gateway is read-only: no COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE, INSERT, UPDATE, DELETE, EXPORT or CALL, in any role"}
		}
		return nil, &pgError{Code: codeSyntax, Message: msg}
	}
	stmts, _ := root["statements"].([]any)
	names := c.srv.names.get(ctx, c.conn)
	w := &walker{c: c, rels: map[string]bool{}, refused: map[string]bool{}, unknown: map[string]bool{}, names: names}
	if w.knownShape(root, "root", "", "") {
		for _, st := range stmts {
			w.walk(st, nil, "root", "statements")
		}
	}
	// The masked text comes from a fresh copy of the tree as parsed, so the
	// audit shows what the client sent, not the gateway's rewrite.
	orig, err := decodeAST(raw)
	if err != nil {
		return nil, err
	}
	unseals := maskForAudit(orig, names)
	if w.err != nil {
		if re, ok := w.err.(*RefusedError); ok {
			re.Relations = w.auditRelations()
			if out, derr := c.deserialize(ctx, []string{encodeAST(orig)}); derr == nil {
				re.Statement = out[0]
			}
		}
		return nil, w.err
	}
	p := &plan{relations: w.relationList(), unseals: unseals, sleeps: w.sleeps}
	docs := []string{encodeAST(orig)}
	if len(stmts) > 1 || w.changed {
		for _, st := range stmts {
			docs = append(docs, encodeAST(map[string]any{"error": false, "statements": []any{st}}))
		}
	}
	out, err := c.deserialize(ctx, docs)
	if err != nil {
		return nil, err
	}
	p.masked = out[0]
	if p.masked == "" {
		p.masked = statementKinds(text) + " (not shown: the statement could not be printed without its values)"
	}
	if len(out) > 1 {
		p.stmts = out[1:]
		for _, s := range p.stmts {
			if s == "" {
				return nil, &RefusedError{Role: c.role, Code: codeFeature,
					Reason: "this query uses a construct the gateway cannot rewrite for its catalog compatibility layer",
					Hint:   "send one statement at a time, or avoid pg_catalog functions in it"}
			}
		}
	} else if len(stmts) == 1 {
		p.stmts = []string{text}
	}
	c.srv.plans.put(c.role, query, p)
	return p, nil
}

// deserialize prints parse trees back to SQL with DuckDB's own printer, in
// one round trip. A tree DuckDB cannot print comes back as "".
func (c *checker) deserialize(ctx context.Context, docs []string) ([]string, error) {
	var q strings.Builder
	q.WriteString("select ")
	args := make([]any, len(docs))
	for i, d := range docs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "try(json_deserialize_sql($%d::json))", i+1)
		args[i] = d
	}
	out := make([]sql.NullString, len(docs))
	ptrs := make([]any, len(docs))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := c.conn.QueryRowContext(ctx, q.String(), args...).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("printing the checked query: %w", err)
	}
	res := make([]string, len(out))
	for i, s := range out {
		res[i] = s.String
	}
	return res, nil
}

func decodeAST(raw string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("reading DuckDB's parse tree: %w", err)
	}
	return root, nil
}

func encodeAST(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // maps, slices, strings, numbers and bools always encode
	return strings.TrimSpace(b.String())
}

// keywordsOnly keeps the statement kinds that are keywords (upper-case
// letters), so that the refusal's reason, which the audit stores, never
// carries what the client typed in place of one; any other becomes "?".
func keywordsOnly(kinds string) string {
	parts := strings.Split(kinds, ";")
	for i, k := range parts {
		if !isEnumName(k) {
			parts[i] = "?"
		}
	}
	return strings.Join(parts, ";")
}

func isTrue(v any) bool { b, _ := v.(bool); return b }

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

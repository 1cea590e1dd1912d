package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The walk over DuckDB's parse tree: relations, table functions and
// functions checked, CTE scopes followed, catalog spellings rewritten.

// scope is the CTE names visible at a point of the tree.
type scope struct {
	names  map[string]bool
	parent *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

func (s *scope) with(names ...string) *scope {
	if len(names) == 0 {
		return s
	}
	n := &scope{names: map[string]bool{}, parent: s}
	for _, x := range names {
		n.names[strings.ToLower(x)] = true
	}
	return n
}

// walker walks one query's parse tree: it checks it, collects the
// relations, and rewrites catalog spellings in place (changed).
type walker struct {
	c       *checker
	rels    map[string]bool
	changed bool
	err     error
	exists  map[string]bool // relations of schema main, loaded on demand
	unknown map[string]bool // refused table names that are no relation of the warehouse
}

func (w *walker) refuse(code, reason, hint string) {
	if w.err == nil {
		w.err = &RefusedError{Role: w.c.role, Code: code, Reason: reason, Hint: hint}
	}
}

func (w *walker) relationList() []string {
	out := make([]string, 0, len(w.rels))
	for r := range w.rels {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

var queryNodes = map[string]bool{"SELECT_NODE": true, "SET_OPERATION_NODE": true, "RECURSIVE_CTE_NODE": true, "CTE_NODE": true}

var tableRefs = map[string]bool{"BASE_TABLE": true, "JOIN": true, "SUBQUERY": true, "TABLE_FUNCTION": true,
	"EXPRESSION_LIST": true, "EMPTY": true, "SHOW_REF": true, "PIVOT": true}

// walk visits v in scope sc.
func (w *walker) walk(v any, sc *scope) {
	if w.err != nil {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			w.walk(e, sc)
		}
	case map[string]any:
		w.walkMap(x, sc)
	}
}

func (w *walker) walkMap(m map[string]any, sc *scope) {
	typ, _ := m["type"].(string)
	class, isExpr := m["class"].(string)
	switch {
	case strings.HasSuffix(typ, "_NODE") && !isExpr:
		if !queryNodes[typ] {
			w.refuse(codeFeature, fmt.Sprintf("query form %s is not supported by the cxlake gateway", typ), "")
			return
		}
		w.queryNode(m, sc)
		return
	case !isExpr && typ != "" && hasKey(m, "sample") && hasKey(m, "alias"):
		w.tableRef(m, typ, sc)
		return
	case isExpr:
		w.expression(m, class, sc)
		return
	case str(m, "id") == "UNBOUND":
		// A type named by the query: it must be one DuckDB has, or DuckDB
		// would try to install and load an extension that provides it.
		info, _ := m["type_info"].(map[string]any)
		if name := strings.ToLower(str(info, "name")); name != "" && !w.c.srv.types[name] {
			w.refuse(codeUndefinedObject, fmt.Sprintf("type %s does not exist", name),
				"the gateway offers DuckDB's built-in types; extensions are not loaded on demand")
			return
		}
	}
	w.children(m, sc, "")
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// children walks every value of m except skip, in key order so that the
// first refusal reported is always the same.
func (w *walker) children(m map[string]any, sc *scope, skip string) {
	for _, k := range sortedKeys(m) {
		if k != skip {
			w.walk(m[k], sc)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// queryNode handles CTE scoping: each CTE body sees the CTEs declared
// before it (and itself when recursive); the rest of the node sees all.
func (w *walker) queryNode(m map[string]any, sc *scope) {
	// Only a recursive CTE's own body may refer to the CTE: anywhere else a
	// name is treated as a relation, so a guess never lets a real table
	// pass as a CTE (a wrong guess refuses, it never leaks).
	if str(m, "type") == "RECURSIVE_CTE_NODE" {
		if name := str(m, "cte_name"); name != "" {
			sc = sc.with(name)
		}
	}
	if cm, ok := m["cte_map"].(map[string]any); ok {
		entries, _ := cm["map"].([]any)
		var names []string
		inner := sc
		for _, e := range entries {
			em, _ := e.(map[string]any)
			name := str(em, "key")
			w.walk(em["value"], inner)
			names = append(names, name)
			inner = sc.with(names...)
		}
		sc = sc.with(names...)
	}
	w.children(m, sc, "cte_map")
}

func (w *walker) tableRef(m map[string]any, typ string, sc *scope) {
	switch typ {
	case "BASE_TABLE":
		w.baseTable(m, sc)
		return
	case "TABLE_FUNCTION":
		w.tableFunction(m, sc)
		return
	case "SHOW_REF":
		st := str(m, "show_type")
		if (st != "DESCRIBE" && st != "SUMMARY") || m["query"] == nil {
			w.refuse(codeFeature, "SHOW is not available through the cxlake gateway",
				`list relations with \dt or: select table_name from information_schema.tables`)
			return
		}
	}
	if !tableRefs[typ] {
		w.refuse(codeFeature, fmt.Sprintf("FROM item of kind %s is not supported by the cxlake gateway", typ), "")
		return
	}
	w.children(m, sc, "")
}

// baseTable resolves one table reference.
func (w *walker) baseTable(m map[string]any, sc *scope) {
	cat := strings.ToLower(str(m, "catalog_name"))
	sch := strings.ToLower(str(m, "schema_name"))
	name := strings.ToLower(str(m, "table_name"))
	if cat == "" && sch == "" && sc.has(name) {
		return // a CTE
	}
	if cat != "" && cat != w.c.srv.dbName {
		w.refuseRelation(qualified(cat, sch, name), name)
		return
	}
	if sch == "" || sch == "pg_catalog" || sch == "information_schema" {
		catSchema := sch
		if catSchema == "" {
			catSchema = "pg_catalog"
		}
		if view, ok := compatRelations[catSchema+"."+name]; ok {
			w.rels[catSchema+"."+name] = true
			m["catalog_name"], m["schema_name"], m["table_name"] = "temp", "main", view
			if str(m, "alias") == "" {
				m["alias"] = name // keeps pg_class.relname working
			}
			w.changed = true
			return
		}
		if catalogRelations[catSchema+"."+name] {
			w.rels[catSchema+"."+name] = true
			return
		}
		if sch != "" {
			w.refuseRelation(qualified("", sch, name), name)
			return
		}
	}
	if sch != "" && sch != "main" {
		w.refuseRelation(qualified("", sch, name), name)
		return
	}
	if !w.c.srv.policy.allows(w.c.role, name) {
		w.refuseRelation(name, name)
		return
	}
	if w.c.srv.policy.allowsAll(w.c.role) {
		if w.exists == nil {
			w.exists = w.c.srv.mainRelations(w.c.conn)
		}
		if !w.exists[name] {
			w.refuse(codeUndefinedTable, fmt.Sprintf("relation %q does not exist", name),
				`list relations with \dt or: select table_name from information_schema.tables`)
			w.err.(*RefusedError).AuditReason = "a name that is no relation of the warehouse"
			w.unknown[name] = true
			return
		}
	}
	w.rels["main."+name] = true
}

func qualified(cat, sch, name string) string {
	var parts []string
	for _, p := range []string{cat, sch, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// refuseRelation refuses a table reference. ref is the reference as
// written (lower case); name its last part.
func (w *walker) refuseRelation(ref, name string) {
	if w.err != nil {
		return
	}
	p := w.c.srv.policy
	hint := `list what you can read with \dt or: select table_name from information_schema.tables`
	if rels := p.Relations(w.c.role); len(rels) > 0 && !p.allowsAll(w.c.role) {
		hint = fmt.Sprintf("role %s can read: %s", w.c.role, strings.Join(rels, ", "))
	}
	w.refuse(codeInsufficientPriv, fmt.Sprintf("relation %q is not available to role %s", ref, w.c.role), hint)
	if !w.known(ref, name) {
		w.err.(*RefusedError).AuditReason = fmt.Sprintf("a name that is no relation of the warehouse is not available to role %s", w.c.role)
		w.unknown[name] = true
	}
}

// known reports whether a refused reference names a real relation, so the
// audit may keep its name.
func (w *walker) known(ref, name string) bool {
	if compatRelations[ref] != "" || catalogRelations[ref] {
		return true
	}
	if w.exists == nil {
		w.exists = w.c.srv.mainRelations(w.c.conn)
	}
	return w.exists[name] && (ref == name || ref == "main."+name || ref == w.c.srv.dbName+".main."+name)
}

func (w *walker) tableFunction(m map[string]any, sc *scope) {
	fn, _ := m["function"].(map[string]any)
	name := strings.ToLower(str(fn, "function_name"))
	switch strings.ToLower(str(fn, "schema")) {
	case "":
	case "pg_catalog", "main":
		fn["schema"] = "" // pg_catalog.unnest(...) in FROM
		w.changed = true
	default:
		w.refuse(codeInsufficientPriv, fmt.Sprintf("table function %s.%s is not available through the cxlake gateway", str(fn, "schema"), name), "")
		return
	}
	if cat := str(fn, "catalog"); cat != "" {
		w.refuse(codeInsufficientPriv, fmt.Sprintf("table function %s.%s is not available through the cxlake gateway", cat, name), "")
		return
	}
	switch {
	case tableFunctions[name]:
		// PostgreSQL names the column of a scalar-valued set function after
		// its table alias: generate_series(1, 3) AS i has a column i
		// (Grafana's search_path query relies on it). DuckDB's own range
		// keeps DuckDB's naming (r.range).
		if alias := str(m, "alias"); alias != "" && (name == "generate_series" || name == "unnest") {
			if cols, _ := m["column_name_alias"].([]any); len(cols) == 0 {
				m["column_name_alias"] = []any{alias}
				w.changed = true
			}
		}
	case w.c.srv.funcs[name] && !deniedFunctions[name]:
		// A scalar function in FROM (PostgreSQL allows it: one row, one
		// column named after the alias), as in Grafana's search_path query:
		// FROM string_to_array(...) s. Rewritten as a subquery.
		alias := str(m, "alias")
		if alias == "" {
			alias = name
		}
		fn["alias"] = alias
		for k := range m {
			delete(m, k)
		}
		m["type"], m["alias"], m["sample"], m["query_location"] = "SUBQUERY", alias, nil, json.Number("0")
		m["column_name_alias"] = []any{}
		m["subquery"] = map[string]any{"named_param_map": []any{}, "node": selectNode(fn)}
		w.changed = true
	default:
		w.refuse(codeInsufficientPriv, fmt.Sprintf("table function %s is not available through the cxlake gateway", name),
			"the gateway reads the warehouse's relations only; it cannot read files or run other SQL")
		return
	}
	w.walkFunctionArgs(fn, sc)
}

// selectNode is the parse tree of "SELECT expr".
func selectNode(expr map[string]any) map[string]any {
	return map[string]any{
		"type": "SELECT_NODE", "modifiers": []any{}, "cte_map": map[string]any{"map": []any{}},
		"select_list":  []any{expr},
		"from_table":   map[string]any{"type": "EMPTY", "alias": "", "sample": nil, "query_location": json.Number("0")},
		"where_clause": nil, "group_expressions": []any{}, "group_sets": []any{},
		"aggregate_handling": "STANDARD_HANDLING", "having": nil, "sample": nil, "qualify": nil,
	}
}

// walkFunctionArgs walks a function's arguments, filter and ordering,
// without checking its name again.
func (w *walker) walkFunctionArgs(fn map[string]any, sc *scope) {
	for k, v := range fn {
		if k != "function_name" {
			w.walk(v, sc)
		}
	}
}

// expression checks functions and rewrites catalog spellings.
func (w *walker) expression(m map[string]any, class string, sc *scope) {
	switch class {
	case "FUNCTION":
		if !w.function(m) {
			return
		}
	case "WINDOW":
		name := strings.ToLower(str(m, "function_name"))
		if deniedFunctions[name] {
			w.refuse(codeInsufficientPriv, fmt.Sprintf("function %s is not available through the cxlake gateway", name), "")
			return
		}
	case "CAST":
		w.cast(m)
	case "COLLATE":
		// COLLATE "default" and catalog collations mean nothing to DuckDB.
		if c := strings.ToLower(str(m, "collation")); c == "default" || strings.HasPrefix(c, "pg_catalog.") || c == "c" || c == "posix" {
			child, _ := m["child"].(map[string]any)
			alias := str(m, "alias")
			replaceMap(m, child)
			if alias != "" {
				m["alias"] = alias
			}
			w.changed = true
			w.walk(m, sc)
			return
		}
	}
	w.children(m, sc, "")
}

// function checks a scalar or aggregate call and applies the catalog
// rewrites. It returns false when the node was replaced or refused.
func (w *walker) function(m map[string]any) bool {
	name := strings.ToLower(str(m, "function_name"))
	schema := strings.ToLower(str(m, "schema"))
	if cat := str(m, "catalog"); cat != "" {
		w.refuse(codeInsufficientPriv, fmt.Sprintf("function %s.%s is not available through the cxlake gateway", cat, name), "")
		return false
	}
	if deniedFunctions[name] {
		w.refuse(codeInsufficientPriv, fmt.Sprintf("function %s is not available through the cxlake gateway", name),
			"the gateway is read-only and reads the warehouse's relations only")
		return false
	}
	if name == "current_setting" && (schema == "" || schema == "pg_catalog") {
		if v, ok := w.settingConstant(m); ok {
			alias := str(m, "alias")
			if alias == "" {
				alias = "current_setting"
			}
			replaceMap(m, constant(v, alias))
			w.changed = true
			return false
		}
	}
	if max, ok := maxArgs[name]; ok {
		if args, _ := m["children"].([]any); len(args) > max {
			m["children"] = args[:max] // pg_get_expr(expr, rel, pretty): DuckDB's takes two
			w.changed = true
		}
	}
	if schema == "pg_catalog" && !w.c.srv.pgFuncs[name] {
		m["schema"] = "" // pg_catalog.array_to_string -> array_to_string (a built-in or a compat macro)
		w.changed = true
		schema = ""
	}
	if schema != "" && schema != "pg_catalog" && schema != "main" {
		w.refuse(codeUndefinedFunc, fmt.Sprintf("function %s.%s does not exist", schema, name), "")
		return false
	}
	if !w.c.srv.funcs[name] && !compatFunctions[name] && !specialFunctions[name] && !(isTrue(m["is_operator"]) && isOperatorName(name)) {
		w.refuse(codeUndefinedFunc, fmt.Sprintf("function %s does not exist", name),
			"the gateway offers DuckDB's built-in functions; extensions are not loaded on demand")
		return false
	}
	return true
}

func isOperatorName(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(opChars, s[i]) < 0 {
			return false
		}
	}
	return s != ""
}

// settingConstant answers current_setting('name') for the PostgreSQL
// settings DuckDB does not have.
func (w *walker) settingConstant(m map[string]any) (string, bool) {
	args, _ := m["children"].([]any)
	if len(args) != 1 {
		return "", false
	}
	a, _ := args[0].(map[string]any)
	if str(a, "class") != "CONSTANT" {
		return "", false
	}
	val, _ := a["value"].(map[string]any)
	name, _ := val["value"].(string)
	v, ok := pgSettings[strings.ToLower(name)]
	return v, ok
}

// cast rewrites casts to PostgreSQL's reg* and oid types.
func (w *walker) cast(m map[string]any) {
	ct, _ := m["cast_type"].(map[string]any)
	if str(ct, "id") != "UNBOUND" {
		return
	}
	info, _ := ct["type_info"].(map[string]any)
	name := strings.ToLower(str(info, "name"))
	if fn, ok := regCasts[name]; ok {
		child := m["child"]
		alias := str(m, "alias")
		replaceMap(m, call(fn, alias, child))
		w.changed = true
		return
	}
	if strings.EqualFold(str(info, "schema"), "pg_catalog") {
		info["schema"] = ""
		w.changed = true
	}
}

// replaceMap makes dst a copy of src, in place (the parent keeps its pointer).
func replaceMap(dst, src map[string]any) {
	for k := range dst {
		delete(dst, k)
	}
	for k, v := range src {
		dst[k] = v
	}
}

// constant is the parse tree of a VARCHAR constant.
func constant(v, alias string) map[string]any {
	return map[string]any{"class": "CONSTANT", "type": "VALUE_CONSTANT", "alias": alias, "query_location": json.Number("0"),
		"value": map[string]any{"type": map[string]any{"id": "VARCHAR", "type_info": nil}, "is_null": false, "value": v}}
}

// call is the parse tree of fn(args...).
func call(fn, alias string, args ...any) map[string]any {
	return map[string]any{"class": "FUNCTION", "type": "FUNCTION", "alias": alias, "query_location": json.Number("0"),
		"function_name": fn, "schema": "", "catalog": "", "children": args, "filter": nil,
		"order_bys": map[string]any{"type": "ORDER_MODIFIER", "orders": []any{}},
		"distinct":  false, "is_operator": false, "export_state": false}
}

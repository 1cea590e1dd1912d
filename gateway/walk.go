package gateway

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The walk over DuckDB's parse tree: relations, table functions and
// functions checked, CTE scopes followed, catalog spellings rewritten.

// lowerASCII lower-cases the ASCII letters of s only, as DuckDB compares
// identifiers: strings.ToLower would also fold letters such as the Kelvin
// sign into "k", and so match a name DuckDB binds to something else.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

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
		n.names[lowerASCII(x)] = true
	}
	return n
}

// walker walks one query's parse tree: it checks it, collects the
// relations, and rewrites catalog spellings in place (changed).
//
// The walk continues after the first refusal, so that the audit of a
// refused query lists every relation of the warehouse it named; the first
// refusal is the one reported.
type walker struct {
	c       *checker
	rels    map[string]bool // relations referenced and allowed, "schema.name"
	refused map[string]bool // relations of the warehouse referenced and refused
	changed bool
	err     error
	exists  map[string]bool // relations of schema main, loaded on demand
	unknown map[string]bool // refused table names that are no relation of the warehouse
	names   map[string]bool // names the audit keeps in clear (auditNames), lower case
	sleeps  bool            // it calls a sleep function (sleep.go)
}

func (w *walker) refuse(code, reason, hint string) {
	if w.err == nil {
		w.err = &RefusedError{Role: w.c.role, Code: code, Reason: reason, Hint: hint}
	}
}

// unknownName stands in the audit's reason for a name the catalog does
// not know: the client may have typed anything there, an e-mail address
// or a file path.
const unknownName = "(a name the catalog does not know)"

// refuseNamed refuses with a reason that quotes names (format has one %s
// per name). The client gets the names as it typed them; the audit's
// reason keeps only those the catalog knows (auditNames, as the audit's
// masking of the statement does) and replaces the others by unknownName.
func (w *walker) refuseNamed(code, hint, format string, names ...string) {
	if w.err != nil {
		return
	}
	shown, audited := make([]any, len(names)), make([]any, len(names))
	for i, n := range names {
		shown[i], audited[i] = n, n
		if !w.names[strings.ToLower(n)] {
			audited[i] = unknownName
		}
	}
	w.refuse(code, fmt.Sprintf(format, shown...), hint)
	if audit := fmt.Sprintf(format, audited...); audit != w.err.(*RefusedError).Reason {
		w.err.(*RefusedError).AuditReason = audit
	}
}

// refuseShape refuses a part of the parse tree the walker does not know.
func (w *walker) refuseShape(what string) {
	w.refuse(codeFeature, fmt.Sprintf("the cxlake gateway does not know %s in DuckDB's parse tree, and refuses what it cannot check", what),
		"write the query with ordinary SELECT constructs, or ask for the construct to be supported")
}

func (w *walker) relationList() []string { return sortedSet(w.rels) }

// auditRelations are the relations of the warehouse a query named, read
// or refused, for the audit.
func (w *walker) auditRelations() []string {
	all := map[string]bool{}
	for r := range w.rels {
		all[r] = true
	}
	for r := range w.refused {
		all[r] = true
	}
	return sortedSet(all)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// The walk fails closed. Every map of the parse tree is classified (kindOf)
// and its keys checked against the list below, made from DuckDB 1.5's
// serialization of the constructs the gateway supports. A kind or a key
// not listed refuses the query: a construct a future DuckDB adds, or a key
// that could hold a relation or a function the walk would not see, is
// never guessed at. Values (constants) are data and are not walked into.
var shapeKeys = map[string][]string{
	"root":      {"error", "statements"},
	"statement": {"node", "named_param_map"},
	"param":     {"key", "value"},
	"cte_map":   {"map"},
	"cte_entry": {"key", "value"},
	"cte_info":  {"aliases", "query", "materialized", "key_targets"},

	"node:SELECT_NODE": {"type", "modifiers", "cte_map", "select_list", "from_table", "where_clause",
		"group_expressions", "group_sets", "aggregate_handling", "having", "sample", "qualify"},
	"node:SET_OPERATION_NODE": {"type", "modifiers", "cte_map", "setop_type", "setop_all", "left", "right", "children"},
	"node:RECURSIVE_CTE_NODE": {"type", "modifiers", "cte_map", "cte_name", "union_all", "left", "right", "aliases", "key_targets"},

	"ref:BASE_TABLE": {"type", "alias", "sample", "query_location", "column_name_alias", "schema_name", "table_name",
		"catalog_name", "at_clause"},
	"ref:JOIN": {"type", "alias", "sample", "query_location", "left", "right", "condition", "join_type", "ref_type",
		"using_columns", "delim_flipped", "duplicate_eliminated_columns"},
	"ref:SUBQUERY":        {"type", "alias", "sample", "query_location", "subquery", "column_name_alias"},
	"ref:TABLE_FUNCTION":  {"type", "alias", "sample", "query_location", "function", "column_name_alias", "with_ordinality"},
	"ref:EXPRESSION_LIST": {"type", "alias", "sample", "query_location", "expected_names", "expected_types", "values"},
	"ref:EMPTY":           {"type", "alias", "sample", "query_location"},
	"ref:SHOW_REF":        {"type", "alias", "sample", "query_location", "table_name", "schema_name", "catalog_name", "query", "show_type"},
	"ref:PIVOT": {"type", "alias", "sample", "query_location", "source", "aggregates", "unpivot_names", "pivots", "groups",
		"column_name_alias", "include_nulls"},
	"pivot_column": {"pivot_expressions", "unpivot_names", "entries", "pivot_enum", "subquery"},
	"pivot_entry":  {"values", "star_expr", "alias"},
	"sample":       {"sample_size", "is_percentage", "method", "seed"},

	"mod:ORDER_MODIFIER":         {"type", "orders"},
	"mod:LIMIT_MODIFIER":         {"type", "limit", "offset"},
	"mod:LIMIT_PERCENT_MODIFIER": {"type", "limit", "offset"},
	"mod:DISTINCT_MODIFIER":      {"type", "distinct_on_targets"},
	"order":                      {"type", "null_order", "expression"},

	"expr:BETWEEN":              {"class", "type", "alias", "query_location", "input", "lower", "upper"},
	"expr:CASE":                 {"class", "type", "alias", "query_location", "case_checks", "else_expr"},
	"case_check":                {"when_expr", "then_expr"},
	"expr:CAST":                 {"class", "type", "alias", "query_location", "child", "cast_type", "try_cast"},
	"expr:COLLATE":              {"class", "type", "alias", "query_location", "child", "collation"},
	"expr:COLUMN_REF":           {"class", "type", "alias", "query_location", "column_names"},
	"expr:COMPARISON":           {"class", "type", "alias", "query_location", "left", "right"},
	"expr:CONJUNCTION":          {"class", "type", "alias", "query_location", "children"},
	"expr:CONSTANT":             {"class", "type", "alias", "query_location", "value"},
	"expr:DEFAULT":              {"class", "type", "alias", "query_location"},
	"expr:LAMBDA":               {"class", "type", "alias", "query_location", "lhs", "expr"},
	"expr:OPERATOR":             {"class", "type", "alias", "query_location", "children"},
	"expr:PARAMETER":            {"class", "type", "alias", "query_location", "identifier"},
	"expr:POSITIONAL_REFERENCE": {"class", "type", "alias", "query_location", "index"},
	"expr:SUBQUERY":             {"class", "type", "alias", "query_location", "subquery_type", "subquery", "child", "comparison_type"},
	"expr:STAR": {"class", "type", "alias", "query_location", "relation_name", "exclude_list", "replace_list", "columns",
		"expr", "qualified_exclude_list", "rename_list"},
	"replace_entry":  {"key", "value"},
	"rename_entry":   {"key", "value"},
	"qualified_name": {"catalog", "schema", "table", "column"},
	"expr:FUNCTION": {"class", "type", "alias", "query_location", "function_name", "schema", "catalog", "children",
		"filter", "order_bys", "distinct", "is_operator", "export_state"},
	"expr:WINDOW": {"class", "type", "alias", "query_location", "function_name", "schema", "catalog", "children",
		"partitions", "orders", "start", "end", "start_expr", "end_expr", "offset_expr", "default_expr", "ignore_nulls",
		"filter_expr", "exclude_clause", "distinct", "arg_orders"},

	"type":                       {"id", "type_info"},
	"struct_item":                {"first", "second"},
	"typeinfo:GENERIC_TYPE_INFO": {"type", "alias", "extension_info"},
	"typeinfo:DECIMAL_TYPE_INFO": {"type", "alias", "extension_info", "width", "scale"},
	"typeinfo:STRING_TYPE_INFO":  {"type", "alias", "extension_info", "collation"},
	"typeinfo:LIST_TYPE_INFO":    {"type", "alias", "extension_info", "child_type"},
	"typeinfo:ARRAY_TYPE_INFO":   {"type", "alias", "extension_info", "child_type", "size"},
	"typeinfo:STRUCT_TYPE_INFO":  {"type", "alias", "extension_info", "child_types"},
	"typeinfo:UNBOUND_TYPE_INFO": {"type", "alias", "extension_info", "name", "catalog", "schema", "user_type_modifiers"},
}

var shapeKeySet = func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for kind, keys := range shapeKeys {
		out[kind] = map[string]bool{}
		for _, k := range keys {
			out[kind][k] = true
		}
	}
	return out
}()

// childKinds names the kind of the maps under a key of a kind, for the
// maps that do not say what they are (no "class" or "type" of their own).
var childKinds = map[string]string{
	"root.statements":                                "statement",
	"statement.named_param_map":                      "param",
	"expr:SUBQUERY.subquery":                         "statement",
	"ref:SUBQUERY.subquery":                          "statement",
	"cte_info.query":                                 "statement",
	"pivot_column.subquery":                          "statement",
	"cte_map.map":                                    "cte_entry",
	"cte_entry.value":                                "cte_info",
	"expr:CASE.case_checks":                          "case_check",
	"expr:STAR.replace_list":                         "replace_entry",
	"expr:STAR.rename_list":                          "rename_entry",
	"rename_entry.key":                               "qualified_name",
	"expr:STAR.qualified_exclude_list":               "qualified_name",
	"ref:PIVOT.pivots":                               "pivot_column",
	"pivot_column.entries":                           "pivot_entry",
	"pivot_entry.values":                             "value",
	"sample.sample_size":                             "value",
	"expr:CONSTANT.value":                            "value",
	"typeinfo:STRUCT_TYPE_INFO.child_types":          "struct_item",
	"typeinfo:UNBOUND_TYPE_INFO.user_type_modifiers": "value",
	"node:SELECT_NODE.cte_map":                       "cte_map",
	"node:SET_OPERATION_NODE.cte_map":                "cte_map",
	"node:RECURSIVE_CTE_NODE.cte_map":                "cte_map",
}

// tableRefTypes are the kinds of FROM item DuckDB serializes.
var tableRefTypes = map[string]bool{"BASE_TABLE": true, "JOIN": true, "SUBQUERY": true, "TABLE_FUNCTION": true,
	"EXPRESSION_LIST": true, "EMPTY": true, "SHOW_REF": true, "PIVOT": true, "COLUMN_DATA": true, "DELIM_GET": true}

// kindOf classifies a map of the parse tree found under key of a parent
// of kind parent; "" means unknown. A map that names its own class or type
// is classified by it wherever it appears, so that it is checked wherever
// DuckDB would bind it.
func kindOf(m map[string]any, parent, key string) string {
	if class, ok := m["class"].(string); ok {
		return "expr:" + class
	}
	if typ, ok := m["type"].(string); ok {
		switch {
		case strings.HasSuffix(typ, "_NODE"):
			return "node:" + typ
		case strings.HasSuffix(typ, "_MODIFIER"):
			return "mod:" + typ
		case strings.HasSuffix(typ, "_TYPE_INFO"):
			return "typeinfo:" + typ
		case typ == "ORDER_DEFAULT" || typ == "ASCENDING" || typ == "DESCENDING":
			return "order"
		case tableRefTypes[typ] && hasKey(m, "alias") && hasKey(m, "sample"):
			return "ref:" + typ
		}
	}
	if k := childKinds[parent+"."+key]; k != "" {
		return k
	}
	if key == "sample" {
		return "sample"
	}
	if hasKey(m, "id") && hasKey(m, "type_info") && len(m) == 2 {
		return "type"
	}
	if parent == "" && key == "" {
		return "root"
	}
	return ""
}

// walk visits v, found under key of a map of kind parent, in scope sc.
func (w *walker) walk(v any, sc *scope, parent, key string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			w.walk(e, sc, parent, key)
		}
	case map[string]any:
		w.walkMap(x, sc, parent, key)
	}
}

func (w *walker) walkMap(m map[string]any, sc *scope, parent, key string) {
	kind := kindOf(m, parent, key)
	if kind == "value" {
		return // a constant: data, with nothing to bind
	}
	if !w.knownShape(m, kind, parent, key) {
		return
	}
	switch {
	case kind == "node:RECURSIVE_CTE_NODE":
		// DuckDB makes a recursive CTE's node only as the body of a
		// WITH RECURSIVE entry, where cteBody walks it.
		w.refuseShape("a recursive CTE outside a WITH clause")
	case strings.HasPrefix(kind, "node:"):
		w.queryNode(m, kind, sc)
	case strings.HasPrefix(kind, "ref:"):
		w.tableRef(m, kind, sc)
	case strings.HasPrefix(kind, "expr:"):
		w.expression(m, kind, sc)
	case kind == "type":
		if w.checkType(m) {
			w.children(m, kind, sc, "")
		}
	default:
		w.children(m, kind, sc, "")
	}
}

// knownShape reports whether m is a kind the walker knows with only the
// keys it knows; otherwise it refuses the query.
func (w *walker) knownShape(m map[string]any, kind, parent, key string) bool {
	allowed, ok := shapeKeySet[kind]
	if !ok {
		what := "a parse-tree element"
		if t, _ := m["class"].(string); t != "" {
			what = "expression class " + t
		} else if t, _ := m["type"].(string); t != "" {
			what = "element " + t
		}
		if !isEnumName(what[strings.LastIndexByte(what, ' ')+1:]) {
			what = "a parse-tree element" // a type or class is an upper-case enumeration value; anything else could be what the client typed
		}
		if parent != "" {
			what += fmt.Sprintf(" under %s.%s", parent, key)
		}
		w.refuseShape(what)
		return false
	}
	for k := range m {
		if !allowed[k] {
			w.refuseShape(fmt.Sprintf("key %q of %s", k, kind))
			return false
		}
	}
	return true
}

// isEnumName reports whether s looks like a value of one of DuckDB's
// serialized enumerations (SELECT_NODE, VALUE_CONSTANT): upper-case ASCII
// letters, digits and underscores.
func isEnumName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// children walks every value of m (of the given kind) except skip, in key
// order so that the first refusal reported is always the same.
func (w *walker) children(m map[string]any, kind string, sc *scope, skip string) {
	for _, k := range sortedKeys(m) {
		if k != skip {
			w.walk(m[k], sc, kind, k)
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

// queryNode handles CTE scoping. A CTE's name is visible where SQL makes
// it visible, and only there:
//   - each CTE body sees the CTEs declared before it in the same WITH,
//     never itself or those after it (DuckDB binds such a name to the real
//     relation, or a file);
//   - a recursive CTE's name is visible in its recursive branch only, never
//     in its anchor (cteBody);
//   - the rest of the node sees all of its WITH's CTEs.
//
// Where the walker treats a name as a relation, a wrong guess refuses; it
// never lets a real relation pass as a CTE.
func (w *walker) queryNode(m map[string]any, kind string, sc *scope) {
	if cm, ok := m["cte_map"].(map[string]any); ok {
		if !w.knownShape(cm, "cte_map", kind, "cte_map") {
			return
		}
		entries, _ := cm["map"].([]any)
		var names []string
		for _, e := range entries {
			em, ok := e.(map[string]any)
			if !ok || !w.knownShape(em, "cte_entry", "cte_map", "map") {
				w.refuseShape("a CTE entry")
				return
			}
			name, ok := em["key"].(string)
			if !ok || name == "" {
				w.refuseShape("a CTE without a name")
				return
			}
			w.cteBody(em["value"], name, sc.with(names...))
			names = append(names, name)
		}
		sc = sc.with(names...)
	} else if m["cte_map"] != nil {
		w.refuseShape("a WITH clause of an unknown form")
		return
	}
	w.children(m, kind, sc, "cte_map")
}

// cteBody walks the body of CTE name in scope sc (the CTEs declared before it).
func (w *walker) cteBody(v any, name string, sc *scope) {
	info, ok := v.(map[string]any)
	if !ok || !w.knownShape(info, "cte_info", "cte_entry", "value") {
		w.refuseShape("a CTE body")
		return
	}
	st, _ := info["query"].(map[string]any)
	node, _ := st["node"].(map[string]any)
	if st == nil || node == nil || !w.knownShape(st, "statement", "cte_info", "query") {
		w.refuseShape("a CTE body")
		return
	}
	for _, k := range sortedKeys(info) {
		if k != "query" {
			w.walk(info[k], sc, "cte_info", k)
		}
	}
	for _, k := range sortedKeys(st) {
		if k != "node" {
			w.walk(st[k], sc, "statement", k)
		}
	}
	if str(node, "type") != "RECURSIVE_CTE_NODE" {
		w.walk(node, sc, "statement", "node")
		return
	}
	const kind = "node:RECURSIVE_CTE_NODE"
	if !w.knownShape(node, kind, "statement", "node") {
		return
	}
	if !strings.EqualFold(str(node, "cte_name"), name) {
		w.refuseShape("a recursive CTE whose name differs from its WITH entry")
		return
	}
	if cm, _ := node["cte_map"].(map[string]any); cm != nil {
		if entries, _ := cm["map"].([]any); len(entries) > 0 {
			w.refuseShape("a WITH clause inside a recursive CTE's own node")
			return
		}
	}
	// The anchor (left) is bound without the CTE: DuckDB resolves its name
	// there to the real relation, or to a file. Only the recursive branch
	// (right) and what follows it see the CTE.
	rec := sc.with(name)
	for _, k := range sortedKeys(node) {
		switch k {
		case "cte_map":
		case "left":
			w.walk(node[k], sc, kind, k)
		default:
			w.walk(node[k], rec, kind, k)
		}
	}
}

func (w *walker) tableRef(m map[string]any, kind string, sc *scope) {
	switch kind {
	case "ref:BASE_TABLE":
		if m["at_clause"] != nil {
			w.refuse(codeFeature, "AT (time travel) is not supported by the cxlake gateway", "")
			return
		}
		w.baseTable(m, sc)
	case "ref:TABLE_FUNCTION":
		w.tableFunction(m, sc)
		return
	case "ref:SHOW_REF":
		st := str(m, "show_type")
		if (st != "DESCRIBE" && st != "SUMMARY") || m["query"] == nil {
			w.refuse(codeFeature, "SHOW is not available through the cxlake gateway",
				`list relations with \dt or: select table_name from information_schema.tables`)
			return
		}
	case "ref:JOIN":
		w.anyListsInJoin(m) // anylist.go
	case "ref:SUBQUERY", "ref:EXPRESSION_LIST", "ref:EMPTY", "ref:PIVOT":
	default:
		w.refuse(codeFeature, fmt.Sprintf("FROM item of kind %s is not supported by the cxlake gateway", strings.TrimPrefix(kind, "ref:")), "")
		return
	}
	w.children(m, kind, sc, "")
}

// baseTable resolves one table reference.
func (w *walker) baseTable(m map[string]any, sc *scope) {
	cat := lowerASCII(str(m, "catalog_name"))
	sch := lowerASCII(str(m, "schema_name"))
	name := lowerASCII(str(m, "table_name"))
	masked := strings.ToLower(str(m, "table_name")) // the spelling maskNames compares
	if cat == "" && sch == "" && sc.has(name) {
		return // a CTE
	}
	if cat != "" && cat != w.c.srv.dbName {
		w.refuseRelation(qualified(cat, sch, name), name, masked)
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
			w.refuseRelation(qualified("", sch, name), name, masked)
			return
		}
	}
	if sch != "" && sch != "main" {
		w.refuseRelation(qualified("", sch, name), name, masked)
		return
	}
	if !w.c.srv.policy.allows(w.c.role, name) {
		w.refuseRelation(name, name, masked)
		return
	}
	if w.c.srv.policy.allowsAll(w.c.role) && !w.mainRelation(name) {
		if w.err == nil {
			w.refuse(codeUndefinedTable, fmt.Sprintf("relation %q does not exist", name),
				`list relations with \dt or: select table_name from information_schema.tables`)
			w.err.(*RefusedError).AuditReason = "a name that is no relation of the warehouse"
		}
		w.unknown[masked] = true
		return
	}
	w.rels["main."+name] = true
}

// mainRelation reports whether name is a table or view of schema main.
func (w *walker) mainRelation(name string) bool {
	if w.exists == nil {
		w.exists = w.c.srv.mainRelations(w.c.conn)
	}
	return w.exists[name]
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
// written (lower case); name its last part; masked the spelling the
// audit's masking compares. A relation of the warehouse is kept for the
// audit's relations; any other name (it could be a file path or personal
// data) is masked in the audit.
func (w *walker) refuseRelation(ref, name, masked string) {
	known := w.known(ref, name)
	if known {
		if compatRelations[ref] != "" || catalogRelations[ref] {
			w.refused[ref] = true
		} else {
			w.refused["main."+name] = true
		}
	} else {
		w.unknown[masked] = true
	}
	if w.err != nil {
		return
	}
	p := w.c.srv.policy
	hint := `list what you can read with \dt or: select table_name from information_schema.tables`
	if rels := p.Relations(w.c.role); len(rels) > 0 && !p.allowsAll(w.c.role) {
		hint = fmt.Sprintf("role %s can read: %s", w.c.role, strings.Join(rels, ", "))
	}
	w.refuse(codeInsufficientPriv, fmt.Sprintf("relation %q is not available to role %s", ref, w.c.role), hint)
	if !known {
		w.err.(*RefusedError).AuditReason = fmt.Sprintf("a name that is no relation of the warehouse is not available to role %s", w.c.role)
	}
}

// known reports whether a refused reference names a real relation, so the
// audit may keep its name.
func (w *walker) known(ref, name string) bool {
	if compatRelations[ref] != "" || catalogRelations[ref] {
		return true
	}
	return w.mainRelation(name) && (ref == name || ref == "main."+name || ref == w.c.srv.dbName+".main."+name)
}

func (w *walker) tableFunction(m map[string]any, sc *scope) {
	fn, _ := m["function"].(map[string]any)
	name := lowerASCII(str(fn, "function_name"))
	switch lowerASCII(str(fn, "schema")) {
	case "":
	case "pg_catalog", "main":
		fn["schema"] = "" // pg_catalog.unnest(...) in FROM
		w.changed = true
	default:
		w.refuseNamed(codeInsufficientPriv, "", "table function %s.%s is not available through the cxlake gateway", str(fn, "schema"), name)
		return
	}
	if cat := str(fn, "catalog"); cat != "" {
		w.refuseNamed(codeInsufficientPriv, "", "table function %s.%s is not available through the cxlake gateway", cat, name)
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
	case w.allowedFunction(name):
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
		w.refuseNamed(codeInsufficientPriv, "the gateway reads the warehouse's relations only; it cannot read files or run other SQL",
			"table function %s is not available through the cxlake gateway", name)
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
	if !w.knownShape(fn, "expr:FUNCTION", "ref:TABLE_FUNCTION", "function") {
		return
	}
	w.children(fn, "expr:FUNCTION", sc, "function_name")
}

// allowedFunction reports whether the role may call the scalar, aggregate
// or macro function name: one of DuckDB's own (listed at start-up, never
// one the application registered), not denied, or one the policy grants
// the role (the unsealing functions, compliance only).
func (w *walker) allowedFunction(name string) bool {
	if deniedFunctions[name] {
		return false
	}
	return w.c.srv.funcs[name] || w.c.srv.policy.allowsFunction(w.c.role, name)
}

// expression checks functions and types, and rewrites catalog spellings.
func (w *walker) expression(m map[string]any, kind string, sc *scope) {
	switch kind {
	case "expr:FUNCTION":
		if !w.function(m) {
			return
		}
	case "expr:WINDOW":
		name := lowerASCII(str(m, "function_name"))
		if str(m, "schema") != "" || str(m, "catalog") != "" {
			w.refuseNamed(codeInsufficientPriv, "", "window function %s.%s is not available through the cxlake gateway",
				str(m, "schema"), name)
			return
		}
		// An aggregate used as a window function is checked like any
		// call; the other window functions are DuckDB's fixed set.
		if str(m, "type") == "WINDOW_AGGREGATE" && !w.allowedFunction(name) {
			w.refuseFunction(name)
			return
		}
	case "expr:CAST":
		w.cast(m)
	case "expr:COLLATE":
		// COLLATE "default" and catalog collations mean nothing to DuckDB.
		if c := strings.ToLower(str(m, "collation")); c == "default" || strings.HasPrefix(c, "pg_catalog.") || c == "c" || c == "posix" {
			child, _ := m["child"].(map[string]any)
			alias := str(m, "alias")
			replaceMap(m, child)
			if alias != "" {
				m["alias"] = alias
			}
			w.changed = true
			w.walkMap(m, sc, "", "")
			return
		}
	}
	w.children(m, kind, sc, "")
}

// refuseFunction refuses a call of name: denied to every role, granted to
// other roles, or unknown.
func (w *walker) refuseFunction(name string) {
	switch {
	case deniedFunctions[name]:
		w.refuseNamed(codeInsufficientPriv, "the gateway is read-only and reads the warehouse's relations only; it does not reveal the server's settings",
			"function %s is not available through the cxlake gateway", name)
	case w.c.srv.policy.grantsFunction(name):
		w.refuseNamed(codeInsufficientPriv, "unsealing personal data is for role compliance",
			"function %s is not available to role "+string(w.c.role), name)
	default:
		w.refuseNamed(codeUndefinedFunc, "the gateway offers DuckDB's built-in functions; extensions are not loaded on demand",
			"function %s does not exist", name)
	}
}

// function checks a scalar or aggregate call and applies the catalog
// rewrites. It returns false when the node was replaced or refused.
func (w *walker) function(m map[string]any) bool {
	name := lowerASCII(str(m, "function_name"))
	schema := lowerASCII(str(m, "schema"))
	if cat := str(m, "catalog"); cat != "" {
		w.refuseNamed(codeInsufficientPriv, "", "function %s.%s is not available through the cxlake gateway", cat, name)
		return false
	}
	if deniedFunctions[name] {
		w.refuseFunction(name)
		return false
	}
	if name == "current_setting" && (schema == "" || schema == "pg_catalog" || schema == "main") {
		// Only the PostgreSQL settings the gateway reports: DuckDB's own
		// name directories and limits of the process (temp_directory,
		// memory_limit, extension_directory, ...).
		v, ok := w.settingConstant(m)
		if !ok {
			w.refuse(codeInsufficientPriv, "current_setting is available through the cxlake gateway for PostgreSQL's client settings only, named by a constant",
				"the gateway reports: "+strings.Join(settingNames(), ", "))
			return false
		}
		alias := str(m, "alias")
		if alias == "" {
			alias = "current_setting"
		}
		replaceMap(m, constant(v, alias))
		w.changed = true
		return false
	}
	if name == "version" && (schema == "" || schema == "pg_catalog" || schema == "main") {
		// DuckDB's version() says "v1.5.6", which PostgreSQL clients
		// cannot parse (SQLAlchemy refuses to connect).
		if args, _ := m["children"].([]any); len(args) != 0 {
			w.refuseNamed(codeUndefinedFunc, "", "function %s does not exist", name)
			return false
		}
		alias := str(m, "alias")
		if alias == "" {
			alias = "version"
		}
		replaceMap(m, constant("PostgreSQL "+serverVersion(), alias))
		w.changed = true
		return false
	}
	if max, ok := maxArgs[name]; ok {
		if args, _ := m["children"].([]any); len(args) > max {
			m["children"] = args[:max] // pg_get_expr(expr, rel, pretty): DuckDB's takes two
			w.changed = true
		}
	}
	if to, ok := catalogFunctions[name]; ok && (schema == "" || schema == "pg_catalog" || schema == "main") {
		// DuckDB's own would read every view's SQL or constraint.
		if str(m, "alias") == "" {
			m["alias"] = name // the column is format_type, as in PostgreSQL
		}
		m["function_name"], m["schema"] = to, ""
		w.changed = true
		return true
	}
	if to, ok := renamedFunctions[name]; ok && (schema == "" || schema == "pg_catalog" || schema == "main") {
		m["function_name"], m["schema"] = to, ""
		w.changed = true
		name, schema = to, ""
	}
	if schema == "information_schema" && infoSchemaFunctions[name] {
		m["schema"] = "" // information_schema._pg_expandarray: a compat macro (catalog.go)
		w.changed = true
		schema = ""
	}
	if schema == "pg_catalog" && !w.c.srv.pgFuncs[name] {
		m["schema"] = "" // pg_catalog.array_to_string -> array_to_string (a built-in or a compat macro)
		w.changed = true
		schema = ""
	}
	if schema != "" && schema != "pg_catalog" && schema != "main" {
		w.refuseNamed(codeUndefinedFunc, "", "function %s.%s does not exist", schema, name)
		return false
	}
	if _, sleeps := sleepFunctions[name]; sleeps && !w.sleepCall(name, m) {
		return false
	}
	if !w.allowedFunction(name) && !compatFunctions[name] && !regFunctions[name] && !specialFunctions[name] && !(isTrue(m["is_operator"]) && isOperatorName(name)) {
		w.refuseFunction(name)
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

// settingConstant answers current_setting('name'[, missing_ok]) for the
// PostgreSQL settings the gateway reports; false for any other call.
func (w *walker) settingConstant(m map[string]any) (string, bool) {
	args, _ := m["children"].([]any)
	if len(args) != 1 && len(args) != 2 { // (name) or (name, missing_ok)
		return "", false
	}
	a, _ := args[0].(map[string]any)
	if str(a, "class") != "CONSTANT" {
		return "", false
	}
	val, _ := a["value"].(map[string]any)
	name, _ := val["value"].(string)
	return pgSetting(lowerASCII(name))
}

// settingNames are the settings current_setting answers, sorted.
func settingNames() []string {
	out := make([]string, 0, len(pgSettings)+1)
	for k := range pgSettings {
		out = append(out, k)
	}
	out = append(out, "server_version")
	sort.Strings(out)
	return out
}

// allowedTypeAliases are the named aliases of built-in types a query may
// use. Any other (GEOMETRY, built in to DuckDB 1.5 as a BLOB alias, or a
// type an extension defines) is refused: the gateway offers DuckDB's
// plain types only.
var allowedTypeAliases = map[string]bool{"json": true}

// deniedTypes are type names refused even where DuckDB lists them.
var deniedTypes = map[string]bool{"geometry": true, "point_2d": true, "point_3d": true, "point_4d": true,
	"linestring_2d": true, "polygon_2d": true, "box_2d": true, "box_2df": true, "wkb_blob": true}

// checkType checks a type named by the query (a cast, a column type): it
// must be DuckDB's own, with no extension or alias behind it, or DuckDB
// could install and load an extension to provide it. It returns false
// after a refusal.
func (w *walker) checkType(t map[string]any) bool {
	info, _ := t["type_info"].(map[string]any)
	if info == nil {
		return true
	}
	if info["extension_info"] != nil {
		w.refuseType(str(info, "alias"))
		return false
	}
	if alias := lowerASCII(str(info, "alias")); alias != "" && !allowedTypeAliases[alias] {
		w.refuseType(alias)
		return false
	}
	if str(t, "id") == "UNBOUND" {
		name := lowerASCII(str(info, "name"))
		if str(info, "catalog") != "" || (str(info, "schema") != "" && !strings.EqualFold(str(info, "schema"), "pg_catalog")) ||
			deniedTypes[name] || !w.c.srv.types[name] {
			w.refuseType(name)
			return false
		}
	}
	return true
}

func (w *walker) refuseType(name string) {
	w.refuseNamed(codeUndefinedObject, "the gateway offers DuckDB's built-in types; extension and spatial types are not available",
		"type %s does not exist", name)
}

// cast rewrites casts to PostgreSQL's reg* and oid types.
func (w *walker) cast(m map[string]any) {
	if w.regCast(m) {
		return
	}
	ct, _ := m["cast_type"].(map[string]any)
	if str(ct, "id") != "UNBOUND" {
		return
	}
	info, _ := ct["type_info"].(map[string]any)
	name := lowerASCII(str(info, "name"))
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

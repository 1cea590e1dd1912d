package gateway

// x = ANY(list) in the ON condition of an outer join. DuckDB's parser
// turns "x = ANY(l)" into "x IN (SELECT unnest(l))", a correlated subquery
// that DuckDB's binder refuses in a non-inner join ("Cannot perform
// non-inner join on subquery"). SQLAlchemy's index reflection sends one:
//
//	left outer join pg_attribute a on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
//
// In a join condition, where the condition or one of its top-level AND
// terms is such an ANY, it becomes list_contains(l, x). There, NULL and
// false both leave the row unmatched, so list_contains (false where
// PostgreSQL says NULL) gives the same rows. Anywhere else the ANY is left
// as it is: under NOT, or in a select list, NULL and false differ. The
// rewritten call is then walked and checked like any other.

// anyListsInJoin rewrites the ANY terms of a JOIN's condition.
func (w *walker) anyListsInJoin(join map[string]any) {
	cond, _ := join["condition"].(map[string]any)
	w.anyListTerm(cond)
}

func (w *walker) anyListTerm(e map[string]any) {
	if e == nil {
		return
	}
	if str(e, "class") == "CONJUNCTION" && str(e, "type") == "CONJUNCTION_AND" {
		kids, _ := e["children"].([]any)
		for _, k := range kids {
			w.anyListTerm(mapOf(k))
		}
		return
	}
	if list, ok := anyOfList(e); ok {
		replaceMap(e, call("list_contains", str(e, "alias"), list, e["child"]))
		w.changed = true
	}
}

// anyOfList returns l when e is "x = ANY(l)" as DuckDB's parser writes it:
// an ANY subquery comparing with = a SELECT of unnest(l) alone, from
// nothing, with no other clause.
func anyOfList(e map[string]any) (any, bool) {
	if str(e, "class") != "SUBQUERY" || str(e, "subquery_type") != "ANY" || str(e, "comparison_type") != "COMPARE_EQUAL" ||
		e["child"] == nil {
		return nil, false
	}
	node := mapOf(mapOf(e["subquery"])["node"])
	if str(node, "type") != "SELECT_NODE" || str(mapOf(node["from_table"]), "type") != "EMPTY" ||
		node["where_clause"] != nil || node["having"] != nil || node["qualify"] != nil || node["sample"] != nil {
		return nil, false
	}
	for _, k := range []string{"group_expressions", "modifiers"} {
		if l, _ := node[k].([]any); len(l) != 0 {
			return nil, false
		}
	}
	if ctes, _ := mapOf(node["cte_map"])["map"].([]any); len(ctes) != 0 {
		return nil, false
	}
	sel, _ := node["select_list"].([]any)
	if len(sel) != 1 {
		return nil, false
	}
	fn := mapOf(sel[0])
	args, _ := fn["children"].([]any)
	if str(fn, "class") != "FUNCTION" || lowerASCII(str(fn, "function_name")) != "unnest" || str(fn, "schema") != "" ||
		isTrue(fn["distinct"]) || fn["filter"] != nil || len(args) != 1 {
		return nil, false
	}
	return args[0], true
}

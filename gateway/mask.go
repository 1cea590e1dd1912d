package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Masking for the audit. The statement kept in gateway_queries and in the
// audit chain is DuckDB's own printing of the query's parse tree after two
// passes over it:
//
//   - maskConstants: every constant expression becomes a $n parameter.
//   - maskIdentifiers: every other string in the tree is kept only when it
//     is structure (a node's type or class, a join kind) or a name of the
//     warehouse's catalog: a relation, a column, a function, a type, a
//     schema, a collation. Anything else the client typed (a column or
//     table alias, a CTE name, a double-quoted identifier, a struct field,
//     a PIVOT ... IN value, an ENUM member, a named parameter) is replaced
//     by a placeholder such as alias1 or col2, the same one for the same
//     text within a statement, so the query keeps its shape. Values that
//     are not expressions (PIVOT entries, ENUM members, sample sizes)
//     become '?'.
//
// The rule fails closed: in a field the gateway has never seen, only an
// upper-case enumeration value (what DuckDB's serializer writes there) is
// kept, so that the tree still prints; a tree DuckDB can no longer print
// after masking is audited as its statement kinds only.

// maskForAudit masks root (a fresh copy of the parse tree) in place and
// says whether the query calls an unsealing function, which makes it a
// query that is audited before it runs (BeforeAuditor).
func maskForAudit(root map[string]any, known map[string]bool) (unseals bool) {
	maskConstants(root)
	m := &identMasker{known: known, seen: map[string]string{}}
	m.mask("", root)
	return m.unseals
}

// maskConstants replaces every non-null constant in the tree with a
// parameter $n, numbered in the order the constants appear in the query and
// after the query's own parameters, so the audit keeps the shape of a query
// and none of its values.
func maskConstants(root map[string]any) {
	next := 1
	var consts []map[string]any
	var scan func(v any)
	scan = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				scan(e)
			}
		case map[string]any:
			switch str(x, "class") {
			case "PARAMETER":
				if n, err := strconv.Atoi(str(x, "identifier")); err == nil && n >= next {
					next = n + 1
				}
			case "CONSTANT":
				if val, _ := x["value"].(map[string]any); !isTrue(val["is_null"]) {
					consts = append(consts, x)
				}
				return
			}
			for _, k := range sortedKeys(x) {
				scan(x[k])
			}
		}
	}
	scan(root)
	loc := func(m map[string]any) uint64 {
		n, _ := m["query_location"].(json.Number)
		u, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil {
			return ^uint64(0)
		}
		return u
	}
	sort.SliceStable(consts, func(i, j int) bool { return loc(consts[i]) < loc(consts[j]) })
	for _, x := range consts {
		alias, ql := str(x, "alias"), x["query_location"]
		replaceMap(x, map[string]any{"class": "PARAMETER", "type": "VALUE_PARAMETER", "alias": alias,
			"query_location": ql, "identifier": strconv.Itoa(next)})
		next++
	}
}

// enumFields are the fields of DuckDB's parse tree whose string values are
// structure (the parser's own enumerations), not text the client chose.
var enumFields = map[string]bool{
	"type": true, "class": true, "id": true, "aggregate_handling": true, "materialized": true,
	"join_type": true, "ref_type": true, "null_order": true, "setop_type": true, "show_type": true,
	"subquery_type": true, "comparison_type": true, "with_ordinality": true, "unit": true,
	"method": true, "order_type": true, "result_modifier": true, "start": true, "end": true,
	"exclude_clause": true, "error_type": true, "error_subtype": true,
}

// nameFields are the fields that hold names the client typed: kept only
// when the catalog knows them.
var nameFields = map[string]bool{
	"alias": true, "aliases": true, "column_names": true, "column_name_alias": true, "table_name": true,
	"schema_name": true, "catalog_name": true, "schema": true, "catalog": true, "function_name": true,
	"relation_name": true, "key": true, "cte_name": true, "first": true, "name": true, "exclude_list": true,
	"value": true, "column": true, "table": true, "unpivot_names": true, "using_columns": true,
	"collation": true, "identifier": true, "key_targets": true,
}

var (
	enumRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ ]{0,63}$`)
	// What DuckDB's enumerations look like, for a field the gateway does
	// not know: kept so that the tree still prints; anything else in it is
	// masked.
	strictEnumRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
)

// placeholderPrefix names what a masked string was, by the field it was in.
func placeholderPrefix(field string) string {
	switch field {
	case "alias", "column_name_alias", "aliases":
		return "alias"
	case "table_name", "key", "cte_name", "relation_name":
		return "rel"
	case "function_name":
		return "fn"
	case "name":
		return "type"
	case "identifier":
		return "param"
	}
	return "col"
}

type identMasker struct {
	known   map[string]bool
	seen    map[string]string // original text -> placeholder
	n       int
	unseals bool
}

// placeholder returns the placeholder of s, the same for the same s.
func (m *identMasker) placeholder(field, s string) string {
	if p, ok := m.seen[s]; ok {
		return p
	}
	m.n++
	p := placeholderPrefix(field) + strconv.Itoa(m.n)
	m.seen[s] = p
	return p
}

// keep says whether the string s in field may stay as it is.
func (m *identMasker) keep(field, s string) bool {
	switch {
	case s == "":
		return true
	case field == "identifier":
		// A positional parameter ($1) is a number; a named one ($name)
		// was chosen by the client.
		_, err := strconv.ParseUint(s, 10, 32)
		return err == nil
	case m.known[strings.ToLower(s)]:
		return true
	case enumFields[field]:
		return enumRE.MatchString(s)
	case nameFields[field]:
		return false
	}
	// A field the gateway does not know (a newer DuckDB's): an
	// enumeration stays, so the tree still prints; any other text goes.
	return strictEnumRE.MatchString(s)
}

// mask walks v, the value of field, masking in place; it returns the
// masked value for strings (maps and slices are changed in place).
func (m *identMasker) mask(field string, v any) any {
	switch x := v.(type) {
	case string:
		if m.keep(field, x) {
			return x
		}
		return m.placeholder(field, x)
	case []any:
		for i, e := range x {
			x[i] = m.mask(field, e)
		}
		return x
	case map[string]any:
		if isValue(x) {
			// A value outside an expression (PIVOT ... IN, ENUM members,
			// a sample size): its type may say what it was, not its value.
			if !isTrue(x["is_null"]) {
				x["type"] = map[string]any{"id": "VARCHAR", "type_info": nil}
				x["value"] = "?"
			}
			return x
		}
		if fn := strings.ToLower(str(x, "function_name")); slices.Contains(UnsealFunctions, fn) {
			m.unseals = true
		}
		for _, k := range sortedKeys(x) {
			if k == "named_param_map" {
				x[k] = m.maskParamMap(x[k])
				continue
			}
			x[k] = m.mask(k, x[k])
		}
		return x
	case json.Number:
		// Positions, widths and flags stay; a long number outside them
		// (a sample's REPEATABLE seed) could be a phone number.
		if field != "query_location" && len(strings.TrimLeft(string(x), "-")) > 6 {
			return json.Number("0")
		}
	}
	return v // booleans, null
}

// maskParamMap masks the names of named parameters ($name); positional
// ones are numbers and stay.
func (m *identMasker) maskParamMap(v any) any {
	entries, _ := v.([]any)
	for _, e := range entries {
		if kv, ok := e.(map[string]any); ok {
			if k, ok := kv["key"].(string); ok {
				kv["key"] = m.mask("identifier", k)
			}
		}
	}
	return v
}

// isValue reports whether x is a serialized DuckDB Value ({type, is_null,
// value}) rather than an expression or a node.
func isValue(x map[string]any) bool {
	if _, ok := x["is_null"].(bool); !ok {
		return false
	}
	t, ok := x["type"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = t["id"]
	return ok
}

// auditNames are the names the audit keeps in clear: the warehouse's
// relations, columns, schemas and databases, and DuckDB's functions, types
// and collations. None is personal data; everything else a client types is
// masked. They are read at most every auditNamesTTL, so a column a model
// adds shows in clear soon after.
type auditNames struct {
	mu    sync.Mutex
	at    time.Time
	names map[string]bool
}

const auditNamesTTL = time.Minute

// fixedNames are names DuckDB's parser writes into trees itself (a MAP
// type's fields).
var fixedNames = []string{"key", "value"}

// get returns the names, reading them on conn when they are older than
// auditNamesTTL. When they cannot be read, the last ones are kept; with
// none, every name is masked.
func (a *auditNames) get(ctx context.Context, conn *sql.Conn) map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.names != nil && time.Since(a.at) < auditNamesTTL {
		return a.names
	}
	names, err := readAuditNames(ctx, conn)
	if err != nil {
		if a.names == nil {
			return map[string]bool{}
		}
		return a.names
	}
	a.names, a.at = names, time.Now()
	return names
}

func readAuditNames(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, `select distinct lower(n) from (
		select function_name as n from duckdb_functions()
		union all select type_name from duckdb_types()
		union all select collname from pragma_collations()
		union all select table_name from duckdb_tables()
		union all select view_name from duckdb_views()
		union all select column_name from duckdb_columns()
		union all select schema_name from duckdb_schemas()
		union all select database_name from duckdb_databases()) where n is not null`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for _, n := range fixedNames {
		out[n] = true
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

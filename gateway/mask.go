package gateway

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Masking for the audit: constants become $n parameters, and names that
// are no relation of the warehouse become "?".

// maskNames replaces table references to the given names (refused names
// that are no relation of the warehouse, which could hold anything) by "?".
func maskNames(v any, names map[string]bool) {
	if len(names) == 0 {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			maskNames(e, names)
		}
	case map[string]any:
		if str(x, "type") == "BASE_TABLE" && names[strings.ToLower(str(x, "table_name"))] {
			x["table_name"], x["schema_name"], x["catalog_name"] = "?", "", ""
		}
		for _, e := range x {
			maskNames(e, names)
		}
	}
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

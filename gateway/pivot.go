package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// PIVOT without an IN list. DuckDB plans "PIVOT t ON col USING agg(x)"
// as two statements, one that reads the distinct values of col into an
// ENUM type and the SELECT that pivots over it, so json_serialize_sql does
// not serialize it as a SELECT. The gateway does what DuckDB does, inside
// the sandbox: it reads the distinct values of each ON expression with a
// query it checks like any other of the role (SELECT DISTINCT expr FROM
// source), and writes them as the IN list. The query with its IN lists is
// then checked and run as usual. The statement form is rewritten, alone
// or after a WITH clause (whose CTEs the distinct query then sees too).

// pivotLimit bounds the distinct values of a PIVOT without IN, as
// DuckDB's pivot_limit does (100000), lower: each is a column.
const pivotLimit = 1000

// pivotItem is an ON expression of a PIVOT statement without IN.
type pivotItem struct {
	expr string // its text
	end  int    // byte offset where its IN list goes
}

// splitPivot finds the ON expressions without an IN list of a PIVOT
// statement; none when q is not one (or all have IN lists).
func splitPivot(q string) (prefix, source string, items []pivotItem) {
	stmts := splitStatements(lex(q))
	if len(stmts) != 1 {
		return "", "", nil
	}
	toks := stmts[0]
	if len(toks) > 0 && toks[0].upper() == "WITH" {
		p := withPivot(toks)
		if p < 0 {
			return "", "", nil
		}
		prefix = q[toks[0].start:toks[p].start]
		toks = toks[p:]
	}
	if len(toks) < 4 || (toks[0].upper() != "PIVOT" && toks[0].upper() != "PIVOT_WIDER") {
		return "", "", nil
	}
	depth, on := 0, -1
	for i := 1; i < len(toks) && on < 0; i++ {
		switch {
		case toks[i].kind == tPunct && (toks[i].text == "(" || toks[i].text == "["):
			depth++
		case toks[i].kind == tPunct && (toks[i].text == ")" || toks[i].text == "]"):
			depth--
		case depth == 0 && toks[i].upper() == "ON":
			on = i
		}
	}
	if on < 2 {
		return "", "", nil
	}
	source = q[toks[1].start:toks[on-1].end]
	start, hasIn := on+1, false
	flush := func(last int) {
		if last >= start && !hasIn {
			items = append(items, pivotItem{expr: q[toks[start].start:toks[last].end], end: toks[last].end})
		}
	}
	for i := on + 1; i <= len(toks); i++ {
		if i == len(toks) {
			flush(i - 1)
			break
		}
		t := toks[i]
		switch {
		case t.kind == tPunct && (t.text == "(" || t.text == "["):
			depth++
		case t.kind == tPunct && (t.text == ")" || t.text == "]"):
			depth--
		case depth == 0 && t.kind == tPunct && t.text == ",":
			flush(i - 1)
			start, hasIn = i+1, false
		case depth == 0 && t.kind == tIdent && t.upper() == "IN":
			hasIn = true
		case depth == 0 && t.kind == tIdent && (t.upper() == "USING" || t.upper() == "GROUP" || t.upper() == "ORDER" || t.upper() == "LIMIT"):
			flush(i - 1)
			i = len(toks) // done
		}
	}
	return prefix, source, items
}

// withPivot returns the index of the PIVOT keyword that follows a WITH
// clause (WITH name AS (...), ... PIVOT ...), or -1 when the statement
// after the WITH clause is anything else: at the top level of a WITH
// clause there are only names, AS, RECURSIVE, [NOT] MATERIALIZED, column
// lists and the CTE bodies in parentheses.
func withPivot(toks []token) int {
	depth := 0
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tPunct && t.text == "(":
			depth++
		case t.kind == tPunct && t.text == ")":
			depth--
		case depth > 0:
		case t.kind == tIdent && (t.upper() == "PIVOT" || t.upper() == "PIVOT_WIDER"):
			if toks[i-1].kind == tPunct && toks[i-1].text == ")" {
				return i
			}
			return -1
		case t.kind == tPunct && t.text == ",", t.kind == tQuotedIdent:
		case t.kind == tIdent && (t.upper() == "AS" || t.upper() == "RECURSIVE" || t.upper() == "MATERIALIZED" || t.upper() == "NOT"):
		case t.kind == tIdent && (t.upper() == "SELECT" || t.upper() == "FROM" || t.upper() == "VALUES" || t.upper() == "TABLE"):
			return -1
		case t.kind == tIdent:
		default:
			return -1
		}
	}
	return -1
}

// pivotInLists returns q with an IN list written for each ON expression
// of a PIVOT statement that has none; q itself when there is none to write.
func (c *checker) pivotInLists(ctx context.Context, q string) (string, error) {
	prefix, source, items := splitPivot(q)
	if len(items) == 0 {
		return q, nil
	}
	var b strings.Builder
	last := 0
	for _, it := range items {
		// DuckDB names the pivoted columns by the values' text, sorted,
		// NULL left out.
		distinct := fmt.Sprintf("%sselect distinct cast((%s) as varchar) as gw_pivot_value from %s order by 1 limit %d",
			prefix, it.expr, source, pivotLimit+1)
		p, err := c.check(ctx, distinct)
		if err != nil {
			return "", err
		}
		if len(p.stmts) != 1 || p.explain != explainNone {
			return "", &RefusedError{Role: c.role, Code: codeFeature, Statement: "PIVOT",
				Reason: "a PIVOT without IN over a source the gateway cannot read its values from",
				Hint:   "write the IN list: PIVOT t ON col IN ('a', 'b') USING ..."}
		}
		values, err := c.pivotValues(ctx, p.stmts[0])
		if err != nil {
			return "", err
		}
		if len(values) > pivotLimit {
			return "", &RefusedError{Role: c.role, Code: codeFeature, Statement: "PIVOT",
				Reason: fmt.Sprintf("a PIVOT without IN over more than %d distinct values", pivotLimit),
				Hint:   "write the IN list, or group by the expression instead of pivoting on it"}
		}
		if len(values) == 0 {
			values = []string{"NULL"} // no value: DuckDB's own pivot has no such column either
		}
		b.WriteString(q[last:it.end])
		b.WriteString(" IN (")
		b.WriteString(strings.Join(values, ", "))
		b.WriteString(")")
		last = it.end
	}
	b.WriteString(q[last:])
	return b.String(), nil
}

// pivotValues runs the checked distinct query and returns its non-NULL
// values as SQL literals.
func (c *checker) pivotValues(ctx context.Context, query string) ([]string, error) {
	rows, err := c.conn.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading the values of a PIVOT without IN: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading the values of a PIVOT without IN: %w", err)
		}
		if v.Valid {
			out = append(out, sqlString(v.String))
		}
	}
	return out, rows.Err()
}

package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// EXPLAIN and EXPLAIN ANALYZE. DuckDB's json_serialize_sql does not
// serialize EXPLAIN, so the gateway takes the EXPLAIN prefix off with its
// lexer, checks the statement inside like any query (same role, same
// relations and functions, same audit: EXPLAIN ANALYZE runs it), and asks
// DuckDB for the plan of the checked statement as JSON. The plan text the
// client receives is written by the gateway from that JSON, from an
// allow-list of what a plan may show:
//
//   - operator names (SEQ_SCAN, HASH_JOIN, ...), the join type, the scan type;
//   - estimated rows and, with ANALYZE, actual rows and operator time;
//   - a scanned relation by name only when the role may read it. A view the
//     role reads is expanded by DuckDB into the relations it is built on;
//     those are shown as "(a relation inside a view)".
//
// Expressions (projections, filters, join conditions, aggregates) are
// left out: inside a view they name hidden columns and can carry the view
// definition's constants, and a scan of a file would name its path. The
// query text DuckDB copies into an analyzed plan is left out too.

// explainMode is what an EXPLAIN asks for.
type explainMode uint8

const (
	explainNone explainMode = iota
	explainPlan
	explainAnalyze
)

// explainOptions are PostgreSQL's EXPLAIN options the gateway accepts and
// ignores (its plan is always DuckDB's, as text).
var explainOptions = map[string]bool{"VERBOSE": true, "COSTS": true, "BUFFERS": true, "TIMING": true,
	"SUMMARY": true, "SETTINGS": true, "WAL": true}

// splitExplain returns the statement an EXPLAIN wraps and what it asks
// for; explainNone when q is not an EXPLAIN. Forms: EXPLAIN [ANALYZE|
// ANALYSE] [VERBOSE] stmt, and EXPLAIN (option [value], ...) stmt.
func splitExplain(q string) (string, explainMode, error) {
	toks := lex(q)
	if len(toks) == 0 || toks[0].upper() != "EXPLAIN" {
		return "", explainNone, nil
	}
	mode, i := explainPlan, 1
	// The reason names the option only from the gateway's own list: what
	// the client typed could be anything.
	refuse := func(what string) (string, explainMode, error) {
		if what != "FORMAT other than TEXT" && what != "list" && !explainOptions[what] && what != "ANALYZE" {
			what = "other than ANALYZE, VERBOSE, COSTS, BUFFERS, TIMING, SUMMARY, SETTINGS, WAL and FORMAT TEXT"
		}
		return "", explainNone, &RefusedError{Code: codeFeature, Statement: "EXPLAIN",
			Reason: "EXPLAIN option " + what + " is not supported by the cxlake gateway",
			Hint:   "use EXPLAIN or EXPLAIN ANALYZE; the plan is DuckDB's, as text"}
	}
	if i < len(toks) && toks[i].kind == tPunct && toks[i].text == "(" {
		for i++; i < len(toks); i++ {
			opt := toks[i].upper()
			if toks[i].kind != tIdent {
				return refuse("list")
			}
			on := true
			if i+1 < len(toks) && (toks[i+1].kind == tIdent || toks[i+1].kind == tString || toks[i+1].kind == tNumber) {
				v := strings.ToUpper(strings.Trim(toks[i+1].text, "'"))
				if opt == "FORMAT" {
					if v != "TEXT" {
						return refuse("FORMAT other than TEXT")
					}
				} else {
					switch v {
					case "TRUE", "ON", "1":
					case "FALSE", "OFF", "0":
						on = false
					default:
						return refuse(opt)
					}
				}
				i++
			} else if opt == "FORMAT" {
				return refuse("FORMAT other than TEXT")
			}
			switch {
			case opt == "ANALYZE" || opt == "ANALYSE":
				if on {
					mode = explainAnalyze
				}
			case opt == "FORMAT" || explainOptions[opt]:
			default:
				return refuse(opt)
			}
			if i+1 >= len(toks) || toks[i+1].kind != tPunct {
				return refuse("list")
			}
			i++
			if toks[i].text == ")" {
				i++
				break
			}
			if toks[i].text != "," {
				return refuse("list")
			}
		}
	} else {
		if i < len(toks) && (toks[i].upper() == "ANALYZE" || toks[i].upper() == "ANALYSE") {
			mode, i = explainAnalyze, i+1
		}
		if i < len(toks) && toks[i].upper() == "VERBOSE" {
			i++
		}
	}
	if i >= len(toks) {
		return "", explainNone, &RefusedError{Code: codeFeature, Reason: "EXPLAIN without a statement", Statement: "EXPLAIN"}
	}
	return q[toks[i].start:], mode, nil
}

// checkExplain checks an EXPLAIN: the statement inside as any query of
// the role, one statement only.
func (c *checker) checkExplain(ctx context.Context, inner string, mode explainMode) (*plan, error) {
	ip, err := c.check(ctx, inner)
	if err != nil {
		return nil, err
	}
	if len(ip.stmts) != 1 || ip.explain != explainNone {
		return nil, &RefusedError{Role: c.role, Code: codeFeature, Statement: "EXPLAIN",
			Reason: "EXPLAIN takes one SELECT statement",
			Hint:   "explain one statement at a time"}
	}
	p := *ip
	p.explain = mode
	p.masked = "EXPLAIN " + ip.masked
	if mode == explainAnalyze {
		p.masked = "EXPLAIN ANALYZE " + ip.masked
	}
	return &p, nil
}

// explainField is the column of an EXPLAIN's result, as PostgreSQL names it.
var explainField = textField("QUERY PLAN")

// runExplain runs the EXPLAIN of p's checked statement and sends its plan
// lines, text whatever the formats asked (text and binary of a text column
// are the same bytes). It returns the number of lines sent.
func (sess *session) runExplain(ctx context.Context, p *plan, args []any, describe bool) (int64, error) {
	q := "explain (format json) " + p.stmts[0]
	if p.explain == explainAnalyze {
		q = "explain (analyze, format json) " + p.stmts[0]
	}
	var key, raw string
	if err := sess.conn.QueryRowContext(ctx, q, args...).Scan(&key, &raw); err != nil {
		return 0, err
	}
	lines, err := renderPlan(raw, p.explain == explainAnalyze, sess.visibleTable)
	if err != nil {
		return 0, err
	}
	if describe {
		sess.be.Send(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{explainField}})
	}
	for _, l := range lines {
		sess.be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(l)}})
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("EXPLAIN")})
	return int64(len(lines)), nil
}

// visibleTable reports whether a plan may name the scanned table ref
// ("db.schema.name"): a relation of schema main the session's role reads.
func (sess *session) visibleTable(ref string) (string, bool) {
	db, rest, ok := strings.Cut(ref, ".")
	if !ok || db != sess.srv.dbName {
		return "", false
	}
	schema, name, ok := strings.Cut(rest, ".")
	if !ok || schema != "main" || !isRelationName(name) {
		return "", false
	}
	p := sess.srv.policy
	if p.allowsAll(sess.role) || p.allows(sess.role, name) {
		return name, true
	}
	return "", false
}

// planNode is one operator of DuckDB's JSON plan: EXPLAIN writes name and
// extra_info, EXPLAIN ANALYZE operator_name and the measures.
type planNode struct {
	Name         string         `json:"name"`
	OperatorName string         `json:"operator_name"`
	ExtraInfo    map[string]any `json:"extra_info"`
	Cardinality  *json.Number   `json:"operator_cardinality"`
	Timing       *json.Number   `json:"operator_timing"`
	Children     []planNode     `json:"children"`
	Latency      *json.Number   `json:"latency"`
}

// renderPlan writes DuckDB's JSON plan as indented text lines, keeping
// only what the allow-list above names; table names go through visible.
func renderPlan(raw string, analyzed bool, visible func(string) (string, bool)) ([]string, error) {
	var roots []planNode
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if analyzed {
		var top planNode
		if err := dec.Decode(&top); err != nil {
			return nil, fmt.Errorf("reading DuckDB's analyzed plan: %w", err)
		}
		roots = top.Children
		// The analyzed plan's root is the EXPLAIN_ANALYZE operator itself.
		if len(roots) == 1 && roots[0].OperatorName == "EXPLAIN_ANALYZE" {
			roots = roots[0].Children
		}
		lines := planLines(roots, visible)
		if top.Latency != nil {
			if f, err := top.Latency.Float64(); err == nil {
				lines = append(lines, fmt.Sprintf("Execution Time: %.3f ms", f*1000))
			}
		}
		return lines, nil
	}
	if err := dec.Decode(&roots); err != nil {
		return nil, fmt.Errorf("reading DuckDB's plan: %w", err)
	}
	return planLines(roots, visible), nil
}

func planLines(roots []planNode, visible func(string) (string, bool)) []string {
	var lines []string
	var walk func(n planNode, depth int)
	walk = func(n planNode, depth int) {
		name := n.Name
		if name == "" {
			name = n.OperatorName
		}
		if !isEnumName(name) {
			name = "OPERATOR"
		}
		var b strings.Builder
		if depth > 0 {
			b.WriteString(strings.Repeat("      ", depth-1))
			b.WriteString("->  ")
		}
		b.WriteString(name)
		if t, ok := n.ExtraInfo["Table"].(string); ok {
			if shown, ok := visible(t); ok {
				b.WriteString(" on " + shown)
			} else {
				b.WriteString(" on (a relation inside a view)")
			}
		}
		if f, ok := n.ExtraInfo["Function"].(string); ok && tableFunctions[strings.ToLower(f)] {
			b.WriteString(" " + strings.ToLower(f))
		}
		if jt, ok := n.ExtraInfo["Join Type"].(string); ok && isEnumName(jt) {
			b.WriteString(" " + jt)
		}
		if est, ok := n.ExtraInfo["Estimated Cardinality"].(string); ok {
			if v, err := strconv.ParseUint(est, 10, 64); err == nil {
				fmt.Fprintf(&b, "  (estimated rows=%d)", v)
			}
		}
		if n.Cardinality != nil {
			fmt.Fprintf(&b, "  (actual rows=%s", n.Cardinality.String())
			if n.Timing != nil {
				if f, err := n.Timing.Float64(); err == nil {
					fmt.Fprintf(&b, " time=%.3f ms", f*1000)
				}
			}
			b.WriteString(")")
		}
		lines = append(lines, b.String())
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return lines
}

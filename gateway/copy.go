package gateway

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// COPY (SELECT ...) TO STDOUT: how psql's \copy and psycopg's copy_expert
// export. It reads no file and writes none: the rows go to the client in
// CopyData messages. Only that form is recognized, in the simple query
// protocol; the SELECT inside is checked by the sandbox as any query of
// the role (checkQueryIn), audited, and bounded like one. Any other COPY
// (from or to a file or program, of a table, FROM STDIN) is not
// recognized and the sandbox refuses it as before.

// copyOut is a recognized COPY (query) TO STDOUT.
type copyOut struct {
	query  string // the text between the parentheses
	csv    bool
	header bool
}

// parseCopyOut recognizes COPY ( query ) TO STDOUT [WITH] [options], the
// options being CSV, HEADER, or (FORMAT csv|text, HEADER [bool]). ok is
// false for anything else; err is set for that form with an option the
// gateway does not take.
func parseCopyOut(sql string) (c copyOut, ok bool, err error) {
	stmts := splitStatements(lex(sql))
	if len(stmts) != 1 {
		return c, false, nil
	}
	t := stmts[0]
	if len(t) < 6 || t[0].upper() != "COPY" || t[1].kind != tPunct || t[1].text != "(" {
		return c, false, nil
	}
	depth, closeAt := 0, -1
	for i := 1; i < len(t) && closeAt < 0; i++ {
		if t[i].kind == tPunct && t[i].text == "(" {
			depth++
		} else if t[i].kind == tPunct && t[i].text == ")" {
			if depth--; depth == 0 {
				closeAt = i
			}
		}
	}
	if closeAt < 0 || closeAt+2 >= len(t) || t[closeAt+1].upper() != "TO" || t[closeAt+2].kind != tIdent || t[closeAt+2].upper() != "STDOUT" {
		return c, false, nil
	}
	c.query = sql[t[1].end:t[closeAt].start]
	opts := t[closeAt+3:]
	if len(opts) > 0 && opts[0].upper() == "WITH" {
		opts = opts[1:]
	}
	bad := func(tok token) error {
		return errorf(codeFeature, "COPY TO STDOUT option %q is not supported by the cxlake gateway: use CSV, HEADER or FORMAT text", tok.text)
	}
	if len(opts) > 0 && opts[0].kind == tPunct && opts[0].text == "(" {
		if opts[len(opts)-1].kind != tPunct || opts[len(opts)-1].text != ")" {
			return c, true, bad(opts[len(opts)-1])
		}
		// ( name [value] [, ...] )
		var item []token
		items := [][]token{}
		for _, tok := range opts[1 : len(opts)-1] {
			if tok.kind == tPunct && tok.text == "," {
				items, item = append(items, item), nil
				continue
			}
			item = append(item, tok)
		}
		items = append(items, item)
		for _, it := range items {
			if len(it) == 0 || len(it) > 2 || it[0].kind != tIdent {
				return c, true, errorf(codeSyntax, "syntax error in COPY options")
			}
			val := ""
			if len(it) == 2 {
				val = strings.ToLower(strings.Trim(it[1].text, "'"))
			}
			switch it[0].upper() {
			case "FORMAT":
				switch val {
				case "csv":
					c.csv = true
				case "text":
				default:
					return c, true, bad(it[len(it)-1])
				}
			case "HEADER":
				switch val {
				case "", "true", "on", "1":
					c.header = true
				case "false", "off", "0":
				default:
					return c, true, bad(it[1])
				}
			default:
				return c, true, bad(it[0])
			}
		}
		return c, true, nil
	}
	for _, tok := range opts {
		switch {
		case tok.kind == tIdent && tok.upper() == "CSV":
			c.csv = true
		case tok.kind == tIdent && tok.upper() == "HEADER":
			c.header = true
		default:
			return c, true, bad(tok)
		}
	}
	if c.header && !c.csv {
		return c, true, errorf(codeFeature, "COPY HEADER available only in CSV mode")
	}
	return c, true, nil
}

// runCopyOut runs a recognized COPY (query) TO STDOUT: the query through
// the sandbox, then its rows as CopyData lines.
func (sess *session) runCopyOut(c copyOut, start time.Time) bool {
	ctl := control{}
	ctx, done := sess.queryContext()
	defer done()
	p, err := sess.checkQueryIn(ctx, c.query)
	if err == nil && (len(p.stmts) != 1 || p.explain != explainNone) {
		err = errorf(codeFeature, "COPY (query) TO STDOUT takes one SELECT")
	}
	if err != nil {
		return sess.fail(err, start, ctl, nil)
	}
	if err := sess.auditFirst(p, start); err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p})
	}
	rows, err := sess.conn.QueryContext(ctx, p.stmts[0])
	if err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p, ctx: ctx})
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p, ctx: ctx})
	}
	oids := make([]uint32, len(cols))
	for i, col := range cols {
		oids[i] = oidOfName(col.DatabaseTypeName())
	}
	sess.be.Send(&pgproto3.CopyOutResponse{OverallFormat: 0, ColumnFormatCodes: make([]uint16, len(cols))})
	if c.header {
		names := make([][]byte, len(cols))
		for i, col := range cols {
			names[i] = []byte(pgColumnName(col.Name()))
		}
		sess.be.Send(&pgproto3.CopyData{Data: c.line(names, make([]bool, len(cols)))})
	}
	w := rowWriter{sess: sess, oids: oids, limit: sess.srv.cfg.MaxResultRows, copyOut: &c}
	n, err := w.stream(rows)
	if err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p, rows: n, ctx: ctx})
	}
	sess.be.Send(&pgproto3.CopyDone{})
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "COPY %d", n)})
	return sess.record(QueryRecord{At: start, Statement: p.masked, Relations: p.relations, Outcome: OutcomeOK,
		Code: "00000", Rows: n, Duration: time.Since(start)})
}

// line is one row in COPY's text or CSV format, with its newline.
func (c *copyOut) line(vals [][]byte, nulls []bool) []byte {
	var b bytes.Buffer
	for i, v := range vals {
		if i > 0 {
			if c.csv {
				b.WriteByte(',')
			} else {
				b.WriteByte('\t')
			}
		}
		switch {
		case nulls[i] && c.csv:
		case nulls[i]:
			b.WriteString(`\N`)
		case c.csv:
			if len(v) == 0 || bytes.ContainsAny(v, ",\"\r\n") {
				b.WriteByte('"')
				b.Write(bytes.ReplaceAll(v, []byte(`"`), []byte(`""`)))
				b.WriteByte('"')
			} else {
				b.Write(v)
			}
		default:
			for _, ch := range v {
				switch ch {
				case '\\':
					b.WriteString(`\\`)
				case '\t':
					b.WriteString(`\t`)
				case '\n':
					b.WriteString(`\n`)
				case '\r':
					b.WriteString(`\r`)
				default:
					b.WriteByte(ch)
				}
			}
		}
	}
	b.WriteByte('\n')
	return b.Bytes()
}

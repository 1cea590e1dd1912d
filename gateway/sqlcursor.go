package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SQL cursors: DECLARE name CURSOR FOR query, FETCH [FORWARD] [n|ALL]
// FROM name, CLOSE name, in the simple protocol, as psycopg's named
// cursors and psql's FETCH_COUNT use them. The query of a DECLARE is
// checked by the sandbox as any query of the role (checkQueryIn); the
// cursor is a portal named "cursor:"+name with an open cursor, read by
// FETCH, audited once when it is closed or the transaction ends
// (closePortal), with the rows sent.

// cursorPortal is the portal name of a SQL cursor; it cannot clash with a
// protocol portal of the same name.
func cursorPortal(name string) string { return "cursor:" + name }

type sqlCursorCmd struct {
	kind  string // "DECLARE", "FETCH", "CLOSE"
	name  string // "" with CLOSE ALL
	query string // DECLARE
	count int64  // FETCH; 0: all
}

// parseSQLCursor recognizes DECLARE, FETCH and CLOSE in a one-statement
// sql. err is set for one of them the gateway does not take.
func parseSQLCursor(sql string) (c sqlCursorCmd, ok bool, err error) {
	stmts := splitStatements(lex(sql))
	if len(stmts) != 1 {
		return c, false, nil
	}
	t := stmts[0]
	c.kind = t[0].upper()
	name := func(tok token) string {
		if tok.kind == tQuotedIdent {
			return identText(tok)
		}
		return strings.ToLower(tok.text)
	}
	isName := func(i int) bool { return i < len(t) && (t[i].kind == tIdent || t[i].kind == tQuotedIdent) }
	switch c.kind {
	case "DECLARE":
		if !isName(1) {
			return c, false, nil
		}
		c.name = name(t[1])
		for i := 2; i < len(t); i++ {
			switch t[i].upper() {
			case "NO", "SCROLL", "INSENSITIVE", "ASENSITIVE", "CURSOR", "WITHOUT", "HOLD":
			case "FOR":
				end := t[len(t)-1].end
				c.query = sql[t[i].end:end]
				return c, true, nil
			default:
				return c, true, errorf(codeFeature, "DECLARE ... %s is not supported by the cxlake gateway", t[i].text)
			}
		}
		return c, false, nil
	case "FETCH":
		i := 1
		switch {
		case i < len(t) && t[i].upper() == "FORWARD":
			i++
		case i < len(t) && t[i].upper() == "NEXT":
			i++
			c.count = 1
		}
		if c.count == 0 && i < len(t) && t[i].kind == tNumber {
			n, perr := strconv.ParseInt(t[i].text, 10, 64)
			if perr != nil || n < 1 {
				return c, true, errorf(codeFeature, "FETCH %s is not supported by the cxlake gateway: fetch forward", t[i].text)
			}
			c.count = n
			i++
		} else if c.count == 0 && i < len(t) && t[i].upper() == "ALL" {
			i++
		} else if c.count == 0 && i == 1 {
			c.count = 1 // FETCH name, FETCH FROM name
		}
		if i < len(t) && (t[i].upper() == "FROM" || t[i].upper() == "IN") {
			i++
		}
		if i != len(t)-1 || !isName(i) {
			return c, true, errorf(codeFeature, "this FETCH is not supported by the cxlake gateway: use FETCH [FORWARD] [n|ALL] FROM name")
		}
		c.name = name(t[i])
		return c, true, nil
	case "CLOSE":
		if len(t) != 2 || !isName(1) {
			return c, false, nil
		}
		if t[1].kind == tIdent && t[1].upper() == "ALL" {
			return c, true, nil
		}
		c.name = name(t[1])
		return c, true, nil
	}
	return c, false, nil
}

// runSQLCursor answers a recognized DECLARE, FETCH or CLOSE.
func (sess *session) runSQLCursor(c sqlCursorCmd, start time.Time) bool {
	ctl := control{tag: c.kind}
	switch c.kind {
	case "CLOSE":
		if c.name == "" {
			for name := range sess.portals {
				if strings.HasPrefix(name, "cursor:") {
					sess.closePortal(name)
				}
			}
		} else if _, ok := sess.portals[cursorPortal(c.name)]; !ok {
			return sess.fail(errorf(codeInvalidCursor, "cursor %q does not exist", c.name), start, ctl, nil)
		} else {
			sess.closePortal(cursorPortal(c.name))
		}
		sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("CLOSE CURSOR")})
		return !sess.ended
	case "FETCH":
		pt, ok := sess.portals[cursorPortal(c.name)]
		if !ok {
			return sess.fail(errorf(codeInvalidCursor, "cursor %q does not exist", c.name), start, ctl, nil)
		}
		sess.be.Send(&pgproto3.RowDescription{Fields: pt.stmt.fields})
		if pt.cur == nil { // read to its end already
			sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("FETCH 0")})
			return true
		}
		cur := pt.cur
		before := cur.w.count
		var err error
		sess.during(cur, pt.stmt.plan, func() { _, err = cur.w.next(cur.rows, c.count) })
		if err != nil {
			sess.portals[cursorPortal(c.name)].cur = nil
			defer cur.cancel(nil)
			defer cur.rows.Close()
			return sess.fail(err, cur.start, ctl, &auditInfo{plan: pt.stmt.plan, rows: cur.w.count, ctx: cur.ctx})
		}
		sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "FETCH %d", cur.w.count-before)})
		return true
	}
	// DECLARE: the query is checked, then opened.
	if sess.txStatus != 'T' {
		return sess.fail(errorf("25P01", "DECLARE CURSOR can only be used in transaction blocks"), start, ctl, nil)
	}
	if _, exists := sess.portals[cursorPortal(c.name)]; exists {
		return sess.fail(errorf("42P03", "cursor %q already exists", c.name), start, ctl, nil)
	}
	var p *plan
	var err error
	func() {
		ctx, done := sess.queryContext()
		defer done()
		p, err = sess.checkQueryIn(ctx, c.query)
	}()
	if err == nil && (len(p.stmts) != 1 || p.explain != explainNone) {
		err = errorf(codeFeature, "DECLARE CURSOR takes one SELECT")
	}
	if err != nil {
		return sess.fail(err, start, ctl, nil)
	}
	if err := sess.auditFirst(p, start); err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p})
	}
	ctx, cancel := context.WithCancelCause(sess.srv.ctx)
	cur := &cursor{ctx: ctx, cancel: cancel, start: start}
	sess.during(cur, p, func() { cur.rows, err = sess.conn.QueryContext(ctx, p.stmts[0]) })
	if err != nil {
		defer cancel(nil)
		return sess.fail(err, start, ctl, &auditInfo{plan: p, ctx: ctx})
	}
	cols, err := cur.rows.ColumnTypes()
	if err != nil {
		cur.rows.Close()
		cancel(nil)
		return sess.fail(err, start, ctl, &auditInfo{plan: p, ctx: ctx})
	}
	oids := make([]uint32, len(cols))
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		oids[i] = oidOfName(col.DatabaseTypeName())
		fields[i] = field(col.Name(), oids[i], typmodOfName(col.DatabaseTypeName()), 0)
	}
	cur.w = rowWriter{sess: sess, oids: oids, limit: sess.srv.cfg.MaxResultRows}
	sess.portals[cursorPortal(c.name)] = &portal{stmt: &prepared{query: c.query, plan: p, fields: fields}, cur: cur}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("DECLARE CURSOR")})
	return true
}

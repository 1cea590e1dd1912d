package gateway

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The extended query protocol: Parse (the sandbox, then DuckDB describes
// the statement), Bind (parameters decoded in their described types),
// Describe, Execute (streamed; with a row limit the portal keeps its cursor
// open and is suspended) and the portals between them.

// prepared is a statement of the extended protocol (Parse), or the one a
// simple Query runs.
type prepared struct {
	query     string  // as the client sent it
	ctl       control // a session command, when ctl.kind != ctlNone
	plan      *plan   // the checked query, nil for session commands
	paramOIDs []uint32
	fields    []pgproto3.FieldDescription // nil: the statement returns no rows
}

// portal is a bound statement (Bind), possibly suspended by Execute's row limit.
type portal struct {
	stmt    *prepared
	args    []any
	formats []int16 // result format per column

	// Set once a row-limited Execute ran the query: its open cursor, and
	// done once all its rows were sent.
	cur  *cursor
	done bool
}

// cursor is the open result of a suspended portal. Only the rows the
// client asked for are encoded and sent; the others stay in DuckDB.
type cursor struct {
	ctx    context.Context // lives as long as the portal
	cancel context.CancelCauseFunc
	rows   *sql.Rows
	w      rowWriter
	start  time.Time
}

// parse handles Parse: check the query and describe it with DuckDB.
func (sess *session) parse(m *pgproto3.Parse) error {
	start := time.Now()
	if m.Name != "" {
		if _, exists := sess.stmts[m.Name]; exists {
			return errorf("42P05", "prepared statement %q already exists", m.Name)
		}
	}
	st := &prepared{query: m.Query, ctl: parseControl(m.Query)}
	if st.ctl.kind == ctlNone {
		declared := listParamTypes(m.Query, m.ParameterOIDs)
		p, err := sess.checkQuery(castDeclaredParams(m.Query, declared))
		if err == nil && len(p.stmts) > 1 {
			err = errorf(codeSyntax, "cannot insert multiple commands into a prepared statement")
		}
		if err != nil {
			if !sess.auditParseFailure(err, start) {
				return errSessionEnded
			}
			return err
		}
		st.plan = p
		if err := sess.describeStatement(st, declared); err != nil {
			return err
		}
	} else {
		for _, o := range m.ParameterOIDs {
			st.paramOIDs = append(st.paramOIDs, o)
		}
		if st.ctl.kind == ctlShow {
			st.fields = []pgproto3.FieldDescription{textField(st.ctl.name)}
		}
	}
	sess.stmts[m.Name] = st
	sess.be.Send(&pgproto3.ParseComplete{})
	return nil
}

// auditParseFailure audits a statement refused at Parse; it is never executed.
func (sess *session) auditParseFailure(err error, start time.Time) bool {
	pe := toPG(nil, err)
	rec := QueryRecord{At: start, Code: pe.Code, Duration: time.Since(start), Statement: statementKindsOf(err)}
	var re *RefusedError
	if errors.As(err, &re) {
		rec.Outcome, rec.Reason, rec.Relations = OutcomeRefused, re.auditReason(), re.Relations
		if re.Statement != "" {
			rec.Statement = re.Statement
		}
	} else {
		rec.Outcome, rec.Reason = OutcomeError, errorClass(err)
	}
	return sess.record(rec)
}

// describeStatement asks DuckDB for the statement's parameter and column
// types by preparing it (which binds it but runs nothing).
func (sess *session) describeStatement(st *prepared, declared []uint32) error {
	ctx, done := sess.queryContext()
	defer done()
	text := st.plan.stmts[0]
	return sess.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("the DuckDB driver cannot prepare statements")
		}
		ds, err := pc.PrepareContext(ctx, text)
		if err != nil {
			return err
		}
		defer ds.Close()
		stmt, ok := ds.(*duckdb.Stmt)
		if !ok {
			return errors.New("unexpected DuckDB statement type")
		}
		n := stmt.NumInput()
		st.paramOIDs = make([]uint32, n)
		for i := 0; i < n; i++ {
			if i < len(declared) && declared[i] != 0 {
				st.paramOIDs[i] = declared[i]
				continue
			}
			t, err := stmt.ParamType(i + 1)
			if err != nil || t == duckdb.TYPE_INVALID || t == duckdb.TYPE_ANY {
				st.paramOIDs[i] = oidText
				continue
			}
			st.paramOIDs[i] = oidOfType(t)
			if t == duckdb.TYPE_LIST || t == duckdb.TYPE_ARRAY || t == duckdb.TYPE_STRUCT || t == duckdb.TYPE_MAP {
				st.paramOIDs[i] = oidText
			}
		}
		cc, err := stmt.ColumnCount()
		if err != nil {
			return err
		}
		if st.plan.explain != explainNone {
			st.fields = []pgproto3.FieldDescription{explainField}
			return nil
		}
		st.fields = make([]pgproto3.FieldDescription, cc)
		for i := 0; i < cc; i++ {
			name, err := stmt.ColumnName(i)
			if err != nil {
				return err
			}
			info, err := stmt.ColumnTypeInfo(i)
			oid, typmod := oidText, int32(-1)
			if err == nil {
				oid, typmod = oidOfInfo(info), typmodOfInfo(info)
			}
			st.fields[i] = field(name, oid, typmod, 0)
		}
		return nil
	})
}

// bind handles Bind: decode the parameters into a portal.
func (sess *session) bind(m *pgproto3.Bind) error {
	st, ok := sess.stmts[m.PreparedStatement]
	if !ok {
		return errorf(codeInvalidStmtName, "prepared statement %q does not exist", m.PreparedStatement)
	}
	if len(m.Parameters) != len(st.paramOIDs) && st.plan != nil {
		return errorf(codeProtocol, "bind message supplies %d parameters, but prepared statement %q requires %d",
			len(m.Parameters), m.PreparedStatement, len(st.paramOIDs))
	}
	if len(m.ParameterFormatCodes) > 1 && len(m.ParameterFormatCodes) != len(m.Parameters) {
		return errorf(codeProtocol, "bind message has %d parameter formats but %d parameters", len(m.ParameterFormatCodes), len(m.Parameters))
	}
	args := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		f := textFormat
		if len(m.ParameterFormatCodes) == 1 {
			f = m.ParameterFormatCodes[0]
		} else if len(m.ParameterFormatCodes) > i {
			f = m.ParameterFormatCodes[i]
		}
		oid := oidText
		if i < len(st.paramOIDs) {
			oid = st.paramOIDs[i]
		}
		v, err := decodeParam(sess.types, oid, f, raw)
		if err != nil {
			return errorf(codeInvalidBinaryRep, "parameter $%d: %v", i+1, err)
		}
		args[i] = v
	}
	formats := make([]int16, len(st.fields))
	for i := range formats {
		switch {
		case len(m.ResultFormatCodes) == 1:
			formats[i] = m.ResultFormatCodes[0]
		case len(m.ResultFormatCodes) > i:
			formats[i] = m.ResultFormatCodes[i]
		}
	}
	if m.DestinationPortal != "" {
		if _, exists := sess.portals[m.DestinationPortal]; exists {
			return errorf("42P03", "portal %q already exists", m.DestinationPortal)
		}
	} else {
		sess.closePortal("")
	}
	sess.portals[m.DestinationPortal] = &portal{stmt: st, args: args, formats: formats}
	sess.be.Send(&pgproto3.BindComplete{})
	return nil
}

// describe handles Describe of a statement or a portal.
func (sess *session) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		st, ok := sess.stmts[m.Name]
		if !ok {
			return errorf(codeInvalidStmtName, "prepared statement %q does not exist", m.Name)
		}
		sess.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.paramOIDs})
		sess.sendRowDescription(st.fields, nil)
		return nil
	}
	pt, ok := sess.portals[m.Name]
	if !ok {
		return errorf(codeInvalidCursor, "portal %q does not exist", m.Name)
	}
	sess.sendRowDescription(pt.stmt.fields, pt.formats)
	return nil
}

func (sess *session) sendRowDescription(fields []pgproto3.FieldDescription, formats []int16) {
	if fields == nil {
		sess.be.Send(&pgproto3.NoData{})
		return
	}
	out := make([]pgproto3.FieldDescription, len(fields))
	copy(out, fields)
	for i := range out {
		if i < len(formats) {
			out[i].Format = formats[i]
		}
	}
	sess.be.Send(&pgproto3.RowDescription{Fields: out})
}

// execute handles Execute: run the portal, or continue a suspended one.
func (sess *session) execute(m *pgproto3.Execute) error {
	start := time.Now()
	pt, ok := sess.portals[m.Portal]
	if !ok {
		return errorf(codeInvalidCursor, "portal %q does not exist", m.Portal)
	}
	st := pt.stmt
	switch {
	case st.ctl.kind == ctlEmpty:
		sess.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	case st.ctl.kind != ctlNone:
		if !sess.runControl(st.ctl, pt, start) {
			return errSessionEnded
		}
		return nil
	}
	if pt.cur != nil {
		return sess.fetch(pt, int64(m.MaxRows))
	}
	if pt.done {
		sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT 0")})
		return nil
	}
	if sess.txStatus == 'E' {
		if !sess.fail(errFailedTx(), start, st.ctl, nil) {
			return errSessionEnded
		}
		sess.skipping = true
		return nil
	}
	if err := sess.auditFirst(st.plan, start); err != nil {
		if !sess.fail(err, start, st.ctl, &auditInfo{plan: st.plan}) {
			return errSessionEnded
		}
		sess.skipping = true
		return nil
	}
	oids := make([]uint32, len(st.fields))
	for i, f := range st.fields {
		oids[i] = f.DataTypeOID
	}
	// A plan is a few lines, sent whole whatever the row limit.
	if m.MaxRows > 0 && st.plan.explain == explainNone {
		return sess.openCursor(pt, oids, int64(m.MaxRows), start)
	}
	ctx, done := sess.queryContext()
	defer done()
	ctx, unbound := sess.sleepBound(ctx, st.plan)
	defer unbound()
	var n int64
	var err error
	if st.plan.explain != explainNone {
		n, err = sess.runExplain(ctx, st.plan, pt.args, false)
	} else {
		n, err = sess.runRows(ctx, st.plan.stmts[0], pt.args, oids, pt.formats, false)
	}
	if err != nil {
		if !sess.fail(err, start, st.ctl, &auditInfo{plan: st.plan, rows: n, ctx: ctx}) {
			return errSessionEnded
		}
		sess.skipping = true
		return nil
	}
	if !sess.record(QueryRecord{At: start, Statement: st.plan.masked, Relations: st.plan.relations,
		Outcome: OutcomeOK, Code: "00000", Rows: n, Duration: time.Since(start)}) {
		return errSessionEnded
	}
	return nil
}

// openCursor runs a portal's query for an Execute with a row limit (JDBC's
// fetch size, psql's FETCH_COUNT) and sends its first max rows. The cursor
// stays open in the portal until its rows are all sent or it is closed;
// its context outlives the Execute, so that database/sql keeps the rows.
func (sess *session) openCursor(pt *portal, oids []uint32, max int64, start time.Time) error {
	ctx, cancel := context.WithCancelCause(sess.srv.ctx)
	c := &cursor{ctx: ctx, cancel: cancel, start: start,
		w: rowWriter{sess: sess, oids: oids, formats: pt.formats, limit: sess.srv.cfg.MaxResultRows}}
	var err error
	sess.during(c, pt.stmt.plan, func() {
		c.rows, err = sess.conn.QueryContext(ctx, pt.stmt.plan.stmts[0], pt.args...)
	})
	if err != nil {
		defer cancel(nil)
		if !sess.fail(err, start, pt.stmt.ctl, &auditInfo{plan: pt.stmt.plan, ctx: ctx}) {
			return errSessionEnded
		}
		sess.skipping = true
		return nil
	}
	pt.cur = c
	return sess.fetch(pt, max)
}

// during runs f as the session's running statement of plan p: the
// statement timeout, the sleep bound and cancel requests end the cursor's
// context with their cause.
func (sess *session) during(c *cursor, p *plan, f func()) {
	qctx, done := sess.queryContext()
	qctx, unbound := sess.sleepBound(qctx, p)
	stop := context.AfterFunc(qctx, func() { c.cancel(context.Cause(qctx)) })
	f()
	stop()
	unbound()
	done()
}

// fetch sends up to max rows of a portal's open cursor (0: all), then
// PortalSuspended, or CommandComplete when none remain; the query is
// audited once, when it completes or fails.
func (sess *session) fetch(pt *portal, max int64) error {
	c := pt.cur
	var suspended bool
	var err error
	sess.during(c, pt.stmt.plan, func() { suspended, err = c.w.next(c.rows, max) })
	if err == nil && suspended {
		sess.be.Send(&pgproto3.PortalSuspended{})
		return nil
	}
	st := pt.stmt
	pt.cur, pt.done = nil, true
	defer c.cancel(nil)
	defer c.rows.Close()
	if err != nil {
		if !sess.fail(err, c.start, st.ctl, &auditInfo{plan: st.plan, rows: c.w.count, ctx: c.ctx}) {
			return errSessionEnded
		}
		sess.skipping = true
		return nil
	}
	if !sess.record(QueryRecord{At: c.start, Statement: st.plan.masked, Relations: st.plan.relations,
		Outcome: OutcomeOK, Code: "00000", Rows: c.w.count, Duration: time.Since(c.start)}) {
		return errSessionEnded
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "SELECT %d", c.w.count)})
	return nil
}

// closePortal drops a portal. A cursor closed before its end is audited
// with the rows sent so far: what the client read is on record either way.
func (sess *session) closePortal(name string) {
	pt, ok := sess.portals[name]
	if !ok {
		return
	}
	delete(sess.portals, name)
	c := pt.cur
	if c == nil {
		return
	}
	pt.cur = nil
	c.rows.Close()
	c.cancel(nil)
	st := pt.stmt
	if !sess.record(QueryRecord{At: c.start, Statement: st.plan.masked, Relations: st.plan.relations,
		Outcome: OutcomeOK, Code: "00000", Rows: c.w.count, Duration: time.Since(c.start)}) {
		sess.ended = true
	}
}

// closePortals drops every portal (end of a transaction, DISCARD, close).
func (sess *session) closePortals() {
	for name := range sess.portals {
		sess.closePortal(name)
	}
}

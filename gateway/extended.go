package gateway

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The extended query protocol: Parse (the sandbox, then DuckDB describes
// the statement), Bind (parameters decoded in their described types),
// Describe, Execute (streamed, or collected when the client asks for rows
// in chunks) and the portals between them.

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

	// Set once a row-limited Execute ran the query: the remaining rows.
	buffered  bool
	rows      [][][]byte
	sent      int
	completed string // CommandComplete tag once all rows are sent
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
		p, err := sess.checkQuery(m.Query)
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
		if err := sess.describeStatement(st, m.ParameterOIDs); err != nil {
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
		rec.Outcome, rec.Reason = OutcomeRefused, re.auditReason()
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
		st.fields = make([]pgproto3.FieldDescription, cc)
		for i := 0; i < cc; i++ {
			name, err := stmt.ColumnName(i)
			if err != nil {
				return err
			}
			info, err := stmt.ColumnTypeInfo(i)
			oid := oidText
			if err == nil {
				oid = oidOfInfo(info)
			}
			st.fields[i] = field(name, oid, 0)
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
	if pt.buffered {
		return sess.sendBuffered(pt, int(m.MaxRows))
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
	ctx, done := sess.queryContext()
	defer done()
	var n int64
	var err error
	if m.MaxRows > 0 {
		n, err = sess.collect(ctx, pt, oids)
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
	if m.MaxRows > 0 {
		return sess.sendBuffered(pt, int(m.MaxRows))
	}
	return nil
}

// collect runs a portal's query to the end and keeps its encoded rows, for
// an Execute with a row limit (JDBC's fetch size). Results are bounded by
// max_result_rows either way.
func (sess *session) collect(ctx context.Context, pt *portal, oids []uint32) (int64, error) {
	rows, err := sess.conn.QueryContext(ctx, pt.stmt.plan.stmts[0], pt.args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	w := rowWriter{sess: sess, oids: oids, formats: pt.formats, limit: sess.srv.cfg.MaxResultRows}
	n, err := w.stream(rows, &pt.rows)
	if err != nil {
		return n, err
	}
	pt.buffered = true
	pt.completed = fmt.Sprintf("SELECT %d", n)
	return n, nil
}

// sendBuffered sends up to max rows of a collected portal, then
// PortalSuspended, or CommandComplete when none remain.
func (sess *session) sendBuffered(pt *portal, max int) error {
	end := len(pt.rows)
	if max > 0 && pt.sent+max < end {
		end = pt.sent + max
	}
	for ; pt.sent < end; pt.sent++ {
		sess.be.Send(&pgproto3.DataRow{Values: pt.rows[pt.sent]})
		pt.rows[pt.sent] = nil
	}
	if pt.sent < len(pt.rows) {
		sess.be.Send(&pgproto3.PortalSuspended{})
		return nil
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(pt.completed)})
	return nil
}

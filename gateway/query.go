package gateway

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgproto3"
)

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

// simpleQuery answers a Query message: any number of statements, text
// results, ReadyForQuery at the end.
func (sess *session) simpleQuery(q string) bool {
	start := time.Now()
	ok := sess.simpleQueryBody(q, start)
	if ok {
		sess.be.Send(&pgproto3.ReadyForQuery{TxStatus: sess.txStatus})
	}
	return sess.be.Flush() == nil && ok
}

func (sess *session) simpleQueryBody(q string, start time.Time) bool {
	// A simple Query closes the unnamed statement and portal.
	delete(sess.stmts, "")
	delete(sess.portals, "")
	ctl := parseControl(q)
	if ctl.kind == ctlEmpty {
		sess.be.Send(&pgproto3.EmptyQueryResponse{})
		return true
	}
	if ctl.kind != ctlNone {
		return sess.runControl(ctl, nil, start)
	}
	if sess.txStatus == 'E' {
		return sess.fail(errFailedTx(), start, ctl, nil)
	}
	p, err := sess.checkQuery(q)
	if err != nil {
		return sess.fail(err, start, ctl, nil)
	}
	ctx, done := sess.queryContext()
	defer done()
	var total int64
	for _, text := range p.stmts {
		n, err := sess.runRows(ctx, text, nil, nil, nil, true, 0)
		total += n
		if err != nil {
			return sess.fail(err, start, ctl, &auditInfo{plan: p, rows: total, ctx: ctx})
		}
	}
	return sess.record(QueryRecord{At: start, Statement: p.masked, Relations: p.relations, Outcome: OutcomeOK,
		Code: "00000", Rows: total, Duration: time.Since(start)})
}

func errFailedTx() error {
	return errorf(codeInFailedTx, "current transaction is aborted, commands ignored until end of transaction block")
}

// checkQuery runs the sandbox on q with a short context of its own.
func (sess *session) checkQuery(q string) (*plan, error) {
	ctx, done := sess.queryContext()
	defer done()
	return sess.chk.check(ctx, q)
}

// auditInfo is what fail needs to audit a query that got as far as DuckDB.
type auditInfo struct {
	plan *plan
	rows int64
	ctx  context.Context
}

// fail sends err to the client, audits the statement and moves a
// transaction block to failed. It returns false when the session must end.
func (sess *session) fail(err error, start time.Time, ctl control, ai *auditInfo) bool {
	var ctx context.Context
	if ai != nil {
		ctx = ai.ctx
	}
	pe := toPG(ctx, err)
	sess.be.Send(pe.response())
	if sess.txStatus == 'T' {
		sess.txStatus = 'E'
	}
	rec := QueryRecord{At: start, Code: pe.Code, Duration: time.Since(start)}
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		rec.Outcome, rec.Reason, rec.Statement = OutcomeRefused, re.auditReason(), re.Statement
	case errors.As(err, new(errTooManyRows)):
		rec.Outcome, rec.Reason = OutcomeTooLarge, pe.Message
	case ctx != nil && context.Cause(ctx) == errStatementTimeout:
		rec.Outcome, rec.Reason = OutcomeTimeout, "statement_timeout"
	case ctx != nil && ctx.Err() != nil:
		rec.Outcome, rec.Reason = OutcomeCanceled, context.Cause(ctx).Error()
	default:
		rec.Outcome, rec.Reason = OutcomeError, errorClass(err)
	}
	if ai != nil && ai.plan != nil {
		rec.Statement, rec.Relations, rec.Rows = ai.plan.masked, ai.plan.relations, ai.rows
	} else if ctl.kind != ctlNone && rec.Statement == "" {
		rec.Statement = ctl.String()
	}
	if rec.Statement == "" {
		rec.Statement = statementKindsOf(err)
	}
	if !sess.record(rec) {
		return false
	}
	return pe.Severity != "FATAL"
}

// statementKindsOf is the audit's statement for a query refused or failed
// before it was parsed: the refusal already names the statement kinds.
func statementKindsOf(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		if _, kinds, ok := strings.Cut(re.Reason, "refused: "); ok {
			return kinds
		}
	}
	return "(unparsed)"
}

// record audits one statement; on failure the session ends.
func (sess *session) record(rec QueryRecord) bool {
	rec.Session, rec.User, rec.Role = sess.pid, sess.user, sess.role
	if rec.Relations == nil {
		rec.Relations = []string{}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sess.srv.ctx), 10*time.Second)
	defer cancel()
	if err := sess.srv.audit.AuditQuery(ctx, rec); err != nil {
		sess.log.Error("SQL gateway: query audit failed; closing the session so that no query runs unaudited", "err", err)
		sess.sendFatal(fatal(codeSystemError, "the query audit is unavailable; the gateway closes sessions until it is back"))
		return false
	}
	return true
}

// runControl answers a session command (control.go). With a portal it
// runs as part of the extended protocol.
func (sess *session) runControl(ctl control, pt *portal, start time.Time) bool {
	if sess.txStatus == 'E' && ctl.kind != ctlRollback && ctl.kind != ctlCommit && ctl.kind != ctlSavepoint {
		return sess.fail(errFailedTx(), start, ctl, nil)
	}
	tag := ctl.tag
	switch ctl.kind {
	case ctlBegin:
		if sess.txStatus == 'I' {
			sess.txStatus = 'T'
		}
	case ctlCommit:
		if sess.txStatus == 'E' {
			tag = "ROLLBACK"
		}
		sess.txStatus = 'I'
	case ctlRollback:
		sess.txStatus = 'I'
	case ctlSavepoint:
		if sess.txStatus == 'E' && tag == "ROLLBACK" {
			sess.txStatus = 'T'
		}
	case ctlSet:
		if err := setParam(sess.params, ctl.name, ctl.value); err != nil {
			return sess.fail(err, start, ctl, nil)
		}
		if ctl.name == "application_name" {
			sess.be.Send(&pgproto3.ParameterStatus{Name: "application_name", Value: ctl.value})
		}
	case ctlShow:
		v, err := showValue(sess.params, ctl.name)
		if err != nil {
			return sess.fail(err, start, ctl, nil)
		}
		if pt == nil {
			sess.be.Send(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{textField(ctl.name)}})
		}
		sess.be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(v)}})
		tag = "SHOW"
	case ctlDiscard:
		sess.stmts = map[string]*prepared{}
		sess.portals = map[string]*portal{}
	case ctlDeallocate:
		if ctl.name == "" {
			sess.stmts = map[string]*prepared{}
		} else {
			delete(sess.stmts, ctl.name)
		}
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	return sess.record(QueryRecord{At: start, Statement: ctl.String(), Outcome: OutcomeOK, Code: "00000", Duration: time.Since(start)})
}

func textField(name string) pgproto3.FieldDescription {
	return pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: oidText, DataTypeSize: -1, TypeModifier: -1}
}

// runRows runs one checked statement and streams its rows. With
// describe, a RowDescription (text formats) goes first, as the simple
// protocol wants; the extended protocol passes the described column types
// (oids) and formats. maxBuffer > 0 collects the encoded rows into the
// returned portal buffer instead of sending them.
func (sess *session) runRows(ctx context.Context, text string, args []any, oids []uint32, formats []int16,
	describe bool, maxRows int) (int64, error) {
	rows, err := sess.conn.QueryContext(ctx, text, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	if oids == nil {
		oids = make([]uint32, len(cols))
		for i, c := range cols {
			oids[i] = oidOfName(c.DatabaseTypeName())
		}
	}
	if len(oids) != len(cols) {
		return 0, fmt.Errorf("the statement returned %d columns where %d were described", len(cols), len(oids))
	}
	if describe {
		fields := make([]pgproto3.FieldDescription, len(cols))
		for i, c := range cols {
			fields[i] = field(c.Name(), oids[i], 0)
		}
		sess.be.Send(&pgproto3.RowDescription{Fields: fields})
	}
	w := rowWriter{sess: sess, oids: oids, formats: formats, limit: sess.srv.cfg.MaxResultRows}
	n, err := w.stream(rows, nil)
	if err != nil {
		return n, err
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "SELECT %d", n)})
	return n, nil
}

func field(name string, oid uint32, format int16) pgproto3.FieldDescription {
	return pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: oid, DataTypeSize: typeSize(oid),
		TypeModifier: -1, Format: format}
}

// rowWriter encodes rows and sends them, or collects them for a portal.
type rowWriter struct {
	sess    *session
	oids    []uint32
	formats []int16
	limit   int
}

// stream reads all rows. With collect non-nil, encoded rows are appended
// there instead of being sent.
func (w *rowWriter) stream(rows *sql.Rows, collect *[][][]byte) (int64, error) {
	n := len(w.oids)
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var count int64
	var pending int
	var arena []byte
	out := make([][]byte, n)
	for rows.Next() {
		if count >= int64(w.limit) {
			return count, errTooManyRows{w.limit}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return count, err
		}
		arena = arena[:0]
		offs := make([]int, n+1)
		nulls := make([]bool, n)
		for i, v := range vals {
			offs[i] = len(arena)
			if v == nil {
				nulls[i] = true
				continue
			}
			f := textFormat
			if len(w.formats) == 1 {
				f = w.formats[0]
			} else if len(w.formats) > i {
				f = w.formats[i]
			}
			var err error
			if arena, err = appendValue(arena, w.oids[i], f, v); err != nil {
				return count, fmt.Errorf("column %d: %w", i+1, err)
			}
		}
		offs[n] = len(arena)
		for i := range out {
			if nulls[i] {
				out[i] = nil
			} else {
				out[i] = arena[offs[i]:offs[i+1]:offs[i+1]]
			}
		}
		if collect != nil {
			row := make([][]byte, n)
			for i := range out {
				if out[i] != nil {
					row[i] = append([]byte{}, out[i]...)
				}
			}
			*collect = append(*collect, row)
		} else {
			w.sess.be.Send(&pgproto3.DataRow{Values: out})
			pending += len(arena) + 4*n
			if pending > 64<<10 {
				if err := w.sess.be.Flush(); err != nil {
					return count, err
				}
				pending = 0
			}
		}
		count++
	}
	return count, rows.Err()
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
		n, err = sess.runRows(ctx, st.plan.stmts[0], pt.args, oids, pt.formats, false, 0)
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

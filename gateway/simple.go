package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The simple query protocol and the session commands the gateway answers
// itself.

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
	sess.closePortal("")
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
	if c, ok, err := parseSQLCursor(q); ok {
		if err != nil {
			return sess.fail(err, start, ctl, nil)
		}
		return sess.runSQLCursor(c, start)
	}
	if c, ok, err := parseCopyOut(q); ok {
		if err != nil {
			return sess.fail(err, start, ctl, nil)
		}
		return sess.runCopyOut(c, start)
	}
	// One context from the check to the last row: the statement timeout
	// bounds the whole statement, not the check and the run each.
	ctx, done := sess.queryContext()
	defer done()
	p, err := sess.checkQueryIn(ctx, q)
	if err != nil {
		return sess.fail(err, start, ctl, nil)
	}
	if err := sess.auditFirst(p, start); err != nil {
		return sess.fail(err, start, ctl, &auditInfo{plan: p})
	}
	ctx, unbound := sess.sleepBound(ctx, p)
	defer unbound()
	var total int64
	for _, text := range p.stmts {
		var n int64
		var err error
		if p.explain != explainNone {
			n, err = sess.runExplain(ctx, p, nil, true)
		} else {
			n, err = sess.runRows(ctx, text, nil, nil, nil, true)
		}
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

// checkQuery runs the sandbox on q under a statement context of its own:
// a Parse message checks a statement that runs later, if ever.
func (sess *session) checkQuery(q string) (*plan, error) {
	ctx, done := sess.queryContext()
	defer done()
	return sess.checkQueryIn(ctx, q)
}

// checkQueryIn runs the sandbox on q under ctx, after the size limits, so
// that no oversized text reaches DuckDB's parser.
func (sess *session) checkQueryIn(ctx context.Context, q string) (*plan, error) {
	if err := checkQuerySize(sess.srv.cfg.Limits, q); err != nil {
		return nil, err
	}
	p, err := sess.chk.check(ctx, q)
	if err != nil && ctx.Err() != nil {
		// A cancel request, the statement timeout or shutdown ended the
		// check: the error carries that cause (endedBy), so it is answered
		// and audited as for a running query, not as the internal error
		// the interrupted check returned.
		return nil, fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return p, err
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
		sess.closePortals()
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

package gateway

import (
	"context"
	"errors"
	"strings"
	"time"
)

// How a statement ends: the error the client gets, the audit record, and
// the transaction block state.

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
		rec.Outcome, rec.Reason, rec.Statement, rec.Relations = OutcomeRefused, re.auditReason(), re.Statement, re.Relations
	case errors.As(err, new(errTooManyRows)):
		rec.Outcome, rec.Reason = OutcomeTooLarge, pe.Message
	case endedBy(ctx, err) == errStatementTimeout:
		rec.Outcome, rec.Reason = OutcomeTimeout, "statement_timeout"
	case endedBy(ctx, err) == errSleepLimit:
		rec.Outcome, rec.Reason = OutcomeTimeout, "max_sleep"
	case endedBy(ctx, err) != nil:
		rec.Outcome, rec.Reason = OutcomeCanceled, endedBy(ctx, err).Error()
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

// auditFirst hands the query to the auditor before it runs, when the
// auditor keeps records before queries run (BeforeAuditor): compliance's
// queries and those that call an unsealing function must be in the audit
// chain before any row is read. When that fails, the query is refused.
func (sess *session) auditFirst(p *plan, start time.Time) error {
	ba, ok := sess.srv.audit.(BeforeAuditor)
	if !ok {
		return nil
	}
	rec := QueryRecord{At: start, Session: sess.pid, User: sess.user, Role: sess.role, Statement: p.masked,
		Relations: p.relations, Outcome: OutcomeStarted, Unseals: p.unseals}
	if rec.Relations == nil {
		rec.Relations = []string{}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sess.srv.ctx), 10*time.Second)
	defer cancel()
	if err := ba.AuditBefore(ctx, rec); err != nil {
		sess.log.Error("SQL gateway: a query that must be audited before it runs could not be; refused", "err", err)
		return &RefusedError{Role: sess.role, Code: codeSystemError, Statement: p.masked,
			Reason:      "the query was not run: it must be recorded in the audit chain before it runs, and the audit chain could not record it",
			AuditReason: "refused: the audit chain could not record it before it ran",
			Hint:        "retry later; the operator sees cxlake_gateway_audit_failures_total and /healthz"}
	}
	return nil
}

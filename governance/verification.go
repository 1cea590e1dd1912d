package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
)

// AuditCheck is the outcome of one verification of the audit log, as
// VerifyAudit records it in audit_verifications.
type AuditCheck struct {
	At     time.Time
	Passed bool
	// Report is what audit.Verify found (as far as it got, on failure).
	Report audit.Report
	// Failure classes a failed verification: "tampered" (FailureIndex is
	// the first bad record), "rolled_back" (the log does not extend its
	// witness; FailureIndex is the first record removed or replaced),
	// "checkpoint" (a signature does not verify),
	// "no_checkpoint" (nothing signed yet) or "error" (the files could not
	// be read). Empty when Passed.
	Failure      string
	FailureIndex int64
}

// auditVerifyEvery is how often Run verifies the audit log.
const auditVerifyEvery = 10 * time.Minute

// VerifyAudit verifies the audit log against its signed checkpoints
// (audit.Verify, with the log's own verifier key and its witness) and records the outcome
// in audit_verifications, for the compliance dashboard. A log that fails
// verification is recorded and returned with Passed false, not as an
// error: the error is for a verification that could not run to an answer
// (ctx ended) or could not be recorded.
func (g *Governance) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	c := AuditCheck{At: g.now().UTC()}
	rep, err := audit.Verify(ctx, g.audit.Dir(), audit.VerifyOptions{Witness: g.audit.WitnessPath()})
	c.Report, c.Passed = rep, err == nil
	var te *audit.TamperError
	var ce *audit.CheckpointError
	var re *audit.RollbackError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return c, fmt.Errorf("verifying the audit log: %w", ctx.Err())
	case errors.As(err, &te):
		c.Failure, c.FailureIndex = "tampered", te.Index
	case errors.As(err, &re):
		c.Failure, c.FailureIndex = "rolled_back", min(re.Records, re.Witnessed.N)
	case errors.As(err, &ce):
		c.Failure = "checkpoint"
	case errors.Is(err, audit.ErrNoCheckpoint):
		c.Failure = "no_checkpoint"
	default:
		c.Failure = "error"
	}
	if !c.Passed {
		g.log.Error("audit log verification failed", "failure", c.Failure, "index", c.FailureIndex, "err", err)
	}
	var cpSize sql.NullInt64
	var cpAt sql.NullTime
	if rep.Latest.N > 0 {
		cpSize = sql.NullInt64{Int64: rep.Latest.N, Valid: true}
		cpAt = sql.NullTime{Time: rep.Latest.Time.UTC(), Valid: true}
	}
	var failure sql.NullString
	var index sql.NullInt64
	if c.Failure != "" {
		failure = sql.NullString{String: c.Failure, Valid: true}
		index = sql.NullInt64{Int64: c.FailureIndex, Valid: c.Failure == "tampered" || c.Failure == "rolled_back"}
	}
	if _, err := g.wh.DB.ExecContext(ctx, `insert into audit_verifications values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.At, c.Passed, rep.Records, rep.Pruned, rep.Checkpoints, cpSize, cpAt, rep.Uncovered, failure, index); err != nil {
		return c, fmt.Errorf("recording the audit verification: %w", err)
	}
	return c, nil
}

// verifyAudit is VerifyAudit on Run's schedule, once the log has records:
// a failure to run it is logged and retried at the next turn.
func (g *Governance) verifyAudit(ctx context.Context) {
	if g.audit.Len() == 0 {
		return // nothing recorded yet, nothing signed to verify against
	}
	if _, err := g.VerifyAudit(ctx); err != nil && ctx.Err() == nil {
		g.log.Error("audit verification could not run; will retry", "err", err)
	}
}

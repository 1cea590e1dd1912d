package governance

import (
	"context"
	"time"
)

// Run does governance's scheduled work until ctx ends, then signs a last
// checkpoint: audit checkpoints (and the audit_log mirror) every
// CheckpointEvery when records were added, consent enforcement every
// ConsentEvery, retention every RetentionEvery (also once at start), and
// a verification of the audit log every 10 minutes (also at start, after a
// checkpoint), recorded in audit_verifications, and the erasures left
// unfinished (ResumeErasures) at every checkpoint turn. A failed step is
// logged and retried at its next turn. When ctx ends it stops the erasures
// the API accepted (Stop) before it returns.
func (g *Governance) Run(ctx context.Context) error {
	cp := time.NewTicker(g.cfg.CheckpointEvery)
	verify := time.NewTicker(auditVerifyEvery)
	defer verify.Stop()
	consent := time.NewTicker(g.cfg.ConsentEvery)
	retention := time.NewTicker(g.cfg.RetentionEvery)
	defer cp.Stop()
	defer consent.Stop()
	defer retention.Stop()
	g.retention(ctx)
	g.checkpoint(ctx)
	g.verifyAudit(ctx)
	for {
		select {
		case <-ctx.Done():
			g.Stop() // erasures the API accepted stop at a step boundary
			g.checkpoint(context.WithoutCancel(ctx))
			return nil
		case <-cp.C:
			g.resumeErasures(ctx)
			g.checkpoint(ctx)
		case <-consent.C:
			if rep, err := g.EnforceConsent(ctx); err != nil && ctx.Err() == nil {
				g.log.Error("consent enforcement failed; will retry", "err", err)
			} else if rep.Changes+rep.Withdrawn+rep.Regranted > 0 {
				g.log.Info("consent enforced", "changes", rep.Changes, "withdrawn", rep.Withdrawn,
					"regranted", rep.Regranted, "redacted_events", rep.Redacted)
			}
		case <-retention.C:
			g.retention(ctx)
		case <-verify.C:
			g.verifyAudit(ctx)
		}
	}
}

func (g *Governance) checkpoint(ctx context.Context) {
	if g.audit.Len() == g.audit.LastCheckpoint().N {
		return
	}
	if _, err := g.audit.Checkpoint(ctx); err != nil {
		g.log.Error("audit checkpoint failed; will retry", "err", err)
		return
	}
	if _, err := g.MirrorAudit(ctx); err != nil {
		g.log.Warn("audit mirror failed; will retry", "err", err)
	}
}

func (g *Governance) retention(ctx context.Context) {
	rep, err := g.RunRetention(ctx, g.now())
	if err != nil {
		if ctx.Err() == nil {
			g.log.Error("retention run failed; will retry", "err", err)
		}
		return
	}
	var rows int64
	for _, r := range rep.Runs {
		rows += r.RowsRemoved
	}
	g.log.Info("retention run", "run_id", rep.RunID, "rows_removed", rows)
}

// resumeErasures finishes erasures a lasting failure left unfinished.
func (g *Governance) resumeErasures(ctx context.Context) {
	var n int64
	if err := g.wh.DB.QueryRowContext(ctx, `select count(*) from erasure_plans`).Scan(&n); err != nil || n == 0 {
		return
	}
	if _, err := g.ResumeErasures(ctx); err != nil && ctx.Err() == nil {
		g.log.Error("an unfinished erasure could not be finished; will retry", "err", err)
	}
}

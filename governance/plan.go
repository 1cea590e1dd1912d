package governance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// The steps of an erasure, in order. An erasure's plan records the last
// step done; a run that stops (a kill, a shutdown, a failure that outlasts
// its retries) is resumed from the next one. Every step is idempotent.
const (
	stepPlanned    = "planned"        // the request and this plan are recorded; nothing changed yet
	stepSuppressed = "suppressed"     // the keyed hashes are in identifier_rules and in ingest's sets
	stepKeys       = "keys_destroyed" // the point of no return: sealed copies are unreadable
	stepDeleted    = "rows_deleted"   // DuckDB rows deleted and the models updated, in one transaction
	stepLake       = "lake_rewritten" // the lake files of the person's partitions rewritten
	stepCheckpoint = "checkpointed"   // DuckDB's WAL folded into the file
	stepVerified   = "verified"       // the re-scan is in the receipt
	stepAudited    = "audited"        // the audit record is appended
	stepSigned     = "signed"         // an audit checkpoint covers it
	stepSaved      = "receipt_saved"  // receipts/<id>.json is written
	stepDone       = "done"           // the request is closed and the plan dropped
)

var erasureSteps = []string{stepPlanned, stepSuppressed, stepKeys, stepDeleted, stepLake, stepCheckpoint,
	stepVerified, stepAudited, stepSigned, stepSaved, stepDone}

func stepIndex(s string) int { return slices.Index(erasureSteps, s) }

// erasureStepHook is called after each step is recorded (tests kill the
// process there).
var erasureStepHook = func(step string) {}

// erasurePlan is what an erasure does, saved in erasure_plans with the
// request before its first destructive step, and updated after each step.
// It holds keyed hashes, Kafka coordinates and file names: no identifier
// value and no text, so it can outlive the erasure without undoing it.
type erasurePlan struct {
	RequestID   string   `json:"request_id"`
	Actor       string   `json:"actor"`
	Hashes      []string `json:"hashes"`       // the person's identifier hashes
	ContactKeys []string `json:"contact_keys"` // their contact keys in the models
	// Whole: Hashes are a whole resolved person's, so the subject column
	// finds their rows. False when only the lake still held them: every
	// identifier column is searched.
	Whole       bool          `json:"whole"`
	Rules       []string      `json:"rules"`        // keyed hashes to suppress (identifiers, mention forms)
	DeadLetters []planDeadLtr `json:"dead_letters"` // dead letters that mention them
	Partitions  []string      `json:"partitions"`   // lake partitions their rows are in: date=D/channel=C
	LakeFiles   []string      `json:"lake_files"`   // files that held their rows when planned (relative)
	Step        string        `json:"step"`         // the last step done
	RunMS       int64         `json:"run_ms"`       // time spent in earlier runs
	LastError   string        `json:"last_error,omitempty"`
	Receipt     Receipt       `json:"receipt"` // the receipt so far
}

type planDeadLtr struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

func (p *erasurePlan) deadLetters() []deadLetterRef {
	out := make([]deadLetterRef, len(p.DeadLetters))
	for i, d := range p.DeadLetters {
		out[i] = deadLetterRef{topic: d.Topic, partition: d.Partition, offset: d.Offset}
	}
	return out
}

func (p *erasurePlan) rules() []warehouse.IdentifierRule {
	out := make([]warehouse.IdentifierRule, len(p.Rules))
	for i, h := range p.Rules {
		out[i] = warehouse.IdentifierRule{Hash: h, Rule: warehouse.RuleSuppress, Reason: "erasure", Ref: p.RequestID}
	}
	return out
}

// keyIDs are the data keys the erasure destroys: the person's, and those
// of the dead letters that mention them.
func (p *erasurePlan) keyIDs() []privacy.KeyID {
	ids := make([]privacy.KeyID, 0, len(p.Hashes)+len(p.DeadLetters))
	for _, h := range p.Hashes {
		ids = append(ids, privacy.SubjectID(h))
	}
	for _, d := range p.DeadLetters {
		ids = append(ids, privacy.DeadLetterID(d.Topic, d.Partition, d.Offset))
	}
	return ids
}

// covers says whether the plan erases the person subject names.
func (p *erasurePlan) covers(subject string) bool {
	return slices.Contains(p.Hashes, subject) || slices.Contains(p.ContactKeys, subject) || p.Receipt.Subject == subject
}

func (g *Governance) insertPlan(ctx context.Context, q querier, p *erasurePlan) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the erasure plan: %w", err)
	}
	if _, err := q.ExecContext(ctx, `insert into erasure_plans values (?, ?, ?, ?)`, p.RequestID, p.Step, string(b), g.now().UTC()); err != nil {
		return fmt.Errorf("recording the erasure plan: %w", err)
	}
	return nil
}

func (g *Governance) savePlan(ctx context.Context, q querier, p *erasurePlan) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the erasure plan: %w", err)
	}
	if _, err := q.ExecContext(ctx, `update erasure_plans set step = ?, plan = ?, updated_at = ? where request_id = ?`,
		p.Step, string(b), g.now().UTC(), p.RequestID); err != nil {
		return fmt.Errorf("recording the erasure's progress: %w", err)
	}
	return nil
}

// unfinishedPlans lists the erasures not done, oldest first.
func (g *Governance) unfinishedPlans(ctx context.Context) ([]*erasurePlan, error) {
	rows, err := g.wh.DB.QueryContext(ctx, `select plan::varchar from erasure_plans order by updated_at, request_id`)
	if err != nil {
		return nil, fmt.Errorf("listing unfinished erasures: %w", err)
	}
	defer rows.Close()
	var out []*erasurePlan
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("listing unfinished erasures: %w", err)
		}
		p := &erasurePlan{}
		if err := json.Unmarshal([]byte(s), p); err != nil {
			return nil, fmt.Errorf("reading an erasure plan: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ResumeErasures finishes every erasure a kill, a shutdown or a lasting
// failure left unfinished, from the step each reached, and returns their
// receipts. Commands that open governance call it at start-up; Erase calls
// it first too. It returns the first error; the erasures after it are
// still tried.
func (g *Governance) ResumeErasures(ctx context.Context) ([]Receipt, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Receipt
	var errs []error
	plans, err := g.unfinishedPlans(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		rc, err := g.resume(ctx, p)
		if rc.RequestID != "" {
			out = append(out, rc)
		}
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

// resume runs an unfinished plan from the step it reached; the receipt
// records the interruption.
func (g *Governance) resume(ctx context.Context, p *erasurePlan) (Receipt, error) {
	g.log.Warn("resuming an unfinished erasure", "request_id", p.RequestID, "after_step", p.Step)
	p.Receipt.Resumptions = append(p.Receipt.Resumptions, Resumption{At: g.now().UTC(), After: p.Step, Cause: p.LastError})
	p.LastError = ""
	return g.runPlan(ctx, p, nil, nil)
}

// step runs fn, the work of step name, unless the plan is past it, then
// records the step in the plan. A failure is retried with back-off (100 ms
// doubling to 5 s) for g.stepRetry: after the point of no return an
// erasure must finish, and what fails there is transient (a CHECKPOINT
// meeting another write transaction, a busy disk). fn runs on a context
// that ctx's end does not cancel: a shutdown stops the erasure between
// steps, never inside one.
func (g *Governance) step(ctx context.Context, p *erasurePlan, name string, fn func(context.Context) error) error {
	delay := 100 * time.Millisecond
	deadline := time.Now().Add(g.stepRetry)
	wctx := context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		if stepIndex(p.Step) >= stepIndex(name) && attempt == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return &PendingError{RequestID: p.RequestID, Step: p.Step, Err: err}
		}
		var err error
		if stepIndex(p.Step) < stepIndex(name) {
			err = fn(wctx)
		}
		if err == nil {
			p.Step = name
			if err = g.savePlan(wctx, g.wh.DB, p); err == nil {
				erasureStepHook(name)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return &PendingError{RequestID: p.RequestID, Step: p.Step, Err: &StepError{Step: name, Err: err}}
		}
		g.log.Warn("an erasure step failed; retrying", "request_id", p.RequestID, "step", name, "attempt", attempt, "in", delay, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// lakeCandidates lists the lake files of partitions: from the manifest
// when it agrees with their folders, from the folders otherwise
// (Lake.filesIn). A partition that is gone holds nothing.
func lakeCandidates(ctx context.Context, l Lake, partitions []string) ([]string, error) {
	ls, err := l.filesIn(ctx, "erasure", partitions)
	return ls.files, err
}

// partitionOf is a lake file's partition, relative to the lake's root.
func partitionOf(l Lake, file string) string {
	rel, err := filepath.Rel(l.root(), filepath.Dir(file))
	if err != nil {
		return filepath.Dir(file)
	}
	return rel
}

// finishRequest closes the request (completed, or failed when the re-scan
// still finds the person) and drops the plan, in one transaction.
func (g *Governance) finishRequest(ctx context.Context, p *erasurePlan) error {
	rc := &p.Receipt
	b, err := json.Marshal(rc)
	if err != nil {
		return fmt.Errorf("encoding the receipt: %w", err)
	}
	tx, err := g.wh.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("closing the privacy request: %w", err)
	}
	defer tx.Rollback()
	var completed sql.NullTime
	var msg sql.NullString
	if rc.Status == StatusCompleted {
		completed = sql.NullTime{Time: rc.CompletedAt.UTC(), Valid: true}
	} else {
		msg = sql.NullString{String: errNotErased.Error(), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `update privacy_requests set status = ?, completed_at = ?, audit_index = ?, receipt = ?, error = ?
		where request_id = ?`, rc.Status, completed, rc.AuditIndex, string(b), msg, rc.RequestID); err != nil {
		return fmt.Errorf("closing the privacy request: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `delete from erasure_plans where request_id = ?`, rc.RequestID); err != nil {
		return fmt.Errorf("dropping the erasure plan: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("closing the privacy request: %w", err)
	}
	return nil
}

// notePending records on the request why its erasure stopped (it stays
// in_progress and resumes).
func (g *Governance) notePending(ctx context.Context, p *erasurePlan, cause error) {
	p.LastError = cause.Error()
	ctx = context.WithoutCancel(ctx)
	if err := g.savePlan(ctx, g.wh.DB, p); err != nil {
		g.log.Error("could not record why an erasure stopped", "request_id", p.RequestID, "err", err)
	}
	if _, err := g.wh.DB.ExecContext(ctx, `update privacy_requests set error = ? where request_id = ?`, p.LastError, p.RequestID); err != nil {
		g.log.Error("could not record why an erasure stopped", "request_id", p.RequestID, "err", err)
	}
}

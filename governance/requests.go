package governance

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
)

// Kinds of privacy requests.
const (
	KindErasure = "erasure" // GDPR art. 17, LGPD art. 18 VI
	KindAccess  = "access"  // GDPR art. 15, LGPD art. 18 II and art. 19
)

// Statuses of privacy requests.
//
// An erasure is in_progress from the moment its plan is recorded until it
// is done; it cannot fail after that point, only stop and resume. failed
// is an erasure whose re-scan still finds the person (the receipt says
// where; someone must act), or a request that failed before anything was
// changed. no_data is a request about a person of whom nothing is held
// (never known, or erased earlier): it is answered and kept on record.
const (
	StatusReceived   = "received"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusNoData     = "no_data"
)

// Deadline returns when a request of kind received at t is due, and which
// law's deadline that is, under law (LawGDPR, LawLGPD, LawBoth):
//
//   - GDPR art. 12(3): one month from receipt, for access and erasure;
//   - LGPD art. 19 II: access within 15 days. The LGPD sets no fixed term
//     for erasure (art. 18 §§3-5: promptly, or as regulation sets); cxlake
//     holds erasure to the same 15 days under LawLGPD, the law's one fixed
//     term, so the request is never left without a deadline.
//
// Under LawBoth the earlier deadline applies.
func Deadline(law, kind string, t time.Time) (time.Time, string) {
	gdpr := addMonth(t)
	lgpd := t.AddDate(0, 0, 15)
	switch law {
	case LawGDPR:
		return gdpr, LawGDPR
	case LawLGPD:
		return lgpd, LawLGPD
	}
	if lgpd.Before(gdpr) {
		return lgpd, LawLGPD
	}
	return gdpr, LawGDPR
}

// addMonth is t one calendar month later; when that month is shorter, its
// last day (Regulation 1182/71 art. 3(2)(c), how EU periods are counted).
func addMonth(t time.Time) time.Time {
	m := t.AddDate(0, 1, 0)
	if m.Day() != t.Day() {
		m = m.AddDate(0, 0, -m.Day()) // back to the last day of the month before
	}
	return m
}

// CheckLaw checks the law a request names: LawGDPR, LawLGPD, or empty for
// the configured governance.law.
func CheckLaw(law string) error {
	switch law {
	case "", LawGDPR, LawLGPD:
		return nil
	}
	return &LawError{}
}

// request is a privacy_requests row in progress.
type request struct {
	ID, Kind, Subject, IdentifierKind, Reason, Law string
	Status                                         string // StatusReceived when empty
	Received, Due                                  time.Time
}

// newRequest starts a request of kind under law (LawGDPR or LawLGPD, as the
// request asked; empty: governance.law).
func (g *Governance) newRequest(kind, law string, id Identifier, subject, reason string) request {
	now := g.now().UTC()
	due, law := Deadline(cmp.Or(law, g.cfg.Law), kind, now)
	return request{ID: newID(kind[:3]), Kind: kind, Subject: subject, IdentifierKind: id.Kind, Reason: reason,
		Law: law, Received: now, Due: due}
}

func (g *Governance) recordRequest(ctx context.Context, q querier, r request) error {
	if _, err := q.ExecContext(ctx, `insert into privacy_requests
		(request_id, kind, status, subject_hash, identifier_kind, reason, law, received_at, due_at)
		values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, cmp.Or(r.Status, StatusReceived), r.Subject, r.IdentifierKind, nullable(r.Reason), r.Law, r.Received, r.Due); err != nil {
		return fmt.Errorf("recording the privacy request: %w", err)
	}
	return nil
}

func (g *Governance) completeRequest(ctx context.Context, q querier, id string, at time.Time, auditIndex int64, receipt any) error {
	var rj any
	if receipt != nil {
		b, err := json.Marshal(receipt)
		if err != nil {
			return fmt.Errorf("encoding the receipt: %w", err)
		}
		rj = string(b)
	}
	if _, err := q.ExecContext(ctx, `update privacy_requests set status = ?, completed_at = ?, audit_index = ?, receipt = ?
		where request_id = ?`, StatusCompleted, at.UTC(), auditIndex, rj, id); err != nil {
		return fmt.Errorf("completing the privacy request: %w", err)
	}
	return nil
}

func (g *Governance) failRequest(ctx context.Context, q querier, id string, cause error) {
	if _, err := q.ExecContext(context.WithoutCancel(ctx), `update privacy_requests set status = ?, error = ? where request_id = ?`,
		StatusFailed, cause.Error(), id); err != nil {
		g.log.Error("could not mark a privacy request failed", "request_id", id, "err", err)
	}
}

// recordNoData records a request about a person of whom nothing is held
// (status no_data, answered at once) and its audit record, and returns its
// receipt with the error to give: an *AlreadyErasedError when an earlier
// erasure suppressed the identifier, ErrUnknownSubject otherwise. A
// regulator may ask for proof that a request was received and answered,
// whatever the answer.
func (g *Governance) recordNoData(ctx context.Context, kind, law string, id Identifier, subject, reason, actor, requestID string) (Receipt, error) {
	row := g.newRequest(kind, law, id, subject, reason)
	if requestID != "" {
		row.ID = requestID
	}
	row.Status = StatusNoData
	rc := Receipt{RequestID: row.ID, Kind: kind, Status: StatusNoData, Subject: subject, IdentifierKind: row.IdentifierKind,
		Reason: reason, ReceivedAt: row.Received, CompletedAt: row.Received, DueAt: row.Due, Law: row.Law,
		RowsRemoved: map[string]int64{}, FilesRewritten: []string{}, FilesRemoved: []string{}, StepsMS: map[string]int64{}, Took: "0s"}
	var answer error = ErrUnknownSubject
	var ref sql.NullString
	var at time.Time
	err := g.wh.DB.QueryRowContext(ctx, `select ref, added_at from identifier_rules where identifier_hash = ? and rule = 'suppress'
		and reason = 'erasure' order by added_at limit 1`, subject).Scan(&ref, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Receipt{}, fmt.Errorf("looking up earlier erasures: %w", err)
	default:
		at = at.UTC()
		rc.ErasedBy, rc.ErasedAt = ref.String, &at
		answer = &AlreadyErasedError{By: ref.String, At: at}
	}
	if err := g.recordRequest(ctx, g.wh.DB, row); err != nil {
		return Receipt{}, err
	}
	detail := map[string]any{"request_id": row.ID, "type": kind, "status": StatusNoData}
	if rc.ErasedBy != "" {
		detail["erased_by"] = rc.ErasedBy
	}
	idx, err := g.audit.Append(ctx, audit.Record{Kind: audit.KindPrivacyRequest, Actor: actor, Subject: subject, Detail: detail})
	if err != nil {
		return Receipt{}, fmt.Errorf("appending the audit record: %w", err)
	}
	rc.AuditIndex = idx
	b, err := json.Marshal(rc)
	if err != nil {
		return Receipt{}, fmt.Errorf("encoding the receipt: %w", err)
	}
	if _, err := g.wh.DB.ExecContext(ctx, `update privacy_requests set completed_at = ?, audit_index = ?, receipt = ? where request_id = ?`,
		row.Received, idx, string(b), row.ID); err != nil {
		return Receipt{}, fmt.Errorf("completing the privacy request: %w", err)
	}
	return rc, answer
}

// CheckReason refuses a request's reason that looks like it names the
// person (an e-mail address or a phone number): it is kept with the
// request and printed on the receipt. The rule is the audit chain's.
func CheckReason(reason string) error {
	if audit.LooksPersonal([]byte(reason)) {
		return &ReasonError{}
	}
	if len(reason) > 500 {
		return &ReasonError{TooLong: true}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// PrivacyRequest is a privacy_requests row.
type PrivacyRequest struct {
	ID             string     `json:"request_id"`
	Kind           string     `json:"kind"`
	Status         string     `json:"status"`
	Subject        string     `json:"subject_hash"`
	IdentifierKind string     `json:"identifier_kind"`
	Law            string     `json:"law"`
	ReceivedAt     time.Time  `json:"received_at"`
	DueAt          time.Time  `json:"due_at"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
	Overdue        bool       `json:"overdue"`
	Error          string     `json:"error,omitempty"`
}

// Requests lists privacy requests, newest first.
func (g *Governance) Requests(ctx context.Context) ([]PrivacyRequest, error) {
	rows, err := g.wh.DB.QueryContext(ctx, `select request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at,
		completed_at, coalesce(completed_at, now()) > due_at, coalesce(error, '') from privacy_requests order by received_at desc`)
	if err != nil {
		return nil, fmt.Errorf("listing privacy requests: %w", err)
	}
	defer rows.Close()
	var out []PrivacyRequest
	for rows.Next() {
		var r PrivacyRequest
		if err := rows.Scan(&r.ID, &r.Kind, &r.Status, &r.Subject, &r.IdentifierKind, &r.Law, &r.ReceivedAt, &r.DueAt,
			&r.CompletedAt, &r.Overdue, &r.Error); err != nil {
			return nil, fmt.Errorf("listing privacy requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

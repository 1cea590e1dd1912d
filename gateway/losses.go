package gateway

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"time"
)

// Lost chain records. A gateway query record that the audit chain cannot
// take (ChainAuditor) is counted in a metric and, through a LossRecorder,
// written to gateway_chain_losses, which the compliance dashboard reads
// (marts audit_chain_losses and audit_chain_losses_hourly). A loss names
// who, when, how the query ended and why its record was lost; never the
// query's text, its values or an error message.

// LossRecorder records a chain record that was lost. RecordLoss must not
// block: the chain auditor calls it on the query path.
type LossRecorder interface {
	RecordLoss(l ChainLoss)
}

// LossReason is why a record could not be appended to the chain.
type LossReason string

// Reasons a record is lost.
const (
	// LossAppendFailed: the chain could not be written (a full disk, a
	// closed log).
	LossAppendFailed LossReason = "append_failed"
	// LossRefusedByCheck: the chain's checks refused the record even with
	// its statement, reason and relations withheld.
	LossRefusedByCheck LossReason = "refused_by_check"
)

// ChainLoss is one lost record.
type ChainLoss struct {
	// At is when it was lost; Received when the gateway received the query.
	At, Received time.Time
	Session      uint32
	// User is the login as the chain's actor would have named it (cut at
	// an '@'); Role its role.
	User string
	Role Role
	// Outcome is the query's (OutcomeStarted for the record due before a
	// query ran: that query was refused).
	Outcome Outcome
	Reason  LossReason
	// Fingerprint is the first 16 hex digits of the sha256 of the masked
	// statement: equal statements share it, and compliance can find the
	// query in gateway_queries with left(sha256(statement), 16).
	Fingerprint string
}

// ChainLossesTable is the table TableLossRecorder appends to (the
// gateway's migration 0003).
const ChainLossesTable = "gateway_chain_losses"

// chainLoss is q's record, lost at for why.
func chainLoss(q QueryRecord, why LossReason, at time.Time) ChainLoss {
	sum := sha256.Sum256([]byte(q.Statement))
	return ChainLoss{At: at, Received: q.At, Session: q.Session, User: clipText(actorName(q.User), 128), Role: q.Role,
		Outcome: q.Outcome, Reason: why, Fingerprint: hex.EncodeToString(sum[:8])}
}

// TableLossRecorder appends ChainLosses to gateway_chain_losses, buffered
// and written at most once a second.
type TableLossRecorder struct {
	t *bufferedTable[ChainLoss]
}

// NewTableLossRecorder starts the flusher into gateway_chain_losses.
func NewTableLossRecorder(db *sql.DB, log *slog.Logger) *TableLossRecorder {
	return &TableLossRecorder{t: newBufferedTable(db, log, ChainLossesTable, 8, func(l ChainLoss) []any {
		received := l.Received
		if received.IsZero() {
			received = l.At
		}
		return []any{l.At.UTC(), received.UTC(), int64(l.Session), l.User, string(l.Role), string(l.Outcome), string(l.Reason), l.Fingerprint}
	})}
}

// RecordLoss buffers l.
func (r *TableLossRecorder) RecordLoss(l ChainLoss) { r.t.Add(l) }

// Flush writes the buffered losses now.
func (r *TableLossRecorder) Flush(ctx context.Context) error { return r.t.Flush(ctx) }

// Close writes what is buffered and stops the flusher.
func (r *TableLossRecorder) Close() error { return r.t.Close() }

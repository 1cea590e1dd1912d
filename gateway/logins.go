package gateway

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// LoginRecorder records failed and throttled logins (never the password).
// RecordLogin must not block: the gateway calls it on the login path.
type LoginRecorder interface {
	RecordLogin(r LoginRecord)
}

// LoginOutcome is how a refused login ended.
type LoginOutcome string

// Outcomes of a refused login.
const (
	LoginFailed    LoginOutcome = "failed"    // wrong password or unknown user
	LoginThrottled LoginOutcome = "throttled" // refused by the throttle, SCRAM never ran
)

// LoginRecord is one refused login.
type LoginRecord struct {
	At time.Time
	// User is the login name asked for when it is a configured user, else
	// "(unknown)": a name typed at a login prompt may be anything, a
	// password or an e-mail address among them.
	User string
	// Source is the client's IP address.
	Source  string
	Outcome LoginOutcome
	// Reason names the rule: "wrong password or unknown user", "throttle".
	Reason string
}

// LoginsTable is the DuckDB table TableLoginRecorder appends to.
const LoginsTable = "gateway_logins"

// TableLoginRecorder appends LoginRecords to gateway_logins, buffered and
// written at most once a second (beyond 10,000 waiting records, more are
// counted as dropped: a flood of attempts must not grow memory without
// bound). The compliance role reads the table.
type TableLoginRecorder struct {
	t *bufferedTable[LoginRecord]
}

// NewTableLoginRecorder starts the flusher into gateway_logins (created by
// the gateway's migration 0002).
func NewTableLoginRecorder(ctx context.Context, db *sql.DB, log *slog.Logger) (*TableLoginRecorder, error) {
	return &TableLoginRecorder{t: newBufferedTable(db, log, LoginsTable, 5, func(rec LoginRecord) []any {
		return []any{rec.At, rec.User, rec.Source, string(rec.Outcome), rec.Reason}
	})}, nil
}

// RecordLogin buffers rec.
func (r *TableLoginRecorder) RecordLogin(rec LoginRecord) { r.t.Add(rec) }

// Dropped returns the records lost to a full buffer.
func (r *TableLoginRecorder) Dropped() int64 { return r.t.Dropped() }

// Flush writes the buffered records in one transaction; on failure they
// stay buffered for the next try.
func (r *TableLoginRecorder) Flush(ctx context.Context) error { return r.t.Flush(ctx) }

// Close writes what is buffered and stops the flusher.
func (r *TableLoginRecorder) Close() error { return r.t.Close() }

package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
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

// maxLoginBuffer bounds the records waiting for a flush; more are counted
// as dropped (a flood of attempts must not grow memory without bound).
const maxLoginBuffer = 10_000

// TableLoginRecorder appends LoginRecords to gateway_logins, buffered and
// written at most once a second. The compliance role reads the table.
type TableLoginRecorder struct {
	db  *sql.DB
	log *slog.Logger

	mu      sync.Mutex
	buf     []LoginRecord
	dropped int64
	done    chan struct{}
	stopped chan struct{}
}

// NewTableLoginRecorder starts the flusher into gateway_logins (created by
// the gateway's migration 0002).
func NewTableLoginRecorder(ctx context.Context, db *sql.DB, log *slog.Logger) (*TableLoginRecorder, error) {
	r := &TableLoginRecorder{db: db, log: log, done: make(chan struct{}), stopped: make(chan struct{})}
	go r.run()
	return r, nil
}

// RecordLogin buffers rec; beyond maxLoginBuffer it is counted as dropped.
func (r *TableLoginRecorder) RecordLogin(rec LoginRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) >= maxLoginBuffer {
		r.dropped++
		return
	}
	r.buf = append(r.buf, rec)
}

// Dropped returns the records lost to a full buffer.
func (r *TableLoginRecorder) Dropped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

func (r *TableLoginRecorder) run() {
	defer close(r.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		}
		if err := r.Flush(context.Background()); err != nil {
			r.log.Error("SQL gateway: writing failed logins failed; will retry", "table", LoginsTable, "err", err)
		}
	}
}

// Flush writes the buffered records in one transaction; on failure they
// stay buffered for the next try.
func (r *TableLoginRecorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	recs := r.buf
	r.buf = nil
	r.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := r.write(ctx, recs)
	if err != nil {
		r.mu.Lock()
		keep := min(len(recs), maxLoginBuffer-len(r.buf))
		r.dropped += int64(len(recs) - keep)
		r.buf = append(recs[:keep:keep], r.buf...)
		r.mu.Unlock()
	}
	return err
}

func (r *TableLoginRecorder) write(ctx context.Context, recs []LoginRecord) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing %s: %w", LoginsTable, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, "insert into "+LoginsTable+" values (?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("writing %s: %w", LoginsTable, err)
	}
	defer st.Close()
	for _, rec := range recs {
		if _, err := st.ExecContext(ctx, rec.At, rec.User, rec.Source, string(rec.Outcome), rec.Reason); err != nil {
			return fmt.Errorf("writing %s: %w", LoginsTable, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing %s: %w", LoginsTable, err)
	}
	return nil
}

// Close writes what is buffered and stops the flusher.
func (r *TableLoginRecorder) Close() error {
	select {
	case <-r.done:
		return nil
	default:
	}
	close(r.done)
	<-r.stopped
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Flush(ctx)
}

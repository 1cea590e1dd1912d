package gateway

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cxlake/cxlake/warehouse"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Auditor records every query the gateway receives. The gateway calls
// AuditQuery once per statement it ran or refused, after the outcome is
// known and before it tells the client the statement is complete.
//
// The record holds no personal data: the statement has its constants
// replaced by $n parameters, and errors are kept as a class, never as
// DuckDB's message (which can quote a literal).
//
// AuditQuery must be safe for concurrent use. An error means the record may
// be lost; the gateway then ends the session, so that no query runs
// unaudited.
type Auditor interface {
	AuditQuery(ctx context.Context, q QueryRecord) error
}

// Outcome is how a query ended.
type Outcome string

// Outcomes of a query.
const (
	OutcomeOK       Outcome = "ok"        // ran to completion
	OutcomeRefused  Outcome = "refused"   // refused by the sandbox or the role's policy; DuckDB never saw it
	OutcomeError    Outcome = "error"     // DuckDB failed it (syntax, binding, conversion, ...)
	OutcomeCanceled Outcome = "canceled"  // canceled by the client or by shutdown
	OutcomeTimeout  Outcome = "timeout"   // ran past statement_timeout
	OutcomeTooLarge Outcome = "too_large" // returned more than max_result_rows
)

// QueryRecord is one audited query.
type QueryRecord struct {
	// At is when the gateway received the statement.
	At time.Time
	// Session identifies the connection (the process id sent to the client).
	Session uint32
	// User and Role are the authenticated login and its role.
	User string
	Role Role
	// Statement is the query with every constant replaced by $n, or, when it
	// could not be parsed or was not a SELECT, the kinds of its statements
	// ("COPY", "SELECT;ATTACH") without their text.
	Statement string
	// Relations are the relations the query referenced ("main.conversations").
	Relations []string
	// Outcome is how it ended; Code its SQLSTATE ("00000" when OK).
	Outcome Outcome
	Code    string
	// Reason says why a refused query was refused, or the class of a DuckDB
	// error ("binder", "conversion"). It never quotes the query.
	Reason string
	// Rows is the number of rows sent.
	Rows int64
	// Duration is from receipt to the last row.
	Duration time.Duration
	// Unseals is set on the record written before a query runs
	// (BeforeAuditor) when the query calls an unsealing function
	// (cx_identifier_value, cx_content, cx_dead_letter_raw).
	Unseals bool
}

// TableAuditorTable is the DuckDB table TableAuditor appends to. It is
// created by the gateway's migrations (migrations/), which warehouse.Open
// applies with the warehouse's own.
const TableAuditorTable = "gateway_queries"

//go:embed migrations/*.sql
var migrations embed.FS

func init() { warehouse.RegisterSchema("gateway", migrations) }

// TableAuditor is the default Auditor: it appends records to the
// gateway_queries table of the warehouse (docs/gateway.md lists its
// columns). Records are buffered and written in one transaction at most
// every FlushEvery, so auditing adds no write to each query; Flush and Close
// write what is buffered. A record is lost only if the process dies within
// FlushEvery of the query.
type TableAuditor struct {
	db         *sql.DB
	log        *slog.Logger
	FlushEvery time.Duration

	mu      sync.Mutex
	buf     []QueryRecord
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	lastErr error
	closed  bool
}

// maxBuffered bounds the records held in memory; AuditQuery waits for a
// flush beyond it.
const maxBuffered = 10_000

// NewTableAuditor starts the flusher into gateway_queries, which the
// gateway's migration 0001 creates (warehouse.Open applies it).
func NewTableAuditor(ctx context.Context, db *sql.DB, log *slog.Logger) (*TableAuditor, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &TableAuditor{db: db, log: log, FlushEvery: time.Second, wake: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go a.run()
	return a, nil
}

// AuditQuery buffers q. It fails when the auditor is closed or the last
// flush failed (the records stay buffered and are retried).
func (a *TableAuditor) AuditQuery(ctx context.Context, q QueryRecord) error {
	for {
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			return errors.New("query audit is closed")
		}
		if a.lastErr != nil {
			err := a.lastErr
			a.mu.Unlock()
			return fmt.Errorf("query audit cannot write to %s: %w", TableAuditorTable, err)
		}
		if len(a.buf) < maxBuffered {
			a.buf = append(a.buf, q)
			full := len(a.buf) >= maxBuffered/2
			a.mu.Unlock()
			if full {
				a.kick()
			}
			return nil
		}
		a.mu.Unlock()
		a.kick()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (a *TableAuditor) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *TableAuditor) run() {
	defer close(a.stopped)
	t := time.NewTicker(a.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		case <-a.wake:
		}
		if err := a.Flush(context.Background()); err != nil {
			a.log.Error("query audit flush failed; will retry", "table", TableAuditorTable, "err", err)
		}
	}
}

// Flush writes the buffered records in one transaction.
func (a *TableAuditor) Flush(ctx context.Context) error {
	a.mu.Lock()
	recs := a.buf
	a.buf = nil
	a.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := a.write(ctx, recs)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.buf = append(recs, a.buf...) // keep them for the next try
		a.lastErr = err
		return err
	}
	a.lastErr = nil
	return nil
}

func (a *TableAuditor) write(ctx context.Context, recs []QueryRecord) error {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// DuckDB's appender: one columnar append per flush, instead of an
	// INSERT per record.
	return conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("unexpected DuckDB connection type")
		}
		app, err := duckdb.NewAppenderFromConn(dconn, "", TableAuditorTable)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var reason driver.Value
			if r.Reason != "" {
				reason = r.Reason
			}
			rels := make([]any, len(r.Relations))
			for i, x := range r.Relations {
				rels[i] = x
			}
			if err := app.AppendRow(r.At.UTC(), int64(r.Session), r.User, string(r.Role), r.Statement, rels,
				string(r.Outcome), r.Code, reason, r.Rows, float64(r.Duration.Microseconds())/1000); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
}

// Close stops the flusher and writes what is buffered.
func (a *TableAuditor) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.done)
	<-a.stopped
	if err := a.Flush(context.Background()); err != nil {
		return fmt.Errorf("writing the last query audit records: %w", err)
	}
	return nil
}

// String describes the record for logs, without the statement.
func (q QueryRecord) String() string {
	return fmt.Sprintf("%s/%s %s %s rows=%d %s", q.User, q.Role, q.Outcome, strings.Join(q.Relations, ","), q.Rows, q.Duration)
}

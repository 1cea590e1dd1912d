package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
)

// The query audit in the tamper-evident chain (governance/audit). Each
// gateway query is a record of kind gateway_query: who (actor and role),
// what (the masked statement, the relations), how it ended, rows, time.
//
// Records are buffered and appended together every ChainFlushEvery (one
// fsync), except those of queries that must be in the chain before they
// run: every query of a role in Config.AuditBeforeRun (compliance by
// default) and every query that calls an unsealing function. Those are
// appended at once by AuditBefore, and the query is refused when that
// fails.
//
// Each record stands alone: one that fails the chain's personal-data check
// is replaced by a record that withholds the query text (and, if that
// still fails, the relations), so it never takes the records buffered with
// it down. A record that cannot be appended at all is counted (Lost),
// makes Health report degraded, and is written, without its text, to
// gateway_chain_losses (LossRecorder), which the compliance dashboard
// reads.

// BeforeAuditor records a query durably before it runs. The gateway calls
// AuditBefore for every query it is about to run, with Outcome
// OutcomeStarted; the auditor decides which it must record. An error
// refuses the query.
type BeforeAuditor interface {
	AuditBefore(ctx context.Context, q QueryRecord) error
}

// OutcomeStarted marks the record a BeforeAuditor writes before a query
// runs; the record of how it ended follows.
const OutcomeStarted Outcome = "started"

// ChainAppender is the part of *audit.Log the chain auditor uses.
type ChainAppender interface {
	Append(ctx context.Context, r audit.Record) (int64, error)
	AppendAll(ctx context.Context, rs []audit.Record) (int64, error)
}

// ChainFlushEvery is how often buffered records are appended.
const ChainFlushEvery = time.Second

// degradedFor is how long Health reports degraded after a lost record.
const degradedFor = time.Hour

// withheldStatement replaces the text of a record that failed the chain's
// personal-data check.
const withheldStatement = "query text withheld: failed the personal-data check"

// ChainAuditor puts every gateway query in the audit chain, then hands it
// to Next (gateway_queries). It is an Auditor and a BeforeAuditor.
type ChainAuditor struct {
	next   Auditor
	chain  ChainAppender
	losses LossRecorder // nil: losses are only counted and logged
	before map[Role]bool
	log    *slog.Logger

	lost     atomic.Int64
	withheld atomic.Int64

	mu       sync.Mutex
	buf      []pending
	lastLost time.Time
	failing  bool // the last append failed
	stop     chan struct{}
	done     chan struct{}
	closed   bool
}

// pending is a buffered chain record and the query it records.
type pending struct {
	r audit.Record
	q QueryRecord
}

// NewChainAuditor starts an auditor that appends to chain and then hands
// each record to next. Queries of the roles in before are appended before
// they run. Each record the chain cannot take goes to losses (nil: it is
// only counted and logged).
func NewChainAuditor(next Auditor, chain ChainAppender, losses LossRecorder, before []Role, log *slog.Logger) *ChainAuditor {
	if log == nil {
		log = slog.Default()
	}
	a := &ChainAuditor{next: next, chain: chain, losses: losses, before: map[Role]bool{}, log: log,
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, r := range before {
		a.before[r] = true
	}
	go a.run()
	return a
}

// AuditBefore appends q to the chain now when its role is audited before
// running or it calls an unsealing function; otherwise it does nothing.
func (a *ChainAuditor) AuditBefore(ctx context.Context, q QueryRecord) error {
	if !a.before[q.Role] && !q.Unseals {
		return nil
	}
	r := a.isolate(chainRecord(q))
	if r == nil {
		a.lose(q, LossRefusedByCheck, errRefusedByCheck)
		return errors.New("the query's audit record was refused by the audit chain")
	}
	if _, err := a.chain.Append(ctx, *r); err != nil {
		a.lose(q, LossAppendFailed, err)
		return fmt.Errorf("appending the query to the audit chain: %w", err)
	}
	a.appended()
	return nil
}

// AuditQuery buffers q's record for the chain and hands q to next.
func (a *ChainAuditor) AuditQuery(ctx context.Context, q QueryRecord) error {
	a.mu.Lock()
	a.buf = append(a.buf, pending{r: chainRecord(q), q: q})
	full := len(a.buf) >= maxBuffered
	a.mu.Unlock()
	if full {
		a.flush(ctx)
	}
	return a.next.AuditQuery(ctx, q)
}

// Lost is the number of records that could not be appended to the chain
// since start.
func (a *ChainAuditor) Lost() int64 { return a.lost.Load() }

// Withheld is the number of records appended with their statement
// withheld because it failed the chain's personal-data check.
func (a *ChainAuditor) Withheld() int64 { return a.withheld.Load() }

// ChainHealth is the chain auditor's state for /healthz.
type ChainHealth struct {
	// Degraded is true while appends fail, and for an hour after a record
	// was lost.
	Degraded bool `json:"degraded"`
	// Lost counts records that could not be appended since start.
	Lost int64 `json:"lost_records"`
	// LastLost is when the last one was lost.
	LastLost *time.Time `json:"last_lost_at,omitempty"`
}

// Health reports whether records are being lost.
func (a *ChainAuditor) Health() ChainHealth {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := ChainHealth{Lost: a.lost.Load(), Degraded: a.failing}
	if !a.lastLost.IsZero() {
		t := a.lastLost.UTC()
		h.LastLost = &t
		if time.Since(a.lastLost) < degradedFor {
			h.Degraded = true
		}
	}
	return h
}

// Close appends what is buffered; call it after the gateway has stopped.
func (a *ChainAuditor) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
}

// Flush appends the buffered records now.
func (a *ChainAuditor) Flush(ctx context.Context) { a.flush(ctx) }

func (a *ChainAuditor) run() {
	defer close(a.done)
	t := time.NewTicker(ChainFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.Flush(context.Background())
		case <-a.stop:
			a.Flush(context.Background())
			return
		}
	}
}

// flush appends the buffered records with one sync. Each record that
// fails the chain's checks is replaced first (isolate); when the batch
// still fails, each record is appended on its own, so that only the ones
// that cannot be appended are lost.
func (a *ChainAuditor) flush(ctx context.Context) {
	a.mu.Lock()
	recs := a.buf
	a.buf = nil
	a.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	ok := make([]pending, 0, len(recs))
	for _, p := range recs {
		if s := a.isolate(p.r); s != nil {
			ok = append(ok, pending{r: *s, q: p.q})
		} else {
			a.lose(p.q, LossRefusedByCheck, errRefusedByCheck)
		}
	}
	if len(ok) == 0 {
		return
	}
	batch := make([]audit.Record, len(ok))
	for i, p := range ok {
		batch[i] = p.r
	}
	if _, err := a.chain.AppendAll(ctx, batch); err == nil {
		a.appended()
		return
	}
	for _, p := range ok {
		if _, err := a.chain.Append(ctx, p.r); err != nil {
			a.lose(p.q, LossAppendFailed, err)
		} else {
			a.appended()
		}
	}
}

var errRefusedByCheck = errors.New("the record fails the audit chain's checks even without its statement")

// isolate returns r if the chain accepts it; else r with its statement
// withheld; else that without its reason, then without its relations;
// nil when even that is refused.
func (a *ChainAuditor) isolate(r audit.Record) *audit.Record {
	if audit.Check(r) == nil {
		return &r
	}
	d := map[string]any{}
	for _, k := range []string{"role", "session", "outcome", "sqlstate", "reason", "relations", "rows", "took_ms", "unseals"} {
		if v, ok := r.Detail[k]; ok {
			d[k] = v
		}
	}
	d["statement"], d["withheld"] = withheldStatement, true
	r.Detail = d
	for _, drop := range []string{"", "reason", "relations"} {
		delete(d, drop)
		if audit.Check(r) == nil {
			a.withheld.Add(1)
			return &r
		}
	}
	return nil
}

// lose counts q's record as lost, and records the loss.
func (a *ChainAuditor) lose(q QueryRecord, why LossReason, err error) {
	a.lost.Add(1)
	now := time.Now()
	a.mu.Lock()
	a.lastLost, a.failing = now, true
	a.mu.Unlock()
	if a.losses != nil {
		a.losses.RecordLoss(chainLoss(q, why, now))
	}
	a.log.Error("SQL gateway: a query's record could not be appended to the audit chain", "reason", string(why), "err", err)
}

func (a *ChainAuditor) appended() {
	a.mu.Lock()
	a.failing = false
	a.mu.Unlock()
}

// chainRecord is q as an audit chain record. The statement is already
// masked (mask.go); the actor is the login, cut at an '@'.
func chainRecord(q QueryRecord) audit.Record {
	d := map[string]any{
		"role": string(q.Role), "session": q.Session, "statement": clipText(q.Statement, 2000),
		"outcome": string(q.Outcome), "rows": q.Rows, "took_ms": q.Duration.Milliseconds(),
	}
	if q.Code != "" {
		d["sqlstate"] = q.Code
	}
	if q.Reason != "" {
		d["reason"] = clipText(q.Reason, 300)
	}
	if len(q.Relations) > 0 {
		d["relations"] = q.Relations
	}
	if q.Unseals {
		d["unseals"] = true
	}
	if q.Outcome != OutcomeOK && q.Outcome != OutcomeStarted {
		d["failed"] = true
	}
	return audit.Record{Kind: audit.KindGatewayQuery, Actor: clipText(actorName(q.User), 128), Detail: d}
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// actorName keeps a login usable as an audit actor: no e-mail address.
func actorName(s string) string {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		s = s[:at]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r == '-' || r == ':' || r == '/' || r == ' ' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

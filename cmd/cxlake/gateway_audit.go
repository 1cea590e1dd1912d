package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

// chainAuditor puts every gateway query in the hash-chained audit log as
// well as in gateway_queries. The gateway calls AuditQuery on each query's
// path, so records are buffered and appended together (one fsync) every
// second, as the table auditor does; a record can be lost only if the
// process dies within that second. The record is the gateway's, whose
// statement already has its constants replaced by $n.
type chainAuditor struct {
	next gateway.Auditor
	log  *audit.Log
	slog *slog.Logger

	mu   sync.Mutex
	buf  []audit.Record
	stop chan struct{}
	done chan struct{}
}

func newChainAuditor(next gateway.Auditor, l *audit.Log, log *slog.Logger) *chainAuditor {
	a := &chainAuditor{next: next, log: l, slog: log, stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *chainAuditor) AuditQuery(ctx context.Context, q gateway.QueryRecord) error {
	var failed error
	if q.Outcome != gateway.OutcomeOK {
		failed = queryFailed(q.Outcome)
	}
	r := governance.QueryRecord(q.User, string(q.Role), q.Statement, q.Rows, q.Duration, failed)
	r.Detail["outcome"] = string(q.Outcome)
	a.mu.Lock()
	a.buf = append(a.buf, r)
	a.mu.Unlock()
	return a.next.AuditQuery(ctx, q)
}

type queryFailed gateway.Outcome

func (e queryFailed) Error() string { return string(e) }

func (a *chainAuditor) run() {
	defer close(a.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flush()
		case <-a.stop:
			a.flush()
			return
		}
	}
}

func (a *chainAuditor) flush() {
	a.mu.Lock()
	recs := a.buf
	a.buf = nil
	a.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	if _, err := a.log.AppendAll(context.Background(), recs); err != nil {
		a.slog.Error("could not append gateway queries to the audit log", "records", len(recs), "err", err)
	}
}

// close appends what is buffered; call it after the gateway has stopped.
func (a *chainAuditor) close() {
	close(a.stop)
	<-a.done
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/internal/ratelog"
)

// metrics is what GET /metrics serves in Prometheus's text format, for
// operators who already run Prometheus: ingest counters (rate() of
// cxlake_ingest_messages_total is the ingest rate), consumer lag per
// partition, dead letters by reason code, model refresh times and gateway
// queries by role and outcome. Labels are topics, partitions, reason codes,
// roles and outcomes: never an identifier, a payload or query text.
type metrics struct {
	reg *prometheus.Registry
	// consumers are the stats of every consumer this process ran, the
	// running one last: the demo hands over from its backfill pipeline to
	// its live one, and the ingest counters are the process's, not a
	// consumer's.
	mu        sync.Mutex
	consumers []*ingest.Stats
	refresh   *prometheus.HistogramVec
	lastRef   prometheus.Gauge
	queries   *prometheus.CounterVec
	queryMS   *prometheus.HistogramVec
	refused   *prometheus.CounterVec
	logins    *prometheus.CounterVec
	// health is the running consumer's (broker reachability, last fetch).
	health atomic.Pointer[func() ingest.Health]
	chain  atomic.Pointer[gateway.ChainAuditor] // the running gateway's audit chain writer
	// lags are read at each scrape (lag.go): the lake's publication lag
	// and the audit mirror's.
	lakeLag  atomic.Pointer[func(context.Context) (int64, time.Duration, error)]
	auditLag atomic.Pointer[func(context.Context) (int64, error)]
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		refresh: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxlake_models_refresh_duration_seconds",
			Help:    "Time a model refresh took, by result (ok, error, canceled: stopped by shutdown).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"result"}),
		lastRef: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cxlake_models_last_refresh_timestamp_seconds",
			Help: "When the last successful model refresh finished (Unix time).",
		}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxlake_gateway_queries_total",
			Help: "Queries the SQL gateway received, by role and outcome (ok, refused, error, canceled, timeout, too_large).",
		}, []string{"role", "outcome"}),
		queryMS: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxlake_gateway_query_duration_seconds",
			Help:    "Time from receiving a gateway query to its last row, by role.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"role"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxlake_gateway_logins_refused_total",
			Help: "Gateway logins refused, by outcome (failed: wrong password or unknown user; throttled: refused by the login throttle).",
		}, []string{"outcome"}),
	}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cxlake_http_refused_total",
		Help: "HTTP requests refused, by endpoint (chatwoot_webhook, privacy_api) and reason (webhook: no_credentials, bad_token, bad_timestamp, bad_signature, too_large, slow_body, busy, bad_body; API: unauthorized, forbidden, too_large, rate_limited).",
	}, []string{"endpoint", "reason"})
	chainCount := func(f func(*gateway.ChainAuditor) int64) func() float64 {
		return func() float64 {
			if ca := m.chain.Load(); ca != nil {
				return float64(f(ca))
			}
			return 0
		}
	}
	auditLost := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "cxlake_gateway_audit_failures_total",
		Help: "Gateway query records that could not be appended to the audit chain (a query that had to be recorded before it ran was refused).",
	}, chainCount((*gateway.ChainAuditor).Lost))
	auditWithheld := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "cxlake_gateway_audit_withheld_total",
		Help: "Gateway query records appended to the audit chain with the query text withheld, because it failed the chain's personal-data check.",
	}, chainCount((*gateway.ChainAuditor).Withheld))
	m.reg.MustRegister(m.refresh, m.lastRef, m.queries, m.queryMS, m.refused, m.logins, ingestCollector{m}, lagCollector{m}, auditLost, auditWithheld,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchGovernance makes /metrics count the privacy API calls refused for
// a missing or wrong token.
func (m *metrics) watchGovernance(g *governance.Governance) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "cxlake_privacy_api_auth_failures_total",
		Help: "Privacy API calls refused for a missing or wrong bearer token.",
	}, func() float64 { return float64(g.APILoginFailures()) }))
}

// handler serves the registry; mount it at GET /metrics.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// watchIngest adds s, the stats of the consumer now running, to what
// /metrics reports: counters are summed over every consumer of the process,
// so they never go back when one consumer hands over to the next; lag and
// the last batch's time are the running consumer's.
func (m *metrics) watchIngest(s *ingest.Stats) {
	if m == nil || s == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.consumers {
		if c == s {
			return
		}
	}
	m.consumers = append(m.consumers, s)
}

func (m *metrics) allConsumers() []*ingest.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*ingest.Stats(nil), m.consumers...)
}

// watchHealth makes /metrics report the consumer's broker reachability and
// the age of its last fetch.
func (m *metrics) watchHealth(h func() ingest.Health) {
	if m != nil {
		m.health.Store(&h)
	}
}

// refusedWebhook counts a refused request to a source's webhook. Labels
// are the source and a fixed reason, never the client's address.
func (m *metrics) refusedWebhook(source, reason string) {
	if m != nil {
		m.refused.WithLabelValues(source+"_webhook", reason).Inc()
	}
}

// refusedStatus names the refusals countRefusals counts, by status.
var refusedStatus = map[int]string{
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       "rate_limited",
}

// countRefusals wraps an endpoint's handler: each answer of 401, 403, 413
// or 429 is counted in cxlake_http_refused_total{endpoint, reason}, and
// logged at most once a minute per source address and reason, with the
// count of lines suppressed (a failed login leaves a trace, a flood does
// not fill the disk).
func (m *metrics) countRefusals(endpoint string, next http.Handler, log *slog.Logger) http.Handler {
	limit := ratelog.New(time.Minute)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		reason, ok := refusedStatus[sw.status]
		if !ok {
			return
		}
		if m != nil {
			m.refused.WithLabelValues(endpoint, reason).Inc()
		}
		src, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			src = r.RemoteAddr
		}
		if ok, n := limit.Allow(src + " " + reason); ok {
			log.Warn("request refused", "endpoint", endpoint, "status", sw.status, "reason", reason, "source", src, "suppressed_last_minute", n)
		}
	})
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushes of long exports).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// refreshed records a model refresh.
func (m *metrics) refreshed(took time.Duration, err error) {
	if m == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		// Stopped by shutdown, not failed.
		m.refresh.WithLabelValues("canceled").Observe(took.Seconds())
		return
	}
	if err != nil {
		m.refresh.WithLabelValues("error").Observe(took.Seconds())
		return
	}
	m.refresh.WithLabelValues("ok").Observe(took.Seconds())
	m.lastRef.SetToCurrentTime()
}

// gatewayQuery records a gateway query.
func (m *metrics) gatewayQuery(role, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.queries.WithLabelValues(role, outcome).Inc()
	m.queryMS.WithLabelValues(role).Observe(took.Seconds())
}

// watchGatewayAudit makes /metrics and /healthz report ca, the running
// gateway's audit chain writer (nil: none).
func (m *metrics) watchGatewayAudit(ca *gateway.ChainAuditor) {
	if m != nil && ca != nil {
		m.chain.Store(ca)
	}
}

// gatewayAuditCheck is gatewayAuditHealth as /healthz reads component
// health: degraded, with the reason, while the chain loses records.
func (m *metrics) gatewayAuditCheck() ingest.Health {
	degraded, detail := m.gatewayAuditHealth()
	if !degraded {
		return ingest.Health{State: ingest.StateOK}
	}
	b, _ := json.Marshal(detail)
	return ingest.Health{State: ingest.StateDegraded, Reason: "gateway audit chain is losing records: " + string(b)}
}

// gatewayAuditHealth is the /healthz check of the gateway's audit chain:
// degraded while records cannot be appended, and for an hour after one
// was lost.
func (m *metrics) gatewayAuditHealth() (degraded bool, detail any) {
	ca := m.chain.Load()
	if ca == nil {
		return false, nil
	}
	h := ca.Health()
	return h.Degraded, h
}

// countQueries returns an Auditor that counts each query, then hands it
// to next (which writes gateway_queries).
func (m *metrics) countQueries(next gateway.Auditor) gateway.Auditor {
	return countingAuditor{next: next, m: m}
}

type countingAuditor struct {
	next gateway.Auditor
	m    *metrics
}

func (a countingAuditor) AuditQuery(ctx context.Context, q gateway.QueryRecord) error {
	a.m.gatewayQuery(string(q.Role), string(q.Outcome), q.Duration)
	return a.next.AuditQuery(ctx, q)
}

// countLogins returns a LoginRecorder that counts each refused login, then
// hands it to next (which writes gateway_logins).
func (m *metrics) countLogins(next gateway.LoginRecorder) gateway.LoginRecorder {
	return countingLogins{next: next, m: m}
}

type countingLogins struct {
	next gateway.LoginRecorder
	m    *metrics
}

func (c countingLogins) RecordLogin(r gateway.LoginRecord) {
	c.m.logins.WithLabelValues(string(r.Outcome)).Inc()
	c.next.RecordLogin(r)
}

// AuditBefore hands q to next when next records queries before they run.
func (a countingAuditor) AuditBefore(ctx context.Context, q gateway.QueryRecord) error {
	if b, ok := a.next.(gateway.BeforeAuditor); ok {
		return b.AuditBefore(ctx, q)
	}
	return nil
}

// ingestCollector reads the consumers' Stats at each scrape.
type ingestCollector struct{ m *metrics }

var (
	descMessages = prometheus.NewDesc("cxlake_ingest_messages_total", "Messages read from Kafka (or a file).", nil, nil)
	descAccepted = prometheus.NewDesc("cxlake_ingest_events_accepted_total", "New events stored.", nil, nil)
	descDups     = prometheus.NewDesc("cxlake_ingest_duplicates_total", "Events skipped as already stored (redelivery, producer re-send).", nil, nil)
	descSkipped  = prometheus.NewDesc("cxlake_ingest_skipped_total", "Source messages skipped with a reason (skipped_messages).", nil, nil)
	descRevised  = prometheus.NewDesc("cxlake_ingest_revisions_total", "Edits and deletions of stored messages recorded (message_revisions).", nil, nil)
	descBatches  = prometheus.NewDesc("cxlake_ingest_batches_total", "Batches committed.", nil, nil)
	descCommitF  = prometheus.NewDesc("cxlake_ingest_commit_failures_total", "Offset commits that failed for good (the batch was durable).", nil, nil)
	descDead     = prometheus.NewDesc("cxlake_ingest_dead_letters_total", "Messages rejected as dead letters, by reason code.", []string{"reason"}, nil)
	descLag      = prometheus.NewDesc("cxlake_ingest_lag_messages", "Messages behind the partition's high-water mark when its last batch was fetched.", []string{"topic", "partition"}, nil)
	descLastB    = prometheus.NewDesc("cxlake_ingest_last_batch_timestamp_seconds", "When the last batch committed (Unix time).", nil, nil)
	descBroker   = prometheus.NewDesc("cxlake_ingest_broker_reachable", "1 while Kafka answers the consumer, 0 from a failed fetch, commit or probe to the next that works.", nil, nil)
	descFetchAge = prometheus.NewDesc("cxlake_ingest_last_fetch_age_seconds", "Seconds since messages were last fetched from Kafka (grows on an idle topic too; read it with cxlake_ingest_broker_reachable).", nil, nil)
	descState    = prometheus.NewDesc("cxlake_ingest_up", "1 while ingest runs (ok or degraded), 0 once it has stopped on an error.", nil, nil)
	descSkew     = prometheus.NewDesc("cxlake_ingest_clock_skew_seconds", "Producers' clock skew, in the topic's last part: its latest occurred_at minus the ingest clock (positive: stamped ahead; negative: latency or backlog).", []string{"topic"}, nil)
	descSkewMax  = prometheus.NewDesc("cxlake_ingest_clock_skew_max_seconds", "The largest cxlake_ingest_clock_skew_seconds of the topic since start.", []string{"topic"}, nil)
)

func (c ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descAccepted, descDups, descSkipped, descRevised, descBatches, descCommitF, descDead, descLag, descLastB,
		descBroker, descFetchAge, descState, descSkew, descSkewMax} {
		ch <- d
	}
}

func (c ingestCollector) Collect(ch chan<- prometheus.Metric) {
	if hf := c.m.health.Load(); hf != nil {
		h := (*hf)()
		gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
		gauge(descBroker, b2f(h.BrokerReachable))
		gauge(descState, b2f(h.State != ingest.StateStopped))
		if !h.LastFetch.IsZero() {
			gauge(descFetchAge, time.Since(h.LastFetch).Seconds())
		}
	}
	all := c.m.allConsumers()
	if len(all) == 0 {
		return
	}
	counter := func(d *prometheus.Desc, get func(*ingest.Stats) int64) {
		var v int64
		for _, s := range all {
			v += get(s)
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descMessages, func(s *ingest.Stats) int64 { return s.Messages.Load() })
	counter(descAccepted, func(s *ingest.Stats) int64 { return s.Accepted.Load() })
	counter(descDups, func(s *ingest.Stats) int64 { return s.Duplicates.Load() })
	counter(descSkipped, func(s *ingest.Stats) int64 { return s.Skipped.Load() })
	counter(descRevised, func(s *ingest.Stats) int64 { return s.Revised.Load() })
	counter(descBatches, func(s *ingest.Stats) int64 { return s.Batches.Load() })
	counter(descCommitF, func(s *ingest.Stats) int64 { return s.CommitFailures.Load() })
	dead := map[string]int64{}
	for _, s := range all {
		for reason, n := range s.DeadLettersByReason() {
			dead[reason] += n
		}
	}
	for reason, n := range dead {
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.CounterValue, float64(n), reason)
	}
	cur := all[len(all)-1]
	for tp, lag := range cur.Lag() {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag), tp.Topic, strconv.Itoa(tp.Partition))
	}
	for topic, sk := range cur.ClockSkew() {
		ch <- prometheus.MustNewConstMetric(descSkew, prometheus.GaugeValue, sk.Last.Seconds(), topic)
		ch <- prometheus.MustNewConstMetric(descSkewMax, prometheus.GaugeValue, sk.Max.Seconds(), topic)
	}
	var last time.Time
	for _, s := range all {
		if t := s.LastBatchAt(); t.After(last) {
			last = t
		}
	}
	if !last.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastB, prometheus.GaugeValue, float64(last.UnixNano())/1e9)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

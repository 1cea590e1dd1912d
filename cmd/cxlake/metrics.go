package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/ingest"
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
	}
	m.reg.MustRegister(m.refresh, m.lastRef, m.queries, m.queryMS, ingestCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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

// ingestCollector reads the consumers' Stats at each scrape.
type ingestCollector struct{ m *metrics }

var (
	descMessages = prometheus.NewDesc("cxlake_ingest_messages_total", "Messages read from Kafka (or a file).", nil, nil)
	descAccepted = prometheus.NewDesc("cxlake_ingest_events_accepted_total", "New events stored.", nil, nil)
	descDups     = prometheus.NewDesc("cxlake_ingest_duplicates_total", "Events skipped as already stored (redelivery, producer re-send).", nil, nil)
	descSkipped  = prometheus.NewDesc("cxlake_ingest_skipped_total", "Source messages skipped with a reason (skipped_messages).", nil, nil)
	descBatches  = prometheus.NewDesc("cxlake_ingest_batches_total", "Batches committed.", nil, nil)
	descCommitF  = prometheus.NewDesc("cxlake_ingest_commit_failures_total", "Offset commits that failed for good (the batch was durable).", nil, nil)
	descDead     = prometheus.NewDesc("cxlake_ingest_dead_letters_total", "Messages rejected as dead letters, by reason code.", []string{"reason"}, nil)
	descLag      = prometheus.NewDesc("cxlake_ingest_lag_messages", "Messages behind the partition's high-water mark when its last batch was fetched.", []string{"topic", "partition"}, nil)
	descLastB    = prometheus.NewDesc("cxlake_ingest_last_batch_timestamp_seconds", "When the last batch committed (Unix time).", nil, nil)
)

func (c ingestCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descAccepted, descDups, descSkipped, descBatches, descCommitF, descDead, descLag, descLastB} {
		ch <- d
	}
}

func (c ingestCollector) Collect(ch chan<- prometheus.Metric) {
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

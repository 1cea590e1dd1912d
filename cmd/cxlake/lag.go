package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The lags /metrics reports: how far the Parquet lake is behind DuckDB
// (warehouse.PublicationLag) and how far the audit_log table is behind the
// audit chain (governance.MirrorLag). Each is read at scrape time, with a
// short deadline; one that cannot be read is left out of that scrape.

var (
	descLakeLagEvents  = prometheus.NewDesc("cxlake_lake_publication_lag_events", "Events committed to DuckDB and not yet published to the Parquet lake.", nil, nil)
	descLakeLagSeconds = prometheus.NewDesc("cxlake_lake_publication_lag_seconds", "Age of the oldest committed batch not yet published to the lake (0 when the lake is current).", nil, nil)
	descAuditLag       = prometheus.NewDesc("cxlake_audit_mirror_lag_records", "Audit records in the chain not yet mirrored into the audit_log table.", nil, nil)
)

// watchLags makes /metrics report the lake's and the audit mirror's lag;
// either function may be nil.
func (m *metrics) watchLags(lake func(context.Context) (int64, time.Duration, error), mirror func(context.Context) (int64, error)) {
	if m == nil {
		return
	}
	if lake != nil {
		m.lakeLag.Store(&lake)
	}
	if mirror != nil {
		m.auditLag.Store(&mirror)
	}
}

type lagCollector struct{ m *metrics }

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLakeLagEvents
	ch <- descLakeLagSeconds
	ch <- descAuditLag
}

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if f := c.m.lakeLag.Load(); f != nil {
		if events, age, err := (*f)(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(descLakeLagEvents, prometheus.GaugeValue, float64(events))
			ch <- prometheus.MustNewConstMetric(descLakeLagSeconds, prometheus.GaugeValue, age.Seconds())
		}
	}
	if f := c.m.auditLag.Load(); f != nil {
		if n, err := (*f)(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(descAuditLag, prometheus.GaugeValue, float64(n))
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

// scrape serves m on the real HTTP server's mux and reads /metrics,
// checking that it parses as the Prometheus text format.
func scrape(t *testing.T, m *metrics) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	web := newHTTPServer(config.DefaultHTTP(), slog.Default())
	web.ops.Handle("GET /metrics", m.handler())
	srv := httptest.NewServer(web.ops)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text format: %v\n%s", err, raw)
	}
	return fams, string(raw)
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for k, v := range labels {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// TestMetrics ingests a valid event and a malformed one that carries an
// email and a phone number, then scrapes /metrics: the counts are there,
// dead letters by reason code, and no personal data anywhere.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	ndjson := `{"schema":"cx.event/v1","event_id":"m-1","type":"message","occurred_at":"2026-11-21T14:03:05Z","source":"test","channel":"email","conversation_id":"c-1","contact":{"email":"ana.souza@example.com"},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"Meu pedido não chegou"}}
{"schema":"cx.event/v1","event_id":"m-2","type":"message","occurred_at":"yesterday","channel":"whatsapp","contact":{"phone":"+5511987654321","email":"bruno.lima@example.com"}}
`
	var stats ingest.Stats
	if err := ingest.Load(ctx, wh, strings.NewReader(ndjson), "t.ndjson", 100, 1<<20, &stats); err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	fams, _ := scrape(t, m)
	if _, ok := fams["cxlake_ingest_messages_total"]; ok {
		t.Errorf("ingest metrics before any consumer runs")
	}
	m.watchIngest(&stats)
	m.refreshed(1500*time.Millisecond, nil)
	m.refreshed(200*time.Millisecond, context.DeadlineExceeded)
	m.gatewayQuery("grafana", "ok", 3*time.Millisecond)
	m.gatewayQuery("grafana", "ok", 5*time.Millisecond)
	m.gatewayQuery("analyst", "refused", time.Millisecond)
	var recorded []gateway.LoginRecord
	lr := m.countLogins(loginFunc(func(r gateway.LoginRecord) { recorded = append(recorded, r) }))
	for _, o := range []gateway.LoginOutcome{gateway.LoginFailed, gateway.LoginThrottled, gateway.LoginThrottled} {
		lr.RecordLogin(gateway.LoginRecord{At: time.Now(), User: "ana", Source: "10.1.2.3", Outcome: o})
	}

	fams, raw := scrape(t, m)
	if len(recorded) != 3 {
		t.Errorf("the login counter handed on %d of 3 records", len(recorded))
	}
	if got := value(t, fams, "cxlake_gateway_logins_refused_total", map[string]string{"outcome": "throttled"}); got != 2 {
		t.Errorf("throttled logins = %v", got)
	}
	if got := value(t, fams, "cxlake_gateway_logins_refused_total", map[string]string{"outcome": "failed"}); got != 1 {
		t.Errorf("failed logins = %v", got)
	}
	if strings.Contains(raw, "10.1.2.3") {
		t.Errorf("/metrics names a source address")
	}
	for name, want := range map[string]float64{
		"cxlake_ingest_messages_total":        2,
		"cxlake_ingest_events_accepted_total": 1,
		"cxlake_ingest_batches_total":         1,
	} {
		if got := value(t, fams, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	dead := fams["cxlake_ingest_dead_letters_total"]
	if dead == nil || len(dead.Metric) != 1 || dead.Metric[0].Counter.GetValue() != 1 {
		t.Fatalf("dead letters by reason: %v", dead)
	}
	code := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, l := range dead.Metric[0].Label {
		if l.GetName() != "reason" || !code.MatchString(l.GetValue()) {
			t.Errorf("dead letter label %s=%q is not a reason code", l.GetName(), l.GetValue())
		}
	}
	if got := value(t, fams, "cxlake_models_refresh_duration_seconds", map[string]string{"result": "ok"}); got != 1 {
		t.Errorf("ok refreshes = %v", got)
	}
	if got := value(t, fams, "cxlake_models_refresh_duration_seconds", map[string]string{"result": "error"}); got != 1 {
		t.Errorf("failed refreshes = %v", got)
	}
	if got := value(t, fams, "cxlake_models_last_refresh_timestamp_seconds", nil); time.Since(time.Unix(int64(got), 0)) > time.Minute {
		t.Errorf("last refresh at %v", got)
	}
	if got := value(t, fams, "cxlake_gateway_queries_total", map[string]string{"role": "grafana", "outcome": "ok"}); got != 2 {
		t.Errorf("grafana queries = %v", got)
	}
	if got := value(t, fams, "cxlake_gateway_queries_total", map[string]string{"role": "analyst", "outcome": "refused"}); got != 1 {
		t.Errorf("refused analyst queries = %v", got)
	}
	if _, ok := fams["cxlake_ingest_lag_messages"]; ok {
		t.Errorf("a file load has no lag, but /metrics reports one")
	}
	for _, pii := range []string{"example.com", "ana.souza", "bruno", "5511987654321", "pedido", "yesterday", "m-1", "m-2", "c-1"} {
		if strings.Contains(raw, pii) {
			t.Errorf("/metrics contains %q", pii)
		}
	}
}

// The producers' clock skew per topic: the last part's latest occurred_at
// minus the ingest clock, and the largest since start. Labels are topics,
// never a producer's identifier.
func TestMetricsClockSkew(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	rec := func(topic string, at time.Time) warehouse.Record {
		return warehouse.Record{Topic: topic, Event: event.Event{OccurredAt: at}}
	}
	var stats ingest.Stats
	m := newMetrics()
	m.watchIngest(&stats)
	// First part: cx.events stamped 90 s ahead (and an hour behind);
	// evolution 2 s behind.
	stats.ObserveClockSkew([]warehouse.Record{rec("cx.events", now.Add(-time.Hour)), rec("cx.events", now.Add(90*time.Second)),
		rec("evolution.global.messages.upsert", now.Add(-2*time.Second))}, now)
	// Second part, a minute later: cx.events' latest is 10 s behind.
	stats.ObserveClockSkew([]warehouse.Record{rec("cx.events", now.Add(50*time.Second))}, now.Add(time.Minute))
	fams, _ := scrape(t, m)
	for _, c := range []struct {
		name, topic string
		want        float64
	}{
		{"cxlake_ingest_clock_skew_seconds", "cx.events", -10},
		{"cxlake_ingest_clock_skew_max_seconds", "cx.events", 90},
		{"cxlake_ingest_clock_skew_seconds", "evolution.global.messages.upsert", -2},
		{"cxlake_ingest_clock_skew_max_seconds", "evolution.global.messages.upsert", -2},
	} {
		if got := value(t, fams, c.name, map[string]string{"topic": c.topic}); got != c.want {
			t.Errorf("%s{topic=%s} = %v, want %v", c.name, c.topic, got, c.want)
		}
	}
}

type loginFunc func(gateway.LoginRecord)

func (f loginFunc) RecordLogin(r gateway.LoginRecord) { f(r) }

// TestComposeDemoCommandParses: the demo command docker-compose.yml runs
// uses only flags the demo has, with values it accepts.
func TestComposeDemoCommandParses(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	cmd := c.Services["cxlake"].Command
	if len(cmd) < 2 || cmd[0] != "demo" {
		t.Fatalf("compose runs %v", cmd)
	}
	// Parsing stops at -h with flag.ErrHelp only when every flag before it
	// is defined and its value parses.
	_, err = capture(t, func() error { return runDemo(context.Background(), append(cmd[1:], "-h")) })
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("cxlake %v: %v", cmd, err)
	}
}

// brokenChain refuses every append, like a full disk.
type brokenChain struct{}

func (brokenChain) Append(context.Context, audit.Record) (int64, error) {
	return 0, errors.New("no space left on device")
}

func (brokenChain) AppendAll(context.Context, []audit.Record) (int64, error) {
	return 0, errors.New("no space left on device")
}

type nopAuditor struct{}

func (nopAuditor) AuditQuery(context.Context, gateway.QueryRecord) error { return nil }

// TestGatewayAuditFailureIsVisible: a gateway query record the audit chain
// cannot take is counted in cxlake_gateway_audit_failures_total and turns
// /healthz to degraded with the reason; the compliance query that had to be recorded
// first is refused (through the counting auditor the gateway is wired with).
func TestGatewayAuditFailureIsVisible(t *testing.T) {
	m := newMetrics()
	ca := gateway.NewChainAuditor(nopAuditor{}, brokenChain{}, nil, []gateway.Role{gateway.RoleCompliance},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ca.Close()
	m.watchGatewayAudit(ca)
	web := newHTTPServer(config.DefaultHTTP(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	web.ops.Handle("GET /metrics", m.handler())
	web.watch(m.gatewayAuditCheck)
	srv := httptest.NewServer(web.ops)
	defer srv.Close()
	health := func() (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if code, body := health(); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz before any failure: %d %v", code, body)
	}
	fams, _ := scrape(t, m)
	if v := value(t, fams, "cxlake_gateway_audit_failures_total", nil); v != 0 {
		t.Fatalf("failures before any: %v", v)
	}

	auditor := m.countQueries(ca)
	before, ok := auditor.(gateway.BeforeAuditor)
	if !ok {
		t.Fatal("the counting auditor hides the chain's AuditBefore: compliance queries would run unrecorded")
	}
	q := gateway.QueryRecord{User: "comp", Role: gateway.RoleCompliance, Statement: "SELECT count_star() FROM contact_identities",
		Outcome: gateway.OutcomeStarted}
	if err := before.AuditBefore(context.Background(), q); err == nil {
		t.Fatal("a compliance query was let run although the chain could not record it")
	}
	// An analyst's query is not recorded before it runs.
	q.Role = gateway.RoleAnalyst
	if err := before.AuditBefore(context.Background(), q); err != nil {
		t.Fatalf("analyst: %v", err)
	}
	fams, _ = scrape(t, m)
	if v := value(t, fams, "cxlake_gateway_audit_failures_total", nil); v != 1 {
		t.Errorf("cxlake_gateway_audit_failures_total %v, want 1", v)
	}
	// Degraded answers 200, as a broker outage does (docs/operations.md):
	// the process must not be restarted for it, but the reason says what
	// was lost.
	code, body := health()
	reason, _ := body["reason"].(string)
	if code != http.StatusOK || body["status"] != "degraded" || !strings.Contains(reason, `"lost_records":1`) {
		t.Errorf("healthz after a lost record: %d %v", code, body)
	}
}

// TestMetricsSurviveHandOver: the demo's backfill consumer hands over to
// its live one; the ingest counters keep counting from where they were, and
// a refresh cancelled by shutdown is "canceled", not "error".
func TestMetricsSurviveHandOver(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	event := func(id string) string {
		return `{"schema":"cx.event/v1","event_id":"` + id + `","type":"message","occurred_at":"2026-11-21T14:03:05Z","source":"test","channel":"email","conversation_id":"c-1","contact":{"email":"a@example.com"},"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"oi"}}` + "\n"
	}
	var backfill, live ingest.Stats
	if err := ingest.Load(ctx, wh, strings.NewReader(event("e-1")+event("e-2")+event("e-3")), "a.ndjson", 100, 1<<20, &backfill); err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	m.watchIngest(&backfill)
	m.refreshed(time.Second, fmt.Errorf("refreshing models: %w", context.Canceled))
	m.watchIngest(&live) // the hand-over
	if err := ingest.Load(ctx, wh, strings.NewReader(event("e-4")+`{"broken`+"\n"), "b.ndjson", 100, 1<<20, &live); err != nil {
		t.Fatal(err)
	}
	m.watchIngest(&live) // watching the same consumer twice counts it once
	fams, _ := scrape(t, m)
	for name, want := range map[string]float64{
		"cxlake_ingest_messages_total":        5,
		"cxlake_ingest_events_accepted_total": 4,
		"cxlake_ingest_batches_total":         2,
	} {
		if got := value(t, fams, name, nil); got != want {
			t.Errorf("%s = %v after the hand-over, want %v (both consumers)", name, got, want)
		}
	}
	if got := value(t, fams, "cxlake_models_refresh_duration_seconds", map[string]string{"result": "canceled"}); got != 1 {
		t.Errorf("canceled refreshes = %v, want 1", got)
	}
	for _, mf := range fams["cxlake_models_refresh_duration_seconds"].GetMetric() {
		for _, l := range mf.GetLabel() {
			if l.GetValue() == "error" {
				t.Errorf("a refresh cancelled by shutdown is counted as an error")
			}
		}
	}
}

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance/audit"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cxlake/cxlake/dashboards"
	"github.com/cxlake/cxlake/gateway"
)

// TestDemoServesSQL runs the live demo and connects with the psql command
// lines it prints, as a person would: the analyst reads the marts, the
// grafana user the KPIs only. It also scrapes the /metrics the demo serves
// with --http-addr: ingest, model refreshes, and those gateway queries.
func TestDemoServesSQL(t *testing.T) {
	t.Setenv(EnvDemoPassword, "demo-secret")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = old }()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	data := filepath.Join(t.TempDir(), "demo")
	go func() {
		done <- runDemo(ctx, []string{"--events", "3000", "--data", data, "--pg-addr", "127.0.0.1:0", "--rate", "50", "--http-addr", "127.0.0.1:0"})
		w.Close()
	}()
	// "  analyst     PGPASSWORD=demo-secret psql -h 127.0.0.1 -p 41234 -U analyst cxlake"
	line := regexp.MustCompile(`^\s+(\w+)\s+PGPASSWORD=(\S+) psql -h (\S+) -p (\d+) -U (\w+) (\w+)$`)
	metricsLine := regexp.MustCompile(`^\s+metrics\s+(http://\S+/metrics)`)
	tlsLine := regexp.MustCompile(`^\s+TLS\s+psql "host=(\S+) port=(\d+) dbname=cxlake sslmode=require" -U <user>  \(certificate (\S+)\)$`)
	var tlsFound []string
	var metricsURL string
	var reportToken, reportURL string
	found := map[string][]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(2 * time.Minute)
	for len(found) < 4 || tlsFound == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before printing the psql lines: %v", <-done)
			}
			if m := line.FindStringSubmatch(l); m != nil {
				found[m[1]] = m
			}
			if m := metricsLine.FindStringSubmatch(l); m != nil {
				metricsURL = m[1]
			}
			if m := tlsLine.FindStringSubmatch(l); m != nil {
				tlsFound = m
			}
			if m := reportCurlLine.FindStringSubmatch(l); m != nil {
				reportToken, reportURL = m[1], m[2]
			}
		case <-timeout:
			t.Fatalf("no psql lines after 2 minutes; found %v", found)
		}
	}
	go func() {
		for range lines {
		}
	}()
	for _, role := range []string{"leadership", "grafana", "analyst", "compliance"} {
		if m := found[role]; m == nil || m[2] != "demo-secret" || m[5] != role || m[6] != "cxlake" {
			t.Fatalf("psql line for %s: %v", role, m)
		}
	}
	url := func(role string) string {
		m := found[role]
		return "postgres://" + m[5] + ":" + m[2] + "@" + m[3] + ":" + m[4] + "/" + m[6] + "?sslmode=disable"
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ana, err := pgx.Connect(cctx, url("analyst"))
	if err != nil {
		t.Fatal(err)
	}
	defer ana.Close(cctx)
	// The demo serves TLS from its self-signed pair in the data directory.
	if tlsFound[3] != filepath.Join(data, "gateway-tls.crt") {
		t.Fatalf("TLS line names certificate %s, want the data directory's", tlsFound[3])
	}
	tlsConn, err := pgx.Connect(cctx, "postgres://analyst:demo-secret@"+tlsFound[1]+":"+tlsFound[2]+"/cxlake?sslmode=require")
	if err != nil {
		t.Fatalf("sslmode=require: %v", err)
	}
	if _, ok := tlsConn.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("sslmode=require connected without TLS: %T", tlsConn.PgConn().Conn())
	}
	tlsConn.Close(cctx)
	var conversations int64
	if err := ana.QueryRow(cctx, "select count(*) from conversations").Scan(&conversations); err != nil || conversations == 0 {
		t.Fatalf("analyst: %d conversations, %v", conversations, err)
	}
	if err := ana.QueryRow(cctx, "select count(*) from conversations where channel = 'whatsapp' and frt_s > 4242").Scan(&conversations); err != nil {
		t.Fatalf("analyst: %v", err)
	}
	graf, err := pgx.Connect(cctx, url("grafana"))
	if err != nil {
		t.Fatal(err)
	}
	defer graf.Close(cctx)
	var days int64
	if err := graf.QueryRow(cctx, "select count(distinct day) from kpi_daily").Scan(&days); err != nil || days == 0 {
		t.Fatalf("grafana: %d days of KPIs, %v", days, err)
	}
	if _, err := graf.Exec(cctx, "select * from conversations"); err == nil || !strings.Contains(err.Error(), "not available to role grafana") {
		t.Fatalf("grafana read conversations: %v", err)
	}
	var channels int64
	if err := graf.QueryRow(cctx, "select count(distinct channel) from kpi_counts_daily").Scan(&channels); err != nil || channels == 0 {
		t.Fatalf("grafana: %d channels in the dashboards' mart, %v", channels, err)
	}
	checkDemoMetrics(t, metricsURL)
	checkDemoReport(t, reportToken, reportURL)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo did not stop")
	}
	// Every gateway query is in the hash-chained audit log too, with its
	// literals masked.
	var analystQueries int
	err = audit.ReadRecords(context.Background(), filepath.Join(data, audit.Dir), 0, func(r audit.Record) bool {
		if r.Kind != audit.KindGatewayQuery {
			return true
		}
		st, _ := r.Detail["statement"].(string)
		if strings.Contains(st, "whatsapp") || strings.Contains(st, "4242") {
			t.Errorf("audit record %d keeps a literal: %s", r.Index, st)
		}
		if r.Actor == "analyst" && strings.Contains(st, "conversations") {
			analystQueries++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if analystQueries < 2 {
		t.Fatalf("the audit chain holds %d of the analyst's 2 queries", analystQueries)
	}
}

func TestGatewayVerifierCommand(t *testing.T) {
	in, err := os.CreateTemp(t.TempDir(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	in.WriteString("s3cret\n")
	in.Seek(0, 0)
	oldIn := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = oldIn }()
	out, err := capture(t, func() error { return runGatewayVerifier(context.Background(), nil) })
	if err != nil || !strings.HasPrefix(out, "SCRAM-SHA-256$4096:") {
		t.Fatalf("verifier: %q %v", out, err)
	}
	if _, err := capture(t, func() error { return runGatewayVerifier(context.Background(), []string{"s3cret"}) }); err == nil {
		t.Fatal("a password on the command line was accepted")
	}
}

func TestPgAddrErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	cfg := filepath.Join(t.TempDir(), "cxlake.yaml")
	if err := os.WriteFile(cfg, []byte("data: "+filepath.Join(t.TempDir(), "data")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := capture(t, func() error { return runRun(ctx, []string{"--config", cfg, "--pg-addr", "nowhere"}) })
	if err == nil || !strings.Contains(err.Error(), "--pg-addr") || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("run --pg-addr nowhere: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = capture(t, func() error {
		return runDemo(ctx, []string{"--once", "--events", "10", "--data", t.TempDir(), "--pg-addr", ln.Addr().String()})
	})
	if err == nil || !strings.Contains(err.Error(), "--pg-addr") || !strings.Contains(err.Error(), "free host:port") {
		t.Fatalf("demo on a busy port: %v", err)
	}
}

// checkDemoMetrics scrapes the demo's /metrics once the gateway has
// audited the test's queries (the auditor flushes every second).
func checkDemoMetrics(t *testing.T, url string) {
	t.Helper()
	if url == "" {
		t.Fatal("the demo did not print its metrics address")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		ok := fams["cxlake_ingest_messages_total"] != nil && fams["cxlake_models_refresh_duration_seconds"] != nil &&
			fams["cxlake_gateway_queries_total"] != nil
		if ok {
			// The live phase's consumer counts from its own start.
			if v := value(t, fams, "cxlake_ingest_messages_total", nil); v <= 0 {
				ok = false
			}
			refused := 0.0
			for _, m := range fams["cxlake_gateway_queries_total"].Metric {
				labels := map[string]string{}
				for _, l := range m.Label {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["role"] == "grafana" && labels["outcome"] == "refused" {
					refused += m.Counter.GetValue()
				}
			}
			ok = ok && refused >= 1
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for n := range fams {
				if strings.HasPrefix(n, "cxlake_") {
					names = append(names, n)
				}
			}
			t.Fatalf("/metrics still lacks ingest, refresh or the refused grafana query; it has %v", names)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGatewayPolicyAllowsTheDashboards: the grafana role reads every mart
// the dashboards read, and still none of the person-level marts.
func TestGatewayPolicyAllowsTheDashboards(t *testing.T) {
	allowed := gatewayPolicy().Relations(gateway.RoleGrafana)
	for _, r := range dashboards.Relations {
		if !slices.Contains(allowed, r) {
			t.Errorf("the grafana role may not read %s, which the dashboards read", r)
		}
	}
	for _, r := range []string{"conversations", "timeline", "contacts", "contact_identities", "kpi_daily_agent", "events", "dead_letters", "gateway_queries", "privacy_requests", "consent_state"} {
		if slices.Contains(allowed, r) {
			t.Errorf("the grafana role may read %s", r)
		}
	}
}

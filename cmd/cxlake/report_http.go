package main

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/reports"
	"github.com/cxlake/cxlake/warehouse"
)

// The live KPI report on the HTTP address of run and demo: GET
// /v1/reports/kpi, read through the process's own warehouse handle while
// ingest runs, protected by the privacy API's bearer-token check.

const kpiReportPath = "/v1/reports/kpi"

// mountKPIReport registers the live KPI report on web.
func mountKPIReport(web *httpServer, wh *warehouse.Warehouse, targets map[string]reports.Target, gov *governance.Governance, log *slog.Logger) {
	web.api.Handle("GET "+kpiReportPath, reports.KPIHandler(wh.DB, targets, gov.Authorize, log))
}

// kpiReportCurl is a command line that fetches the HTML report from addr
// with token.
func kpiReportCurl(addr, token string) string {
	u := url.URL{Scheme: "http", Host: addr, Path: kpiReportPath, RawQuery: "format=html"}
	return `curl -fsS -H "Authorization: Bearer ` + token + `" "` + u.String() + `" -o kpi.html`
}

// demoToken is the bearer token of the demo's HTTP APIs: CXLAKE_DEMO_PASSWORD
// when it is long enough for one (16 characters), otherwise random. The
// demo prints it in its curl line.
func demoToken() (string, error) {
	if pw := os.Getenv(EnvDemoPassword); len(pw) >= 16 {
		return pw, nil
	}
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making the demo's API token: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

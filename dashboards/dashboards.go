// Package dashboards owns cxlake's Grafana dashboards and how they reach a
// Grafana: the three dashboards as Grafana JSON (json/*.json, embedded),
// the data source they read (Grafana's built-in PostgreSQL data source
// pointed at the cxlake SQL gateway as the grafana role), the provisioning
// files for people who provision from files (provisioning/), and Provision,
// which creates or updates the data source, a folder and the dashboards
// through Grafana's HTTP API and changes nothing when they are current.
// Given the KPI targets (report.targets), Provision colours the leadership
// dashboard's headline stats with them (targets.go); the shipped JSON
// carries none.
//
// The dashboards read marts only, through the gateway, and only the marts
// the grafana role may read (docs/dashboards.md lists them). Their SQL uses
// Grafana's macros ($__timeFilter, $__timeGroupAlias, $__interval, ...),
// the multi-value variables $channel and $team, and the time zone ${tz}
// (timezone.go); the tests expand them the way Grafana does and run every
// panel through the gateway.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

//go:embed json/*.json
var files embed.FS

// Identifiers shared by the dashboards, the provisioning files and Provision.
const (
	// DataSourceUID is the uid every panel's data source reference names.
	DataSourceUID = "cxlake"
	// DataSourceName is the data source's name in Grafana.
	DataSourceName = "cxlake"
	// DataSourceType is Grafana's built-in PostgreSQL data source.
	DataSourceType = "grafana-postgresql-datasource"
	// FolderUID and FolderTitle name the folder the dashboards go in.
	FolderUID   = "cxlake"
	FolderTitle = "cxlake"
)

// Relations are the marts the dashboards read, sorted. The gateway's
// policy must let the grafana role read every one of them (cmd/cxlake
// allows them where it wires the gateway); a test checks that the
// dashboards' SQL names no other relation, and that each is a mart
// documented free of personal data.
var Relations = []string{
	"audit_chain_checks",
	"audit_chain_losses_hourly",
	"channel_slas",
	"consent_daily",
	"cost_model",
	"dead_letters_minutely",
	"frt_distribution_quarter_hourly",
	"gateway_access_hourly",
	"gateway_relations_hourly",
	"ingest_minutely",
	"kpi_counts_daily",
	"kpi_counts_quarter_hourly",
	"message_volumes_quarter_hourly",
	"model_freshness",
	"privacy_requests_daily",
	"retention_results",
	"shared_identifiers_by_kind",
}

// Dashboard is one dashboard as shipped.
type Dashboard struct {
	// File is its file name under json/ (and under the provisioning path).
	File string
	// UID and Title are the dashboard's own, read from its JSON.
	UID, Title string
	// JSON is the file's content.
	JSON []byte
}

// Model returns the dashboard JSON decoded, a fresh copy on every call.
func (d Dashboard) Model() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(d.JSON, &m); err != nil {
		return nil, fmt.Errorf("decoding dashboard %s: %w", d.File, err)
	}
	return m, nil
}

// All returns the shipped dashboards, sorted by file name. It fails only if
// an embedded file is not a dashboard with a uid and a title, which the
// tests rule out.
func All() ([]Dashboard, error) {
	entries, err := fs.ReadDir(files, "json")
	if err != nil {
		return nil, fmt.Errorf("reading embedded dashboards: %w", err)
	}
	var out []Dashboard
	for _, e := range entries {
		raw, err := fs.ReadFile(files, path.Join("json", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading embedded dashboard %s: %w", e.Name(), err)
		}
		var head struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("decoding dashboard %s: %w", e.Name(), err)
		}
		if head.UID == "" || head.Title == "" {
			return nil, fmt.Errorf("dashboard %s has no uid or title", e.Name())
		}
		out = append(out, Dashboard{File: e.Name(), UID: head.UID, Title: head.Title, JSON: raw})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

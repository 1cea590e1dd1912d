package dashboards

import "sort"

// ProvisionedDashboardsPath is where the dashboard provider file
// (provisioning/dashboards/cxlake.yaml) has Grafana read the JSON files:
// docker-compose.yml mounts dashboards/json there.
const ProvisionedDashboardsPath = "/var/lib/grafana/dashboards/cxlake"

// DefaultGateway is the SQL gateway's default address (gateway.DefaultAddr).
const DefaultGateway = "127.0.0.1:5433"

// DataSourceSettings say where Grafana finds the cxlake SQL gateway.
type DataSourceSettings struct {
	// Gateway is the gateway's host:port as Grafana's server reaches it
	// (not necessarily as this machine does). Empty means DefaultGateway.
	Gateway string
	// User is the gateway login Grafana uses; it must have the grafana
	// role. Empty means "grafana".
	User string
	// Password is that login's password. It is written only when the data
	// source is created or updated (Grafana never shows it back).
	Password string
	// Database is the database name the gateway answers to; empty means
	// "cxlake" (gateway.DefaultDatabase).
	Database string
	// SSLMode is the sslmode Grafana reaches the gateway with: "disable",
	// "require", "verify-ca" or "verify-full" ("require" or stricter when
	// the gateway serves TLS). Empty keeps the data source's own setting
	// (a team may have turned TLS on in Grafana), and creates a new data
	// source with "disable".
	SSLMode string
}

// sslModes are the SSLMode values Grafana's PostgreSQL data source takes.
var sslModes = []string{"disable", "require", "verify-ca", "verify-full"}

// createOnly are the jsonData keys a new data source gets, which are the
// user's to change afterwards: provisioning keeps their values, and
// reports the ones that differ. Every other key provisioning does not own
// is kept too.
var createOnly = map[string]any{
	"sslmode":         "disable",
	"maxOpenConns":    10,
	"connMaxLifetime": 14400,
}

func (s DataSourceSettings) withDefaults() DataSourceSettings {
	if s.Gateway == "" {
		s.Gateway = DefaultGateway
	}
	if s.User == "" {
		s.User = "grafana"
	}
	if s.Database == "" {
		s.Database = "cxlake"
	}
	return s
}

// dataSource is a Grafana data source as Provision reads and writes it.
type dataSource struct {
	ID             int64 // Grafana's numeric id, when read back
	UID, Name      string
	Type           string
	URL            string
	Access         string
	User           string
	Database       string
	JSONData       map[string]any
	SecureJSONData map[string]any
	ReadOnly       bool
}

// dataSource returns the data source the dashboards expect: Grafana's
// PostgreSQL data source on the gateway, with database inside jsonData
// where Grafana 12 reads it, and also at the top level for older Grafanas.
// Its JSONData holds the keys provisioning owns: database, postgresVersion,
// timescaledb, and sslmode when SSLMode is set.
func (s DataSourceSettings) dataSource() *dataSource {
	s = s.withDefaults()
	ds := &dataSource{
		UID:      DataSourceUID,
		Name:     DataSourceName,
		Type:     DataSourceType,
		URL:      s.Gateway,
		Access:   "proxy",
		User:     s.User,
		Database: s.Database,
		JSONData: map[string]any{
			"database":        s.Database,
			"postgresVersion": 1500, // the gateway reports server_version 15
			"timescaledb":     false,
		},
	}
	if s.SSLMode != "" {
		ds.JSONData["sslmode"] = s.SSLMode
	}
	return ds
}

// forCreate adds the createOnly keys a new data source starts with.
func (ds *dataSource) forCreate() {
	for k, v := range createOnly {
		if _, ok := ds.JSONData[k]; !ok {
			ds.JSONData[k] = v
		}
	}
}

// mergedInto returns have's jsonData with want's (the keys provisioning
// owns) written over it: every other key stays as the user set it.
func (want *dataSource) mergedInto(have *dataSource) map[string]any {
	out := make(map[string]any, len(have.JSONData)+len(want.JSONData))
	for k, v := range have.JSONData {
		out[k] = v
	}
	for k, v := range want.JSONData {
		out[k] = v
	}
	return out
}

// userSettings lists, sorted, the jsonData keys of have that provisioning
// keeps although they differ from what it would create: settings changed
// in Grafana (sslmode, connection limits) or added by hand.
func (want *dataSource) userSettings(have *dataSource) []string {
	var out []string
	for k, v := range have.JSONData {
		if _, owned := want.JSONData[k]; owned {
			continue
		}
		if d, ok := createOnly[k]; ok && sameJSON(v, d) {
			continue
		}
		out = append(out, "jsonData."+k)
	}
	sort.Strings(out)
	return out
}

// sameDataSource reports whether have already is want, comparing what
// Provision sets (the password cannot be compared: Grafana never returns
// it). It returns the first difference for the log.
func sameDataSource(have, want *dataSource) (bool, string) {
	for _, f := range []struct{ name, a, b string }{
		{"name", have.Name, want.Name},
		{"type", have.Type, want.Type},
		{"url", have.URL, want.URL},
		{"access", have.Access, want.Access},
		{"user", have.User, want.User},
	} {
		if f.a != f.b {
			return false, f.name
		}
	}
	for k, v := range want.JSONData {
		if !sameJSON(have.JSONData[k], v) {
			return false, "jsonData." + k
		}
	}
	return true, ""
}

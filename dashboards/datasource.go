package dashboards

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
// PostgreSQL data source on the gateway, without TLS (the gateway serves
// TLS when configured; set sslmode in Grafana then), with database inside
// jsonData where Grafana 12 reads it, and also at the top level for older
// Grafanas.
func (s DataSourceSettings) dataSource() *dataSource {
	s = s.withDefaults()
	return &dataSource{
		UID:      DataSourceUID,
		Name:     DataSourceName,
		Type:     DataSourceType,
		URL:      s.Gateway,
		Access:   "proxy",
		User:     s.User,
		Database: s.Database,
		JSONData: map[string]any{
			"database":        s.Database,
			"sslmode":         "disable",
			"postgresVersion": 1500, // the gateway reports server_version 15
			"timescaledb":     false,
			"maxOpenConns":    10,
			"connMaxLifetime": 14400,
		},
	}
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

package dashboards

import "testing"

// gatewayPanelsMayBeEmpty: in process there is no gateway, so nothing is
// audited in gateway_queries and the gateway panels read empty marts.
const gatewayPanelsMayBeEmpty = true

// panelDB is where panel queries run: for now DuckDB in process, until the
// SQL gateway is on main.
func panelDB(t *testing.T, d *demo) querier {
	t.Helper()
	return d.wh.DB
}

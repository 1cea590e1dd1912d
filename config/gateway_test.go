package config

import (
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/gateway"
)

func TestGatewaySection(t *testing.T) {
	v, err := gateway.NewVerifier("pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CXLAKE_TEST_PG_PW", "from-env")
	c, err := Load(write(t, `gateway:
  addr: 0.0.0.0:6543
  statement_timeout: 5s
  max_result_rows: 500
  max_connections: 8
  users:
    - {name: grafana, role: grafana, password_env: CXLAKE_TEST_PG_PW}
    - {name: ana, role: analyst, scram: "`+v+`"}
    - {name: lead, role: leadership, password: clear}
  limits: {max_message_bytes: 1048576, max_query_bytes: 65536, max_statements: 8, max_unauthenticated: 4,
    auth_timeout: 2s, max_concurrent_queries: 3, memory_share: 0.3, login_failures: 2, login_window: 30s, login_max_delay: 1m}
`))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Gateway
	if g.Addr != "0.0.0.0:6543" || g.StatementTimeout != 5*time.Second || g.MaxResultRows != 500 || g.MaxConnections != 8 ||
		len(g.Users) != 3 || g.Users[0].Password != "from-env" || g.Users[1].SCRAM != v || g.Users[2].Role != gateway.RoleLeadership {
		t.Fatalf("gateway section: %+v", g)
	}
	want := gateway.Limits{MaxMessageBytes: 1 << 20, MaxQueryBytes: 64 << 10, MaxStatements: 8, MaxUnauthenticated: 4,
		AuthTimeout: 2 * time.Second, MaxConcurrentQueries: 3, MemoryShare: 0.3, LoginFailures: 2, LoginWindow: 30 * time.Second, LoginMaxDelay: time.Minute}
	if g.Limits != want {
		t.Fatalf("gateway.limits: %+v, want %+v", g.Limits, want)
	}
	d, err := Load(write(t, "data: /x\n"))
	if err != nil || d.Gateway.Addr != gateway.DefaultAddr || d.Gateway.MaxConnections != gateway.DefaultMaxConnections {
		t.Fatalf("gateway defaults: %+v %v", d.Gateway, err)
	}
	if got := d.Gateway.AuditBeforeRunRoles(); len(got) != 1 || got[0] != gateway.RoleCompliance {
		t.Fatalf("gateway.audit_before_run default %v, want [compliance]", got)
	}
	for body, want := range map[string]string{
		"gateway:\n  audit_before_run: []\n":                    "",
		"gateway:\n  audit_before_run: [compliance, analyst]\n": "compliance,analyst",
	} {
		a, err := Load(write(t, body))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range a.Gateway.AuditBeforeRunRoles() {
			got = append(got, string(r))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%q: audit_before_run %v, want %q", body, got, want)
		}
	}
	t.Setenv(EnvPGAddr, "127.0.0.1:7000")
	if e, err := Load(""); err != nil || e.Gateway.Addr != "127.0.0.1:7000" {
		t.Fatalf("%s: %+v %v", EnvPGAddr, e.Gateway, err)
	}
}

func TestGatewaySectionErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"gateway:\n  adr: x\n", "adr"},
		{"gateway:\n  limits: {max_statements: -1}\n", "gateway.limits.max_statements"},
		{"gateway:\n  limits: {memory_share: 2}\n", "gateway.limits.memory_share"},
		{"gateway:\n  limits: {auth_timeout: later}\n", "gateway.limits.auth_timeout"},
		{"gateway:\n  limits: {max_message_bytes: 100}\n", "gateway.limits.max_message_bytes"},
		{"gateway:\n  limits: {max_messages: 100}\n", "max_messages"},
		{"gateway:\n  addr: nowhere\n", "gateway.addr"},
		{"gateway:\n  statement_timeout: soon\n", "gateway.statement_timeout"},
		{"gateway:\n  max_connections: -1\n", "gateway.max_connections"},
		{"gateway:\n  max_result_rows: -5\n", "gateway.max_result_rows"},
		{"gateway:\n  audit_before_run: [compliance, auditor]\n", "gateway.audit_before_run[1]"},
		{"gateway:\n  tls: {cert_file: /nonexistent.crt}\n", "gateway.tls"},
		{"gateway:\n  tls: {cert_file: /nonexistent.crt, key_file: /nonexistent.key}\n", "gateway.tls.cert_file"},
		{"gateway:\n  users: [{name: a, role: admin, password: x}]\n", "gateway.users[0] (a).role"},
		{"gateway:\n  users: [{name: a, role: analyst}]\n", "set password, or scram"},
		{"gateway:\n  users: [{name: a, role: analyst, password: x, scram: y}]\n", "not both"},
		{"gateway:\n  users: [{name: a, role: analyst, scram: md5abc}]\n", "gateway.users[0] (a).scram"},
		{"gateway:\n  users: [{name: a, role: analyst, password: x}, {name: a, role: grafana, password: y}]\n", "used twice"},
		{"gateway:\n  users: [{name: a, role: analyst, password_env: CXLAKE_TEST_UNSET_PW}]\n", "CXLAKE_TEST_UNSET_PW"},
		{"gateway:\n  users: [{role: analyst, password: x}]\n", "gateway.users[0].name"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to mention %q", tc.body, err, tc.want)
		}
	}
}

package config

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/gateway"
)

// gatewayFile mirrors the gateway section:
//
//	gateway:
//	  addr: 127.0.0.1:5433
//	  statement_timeout: 60s
//	  max_result_rows: 1000000
//	  max_connections: 64
//	  audit_before_run: [compliance]
//	  tls: {cert_file: /etc/cxlake/tls.crt, key_file: /etc/cxlake/tls.key}
//	  users:
//	    - {name: grafana, role: grafana, password_env: CXLAKE_PG_GRAFANA_PASSWORD}
//	    - {name: ana, role: analyst, scram: "SCRAM-SHA-256$4096:..."}
//	  limits: {max_message_bytes: 8388608, max_query_bytes: 1048576, ...}
type gatewayFile struct {
	Addr             string   `yaml:"addr"`
	StatementTimeout string   `yaml:"statement_timeout"`
	MaxResultRows    int      `yaml:"max_result_rows"`
	MaxConnections   int      `yaml:"max_connections"`
	AuditBeforeRun   []string `yaml:"audit_before_run"`
	TLS              struct {
		CertFile string `yaml:"cert_file"`
		KeyFile  string `yaml:"key_file"`
	} `yaml:"tls"`
	Users []struct {
		Name        string `yaml:"name"`
		Role        string `yaml:"role"`
		Password    string `yaml:"password"`
		PasswordEnv string `yaml:"password_env"`
		SCRAM       string `yaml:"scram"`
	} `yaml:"users"`
	Limits gatewayLimitsFile `yaml:"limits"`
}

// gatewayLimitsFile mirrors gateway.limits (gateway.Limits; zero or absent
// means the default).
type gatewayLimitsFile struct {
	MaxMessageBytes      int     `yaml:"max_message_bytes"`
	MaxQueryBytes        int     `yaml:"max_query_bytes"`
	MaxStatements        int     `yaml:"max_statements"`
	MaxUnauthenticated   int     `yaml:"max_unauthenticated"`
	AuthTimeout          string  `yaml:"auth_timeout"`
	MaxConcurrentQueries int     `yaml:"max_concurrent_queries"`
	MemoryShare          float64 `yaml:"memory_share"`
	TempShare            float64 `yaml:"temp_share"`
	LoginFailures        int     `yaml:"login_failures"`
	LoginWindow          string  `yaml:"login_window"`
	LoginMaxDelay        string  `yaml:"login_max_delay"`
	MaxSleep             string  `yaml:"max_sleep"`
}

// applyGatewayLimits copies the set keys of gateway.limits; the values
// are checked by gateway.Config.Validate.
func applyGatewayLimits(l *gateway.Limits, f gatewayLimitsFile) error {
	for _, v := range []struct {
		val int
		dst *int
	}{
		{f.MaxMessageBytes, &l.MaxMessageBytes}, {f.MaxQueryBytes, &l.MaxQueryBytes}, {f.MaxStatements, &l.MaxStatements},
		{f.MaxUnauthenticated, &l.MaxUnauthenticated}, {f.MaxConcurrentQueries, &l.MaxConcurrentQueries}, {f.LoginFailures, &l.LoginFailures},
	} {
		if v.val != 0 {
			*v.dst = v.val
		}
	}
	if f.MemoryShare != 0 {
		l.MemoryShare = f.MemoryShare
	}
	if f.TempShare != 0 {
		l.TempShare = f.TempShare
	}
	for _, d := range []struct {
		key, val string
		dst      *time.Duration
	}{
		{"gateway.limits.auth_timeout", f.AuthTimeout, &l.AuthTimeout},
		{"gateway.limits.login_window", f.LoginWindow, &l.LoginWindow},
		{"gateway.limits.login_max_delay", f.LoginMaxDelay, &l.LoginMaxDelay},
		{"gateway.limits.max_sleep", f.MaxSleep, &l.MaxSleep},
	} {
		if err := duration(d.key, d.val, d.dst); err != nil {
			return err
		}
	}
	return nil
}

// EnvPGAddr overrides gateway.addr.
const EnvPGAddr = "CXLAKE_PG_ADDR"

// applyGateway decodes the gateway section into c.Gateway. Values are
// checked by gateway.Config.Validate, from Validate.
func applyGateway(c *Config, n *yaml.Node) error {
	var f gatewayFile
	if err := decodeSection("gateway", n, &f); err != nil {
		return err
	}
	g := &c.Gateway
	if f.Addr != "" {
		g.Addr = f.Addr
	}
	if err := duration("gateway.statement_timeout", f.StatementTimeout, &g.StatementTimeout); err != nil {
		return err
	}
	if f.MaxResultRows != 0 {
		g.MaxResultRows = f.MaxResultRows
	}
	if f.MaxConnections != 0 {
		g.MaxConnections = f.MaxConnections
	}
	if f.AuditBeforeRun != nil {
		g.AuditBeforeRun = make([]gateway.Role, len(f.AuditBeforeRun))
		for i, r := range f.AuditBeforeRun {
			g.AuditBeforeRun[i] = gateway.Role(r)
		}
	}
	g.TLSCertFile, g.TLSKeyFile = f.TLS.CertFile, f.TLS.KeyFile
	if err := applyGatewayLimits(&g.Limits, f.Limits); err != nil {
		return err
	}
	for i, u := range f.Users {
		key := fmt.Sprintf("gateway.users[%d]", i)
		if u.PasswordEnv != "" {
			if u.Password != "" || u.SCRAM != "" {
				return fmt.Errorf("%s: set one of password, password_env or scram", key)
			}
			u.Password = os.Getenv(u.PasswordEnv)
			if u.Password == "" {
				return fmt.Errorf("%s.password_env names %s, which is not set or empty: export it, or use scram", key, u.PasswordEnv)
			}
		}
		g.Users = append(g.Users, gateway.User{Name: u.Name, Role: gateway.Role(u.Role), Password: u.Password, SCRAM: u.SCRAM})
	}
	return nil
}

package gateway

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Role is what a gateway user may see (DESIGN.md, "Roles at the SQL gateway").
type Role string

// The roles. Every role is read-only; what differs is the set of relations.
const (
	// RoleLeadership sees KPI and aggregate views only.
	RoleLeadership Role = "leadership"
	// RoleGrafana is leadership's view of the data for dashboards.
	RoleGrafana Role = "grafana"
	// RoleAnalyst sees the pseudonymized marts: contact_key, no identifier, no text.
	RoleAnalyst Role = "analyst"
	// RoleCompliance sees every relation of the warehouse.
	RoleCompliance Role = "compliance"
)

// Roles lists the roles in the order docs and the demo show them.
var Roles = []Role{RoleLeadership, RoleGrafana, RoleAnalyst, RoleCompliance}

// Defaults of Config.
const (
	DefaultAddr             = "127.0.0.1:5433"
	DefaultDatabase         = "cxlake"
	DefaultStatementTimeout = 60 * time.Second
	DefaultMaxResultRows    = 1_000_000
	DefaultMaxConnections   = 64
)

// Config is the gateway's configuration (the config file's gateway section).
type Config struct {
	// Addr is the TCP address to listen on, host:port. Port 0 picks a free one.
	Addr string
	// Users may log in; a user has exactly one role.
	Users []User
	// TLSCertFile and TLSKeyFile enable TLS (both or neither). Clients
	// that ask for TLS without it get a plain "no" and may go on in clear.
	TLSCertFile, TLSKeyFile string
	// StatementTimeout bounds each query; DuckDB is interrupted when it passes.
	StatementTimeout time.Duration
	// MaxResultRows bounds the rows one query may return; a larger result
	// ends with an error that says so.
	MaxResultRows int
	// MaxConnections bounds concurrent sessions; more are refused with SQLSTATE 53300.
	// Only logged-in sessions count (see Limits.MaxUnauthenticated).
	MaxConnections int
	// Limits bound what one client may take of the process (limits.go).
	Limits Limits
	// AuditBeforeRun lists the roles whose queries are appended to the
	// audit chain before they run; a query is refused when that fails.
	// nil means compliance only, an empty list none. Queries that call an
	// unsealing function are audited before they run whatever the role.
	AuditBeforeRun []Role
}

// User is one login. Password is a clear-text password, or SCRAM a
// PostgreSQL SCRAM-SHA-256 verifier
// ("SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", as made by
// NewVerifier or found in pg_authid); exactly one of them is set.
type User struct {
	Name     string
	Role     Role
	Password string
	SCRAM    string
}

// DefaultConfig returns the defaults, with no users.
func DefaultConfig() Config {
	return Config{Addr: DefaultAddr, StatementTimeout: DefaultStatementTimeout,
		MaxResultRows: DefaultMaxResultRows, MaxConnections: DefaultMaxConnections,
		AuditBeforeRun: []Role{RoleCompliance}}
}

// AuditBeforeRunRoles is AuditBeforeRun with its default applied.
func (c Config) AuditBeforeRunRoles() []Role { return c.withDefaults().AuditBeforeRun }

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.StatementTimeout == 0 {
		c.StatementTimeout = d.StatementTimeout
	}
	if c.MaxResultRows == 0 {
		c.MaxResultRows = d.MaxResultRows
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = d.MaxConnections
	}
	c.Limits = c.Limits.withDefaults()
	if c.AuditBeforeRun == nil {
		c.AuditBeforeRun = d.AuditBeforeRun
	}
	return c
}

// Validate reports the first bad setting, naming its key under gateway.
// Zero values are valid (they mean the defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return fmt.Errorf("gateway.addr is %q: write host:port, e.g. %s", c.Addr, DefaultAddr)
	} else if host == "" {
		return fmt.Errorf("gateway.addr is %q: name the interface, e.g. 127.0.0.1%s or 0.0.0.0%s to listen on all", c.Addr, c.Addr, c.Addr)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("gateway.tls: set both cert_file and key_file, or neither")
	}
	for _, f := range []struct{ key, path string }{{"gateway.tls.cert_file", c.TLSCertFile}, {"gateway.tls.key_file", c.TLSKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %v", f.key, err)
		}
	}
	if c.StatementTimeout < 10*time.Millisecond {
		return fmt.Errorf("gateway.statement_timeout is %s: use at least 10ms (default %s)", c.StatementTimeout, DefaultStatementTimeout)
	}
	if c.MaxResultRows < 1 {
		return fmt.Errorf("gateway.max_result_rows is %d: use a positive number (default %d)", c.MaxResultRows, DefaultMaxResultRows)
	}
	if c.MaxConnections < 1 || c.MaxConnections > 10_000 {
		return fmt.Errorf("gateway.max_connections is %d: use 1 to 10000 (default %d)", c.MaxConnections, DefaultMaxConnections)
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	for i, r := range c.AuditBeforeRun {
		if !validRole(r) {
			return fmt.Errorf("gateway.audit_before_run[%d] is %q: use %s", i, r, roleList())
		}
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		key := fmt.Sprintf("gateway.users[%d]", i)
		if u.Name == "" || strings.ContainsAny(u.Name, "\x00 \t\r\n") || len(u.Name) > 63 {
			return fmt.Errorf("%s.name is %q: use a login name of 1 to 63 characters without spaces", key, u.Name)
		}
		key = fmt.Sprintf("gateway.users[%d] (%s)", i, u.Name)
		if seen[u.Name] {
			return fmt.Errorf("%s: the name is used twice; each user has one entry and one role", key)
		}
		seen[u.Name] = true
		if !validRole(u.Role) {
			return fmt.Errorf("%s.role is %q: use %s", key, u.Role, roleList())
		}
		switch {
		case u.Password != "" && u.SCRAM != "":
			return fmt.Errorf("%s: set password or scram, not both", key)
		case u.Password == "" && u.SCRAM == "":
			return fmt.Errorf("%s: set password, or scram with a SCRAM-SHA-256 verifier (cxlake gateway-verifier makes one)", key)
		case u.SCRAM != "":
			if _, err := parseVerifier(u.SCRAM); err != nil {
				return fmt.Errorf("%s.scram: %v", key, err)
			}
		}
	}
	return nil
}

func validRole(r Role) bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

func roleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

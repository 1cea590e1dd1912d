package gateway

import (
	"fmt"
	"slices"
	"sort"
	"sync"
)

// Policy says which relations of the warehouse (schema main) each role may
// reference. It is data: DefaultPolicy holds what exists today, and a stage
// that adds an aggregate view adds one Allow line where the gateway is
// wired (cmd/cxlake/gateway.go).
//
// Catalog relations (pg_catalog, information_schema) are open to every
// role, filtered so that each role sees only the relations it may read.
// A role marked with AllowAll reads every relation of the warehouse.
//
// Functions: every role may call DuckDB's own functions (less those the
// sandbox denies to all). A function the application registered in
// DuckDB, such as the unsealing functions of package warehouse, is callable
// only by the roles AllowFunctions names.
type Policy struct {
	mu    sync.RWMutex
	roles map[Role]map[string]bool
	all   map[Role]bool
	funcs map[Role]map[string]bool
}

// UnsealFunctions are the SQL functions package warehouse registers to
// decrypt personal data (warehouse/unsealsql.go, over privacy/unseal.go).
var UnsealFunctions = []string{"cx_identifier_value", "cx_content", "cx_dead_letter_raw", "cx_text_tokens"}

// isRelationName reports whether s is what Allow accepts: a plain
// lower-case SQL identifier, so that a name can never be read as a file path
// by DuckDB's replacement scans.
func isRelationName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// DefaultPolicy returns DESIGN.md's roles over today's marts:
//   - leadership, grafana: kpi_daily, kpi_daily_team;
//   - analyst: the pseudonymized marts conversations, timeline, contacts, and the KPI marts;
//   - compliance: everything, and the unsealing functions.
func DefaultPolicy() *Policy {
	p := NewPolicy()
	kpis := []string{"kpi_daily", "kpi_daily_team"}
	p.Allow(RoleLeadership, kpis...)
	p.Allow(RoleGrafana, kpis...)
	p.Allow(RoleAnalyst, kpis...)
	p.Allow(RoleAnalyst, "conversations", "timeline", "contacts")
	p.AllowAll(RoleCompliance)
	p.AllowFunctions(RoleCompliance, UnsealFunctions...)
	return p
}

// NewPolicy returns a policy under which no role reads anything but the catalogs.
func NewPolicy() *Policy {
	return &Policy{roles: map[Role]map[string]bool{}, all: map[Role]bool{}, funcs: map[Role]map[string]bool{}}
}

// AllowFunctions lets role call the named functions the application
// registered in DuckDB. It panics on a name that is not a lower-case
// identifier.
func (p *Policy) AllowFunctions(role Role, functions ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.funcs[role] == nil {
		p.funcs[role] = map[string]bool{}
	}
	for _, f := range functions {
		if !isRelationName(f) {
			panic(fmt.Sprintf("gateway.Policy.AllowFunctions(%s, %q): a function is a lower-case identifier", role, f))
		}
		p.funcs[role][f] = true
	}
}

// allowsFunction reports whether role was granted function name.
func (p *Policy) allowsFunction(role Role, name string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.funcs[role][name]
}

// grantsFunction reports whether some role was granted function name.
func (p *Policy) grantsFunction(name string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, fs := range p.funcs {
		if fs[name] {
			return true
		}
	}
	return false
}

// Allow lets role reference the named relations of schema main. It panics
// on a name that is not a lower-case identifier: policies are written in
// code, and a typo must fail at start-up.
func (p *Policy) Allow(role Role, relations ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.roles[role] == nil {
		p.roles[role] = map[string]bool{}
	}
	for _, r := range relations {
		if !isRelationName(r) {
			panic(fmt.Sprintf("gateway.Policy.Allow(%s, %q): a relation is a lower-case identifier of schema main", role, r))
		}
		p.roles[role][r] = true
	}
}

// AllowAll lets role reference every relation of the warehouse that exists.
func (p *Policy) AllowAll(role Role) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all[role] = true
}

// allowsAll reports whether role reads every relation.
func (p *Policy) allowsAll(role Role) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.all[role]
}

// allows reports whether role may reference relation name of schema main.
func (p *Policy) allows(role Role, name string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.all[role] || p.roles[role][name]
}

// Relations returns, sorted, the relations role may reference by name (nil
// for a role with AllowAll).
func (p *Policy) Relations(role Role) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.roles[role]))
	for r := range p.roles[role] {
		out = append(out, r)
	}
	sort.Strings(out)
	return slices.Clip(out)
}

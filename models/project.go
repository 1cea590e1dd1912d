package models

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
)

//go:embed staging/*.sql intermediate/*.sql marts/*.sql tests/*.sql partials/*.sql
var files embed.FS

// partial returns partials/<name>.sql: SQL that several models share (the
// KPI base's parts at each grain), in a file so that the fingerprint's
// digest covers it like the models.
func partial(name string) (string, error) {
	b, err := fs.ReadFile(files, path.Join("partials", name+".sql"))
	if err != nil {
		return "", fmt.Errorf("no SQL partial %q: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Materializations a model can declare in its "-- config:" line.
const (
	matView        = "view"        // a persistent view, created on a full build
	matEphemeral   = "ephemeral"   // a temporary view, re-created on every build (may use build variables)
	matTemp        = "temp"        // a temporary table, re-created on every build, for a step several models read
	matTable       = "table"       // recomputed whole on every build
	matIncremental = "incremental" // recomputed whole on a full build; delete+insert of its scope otherwise
	matGo          = "go"          // built by a Go function (identity resolution)
)

// model is one node of the project: a .sql file, or the Go identity step.
type model struct {
	name   string
	layer  string // staging, intermediate, marts
	mat    string
	key    string // unique key, for incremental models
	scope  string // scope table name ("conversations", "contacts", "days") for incremental models
	column string // the column the scope is matched on
	deps   []string
	after  []string // models that must be built first without being read ("after=" in the config)
	tests  []columnTest
	body   *template.Template
	build  goStep // matGo only
	// optional are the source tables the model asks about with
	// {{ if .Exists "name" }}: tables another stage creates (governance,
	// the gateway's audit) that a warehouse may not have.
	optional []string
}

// columnTest is a generic data test declared in a model's header.
type columnTest struct {
	kind    string   // unique, not_null, accepted_values, relationships
	columns []string // unique and not_null: the columns; others: one
	values  []string // accepted_values: the values; relationships: "model.column"
}

// renderVars are the build variables a model's template may use.
type renderVars struct {
	Incremental bool
	FromBatch   int64 // exclusive
	ToBatch     int64 // inclusive
	// Now is a SQL literal: the build's clock (Config.Now), which the
	// models judge open FCR windows and SLA deadlines against.
	Now string
	// ScopeStartAt (incremental only) is a SQL literal: the earliest opened_at
	// of the conversations in scope as last built, or 'infinity' when all are
	// new. Their older events lie after it, or in the new batches.
	ScopeStartAt string
	// ScopeDaysFrom and ScopeDaysTo (incremental only, after the
	// conversations mart) are SQL timestamptz literals bounding the UTC days
	// in _scope_days: midnight of the first, midnight after the last. A
	// range on a timestamp lets DuckDB skip row groups by zone map, which
	// "day in (select ...)" does not.
	ScopeDaysFrom, ScopeDaysTo string
	FCRWindowUS                int64 // microseconds
	// PerAgent is Config.PerAgent: whether the models see the agents'
	// keys (stg_cx__events.actor_key) and keep figures per agent.
	PerAgent bool
	// WhatsAppGapUS is Config.WhatsAppConversationGap in microseconds.
	WhatsAppGapUS int64

	existing map[string]bool // optional source tables present in the warehouse
	probe    map[string]bool // parse only: records the names Exists is asked about
}

// Exists reports whether the source table name exists in the warehouse.
// A staging model over a table that another stage creates (governance, the
// gateway) branches on it, and renders an empty relation with the same
// columns when the table is missing, so that the models build, and the
// marts read as empty, in a warehouse where that stage is not configured.
// Which of these tables exist is part of the build's fingerprint: when one
// appears, the next Refresh rebuilds fully and the views read it.
func (v renderVars) Exists(name string) bool {
	if v.probe != nil {
		v.probe[name] = true
	}
	return v.existing[name]
}

// project is the parsed set of models, in build order.
type project struct {
	models []*model
	byName map[string]*model
	tests  []singularTest
}

// optionalSources returns, sorted, the source tables any model asks about
// with Exists.
func (p *project) optionalSources() []string {
	set := map[string]bool{}
	for _, m := range p.models {
		for _, n := range m.optional {
			set[n] = true
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// singularTest is a query in tests/ that returns the failing rows.
type singularTest struct {
	name string
	sql  string
}

var layerRank = map[string]int{"staging": 0, "intermediate": 1, "marts": 2}

// loadProject parses the embedded models. It panics on a malformed project:
// the files are compiled in, and a test loads them.
// Relations returns the names of the relations Build creates in the
// warehouse: every model (table or view) and models_state. All of them are
// derived from the stored tables and rebuilt from them.
func Relations() ([]string, error) {
	p, err := loadProject()
	if err != nil {
		return nil, err
	}
	out := []string{"models_state"}
	for _, m := range p.models {
		out = append(out, m.name)
	}
	return out, nil
}

func loadProject() (*project, error) {
	p := &project{byName: map[string]*model{}}
	for _, layer := range []string{"staging", "intermediate", "marts"} {
		entries, err := fs.ReadDir(files, layer)
		if err != nil {
			return nil, fmt.Errorf("reading embedded %s models: %w", layer, err)
		}
		for _, e := range entries {
			src, err := fs.ReadFile(files, path.Join(layer, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("reading model %s: %w", e.Name(), err)
			}
			m, err := parseModel(strings.TrimSuffix(e.Name(), ".sql"), layer, string(src))
			if err != nil {
				return nil, err
			}
			p.add(m)
		}
	}
	for _, g := range goSteps {
		m := &model{name: g.name, layer: "intermediate", mat: matGo, deps: g.deps, build: g.build, tests: g.tests}
		p.add(m)
	}
	entries, err := fs.ReadDir(files, "tests")
	if err != nil {
		return nil, fmt.Errorf("reading embedded data tests: %w", err)
	}
	for _, e := range entries {
		src, err := fs.ReadFile(files, path.Join("tests", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading data test %s: %w", e.Name(), err)
		}
		p.tests = append(p.tests, singularTest{name: strings.TrimSuffix(e.Name(), ".sql"), sql: string(src)})
	}
	if err := p.order(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *project) add(m *model) {
	p.models = append(p.models, m)
	p.byName[m.name] = m
}

// parseModel reads the header lines ("-- config: k=v ..." and "-- test: ...")
// and the template of one model, and finds its dependencies from its refs.
func parseModel(name, layer, src string) (*model, error) {
	m := &model{name: name, layer: layer}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "--") {
			if line == "" {
				continue
			}
			break
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "--"))
		switch {
		case strings.HasPrefix(line, "config:"):
			for _, kv := range strings.Fields(strings.TrimPrefix(line, "config:")) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "materialized":
					m.mat = v
				case "unique_key":
					m.key = v
				case "scope":
					m.scope, m.column, _ = strings.Cut(v, ":")
				case "after":
					m.after = strings.Split(v, ",")
				default:
					return nil, fmt.Errorf("model %s: unknown config %q", name, k)
				}
			}
		case strings.HasPrefix(line, "test:"):
			f := strings.Fields(strings.TrimPrefix(line, "test:"))
			if len(f) < 2 {
				return nil, fmt.Errorf("model %s: test line needs a kind and a column", name)
			}
			t := columnTest{kind: f[0]}
			switch t.kind {
			case "unique", "not_null":
				t.columns = f[1:]
			case "accepted_values", "relationships":
				t.columns, t.values = f[1:2], f[2:]
			default:
				return nil, fmt.Errorf("model %s: unknown test %q", name, t.kind)
			}
			m.tests = append(m.tests, t)
		}
	}
	switch m.mat {
	case matView, matEphemeral, matTemp, matTable:
	case matIncremental:
		if m.key == "" || m.scope == "" || m.column == "" {
			return nil, fmt.Errorf("model %s: an incremental model needs unique_key and scope=<scope>:<column>", name)
		}
	default:
		return nil, fmt.Errorf("model %s: materialized is %q; want view, ephemeral, temp, table or incremental", name, m.mat)
	}
	refs := map[string]bool{}
	funcs := template.FuncMap{
		"ref":    func(n string) string { refs[n] = true; return n },
		"scope":  scopeTable,
		"source": func(n string) string { return n },
		// The same expressions the incremental scoping steps use.
		"fcr_window_end": fcrWindowEnd,
		"sla_deadline":   slaDeadline,
		// The KPI expressions of kpi.go, so that no model copies them.
		"kpi_figures": func() string { return KPISelect(false) },
		// Some of them, by name (the per-agent mart's).
		"kpi_figures_of": KPISelectOf,
		"partial":        partial,
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	// Render both ways once to collect the refs of either branch, and the
	// optional sources it asks about.
	probe := map[string]bool{}
	for _, inc := range []bool{false, true} {
		if err := t.Execute(&bytes.Buffer{}, renderVars{Incremental: inc, Now: "null", ScopeStartAt: "null",
			ScopeDaysFrom: "null", ScopeDaysTo: "null", probe: probe}); err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
	}
	for r := range refs {
		m.deps = append(m.deps, r)
	}
	sort.Strings(m.deps)
	for n := range probe {
		m.optional = append(m.optional, n)
	}
	sort.Strings(m.optional)
	// Later renders use a ref that does not record.
	m.body = t.Funcs(template.FuncMap{"ref": func(n string) string { return n }})
	return m, nil
}

// scopeTable names the temporary table listing the keys an incremental
// build recomputes.
func scopeTable(name string) string { return "_scope_" + name }

// order sorts the models topologically; among models that are ready at the
// same time, by layer, then name, so that the order is stable.
func (p *project) order() error {
	for _, m := range p.models {
		for _, d := range m.after {
			if _, ok := p.byName[d]; !ok {
				return fmt.Errorf("model %s is built after %s, which does not exist", m.name, d)
			}
		}
		for _, d := range m.deps {
			dm, ok := p.byName[d]
			if !ok {
				return fmt.Errorf("model %s refers to %s, which does not exist", m.name, d)
			}
			if layerRank[dm.layer] > layerRank[m.layer] || m.layer != "intermediate" && dm.layer == m.layer {
				return fmt.Errorf("model %s (%s) reads %s (%s): staging reads sources, intermediate reads staging and intermediate, marts read staging and intermediate", m.name, m.layer, d, dm.layer)
			}
		}
	}
	done := map[string]bool{}
	var out []*model
	for len(out) < len(p.models) {
		var ready []*model
		for _, m := range p.models {
			if done[m.name] {
				continue
			}
			ok := true
			for _, d := range m.deps {
				ok = ok && done[d]
			}
			for _, d := range m.after {
				ok = ok && done[d]
			}
			if ok {
				ready = append(ready, m)
			}
		}
		if len(ready) == 0 {
			return fmt.Errorf("the models have a dependency cycle")
		}
		sort.Slice(ready, func(i, j int) bool {
			if ready[i].layer != ready[j].layer {
				return layerRank[ready[i].layer] < layerRank[ready[j].layer]
			}
			return ready[i].name < ready[j].name
		})
		m := ready[0] // one at a time, so the layer order holds wherever deps allow
		done[m.name] = true
		out = append(out, m)
	}
	p.models = out
	return nil
}

// render returns the model's SQL for a build.
func (m *model) render(v renderVars) (string, error) {
	var b strings.Builder
	if err := m.body.Execute(&b, v); err != nil {
		return "", fmt.Errorf("rendering model %s: %w", m.name, err)
	}
	return b.String(), nil
}

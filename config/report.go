package config

import (
	"fmt"
	"log/slog"

	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/reports"
)

// ReportConfig is what the KPI report takes from the configuration.
type ReportConfig struct {
	// Targets are the KPI targets by kpi_daily column name, e.g.
	// sla_breach_rate: {target: 0.1, better: lower}.
	Targets map[string]reports.Target
}

// reportFile mirrors the report section.
type reportFile struct {
	Targets map[string]struct {
		Target *float64 `yaml:"target"`
		Better string   `yaml:"better"`
	} `yaml:"targets"`
}

// applyReport decodes the report section; each target needs both keys and
// names a KPI figure (reports.ValidateTargets).
func applyReport(c *Config, n *yaml.Node) error {
	var f reportFile
	if err := decodeSection("report", n, &f); err != nil {
		return err
	}
	ts := map[string]reports.Target{}
	for name, t := range f.Targets {
		if t.Target == nil {
			return fmt.Errorf("report.targets.%s.target: missing; give the value the KPI should reach, e.g. 0.1 for a rate of 10%%", name)
		}
		if now, ok := reports.DeprecatedKPINames[name]; ok {
			if _, both := f.Targets[now]; both {
				return fmt.Errorf("report.targets: %s and %s are the same KPI (%s is its former name); keep %s only", name, now, name, now)
			}
			slog.Warn("config: a report target uses a KPI's former name; rename it", "key", "report.targets."+name, "now", now)
			name = now
		}
		ts[name] = reports.Target{Target: *t.Target, Better: t.Better}
	}
	if err := reports.ValidateTargets(ts); err != nil {
		return fmt.Errorf("report.targets: %w", err)
	}
	c.Report.Targets = ts
	return nil
}

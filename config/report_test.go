package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportTargets(t *testing.T) {
	load := func(yaml string) (Config, error) {
		p := filepath.Join(t.TempDir(), "cxlake.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(p)
	}
	c, err := load("report:\n  targets:\n    sla_breach_rate: {target: 0.1, better: lower}\n    nps: {target: 30, better: higher}\n")
	if err != nil {
		t.Fatal(err)
	}
	if tg := c.Report.Targets["sla_breach_rate"]; tg.Target != 0.1 || tg.Better != "lower" {
		t.Errorf("sla_breach_rate target = %+v", tg)
	}
	if tg := c.Report.Targets["nps"]; tg.Target != 30 || tg.Better != "higher" {
		t.Errorf("nps target = %+v", tg)
	}
	for yaml, want := range map[string]string{
		"report:\n  targets:\n    speed: {target: 1, better: lower}\n":           `"speed"`,
		"report:\n  targets:\n    csat: {target: 0.8, better: more}\n":           `better must be "higher" or "lower"`,
		"report:\n  targets:\n    csat: {better: higher}\n":                      "report.targets.csat.target: missing",
		"report:\n  targets:\n    conversations: {target: 10, better: higher}\n": "a count has no target",
		"report:\n  goals:\n    csat: {target: 0.8, better: higher}\n":           "goals",
	} {
		if _, err := load(yaml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to say %q", yaml, err, want)
		}
	}
}

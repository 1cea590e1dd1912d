package dashboards

import (
	"math"

	"github.com/cxlake/cxlake/reports"
)

// The leadership dashboard's headline stats say better or worse against
// the targets of the configuration (report.targets, the KPI report's): a
// stat panel whose target's refId names a KPI with a target gets that
// target as its thresholds, and its "vs previous period" field the
// direction the KPI should move. The shipped JSON carries no target (one
// neutral step): a file-provisioned Grafana shows the figures uncoloured;
// `cxlake grafana provision --config` colours them.

// changeField is the stat panels' field holding the change against the
// previous period of the same length.
const changeField = "vs previous period"

// applyTargets sets, in a dashboard model, each stat panel's thresholds
// from the target of the KPI its target's refId names. Grafana colours a
// value with the last step whose value it reaches, so a step starts a
// half-open range [value, next). The KPI report counts a figure exactly on
// its target as met, from either side: for "higher" the good step starts
// at the target; for "lower" the bad one starts just above it (the next
// float). A change is good when it goes the right way, and no change is
// good too.
func applyTargets(model map[string]any, targets map[string]reports.Target) {
	panels, _ := model["panels"].([]any)
	for _, p := range panels {
		panel, _ := p.(map[string]any)
		if panel == nil || panel["type"] != "stat" {
			continue
		}
		ts, _ := panel["targets"].([]any)
		if len(ts) != 1 {
			continue
		}
		q, _ := ts[0].(map[string]any)
		ref, _ := q["refId"].(string)
		t, ok := targets[ref]
		if !ok {
			continue
		}
		fc, _ := panel["fieldConfig"].(map[string]any)
		defaults, _ := fc["defaults"].(map[string]any)
		if defaults == nil {
			continue
		}
		defaults["color"] = map[string]any{"mode": "thresholds"}
		defaults["thresholds"] = sides(t.Better, t.Target)
		overrides, _ := fc["overrides"].([]any)
		for _, o := range overrides {
			om, _ := o.(map[string]any)
			matcher, _ := om["matcher"].(map[string]any)
			if matcher["options"] != changeField {
				continue
			}
			om["properties"] = []any{
				map[string]any{"id": "color", "value": map[string]any{"mode": "thresholds"}},
				map[string]any{"id": "thresholds", "value": sides(t.Better, 0)},
			}
		}
	}
}

// sides are Grafana thresholds that colour a value green on the good side
// of at (at itself included) and red on the other.
func sides(better string, at float64) map[string]any {
	steps := []any{
		map[string]any{"color": "red", "value": nil},
		map[string]any{"color": "green", "value": at},
	}
	if better == "lower" {
		steps = []any{
			map[string]any{"color": "green", "value": nil},
			map[string]any{"color": "red", "value": math.Nextafter(at, math.Inf(1))},
		}
	}
	return map[string]any{"mode": "absolute", "steps": steps}
}

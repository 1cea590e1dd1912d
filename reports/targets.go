package reports

import (
	"database/sql"
	"math"

	"github.com/cxlake/cxlake/models"
)

// Target is the value a KPI should reach, and which side of it is good.
type Target struct {
	Target float64 `json:"target"`
	// Better is "higher" (the figure should be at least Target) or "lower"
	// (at most Target).
	Better string `json:"better"`
}

// DeprecatedKPINames are former kpi_daily figure names, each with the name
// that replaced it. The marts keep the old name as a column for one
// release, and configuration may still use it (config warns).
var DeprecatedKPINames = map[string]string{"csat": "csat_share"}

// ValidateTargets checks that every key is a kpi_daily figure that is not a
// count (a rate, a percentile or NPS) and that Better is "higher" or "lower".
func ValidateTargets(ts map[string]Target) error {
	for name, t := range ts {
		f, ok := kpiFigure(name)
		switch {
		case !ok:
			return &TargetError{KPI: name, Rule: "not a kpi_daily figure (see docs/reports.md for the names)"}
		case f.Kind == models.KPICount:
			return &TargetError{KPI: name, Rule: "a count has no target; use a rate, a percentile, csat_share or nps"}
		case t.Better != "higher" && t.Better != "lower":
			return &TargetError{KPI: name, Rule: `better must be "higher" or "lower"`}
		case math.IsNaN(t.Target) || math.IsInf(t.Target, 0):
			return &TargetError{KPI: name, Rule: "target must be a finite number"}
		}
	}
	return nil
}

// misses reports whether v misses the target of the named figure: known,
// with a target, and on the wrong side of it.
func (r *kpiReport) misses(name string, v sql.NullFloat64) bool {
	t, ok := r.Targets[name]
	if !ok || !v.Valid {
		return false
	}
	if t.Better == "higher" {
		return v.Float64 < t.Target
	}
	return v.Float64 > t.Target
}

// small reports whether the named figure of f rests on fewer than
// SmallSample conversations or answers.
func small(f *figures, name string) bool {
	n, ok := f.N[name]
	return ok && n < SmallSample
}

// valueOf returns the named figure of f as a nullable float (counts are
// always valid).
func valueOf(f *figures, name string) sql.NullFloat64 {
	for _, c := range kpiColumns {
		if c.name != name {
			continue
		}
		if c.count != nil {
			return sql.NullFloat64{Float64: float64(*c.count(f)), Valid: true}
		}
		return *c.value(f)
	}
	return sql.NullFloat64{}
}

// change is cur − prev, null when either is.
func change(cur, prev sql.NullFloat64) sql.NullFloat64 {
	if !cur.Valid || !prev.Valid {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: cur.Float64 - prev.Float64, Valid: true}
}

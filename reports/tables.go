package reports

import (
	"database/sql"
	"strconv"

	"github.com/cxlake/cxlake/models"
)

// What the Markdown and HTML reports show, shared so that both say the same.

// Marks after a figure: it misses its target, or it rests on fewer than
// SmallSample conversations or answers.
const (
	markMiss  = " ✗"
	markSmall = " *"
)

// headlineItem is one figure of the headline section; Sub qualifies it
// (its sample size, its change from the previous period, its target).
type headlineItem struct {
	Label, Value, Sub string
	Miss, Small       bool
}

// headlineKPIs are the figures of the headline and of the comparison table.
var headlineKPIs = []struct{ name, label string }{
	{"conversations", "Conversations"},
	{"frt_p50_s", "First response time p50"},
	{"frt_p90_s", "First response time p90"},
	{"agent_frt_p90_s", "Agent first response time p90"},
	{"escalation_rate", "Escalation rate"},
	{"containment_rate", "Containment rate"},
	{"fcr_rate", "First-contact resolution"},
	{"recontact_rate", "Cross-channel recontact"},
	{"csat_share", "CSAT"},
	{"nps", "NPS"},
	{"sla_breach_rate", "SLA breach rate"},
}

// HeadlineKPIs are the names of the headline figures (kpi_daily columns),
// in the report's order: the leadership dashboard has a stat panel for
// each (a dashboards test checks it).
func HeadlineKPIs() []string {
	out := make([]string, len(headlineKPIs))
	for i, k := range headlineKPIs {
		out[i] = k.name
	}
	return out
}

// fmtFigure writes the named figure's value for people, by its kind.
func fmtFigure(name string, v sql.NullFloat64) string {
	f, _ := kpiFigure(name)
	switch f.Kind {
	case models.KPICount:
		return fmtCount(int64(v.Float64))
	case models.KPIDuration:
		return fmtDuration(v)
	case models.KPIScore:
		return fmtNPS(v)
	case models.KPIValue:
		return fmtValue(v)
	}
	return fmtRate(v)
}

// fmtChange writes a change: percentage points for rates, points for NPS,
// a signed duration or count otherwise.
func fmtChange(name string, d sql.NullFloat64) string {
	if !d.Valid {
		return dash
	}
	f, _ := kpiFigure(name)
	sign := "+"
	if d.Float64 < 0 {
		sign = ""
	}
	switch f.Kind {
	case models.KPICount:
		return sign + fmtCount(int64(d.Float64))
	case models.KPIDuration:
		if d.Float64 < 0 {
			return "-" + fmtSeconds(-d.Float64)
		}
		return "+" + fmtSeconds(d.Float64)
	case models.KPIScore:
		return sign + strconv.FormatFloat(d.Float64, 'f', 1, 64) + " pt"
	case models.KPIValue:
		return sign + strconv.FormatFloat(d.Float64, 'f', 2, 64)
	}
	return sign + strconv.FormatFloat(d.Float64*100, 'f', 1, 64) + " pp"
}

// fmtTarget writes a target as "≤ 10.0%" or "≥ 80.0%"; "" without one.
func (r *kpiReport) fmtTarget(name string) string {
	t, ok := r.Targets[name]
	if !ok {
		return ""
	}
	op := "≥ "
	if t.Better == "lower" {
		op = "≤ "
	}
	return op + fmtFigure(name, sql.NullFloat64{Float64: t.Target, Valid: true})
}

// cell writes the named figure of f with its marks.
func (r *kpiReport) cell(f *figures, name string, targets bool) string {
	v := valueOf(f, name)
	s := fmtFigure(name, v)
	if s == dash {
		return s
	}
	if targets && r.misses(name, v) {
		s += markMiss
	}
	if small(f, name) {
		s += markSmall
	}
	return s
}

func (r *kpiReport) headline() []headlineItem {
	var out []headlineItem
	for _, k := range headlineKPIs {
		v := valueOf(&r.Overall, k.name)
		it := headlineItem{Label: k.label, Value: fmtFigure(k.name, v), Miss: r.misses(k.name, v), Small: small(&r.Overall, k.name)}
		var sub []string
		if n, ok := r.Overall.N[k.name]; ok && it.Value != dash {
			s := "n = " + fmtCount(n)
			if it.Small {
				s += ", small sample"
			}
			sub = append(sub, s)
		}
		if !r.PrevStart.IsZero() {
			sub = append(sub, fmtChange(k.name, change(v, valueOf(&r.PrevOverall, k.name)))+" vs previous")
		}
		if t := r.fmtTarget(k.name); t != "" {
			if it.Miss {
				sub = append(sub, "misses target "+t)
			} else {
				sub = append(sub, "target "+t)
			}
		}
		for i, s := range sub {
			if i > 0 {
				it.Sub += "; "
			}
			it.Sub += s
		}
		out = append(out, it)
	}
	return out
}

// comparisonRows is the overall table against the previous period: KPI,
// this period, previous, change, target, n.
var comparisonHead = []tableHead{{"KPI", false}, {"this period", true}, {"previous period", true}, {"change", true}, {"target", true}, {"n", true}}

func (r *kpiReport) comparisonRows() [][]string {
	var rows [][]string
	for _, c := range kpiColumns {
		if f, _ := kpiFigure(c.name); f.Kind == models.KPICount && c.name != "conversations" {
			continue
		}
		cur, prev := valueOf(&r.Overall, c.name), valueOf(&r.PrevOverall, c.name)
		n := ""
		if v, ok := r.Overall.N[c.name]; ok {
			n = fmtCount(v)
		}
		prevText := dash
		if !r.PrevStart.IsZero() {
			prevText = r.cell(&r.PrevOverall, c.name, false)
		}
		rows = append(rows, []string{c.name, r.cell(&r.Overall, c.name, true), prevText,
			fmtChange(c.name, change(cur, prev)), r.fmtTarget(c.name), n})
	}
	return rows
}

// tableHead is one column head of a table.
type tableHead struct {
	Text    string
	Numeric bool // right-aligned
}

// groupKPIs are the figures of the per-channel, per-team and bot-vs-human
// tables, with their short heads.
var groupKPIs = []struct{ name, head string }{
	{"conversations", "conversations"},
	{"frt_p50_s", "FRT p50"},
	{"frt_p90_s", "FRT p90"},
	{"agent_frt_p50_s", "agent FRT p50"},
	{"agent_frt_p90_s", "agent FRT p90"},
	{"escalation_rate", "escalation"},
	{"containment_rate", "containment"},
	{"resolution_p50_s", "resolution p50"},
	{"reopen_rate", "reopen"},
	{"fcr_rate", "FCR"},
	{"recontact_rate", "recontact"},
	{"handoff_context_rate", "handoff context"},
	{"csat_share", "CSAT"},
	{"csat_responses", "CSAT n"},
	{"nps", "NPS"},
	{"nps_responses", "NPS n"},
	{"sla_breach_rate", "SLA breach"},
}

// dayKPIs are the figures of the per-day table.
var dayKPIs = []string{"conversations", "frt_p50_s", "frt_p90_s", "escalation_rate", "containment_rate",
	"fcr_rate", "recontact_rate", "csat_share", "nps", "sla_breach_rate"}

func groupHead(first string) []tableHead {
	h := []tableHead{{first, false}}
	for _, k := range groupKPIs {
		h = append(h, tableHead{k.head, true})
	}
	return h
}

// groupRows writes one row per group: its label, then groupKPIs.
func (r *kpiReport) groupRows(gs []kpiGroup, label func(*kpiGroup) string, targets bool) [][]string {
	var rows [][]string
	for i := range gs {
		row := []string{label(&gs[i])}
		for _, k := range groupKPIs {
			row = append(row, r.cell(&gs[i].figures, k.name, targets))
		}
		rows = append(rows, row)
	}
	return rows
}

func (r *kpiReport) overallRow(label string) []string {
	return r.groupRows([]kpiGroup{{figures: r.Overall}}, func(*kpiGroup) string { return label }, true)[0]
}

func dayHead() []tableHead {
	h := []tableHead{{"day", false}}
	for _, k := range dayKPIs {
		for _, g := range groupKPIs {
			if g.name == k {
				h = append(h, tableHead{g.head, true})
			}
		}
	}
	return h
}

func (r *kpiReport) dayRows() [][]string {
	var rows [][]string
	for i := range r.Days {
		row := []string{isoDay(r.Days[i].Day)}
		for _, k := range dayKPIs {
			row = append(row, r.cell(&r.Days[i].figures, k, false))
		}
		rows = append(rows, row)
	}
	return rows
}

// handlerLabel names a handled_by value for people.
func handlerLabel(g *kpiGroup) string {
	switch g.Key {
	case "bot":
		return "bot only"
	case "human":
		return "with a human (or no bot)"
	case "none":
		return "surveys outside a conversation"
	}
	return g.Key
}

func teamLabel(g *kpiGroup) string { return g.Key }

func channelOf(g *kpiGroup) string { return channelLabel(g.Channel) }

// methodNotes say how the figures are computed.
var methodNotes = []string{
	"Every figure is computed for the whole period and filter from the additive KPI base (kpi_counts_daily): counts are summed, each rate is its numerator over its own denominator, and percentiles are quantile_cont over every conversation's duration in the period. The figures equal the same KPI computed directly over the conversations mart; none is an average of daily rates or a percentile of daily percentiles.",
	"n is a figure's sample size: the eligible conversations of a rate (bot-handled ones for escalation, ...), the answers behind CSAT and NPS, the conversations with a duration behind a percentile.",
	"* marks a figure over fewer than 30 conversations or answers: read it with care.",
	"✗ marks a figure that misses its target (report.targets in the config).",
	"The previous period has the same number of days, just before this one. Changes of rates are in percentage points (pp).",
	"A dash (—) means no eligible conversation: the figure is unknown, not zero.",
}

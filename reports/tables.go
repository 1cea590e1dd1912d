package reports

// What the Markdown and HTML reports show, shared so that both say the same.

// headlineItem is one figure of the headline section; Sub qualifies it
// (the number of survey answers behind CSAT and NPS).
type headlineItem struct {
	Label, Value, Sub string
}

func headline(f figures) []headlineItem {
	responses := func(v string, n int64) string {
		if v == dash {
			return ""
		}
		if n == 1 {
			return "1 response"
		}
		return fmtCount(n) + " responses"
	}
	csat, nps := fmtRate(f.CSAT), fmtNPS(f.NPS)
	return []headlineItem{
		{Label: "Conversations", Value: fmtCount(f.Conversations)},
		{Label: "First response time p50 / p90", Value: fmtDuration(f.FRTP50) + " / " + fmtDuration(f.FRTP90)},
		{Label: "Escalation rate", Value: fmtRate(f.EscalationRate)},
		{Label: "Containment rate", Value: fmtRate(f.ContainmentRate)},
		{Label: "First-contact resolution", Value: fmtRate(f.FCRRate)},
		{Label: "Cross-channel recontact", Value: fmtRate(f.RecontactRate)},
		{Label: "CSAT", Value: csat, Sub: responses(csat, f.CSATResponses)},
		{Label: "NPS", Value: nps, Sub: responses(nps, f.NPSResponses)},
		{Label: "SLA breach rate", Value: fmtRate(f.SLABreachRate)},
	}
}

// tableColumn is one column of a per-channel or per-day table.
type tableColumn struct {
	Head    string
	Numeric bool // right-aligned
	Cell    func(g *kpiGroup) string
}

var (
	colChannel = tableColumn{"channel", false, func(g *kpiGroup) string { return channelLabel(g.Channel) }}
	colDay     = tableColumn{"day", false, func(g *kpiGroup) string { return isoDay(g.Day) }}
	colConv    = tableColumn{"conversations", true, func(g *kpiGroup) string { return fmtCount(g.Conversations) }}
	colFRT50   = tableColumn{"FRT p50", true, func(g *kpiGroup) string { return fmtDuration(g.FRTP50) }}
	colFRT90   = tableColumn{"FRT p90", true, func(g *kpiGroup) string { return fmtDuration(g.FRTP90) }}
	colAgent50 = tableColumn{"agent FRT p50", true, func(g *kpiGroup) string { return fmtDuration(g.AgentFRTP50) }}
	colEsc     = tableColumn{"escalation", true, func(g *kpiGroup) string { return fmtRate(g.EscalationRate) }}
	colCont    = tableColumn{"containment", true, func(g *kpiGroup) string { return fmtRate(g.ContainmentRate) }}
	colRes50   = tableColumn{"resolution p50", true, func(g *kpiGroup) string { return fmtDuration(g.ResolutionP50) }}
	colReopen  = tableColumn{"reopen", true, func(g *kpiGroup) string { return fmtRate(g.ReopenRate) }}
	colFCR     = tableColumn{"FCR", true, func(g *kpiGroup) string { return fmtRate(g.FCRRate) }}
	colRecon   = tableColumn{"recontact", true, func(g *kpiGroup) string { return fmtRate(g.RecontactRate) }}
	colHandoff = tableColumn{"handoff context", true, func(g *kpiGroup) string { return fmtRate(g.HandoffContextRate) }}
	colCSAT    = tableColumn{"CSAT", true, func(g *kpiGroup) string { return fmtRate(g.CSAT) }}
	colCSATN   = tableColumn{"CSAT n", true, func(g *kpiGroup) string { return fmtCount(g.CSATResponses) }}
	colNPS     = tableColumn{"NPS", true, func(g *kpiGroup) string { return fmtNPS(g.NPS) }}
	colNPSN    = tableColumn{"NPS n", true, func(g *kpiGroup) string { return fmtCount(g.NPSResponses) }}
	colSLA     = tableColumn{"SLA breach", true, func(g *kpiGroup) string { return fmtRate(g.SLABreachRate) }}
)

// channelColumns is the per-channel table: every KPI.
var channelColumns = []tableColumn{colChannel, colConv, colFRT50, colFRT90, colAgent50, colEsc, colCont,
	colRes50, colReopen, colFCR, colRecon, colHandoff, colCSAT, colCSATN, colNPS, colNPSN, colSLA}

// dayColumns is the per-day table: the headline KPIs.
var dayColumns = []tableColumn{colDay, colConv, colFRT50, colFRT90, colEsc, colCont, colFCR, colRecon,
	colCSAT, colNPS, colSLA}

// tableCells renders groups through columns.
func tableCells(cols []tableColumn, groups []kpiGroup) [][]string {
	out := make([][]string, len(groups))
	for i := range groups {
		for _, c := range cols {
			out[i] = append(out[i], c.Cell(&groups[i]))
		}
	}
	return out
}

// overallRow is the all-channels row under the per-channel table.
func overallRow(cols []tableColumn, f figures, label string) []string {
	g := kpiGroup{figures: f}
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = c.Cell(&g)
	}
	row[0] = label
	return row
}

// methodNotes says how the figures over several days or channels are
// computed; see summarize.
var methodNotes = []string{
	"Conversations and survey responses are summed over the days and channels.",
	"CSAT and NPS over several days or channels are weighted by their responses: sum(csat × responses) / sum(responses). This is exact.",
	"Rates (escalation, containment, reopen, FCR, recontact, handoff context, SLA breach) are the daily per-channel rates averaged with each day's conversations as weight. kpi_daily does not carry each rate's own denominator, so this is an approximation where that share differs between days or channels.",
	"Durations (FRT, agent FRT, resolution) over several days or channels are the median of the daily per-channel percentiles, weighted by conversations: an approximation of the true percentile, which needs the per-conversation data in the conversations mart.",
	"A dash (—) means no eligible conversation: the figure is unknown, not zero. Days and channels without a value are left out of that figure.",
}

package reports

import (
	"database/sql"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed kpi.html.tmpl
var kpiHTMLSource string

var kpiHTML = template.Must(template.New("kpi").Parse(kpiHTMLSource))

// htmlCell is one table cell; Null cells (a dash) are shown muted.
type htmlCell struct {
	Text    string
	Numeric bool
	Null    bool
	Miss    bool // misses its target
}

type htmlTable struct {
	Head  []htmlCell
	Rows  [][]htmlCell
	Total []htmlCell // optional last row
}

type htmlChart struct {
	Title, Note string
	SVG         template.HTML // drawn and escaped by chart.svg
}

type kpiHTMLView struct {
	Title, Period, Previous, GeneratedAt string
	Empty                                bool
	Headline                             []headlineItem
	Charts                               []htmlChart // full width
	Surveys                              []htmlChart // side by side
	Comparison, Channels, Handlers       htmlTable
	Teams, Days                          htmlTable
	SLAs                                 htmlTable
	SLANote                              string
	Cost                                 htmlTable
	CostNote                             string
	Notes                                []string
}

// writeKPIHTML writes one self-contained page: no external styles, scripts,
// fonts or images. Charts are inline SVG; every piece of data on the page is
// escaped by html/template or by chart.svg.
func writeKPIHTML(w io.Writer, r *kpiReport) error {
	v := kpiHTMLView{Title: r.Title, Period: r.Period(), Previous: r.PrevPeriod(),
		GeneratedAt: r.GeneratedAt.Format("2006-01-02 15:04:05 UTC"), Empty: r.Empty(), Notes: methodNotes}
	if !r.Empty() {
		v.Headline = r.headline()
		v.Charts, v.Surveys = kpiCharts(r)
		var total []string
		if len(r.Channels) > 1 {
			total = r.overallRow("all channels")
		}
		v.Comparison = newHTMLTable(comparisonHead, r.comparisonRows(), nil)
		v.Channels = newHTMLTable(groupHead("channel"), r.groupRows(r.Channels, channelOf, true), total)
		v.Handlers = newHTMLTable(groupHead("handled by"), r.groupRows(r.Handlers, handlerLabel, false), nil)
		v.Teams = newHTMLTable(groupHead("team"), r.groupRows(r.Teams, teamLabel, false), nil)
		if len(r.SLAs) > 0 {
			v.SLAs, v.SLANote = newHTMLTable(slaHead, r.slaRows(), nil), slaNote
		}
		v.Days = newHTMLTable(dayHead(), r.dayRows(), nil)
		v.CostNote = r.costNote()
		if r.CostLabel != "" {
			v.Cost = newHTMLTable(costHead, r.costRows(), nil)
		}
	}
	return kpiHTML.Execute(w, v)
}

func newHTMLTable(cols []tableHead, rows [][]string, total []string) htmlTable {
	cells := func(texts []string) []htmlCell {
		out := make([]htmlCell, len(texts))
		for i, t := range texts {
			out[i] = htmlCell{Text: t, Numeric: cols[i].Numeric, Null: t == dash, Miss: strings.Contains(t, strings.TrimSpace(markMiss))}
		}
		return out
	}
	var t htmlTable
	for _, c := range cols {
		t.Head = append(t.Head, htmlCell{Text: c.Text, Numeric: c.Numeric})
	}
	for _, r := range rows {
		t.Rows = append(t.Rows, cells(r))
	}
	if total != nil {
		t.Total = cells(total)
	}
	return t
}

// kpiCharts draws conversations and FRT p50 per day by channel, and CSAT and
// NPS per day over all channels.
func kpiCharts(r *kpiReport) (main, surveys []htmlChart) {
	first, last := r.Rows[0].Day, r.Rows[len(r.Rows)-1].Day
	var days []time.Time
	index := map[time.Time]int{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		index[d] = len(days)
		days = append(days, d)
	}
	var channels []string
	for _, g := range r.Channels {
		channels = append(channels, g.Channel)
	}
	colors := colorsFor(channels)
	byChannel := func(get func(*figures) sql.NullFloat64) []chartSeries {
		out := make([]chartSeries, len(channels))
		pos := map[string]int{}
		for i, ch := range channels {
			pos[ch] = i
			out[i] = chartSeries{Name: channelLabel(ch), Color: colors[ch], Values: make([]sql.NullFloat64, len(days))}
		}
		for i := range r.Rows {
			row := &r.Rows[i]
			out[pos[row.Channel]].Values[index[row.Day]] = get(&row.figures)
		}
		return out
	}

	conv := byChannel(func(f *figures) sql.NullFloat64 {
		return sql.NullFloat64{Float64: float64(f.Conversations), Valid: true}
	})
	var top float64
	for i := range days {
		var sum float64
		for _, s := range conv {
			sum += s.Values[i].Float64
		}
		top = max(top, sum)
	}
	convChart := chart{Title: "Conversations per day by channel", Width: 1100, Height: 320, Days: days,
		Series: conv, Scale: countScale(top), YTitle: "conversations", Stacked: true,
		Value: func(v float64) string { return fmtCount(int64(v)) + " conversations" }}

	frt := byChannel(func(f *figures) sql.NullFloat64 { return f.FRTP50 })
	lowest, highest := 0.0, 0.0
	for _, s := range frt {
		for _, v := range s.Values {
			if v.Valid && v.Float64 > 0 && (lowest == 0 || v.Float64 < lowest) {
				lowest = v.Float64
			}
			if v.Valid {
				highest = max(highest, v.Float64)
			}
		}
	}
	frtChart := chart{Title: "First response time p50 per day by channel", Width: 1100, Height: 320, Days: days,
		Series: frt, Scale: durationScale(lowest, highest), YTitle: "FRT p50", Value: fmtSeconds}
	frtNote := "The daily median of each channel's first response time. A gap means no conversation with a response that day."
	if frtChart.Scale.log {
		frtNote += " Logarithmic scale, so that channels answered in seconds and in hours both stay readable."
	}

	csat := chartSeries{Name: "all channels", Color: "#3b6ea8", Values: make([]sql.NullFloat64, len(days)), Notes: make([]string, len(days))}
	nps := chartSeries{Name: "all channels", Color: "#7b4fa0", Values: make([]sql.NullFloat64, len(days)), Notes: make([]string, len(days))}
	for _, g := range r.Days {
		i := index[g.Day]
		csat.Values[i], csat.Notes[i] = g.CSAT, fmt.Sprintf("(%s responses)", fmtCount(g.CSATResponses))
		nps.Values[i], nps.Notes[i] = g.NPS, fmt.Sprintf("(%s responses)", fmtCount(g.NPSResponses))
	}
	csatChart := chart{Title: "CSAT per day", Width: 540, Height: 280, Days: days, Series: []chartSeries{csat},
		Scale: percentScale(), YTitle: "CSAT", Value: fmtPercent}
	npsChart := chart{Title: "NPS per day", Width: 540, Height: 280, Days: days, Series: []chartSeries{nps},
		Scale: npsScale(), YTitle: "NPS", Value: func(v float64) string { return fmtNPS(sql.NullFloat64{Float64: v, Valid: true}) }}

	frtBars := r.channelBars("First response time p90 by channel, whole period", "frt_p90_s")
	frtBars.Note = "The 90th percentile of every conversation's first response time in the period, per channel. Hatched: fewer than 30 answered conversations."
	slaBars := r.channelBars("SLA breach rate by channel, whole period", "sla_breach_rate")
	slaBars.Note = "Share of conversations answered later than the channel's expected response time, on the channel's SLA clock (see SLAs and their clocks)."
	main = []htmlChart{
		{Title: convChart.Title, Note: "Conversations opened each day (" + r.ZoneLabel() + "), stacked by channel.", SVG: template.HTML(convChart.svg())},
		frtBars,
		slaBars,
		{Title: frtChart.Title, Note: frtNote, SVG: template.HTML(frtChart.svg())},
	}
	surveys = []htmlChart{
		{Title: csatChart.Title, Note: "Share of CSAT answers scoring 4 or 5, all channels, weighted by answers.", SVG: template.HTML(csatChart.svg())},
		{Title: npsChart.Title, Note: "Promoters minus detractors, all channels, weighted by answers.", SVG: template.HTML(npsChart.svg())},
	}
	return main, surveys
}

func sqlFloat(v float64) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: true} }

// htmlSafe marks markup drawn by a chart, whose data is escaped, as safe.
func htmlSafe(s string) template.HTML { return template.HTML(s) }

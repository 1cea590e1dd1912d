package reports

import (
	"database/sql"
	"fmt"
	"html"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// chartSeries is one channel (or one overall figure) of a chart, with a value
// per chart day; null where that day has none.
type chartSeries struct {
	Name   string
	Color  string
	Values []sql.NullFloat64
	Notes  []string // optional, per day: appended to the point's tooltip
}

// chart is one inline SVG chart over consecutive days.
type chart struct {
	Title         string // for screen readers and the SVG <title>
	Width, Height float64
	Days          []time.Time
	Series        []chartSeries
	Scale         yScale
	YTitle        string
	Stacked       bool                 // stacked bars; otherwise lines
	Value         func(float64) string // tooltips
}

const (
	chartFont  = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
	inkColor   = "#1f2328"
	mutedColor = "#57606a"
	gridColor  = "#e6e8eb"
	axisColor  = "#8c959f"
	charWidth  = 6.8 // rough width of a 12px character, for laying out legends
)

// svg draws the chart. Every piece of data that reaches the markup is
// escaped, so the result is safe to embed in a page as it is.
func (c *chart) svg() string {
	c.dropEmptySeries()
	var b strings.Builder
	w, h := c.Width, c.Height
	legend := c.legendRows(w - 80)
	top := 14 + 18*float64(len(legend)) + 10
	left, right, bottom := 76.0, 18.0, 46.0
	pw, ph := w-left-right, h-top-bottom
	yAt := func(v float64) float64 { return top + ph*(1-c.Scale.frac(v)) }
	n := max(len(c.Days), 1)
	band := pw / float64(n)
	xAt := func(i int) float64 { return left + band*(float64(i)+0.5) }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s" font-family="%s" font-size="12">`,
		num(w), num(h), esc(c.Title), chartFont)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))

	// Grid and y ticks.
	for _, t := range c.Scale.ticks {
		y := yAt(t)
		stroke := gridColor
		if t == 0 && c.Scale.lo < 0 {
			stroke = axisColor
		}
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(left), num(y), num(left+pw), num(y), stroke)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`,
			num(left-8), num(y), mutedColor, esc(c.Scale.label(t)))
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(left), num(top+ph), num(left+pw), num(top+ph), axisColor)

	// X ticks: as many day labels as fit.
	step := int(math.Ceil(float64(len(c.Days)) / math.Max(1, math.Floor(pw/62))))
	for i, d := range c.Days {
		if i%max(step, 1) != 0 {
			continue
		}
		x := xAt(i)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, num(x), num(top+ph), num(x), num(top+ph+4), axisColor)
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, num(x), num(top+ph+18), mutedColor, d.Format("Jan 2"))
	}

	// Axis titles.
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">day (UTC)</text>`, num(left+pw/2), num(h-8), mutedColor)
	fmt.Fprintf(&b, `<text transform="translate(14 %s) rotate(-90)" text-anchor="middle" fill="%s">%s</text>`,
		num(top+ph/2), mutedColor, esc(c.YTitle))

	if !c.hasData() {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">no data in this period</text>`, num(left+pw/2), num(top+ph/2), mutedColor)
	} else if c.Stacked {
		c.bars(&b, xAt, yAt, min(band*0.78, 56))
	} else {
		c.lines(&b, xAt, yAt)
	}

	// Legend, above the plot.
	for row, items := range legend {
		x := left
		y := 14 + 18*float64(row) + 6
		for _, s := range items {
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="12" height="12" rx="2" fill="%s"/>`, num(x), num(y-6), s.Color)
			fmt.Fprintf(&b, `<text x="%s" y="%s" dominant-baseline="middle" fill="%s">%s</text>`, num(x+17), num(y), inkColor, esc(s.Name))
			x += legendWidth(s.Name)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// dropEmptySeries leaves out series that would draw nothing (a channel with
// no FRT in the period, or with zero conversations), so that the legend names
// only what is on the chart.
func (c *chart) dropEmptySeries() {
	var keep []chartSeries
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v.Valid && (!c.Stacked || v.Float64 > 0) {
				keep = append(keep, s)
				break
			}
		}
	}
	c.Series = keep
}

func (c *chart) hasData() bool {
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v.Valid {
				return true
			}
		}
	}
	return false
}

// bars stacks the series per day in series order, first at the bottom.
func (c *chart) bars(b *strings.Builder, xAt func(int) float64, yAt func(float64) float64, width float64) {
	width = max(width, 1)
	for i, d := range c.Days {
		base := 0.0
		for _, s := range c.Series {
			v := s.Values[i]
			if !v.Valid || v.Float64 <= 0 {
				continue
			}
			y0, y1 := yAt(base), yAt(base+v.Float64)
			base += v.Float64
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				num(xAt(i)-width/2), num(y1), num(width), num(max(y0-y1, 0.5)), s.Color, esc(c.tip(d, s, i)))
		}
	}
}

// lines draws one line per series, broken where a day has no value, with a
// dot per value (always for a value with no neighbour, so a lone day shows).
func (c *chart) lines(b *strings.Builder, xAt func(int) float64, yAt func(float64) float64) {
	dots := len(c.Days) <= 62
	for _, s := range c.Series {
		var path strings.Builder
		for i, v := range s.Values {
			if !v.Valid {
				continue
			}
			cmd := "L"
			if i == 0 || !s.Values[i-1].Valid {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%s %s ", cmd, num(xAt(i)), num(yAt(v.Float64)))
		}
		if path.Len() > 0 {
			fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`,
				strings.TrimSpace(path.String()), s.Color)
		}
		for i, v := range s.Values {
			if !v.Valid {
				continue
			}
			lone := (i == 0 || !s.Values[i-1].Valid) && (i == len(s.Values)-1 || !s.Values[i+1].Valid)
			if !dots && !lone {
				continue
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5" fill="%s" stroke="#fff" stroke-width="1.5"><title>%s</title></circle>`,
				num(xAt(i)), num(yAt(v.Float64)), s.Color, esc(c.tip(c.Days[i], s, i)))
		}
	}
}

func (c *chart) tip(d time.Time, s chartSeries, i int) string {
	t := isoDay(d) + " · " + s.Name + ": " + c.Value(s.Values[i].Float64)
	if i < len(s.Notes) && s.Notes[i] != "" {
		t += " " + s.Notes[i]
	}
	return t
}

// legendRows wraps the legend entries into rows no wider than width.
func (c *chart) legendRows(width float64) [][]chartSeries {
	var rows [][]chartSeries
	var x float64
	for _, s := range c.Series {
		lw := legendWidth(s.Name)
		if len(rows) == 0 || x+lw > width {
			rows = append(rows, nil)
			x = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], s)
		x += lw
	}
	return rows
}

func legendWidth(name string) float64 {
	return 17 + charWidth*float64(utf8.RuneCountInString(name)) + 20
}

// num writes a coordinate compactly: at most one decimal.
func num(v float64) string {
	return trimZero(fmt.Sprintf("%.1f", v))
}

func esc(s string) string { return html.EscapeString(s) }

// channelColors keeps each known channel's colour the same in every report.
// The palette is Tableau 10, darkened where a light tone would vanish on
// white.
var channelColors = map[string]string{
	"whatsapp":  "#59a14f",
	"instagram": "#b07aa1",
	"telegram":  "#76b7b2",
	"messenger": "#4e79a7",
	"webchat":   "#f28e2b",
	"email":     "#e15759",
	"sms":       "#c9a227",
	"voice":     "#9c755f",
	"app":       "#d37295",
}

// spareColors go to channels outside the known list, in order of size.
var spareColors = []string{"#6b6ecf", "#8c8c8c", "#3d8f8a", "#a0522d", "#7f7f00", "#1f77b4", "#bcbd22", "#17becf"}

func colorsFor(channels []string) map[string]string {
	out := make(map[string]string, len(channels))
	next := 0
	for _, ch := range channels {
		if c, ok := channelColors[strings.ToLower(ch)]; ok {
			out[ch] = c
			continue
		}
		out[ch] = spareColors[next%len(spareColors)]
		next++
	}
	return out
}

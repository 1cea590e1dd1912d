package reports

import (
	"fmt"
	"math"
	"strings"
)

// barChart is one horizontal bar per channel for a figure of the whole
// period: it stays readable with any number of channels, where nine
// crossing daily lines do not. Bars over a small sample are drawn hatched
// and say so; a null figure is a labelled gap.
type barChart struct {
	ID    string // unique on the page: names the hatch pattern
	Title string
	Bars  []bar
	Value func(float64) string
}

type bar struct {
	Name, Color string
	Value       float64
	Valid       bool
	Small       bool
}

// svg draws the chart; every piece of data is escaped.
func (c *barChart) svg() string {
	const rowH, labelW, valueW, width = 26.0, 110.0, 150.0, 1100.0
	height := rowH*float64(len(c.Bars)) + 10
	top := 0.0
	for _, b := range c.Bars {
		if b.Valid {
			top = math.Max(top, b.Value)
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" role="img" aria-label="%s">`, num(width), num(height), esc(c.Title))
	fmt.Fprintf(&s, `<title>%s</title>`, esc(c.Title))
	fmt.Fprintf(&s, `<defs><pattern id="small-%s" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#8c959f"/></pattern></defs>`, c.ID)
	span := width - labelW - valueW
	for i, b := range c.Bars {
		y := float64(i)*rowH + 5
		fmt.Fprintf(&s, `<text x="%s" y="%s" font-family="%s" font-size="12" fill="%s" text-anchor="end">%s</text>`,
			num(labelW-8), num(y+rowH/2+4), chartFont, inkColor, esc(b.Name))
		if !b.Valid {
			fmt.Fprintf(&s, `<text x="%s" y="%s" font-family="%s" font-size="12" fill="%s">%s (no eligible conversation)</text>`,
				num(labelW), num(y+rowH/2+4), chartFont, mutedColor, dash)
			continue
		}
		w := 0.0
		if top > 0 {
			w = math.Max(1, span*b.Value/top)
		}
		fill := esc(b.Color)
		label := c.Value(b.Value)
		if b.Small {
			fill = "url(#small-" + c.ID + ")"
			label += " (small sample)"
		}
		fmt.Fprintf(&s, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s</title></rect>`,
			num(labelW), num(y+3), num(w), num(rowH-8), fill, esc(b.Name), esc(label))
		fmt.Fprintf(&s, `<text x="%s" y="%s" font-family="%s" font-size="12" fill="%s">%s</text>`,
			num(labelW+w+6), num(y+rowH/2+4), chartFont, inkColor, esc(label))
	}
	s.WriteString(`</svg>`)
	return s.String()
}

// channelBars is the named figure per channel, largest channel first.
func (r *kpiReport) channelBars(title, name string) htmlChart {
	colors := colorsFor(channelNames(r.Channels))
	c := barChart{ID: name, Title: title, Value: func(v float64) string { return fmtFigure(name, sqlFloat(v)) }}
	for i := range r.Channels {
		g := &r.Channels[i]
		v := valueOf(&g.figures, name)
		c.Bars = append(c.Bars, bar{Name: channelLabel(g.Channel), Color: colors[g.Channel], Value: v.Float64, Valid: v.Valid, Small: small(&g.figures, name)})
	}
	return htmlChart{Title: title, SVG: htmlSafe(c.svg())}
}

func channelNames(gs []kpiGroup) []string {
	out := make([]string, len(gs))
	for i := range gs {
		out[i] = gs[i].Channel
	}
	return out
}

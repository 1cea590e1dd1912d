package reports

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// writeKPIMarkdown writes the report for mail: the headline, a table per
// channel and a table per day, then how the figures are computed. Tables are
// padded so that they also read as plain text.
func writeKPIMarkdown(w io.Writer, r *kpiReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdText(r.Title))
	fmt.Fprintf(&b, "**Period:** %s\n\n", mdText(r.Period()))
	if p := r.PrevPeriod(); p != "" {
		fmt.Fprintf(&b, "**Compared with:** %s\n\n", mdText(p))
	}
	fmt.Fprintf(&b, "**Generated at:** %s\n\n", r.GeneratedAt.Format("2006-01-02 15:04:05 UTC"))
	if r.Empty() {
		b.WriteString("No data in kpi_counts_daily for this period.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}

	b.WriteString("## Headline\n\n")
	for _, it := range r.headline() {
		v := it.Value
		if it.Miss {
			v += markMiss
		}
		if it.Sub != "" {
			fmt.Fprintf(&b, "- **%s:** %s (%s)\n", it.Label, v, it.Sub)
		} else {
			fmt.Fprintf(&b, "- **%s:** %s\n", it.Label, v)
		}
	}

	b.WriteString("\n## Against the previous period and the targets\n\n")
	mdTable(&b, comparisonHead, r.comparisonRows())

	b.WriteString("\n## By channel\n\n")
	rows := r.groupRows(r.Channels, channelOf, true)
	if len(r.Channels) > 1 {
		rows = append(rows, r.overallRow("all channels"))
	}
	mdTable(&b, groupHead("channel"), rows)

	if len(r.SLAs) > 0 {
		b.WriteString("\n## SLAs and their clocks\n\n")
		mdTable(&b, slaHead, r.slaRows())
		fmt.Fprintf(&b, "\n%s\n", slaNote)
	}

	b.WriteString("\n## Bot vs human\n\n")
	mdTable(&b, groupHead("handled by"), r.groupRows(r.Handlers, handlerLabel, false))

	b.WriteString("\n## Cost\n\n")
	fmt.Fprintf(&b, "%s\n\n", mdText(r.costNote()))
	if r.CostLabel != "" {
		mdTable(&b, costHead, r.costRows())
	}

	b.WriteString("\n## By team\n\n")
	mdTable(&b, groupHead("team"), r.groupRows(r.Teams, teamLabel, false))

	b.WriteString("\n## By day\n\n")
	mdTable(&b, dayHead(), r.dayRows())

	b.WriteString("\n## How these figures are computed\n\n")
	for _, n := range methodNotes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdTable writes a GitHub-flavoured Markdown table with padded cells.
func mdTable(b *strings.Builder, cols []tableHead, rows [][]string) {
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = max(3, utf8.RuneCountInString(c.Text))
	}
	for ri, row := range rows {
		for i, cell := range row {
			rows[ri][i] = mdText(cell)
			width[i] = max(width[i], utf8.RuneCountInString(rows[ri][i]))
		}
	}
	pad := func(s string, i int) string {
		fill := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
		if cols[i].Numeric {
			return fill + s
		}
		return s + fill
	}
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + pad(c, i) + " |")
		}
		b.WriteString("\n")
	}
	heads := make([]string, len(cols))
	rules := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.Text
		if c.Numeric {
			rules[i] = strings.Repeat("-", width[i]-1) + ":"
		} else {
			rules[i] = strings.Repeat("-", width[i])
		}
	}
	line(heads)
	line(rules)
	for _, row := range rows {
		line(row)
	}
}

// mdText keeps data (a channel name, a title) from breaking the Markdown:
// no line breaks, and pipes and markup characters escaped.
var mdEscaper = strings.NewReplacer(
	"\r", " ", "\n", " ", "\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_",
	"`", "\\`", "[", "\\[", "]", "\\]", "<", "\\<", ">", "\\>",
)

func mdText(s string) string { return mdEscaper.Replace(s) }

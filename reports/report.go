// Package reports writes the reports cxlake hands to people outside Grafana:
// the KPI report (Markdown for mail, CSV for spreadsheets, one self-contained
// HTML page with inline SVG charts). Reports read marts only, never raw or
// intermediate tables, and they recompute overall figures from the daily
// rows rather than averaging them naively.
package reports

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"
)

// KPIOptions select what KPI writes.
type KPIOptions struct {
	// From and To bound the report to inclusive UTC days; each is taken as the
	// calendar date it carries in its own location. A zero value leaves that
	// side open.
	From, To time.Time
	// Format is "md" (default; "markdown" also works), "html" or "csv".
	Format string
	// Title heads the Markdown and HTML reports; empty means
	// "Customer service KPIs".
	Title string
}

const defaultTitle = "Customer service KPIs"

// KPI writes the KPI report over the kpi_daily mart to w.
//
// Errors: a *FormatError for an unknown format, a *RangeError when From is
// after To (both checked before the database is touched), and a
// *MissingMartError when kpi_daily does not exist. A range with no rows is
// not an error: Markdown and HTML say there is no data for the period, CSV is
// the header row alone.
func KPI(ctx context.Context, db *sql.DB, w io.Writer, opts KPIOptions) error {
	format, err := kpiFormat(opts.Format)
	if err != nil {
		return err
	}
	var from, to time.Time
	if !opts.From.IsZero() {
		from = dayOf(opts.From)
	}
	if !opts.To.IsZero() {
		to = dayOf(opts.To)
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return &RangeError{From: from, To: to}
	}
	rows, err := loadKPIDaily(ctx, db, from, to)
	if err != nil {
		return err
	}
	rep := newKPIReport(opts.Title, from, to, rows)
	switch format {
	case "csv":
		err = writeKPICSV(w, rep)
	case "html":
		err = writeKPIHTML(w, rep)
	default:
		err = writeKPIMarkdown(w, rep)
	}
	if err != nil {
		return fmt.Errorf("writing %s KPI report: %w", format, err)
	}
	return nil
}

func kpiFormat(f string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "", "md", "markdown":
		return "md", nil
	case "html":
		return "html", nil
	case "csv":
		return "csv", nil
	}
	return "", &FormatError{Format: f}
}

// kpiReport is everything a writer needs: the rows as read and the figures
// recomputed from them.
type kpiReport struct {
	Title    string
	From, To time.Time // requested days, zero when open
	Rows     []kpiRow  // ordered by day, then channel
	Overall  figures
	Channels []kpiGroup // by conversations, largest first
	Days     []kpiGroup // by day, oldest first
}

// kpiGroup is the figures of one channel or one day.
type kpiGroup struct {
	Channel string    // set for a channel group
	Day     time.Time // set for a day group
	figures
}

func newKPIReport(title string, from, to time.Time, rows []kpiRow) *kpiReport {
	if strings.TrimSpace(title) == "" {
		title = defaultTitle
	}
	r := &kpiReport{Title: title, From: from, To: to, Rows: rows, Overall: summarize(rows)}
	for _, ch := range channelsBySize(rows) {
		var sub []kpiRow
		for _, row := range rows {
			if row.Channel == ch {
				sub = append(sub, row)
			}
		}
		r.Channels = append(r.Channels, kpiGroup{Channel: ch, figures: summarize(sub)})
	}
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Day.Equal(rows[i].Day) {
			j++
		}
		r.Days = append(r.Days, kpiGroup{Day: rows[i].Day, figures: summarize(rows[i:j])})
		i = j
	}
	return r
}

// Empty reports whether the period holds no kpi_daily rows.
func (r *kpiReport) Empty() bool { return len(r.Rows) == 0 }

// Period describes the requested days and, when it differs, the days that
// actually hold data.
func (r *kpiReport) Period() string {
	var first, last time.Time
	if len(r.Rows) > 0 {
		first, last = r.Rows[0].Day, r.Rows[len(r.Rows)-1].Day
	}
	start, end := r.From, r.To
	if start.IsZero() {
		start = first
	}
	if end.IsZero() {
		end = last
	}
	var s string
	switch {
	case start.IsZero() && end.IsZero():
		s = "all days"
	case end.IsZero():
		s = "from " + isoDay(start)
	case start.IsZero():
		s = "through " + isoDay(end)
	default:
		s = dayRange(start, end)
	}
	s += " (UTC)"
	if len(r.Rows) > 0 && (!first.Equal(start) || !last.Equal(end)) {
		s += "; data for " + dayRange(first, last)
	}
	return s
}

func dayRange(a, b time.Time) string {
	if a.Equal(b) {
		return isoDay(a)
	}
	return isoDay(a) + " to " + isoDay(b)
}

// dayOf is the calendar date t carries in its own location, as midnight UTC.
func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func isoDay(t time.Time) string { return t.Format(time.DateOnly) }

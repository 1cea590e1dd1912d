// Package reports writes the reports cxlake hands to people outside Grafana:
// the KPI report (JSON for programs, Markdown for mail, CSV for
// spreadsheets, one self-contained HTML page with inline SVG charts). Reports
// read marts only, never raw or intermediate tables. Every KPI figure is
// computed in SQL over the additive KPI base (kpi_counts_daily) for the
// requested period and filter with models.KPIFigures, so it equals the same
// KPI computed over the conversations of that period and filter.
package reports

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// KPIOptions select what KPI writes.
type KPIOptions struct {
	// From and To bound the report to inclusive UTC days; each is taken as the
	// calendar date it carries in its own location. A zero value leaves that
	// side open: the first or last day with data.
	From, To time.Time
	// Filter keeps only some channels or teams.
	Filter Filter
	// Format is "md" (default; "markdown" also works), "html", "csv" or "json".
	Format string
	// Title heads the report; empty means "Customer service KPIs".
	Title string
	// Targets are the KPIs' targets by kpi_daily column name; figures that
	// miss theirs are flagged. Check them with ValidateTargets.
	Targets map[string]Target
	// Now stamps "generated at"; zero means the clock.
	Now time.Time
	// Zone is the time zone whose days the report counts (ParseZone): ""
	// is UTC. A conversation belongs to the local day it opened in, a
	// survey outside a conversation to the local day it was answered:
	// computed from the quarter-hour KPI base, never by shifting UTC days,
	// so every figure is exact in the zone.
	Zone string
}

// SmallSample is the sample size under which a figure is marked as resting
// on too few conversations or answers to read alone (a daily NPS over 5
// answers swings from -60 to +80).
const SmallSample = 30

const defaultTitle = "Customer service KPIs"

// KPI writes the KPI report over the kpi_counts_daily mart to w.
//
// Errors: a *FormatError for an unknown format, a *RangeError when From is
// after To, a *TargetError for a bad target (all checked before the database
// is touched), and a *MissingMartError when kpi_counts_daily does not exist.
// A range with no rows is not an error: Markdown and HTML say there is no
// data for the period, CSV is the header row alone, JSON has zero
// conversations and null figures.
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
	if err := ValidateTargets(opts.Targets); err != nil {
		return err
	}
	if opts.Zone, err = ParseZone("zone", opts.Zone); err != nil {
		return err
	}
	// One transaction: every figure from the same snapshot, even while
	// ingest and model refreshes commit on other connections.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("starting the report's read: %w", err)
	}
	defer tx.Rollback()
	if err := checkBase(ctx, tx, opts.Zone); err != nil {
		return err
	}
	rep, err := loadKPIReport(ctx, tx, opts, from, to)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		err = writeKPICSV(w, rep)
	case "html":
		err = writeKPIHTML(w, rep)
	case "json":
		err = writeKPIJSON(w, rep)
	default:
		err = writeKPIMarkdown(w, rep)
	}
	if err != nil {
		return fmt.Errorf("writing %s KPI report: %w", format, err)
	}
	return nil
}

// KPIContentType is the HTTP Content-Type of a KPI report format; "" for an
// unknown format.
func KPIContentType(format string) string {
	f, err := kpiFormat(format)
	if err != nil {
		return ""
	}
	return map[string]string{
		"md":   "text/markdown; charset=utf-8",
		"html": "text/html; charset=utf-8",
		"csv":  "text/csv; charset=utf-8",
		"json": "application/json",
	}[f]
}

func kpiFormat(f string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "", "md", "markdown":
		return "md", nil
	case "html":
		return "html", nil
	case "csv":
		return "csv", nil
	case "json":
		return "json", nil
	}
	return "", &FormatError{Format: f}
}

// kpiReport is everything a writer needs, computed in SQL.
type kpiReport struct {
	Title       string
	GeneratedAt time.Time
	From, To    time.Time // requested days, zero when open
	Start, End  time.Time // the days reported: requested, open sides from the data; zero when no data
	Filter      Filter
	Zone        string // "" for UTC
	Targets     map[string]Target
	Rows        []kpiGroup // day × channel, by day then channel
	Overall     figures
	Channels    []kpiGroup   // by conversations, largest first
	Teams       []kpiGroup   // by conversations, largest first
	Handlers    []kpiGroup   // handled_by: bot, human, none
	Days        []kpiGroup   // all channels by day, oldest first
	SLAs        []channelSLA // each channel's SLA and its clock, by channel
	CostLabel   string       // the cost model's label (cost_model), "" without one
	// The previous period: the same number of days just before Start.
	PrevStart, PrevEnd time.Time
	PrevOverall        figures
	PrevChannels       map[string]figures
}

// kpiGroup is the figures of one channel, team, handler, day, or day and channel.
type kpiGroup struct {
	Channel string    // set for a channel group
	Key     string    // a team or a handled_by value
	Day     time.Time // set for a day group
	figures
}

func loadKPIReport(ctx context.Context, db querier, opts KPIOptions, from, to time.Time) (*kpiReport, error) {
	title := opts.Title
	if strings.TrimSpace(title) == "" {
		title = defaultTitle
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &kpiReport{Title: title, GeneratedAt: now.UTC().Truncate(time.Second), From: from, To: to,
		Filter: opts.Filter, Zone: opts.Zone, Targets: opts.Targets, PrevChannels: map[string]figures{}}
	first, last, err := dataDays(ctx, db, opts.Zone, from, to, opts.Filter)
	if err != nil {
		return nil, err
	}
	r.Start, r.End = from, to
	if r.Start.IsZero() {
		r.Start = first
	}
	if r.End.IsZero() {
		r.End = last
	}
	if first.IsZero() && (from.IsZero() || to.IsZero()) {
		r.Start, r.End = from, to // no data and an open side: nothing to compare with
	}
	load := func(from, to time.Time, keys ...groupKey) ([]kpiGroup, error) {
		return loadGroups(ctx, db, opts.Zone, from, to, opts.Filter, keys...)
	}
	overall, err := load(r.Start, r.End)
	if err != nil {
		return nil, err
	}
	r.Overall = overall[0].figures
	if r.Rows, err = load(r.Start, r.End, byDay, byChannel); err != nil {
		return nil, err
	}
	if r.Channels, err = load(r.Start, r.End, byChannel); err != nil {
		return nil, err
	}
	if r.Teams, err = load(r.Start, r.End, byTeam); err != nil {
		return nil, err
	}
	if r.Handlers, err = load(r.Start, r.End, byHandledBy); err != nil {
		return nil, err
	}
	if r.Days, err = load(r.Start, r.End, byDay); err != nil {
		return nil, err
	}
	if r.SLAs, err = loadSLAs(ctx, db, opts.Filter); err != nil {
		return nil, err
	}
	if r.CostLabel, err = loadCostLabel(ctx, db); err != nil {
		return nil, err
	}
	bySize := func(a, b kpiGroup) int {
		if a.Conversations != b.Conversations {
			if a.Conversations > b.Conversations {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Channel+a.Key, b.Channel+b.Key)
	}
	slices.SortStableFunc(r.Channels, bySize)
	slices.SortStableFunc(r.Teams, bySize)
	if !r.Start.IsZero() && !r.End.IsZero() {
		days := int(r.End.Sub(r.Start).Hours()/24) + 1
		r.PrevEnd = r.Start.AddDate(0, 0, -1)
		r.PrevStart = r.PrevEnd.AddDate(0, 0, -(days - 1))
		prev, err := load(r.PrevStart, r.PrevEnd)
		if err != nil {
			return nil, err
		}
		r.PrevOverall = prev[0].figures
		prevCh, err := load(r.PrevStart, r.PrevEnd, byChannel)
		if err != nil {
			return nil, err
		}
		for _, g := range prevCh {
			r.PrevChannels[g.Channel] = g.figures
		}
	}
	return r, nil
}

// Empty reports whether the period holds no kpi_counts_daily rows.
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
	s += " (" + r.ZoneLabel() + ")"
	if len(r.Rows) > 0 && (!first.Equal(start) || !last.Equal(end)) {
		s += "; data for " + dayRange(first, last)
	}
	if len(r.Filter.Channels) > 0 {
		s += "; channels: " + strings.Join(r.Filter.Channels, ", ")
	}
	if len(r.Filter.Teams) > 0 {
		s += "; teams: " + strings.Join(r.Filter.Teams, ", ")
	}
	return s
}

// PrevPeriod describes the comparison period, "" when there is none.
func (r *kpiReport) PrevPeriod() string {
	if r.PrevStart.IsZero() {
		return ""
	}
	return dayRange(r.PrevStart, r.PrevEnd) + " (" + r.ZoneLabel() + ")"
}

// ZoneLabel names the zone whose days the report counts.
func (r *kpiReport) ZoneLabel() string {
	if r.Zone == "" {
		return "UTC"
	}
	return r.Zone
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

package reports

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cxlake/cxlake/models"
)

// baseTable is the mart the KPI report reads: the additive KPI base. Every
// figure is computed in SQL over its rows of the period and filter with the
// expressions of models.KPIFigures, the ones kpi_daily is built with, so a
// figure over many days or channels is exactly the KPI of their
// conversations (never an average of daily rates or a percentile of daily
// percentiles).
const baseTable = "kpi_counts_daily"

// zonedTable is the base at 15 minutes: every zone's offset is a whole
// number of quarter hours, so its rows grouped by their local day give a
// zone's days exactly.
const zonedTable = "kpi_counts_quarter_hourly"

// zoneName matches the IANA names ParseZone accepts; it keeps a zone safe
// to write into SQL as a literal.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)

// ParseZone reads the time zone of a report for the field named field:
// "" and "UTC" are UTC (returned as ""); otherwise an IANA name such as
// America/Sao_Paulo. The error names the field, not the value.
func ParseZone(field, s string) (string, error) {
	if s == "" || s == "UTC" {
		return "", nil
	}
	if !zoneName.MatchString(s) {
		return "", &ZoneError{Field: field}
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", &ZoneError{Field: field}
	}
	return s, nil
}

// base is the relation a report reads, with columns day, channel, team,
// handled_by and the parts: kpi_counts_daily for UTC days, or for a zone
// kpi_counts_quarter_hourly with day the local date of each quarter hour.
func base(zone string) string {
	if zone == "" {
		return baseTable
	}
	return "(select * exclude (day, bucket_at), (bucket_at at time zone '" + zone + "')::date as day from " + zonedTable + ") as base"
}

// baseName is the mart behind base(zone), for messages.
func baseName(zone string) string {
	if zone == "" {
		return baseTable
	}
	return zonedTable
}

// figures are the KPI values of a set of kpi_counts_daily rows: one day and
// channel, a channel over the period, the whole period, ... Null means no
// eligible conversation. N holds each figure's sample size by kpi_daily
// column name (see models.KPIFigure.Sample).
type figures struct {
	Conversations                                           int64
	FRTP50, FRTP90, AgentFRTP50, AgentFRTP90, ResolutionP50 sql.NullFloat64
	EscalationRate, ContainmentRate, ReopenRate, FCRRate    sql.NullFloat64
	RecontactRate, HandoffContextRate, SLABreachRate        sql.NullFloat64
	CSAT, NPS                                               sql.NullFloat64
	CSATResponses, NPSResponses                             int64
	BotHandled, Resolved, FCRKnown                          int64
	FRTMean, AgentFRTMean, ResolutionMean                   sql.NullFloat64
	ReplyP50, ReplyP90, ReplyMean                           sql.NullFloat64
	ReplyWaits                                              int64
	ResolutionBusinessP50, ResolutionBusinessMean           sql.NullFloat64
	HandoffP50, HandoffMean                                 sql.NullFloat64
	HandoffBusinessP50, HandoffBusinessMean                 sql.NullFloat64
	HandoffSLAMetRate                                       sql.NullFloat64
	HandoffCompleteRate, HandoffCompletenessMean            sql.NullFloat64
	CostTotal, CostPerResolved                              sql.NullFloat64
	CostPerResolvedBot, CostPerResolvedHuman                sql.NullFloat64
	BotResolvedShare, BotResolvedCostShare                  sql.NullFloat64
	RepeatAfterHandoffRate, RepeatAfterSwitchRate           sql.NullFloat64
	N                                                       map[string]int64
}

// kpiColumn is a kpi_daily column after day and channel; exactly one of
// count and value is set.
type kpiColumn struct {
	name  string
	count func(*figures) *int64
	value func(*figures) *sql.NullFloat64
}

// kpiColumns are the kpi_daily columns of the warehouse contract, in its
// order: the names of models.KPIFigures (TestColumnsAreTheKPIFigures).
var kpiColumns = []kpiColumn{
	{name: "conversations", count: func(f *figures) *int64 { return &f.Conversations }},
	{name: "frt_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.FRTP50 }},
	{name: "frt_p90_s", value: func(f *figures) *sql.NullFloat64 { return &f.FRTP90 }},
	{name: "agent_frt_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.AgentFRTP50 }},
	{name: "agent_frt_p90_s", value: func(f *figures) *sql.NullFloat64 { return &f.AgentFRTP90 }},
	{name: "escalation_rate", value: func(f *figures) *sql.NullFloat64 { return &f.EscalationRate }},
	{name: "containment_rate", value: func(f *figures) *sql.NullFloat64 { return &f.ContainmentRate }},
	{name: "resolution_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.ResolutionP50 }},
	{name: "reopen_rate", value: func(f *figures) *sql.NullFloat64 { return &f.ReopenRate }},
	{name: "fcr_rate", value: func(f *figures) *sql.NullFloat64 { return &f.FCRRate }},
	{name: "recontact_rate", value: func(f *figures) *sql.NullFloat64 { return &f.RecontactRate }},
	{name: "handoff_context_rate", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffContextRate }},
	{name: "csat_share", value: func(f *figures) *sql.NullFloat64 { return &f.CSAT }},
	{name: "csat_responses", count: func(f *figures) *int64 { return &f.CSATResponses }},
	{name: "nps", value: func(f *figures) *sql.NullFloat64 { return &f.NPS }},
	{name: "nps_responses", count: func(f *figures) *int64 { return &f.NPSResponses }},
	{name: "sla_breach_rate", value: func(f *figures) *sql.NullFloat64 { return &f.SLABreachRate }},
	{name: "bot_handled_conversations", count: func(f *figures) *int64 { return &f.BotHandled }},
	{name: "resolved_conversations", count: func(f *figures) *int64 { return &f.Resolved }},
	{name: "fcr_known_conversations", count: func(f *figures) *int64 { return &f.FCRKnown }},
	{name: "frt_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.FRTMean }},
	{name: "agent_frt_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.AgentFRTMean }},
	{name: "resolution_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.ResolutionMean }},
	{name: "reply_time_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.ReplyP50 }},
	{name: "reply_time_p90_s", value: func(f *figures) *sql.NullFloat64 { return &f.ReplyP90 }},
	{name: "reply_time_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.ReplyMean }},
	{name: "reply_waits", count: func(f *figures) *int64 { return &f.ReplyWaits }},
	{name: "resolution_business_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.ResolutionBusinessP50 }},
	{name: "resolution_business_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.ResolutionBusinessMean }},
	{name: "handoff_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffP50 }},
	{name: "handoff_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffMean }},
	{name: "handoff_business_p50_s", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffBusinessP50 }},
	{name: "handoff_business_mean_s", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffBusinessMean }},
	{name: "handoff_sla_met_rate", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffSLAMetRate }},
	{name: "handoff_complete_rate", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffCompleteRate }},
	{name: "handoff_completeness_mean", value: func(f *figures) *sql.NullFloat64 { return &f.HandoffCompletenessMean }},
	{name: "cost_total", value: func(f *figures) *sql.NullFloat64 { return &f.CostTotal }},
	{name: "cost_per_resolved", value: func(f *figures) *sql.NullFloat64 { return &f.CostPerResolved }},
	{name: "cost_per_resolved_bot", value: func(f *figures) *sql.NullFloat64 { return &f.CostPerResolvedBot }},
	{name: "cost_per_resolved_human", value: func(f *figures) *sql.NullFloat64 { return &f.CostPerResolvedHuman }},
	{name: "bot_resolved_share", value: func(f *figures) *sql.NullFloat64 { return &f.BotResolvedShare }},
	{name: "bot_resolved_cost_share", value: func(f *figures) *sql.NullFloat64 { return &f.BotResolvedCostShare }},
	{name: "repeat_after_handoff_rate", value: func(f *figures) *sql.NullFloat64 { return &f.RepeatAfterHandoffRate }},
	{name: "repeat_after_switch_rate", value: func(f *figures) *sql.NullFloat64 { return &f.RepeatAfterSwitchRate }},
}

// kpiFigure returns models' definition of the named figure.
func kpiFigure(name string) (models.KPIFigure, bool) {
	for _, f := range models.KPIFigures {
		if f.Name == name {
			return f, true
		}
	}
	return models.KPIFigure{}, false
}

// Filter narrows the conversations a report covers. An empty list keeps
// every value.
type Filter struct {
	Channels []string
	Teams    []string
}

// groupKey is a column of kpi_counts_daily a report groups by.
type groupKey string

const (
	byDay       groupKey = "day"
	byChannel   groupKey = "channel"
	byTeam      groupKey = "team"
	byHandledBy groupKey = "handled_by"
)

// querier is a *sql.DB or the *sql.Tx a report reads in, so that all its
// figures come from one snapshot while ingest and refreshes commit.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkBase fails with a *MissingMartError when the mart of base(zone)
// does not exist.
func checkBase(ctx context.Context, db querier, zone string) error {
	var n int
	err := db.QueryRowContext(ctx,
		`select count(*) from information_schema.tables where lower(table_name) = ?`, baseName(zone)).Scan(&n)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", baseName(zone), err)
	}
	if n == 0 {
		return &MissingMartError{Table: baseName(zone)}
	}
	return nil
}

// where is the condition on kpi_counts_daily of days from..to (inclusive;
// a zero side is open) and the filter.
func where(from, to time.Time, f Filter) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		conds = append(conds, "day >= cast(? as date)")
		args = append(args, isoDay(from))
	}
	if !to.IsZero() {
		conds = append(conds, "day <= cast(? as date)")
		args = append(args, isoDay(to))
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		conds = append(conds, col+" in ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("channel", f.Channels)
	in("team", f.Teams)
	if len(conds) == 0 {
		return "", nil
	}
	return " where " + strings.Join(conds, " and "), args
}

// dataDays returns the first and last day with rows in the period and
// filter; both zero when there are none.
func dataDays(ctx context.Context, db querier, zone string, from, to time.Time, f Filter) (first, last time.Time, err error) {
	w, args := where(from, to, f)
	var a, b sql.NullTime
	if err := db.QueryRowContext(ctx, "select min(day)::timestamp, max(day)::timestamp from "+base(zone)+w, args...).Scan(&a, &b); err != nil {
		return first, last, fmt.Errorf("reading %s: %w", baseTable, err)
	}
	if a.Valid {
		first, last = dayOf(a.Time.UTC()), dayOf(b.Time.UTC())
	}
	return first, last, nil
}

// loadGroups computes the figures of the period and filter grouped by keys
// (none: one group, the whole period), ordered by the keys.
func loadGroups(ctx context.Context, db querier, zone string, from, to time.Time, f Filter, keys ...groupKey) ([]kpiGroup, error) {
	var cols []string
	for _, k := range keys {
		if k == byDay {
			cols = append(cols, "day::timestamp as day")
		} else {
			cols = append(cols, string(k))
		}
	}
	w, args := where(from, to, f)
	q := "select "
	if len(cols) > 0 {
		q += strings.Join(cols, ", ") + ", "
	}
	q += models.KPISelect(true) + " from " + base(zone) + w
	if len(keys) > 0 {
		var ks []string
		for i := range keys {
			ks = append(ks, fmt.Sprint(i+1))
		}
		q += " group by " + strings.Join(ks, ", ") + " order by " + strings.Join(ks, ", ")
	}
	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s (if the mart predates this binary, rebuild it with `cxlake refresh --data DIR`): %w", baseTable, err)
	}
	defer rs.Close()
	var out []kpiGroup
	for rs.Next() {
		g := kpiGroup{figures: figures{N: map[string]int64{}}}
		var dest []any
		for _, k := range keys {
			switch k {
			case byDay:
				dest = append(dest, &g.Day)
			case byChannel:
				dest = append(dest, &g.Channel)
			default:
				dest = append(dest, &g.Key)
			}
		}
		ns := make([]int64, len(kpiColumns))
		for i, c := range kpiColumns {
			if c.count != nil {
				dest = append(dest, c.count(&g.figures))
			} else {
				dest = append(dest, c.value(&g.figures))
			}
			if models.KPIFigures[i].Sample != "" {
				dest = append(dest, &ns[i])
			}
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("reading %s: %w", baseTable, err)
		}
		for i, c := range kpiColumns {
			if models.KPIFigures[i].Sample != "" {
				g.N[c.name] = ns[i]
			}
		}
		if !g.Day.IsZero() {
			g.Day = dayOf(g.Day.UTC())
		}
		out = append(out, g)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", baseTable, err)
	}
	return out, nil
}

// Figures returns the KPI figures of the days from..to (inclusive; a zero
// side is open) and filter, computed like the report's: by kpi_daily column
// name, and each figure's sample size as "<name>_n". A figure with no
// eligible conversation is absent (null, not zero). The demo's summary
// prints them.
func Figures(ctx context.Context, db *sql.DB, from, to time.Time, f Filter) (map[string]float64, error) {
	if err := checkBase(ctx, db, ""); err != nil {
		return nil, err
	}
	gs, err := loadGroups(ctx, db, "", from, to, f)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, c := range kpiColumns {
		if v := valueOf(&gs[0].figures, c.name); v.Valid {
			out[c.name] = v.Float64
		}
		if n, ok := gs[0].N[c.name]; ok {
			out[c.name+"_n"] = float64(n)
		}
	}
	return out, nil
}

package reports

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// kpiTable is the mart the KPI report reads.
const kpiTable = "kpi_daily"

// figures are the KPI values of one kpi_daily row, or of several rows
// recomputed together (see summarize). Null means no eligible conversation.
type figures struct {
	Conversations                                           int64
	FRTP50, FRTP90, AgentFRTP50, AgentFRTP90, ResolutionP50 sql.NullFloat64
	EscalationRate, ContainmentRate, ReopenRate, FCRRate    sql.NullFloat64
	RecontactRate, HandoffContextRate, SLABreachRate        sql.NullFloat64
	CSAT, NPS                                               sql.NullFloat64
	CSATResponses, NPSResponses                             int64
}

// kpiRow is one kpi_daily row: a UTC day and a channel.
type kpiRow struct {
	Day     time.Time
	Channel string // "" when the mart's channel is null
	figures
}

// kpiColumn is a kpi_daily column after day and channel; exactly one of
// count and value is set.
type kpiColumn struct {
	name  string
	count func(*figures) *int64
	value func(*figures) *sql.NullFloat64
}

// kpiColumns are the kpi_daily columns of the warehouse contract, in its
// order. CSV writes them in this order too.
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
	{name: "csat", value: func(f *figures) *sql.NullFloat64 { return &f.CSAT }},
	{name: "csat_responses", count: func(f *figures) *int64 { return &f.CSATResponses }},
	{name: "nps", value: func(f *figures) *sql.NullFloat64 { return &f.NPS }},
	{name: "nps_responses", count: func(f *figures) *int64 { return &f.NPSResponses }},
	{name: "sla_breach_rate", value: func(f *figures) *sql.NullFloat64 { return &f.SLABreachRate }},
}

// loadKPIDaily reads the kpi_daily rows between from and to (inclusive days;
// zero leaves a side open), ordered by day and channel. Columns are cast so
// that a mart which computes a count as HUGEINT or a rate as DECIMAL still
// reads the same.
func loadKPIDaily(ctx context.Context, db *sql.DB, from, to time.Time) ([]kpiRow, error) {
	var n int
	err := db.QueryRowContext(ctx,
		`select count(*) from information_schema.tables where lower(table_name) = ?`, kpiTable).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", kpiTable, err)
	}
	if n == 0 {
		return nil, &MissingMartError{Table: kpiTable}
	}

	cols := []string{"cast(day as date) as day", "channel"}
	for _, c := range kpiColumns {
		if c.count != nil {
			cols = append(cols, fmt.Sprintf("coalesce(cast(%s as bigint), 0) as %[1]s", c.name))
		} else {
			cols = append(cols, fmt.Sprintf("cast(%s as double) as %[1]s", c.name))
		}
	}
	var where []string
	var args []any
	if !from.IsZero() {
		where = append(where, "cast(day as date) >= cast(? as date)")
		args = append(args, isoDay(from))
	}
	if !to.IsZero() {
		where = append(where, "cast(day as date) <= cast(? as date)")
		args = append(args, isoDay(to))
	}
	q := "select " + strings.Join(cols, ", ") + " from " + kpiTable
	if len(where) > 0 {
		q += " where " + strings.Join(where, " and ")
	}
	q += " order by 1, 2 nulls last"

	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s (if the mart predates this binary, rebuild it with `cxlake refresh --data DIR`): %w", kpiTable, err)
	}
	defer rs.Close()
	var out []kpiRow
	for rs.Next() {
		var r kpiRow
		var ch sql.NullString
		dest := []any{&r.Day, &ch}
		for _, c := range kpiColumns {
			if c.count != nil {
				dest = append(dest, c.count(&r.figures))
			} else {
				dest = append(dest, c.value(&r.figures))
			}
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("reading %s: %w", kpiTable, err)
		}
		r.Day = dayOf(r.Day.UTC())
		r.Channel = ch.String
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", kpiTable, err)
	}
	return out, nil
}

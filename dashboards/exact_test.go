package dashboards

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The leadership panels that read the KPI base, checked against the same
// KPI computed directly over conversations (and, for CSAT and NPS, the
// surveys answered outside a conversation on the day answered), in SQL
// written here that shares nothing with the panels or the models' KPI
// expressions. The panels run through the gateway as grafana; the
// independent SQL runs on the warehouse, since grafana may not read
// conversations.

// directKPIs are the independent figures of the conversations in c and the
// survey answers in s, by the panel column they stand for. A key
// "title|column" is a column of that panel; per-channel series are keyed by
// their metric's suffix (" p50", " p90", or "" for the channel alone).
var directKPIs = map[string]string{
	"Conversations by channel|":                                                    "(select count(*) from c)::double",
	"Conversations|conversations":                                                  "(select count(*) from c)::double",
	"Bot only vs with a human|bot only":                                            "(select count(*) filter (where bot_handled and not escalated)::double / nullif(count(*), 0) from c)",
	"Bot only vs with a human|with a human":                                        "(select count(*) filter (where not (bot_handled and not escalated))::double / nullif(count(*), 0) from c)",
	"Bot-only share|bot only":                                                      "(select count(*) filter (where bot_handled and not escalated)::double / nullif(count(*), 0) from c)",
	"First response time, p50 and p90, by channel| p50":                            "(select quantile_cont(frt_s, 0.5) from c)",
	"First response time, p50 and p90, by channel| p90":                            "(select quantile_cont(frt_s, 0.9) from c)",
	"Agent first response time, p50 and p90, by channel| p50":                      "(select quantile_cont(agent_frt_s, 0.5) from c)",
	"Agent first response time, p50 and p90, by channel| p90":                      "(select quantile_cont(agent_frt_s, 0.9) from c)",
	"Escalation and containment|escalation":                                        "(select count(*) filter (where bot_handled and escalated)::double / nullif(count(*) filter (where bot_handled), 0) from c)",
	"Escalation and containment|containment":                                       "(select count(*) filter (where bot_handled and resolved_at is not null and not escalated)::double / nullif(count(*) filter (where bot_handled and resolved_at is not null), 0) from c)",
	"First-contact resolution and cross-channel recontact|fcr":                     "(select count(*) filter (where fcr)::double / nullif(count(fcr), 0) from c)",
	"First-contact resolution and cross-channel recontact|cross-channel recontact": "(select count(*) filter (where recontact_other_channel)::double / nullif(count(recontact_other_channel), 0) from c)",
	"CSAT|csat":                        "(select count(*) filter (where csat_score >= 4)::double / nullif(count(csat_score), 0) from s)",
	"NPS|nps":                          "(select 100 * (count(*) filter (where nps_score >= 9) - count(*) filter (where nps_score <= 6))::double / nullif(count(nps_score), 0) from s)",
	"SLA breach rate by channel|":      "(select count(*) filter (where sla_breached)::double / nullif(count(sla_breached), 0) from c)",
	"SLA breaches by channel|breaches": "(select count(*) filter (where sla_breached) from c)::double",
	"Handoffs with and without context|with context":    "(select count(*) filter (where handoff_at is not null and handoff_has_context) from c)::double",
	"Handoffs with and without context|without context": "(select count(*) filter (where handoff_at is not null and not handoff_has_context) from c)::double",
	// Chatwoot's figures (issue 31): reply waits are a list per
	// conversation; means are totals in whole microseconds over counts.
	"Reply time, p50, p90 and mean, by channel| p50":                         "(select quantile_cont(r, 0.5) from (select unnest(reply_time_s_values) as r from c))",
	"Reply time, p50, p90 and mean, by channel| p90":                         "(select quantile_cont(r, 0.9) from (select unnest(reply_time_s_values) as r from c))",
	"Reply time, p50, p90 and mean, by channel| mean":                        "(select sum(round(r * 1e6))::double / nullif(count(r), 0) / 1e6 from (select unnest(reply_time_s_values) as r from c))",
	"Resolution time in business hours, p50, p90 and mean, by channel| p50":  "(select quantile_cont(resolution_business_s, 0.5) from c)",
	"Resolution time in business hours, p50, p90 and mean, by channel| p90":  "(select quantile_cont(resolution_business_s, 0.9) from c)",
	"Resolution time in business hours, p50, p90 and mean, by channel| mean": "(select sum(round(resolution_business_s * 1e6))::double / nullif(count(resolution_business_s), 0) / 1e6 from c)",
	"Time to handoff in business hours, p50 and mean, by channel| p50":       "(select quantile_cont(handoff_business_s, 0.5) from c)",
	"Time to handoff in business hours, p50 and mean, by channel| mean":      "(select sum(round(handoff_business_s * 1e6))::double / nullif(count(handoff_business_s), 0) / 1e6 from c)",
	"Mean first response time, by channel| mean":                             "(select sum(round(frt_s * 1e6))::double / nullif(count(frt_s), 0) / 1e6 from c)",
	"Handoffs carrying context|with context":                                 "(select count(*) filter (where handoff_at is not null and handoff_has_context)::double / nullif(count(handoff_has_context) filter (where handoff_at is not null), 0) from c)",
	// Handoff completeness and SLA met, and cost (issue 20).
	"Complete handoffs and handoff SLA met|complete (all four)":                       "(select count(*) filter (where handoff_completeness = 4)::double / nullif(count(handoff_completeness), 0) from c)",
	"Complete handoffs and handoff SLA met|SLA met":                                   "(select count(*) filter (where handoff_sla_met)::double / nullif(count(handoff_sla_met), 0) from c)",
	"Complete handoffs|complete":                                                      "(select count(*) filter (where handoff_completeness = 4)::double / nullif(count(handoff_completeness), 0) from c)",
	"Mean handoff completeness|of 4":                                                  "(select sum(handoff_completeness)::double / nullif(count(handoff_completeness), 0) from c)",
	"Handoff SLA met|SLA met":                                                         "(select count(*) filter (where handoff_sla_met)::double / nullif(count(handoff_sla_met), 0) from c)",
	"Cost per resolved conversation, bot vs human|bot alone":                          "(select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and bot_handled and not escalated)::double / nullif(count(cost) filter (where resolved_at is not null and bot_handled and not escalated), 0) / 1e6 from c)",
	"Cost per resolved conversation, bot vs human|with a human":                       "(select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and not (bot_handled and not escalated))::double / nullif(count(cost) filter (where resolved_at is not null and not (bot_handled and not escalated)), 0) / 1e6 from c)",
	"Cost per resolved conversation, bot vs human|all":                                "(select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null)::double / nullif(count(cost) filter (where resolved_at is not null), 0) / 1e6 from c)",
	"Bot share of resolved conversations and of their cost|of resolved conversations": "(select count(cost) filter (where resolved_at is not null and bot_handled and not escalated)::double / nullif(count(cost) filter (where resolved_at is not null), 0) from c)",
	"Bot share of resolved conversations and of their cost|of their cost":             "(select coalesce(sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and bot_handled and not escalated), 0)::double / nullif(sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null), 0) from c)",
	// Did the customer repeat themselves: over time and by channel.
	"Customers who repeated themselves|after handoff": "(select count(*) filter (where repeated_after_handoff)::double / nullif(count(repeated_after_handoff), 0) from c)",
	"Customers who repeated themselves|after switch":  "(select count(*) filter (where repeated_after_switch)::double / nullif(count(repeated_after_switch), 0) from c)",
	"Repetition by channel|after handoff":             "(select count(*) filter (where repeated_after_handoff)::double / nullif(count(repeated_after_handoff), 0) from c)",
	"Repetition by channel|after switch":              "(select count(*) filter (where repeated_after_switch)::double / nullif(count(repeated_after_switch), 0) from c)",
	// The headline stats: "this period" here; "vs previous period" is the
	// same figure's change against as many days just before.
	"Conversations|this period":                 "(select count(*) from c)::double",
	"First response time p50|this period":       "(select quantile_cont(frt_s, 0.5) from c)",
	"First response time p90|this period":       "(select quantile_cont(frt_s, 0.9) from c)",
	"Agent first response time p90|this period": "(select quantile_cont(agent_frt_s, 0.9) from c)",
	"Escalation rate|this period":               "(select count(*) filter (where bot_handled and escalated)::double / nullif(count(*) filter (where bot_handled), 0) from c)",
	"Containment rate|this period":              "(select count(*) filter (where bot_handled and resolved_at is not null and not escalated)::double / nullif(count(*) filter (where bot_handled and resolved_at is not null), 0) from c)",
	"First-contact resolution|this period":      "(select count(*) filter (where fcr)::double / nullif(count(fcr), 0) from c)",
	"Cross-channel recontact|this period":       "(select count(*) filter (where recontact_other_channel)::double / nullif(count(recontact_other_channel), 0) from c)",
	"CSAT|this period":                          "(select count(*) filter (where csat_score >= 4)::double / nullif(count(csat_score), 0) from s)",
	"NPS|this period":                           "(select 100 * (count(*) filter (where nps_score >= 9) - count(*) filter (where nps_score <= 6))::double / nullif(count(nps_score), 0) from s)",
	"SLA breach rate|this period":               "(select count(*) filter (where sla_breached)::double / nullif(count(sla_breached), 0) from c)",
	// The number of answers CSAT and NPS rest on (stat and time series).
	"CSAT|answers": "(select count(csat_score) from s)::double",
	"NPS|answers":  "(select count(nps_score) from s)::double",
}

// anyData is the independent test of whether the KPI base has a row for
// some days: a conversation opened on them or a survey answered outside
// one (s holds one row per conversation of c and per such answer). A stat
// shows no data, and no change, for days without one.
const anyData = "(select count(*) from s)::double"

// direct computes one independent figure for the UTC days from..to and the
// channels and teams.
func direct(ctx context.Context, t *testing.T, d *demo, expr string, from, to time.Time, channels, teams []string) (*float64, error) {
	t.Helper()
	in := func(vals []string) string {
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return "(" + strings.Join(q, ", ") + ")"
	}
	q := fmt.Sprintf(`with c as (
		select * from conversations
		where (opened_at at time zone 'UTC')::date between '%s' and '%s'
		  and channel in %s and coalesce(team, 'none') in %s
	),
	s as (
		select csat_score, nps_score from c
		union all
		select case when survey_kind = 'csat' then survey_score end, case when survey_kind = 'nps' then survey_score end
		from events
		where type = 'survey' and conversation_id is null
		  and (occurred_at at time zone 'UTC')::date between '%[1]s' and '%[2]s'
		  and coalesce(channel, 'none') in %[3]s and 'none' in %[4]s
	)
	select %s`, from.Format(time.DateOnly), to.Format(time.DateOnly), in(channels), in(teams), expr)
	var v *float64
	err := d.wh.DB.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

// TestPanelsEqualDirectSQL runs the leadership panels that read
// kpi_counts_daily, for the whole period (a stat's figure, a daily series'
// every point) and for filtered choices, and checks every value against
// directKPIs: counts and rates exactly, percentiles exactly.
func TestPanelsEqualDirectSQL(t *testing.T) {
	ctx := context.Background()
	d := demoWarehouse(t)
	db := panelDB(t, d)
	dj := loadDashboards(t)["cxlake-leadership"]
	opts := multiOptions(ctx, t, db, dj) // tz keeps its default, UTC
	var targets []panelTarget
	for _, p := range panelTargets(t) {
		if p.Dashboard == "cxlake-leadership" && strings.Contains(p.RawSQL, "kpi_counts_quarter_hourly") {
			targets = append(targets, p)
		}
	}
	if len(targets) < 15 {
		t.Fatalf("only %d leadership targets read kpi_counts_quarter_hourly", len(targets))
	}
	from, to := d.firstDay, d.lastDay.Add(24*time.Hour-time.Millisecond)
	mid := d.firstDay.AddDate(0, 0, 10)
	cases := []struct {
		name           string
		from, to       time.Time
		interval       time.Duration
		channels, team []string
	}{
		{"everything, one bucket", from, to, 1000 * 24 * time.Hour, opts["channel"], opts["team"]},
		{"everything, daily", from, to, 24 * time.Hour, opts["channel"], opts["team"]},
		{"two channels, two teams, a week", mid, mid.Add(7*24*time.Hour - time.Millisecond), 1000 * 24 * time.Hour, opts["channel"][:2], opts["team"][:2]},
		// Not whole days: "last 24 hours" at noon is the one day whose
		// start lies in the range; and a week from a midday start.
		{"last 24 hours at noon", mid.Add(12 * time.Hour), mid.Add(36 * time.Hour), 24 * time.Hour, opts["channel"], opts["team"]},
		{"a week from noon, daily", mid.Add(12*time.Hour + 123*time.Millisecond), mid.Add(7*24*time.Hour + 12*time.Hour), 24 * time.Hour, opts["channel"], opts["team"]},
		// Calendar buckets: weeks from Monday, calendar months.
		{"everything, weekly", from, to, 7 * 24 * time.Hour, opts["channel"], opts["team"]},
		{"everything, monthly", from, to, 30 * 24 * time.Hour, opts["channel"], opts["team"]},
	}
	checked, checkedPrevious := 0, 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string][]string{"channel": c.channels, "team": c.team}
			q := grafanaQuery{From: c.from, To: c.to, Interval: c.interval, Vars: vars}
			for _, p := range targets {
				frame, query, err := runPanel(ctx, db, p, q)
				if err != nil {
					t.Fatalf("%s: %v\n%s", p, err, query)
				}
				var timeIdx, metricIdx = -1, -1
				for i, f := range frame.Fields {
					switch f.Name {
					case "time":
						timeIdx = i
					case "metric", "channel":
						metricIdx = i
					}
				}
				for r := 0; r < frame.Rows(); r++ {
					dayFrom, dayTo := c.from, c.to
					if timeIdx >= 0 {
						tv, _ := frame.Fields[timeIdx].ConcreteAt(r)
						b := tv.(time.Time).UTC()
						if !calendarAligned(b, c.interval) {
							t.Errorf("%s: bucket %s is not the first day of its calendar unit", p, b)
						}
						dayFrom, dayTo = maxTime(b, c.from), minTime(calendarNext(b, c.interval).Add(-time.Millisecond), c.to)
					}
					// A daily panel counts the days whose start (UTC
					// midnight) lies in the range.
					dayFrom = ceilDay(dayFrom)
					dayTo = dayTo.UTC().Truncate(24 * time.Hour)
					channels := c.channels
					suffix := ""
					if metricIdx >= 0 {
						mv, _ := frame.Fields[metricIdx].ConcreteAt(r)
						m := mv.(string)
						for _, s := range []string{" p50", " p90", " mean"} {
							if strings.HasSuffix(m, s) {
								m, suffix = strings.TrimSuffix(m, s), s
							}
						}
						channels = []string{m}
					}
					for i, f := range frame.Fields {
						if i == timeIdx || i == metricIdx {
							continue
						}
						key := p.Panel + "|" + f.Name
						if metricIdx >= 0 && frame.Fields[metricIdx].Name == "metric" {
							key = p.Panel + "|" + suffix
						}
						previous := f.Name == "vs previous period"
						if previous {
							key = p.Panel + "|this period"
						}
						expr, ok := directKPIs[key]
						if !ok {
							t.Fatalf("no independent SQL for %q", key)
						}
						want, err := direct(ctx, t, d, expr, dayFrom, dayTo, channels, c.team)
						if err != nil {
							t.Fatalf("%s: independent SQL: %v", key, err)
						}
						if previous {
							// As many days as the range holds, just
							// before its first; none with data, no change.
							n := dayTo.Sub(dayFrom)/(24*time.Hour) + 1
							prevFrom, prevTo := dayFrom.Add(-n*24*time.Hour), dayFrom.Add(-24*time.Hour)
							before, err := direct(ctx, t, d, expr, prevFrom, prevTo, channels, c.team)
							if err != nil {
								t.Fatalf("%s: independent SQL, previous period: %v", key, err)
							}
							rows, err := direct(ctx, t, d, anyData, prevFrom, prevTo, channels, c.team)
							if err != nil {
								t.Fatalf("%s: independent SQL, previous period: %v", key, err)
							}
							if want != nil && before != nil && *rows > 0 {
								diff := *want - *before
								want = &diff
								checkedPrevious++
							} else {
								want = nil
							}
							key = p.Panel + "|vs previous period"
						}
						gv, ok := f.ConcreteAt(r)
						switch {
						case !ok && want == nil:
						case !ok || want == nil:
							t.Errorf("%s %s..%s %v: panel %v, direct %v", key, dayFrom.Format(time.DateOnly), dayTo.Format(time.DateOnly), channels, gv, want)
						case toFloat(gv) != *want:
							t.Errorf("%s %s..%s %v: panel %v, direct SQL over conversations %v", key, dayFrom.Format(time.DateOnly), dayTo.Format(time.DateOnly), channels, toFloat(gv), *want)
						}
						checked++
					}
				}
			}
		})
	}
	if checked < 100 {
		t.Errorf("only %d panel values checked", checked)
	}
	// Some ranges have a previous period with data, so a change is checked
	// against two independent figures, not only null against null.
	if checkedPrevious < 10 {
		t.Errorf("only %d changes against a previous period with data checked", checkedPrevious)
	}
}

// calendarNext is the start of the bucket after b, the panels' rule:
// an interval of a year or more groups by calendar year, 30 days or more
// by calendar month, 7 days or more by ISO week (from Monday), else by day.
func calendarNext(b time.Time, interval time.Duration) time.Time {
	switch day := 24 * time.Hour; {
	case interval >= 365*day:
		return b.AddDate(1, 0, 0)
	case interval >= 30*day:
		return b.AddDate(0, 1, 0)
	case interval >= 7*day:
		return b.AddDate(0, 0, 7)
	default:
		return b.AddDate(0, 0, 1)
	}
}

// calendarAligned reports whether b starts its calendar bucket.
func calendarAligned(b time.Time, interval time.Duration) bool {
	switch day := 24 * time.Hour; {
	case b.Truncate(day) != b:
		return false
	case interval >= 365*day:
		return b.YearDay() == 1
	case interval >= 30*day:
		return b.Day() == 1
	case interval >= 7*day:
		return b.Weekday() == time.Monday
	}
	return true
}

// ceilDay is the first UTC midnight at or after t.
func ceilDay(t time.Time) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	if d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestExpandMatchesGrafana: PanelQueries, which cxlake bench gateway
// measures, expands every panel exactly as Grafana's SDK does (the tests'
// grafanaQuery), for several ranges, intervals and variable choices.
func TestExpandMatchesGrafana(t *testing.T) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	targets := panelTargets(t)
	for _, e := range []Expansion{
		{From: from, To: from.AddDate(0, 0, 30), Interval: 24 * time.Hour, Vars: map[string][]string{"channel": {"email", "voice"}, "team": {"none", "o'brien"}}},
		{From: from.Add(123 * time.Millisecond), To: from.Add(6 * time.Hour), Interval: 5 * time.Minute, Vars: map[string][]string{"channel": {"webchat"}, "team": {"billing"}}},
		{From: from, To: from.AddDate(1, 0, 0), Interval: 7 * 24 * time.Hour, Vars: map[string][]string{"channel": {"a"}, "team": {"b"}}},
	} {
		got, err := PanelQueries(e)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(targets) {
			t.Fatalf("%d panel queries, %d targets", len(got), len(targets))
		}
		byKey := map[string]string{}
		for _, q := range got {
			byKey[q.Dashboard+"|"+q.Panel+"|"+q.RefID] = q.SQL
		}
		for _, p := range targets {
			want, err := grafanaQuery{From: e.From, To: e.To, Interval: effectiveInterval(t, p.MinInterval, e.Interval), Vars: e.Vars}.expand(p.RawSQL)
			if err != nil {
				t.Fatal(err)
			}
			if g := byKey[p.Dashboard+"|"+p.Panel+"|"+p.RefID]; g != want {
				t.Errorf("%s: PanelQueries sends\n%s\nGrafana sends\n%s", p, g, want)
			}
		}
	}
}
